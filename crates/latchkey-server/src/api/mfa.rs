//! Multi-factor authentication: the caller's own authenticator, and administrators'
//! resets of a member's.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use latchkey_api::{
    ConfirmTotpRequest, DisableTotpRequest, MfaStatusView, Problem, TotpEnrolmentView,
};

use super::AppState;
use super::error::ApiResult;
use super::extract::ApiJson;
use crate::services::Caller;

/// Whether the caller has an authenticator and whether the tenant requires one.
#[utoipa::path(
    get, path = "/api/v1/me/mfa", tag = "mfa",
    security(("bearer" = [])),
    responses((status = 200, body = MfaStatusView), (status = 401, body = Problem))
)]
pub async fn status(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<MfaStatusView>> {
    let status = state.mfa_status(&caller).await?;
    Ok(Json(MfaStatusView {
        totp: status.totp.as_str().to_owned(),
        recovery_codes_remaining: status.recovery_codes_remaining,
        required_by_tenant: status.required_by_tenant,
    }))
}

/// Start enrolling an authenticator app. The answer holds the secret, the otpauth URI,
/// a QR code and ten recovery codes, shown only this once; the authenticator becomes
/// active when confirmed with a first code. A pending enrolment is replaced.
#[utoipa::path(
    post, path = "/api/v1/me/mfa/totp", tag = "mfa",
    security(("bearer" = [])),
    responses(
        (status = 201, body = TotpEnrolmentView),
        (status = 401, body = Problem),
        (status = 403, description = "The role may not change its profile (demo)", body = Problem),
        (status = 409, description = "An authenticator is already active", body = Problem),
    )
)]
pub async fn enrol(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<(StatusCode, Json<TotpEnrolmentView>)> {
    let enrolment = state.enrol_totp(&caller).await?;
    Ok((
        StatusCode::CREATED,
        Json(TotpEnrolmentView {
            secret: enrolment.secret_base32.expose().to_owned(),
            otpauth_uri: enrolment.otpauth_uri.expose().to_owned(),
            qr_svg: enrolment.qr_svg,
            recovery_codes: enrolment
                .recovery_codes
                .iter()
                .map(|code| code.expose().to_owned())
                .collect(),
        }),
    ))
}

/// Activate the pending authenticator with its current code.
#[utoipa::path(
    post, path = "/api/v1/me/mfa/totp/confirm", tag = "mfa",
    security(("bearer" = [])),
    request_body = ConfirmTotpRequest,
    responses(
        (status = 204, description = "Active: sign-ins now need a code"),
        (status = 401, description = "`invalid_totp`, or no valid token", body = Problem),
        (status = 404, description = "Nothing enrolled", body = Problem),
        (status = 409, description = "Already active", body = Problem),
    )
)]
pub async fn confirm(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<ConfirmTotpRequest>,
) -> ApiResult<StatusCode> {
    state.confirm_totp(&caller, &request.code).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Turn the authenticator off, with the password and a current code (or a recovery
/// code). Wrong guesses count on the account's sign-in throttle.
#[utoipa::path(
    delete, path = "/api/v1/me/mfa/totp", tag = "mfa",
    security(("bearer" = [])),
    request_body = DisableTotpRequest,
    responses(
        (status = 204, description = "Disabled; recovery codes are gone too"),
        (status = 401, description = "`invalid_credentials` (password), `invalid_totp` (code), or no valid token", body = Problem),
        (status = 404, description = "No authenticator", body = Problem),
        (status = 429, description = "Too many wrong guesses; see Retry-After", body = Problem),
    )
)]
pub async fn disable(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<DisableTotpRequest>,
) -> ApiResult<StatusCode> {
    state
        .disable_totp(&caller, request.password, &request.code)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Remove a member's authenticator (a lost device); audited. The member signs in with
/// the password alone until enrolling again.
#[utoipa::path(
    delete, path = "/api/v1/tenants/{tenant}/users/{id}/mfa", tag = "users",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant domain"), ("id" = String, Path, description = "Account id")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, description = "No such member, or no authenticator", body = Problem))
)]
pub async fn reset(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let tenant = state.tenant_by_domain(&tenant).await?;
    state.reset_member_mfa(&caller, &tenant, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
