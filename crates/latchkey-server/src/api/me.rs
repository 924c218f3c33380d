//! The signed-in account's own view.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use latchkey_api::{ChangePasswordRequest, MeView, MembershipView, Problem};

use super::error::ApiResult;
use super::extract::ApiJson;
use super::{AppState, views};
use crate::services::Caller;

/// The account of the access token, its role in the token's tenant and its permissions.
#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "me",
    security(("bearer" = [])),
    responses(
        (status = 200, body = MeView),
        (status = 401, body = Problem),
    )
)]
pub async fn me(caller: Caller) -> Json<MeView> {
    let role = caller.role.name.to_string();
    Json(MeView {
        membership: MembershipView {
            tenant: caller.tenant.domain.to_string(),
            tenant_id: caller.tenant.id.to_string(),
            role: role.clone(),
        },
        permissions: caller.role.permissions.clone(),
        session_id: caller.session_id.to_string(),
        account: views::account(caller.account, Some(role)),
    })
}

/// Change one's own password; every other session of the account ends.
#[utoipa::path(
    put,
    path = "/api/v1/me/password",
    tag = "me",
    security(("bearer" = [])),
    request_body = ChangePasswordRequest,
    responses(
        (status = 204, description = "Changed"),
        (status = 400, description = "New password violates the policy", body = Problem),
        (status = 401, description = "Current password wrong, or no valid token", body = Problem),
        (status = 403, description = "The role may not change its password (demo)", body = Problem),
        (status = 429, description = "Too many wrong current passwords; see Retry-After", body = Problem),
    )
)]
pub async fn change_password(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<ChangePasswordRequest>,
) -> ApiResult<StatusCode> {
    state
        .change_own_password(&caller, request.current_password, &request.new_password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
