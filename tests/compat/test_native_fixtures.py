"""The fixtures themselves: what the compatibility tests build on must work first."""

from conftest import ConfidentialClient, Member, NativeApi


def test_member_can_sign_in_natively(native: NativeApi, member: Member) -> None:
    signed_in = native.sign_in(member.email, member.password)
    assert signed_in["account"]["id"] == member.id
    assert signed_in["account"]["role"] == member.role
    by_username = native.sign_in(member.username, member.password)
    assert by_username["account"]["id"] == member.id


def test_confidential_client_is_created_with_a_secret(
    confidential_client: ConfidentialClient,
) -> None:
    assert confidential_client.client_id.startswith("compat-svc-")
    assert len(confidential_client.client_secret) >= 16
