"""python-keycloak 7.1.1 `KeycloakOpenID` against Latchkey's Keycloak-compatible OpenID
Connect endpoints (shared/api-surface.md §5), with `server_url` both `http://h:p` and
`http://h:p/auth/` (the `form` fixture).

The authorization-code flow is in test_authlib_code_flow.py, the admin API in
test_keycloak_admin.py.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time

import pytest
import requests
from authlib.jose import jwt as authlib_jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_der_public_key
from jwcrypto.common import JWException
from keycloak import KeycloakOpenID
from keycloak.exceptions import (
    KeycloakAuthenticationError,
    KeycloakError,
    KeycloakGetError,
    KeycloakPostError,
)

from conftest import ConfidentialClient, Member, Settings

OIDC = "/protocol/openid-connect"


def openid(settings: Settings, form: str, **kw) -> KeycloakOpenID:
    kw.setdefault("client_id", "admin-cli")
    kw.setdefault("realm_name", settings.tenant)
    return KeycloakOpenID(server_url=settings.base(form), **kw)


@pytest.fixture
def kc(settings: Settings, form: str) -> KeycloakOpenID:
    return openid(settings, form)


@pytest.fixture
def tokens(kc: KeycloakOpenID, member: Member) -> dict:
    """A fresh password-grant token response for the shared member on `admin-cli`."""
    return kc.token(member.username, member.password)


def b64url_int(value: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), "big")


def jwt_part(token: str, index: int) -> dict:
    part = token.split(".")[index]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def pem_as_squonk2_builds_it(public_key: str) -> bytes:
    # Verbatim from squonk2/auth.py (im-squonk2-client 7.0.0).
    key = "-----BEGIN PUBLIC KEY-----\n" + public_key + "\n-----END PUBLIC KEY-----"
    return key.encode("ascii")


def body_text(err: KeycloakError) -> str:
    body = err.response_body
    return body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)


def expected_issuers(settings: Settings, form: str) -> set[str]:
    # Tokens carry iss = {public_url}/realms/{t} (docs/api.md). Through the legacy /auth
    # prefix, Keycloak itself would say {host}/auth/realms/{t}; the contract accepts
    # either, provided tokens obtained there carry the same `iss` (checked below).
    root = f"{settings.url}/realms/{settings.tenant}"
    return {root} if form == "root" else {root, f"{settings.url}/auth/realms/{settings.tenant}"}


# --- discovery ---------------------------------------------------------------------


def test_well_known(kc: KeycloakOpenID, settings: Settings, form: str) -> None:
    doc = kc.well_known()
    assert isinstance(doc, dict), doc
    issuer = doc["issuer"]
    assert issuer in expected_issuers(settings, form), issuer
    for name, path in [
        ("token_endpoint", "/token"),
        ("userinfo_endpoint", "/userinfo"),
        ("jwks_uri", "/certs"),
        ("introspection_endpoint", "/token/introspect"),
        ("end_session_endpoint", "/logout"),
        ("revocation_endpoint", "/revoke"),
    ]:
        assert doc.get(name) == f"{issuer}{OIDC}{path}", (name, doc.get(name))
    assert {"password", "refresh_token", "client_credentials"} <= set(doc["grant_types_supported"])
    assert "RS256" in doc["id_token_signing_alg_values_supported"]
    if "token_endpoint_auth_methods_supported" in doc:
        assert {"client_secret_post", "client_secret_basic"} <= set(
            doc["token_endpoint_auth_methods_supported"]
        )
    # What it advertises answers (and without redirects, which clients mishandle).
    certs = requests.get(doc["jwks_uri"], timeout=10, allow_redirects=False)
    assert certs.status_code == 200, certs.text
    assert certs.json()["keys"]


def test_well_known_advertises_pkce_s256(kc: KeycloakOpenID) -> None:
    # Keycloak advertises ["plain", "S256"]; clients doing PKCE look for S256 here.
    assert "S256" in kc.well_known().get("code_challenge_methods_supported", [])


def test_unknown_realm_is_an_error(settings: Settings, form: str, member: Member) -> None:
    nowhere = openid(settings, form, realm_name=f"no-such-realm-{int(time.time())}")
    with pytest.raises(KeycloakGetError) as err:
        nowhere.well_known()
    assert err.value.response_code == 404
    with pytest.raises(KeycloakGetError) as err:
        nowhere.public_key()
    assert err.value.response_code == 404
    with pytest.raises(KeycloakError) as err:
        nowhere.token(member.username, member.password)
    assert 400 <= err.value.response_code < 500, err.value


# --- password grant, refresh, userinfo ---------------------------------------------


def test_password_grant_token_response(tokens: dict) -> None:
    assert isinstance(tokens["access_token"], str) and tokens["access_token"].count(".") == 2
    assert isinstance(tokens["expires_in"], (int, float)) and tokens["expires_in"] > 0
    assert isinstance(tokens["refresh_token"], str) and tokens["refresh_token"]
    assert isinstance(tokens.get("refresh_expires_in"), (int, float))
    assert tokens["token_type"] == "Bearer"
    # scope=openid is python-keycloak's default, so an ID token is issued.
    assert isinstance(tokens["id_token"], str) and tokens["id_token"].count(".") == 2
    assert isinstance(tokens["session_state"], str) and tokens["session_state"]
    assert tokens["not-before-policy"] == 0
    assert "openid" in tokens["scope"].split()


def test_login_by_email_too(kc: KeycloakOpenID, member: Member) -> None:
    tokens = kc.token(member.email, member.password)
    assert kc.decode_token(tokens["access_token"])["sub"] == member.id


def test_refresh_gives_new_tokens(kc: KeycloakOpenID, tokens: dict) -> None:
    refreshed = kc.refresh_token(tokens["refresh_token"])
    assert refreshed["access_token"] != tokens["access_token"]
    assert refreshed["refresh_token"]
    assert refreshed["token_type"] == "Bearer"
    assert isinstance(refreshed["expires_in"], (int, float))
    # Same session.
    assert refreshed["session_state"] == tokens["session_state"]
    assert kc.userinfo(refreshed["access_token"])["sub"]


def test_userinfo(kc: KeycloakOpenID, tokens: dict, member: Member) -> None:
    info = kc.userinfo(tokens["access_token"])
    assert isinstance(info, dict), info
    assert info["sub"] == member.id
    assert info["email"] == member.email
    assert info["preferred_username"] == member.username


def test_userinfo_with_bad_token_is_401(kc: KeycloakOpenID) -> None:
    with pytest.raises(KeycloakAuthenticationError) as err:
        kc.userinfo("not-a-token")
    assert err.value.response_code == 401


def test_wrong_password_is_401(kc: KeycloakOpenID, make_member) -> None:
    victim = make_member()
    with pytest.raises(KeycloakAuthenticationError) as err:
        kc.token(victim.username, victim.password + "-wrong")
    assert err.value.response_code == 401
    body = json.loads(err.value.response_body)
    assert body["error"] == "invalid_grant", body
    # An unknown user is answered the same way.
    with pytest.raises(KeycloakAuthenticationError) as err:
        kc.token(f"nobody-{victim.username}", victim.password)
    assert json.loads(err.value.response_body)["error"] == "invalid_grant"


# --- keys and token verification ---------------------------------------------------


def test_certs_and_public_key_publish_the_same_key(kc: KeycloakOpenID, tokens: dict) -> None:
    keys = kc.certs()["keys"]
    assert keys
    for k in keys:
        assert k["kty"] == "RSA" and k["alg"] == "RS256" and k["use"] == "sig", k
        assert k["kid"] and k["n"] and k["e"], k
        assert "=" not in k["n"] + k["e"], "base64url without padding"

    public_key = kc.public_key()
    assert isinstance(public_key, str)
    assert "BEGIN" not in public_key and "\n" not in public_key.strip(), public_key
    spki = load_der_public_key(base64.b64decode(public_key, validate=True))
    assert isinstance(spki, RSAPublicKey)

    # The realm key is the one that signs tokens, and the JWKS has it under the kid.
    header = jwt_part(tokens["access_token"], 0)
    assert header["alg"] == "RS256"
    signing = [k for k in keys if k["kid"] == header.get("kid")]
    assert signing, (header, [k["kid"] for k in keys])
    numbers = spki.public_numbers()
    assert (b64url_int(signing[0]["n"]), b64url_int(signing[0]["e"])) == (numbers.n, numbers.e)


def test_decode_token_validates_with_certs(
    kc: KeycloakOpenID, tokens: dict, member: Member, settings: Settings, form: str
) -> None:
    claims = kc.decode_token(tokens["access_token"], validate=True)
    assert claims["sub"] == member.id
    assert member.role in claims["realm_access"]["roles"]
    assert claims["azp"] == "admin-cli"
    assert claims["sid"] == tokens["session_state"]
    assert isinstance(claims["exp"], (int, float)) and claims["exp"] > time.time()
    assert claims["iss"] == kc.well_known()["issuer"]
    assert claims["iss"] in expected_issuers(settings, form)

    id_claims = kc.decode_token(tokens["id_token"], validate=True)
    assert id_claims["sub"] == member.id
    assert id_claims["iss"] == claims["iss"]
    aud = id_claims["aud"]
    assert "admin-cli" in (aud if isinstance(aud, list) else [aud]), aud

    # A tampered token does not validate.
    head, _payload, sig = tokens["access_token"].split(".")
    forged = dict(jwt_part(tokens["access_token"], 1), sub="someone-else")
    forged_payload = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
    with pytest.raises(JWException):  # jwcrypto: no key verifies it
        kc.decode_token(f"{head}.{forged_payload}.{sig}", validate=True)


def test_token_verifies_with_public_key_as_squonk2_does(kc: KeycloakOpenID, tokens: dict) -> None:
    pem = pem_as_squonk2_builds_it(kc.public_key())
    claims = authlib_jwt.decode(tokens["access_token"], pem)
    # squonk2 computes `claims["exp"] - now` without checking anything else.
    assert isinstance(claims["exp"], (int, float))
    assert claims["exp"] - int(time.time()) >= 60


# --- introspection, logout, revocation ---------------------------------------------


def test_introspect_with_confidential_client(
    settings: Settings,
    form: str,
    tokens: dict,
    member: Member,
    confidential_client: ConfidentialClient,
) -> None:
    svc = openid(
        settings,
        form,
        client_id=confidential_client.client_id,
        client_secret_key=confidential_client.client_secret,
    )
    info = svc.introspect(tokens["access_token"])
    assert info["active"] is True, info
    assert info["sub"] == member.id
    assert info["client_id"] == "admin-cli"
    assert info["username"] == member.username
    assert isinstance(info["exp"], (int, float))

    garbage = svc.introspect("garbage.not-a.token")
    assert garbage["active"] is False, garbage


def test_logout_ends_the_session(kc: KeycloakOpenID, tokens: dict) -> None:
    assert kc.logout(tokens["refresh_token"]) == {}  # python-keycloak requires exactly 204
    with pytest.raises(KeycloakPostError) as err:
        kc.refresh_token(tokens["refresh_token"])
    assert err.value.response_code == 400
    assert "Session not active" in body_text(err.value)
    assert json.loads(err.value.response_body)["error"] == "invalid_grant"
    # Access tokens of the session stop working at once (docs/architecture.md).
    with pytest.raises(KeycloakAuthenticationError):
        kc.userinfo(tokens["access_token"])


# --- client credentials ------------------------------------------------------------


def test_client_credentials_grant(
    settings: Settings, form: str, confidential_client: ConfidentialClient
) -> None:
    svc = openid(
        settings,
        form,
        client_id=confidential_client.client_id,
        client_secret_key=confidential_client.client_secret,
    )
    # python-keycloak sends username=&password=&code=&redirect_uri=&scope=openid too.
    tokens = svc.token(grant_type="client_credentials")
    assert tokens["token_type"] == "Bearer"
    assert isinstance(tokens["expires_in"], (int, float))
    claims = svc.decode_token(tokens["access_token"], validate=True)
    assert claims["azp"] == confidential_client.client_id
    assert isinstance(claims["exp"], (int, float))


def test_client_credentials_with_wrong_secret_is_401(
    settings: Settings, form: str, confidential_client: ConfidentialClient
) -> None:
    svc = openid(
        settings,
        form,
        client_id=confidential_client.client_id,
        client_secret_key=confidential_client.client_secret + "x",
    )
    with pytest.raises(KeycloakAuthenticationError) as err:
        svc.token(grant_type="client_credentials")
    assert err.value.response_code == 401
    assert json.loads(err.value.response_body)["error"] == "invalid_client"


def test_public_client_cannot_use_client_credentials(kc: KeycloakOpenID) -> None:
    with pytest.raises(KeycloakError) as err:
        kc.token(grant_type="client_credentials")
    assert err.value.response_code in (400, 401)
    assert json.loads(err.value.response_body)["error"] in (
        "unauthorized_client",
        "invalid_client",
    )


# --- the async (httpx) variants ----------------------------------------------------


def test_async_variants_over_httpx(
    settings: Settings,
    form: str,
    member: Member,
    confidential_client: ConfidentialClient,
) -> None:
    """The `a_*` methods send the same requests through httpx instead of requests."""

    async def scenario() -> None:
        kc = openid(settings, form)
        svc = openid(
            settings,
            form,
            client_id=confidential_client.client_id,
            client_secret_key=confidential_client.client_secret,
        )
        assert (await kc.a_well_known())["token_endpoint"].endswith(f"{OIDC}/token")
        tokens = await kc.a_token(member.username, member.password)
        claims = await kc.a_decode_token(tokens["access_token"], validate=True)
        assert claims["sub"] == member.id
        assert (await kc.a_userinfo(tokens["access_token"]))["email"] == member.email
        assert (await svc.a_introspect(tokens["access_token"]))["active"] is True
        refreshed = await kc.a_refresh_token(tokens["refresh_token"])
        assert refreshed["access_token"] != tokens["access_token"]
        assert await kc.a_logout(refreshed["refresh_token"]) == {}
        with pytest.raises(KeycloakPostError) as err:
            await kc.a_refresh_token(refreshed["refresh_token"])
        assert err.value.response_code == 400
        assert "Session not active" in body_text(err.value)

    asyncio.run(scenario())
