//! Terms of use: administrators publish versions, members read and accept them.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use latchkey_api::{
    AcceptTermsRequest, Problem, PublishTermsRequest, TermsListView, TermsOfUseView,
    TermsVersionView,
};

use super::error::ApiResult;
use super::extract::ApiJson;
use super::{AppState, views};
use crate::services::{Caller, TermsPublication};

/// Publish a version of the tenant's terms of use (its administrators).
#[utoipa::path(
    post, path = "/api/v1/tenants/{tenant}/terms", tag = "terms",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant domain")),
    request_body = PublishTermsRequest,
    responses(
        (status = 201, body = TermsVersionView),
        (status = 400, description = "Bad URL or version", body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "The version is not later than the newest", body = Problem),
    )
)]
pub async fn publish(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
    ApiJson(request): ApiJson<PublishTermsRequest>,
) -> ApiResult<(StatusCode, Json<TermsVersionView>)> {
    let published = state
        .publish_terms(
            &caller,
            &tenant,
            TermsPublication {
                version: request.version,
                public_url: request.public_url,
                enforce_date: request.enforce_date,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(views::terms_version(published))))
}

/// The tenant's versions of its terms of use, newest first (its members).
#[utoipa::path(
    get, path = "/api/v1/tenants/{tenant}/terms", tag = "terms",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant domain")),
    responses((status = 200, body = TermsListView), (status = 403, body = Problem), (status = 404, body = Problem))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
) -> ApiResult<Json<TermsListView>> {
    let versions = state.list_terms(&caller, &tenant).await?;
    Ok(Json(TermsListView {
        items: versions.into_iter().map(views::terms_version).collect(),
    }))
}

/// Where the caller stands with the terms of use of its token's tenant.
#[utoipa::path(
    get, path = "/api/v1/me/terms", tag = "terms",
    security(("bearer" = [])),
    responses((status = 200, body = TermsOfUseView), (status = 401, body = Problem))
)]
pub async fn own(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<TermsOfUseView>> {
    Ok(Json(views::terms_of_use(state.own_terms(&caller).await?)))
}

/// Accept a version of the terms of use of the token's tenant; accepting again changes
/// nothing.
#[utoipa::path(
    post, path = "/api/v1/me/terms/accept", tag = "terms",
    security(("bearer" = [])),
    request_body = AcceptTermsRequest,
    responses(
        (status = 200, description = "The caller's state after accepting", body = TermsOfUseView),
        (status = 401, body = Problem),
        (status = 404, description = "The tenant has no such version", body = Problem),
    )
)]
pub async fn accept(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<AcceptTermsRequest>,
) -> ApiResult<Json<TermsOfUseView>> {
    Ok(Json(views::terms_of_use(
        state.accept_terms(&caller, request.version).await?,
    )))
}
