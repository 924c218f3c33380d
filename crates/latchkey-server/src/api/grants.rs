//! A member's grants (long-lived refresh tokens) and external authentications.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use latchkey_api::{
    CreateGrantRequest, CreatedGrantView, ExternalAuthRequest, ExternalAuthView, GrantView, Problem,
};
use latchkey_core::GrantKind;
use latchkey_store::GrantRecord;

use super::AppState;
use super::error::{ApiError, ApiResult};
use super::extract::ApiJson;
use crate::services::{Caller, ExternalAuth, ExternalAuthSpec, GrantSpec};

pub fn grant_view(grant: GrantRecord) -> GrantView {
    GrantView {
        id: grant.session.id.to_string(),
        grant_type: grant.kind.as_str().to_owned(),
        client_id: grant.session.client_id,
        for_client_id: grant.for_client_id,
        project_permissions: grant.permissions,
        created_at: grant.session.created_at,
        valid_to: grant.session.expires_at,
    }
}

pub fn external_auth_view(auth: ExternalAuth) -> ExternalAuthView {
    ExternalAuthView {
        service: auth.service,
        service_user: auth.service_user,
        access_token: auth.access_token,
        access_secret: auth.access_secret,
        access_token_expires: auth.access_token_expires,
        access_secret_expires: auth.access_secret_expires,
        display_name: auth.display_name,
        state: auth.state,
        created_at: auth.created_at,
        updated_at: auth.updated_at,
    }
}

/// Create a grant for a member: the account itself may create `user` grants, tenant
/// administrators any grant. The refresh token is shown once.
#[utoipa::path(
    post, path = "/api/v1/tenants/{tenant}/users/{id}/grants", tag = "grants",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant domain"), ("id" = String, Path, description = "Account id")),
    request_body = CreateGrantRequest,
    responses((status = 201, body = CreatedGrantView), (status = 400, description = "Bad type or permissions, or an unknown application", body = Problem), (status = 403, body = Problem), (status = 404, body = Problem))
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant, id)): Path<(String, String)>,
    ApiJson(request): ApiJson<CreateGrantRequest>,
) -> ApiResult<(StatusCode, Json<CreatedGrantView>)> {
    let tenant = state.tenant_by_domain(&tenant).await?;
    let kind = GrantKind::parse(&request.grant_type)
        .ok_or_else(|| ApiError::malformed("type must be `user` or `service`"))?;
    let created = state
        .create_grant(
            &caller,
            &tenant,
            &id,
            GrantSpec {
                kind,
                for_client_id: request.for_client_id,
                client_id: request.client_id,
                project_permissions: request.project_permissions,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedGrantView {
            id: created.grant.session.id.to_string(),
            refresh_token: created.refresh_token.expose().to_owned(),
            grant: grant_view(created.grant),
        }),
    ))
}

/// A member's active grants, newest first.
#[utoipa::path(
    get, path = "/api/v1/tenants/{tenant}/users/{id}/grants", tag = "grants",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant domain"), ("id" = String, Path, description = "Account id")),
    responses((status = 200, body = Vec<GrantView>), (status = 403, body = Problem), (status = 404, body = Problem))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant, id)): Path<(String, String)>,
) -> ApiResult<Json<Vec<GrantView>>> {
    let tenant = state.tenant_by_domain(&tenant).await?;
    let grants = state.member_grants(&caller, &tenant, &id).await?;
    Ok(Json(grants.into_iter().map(grant_view).collect()))
}

/// Revoke a member's grant (its refresh token stops working at once).
#[utoipa::path(
    delete, path = "/api/v1/tenants/{tenant}/users/{id}/grants/{gid}", tag = "grants",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant domain"), ("id" = String, Path, description = "Account id"), ("gid" = String, Path, description = "Grant id")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem))
)]
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant, id, gid)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    let tenant = state.tenant_by_domain(&tenant).await?;
    state.revoke_grant(&caller, &tenant, &id, &gid).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A member's external authentications, ordered by service, with their credentials
/// (for the account itself and tenant administrators only).
#[utoipa::path(
    get, path = "/api/v1/tenants/{tenant}/users/{id}/authentications", tag = "grants",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant domain"), ("id" = String, Path, description = "Account id")),
    responses((status = 200, body = Vec<ExternalAuthView>), (status = 403, body = Problem), (status = 404, body = Problem))
)]
pub async fn list_authentications(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant, id)): Path<(String, String)>,
) -> ApiResult<Json<Vec<ExternalAuthView>>> {
    let tenant = state.tenant_by_domain(&tenant).await?;
    let auths = state.external_auths(&caller, &tenant, &id).await?;
    Ok(Json(auths.into_iter().map(external_auth_view).collect()))
}

/// A member's authentication at one service, with its credentials.
#[utoipa::path(
    get, path = "/api/v1/tenants/{tenant}/users/{id}/authentications/{service}", tag = "grants",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant domain"), ("id" = String, Path, description = "Account id"), ("service" = String, Path, description = "External service, such as `salesforce` or `msexchange`")),
    responses((status = 200, body = ExternalAuthView), (status = 403, body = Problem), (status = 404, body = Problem))
)]
pub async fn get_authentication(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant, id, service)): Path<(String, String, String)>,
) -> ApiResult<Json<ExternalAuthView>> {
    let tenant = state.tenant_by_domain(&tenant).await?;
    let auth = state.external_auth(&caller, &tenant, &id, &service).await?;
    Ok(Json(external_auth_view(auth)))
}

/// Create (201) or replace (200) a member's authentication at a service. A
/// `service_user` names one account per service and tenant (409 otherwise).
#[utoipa::path(
    put, path = "/api/v1/tenants/{tenant}/users/{id}/authentications/{service}", tag = "grants",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant domain"), ("id" = String, Path, description = "Account id"), ("service" = String, Path, description = "External service")),
    request_body = ExternalAuthRequest,
    responses((status = 200, body = ExternalAuthView), (status = 201, body = ExternalAuthView), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem))
)]
pub async fn put_authentication(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant, id, service)): Path<(String, String, String)>,
    ApiJson(request): ApiJson<ExternalAuthRequest>,
) -> ApiResult<(StatusCode, Json<ExternalAuthView>)> {
    let tenant = state.tenant_by_domain(&tenant).await?;
    let (created, auth) = state
        .put_external_auth(
            &caller,
            &tenant,
            &id,
            &service,
            ExternalAuthSpec {
                service_user: request.service_user,
                access_token: request.access_token,
                access_token_expires: request.access_token_expires,
                access_secret: request.access_secret,
                access_secret_expires: request.access_secret_expires,
                display_name: request.display_name,
                state: request.state,
            },
        )
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(external_auth_view(auth))))
}

/// Delete a member's authentication at a service.
#[utoipa::path(
    delete, path = "/api/v1/tenants/{tenant}/users/{id}/authentications/{service}", tag = "grants",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant domain"), ("id" = String, Path, description = "Account id"), ("service" = String, Path, description = "External service")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem))
)]
pub async fn delete_authentication(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant, id, service)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    let tenant = state.tenant_by_domain(&tenant).await?;
    state
        .delete_external_auth(&caller, &tenant, &id, &service)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
