"""im-squonk2-client 7.0.0 `squonk2.auth.Auth.get_access_token` against Latchkey
(shared/api-surface.md §4.1). squonk2's environments file always makes the Keycloak URL
end in `/auth`; direct callers may pass either form.
"""

from __future__ import annotations

import logging
import time

import pytest
from authlib.jose import jwt as authlib_jwt
from keycloak import KeycloakOpenID
from squonk2.auth import Auth

from conftest import Member, Settings


def keycloak_url(settings: Settings, form: str) -> str:
    return {"root": settings.url, "auth": f"{settings.url}/auth"}[form]


def get_token(settings: Settings, form: str, login: str, password: str, **kw) -> str | None:
    return Auth.get_access_token(
        keycloak_url=keycloak_url(settings, form),
        keycloak_realm=settings.tenant,
        keycloak_client_id="admin-cli",
        username=login,
        password=password,
        **kw,
    )


@pytest.mark.parametrize("login", ["username", "email"])
def test_get_access_token(settings: Settings, form: str, member: Member, login: str) -> None:
    token = get_token(settings, form, getattr(member, login), member.password)
    assert isinstance(token, str) and token.count(".") == 2, token
    kc = KeycloakOpenID(
        server_url=settings.base(form), realm_name=settings.tenant, client_id="admin-cli"
    )
    assert kc.userinfo(token)["sub"] == member.id


def test_prior_token_with_time_left_is_returned_unchanged(
    settings: Settings, form: str, member: Member
) -> None:
    first = get_token(settings, form, member.username, member.password)
    assert first
    # This path fetches GET {keycloak_url}/realms/{realm} with urllib, wraps its bare
    # `public_key` in PEM armour and verifies the prior token with authlib; the token has
    # ~300 s left, so it comes back as is, without a new token request.
    again = get_token(settings, form, member.username, member.password, prior_token=first)
    assert again == first
    pem = Auth._Auth__access_token_public_key  # what squonk2 cached from the realm document
    claims = authlib_jwt.decode(first, pem)
    assert claims["exp"] - int(time.time()) >= 60


def test_password_with_form_metacharacters_is_corrupted_by_squonk2(
    settings: Settings,
    form: str,
    member: Member,
    make_member,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """squonk2 builds the token request body by string concatenation without
    percent-encoding (api-surface.md, "Cannot work against any server" #8): with this
    password the server receives `password=Lantern` plus a stray field `Quartz Fjord 2026`.
    No server can recover the original, so squonk2 gets an error and returns None. The
    server must answer it like any bad request, and keep working."""
    password = "Lantern&Quartz+Fjord 2026"
    victim = make_member(password=password)

    caplog.set_level(logging.ERROR, logger="squonk2.auth")
    assert get_token(settings, form, victim.username, password) is None
    # It was the server's answer (4xx), not a connection failure or a 5xx.
    failures = [r for r in caplog.records if r.name == "squonk2.auth"]
    assert failures, "squonk2 logged nothing"
    status = failures[-1].args[0] if failures[-1].args else None
    assert isinstance(status, int) and 400 <= status < 500, failures[-1].getMessage()

    # The account itself is fine: a client that encodes the form (python-keycloak) gets in.
    kc = KeycloakOpenID(
        server_url=settings.base(form), realm_name=settings.tenant, client_id="admin-cli"
    )
    assert kc.token(victim.username, password)["access_token"]
    # And the server still serves squonk2 for everyone else.
    assert get_token(settings, form, member.username, member.password)
