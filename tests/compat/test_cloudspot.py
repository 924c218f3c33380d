"""cloudspot-license-api 1.4.3 (`CloudspotLicense_API`) against Latchkey's Cloudspot
dialect.

The client is used unmodified. It has no URL parameter; the tests set its public
attribute `api.base_url = f"{LATCHKEY_URL}/cloudspot/api/v1"` after construction, as
docs/dialects/cloudspot.md tells users to. Its models raise `AttributeError` on any key
they do not define, so every call that succeeds here also proves the server sent no
extra key.

Fixtures are prepared through the native API with plain `requests`: an application
whose client id is the module (in the test tenant and in a second tenant), a custom role
holding `{module}:` permissions, and members in both tenants. The module's application
has `access_token_lifetime` 60 s (the minimum), which the dialect applies to the tokens
it issues; the expiry test waits for that minute to pass (the server runs on the real
clock, so there is no other way to hold an expired token).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

import pytest
import requests
from cloudspotlicense.api import CloudspotLicense_API
from cloudspotlicense.constants.errors import BadCredentials, NoValidToken

from conftest import NATIVE_TIMEOUT_S, NativeApi, Settings, _check

SLUGS = ["invoices.read", "invoices.write"]
OTHER_SLUGS = ["reports.read"]


@dataclass(frozen=True)
class Person:
    id: str
    email: str
    password: str


@dataclass(frozen=True)
class Setup:
    module: str
    tenant_id: str
    other_domain: str
    other_tenant_id: str
    member: Person
    other_member: Person


def _native(native: NativeApi, method: str, path: str, expected: int, body=None) -> dict:
    resp = native.session.request(
        method,
        f"{native.settings.url}/api/v1{path}",
        json=body,
        headers=native.headers(),
        timeout=NATIVE_TIMEOUT_S,
    )
    return _check(resp, expected, f"native {method} {path}")


def _person(native: NativeApi, domain: str, role: str, display_name: str) -> Person:
    tag = secrets.token_hex(5)
    email = f"cloudspot.{tag}@example.com"
    password = f"Cloudspot-{secrets.token_hex(8)}-Pass"
    created = _native(
        native,
        "POST",
        f"/tenants/{domain}/users",
        201,
        {"email": email, "password": password, "role": role, "display_name": display_name},
    )
    return Person(id=created["id"], email=email, password=password)


@pytest.fixture(scope="module")
def setup(native: NativeApi, settings: Settings) -> Setup:
    tag = secrets.token_hex(4)
    module = f"cloudspot-{tag}"
    other_domain = f"cloudspot-{tag}"
    tenant = settings.tenant
    _native(native, "POST", "/tenants", 201, {"domain": other_domain, "title": "Second Company"})
    for domain, slugs in ((tenant, SLUGS), (other_domain, OTHER_SLUGS)):
        _native(
            native,
            "POST",
            f"/tenants/{domain}/applications",
            201,
            {"client_id": module, "public": True, "access_token_lifetime": 60},
        )
        _native(
            native,
            "PUT",
            f"/tenants/{domain}/roles/{module}-user",
            201,
            {
                "permissions": [f"{module}:{slug}" for slug in slugs]
                + ["profile.read", "tenant.read", "other-app:ignored"]
            },
        )
    tenant_id = _native(native, "GET", f"/tenants/{tenant}", 200)["id"]
    other_tenant_id = _native(native, "GET", f"/tenants/{other_domain}", 200)["id"]
    return Setup(
        module=module,
        tenant_id=tenant_id,
        other_domain=other_domain,
        other_tenant_id=other_tenant_id,
        member=_person(native, tenant, f"{module}-user", "Ada Lovelace"),
        other_member=_person(native, other_domain, f"{module}-user", "Grace"),
    )


def client(settings: Settings, module: str, token: str | None = None) -> CloudspotLicense_API:
    api = CloudspotLicense_API(module, token=token)
    api.base_url = f"{settings.url}/cloudspot/api/v1"
    return api


def signed_in(settings: Settings, setup: Setup, person: Person | None = None) -> CloudspotLicense_API:
    person = person or setup.member
    api = client(settings, setup.module)
    api.authenticate(person.email, person.password)
    return api


def companies(api: CloudspotLicense_API) -> list[tuple[str, str, list[str]]]:
    return [(p.company_id, p.company_name, p.permissions) for p in api.permissions.items()]


def test_authenticate_returns_the_token_and_slugs(settings: Settings, setup: Setup) -> None:
    api = signed_in(settings, setup)
    assert isinstance(api.token, str) and api.token.count(".") == 2
    assert api.headers["X-LICENSE-TOKEN"] == api.token
    assert companies(api) == [(setup.tenant_id, "Default", SLUGS)]


def test_a_member_of_another_company_sees_that_company(settings: Settings, setup: Setup) -> None:
    api = signed_in(settings, setup, setup.other_member)
    assert companies(api) == [(setup.other_tenant_id, "Second Company", OTHER_SLUGS)]


def test_bad_credentials(settings: Settings, setup: Setup) -> None:
    with pytest.raises(BadCredentials):
        client(settings, setup.module).authenticate(setup.member.email, "not-the-password")
    with pytest.raises(BadCredentials):
        client(settings, setup.module).authenticate("nobody@example.com", "not-the-password")
    # An unknown module is refused even with the right password.
    with pytest.raises(BadCredentials):
        client(settings, "no-such-module").authenticate(setup.member.email, setup.member.password)


def test_get_permissions_with_a_token(settings: Settings, setup: Setup) -> None:
    token = signed_in(settings, setup).token
    api = client(settings, setup.module)
    api.get_permissions(token=token)
    assert companies(api) == [(setup.tenant_id, "Default", SLUGS)]
    # The token given to the constructor works the same.
    api = client(settings, setup.module, token=token)
    api.get_permissions()
    assert companies(api) == [(setup.tenant_id, "Default", SLUGS)]


def test_get_user(settings: Settings, setup: Setup) -> None:
    api = signed_in(settings, setup)
    api.get_user()
    assert not api.user.has_error
    assert (api.user.first_name, api.user.last_name, api.user.email, api.user.pin) == (
        "Ada",
        "Lovelace",
        setup.member.email,
        None,
    )


def test_get_company_permissions(settings: Settings, setup: Setup) -> None:
    api = signed_in(settings, setup)
    assert api.get_company_permissions(setup.tenant_id) == SLUGS
    with pytest.raises(Exception, match="company not found"):
        api.get_company_permissions("unknown-company")
    # A company the account does not belong to is just as unknown.
    with pytest.raises(Exception, match="company not found"):
        api.get_company_permissions(setup.other_tenant_id)


def test_no_valid_token_after_sign_out(settings: Settings, setup: Setup) -> None:
    api = signed_in(settings, setup)
    api.get_permissions()
    resp = requests.post(
        f"{settings.url}/api/v1/tenants/{settings.tenant}/sign-out",
        headers={"Authorization": f"Bearer {api.token}"},
        timeout=NATIVE_TIMEOUT_S,
    )
    assert resp.status_code == 204, resp.text
    with pytest.raises(NoValidToken):
        api.get_permissions()
    with pytest.raises(NoValidToken):
        api.get_user()
    with pytest.raises(Exception, match="token"):
        api.get_company_permissions(setup.tenant_id)


def test_no_valid_token_once_expired(settings: Settings, setup: Setup) -> None:
    api = signed_in(settings, setup)
    api.get_permissions()
    # The module's tokens live 60 s (its application's access_token_lifetime).
    time.sleep(62)
    with pytest.raises(NoValidToken):
        api.get_permissions()
    with pytest.raises(NoValidToken):
        api.get_user()


def test_validate_impersonation(native: NativeApi, settings: Settings, setup: Setup) -> None:
    minted = _native(
        native, "POST", f"/tenants/{settings.tenant}/users/{setup.member.id}/impersonation", 201
    )
    api = client(settings, setup.module)
    resp = api.auth.validate_impersonation(minted["token"])
    assert not resp.has_error, resp.error and resp.error.message
    assert isinstance(resp.token, str) and resp.auth_token == resp.token
    assert resp.user["email"] == setup.member.email
    assert resp.company["company_id"] == setup.tenant_id
    assert resp.company["permissions"] == SLUGS
    # The exchanged token speaks for the member.
    api.get_user(token=resp.token)
    assert api.user.email == setup.member.email
    # Single use.
    again = client(settings, setup.module).auth.validate_impersonation(minted["token"])
    assert again.has_error and again.error.error_code == "NOT_AUTHORIZED"
    assert again.error.message
