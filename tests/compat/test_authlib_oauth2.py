"""Authlib's generic OAuth 2.0 client (`authlib.integrations.requests_client`) against the
same endpoints. Unlike python-keycloak, which always puts `client_secret` in the form
body, Authlib authenticates confidential clients with HTTP Basic by default, and it
implements RFC 7009 revocation and RFC 7662 introspection generically.
"""

from __future__ import annotations

import pytest
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from keycloak import KeycloakOpenID
from keycloak.exceptions import KeycloakPostError

from conftest import ConfidentialClient, Member, Settings

OIDC = "/protocol/openid-connect"


def confidential(client: ConfidentialClient, method: str) -> OAuth2Session:
    return OAuth2Session(client.client_id, client.client_secret, token_endpoint_auth_method=method)


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_client_credentials(
    settings: Settings, form: str, confidential_client: ConfidentialClient, method: str
) -> None:
    session = confidential(confidential_client, method)
    token = session.fetch_token(
        f"{settings.realm_url(form)}{OIDC}/token", grant_type="client_credentials"
    )
    assert token["access_token"]
    assert token["token_type"].lower() == "bearer"

    # RFC 7662 introspection, client authenticated the same way.
    resp = session.introspect_token(
        f"{settings.realm_url(form)}{OIDC}/token/introspect", token=token["access_token"]
    )
    assert resp.status_code == 200, resp.text
    info = resp.json()
    assert info["active"] is True, info
    assert info["client_id"] == confidential_client.client_id


def test_wrong_basic_secret_is_invalid_client(
    settings: Settings, confidential_client: ConfidentialClient
) -> None:
    wrong = ConfidentialClient(
        confidential_client.client_id, confidential_client.client_secret + "x"
    )
    session = confidential(wrong, "client_secret_basic")
    with pytest.raises(OAuthError) as err:
        session.fetch_token(
            f"{settings.realm_url('root')}{OIDC}/token", grant_type="client_credentials"
        )
    assert err.value.error == "invalid_client", repr(err.value)


def test_public_client_password_grant_and_revocation(
    settings: Settings, form: str, member: Member
) -> None:
    session = OAuth2Session("admin-cli", token_endpoint_auth_method="none", scope="openid")
    token = session.fetch_token(
        f"{settings.realm_url(form)}{OIDC}/token",
        username=member.username,
        password=member.password,
    )
    assert token["access_token"] and token["refresh_token"] and token["id_token"]

    # RFC 7009: revoking the refresh token answers 200 and ends it.
    resp = session.revoke_token(
        f"{settings.realm_url(form)}{OIDC}/revoke",
        token=token["refresh_token"],
        token_type_hint="refresh_token",
    )
    assert resp.status_code == 200, resp.text
    kc = KeycloakOpenID(
        server_url=settings.base(form), realm_name=settings.tenant, client_id="admin-cli"
    )
    with pytest.raises(KeycloakPostError) as err:
        kc.refresh_token(token["refresh_token"])
    assert err.value.response_code == 400

    # Revoking something unknown is not an error (RFC 7009 §2.2).
    resp = session.revoke_token(f"{settings.realm_url(form)}{OIDC}/revoke", token="no-such-token")
    assert resp.status_code == 200, resp.text
