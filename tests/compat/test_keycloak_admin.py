"""python-keycloak 7.1.1 `KeycloakAdmin`: the user endpoints (shared/api-surface.md §5.5)
against Latchkey's `/admin/realms/{realm}/users…`, with `server_url` both `http://h:p/`
and `http://h:p/auth/`. The admin client signs in with the password grant on
`admin-cli` as the tenant administrator.
"""

from __future__ import annotations

import secrets

import pytest
from keycloak import KeycloakAdmin, KeycloakOpenID
from keycloak.exceptions import (
    KeycloakAuthenticationError,
    KeycloakDeleteError,
    KeycloakGetError,
    KeycloakPostError,
    KeycloakPutError,
)

from conftest import Member, NativeApi, Settings

MANY = 105  # more than python-keycloak's page of 100, so its paging loop runs


def server_url(settings: Settings, form: str) -> str:
    """`http://h:p/` or `http://h:p/auth/` (urljoin keeps `/auth` only with the slash)."""
    return {"root": f"{settings.url}/", "auth": f"{settings.url}/auth/"}[form]


def keycloak_admin(settings: Settings, form: str, username: str, password: str) -> KeycloakAdmin:
    return KeycloakAdmin(
        server_url=server_url(settings, form),
        username=username,
        password=password,
        realm_name=settings.tenant,
        client_id="admin-cli",
    )


@pytest.fixture
def admin(settings: Settings, form: str) -> KeycloakAdmin:
    return keycloak_admin(settings, form, settings.admin_email, settings.admin_password)


def openid(settings: Settings, form: str) -> KeycloakOpenID:
    return KeycloakOpenID(
        server_url=server_url(settings, form), realm_name=settings.tenant, client_id="admin-cli"
    )


def new_password() -> str:
    return f"Admin-{secrets.token_hex(8)}-Pass"


def test_user_lifecycle(admin: KeycloakAdmin, settings: Settings, form: str) -> None:
    tag = secrets.token_hex(4)
    username = f"kcadmin_{tag}"
    email = f"kcadmin.{tag}@example.com"
    password = new_password()
    user_id = admin.create_user(
        {
            "username": username,
            "email": email,
            "enabled": True,
            "firstName": "Ada",
            "lastName": "Lovelace",
            "credentials": [{"type": "password", "value": password, "temporary": False}],
            "attributes": {"team": ["core"]},
        }
    )
    assert isinstance(user_id, str) and user_id
    kc = openid(settings, form)
    try:
        assert admin.get_user_id(username) == user_id
        assert admin.get_user_id(username.upper()) == user_id  # it lowercases; we ignore case
        assert admin.get_user_id(f"missing_{tag}") is None
        # The same username again: 409, or the existing id with exist_ok.
        with pytest.raises(KeycloakPostError) as conflict:
            admin.create_user({"username": username, "email": f"other.{tag}@example.com"})
        assert conflict.value.response_code == 409
        assert b"User exists with same username" in conflict.value.response_body
        assert admin.create_user({"username": username}, exist_ok=True) == user_id

        user = admin.get_user(user_id)
        assert user["id"] == user_id
        assert user["username"] == username
        assert user["email"] == email
        assert user["enabled"] is True
        assert user["firstName"] == "Ada"
        assert user["lastName"] == "Lovelace"
        assert user["attributes"] == {"team": ["core"]}
        assert isinstance(user["createdTimestamp"], int)

        # The password from `credentials` works with the OpenID client.
        tokens = kc.token(username, password)
        assert tokens["access_token"]

        assert admin.update_user(user_id, {"firstName": "Augusta", "attributes": {}}) == {}
        user = admin.get_user(user_id)
        assert (user["firstName"], user["lastName"]) == ("Augusta", "Lovelace")
        assert "attributes" not in user

        assert admin.disable_user(user_id) == {}
        assert admin.get_user(user_id)["enabled"] is False
        with pytest.raises(KeycloakAuthenticationError):
            kc.token(username, password)
        assert admin.enable_user(user_id) == {}
        assert admin.get_user(user_id)["enabled"] is True

        # set_user_password (temporary is accepted; Latchkey has no required actions).
        replaced = new_password()
        assert admin.set_user_password(user_id, replaced, temporary=False) == {}
        with pytest.raises(KeycloakAuthenticationError):
            kc.token(username, password)
        tokens = kc.token(username, replaced)
        assert kc.userinfo(tokens["access_token"])["sub"] == user_id
        with pytest.raises(KeycloakPutError) as weak:
            admin.set_user_password(user_id, "short")
        assert weak.value.response_code == 400

        assert admin.get_user_groups(user_id) == []

        sessions = admin.get_sessions(user_id)
        assert len(sessions) >= 1
        for session in sessions:
            assert session["userId"] == user_id
            assert session["username"] == username
            assert isinstance(session["start"], int) and isinstance(session["lastAccess"], int)
        assert admin.user_logout(user_id) == {}
        assert admin.get_sessions(user_id) == []
        with pytest.raises(KeycloakAuthenticationError):
            kc.userinfo(tokens["access_token"])
    finally:
        assert admin.delete_user(user_id) == {}
    with pytest.raises(KeycloakGetError) as gone:
        admin.get_user(user_id)
    assert gone.value.response_code == 404
    with pytest.raises(KeycloakDeleteError) as gone:
        admin.delete_user(user_id)
    assert gone.value.response_code == 404


def test_email_as_username(admin: KeycloakAdmin) -> None:
    email = f"kcmail.{secrets.token_hex(4)}@example.com"
    user_id = admin.create_user({"username": email, "enabled": False})
    try:
        user = admin.get_user(user_id)
        assert (user["username"], user["email"], user["enabled"]) == (email, email, False)
        assert admin.get_user_id(email) == user_id
        assert admin.users_count({"email": email, "exact": True}) == 1
    finally:
        admin.delete_user(user_id)


@pytest.fixture(scope="module")
def many_users(native: NativeApi) -> str:
    """MANY members sharing a tag in their email, created without passwords (no hashing)."""
    tag = f"kcpage{secrets.token_hex(3)}"
    for i in range(MANY):
        native.create_user(email=f"{tag}-{i:03}@example.com")
    return tag


def test_get_users_pages_over_many_users(admin: KeycloakAdmin, many_users: str) -> None:
    # No first/max: python-keycloak pages with max=100 until a short page.
    found = admin.get_users({"search": many_users, "briefRepresentation": True})
    emails = [u["email"] for u in found]
    assert len(emails) == MANY
    assert len(set(emails)) == MANY
    assert emails == sorted(emails)
    assert admin.users_count({"search": many_users}) == MANY
    assert admin.users_count({"email": many_users}) == MANY

    everyone = admin.get_users()
    assert len(everyone) == admin.users_count() >= MANY + 1
    assert len({u["id"] for u in everyone}) == len(everyone)

    # With first/max given, one page only.
    page = admin.get_users({"search": many_users, "first": 100, "max": 10})
    assert [u["email"] for u in page] == emails[100:]
    exact = admin.get_users({"email": f"{many_users}-042@example.com", "exact": True})
    assert [u["email"] for u in exact] == [f"{many_users}-042@example.com"]


def test_plain_members_are_refused(settings: Settings, form: str, member: Member) -> None:
    plain = keycloak_admin(settings, form, member.username, member.password)
    with pytest.raises(KeycloakGetError) as refused:
        plain.get_users({"max": 1, "first": 0})
    assert refused.value.response_code == 403
    with pytest.raises(KeycloakGetError) as refused:
        plain.users_count()
    assert refused.value.response_code == 403
    with pytest.raises(KeycloakPostError) as refused:
        plain.create_user({"email": f"nope.{secrets.token_hex(4)}@example.com"})
    assert refused.value.response_code == 403


def test_bad_token_is_an_authentication_error(settings: Settings, form: str) -> None:
    stale = KeycloakAdmin(
        server_url=server_url(settings, form),
        token={"access_token": "not-a-token", "expires_in": 300},
        realm_name=settings.tenant,
    )
    with pytest.raises(KeycloakAuthenticationError):
        stale.users_count()
