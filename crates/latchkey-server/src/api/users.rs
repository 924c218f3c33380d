//! A tenant's accounts, for its administrators.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use latchkey_api::{
    AccountView, CreateUserRequest, ListUsersQuery, Page, Problem, SessionView, SetPasswordRequest,
    UpdateUserRequest,
};
use latchkey_core::{PageRequest, RoleName};
use latchkey_store::{MemberFilter, MemberRecord};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, ApiQuery};
use super::{AppState, views};
use crate::services::{AccountUpdate, Caller, CreateAccount};

fn member_view(record: MemberRecord) -> AccountView {
    views::account(record.account, Some(record.role.to_string()))
}

fn filter_from(query: &ListUsersQuery) -> Result<MemberFilter, ApiError> {
    let inactive_since = query
        .inactive_since
        .as_deref()
        .map(|text| {
            OffsetDateTime::parse(text, &Rfc3339).map_err(|_| {
                ApiError::malformed(
                    "inactive_since must be an RFC 3339 instant like 2024-01-31T00:00:00Z",
                )
            })
        })
        .transpose()?;
    let role = query
        .role
        .as_deref()
        .map(|r| RoleName::parse(r).map_err(|e| ApiError::malformed(format!("role: {e}"))))
        .transpose()?;
    Ok(MemberFilter {
        email_prefix: query.email.as_ref().map(|e| e.trim().to_lowercase()),
        role,
        inactive_since,
        ..MemberFilter::default()
    })
}

/// List the tenant's members, ordered by email.
#[utoipa::path(
    get, path = "/api/v1/tenants/{tenant}/users", tag = "users",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant domain"), ListUsersQuery),
    responses((status = 200, body = Page<AccountView>), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
    ApiQuery(query): ApiQuery<ListUsersQuery>,
) -> ApiResult<Json<Page<AccountView>>> {
    let tenant = state.tenant_by_domain(&tenant).await?;
    let filter = filter_from(&query)?;
    let page = state
        .list_members(
            &caller,
            &tenant,
            filter,
            PageRequest::new(query.limit, query.after),
        )
        .await?;
    Ok(Json(views::page(page, member_view)))
}

/// Create an account as a member of the tenant.
#[utoipa::path(
    post, path = "/api/v1/tenants/{tenant}/users", tag = "users",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant domain")),
    request_body = CreateUserRequest,
    responses((status = 201, body = AccountView), (status = 400, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem))
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
    ApiJson(request): ApiJson<CreateUserRequest>,
) -> ApiResult<(StatusCode, Json<AccountView>)> {
    let tenant = state.tenant_by_domain(&tenant).await?;
    let record = state
        .create_member(
            &caller,
            &tenant,
            CreateAccount {
                email: request.email,
                username: request.username,
                display_name: request.display_name,
                role: request.role,
                password: request.password,
                custom_data: request.custom_data.unwrap_or_default(),
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(member_view(record))))
}

/// One member.
#[utoipa::path(
    get, path = "/api/v1/tenants/{tenant}/users/{id}", tag = "users",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant domain"), ("id" = String, Path, description = "Account id")),
    responses((status = 200, body = AccountView), (status = 403, body = Problem), (status = 404, body = Problem))
)]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant, id)): Path<(String, String)>,
) -> ApiResult<Json<AccountView>> {
    let tenant = state.tenant_by_domain(&tenant).await?;
    Ok(Json(member_view(
        state.member(&caller, &tenant, &id).await?,
    )))
}

/// Change a member; `custom_data` is merged.
#[utoipa::path(
    patch, path = "/api/v1/tenants/{tenant}/users/{id}", tag = "users",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant domain"), ("id" = String, Path, description = "Account id")),
    request_body = UpdateUserRequest,
    responses((status = 200, body = AccountView), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem))
)]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant, id)): Path<(String, String)>,
    ApiJson(request): ApiJson<UpdateUserRequest>,
) -> ApiResult<Json<AccountView>> {
    let tenant = state.tenant_by_domain(&tenant).await?;
    let record = state
        .update_member(
            &caller,
            &tenant,
            &id,
            AccountUpdate {
                email: request.email,
                username: request.username,
                display_name: request.display_name,
                custom_data: request.custom_data,
                disabled: request.disabled,
                role: request.role,
            },
        )
        .await?;
    Ok(Json(member_view(record)))
}

/// Remove a member (the account is deleted when it belongs to no other tenant).
#[utoipa::path(
    delete, path = "/api/v1/tenants/{tenant}/users/{id}", tag = "users",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant domain"), ("id" = String, Path, description = "Account id")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem))
)]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let tenant = state.tenant_by_domain(&tenant).await?;
    state.delete_member(&caller, &tenant, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Set a member's password; the member's sessions end.
#[utoipa::path(
    put, path = "/api/v1/tenants/{tenant}/users/{id}/password", tag = "users",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant domain"), ("id" = String, Path, description = "Account id")),
    request_body = SetPasswordRequest,
    responses((status = 204), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem))
)]
pub async fn set_password(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant, id)): Path<(String, String)>,
    ApiJson(request): ApiJson<SetPasswordRequest>,
) -> ApiResult<StatusCode> {
    let tenant = state.tenant_by_domain(&tenant).await?;
    state
        .set_member_password(&caller, &tenant, &id, &request.password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A member's active sessions, newest first.
#[utoipa::path(
    get, path = "/api/v1/tenants/{tenant}/users/{id}/sessions", tag = "users",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant domain"), ("id" = String, Path, description = "Account id")),
    responses((status = 200, body = Vec<SessionView>), (status = 403, body = Problem), (status = 404, body = Problem))
)]
pub async fn sessions(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant, id)): Path<(String, String)>,
) -> ApiResult<Json<Vec<SessionView>>> {
    let tenant = state.tenant_by_domain(&tenant).await?;
    let sessions = state.member_sessions(&caller, &tenant, &id).await?;
    Ok(Json(sessions.into_iter().map(views::session).collect()))
}

/// Revoke one of a member's sessions.
#[utoipa::path(
    delete, path = "/api/v1/tenants/{tenant}/users/{id}/sessions/{sid}", tag = "users",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant domain"), ("id" = String, Path, description = "Account id"), ("sid" = String, Path, description = "Session id")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem))
)]
pub async fn revoke_session(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant, id, sid)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    let tenant = state.tenant_by_domain(&tenant).await?;
    state
        .revoke_member_session(&caller, &tenant, &id, &sid)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
