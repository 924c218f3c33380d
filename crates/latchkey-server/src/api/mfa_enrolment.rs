//! "Enrol only" sign-in: a member of a tenant that requires multi-factor authentication
//! and has no authenticator enrols one with the `enrolment_token` of its refused
//! sign-in, then signs in with the first code.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use latchkey_api::{
    MfaEnrolmentConfirmRequest, MfaEnrolmentRequest, Problem, TokenResponse, TotpEnrolmentView,
};

use super::error::ApiResult;
use super::extract::{ApiJson, ClientInfo};
use super::session::{NATIVE_CLIENT_ID, token_response};
use super::{AppState, views};
use crate::services::{ClientContext, EnrolmentConfirmation, TotpEnrolment};

/// Begin enrolling an authenticator app with the `enrolment_token` of a sign-in refused
/// with `mfa_enrollment_required`. The answer is that of `POST /api/v1/me/mfa/totp`,
/// shown only this once; beginning again replaces a pending enrolment.
#[utoipa::path(
    post,
    path = "/api/v1/tenants/{tenant}/sign-in/mfa-enrolment",
    tag = "sessions",
    params(("tenant" = String, Path, description = "Tenant domain")),
    request_body = MfaEnrolmentRequest,
    responses(
        (status = 201, body = TotpEnrolmentView),
        (status = 401, description = "`invalid_enrolment_token`: unknown, expired, already used or of another tenant", body = Problem),
        (status = 403, description = "The role may not change its profile (demo)", body = Problem),
        (status = 404, description = "No such tenant", body = Problem),
        (status = 409, description = "An authenticator is already active: sign in with a code", body = Problem),
    )
)]
pub async fn begin(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    ApiJson(request): ApiJson<MfaEnrolmentRequest>,
) -> ApiResult<(StatusCode, Json<TotpEnrolmentView>)> {
    let enrolment = state
        .begin_enrolment_with_token(&tenant, &request.enrolment_token)
        .await?;
    Ok((StatusCode::CREATED, Json(enrolment_view(enrolment))))
}

/// Activate the authenticator with its first code and sign in: the answer is that of
/// `POST /api/v1/tenants/{tenant}/sign-in`. The enrolment token is spent.
#[utoipa::path(
    post,
    path = "/api/v1/tenants/{tenant}/sign-in/mfa-enrolment/confirm",
    tag = "sessions",
    params(("tenant" = String, Path, description = "Tenant domain")),
    request_body = MfaEnrolmentConfirmRequest,
    responses(
        (status = 200, description = "Authenticator active and signed in", body = TokenResponse),
        (status = 401, description = "`invalid_enrolment_token` (unknown, expired, already used or of another tenant) or `invalid_totp` (wrong code, counted like a wrong password)", body = Problem),
        (status = 403, description = "The role may not change its profile (demo)", body = Problem),
        (status = 404, description = "No such tenant, or nothing enrolled", body = Problem),
        (status = 409, description = "An authenticator is already active", body = Problem),
        (status = 429, description = "Too many failed attempts; see Retry-After", body = Problem),
    )
)]
pub async fn confirm(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    client: ClientInfo,
    ApiJson(request): ApiJson<MfaEnrolmentConfirmRequest>,
) -> ApiResult<Json<TokenResponse>> {
    let (tokens, terms) = state
        .confirm_enrolment_with_token(EnrolmentConfirmation {
            tenant_domain: &tenant,
            enrolment_token: &request.enrolment_token,
            code: &request.code,
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

fn enrolment_view(enrolment: TotpEnrolment) -> TotpEnrolmentView {
    TotpEnrolmentView {
        secret: enrolment.secret_base32.expose().to_owned(),
        otpauth_uri: enrolment.otpauth_uri.expose().to_owned(),
        qr_svg: enrolment.qr_svg,
        recovery_codes: enrolment
            .recovery_codes
            .iter()
            .map(|code| code.expose().to_owned())
            .collect(),
    }
}
