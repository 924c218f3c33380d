"""Fixtures for the client-compatibility tests.

The tests talk to a running Latchkey server through the real client packages pinned in
requirements.txt. They only *prepare* data (a member with a known password, a
confidential client) through Latchkey's native API, with plain `requests`.

Environment:
  LATCHKEY_URL             the server, e.g. http://127.0.0.1:8080 (required)
  LATCHKEY_ADMIN_EMAIL     an administrator of the tenant (default admin@example.com)
  LATCHKEY_ADMIN_PASSWORD  its password (required)
  LATCHKEY_TENANT          the tenant / Keycloak realm (default `default`)
"""

from __future__ import annotations

import os
import secrets
import time
import warnings
from dataclasses import dataclass, field

import authlib.deprecate
import pytest
import requests

# squonk2 7.0.0 verifies tokens with `authlib.jose`, and so do these tests, on purpose;
# Authlib warns that the module is deprecated, and its import installs an "always"
# filter that pytest's `filterwarnings` cannot override. Import it once, quietly.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", authlib.deprecate.AuthlibDeprecationWarning)
    import authlib.jose  # noqa: F401

NATIVE_TIMEOUT_S = 30


@dataclass(frozen=True)
class Settings:
    url: str  # no trailing slash
    tenant: str
    admin_email: str
    admin_password: str

    def base(self, form: str) -> str:
        """The `server_url` to give python-keycloak: `root` → `http://h:p`,
        `auth` → `http://h:p/auth/` (the README form; `urljoin` keeps `/auth`)."""
        return {"root": self.url, "auth": f"{self.url}/auth/"}[form]

    def realm_url(self, form: str) -> str:
        prefix = {"root": "", "auth": "/auth"}[form]
        return f"{self.url}{prefix}/realms/{self.tenant}"


def pytest_configure(config: pytest.Config) -> None:
    missing = [v for v in ("LATCHKEY_URL", "LATCHKEY_ADMIN_PASSWORD") if not os.environ.get(v)]
    if missing:
        raise pytest.UsageError(
            f"set {', '.join(missing)}: these tests need a running Latchkey server "
            "(crates/latchkey-cli/tests/compat.rs starts one and runs them)"
        )


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings(
        url=os.environ["LATCHKEY_URL"].rstrip("/"),
        tenant=os.environ.get("LATCHKEY_TENANT") or "default",
        admin_email=os.environ.get("LATCHKEY_ADMIN_EMAIL") or "admin@example.com",
        admin_password=os.environ["LATCHKEY_ADMIN_PASSWORD"],
    )


def _check(resp: requests.Response, expected: int, what: str) -> dict:
    if resp.status_code != expected:
        raise AssertionError(
            f"{what}: expected HTTP {expected}, got {resp.status_code}: {resp.text[:2000]}"
        )
    return resp.json() if resp.content else {}


@dataclass
class NativeApi:
    """Latchkey's own REST API, signed in as the tenant administrator."""

    settings: Settings
    _token: str | None = None
    _token_at: float = 0.0
    session: requests.Session = field(default_factory=requests.Session)

    def _api(self, path: str) -> str:
        return f"{self.settings.url}/api/v1/tenants/{self.settings.tenant}{path}"

    def sign_in(self, login: str, password: str) -> dict:
        resp = self.session.post(
            self._api("/sign-in"),
            json={"login": login, "password": password},
            timeout=NATIVE_TIMEOUT_S,
        )
        return _check(resp, 200, f"native sign-in of {login}")

    def headers(self) -> dict[str, str]:
        # Access tokens live 5 minutes; sign in again well before that.
        if self._token is None or time.monotonic() - self._token_at > 180:
            self._token = self.sign_in(self.settings.admin_email, self.settings.admin_password)[
                "access_token"
            ]
            self._token_at = time.monotonic()
        return {"Authorization": f"Bearer {self._token}"}

    def create_user(self, **body: object) -> dict:
        resp = self.session.post(
            self._api("/users"), json=body, headers=self.headers(), timeout=NATIVE_TIMEOUT_S
        )
        return _check(resp, 201, f"native create user {body.get('email')}")

    def create_application(self, **body: object) -> dict:
        resp = self.session.post(
            self._api("/applications"), json=body, headers=self.headers(), timeout=NATIVE_TIMEOUT_S
        )
        return _check(resp, 201, f"native create application {body.get('client_id')}")


@pytest.fixture(scope="session")
def native(settings: Settings) -> NativeApi:
    return NativeApi(settings)


@dataclass(frozen=True)
class Member:
    id: str
    email: str
    username: str
    password: str
    role: str


def _new_member(native: NativeApi, password: str | None = None, role: str = "user") -> Member:
    tag = secrets.token_hex(5)
    username = f"compat_{tag}"
    email = f"compat.{tag}@example.com"
    # Long enough for the default policy; only characters that survive squonk2's
    # un-encoded form body unless the caller asks otherwise.
    password = password or f"Compat-{secrets.token_hex(8)}-Pass"
    created = native.create_user(email=email, username=username, password=password, role=role)
    return Member(id=created["id"], email=email, username=username, password=password, role=role)


@pytest.fixture(scope="session")
def member(native: NativeApi) -> Member:
    """A plain member (`user` role) of the tenant with a known password. Shared by the
    whole session: tests must not change or lock it."""
    return _new_member(native)


@pytest.fixture
def make_member(native: NativeApi):
    """Creates a fresh member, for tests that count failures against an account or
    need a particular password."""

    def make(password: str | None = None, role: str = "user") -> Member:
        return _new_member(native, password=password, role=role)

    return make


@dataclass(frozen=True)
class ConfidentialClient:
    client_id: str
    client_secret: str


@pytest.fixture(scope="session")
def confidential_client(native: NativeApi) -> ConfidentialClient:
    """A confidential OAuth client allowed the client_credentials grant."""
    client_id = f"compat-svc-{secrets.token_hex(4)}"
    created = native.create_application(
        client_id=client_id, public=False, grant_types=["client_credentials"]
    )
    assert created.get("client_id") == client_id, created
    secret = created.get("client_secret")
    assert isinstance(secret, str) and secret, f"no client_secret in {created}"
    return ConfidentialClient(client_id=client_id, client_secret=secret)


@pytest.fixture(params=["root", "auth"])
def form(request: pytest.FixtureRequest) -> str:
    """Both ways python-keycloak users configure `server_url`: `http://h:p` and
    `http://h:p/auth/`."""
    return request.param
