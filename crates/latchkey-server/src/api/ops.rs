//! Liveness, readiness and metrics for operators.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::error::ApiError;

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "Up")))]
pub async fn healthz() -> &'static str {
    "ok"
}

/// The store answers.
#[utoipa::path(
    get, path = "/readyz", tag = "operations",
    responses((status = 200, description = "Ready"), (status = 503, description = "Store unreachable"))
)]
pub async fn readyz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => "ready".into_response(),
        Err(error) => {
            tracing::warn!(?error, "readiness check failed");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                latchkey_api::codes::UNAVAILABLE,
                "the store is not reachable",
            )
            .into_response()
        }
    }
}

/// Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "Prometheus text format")))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    match state.store.count_active_sessions(state.clock.now()).await {
        Ok(count) => state.metrics.set_active_sessions(count),
        Err(error) => tracing::warn!(?error, "could not count active sessions"),
    }
    match state.metrics.render() {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(error) => ApiError::from(crate::services::ServiceError::Internal(format!(
            "rendering metrics: {error}"
        )))
        .into_response(),
    }
}
