"""squirroclient 3.17.3: several processes sharing one refresh token (api-surface §1.3).

A Squirro CLI token is often copied into several processes. When one of them uses it,
Latchkey rotates it; the others, presenting the same token within the rotation grace
(`refresh_reuse_grace_seconds`, 10 s on the compat server), are honoured with tokens of
their own in the same session, and every chain keeps refreshing. After the grace the
old token is a replay and ends the session (covered by the Rust API tests, which control
the clock).
"""

from __future__ import annotations

from squirro_client import SquirroClient

from conftest import Member, Settings


def test_processes_sharing_one_refresh_token_all_get_in(
    settings: Settings, member: Member
) -> None:
    first = SquirroClient(None, None, cluster=settings.url)
    first.authenticate(username=member.email, password=member.password)
    shared = first.refresh_token

    processes = [SquirroClient(None, None, cluster=settings.url) for _ in range(3)]
    for process in processes:
        process.authenticate(refresh_token=shared)
        assert process.tenant == settings.tenant
        assert process.user_id == member.id

    # Each process holds a refresh token of its own, none of them the shared one.
    refresh_tokens = {process.refresh_token for process in processes}
    assert len(refresh_tokens) == len(processes)
    assert shared not in refresh_tokens
    assert len({process.access_token for process in processes}) == len(processes)

    for process in processes:
        assert process.get_user_data(member.id)["id"] == member.id
        # A 401 makes the client refresh with its own token: every chain carries on.
        before = process.refresh_token
        process.access_token = "expired.access.token"
        assert process.get_user_data(member.id)["email"] == member.email
        assert process.access_token != "expired.access.token"
        assert process.refresh_token != before
