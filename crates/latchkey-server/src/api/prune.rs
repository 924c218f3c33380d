//! `POST …/users/prune` and `POST …/users/restore`: dormant-account clean-up.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use latchkey_api::{
    DormantUserView, Problem, PruneBatchResponse, PrunePreview, PruneUsersRequest,
    RestoreUsersRequest, RestoreUsersResponse,
};
use latchkey_core::InactiveSince;
use latchkey_store::MemberRecord;

use super::AppState;
use super::error::{ApiError, ApiResult};
use super::extract::ApiJson;
use crate::services::{Caller, PruneCriteria};

fn dormant_view(record: MemberRecord) -> DormantUserView {
    DormantUserView {
        id: record.account.id.into_string(),
        email: record.account.email.into(),
        role: record.role.to_string(),
        last_login_at: record.account.last_login_at,
        created_at: record.account.created_at,
    }
}

/// Prune the tenant's dormant members: with `dry_run`, one page (`PrunePreview`) of
/// those a real run would remove; without, one batch removed (`PruneBatchResponse`).
#[utoipa::path(
    post, path = "/api/v1/tenants/{tenant}/users/prune", tag = "users",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant domain")),
    request_body = PruneUsersRequest,
    responses(
        (status = 200, description = "A `PrunePreview` for a dry run, a `PruneBatchResponse` otherwise", body = PruneBatchResponse),
        (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)
    )
)]
pub async fn prune(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
    ApiJson(request): ApiJson<PruneUsersRequest>,
) -> ApiResult<Response> {
    let inactive_since = InactiveSince::parse(&request.inactive_since)
        .map_err(|e| ApiError::malformed(format!("inactive_since: {e}")))?;
    let criteria = PruneCriteria {
        inactive_since,
        include_admins: request.include_admins,
    };
    let tenant = state.tenant_by_domain(&tenant).await?;
    if request.dry_run {
        let (page, total) = state
            .dormant_members(&caller, &tenant, &criteria, request.limit, request.after)
            .await?;
        return Ok(Json(PrunePreview {
            items: page.items.into_iter().map(dormant_view).collect(),
            next: page.next,
            total,
        })
        .into_response());
    }
    let (batch, remaining) = state
        .prune_members(
            &caller,
            &tenant,
            &criteria,
            request.limit,
            request.after.as_deref(),
        )
        .await?;
    Ok(Json(PruneBatchResponse {
        pruned: batch.pruned,
        accounts_removed: batch.accounts_removed,
        remaining,
        next: batch.last_key.filter(|_| remaining),
    })
    .into_response())
}

/// Bring pruned members back, with their role, within the retention period. All or none:
/// 404 when one was not pruned from this tenant (or its retention ran out), 409 when its
/// email address or username was registered again meanwhile.
#[utoipa::path(
    post, path = "/api/v1/tenants/{tenant}/users/restore", tag = "users",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant domain")),
    request_body = RestoreUsersRequest,
    responses((status = 200, body = RestoreUsersResponse), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem))
)]
pub async fn restore(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
    ApiJson(request): ApiJson<RestoreUsersRequest>,
) -> ApiResult<Json<RestoreUsersResponse>> {
    let tenant = state.tenant_by_domain(&tenant).await?;
    let restored = state
        .restore_members(&caller, &tenant, &request.ids)
        .await?;
    Ok(Json(RestoreUsersResponse { restored }))
}
