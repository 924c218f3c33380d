"""The authorization-code grant with PKCE, driven by Authlib's OAuth 2.0 client over real
HTTP: fetch the hosted sign-in page, post its form as a browser would, follow the code
back to the client, exchange it, and validate the ID token (signature, iss, aud, nonce)."""

from __future__ import annotations

import secrets
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt

from conftest import Member, NativeApi, Settings

REDIRECT_URI = "http://localhost:9999/callback"


class _FormFields(HTMLParser):
    """Collects the sign-in form's inputs (hidden ones carry the request and CSRF token)."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "input":
            attributes = dict(attrs)
            if attributes.get("name"):
                self.fields[attributes["name"]] = attributes.get("value") or ""


@pytest.fixture(scope="module")
def spa(native: NativeApi) -> str:
    client_id = f"spa-{secrets.token_hex(4)}"
    native.create_application(
        client_id=client_id,
        public=True,
        grant_types=["authorization_code", "refresh_token"],
        redirect_uris=[REDIRECT_URI],
    )
    return client_id


def _sign_in_through_the_page(authorization_url: str, member: Member, password: str) -> requests.Response:
    browser = requests.Session()
    page = browser.get(authorization_url, timeout=30)
    assert page.status_code == 200, page.text
    parser = _FormFields()
    parser.feed(page.text)
    fields = dict(parser.fields)
    fields.update(username=member.email, password=password)
    # The form posts back to the page's own URL (no action attribute).
    return browser.post(page.url.split("?")[0], data=fields, allow_redirects=False, timeout=30)


def test_authorization_code_with_pkce(settings: Settings, spa: str, member: Member) -> None:
    realm = settings.realm_url("root")
    discovery = requests.get(f"{realm}/.well-known/openid-configuration", timeout=30).json()
    assert "S256" in discovery["code_challenge_methods_supported"]
    client = OAuth2Session(
        client_id=spa,
        redirect_uri=REDIRECT_URI,
        scope="openid email",
        code_challenge_method="S256",
        token_endpoint_auth_method="none",
    )
    verifier = generate_token(64)
    nonce = generate_token(16)
    url, state = client.create_authorization_url(
        discovery["authorization_endpoint"], code_verifier=verifier, nonce=nonce
    )

    refused = _sign_in_through_the_page(url, member, "not the password at all")
    assert refused.status_code == 401
    assert "location" not in refused.headers

    answer = _sign_in_through_the_page(url, member, member.password)
    assert answer.status_code == 302, answer.text
    location = answer.headers["location"]
    assert location.startswith(REDIRECT_URI)
    assert parse_qs(urlsplit(location).query)["state"] == [state]

    token = client.fetch_token(
        discovery["token_endpoint"], authorization_response=location, code_verifier=verifier
    )
    assert token["token_type"] == "Bearer"
    keys = JsonWebKey.import_key_set(requests.get(discovery["jwks_uri"], timeout=30).json())
    claims = jwt.decode(
        token["id_token"],
        keys,
        claims_options={
            "iss": {"essential": True, "value": discovery["issuer"]},
            "aud": {"essential": True, "value": spa},
            "nonce": {"essential": True, "value": nonce},
        },
    )
    claims.validate()
    assert claims["email"] == member.email

    # The code is single use: a second exchange fails.
    again = requests.post(
        discovery["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "client_id": spa,
            "code": parse_qs(urlsplit(location).query)["code"][0],
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
        timeout=30,
    )
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def test_unregistered_redirect_uri_is_refused_on_the_page(settings: Settings, spa: str) -> None:
    client = OAuth2Session(
        client_id=spa,
        redirect_uri="https://evil.example.com/callback",
        scope="openid",
        code_challenge_method="S256",
    )
    url, _ = client.create_authorization_url(
        f"{settings.realm_url('auth')}/protocol/openid-connect/auth", code_verifier=generate_token(64)
    )
    page = requests.get(url, allow_redirects=False, timeout=30)
    assert page.status_code == 400
    assert "location" not in page.headers
