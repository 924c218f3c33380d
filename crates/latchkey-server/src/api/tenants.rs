//! Tenants, their keys and their audit log.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use latchkey_api::{
    AuditEventView, CreateTenantRequest, JwkSet, Page, PageQuery, Problem, RotateKeyRequest,
    SigningKeyView, TenantView, UpdateTenantRequest,
};

use latchkey_core::PageRequest;

use super::error::ApiResult;
use super::extract::{ApiJson, ApiQuery, OptionalApiJson};
use super::{AppState, views};
use crate::services::{Caller, TenantSpec};

/// List tenants (platform administrators).
#[utoipa::path(
    get, path = "/api/v1/tenants", tag = "tenants",
    security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, body = Page<TenantView>), (status = 403, body = Problem))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<TenantView>>> {
    let page = state
        .list_tenants(&caller, PageRequest::new(query.limit, query.after))
        .await?;
    Ok(Json(views::page(page, views::tenant)))
}

/// Create a tenant with the built-in roles (platform administrators).
#[utoipa::path(
    post, path = "/api/v1/tenants", tag = "tenants",
    security(("bearer" = [])),
    request_body = CreateTenantRequest,
    responses(
        (status = 201, body = TenantView),
        (status = 400, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem)
    )
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<CreateTenantRequest>,
) -> ApiResult<(StatusCode, Json<TenantView>)> {
    let tenant = state
        .create_tenant(
            &caller,
            TenantSpec {
                domain: request.domain,
                title: request.title,
                metadata: request.metadata.map(views::metadata_from_wire),
                password_policy: request.password_policy.map(views::policy_from_wire),
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(views::tenant(tenant))))
}

/// A tenant (its members, or platform administrators).
#[utoipa::path(
    get, path = "/api/v1/tenants/{tenant}", tag = "tenants",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant domain")),
    responses((status = 200, body = TenantView), (status = 403, body = Problem), (status = 404, body = Problem))
)]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
) -> ApiResult<Json<TenantView>> {
    Ok(Json(views::tenant(
        state.tenant_for(&caller, &tenant).await?,
    )))
}

/// Change a tenant's title, metadata or password policy (its administrators).
#[utoipa::path(
    patch, path = "/api/v1/tenants/{tenant}", tag = "tenants",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant domain")),
    request_body = UpdateTenantRequest,
    responses((status = 200, body = TenantView), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem))
)]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
    ApiJson(request): ApiJson<UpdateTenantRequest>,
) -> ApiResult<Json<TenantView>> {
    let tenant = state
        .update_tenant(
            &caller,
            &tenant,
            request.title,
            request.metadata.map(views::metadata_from_wire),
            request.password_policy.map(views::policy_from_wire),
            request.require_mfa,
        )
        .await?;
    Ok(Json(views::tenant(tenant)))
}

/// Delete a tenant with its memberships, sessions and keys (platform administrators).
#[utoipa::path(
    delete, path = "/api/v1/tenants/{tenant}", tag = "tenants",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant domain")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem))
)]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
) -> ApiResult<StatusCode> {
    state.delete_tenant(&caller, &tenant).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Rotate the tenant's signing key; the previous key stays published for verification.
/// The body is optional; without one the new key keeps the active key's algorithm.
#[utoipa::path(
    post, path = "/api/v1/tenants/{tenant}/keys/rotate", tag = "tenants",
    security(("bearer" = [])),
    request_body(content = Option<RotateKeyRequest>),
    params(("tenant" = String, Path, description = "Tenant domain")),
    responses((status = 201, body = SigningKeyView), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem))
)]
pub async fn rotate_keys(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
    OptionalApiJson(request): OptionalApiJson<RotateKeyRequest>,
) -> ApiResult<(StatusCode, Json<SigningKeyView>)> {
    let algorithm = request.and_then(|r| r.algorithm);
    let key = state
        .rotate_keys(&caller, &tenant, algorithm.as_deref())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(SigningKeyView {
            kid: key.kid.to_string(),
            algorithm: key.algorithm.as_str().to_owned(),
            created_at: key.created_at,
        }),
    ))
}

/// The tenant's audit events, newest first.
#[utoipa::path(
    get, path = "/api/v1/tenants/{tenant}/audit", tag = "tenants",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant domain"), PageQuery),
    responses((status = 200, body = Page<AuditEventView>), (status = 403, body = Problem), (status = 404, body = Problem))
)]
pub async fn audit(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<AuditEventView>>> {
    let page = state
        .audit_log(&caller, &tenant, PageRequest::new(query.limit, query.after))
        .await?;
    Ok(Json(views::page(page, views::audit_event)))
}

/// The tenant's public signing keys (no authentication: resource servers fetch this).
#[utoipa::path(
    get, path = "/api/v1/tenants/{tenant}/jwks.json", tag = "tenants",
    params(("tenant" = String, Path, description = "Tenant domain")),
    responses((status = 200, body = JwkSet), (status = 404, body = Problem))
)]
pub async fn jwks(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
) -> ApiResult<Json<JwkSet>> {
    let tenant = state.tenant_by_domain(&tenant).await?;
    let keys = state.published_keys(&tenant.id).await?;
    Ok(Json(JwkSet {
        keys: keys.iter().map(|key| views::jwk(key)).collect(),
    }))
}
