//! Public realm metadata: the Keycloak realm document, OpenID Connect discovery and the
//! JWKS. All describe the same key: the JWKS entry and the realm `public_key` (bare
//! base64 of the DER SubjectPublicKeyInfo, as Keycloak clients expect) are one key,
//! RSA or P-256.

use axum::Json;
use axum::extract::{Path, State};
use base64::Engine as _;
use serde_json::{Value, json};

use super::error::OAuthResult;
use crate::api::AppState;

fn issuer(state: &AppState, realm: &str) -> String {
    latchkey_core::token::issuer_for(&state.public_url, realm)
}

/// `GET /realms/{realm}`.
pub async fn realm(
    State(state): State<AppState>,
    Path(realm): Path<String>,
) -> OAuthResult<Json<Value>> {
    let tenant = state.tenant_by_domain(&realm).await?;
    let keys = state.published_keys(&tenant.id).await?;
    let public_key = keys
        .first()
        .map(|key| base64::engine::general_purpose::STANDARD.encode(&key.public_key_der))
        .unwrap_or_default();
    let issuer = issuer(&state, tenant.domain.as_str());
    Ok(Json(json!({
        "realm": tenant.domain.as_str(),
        "public_key": public_key,
        "token-service": format!("{issuer}/protocol/openid-connect"),
        "account-service": format!("{issuer}/account"),
        "tokens-not-before": 0,
    })))
}

/// `GET /realms/{realm}/.well-known/openid-configuration` (OpenID Connect Discovery 1.0
/// and RFC 8414). Only what is implemented is advertised.
pub async fn openid_configuration(
    State(state): State<AppState>,
    Path(realm): Path<String>,
) -> OAuthResult<Json<Value>> {
    let tenant = state.tenant_by_domain(&realm).await?;
    let issuer = issuer(&state, tenant.domain.as_str());
    let endpoint = |path: &str| format!("{issuer}/protocol/openid-connect/{path}");
    Ok(Json(json!({
        "issuer": issuer,
        "authorization_endpoint": endpoint("auth"),
        "token_endpoint": endpoint("token"),
        "userinfo_endpoint": endpoint("userinfo"),
        "introspection_endpoint": endpoint("token/introspect"),
        "revocation_endpoint": endpoint("revoke"),
        "end_session_endpoint": endpoint("logout"),
        "jwks_uri": endpoint("certs"),
        "grant_types_supported": ["authorization_code", "password", "refresh_token", "client_credentials"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        "userinfo_signing_alg_values_supported": [],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "scopes_supported": ["openid", "profile", "email"],
        "claims_supported": [
            "iss", "sub", "aud", "exp", "iat", "auth_time", "sid", "azp",
            "email", "preferred_username", "name"
        ],
    })))
}

/// `GET /realms/{realm}/protocol/openid-connect/certs`: the active key, then the
/// previous one while a rotation's tokens may still be in use.
pub async fn certs(
    State(state): State<AppState>,
    Path(realm): Path<String>,
) -> OAuthResult<Json<Value>> {
    let tenant = state.tenant_by_domain(&realm).await?;
    let keys = state.published_keys(&tenant.id).await?;
    let keys: Vec<_> = keys.iter().map(|key| crate::api::views::jwk(key)).collect();
    Ok(Json(json!({ "keys": keys })))
}
