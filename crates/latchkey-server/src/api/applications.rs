//! A tenant's applications (OAuth clients), for its administrators.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use latchkey_api::{ApplicationView, CreateApplicationRequest, Problem};
use latchkey_core::Application;
use latchkey_core::secret::SecretString;

use super::AppState;
use super::error::ApiResult;
use super::extract::ApiJson;
use crate::services::{ApplicationSpec, Caller};

fn view(application: Application, secret: Option<SecretString>) -> ApplicationView {
    ApplicationView {
        client_id: application.client_id.into(),
        public: application.public,
        grant_types: application
            .grant_types
            .iter()
            .map(|g| g.as_str().to_owned())
            .collect(),
        redirect_uris: application.redirect_uris,
        roles: application.roles,
        access_token_lifetime: application.access_token_lifetime,
        builtin: application.builtin,
        created_at: application.created_at,
        client_secret: secret.map(|s| s.expose().to_owned()),
    }
}

/// The tenant's applications, by client id.
#[utoipa::path(
    get, path = "/api/v1/tenants/{tenant}/applications", tag = "applications",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant domain")),
    responses((status = 200, body = Vec<ApplicationView>), (status = 403, body = Problem), (status = 404, body = Problem))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
) -> ApiResult<Json<Vec<ApplicationView>>> {
    let tenant = state.tenant_by_domain(&tenant).await?;
    let applications = state.list_applications(&caller, &tenant).await?;
    Ok(Json(
        applications.into_iter().map(|a| view(a, None)).collect(),
    ))
}

/// Register an application; a confidential client's `client_secret` is in this answer only.
#[utoipa::path(
    post, path = "/api/v1/tenants/{tenant}/applications", tag = "applications",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant domain")),
    request_body = CreateApplicationRequest,
    responses((status = 201, body = ApplicationView), (status = 400, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem))
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
    ApiJson(request): ApiJson<CreateApplicationRequest>,
) -> ApiResult<(StatusCode, Json<ApplicationView>)> {
    let tenant = state.tenant_by_domain(&tenant).await?;
    let (application, secret) = state
        .create_application(
            &caller,
            &tenant,
            ApplicationSpec {
                client_id: request.client_id,
                public: request.public,
                grant_types: request.grant_types,
                redirect_uris: request.redirect_uris,
                roles: request.roles,
                access_token_lifetime: request.access_token_lifetime,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(view(application, secret))))
}

/// One application.
#[utoipa::path(
    get, path = "/api/v1/tenants/{tenant}/applications/{client_id}", tag = "applications",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant domain"), ("client_id" = String, Path, description = "Client id")),
    responses((status = 200, body = ApplicationView), (status = 403, body = Problem), (status = 404, body = Problem))
)]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant, client_id)): Path<(String, String)>,
) -> ApiResult<Json<ApplicationView>> {
    let tenant = state.tenant_by_domain(&tenant).await?;
    let application = state.get_application(&caller, &tenant, &client_id).await?;
    Ok(Json(view(application, None)))
}

/// Delete an application (not `admin-cli`).
#[utoipa::path(
    delete, path = "/api/v1/tenants/{tenant}/applications/{client_id}", tag = "applications",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant domain"), ("client_id" = String, Path, description = "Client id")),
    responses((status = 204), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem))
)]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant, client_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let tenant = state.tenant_by_domain(&tenant).await?;
    state
        .delete_application(&caller, &tenant, &client_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Give a confidential client a new secret (in this answer only); the old one stops working.
#[utoipa::path(
    post, path = "/api/v1/tenants/{tenant}/applications/{client_id}/rotate-secret", tag = "applications",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant domain"), ("client_id" = String, Path, description = "Client id")),
    responses((status = 200, body = ApplicationView), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem))
)]
pub async fn rotate_secret(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant, client_id)): Path<(String, String)>,
) -> ApiResult<Json<ApplicationView>> {
    let tenant = state.tenant_by_domain(&tenant).await?;
    let (application, secret) = state
        .rotate_application_secret(&caller, &tenant, &client_id)
        .await?;
    Ok(Json(view(application, Some(secret))))
}
