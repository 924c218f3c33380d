//! `POST /realms/{realm}/protocol/openid-connect/token`: the password, refresh-token and
//! client-credentials grants, answered in Keycloak's shape.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use latchkey_core::{Application, GrantType, Tenant};
use serde_json::{Value, json};

use super::error::{OAuthError, OAuthResult};
use super::form::{Form, realm_and_client};
use crate::api::AppState;
use crate::api::extract::ClientInfo;
use crate::services::{ClientContext, IssuedTokens, SignIn};

pub async fn token(
    State(state): State<AppState>,
    Path(realm): Path<String>,
    headers: HeaderMap,
    client_info: ClientInfo,
    form: Form,
) -> OAuthResult<Response> {
    let (tenant, client) = realm_and_client(&state, &realm, &headers, &form).await?;
    let grant_name = form.require("grant_type")?;
    if grant_name == EXT_ID_GRANT {
        return ext_id(&state, &tenant, &client, client_info, &form).await;
    }
    let grant = GrantType::parse(grant_name).map_err(|_| {
        OAuthError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            format!(
                "unsupported grant_type `{}`",
                grant_name.chars().take(64).collect::<String>()
            ),
        )
    })?;
    if !client.allows(grant) {
        return Err(crate::services::ServiceError::UnauthorizedClient.into());
    }
    let wants_id_token = form
        .get("scope")
        .is_some_and(|scope| scope.split(' ').any(|s| s == "openid"));
    let body = match grant {
        GrantType::Password => {
            let tokens = state
                .sign_in(SignIn {
                    tenant_domain: &realm,
                    login: form.require("username")?,
                    password: form.require("password")?.to_owned(),
                    // Keycloak's direct-grant field for the OTP of accounts that have one.
                    totp: form.get("totp").map(str::to_owned),
                    user_agent: client_info.user_agent,
                    ip_address: client_info.ip_address,
                    client: ClientContext::of(&client),
                    session_lifetime: None,
                })
                .await?;
            token_body(tokens, wants_id_token)
        }
        GrantType::RefreshToken => {
            let tokens = state
                .refresh(
                    &realm,
                    form.require("refresh_token")?,
                    ClientContext::of(&client),
                )
                .await?;
            token_body(tokens, wants_id_token)
        }
        GrantType::ClientCredentials => client_credentials(&state, &tenant, &client).await?,
        GrantType::AuthorizationCode => {
            let (tokens, scope) = state
                .exchange_authorization_code(
                    &tenant,
                    &client,
                    form.require("code")?,
                    form.get("redirect_uri"),
                    form.get("code_verifier"),
                )
                .await?;
            token_body(tokens, scope.split(' ').any(|s| s == "openid"))
        }
    };
    Ok(no_store(Json(body)))
}

/// Squirro's extension grant: sign in as the account holding an external identity
/// (`auth_service`, `auth_user`). It is not registered per application: every
/// authenticated confidential client may use it (its secret was verified above), public
/// clients never, since anyone could name an identity.
const EXT_ID_GRANT: &str = "ext_id";

async fn ext_id(
    state: &AppState,
    tenant: &Tenant,
    client: &Application,
    client_info: ClientInfo,
    form: &Form,
) -> OAuthResult<Response> {
    if client.public {
        return Err(crate::services::ServiceError::UnauthorizedClient.into());
    }
    let tokens = state
        .sign_in_external(
            tenant,
            form.require("auth_service")?,
            form.require("auth_user")?,
            ClientContext::of(client),
            client_info.ip_address,
            client_info.user_agent,
        )
        .await?;
    let wants_id_token = form
        .get("scope")
        .is_some_and(|scope| scope.split(' ').any(|s| s == "openid"));
    Ok(no_store(Json(token_body(tokens, wants_id_token))))
}

async fn client_credentials(
    state: &AppState,
    tenant: &Tenant,
    client: &Application,
) -> OAuthResult<Value> {
    let token = state.client_credentials(tenant, client).await?;
    // No refresh token: the client can always ask again with its credentials (RFC 6749
    // §4.4.3), as Keycloak does by default.
    Ok(json!({
        "access_token": token.access_token,
        "expires_in": token.expires_in,
        "refresh_expires_in": 0,
        "token_type": "Bearer",
        "not-before-policy": 0,
        "scope": token.scope,
    }))
}

fn token_body(tokens: IssuedTokens, with_id_token: bool) -> Value {
    let scope = if with_id_token {
        "openid profile email"
    } else {
        "profile email"
    };
    let mut body = json!({
        "access_token": tokens.access_token,
        "expires_in": tokens.expires_in,
        "refresh_expires_in": tokens.refresh_expires_in,
        "refresh_token": tokens.refresh_token.expose(),
        "token_type": "Bearer",
        "not-before-policy": 0,
        "session_state": tokens.context.session.id.as_str(),
        "scope": scope,
    });
    if with_id_token && let Some(map) = body.as_object_mut() {
        map.insert("id_token".into(), Value::String(tokens.id_token));
    }
    body
}

/// Token answers must not be cached (RFC 6749 §5.1).
pub fn no_store(body: impl IntoResponse) -> Response {
    let mut response = body.into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
        .headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}
