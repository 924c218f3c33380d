//! Using and ending tokens: userinfo, introspection (RFC 7662), revocation (RFC 7009)
//! and Keycloak's logout by refresh token.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use serde_json::{Value, json};

use super::error::{OAuthError, OAuthResult};
use super::form::{Form, realm_and_client};
use crate::api::AppState;
use crate::services::Introspection;

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// `GET|POST …/userinfo` with a Bearer access token.
pub async fn userinfo(
    State(state): State<AppState>,
    Path(realm): Path<String>,
    headers: HeaderMap,
) -> OAuthResult<Json<Value>> {
    let tenant = state.tenant_by_domain(&realm).await?;
    let token = bearer(&headers).ok_or_else(OAuthError::invalid_token)?;
    let caller = state.authenticate(token).await?;
    if caller.tenant.id != tenant.id {
        return Err(OAuthError::invalid_token());
    }
    let account = caller.account;
    let preferred = account.username.as_ref().map_or_else(
        || account.email.as_str().to_owned(),
        |u| u.as_str().to_owned(),
    );
    let mut body = json!({
        "sub": account.id.as_str(),
        "email": account.email.as_str(),
        "email_verified": false,
        "preferred_username": preferred,
    });
    if let (Some(name), Some(map)) = (account.display_name, body.as_object_mut()) {
        map.insert("name".into(), Value::String(name));
    }
    Ok(Json(body))
}

/// `POST …/token/introspect`, for confidential clients.
pub async fn introspect(
    State(state): State<AppState>,
    Path(realm): Path<String>,
    headers: HeaderMap,
    form: Form,
) -> OAuthResult<Json<Value>> {
    let (tenant, client) = realm_and_client(&state, &realm, &headers, &form).await?;
    if client.public {
        // Introspection tells about other parties' tokens: only clients that can prove
        // who they are may ask (RFC 7662 §2.1).
        return Err(OAuthError::invalid_client());
    }
    let token = form.require("token")?;
    let body = match state.introspect(&tenant, token).await? {
        Introspection::Inactive => json!({"active": false}),
        Introspection::Access(claims) => json!({
            "active": true,
            "token_type": "Bearer",
            "iss": claims.iss,
            "sub": claims.sub,
            "aud": claims.aud,
            "exp": claims.exp,
            "iat": claims.iat,
            "jti": claims.jti,
            "sid": claims.sid,
            "client_id": claims.azp,
            "azp": claims.azp,
            "username": claims.preferred_username.clone().or(claims.email.clone()),
            "email": claims.email,
            "scope": claims.scope,
            "realm_access": claims.realm_access,
            "resource_access": claims.resource_access,
        }),
        Introspection::Refresh { session, username } => json!({
            "active": true,
            "token_type": "Refresh",
            "sub": session.account_id.as_str(),
            "sid": session.id.as_str(),
            "username": username,
            "exp": session.expires_at.unix_timestamp(),
        }),
    };
    Ok(Json(body))
}

/// `POST …/revoke`: always 200 for an authenticated client, whether or not the token
/// was known (RFC 7009 §2.2).
pub async fn revoke(
    State(state): State<AppState>,
    Path(realm): Path<String>,
    headers: HeaderMap,
    form: Form,
) -> OAuthResult<StatusCode> {
    let (tenant, client) = realm_and_client(&state, &realm, &headers, &form).await?;
    state
        .revoke_token(&tenant, &client, form.require("token")?)
        .await?;
    Ok(StatusCode::OK)
}

/// `POST …/logout` with `client_id` and `refresh_token`: ends the session, answers
/// exactly 204 as Keycloak does.
pub async fn logout(
    State(state): State<AppState>,
    Path(realm): Path<String>,
    headers: HeaderMap,
    form: Form,
) -> OAuthResult<StatusCode> {
    let (tenant, client) = realm_and_client(&state, &realm, &headers, &form).await?;
    let refresh_token = form.require("refresh_token")?;
    if state
        .end_session_of_refresh_token(&tenant, &client, refresh_token)
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(OAuthError::invalid_grant("Invalid refresh token"))
    }
}
