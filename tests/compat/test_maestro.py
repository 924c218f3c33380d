"""dadosfera 1.22.0 `services.maestro` against Latchkey's Maestro dialect.

The client is used unmodified. Its functions return the response JSON whatever the
status (an HTTP error is logged with a broken format string, then the error body is
returned), so refusals show up as `{"error": code, "message": ...}` dictionaries, and
`get_token` raises `KeyError('tokens')` on them. Importing the module sets the root
logger to DEBUG; the "--- Logging error ---" tracebacks on stderr come from the client.

`delete_user` ignores the base URL and always calls
`https://maestro.dadosfera.ai/users/{id}`. The `redirected_delete` fixture reaches the
test server anyway by mounting a `requests` transport adapter on every new
`requests.Session` (the module-level `requests.delete` creates one per call) that
rewrites `https://maestro.dadosfera.ai/…` to `{LATCHKEY_URL}/maestro/api/…`. Real
deployments need DNS and a trusted certificate for that host instead (see
docs/dialects/maestro.md).
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass

import pyotp
import pytest
import requests
from dadosfera.services import maestro

from conftest import NATIVE_TIMEOUT_S, Member, NativeApi, Settings

HARD_CODED_HOST = "https://maestro.dadosfera.ai/"


@pytest.fixture(autouse=True)
def tolerate_the_clients_logging_bug(monkeypatch: pytest.MonkeyPatch) -> None:
    """On an HTTP error the client calls `logger.info("Http Error:", errh)`, a bad format
    string. Plain logging prints "--- Logging error ---" and carries on, so the function
    returns the error body; pytest's log-capturing handler re-raises instead (it fails
    tests on bad log calls) unless `logging.raiseExceptions` is off. Turning it off gives
    the client's behaviour outside pytest, without the stderr noise."""
    monkeypatch.setattr(logging, "raiseExceptions", False)


@pytest.fixture(scope="module")
def base(settings: Settings) -> str:
    """The base URL a dadosfera user configures: the client appends `/auth/sign-in`."""
    return f"{settings.url}/maestro/api"


def native_token(settings: Settings, login: str, password: str) -> str:
    resp = requests.post(
        f"{settings.url}/api/v1/tenants/{settings.tenant}/sign-in",
        json={"login": login, "password": password},
        timeout=NATIVE_TIMEOUT_S,
    )
    assert resp.status_code == 200, resp.text
    return resp.json()["access_token"]


def assert_error(body: dict, code: str) -> None:
    assert isinstance(body, dict), body
    assert body.get("error") == code, body
    assert isinstance(body.get("message"), str) and body["message"], body
    assert "tokens" not in body


def test_get_user_config_returns_the_documented_shape(
    base: str, member: Member, native: NativeApi
) -> None:
    config = maestro.get_user_config(base, member.email, member.password)
    assert set(config) == {
        "permissions",
        "tokens",
        "mfaStatus",
        "termsOfUse",
        "user",
        "customer",
    }, config
    assert "profile.read" in config["permissions"]
    assert set(config["tokens"]) == {"idToken", "accessToken", "refreshToken"}
    assert config["mfaStatus"] == "DISABLED"
    assert set(config["termsOfUse"]) == {"status", "lastSigned"}
    user = config["user"]
    assert user["id"] == member.id
    assert user["username"] == member.username
    assert user["createdAt"].endswith("Z")
    customer = config["customer"]
    assert set(customer) == {"modules", "links", "id", "name", "tier", "scheduleLimit"}
    assert isinstance(customer["modules"], list) and isinstance(customer["links"], list)


def test_get_token_returns_the_access_token(base: str, member: Member, settings: Settings) -> None:
    token = maestro.get_token(base, member.email, member.password)
    assert isinstance(token, str) and token.count(".") == 2
    # The same token works on the native API.
    me = requests.get(
        f"{settings.url}/api/v1/me",
        headers={"Authorization": f"Bearer {token}"},
        timeout=NATIVE_TIMEOUT_S,
    )
    assert me.status_code == 200, me.text
    assert me.json()["account"]["id"] == member.id


def test_wrong_password_returns_the_error_json(base: str, make_member) -> None:
    someone = make_member()
    body = maestro.get_user_config(base, someone.email, "not the password")
    assert_error(body, "invalid_credentials")
    with pytest.raises(KeyError, match="tokens"):
        maestro.get_token(base, someone.email, "not the password")


@dataclass
class MfaMember:
    member: Member
    totp: pyotp.TOTP


@pytest.fixture
def mfa_member(make_member, settings: Settings) -> MfaMember:
    """A fresh member with a confirmed authenticator (enrolled through the native API)."""
    someone = make_member()
    headers = {"Authorization": f"Bearer {native_token(settings, someone.email, someone.password)}"}
    enrolled = requests.post(
        f"{settings.url}/api/v1/me/mfa/totp", headers=headers, timeout=NATIVE_TIMEOUT_S
    )
    assert enrolled.status_code == 201, enrolled.text
    totp = pyotp.TOTP(enrolled.json()["secret"])
    confirmed = requests.post(
        f"{settings.url}/api/v1/me/mfa/totp/confirm",
        headers=headers,
        json={"code": totp.now()},
        timeout=NATIVE_TIMEOUT_S,
    )
    assert confirmed.status_code == 204, confirmed.text
    return MfaMember(member=someone, totp=totp)


def code_outside_the_window(totp: pyotp.TOTP) -> str:
    """Six digits that are no code of the steps the server may accept now."""
    now = time.time()
    window = {totp.at(now + offset) for offset in (-60, -30, 0, 30, 60)}
    return next(c for c in (f"{secrets.randbelow(10**6):06d}" for _ in range(100)) if c not in window)


def test_mfa_accounts_need_a_fresh_code(base: str, mfa_member: MfaMember) -> None:
    who = mfa_member.member

    missing = maestro.get_user_config(base, who.email, who.password)
    assert_error(missing, "mfa_required")
    # get_token never forwards a code: it cannot sign in an MFA account.
    with pytest.raises(KeyError, match="tokens"):
        maestro.get_token(base, who.email, who.password)

    wrong = maestro.get_user_config(
        base, who.email, who.password, totp=code_outside_the_window(mfa_member.totp)
    )
    assert_error(wrong, "invalid_totp")

    # The confirming code's step is spent; the next step's code is within the window.
    code = mfa_member.totp.at(time.time() + 30)
    config = maestro.get_user_config(base, who.email, who.password, totp=code)
    assert "tokens" in config, config
    assert config["mfaStatus"] == "ENABLED"

    replayed = maestro.get_user_config(base, who.email, who.password, totp=code)
    assert_error(replayed, "invalid_totp")


def test_get_all_users_sends_a_bare_token(
    base: str, settings: Settings, member: Member
) -> None:
    token = maestro.get_token(base, settings.admin_email, settings.admin_password)
    listed = maestro.get_all_users(base, token, "compat-operator@example.com")
    assert set(listed) == {"users"}, listed
    by_id = {u["id"]: u for u in listed["users"]}
    assert member.id in by_id, listed
    row = by_id[member.id]
    assert set(row) == {"id", "name", "username", "email", "createdAt", "lastLogin"}
    assert row["email"] == member.email
    assert row["createdAt"].endswith("Z")
    admin = next(u for u in listed["users"] if u["email"] == settings.admin_email)
    assert admin["lastLogin"].endswith("Z"), "the admin just signed in"


def test_get_all_users_refuses_members_without_users_read(base: str, member: Member) -> None:
    token = maestro.get_token(base, member.email, member.password)
    assert_error(maestro.get_all_users(base, token, member.email), "forbidden")
    assert_error(maestro.get_all_users(base, "not-a-token", member.email), "invalid_token")


class RewritingAdapter(requests.adapters.HTTPAdapter):
    """Sends requests for the hard-coded Maestro host to the test server's dialect,
    and remembers what came back (the client ignores the answer of a delete)."""

    def __init__(self, dialect_base: str) -> None:
        super().__init__()
        self.dialect_base = dialect_base.rstrip("/") + "/"
        self.answers: list[tuple[str, str, int]] = []

    def send(self, request, **kwargs):  # noqa: ANN001 (requests' signature)
        assert request.url.startswith(HARD_CODED_HOST), request.url
        request.url = self.dialect_base + request.url[len(HARD_CODED_HOST) :]
        response = super().send(request, **kwargs)
        self.answers.append((request.method, request.url, response.status_code))
        return response


@pytest.fixture
def redirected_delete(base: str, monkeypatch: pytest.MonkeyPatch) -> RewritingAdapter:
    adapter = RewritingAdapter(base)
    original_init = requests.Session.__init__

    def init_with_adapter(self, *args, **kwargs):  # noqa: ANN001
        original_init(self, *args, **kwargs)
        self.mount(HARD_CODED_HOST, adapter)

    monkeypatch.setattr(requests.Session, "__init__", init_with_adapter)
    return adapter


def test_delete_user_through_the_hard_coded_host(
    base: str, settings: Settings, make_member, redirected_delete: RewritingAdapter
) -> None:
    doomed = make_member()
    token = maestro.get_token(base, settings.admin_email, settings.admin_password)
    maestro.delete_user(doomed.id, token)
    assert redirected_delete.answers == [
        ("DELETE", f"{base}/users/{doomed.id}", 204)
    ], redirected_delete.answers
    listed = maestro.get_all_users(base, token, "")
    assert doomed.id not in {u["id"] for u in listed["users"]}
    # Deleting again is a 404 (the client still logs "deleted": its behaviour).
    maestro.delete_user(doomed.id, token)
    assert redirected_delete.answers[-1][2] == 404


def test_terms_of_use_pending_then_accepted(
    base: str, settings: Settings, native: NativeApi, make_member
) -> None:
    published = requests.post(
        f"{settings.url}/api/v1/tenants/{settings.tenant}/terms",
        headers=native.headers(),
        json={
            "public_url": f"https://example.com/terms/{secrets.token_hex(4)}",
            "enforce_date": "2024-01-01T00:00:00Z",
        },
        timeout=NATIVE_TIMEOUT_S,
    )
    assert published.status_code == 201, published.text
    version = published.json()["version"]

    someone = make_member()
    pending = maestro.get_user_config(base, someone.email, someone.password)
    assert pending["termsOfUse"] == {"status": "pending", "lastSigned": None}, pending

    accepted = requests.post(
        f"{settings.url}/api/v1/me/terms/accept",
        headers={"Authorization": f"Bearer {pending['tokens']['accessToken']}"},
        json={"version": version},
        timeout=NATIVE_TIMEOUT_S,
    )
    assert accepted.status_code == 200, accepted.text

    config = maestro.get_user_config(base, someone.email, someone.password)
    terms = config["termsOfUse"]
    assert terms["status"] == "accepted", terms
    signed = terms["lastSigned"]
    assert signed["version"] == version
    assert signed["publicUrl"] == published.json()["public_url"]
    assert signed["enforceDate"] == "2024-01-01T00:00:00Z"
    assert signed["createdAt"].endswith("Z")
