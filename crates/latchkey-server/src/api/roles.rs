//! A tenant's roles (custom roles beside the fixed built-in ones), and impersonation
//! tokens for its members.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use latchkey_api::{ImpersonationView, Problem, PutRoleRequest, RoleView};
use latchkey_core::Role;

use super::AppState;
use super::error::ApiResult;
use super::extract::ApiJson;
use crate::services::Caller;

fn view(role: Role) -> RoleView {
    RoleView {
        name: role.name.into(),
        permissions: role.permissions,
        builtin: role.builtin,
    }
}

/// The tenant's roles, built-in and custom, by name (needs `tenant.read`).
#[utoipa::path(
    get, path = "/api/v1/tenants/{tenant}/roles", tag = "roles",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant domain")),
    responses((status = 200, body = Vec<RoleView>), (status = 403, body = Problem), (status = 404, body = Problem))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
) -> ApiResult<Json<Vec<RoleView>>> {
    let tenant = state.tenant_by_domain(&tenant).await?;
    let roles = state.list_roles(&caller, &tenant).await?;
    Ok(Json(roles.into_iter().map(view).collect()))
}

/// Create a custom role or replace its permissions (needs `tenant.write`); 201 when
/// created, 200 when replaced, 409 for a built-in role's name.
#[utoipa::path(
    put, path = "/api/v1/tenants/{tenant}/roles/{name}", tag = "roles",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant domain"), ("name" = String, Path, description = "Role name")),
    request_body = PutRoleRequest,
    responses((status = 200, body = RoleView), (status = 201, body = RoleView), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem))
)]
pub async fn put(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant, name)): Path<(String, String)>,
    ApiJson(request): ApiJson<PutRoleRequest>,
) -> ApiResult<(StatusCode, Json<RoleView>)> {
    let tenant = state.tenant_by_domain(&tenant).await?;
    let (role, created) = state
        .put_role(&caller, &tenant, &name, &request.permissions)
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(view(role))))
}

/// Remove a custom role (needs `tenant.write`); 409 while members hold it, or for a
/// built-in role.
#[utoipa::path(
    delete, path = "/api/v1/tenants/{tenant}/roles/{name}", tag = "roles",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant domain"), ("name" = String, Path, description = "Role name")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem))
)]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant, name)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let tenant = state.tenant_by_domain(&tenant).await?;
    state.delete_role(&caller, &tenant, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Mint a single-use impersonation token for a member, valid for 120 seconds (needs
/// `users.write`; tenant administrators and platform administrators can only be
/// impersonated by a platform administrator). Exchange it at the Cloudspot dialect's
/// `impersonation-validation/`.
#[utoipa::path(
    post, path = "/api/v1/tenants/{tenant}/users/{id}/impersonation", tag = "users",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant domain"), ("id" = String, Path, description = "Account id")),
    responses((status = 201, body = ImpersonationView), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem))
)]
pub async fn impersonate(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant, id)): Path<(String, String)>,
) -> ApiResult<(StatusCode, Json<ImpersonationView>)> {
    let tenant = state.tenant_by_domain(&tenant).await?;
    let minted = state.mint_impersonation(&caller, &tenant, &id).await?;
    Ok((
        StatusCode::CREATED,
        Json(ImpersonationView {
            token: minted.token.expose().to_owned(),
            expires_at: minted.expires_at,
        }),
    ))
}
