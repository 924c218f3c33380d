"""squirroclient 3.17.3 against Latchkey's Squirro dialect: grants, external
authentications, the `ext_id` sign-in of a confidential client and
`get_token_from_msexchuid_token`.

The compat server has no Microsoft Exchange issuer configured, so only the "not
configured" answer is checked here; verified tokens are covered by the Rust API tests
(crates/latchkey-server/tests/api/squirro_grants.rs).
"""

from __future__ import annotations

import datetime
import secrets

import pytest
from squirro_client import SquirroClient
from squirro_client.exceptions import (
    AuthenticationError,
    AuthorizationError,
    ClientError,
    NotFoundError,
)

from conftest import Member, NativeApi, Settings


def new_client(settings: Settings, *credentials: str | None, **kwargs: object) -> SquirroClient:
    client_id, client_secret = credentials or (None, None)
    return SquirroClient(client_id, client_secret, cluster=settings.url, **kwargs)


@pytest.fixture(scope="module")
def admin(settings: Settings) -> SquirroClient:
    client = new_client(settings, tenant=settings.tenant)
    client.authenticate(username=settings.admin_email, password=settings.admin_password)
    return client


@pytest.fixture(scope="module")
def crm(native: NativeApi) -> tuple[str, str]:
    """A confidential application of the tenant, created through the native API."""
    client_id = f"squirro-crm-{secrets.token_hex(4)}"
    created = native.create_application(
        client_id=client_id, public=False, grant_types=["refresh_token"]
    )
    return client_id, created["client_secret"]


# ---- grants --------------------------------------------------------------------------


def test_a_user_grant_signs_in_without_a_tenant(
    settings: Settings, admin: SquirroClient, member: Member
) -> None:
    member_client = new_client(settings)
    member_client.authenticate(username=member.email, password=member.password)
    created = member_client.new_grant(member.id, "user")
    assert set(created) >= {"id", "refresh_token"}, created

    script = new_client(settings)
    script.authenticate(refresh_token=created["refresh_token"])
    assert script.tenant == settings.tenant
    assert script.user_id == member.id
    assert script.token_project_permissions is None
    assert script.get_user_data(member.id)["id"] == member.id

    grants = member_client.get_user_grants(member.id)["grants"]
    mine = [g for g in grants if g["id"] == created["id"]]
    assert len(mine) == 1, grants
    assert mine[0]["type"] == "user"
    # `YYYY-MM-DD HH:MM:SS`
    datetime.datetime.strptime(mine[0]["created_at"], "%Y-%m-%d %H:%M:%S")
    datetime.datetime.strptime(mine[0]["valid_to"], "%Y-%m-%d %H:%M:%S")

    member_client.delete_grant(member.id, created["id"])
    assert all(g["id"] != created["id"] for g in member_client.get_user_grants(member.id)["grants"])
    with pytest.raises(AuthenticationError):
        new_client(settings).authenticate(refresh_token=created["refresh_token"])
    with pytest.raises(NotFoundError):
        member_client.delete_grant(member.id, created["id"])


def test_a_restricted_grant_of_an_administrator_is_limited(
    settings: Settings, admin: SquirroClient
) -> None:
    created = admin.new_grant(
        admin.user_id, "user", project_permissions=["items.*", "projects.read.*"]
    )
    script = new_client(settings)
    script.authenticate(refresh_token=created["refresh_token"])
    assert script.user_id == admin.user_id
    assert script.token_project_permissions == ["items.*", "projects.read.*"]
    with pytest.raises(AuthorizationError) as refused:
        script.get_users()
    assert refused.value.status_code == 403
    # The unrestricted administrator still can.
    assert admin.get_users()["users"]
    admin.delete_grant(admin.user_id, created["id"])


def test_a_service_grant_is_for_its_application(
    settings: Settings, admin: SquirroClient, member: Member, crm: tuple[str, str]
) -> None:
    client_id, client_secret = crm
    created = admin.new_grant(member.id, "service", for_client_id=client_id)
    # Only the application itself may use it.
    with pytest.raises(AuthenticationError):
        new_client(settings).authenticate(refresh_token=created["refresh_token"])
    service = new_client(settings, client_id, client_secret)
    service.authenticate(refresh_token=created["refresh_token"])
    assert service.user_id == member.id
    assert service.tenant == settings.tenant
    assert any(g["type"] == "service" for g in admin.get_user_grants(member.id)["grants"])
    admin.delete_grant(member.id, created["id"])


def test_grant_refusals(settings: Settings, admin: SquirroClient, member: Member) -> None:
    with pytest.raises(ClientError):
        admin.new_grant(member.id, "service", for_client_id="no-such-application")
    member_client = new_client(settings)
    member_client.authenticate(username=member.email, password=member.password)
    with pytest.raises(AuthorizationError):
        member_client.get_user_grants(admin.user_id)
    with pytest.raises(NotFoundError):
        admin.get_user_grants("AAAAAAAAAAAAAAAAAAAAAA")


# ---- authentications and ext_id ------------------------------------------------------


def test_authentications_lifecycle(admin: SquirroClient, make_member) -> None:
    person = make_member()
    expires = datetime.datetime(2031, 2, 3, 4, 5, 6)
    created = admin.new_or_modify_authentication(
        person.id, "salesforce", "sf-1", "token-1", "secret-1", "Person at SF", expires
    )
    assert created["service_user"] == "sf-1"
    assert created["access_token"] == "token-1"
    assert created["access_secret"] == "secret-1"
    assert created["display_name"] == "Person at SF"
    assert created["access_token_expires"] == "2031-02-03T04:05:06"
    assert set(created) >= {"access_secret_expires", "state"}

    modified = admin.new_or_modify_authentication(person.id, "salesforce", "sf-1", "token-2")
    assert modified["access_token"] == "token-2"
    assert admin.get_authentication(person.id, "salesforce")["access_token"] == "token-2"

    admin.delete_authentication(person.id, "salesforce")
    with pytest.raises(NotFoundError):
        admin.get_authentication(person.id, "salesforce")
    with pytest.raises(ClientError):
        admin.new_or_modify_authentication(person.id, "salesforce", "", "token")


def test_ext_id_signs_in_a_confidential_client_only(
    settings: Settings, admin: SquirroClient, make_member, crm: tuple[str, str]
) -> None:
    person = make_member()
    client_id, client_secret = crm
    identity = f"sf-{secrets.token_hex(4)}"
    admin.new_or_modify_authentication(person.id, "salesforce", identity, "token")

    service = new_client(settings, client_id, client_secret, tenant=settings.tenant)
    service.authenticate(auth_service="salesforce", auth_user=identity)
    assert service.user_id == person.id
    assert service.token_project_permissions is None

    without_secret = new_client(settings, client_id, None, tenant=settings.tenant)
    with pytest.raises(AuthenticationError) as refused:
        without_secret.authenticate(auth_service="salesforce", auth_user=identity)
    assert refused.value.status_code == 403
    anonymous = new_client(settings, tenant=settings.tenant)
    with pytest.raises(AuthenticationError):
        anonymous.authenticate(auth_service="salesforce", auth_user=identity)
    wrong_secret = new_client(settings, client_id, "not-the-secret", tenant=settings.tenant)
    with pytest.raises(AuthenticationError):
        wrong_secret.authenticate(auth_service="salesforce", auth_user=identity)
    with pytest.raises(AuthenticationError):
        service.authenticate(auth_service="salesforce", auth_user="nobody")


def test_members_cannot_read_other_credentials(
    settings: Settings, admin: SquirroClient, member: Member, make_member
) -> None:
    person = make_member()
    admin.new_or_modify_authentication(person.id, "dropbox", "db-1", "token")
    member_client = new_client(settings)
    member_client.authenticate(username=member.email, password=member.password)
    with pytest.raises(AuthorizationError):
        member_client.get_authentication(person.id, "dropbox")


# ---- msexchange ----------------------------------------------------------------------


def test_msexchange_is_not_configured(admin: SquirroClient) -> None:
    with pytest.raises(ClientError) as refused:
        admin.get_token_from_msexchuid_token("a.b.c")
    assert refused.value.status_code == 400
    assert "not configured" in str(refused.value.error)
