"""squirroclient 3.17.3 (`SquirroClient`, `UserApiMixin`) against Latchkey's Squirro
dialect under `/api/user`.

The client is used unmodified: `SquirroClient(None, None, cluster=LATCHKEY_URL)`. The
compat server runs with signup enabled (`LATCHKEY_SIGNUP_ENABLED=true`, set by
crates/latchkey-cli/tests/compat.rs), which also lets any account create workspaces;
the disabled case is covered by the Rust API tests (tests/api/squirro.rs).
"""

from __future__ import annotations

import base64
import json
import secrets

import pytest
from squirro_client import SquirroClient
from squirro_client.exceptions import (
    AuthenticationError,
    AuthorizationError,
    ClientError,
    ConflictError,
    NotFoundError,
)

from conftest import Member, NativeApi, Settings


def new_client(settings: Settings, **kwargs: object) -> SquirroClient:
    return SquirroClient(None, None, cluster=settings.url, **kwargs)


def signed_in(settings: Settings, login: str, password: str, **kwargs: object) -> SquirroClient:
    client = new_client(settings, **kwargs)
    client.authenticate(username=login, password=password)
    return client


def session_id(access_token: str) -> str:
    payload = access_token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return claims["sid"]


def strong_password() -> str:
    return f"Squirro-{secrets.token_hex(8)}-Pass"


def fresh_email() -> str:
    return f"squirro.{secrets.token_hex(5)}@example.com"


@pytest.fixture(scope="module")
def admin(settings: Settings) -> SquirroClient:
    """The tenant administrator, signed in with the tenant named."""
    return signed_in(
        settings, settings.admin_email, settings.admin_password, tenant=settings.tenant
    )


@pytest.fixture(scope="module")
def owner(settings: Settings) -> tuple[SquirroClient, str, str]:
    """An account created through signup, signed in (no tenant given): its client, email
    and password."""
    email, password = fresh_email(), strong_password()
    created = new_client(settings).signup(email, password, full_name="Wanda Owner")
    assert set(created) >= {"user_id", "tenant"}, created
    client = signed_in(settings, email, password)
    assert client.tenant == created["tenant"]
    assert client.user_id == created["user_id"]
    return client, email, password


# ---- token endpoint ------------------------------------------------------------------


def test_password_login_without_a_tenant_learns_it(settings: Settings, member: Member) -> None:
    client = signed_in(settings, member.email, member.password)
    assert client.tenant == settings.tenant
    assert client.user_id == member.id
    assert client.access_token and client.refresh_token
    assert "profile.read" in client.user_permissions
    assert client.user_information == {}


def test_user_information_is_echoed(settings: Settings, member: Member) -> None:
    client = new_client(settings)
    client.authenticate(
        username=member.email, password=member.password, user_information={"a": 1}
    )
    assert client.user_information == {"a": 1}


def test_a_wrong_password_is_an_authentication_error(
    settings: Settings, make_member
) -> None:
    person = make_member()
    with pytest.raises(AuthenticationError) as refused:
        signed_in(settings, person.email, person.password + "x")
    assert refused.value.status_code == 403
    with pytest.raises(AuthenticationError):
        signed_in(settings, fresh_email(), "Whatever-Password-1")


def test_token_only_login_learns_the_tenant_and_gets_new_tokens(
    settings: Settings, member: Member
) -> None:
    first = signed_in(settings, member.email, member.password)
    cli = new_client(settings)
    cli.authenticate(refresh_token=first.refresh_token)
    assert cli.tenant == settings.tenant
    assert cli.user_id == member.id
    assert cli.access_token != first.access_token
    assert cli.refresh_token and cli.refresh_token != first.refresh_token
    assert cli.get_user_data(member.id)["email"] == member.email
    with pytest.raises(AuthenticationError):
        new_client(settings).authenticate(refresh_token="not-a-refresh-token")


def test_an_access_token_is_exchanged_for_a_new_pair(settings: Settings, member: Member) -> None:
    first = signed_in(settings, member.email, member.password)
    cli = new_client(settings)
    cli.authenticate(access_token=first.access_token)
    assert cli.tenant == settings.tenant
    assert cli.access_token != first.access_token
    assert cli.refresh_token
    with pytest.raises(AuthenticationError):
        new_client(settings).authenticate(access_token="a.b.c")


def test_an_invalid_access_token_is_refreshed_transparently(
    settings: Settings, member: Member
) -> None:
    client = signed_in(settings, member.email, member.password)
    # What an expired token gets: 401, upon which the client refreshes once.
    client.access_token = "expired.access.token"
    assert client.get_user_data(member.id)["id"] == member.id
    assert client.access_token != "expired.access.token"


# ---- users ---------------------------------------------------------------------------


def test_users_lifecycle(settings: Settings, admin: SquirroClient, member: Member) -> None:
    listed = admin.get_users()["users"]
    mine = [u for u in listed if u["id"] == member.id]
    assert len(mine) == 1, listed
    assert mine[0]["email"] == member.email
    assert mine[0]["tenant"] == settings.tenant
    assert mine[0]["role"] == "user"
    assert isinstance(mine[0]["role_permissions"], list)

    email, password = fresh_email(), strong_password()
    created = admin.add_user(email=email, password=password, role="reader")
    assert created["email"] == email and created["role"] == "reader"
    user_id = created["id"]
    with pytest.raises(ClientError) as empty:
        admin.add_user()
    assert empty.value.status_code == 400
    with pytest.raises(ConflictError):
        admin.add_user(email=email, password=strong_password(), role="user")

    data = admin.get_user_data(user_id)
    assert data["id"] == user_id and data["email"] == email
    assert data["tenant"] == settings.tenant
    with pytest.raises(NotFoundError):
        admin.get_user_data("AAAAAAAAAAAAAAAAAAAAAA")

    updated = admin.update_user_data(user_id, {"name": "J", "full_name": "Jay Reader"})
    assert updated["name"] == "J" and updated["full_name"] == "Jay Reader"
    assert admin.get_user_data(user_id)["name"] == "J"
    # Other versions send a form.
    updated = admin.update_user_data(user_id, {"team": "blue"}, api_version="v0")
    assert updated["team"] == "blue" and updated["name"] == "J"
    v0 = admin.get_user_data(user_id, api_version="v0")
    assert v0["groups"] == []

    # An administrator sets the password; the user then changes it itself.
    second = strong_password()
    admin.change_user_password(user_id, "", second, second)
    user = signed_in(settings, email, second)
    third = strong_password()
    user.change_user_password(user_id, second, third, third)
    signed_in(settings, email, third)
    with pytest.raises(AuthenticationError):
        signed_in(settings, email, second)

    policy = admin.get_users_password_policy()
    assert policy["min_length"] >= 8

    admin.delete_user(user_id)
    with pytest.raises(NotFoundError):
        admin.get_user_data(user_id)


def test_get_users_carries_groups_and_config(admin: SquirroClient, make_member) -> None:
    person = make_member()
    name = f"Compat Readers {secrets.token_hex(3)}"
    gid = admin.create_group(name, members=[{"id": person.id}])["id"]
    admin.update_user_data(person.id, {"team": "blue"})

    def listed(**kwargs: object) -> dict:
        users = admin.get_users(**kwargs)["users"]
        mine = [u for u in users if u["id"] == person.id]
        assert len(mine) == 1, users
        return mine[0]

    plain = listed()
    # The same `groups` as the single-user view, which delete_workspace_user reads.
    assert plain["groups"] == [{"id": gid, "name": name}]
    assert plain["groups"] == admin.get_user_data(person.id, api_version="v0")["groups"]
    assert "config" not in plain
    # include_config: the account's custom data as `config`.
    assert listed(include_config=True)["config"] == {"team": "blue"}
    assert "config" not in listed(include_config=False)
    admin.delete_group(gid)


def test_sessions_can_be_read_and_ended(
    settings: Settings, admin: SquirroClient, make_member
) -> None:
    person = make_member()
    client = signed_in(settings, person.email, person.password)
    sid = session_id(client.access_token)
    session = admin.get_session(person.id, sid)
    assert session["id"] == sid and session["user_id"] == person.id
    assert client.get_session(person.id, sid)["id"] == sid
    admin.delete_session(person.id, sid)
    with pytest.raises(NotFoundError):
        admin.get_session(person.id, sid)
    # The ended session's tokens are refused, and so is the refresh the client tries.
    with pytest.raises(AuthorizationError) as refused:
        client.get_user_data(person.id)
    assert refused.value.status_code == 401


def test_members_cannot_manage_users(settings: Settings, member: Member) -> None:
    client = signed_in(settings, member.email, member.password)
    with pytest.raises(AuthorizationError) as refused:
        client.add_user(email=fresh_email(), password=strong_password(), role="user")
    assert refused.value.status_code == 403


# ---- signup and workspaces -----------------------------------------------------------


def test_signup_with_a_registered_email_and_another_password_is_a_client_error(
    settings: Settings, owner
) -> None:
    """The refusal is the 400 of any refused signup credential and does not say that the
    address has an account (with the owner's password it would create a workspace; the
    Rust API tests cover that, and the per-address signup throttle keeps this suite to
    four signups)."""
    _, email, _ = owner
    with pytest.raises(ClientError) as refused:
        new_client(settings).signup(email, strong_password())
    assert refused.value.status_code == 400
    message = str(refused.value.error).lower()
    for word in ("exist", "taken", "registered", "already"):
        assert word not in message, message


def test_signup_checks_the_password_policy(settings: Settings) -> None:
    with pytest.raises(ClientError):
        new_client(settings).signup(fresh_email(), "short")


def test_workspaces_end_to_end(settings: Settings, owner) -> None:
    client, _, _ = owner
    home = client.tenant
    listed = client.get_workspaces()["workspaces"]
    assert [w["domain"] for w in listed] == [home]

    title = f"Compat Lab {secrets.token_hex(3)}"
    created = client.create_workspace(title)
    domain = created["domain"]
    assert created["title"] == title
    assert domain.replace("-", "").isalnum() and domain == domain.lower()
    assert client.resolve_workspace(domain) == domain
    assert client.resolve_workspace(title.upper()) == domain
    admin_only = client.get_workspaces(admin_only=True)["workspaces"]
    assert {w["domain"] for w in admin_only} == {home, domain}

    renamed = client.update_workspace(domain, "Renamed Lab")
    assert renamed == {**renamed, "domain": domain, "title": "Renamed Lab"}

    invited, existing_email = fresh_email(), fresh_email()
    existing = new_client(settings).signup(existing_email, strong_password())
    added = client.add_workspace_users(domain, [invited, existing_email], "reader")
    assert [a["workspace"] for a in added] == [domain, domain]
    assert added[1]["user_id"] == existing["user_id"]
    users = {u["email"]: u for u in client.get_workspace_users(domain)}
    assert users[invited]["role"] == "reader"
    assert users[existing_email]["role"] == "reader"
    assert set(users[invited]) >= {"id", "email", "role", "full_name"}

    changed = client.set_workspace_user_role(domain, added[1]["user_id"], "admin")
    assert changed == {"user_id": added[1]["user_id"], "workspace": domain}
    users = {u["email"]: u for u in client.get_workspace_users(domain)}
    assert users[existing_email]["role"] == "admin"

    client.delete_workspace_user(domain, added[0]["user_id"])
    assert invited not in {u["email"] for u in client.get_workspace_users(domain)}

    client.delete_workspace(domain)
    assert domain not in {w["domain"] for w in client.get_workspaces()["workspaces"]}
    with pytest.raises(NotFoundError):
        client.resolve_workspace(domain)


def test_workspaces_are_isolated(settings: Settings, owner, make_member) -> None:
    client, email, password = owner
    domain = client.create_workspace("Private Lab")["domain"]
    person = make_member()
    outsider = signed_in(settings, person.email, person.password)
    with pytest.raises(AuthorizationError) as refused:
        outsider.get_workspace_users(domain)
    assert refused.value.status_code == 403
    with pytest.raises(AuthorizationError):
        outsider.delete_workspace(domain)
    with pytest.raises(AuthorizationError):
        outsider.tenant = domain
        outsider.get_users()
    # The owner, a member of its tenants only, cannot read the default tenant's users.
    foreign = signed_in(settings, email, password)
    foreign.tenant = settings.tenant
    with pytest.raises(AuthorizationError):
        foreign.get_users()
    # A reader of the workspace sees it among its workspaces, but may not change it.
    added = client.add_workspace_users(domain, [person.email], "reader")
    assert added[0]["user_id"] == person.id
    assert domain in {w["domain"] for w in outsider.get_workspaces()["workspaces"]}
    assert domain not in {
        w["domain"] for w in outsider.get_workspaces(admin_only=True)["workspaces"]
    }
    with pytest.raises(AuthorizationError):
        outsider.update_workspace(domain, "Taken Over")
    with pytest.raises(AuthorizationError):
        outsider.get_workspace_users(domain)
    client.delete_workspace(domain)


def test_workspaces_list_the_projects_the_caller_can_access(
    settings: Settings, owner, make_member
) -> None:
    client, _, _ = owner
    home = client.tenant
    mine = client.new_project(f"Compat Home {secrets.token_hex(3)}")["id"]
    domain = client.create_workspace("Projects Lab")["domain"]
    person = make_member()
    client.add_workspace_users(domain, [person.email], "reader")
    # The topic API works in the client's tenant: switch to the new workspace for it.
    client.tenant = domain
    shared = client.new_project("Shared here")["id"]
    client.new_project("Not shared")
    client.add_project_member(shared, "reader", user_id=person.id)
    client.tenant = home

    def projects(who: SquirroClient) -> dict[str, list[tuple[str, str]]]:
        return {
            w["domain"]: [(p["id"], p["role"]) for p in w["projects"]]
            for w in who.get_workspaces(include_projects=True)["workspaces"]
        }

    person_client = signed_in(settings, person.email, person.password)
    seen = projects(person_client)
    assert seen[domain] == [(shared, "reader")]
    assert seen[settings.tenant] == []
    # An administrator of a workspace administers all of its projects.
    owned = projects(client)
    assert (mine, "admin") in owned[home]
    assert len(owned[domain]) == 2 and all(role == "admin" for _, role in owned[domain])
    assert all("projects" not in w for w in client.get_workspaces()["workspaces"])
    client.delete_workspace(domain)
