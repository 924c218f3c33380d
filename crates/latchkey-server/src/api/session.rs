//! Signing in, refreshing tokens and signing out.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use latchkey_api::{Problem, RefreshRequest, SignInRequest, TokenResponse};

use super::error::ApiResult;
use super::extract::{ApiJson, ClientInfo};
use super::{AppState, views};
use crate::services::{Caller, ClientContext, IssuedTokens, SignIn};

/// The client id tokens from the native API carry in `azp`.
pub use latchkey_core::application::NATIVE_CLIENT_ID;

pub fn token_response(tokens: IssuedTokens) -> TokenResponse {
    let role = tokens.context.role.name.to_string();
    TokenResponse {
        access_token: tokens.access_token,
        refresh_token: tokens.refresh_token.expose().to_owned(),
        id_token: tokens.id_token,
        token_type: "Bearer".to_owned(),
        expires_in: tokens.expires_in,
        account: views::account(tokens.context.account, Some(role)),
        tenant: views::tenant(tokens.context.tenant),
        terms_of_use: None,
    }
}

/// Sign in with an email address or username and a password.
#[utoipa::path(
    post,
    path = "/api/v1/tenants/{tenant}/sign-in",
    tag = "sessions",
    params(("tenant" = String, Path, description = "Tenant domain")),
    request_body = SignInRequest,
    responses(
        (status = 200, description = "Signed in; `terms_of_use` says whether the tenant's terms in force are accepted (`pending`: accept them with `POST /api/v1/me/terms/accept`)", body = TokenResponse),
        (status = 401, description = "Wrong login or password (`invalid_credentials`, the same answer for unknown accounts); with the right password, `mfa_required` when the account needs a TOTP code and none was sent, `invalid_totp` when the code is wrong or was used before", body = Problem),
        (status = 403, description = "`mfa_enrollment_required`: the password was right, the tenant requires MFA and the account has none; `enrolment_token` lets it enrol one at `POST /api/v1/tenants/{tenant}/sign-in/mfa-enrolment`", body = Problem),
        (status = 404, description = "No such tenant", body = Problem),
        (status = 429, description = "Too many failed attempts; see Retry-After", body = Problem),
    )
)]
pub async fn sign_in(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    client: ClientInfo,
    ApiJson(request): ApiJson<SignInRequest>,
) -> ApiResult<Json<TokenResponse>> {
    let (tokens, terms) = state
        .sign_in_offering_enrolment(SignIn {
            tenant_domain: &tenant,
            login: &request.login,
            password: request.password,
            totp: request.totp,
            user_agent: client.user_agent,
            ip_address: client.ip_address,
            client: ClientContext::plain(NATIVE_CLIENT_ID),
            session_lifetime: None,
        })
        .await?;
    Ok(Json(TokenResponse {
        terms_of_use: Some(views::terms_of_use(terms)),
        ..token_response(tokens)
    }))
}

/// Exchange a refresh token for new tokens; the presented refresh token stops working.
#[utoipa::path(
    post,
    path = "/api/v1/tenants/{tenant}/token/refresh",
    tag = "sessions",
    params(("tenant" = String, Path, description = "Tenant domain")),
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "New tokens", body = TokenResponse),
        (status = 401, description = "Unknown, expired or reused refresh token", body = Problem),
        (status = 404, description = "No such tenant", body = Problem),
    )
)]
pub async fn refresh(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    ApiJson(request): ApiJson<RefreshRequest>,
) -> ApiResult<Json<TokenResponse>> {
    let tokens = state
        .refresh(
            &tenant,
            &request.refresh_token,
            ClientContext::plain(NATIVE_CLIENT_ID),
        )
        .await?;
    Ok(Json(token_response(tokens)))
}

/// End the session of the access token used.
#[utoipa::path(
    post,
    path = "/api/v1/tenants/{tenant}/sign-out",
    tag = "sessions",
    params(("tenant" = String, Path, description = "Tenant domain")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Session revoked"),
        (status = 401, description = "Missing or invalid access token", body = Problem),
    )
)]
pub async fn sign_out(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    if caller.tenant.domain.as_str() != tenant {
        return Err(super::error::ApiError::unauthenticated(
            "the access token belongs to another tenant",
        ));
    }
    state.sign_out(&caller).await?;
    Ok(StatusCode::NO_CONTENT)
}
