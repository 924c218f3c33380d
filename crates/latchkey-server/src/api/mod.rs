//! The native REST API under `/api/v1`, plus operations endpoints.

mod applications;
pub mod error;
pub mod extract;
pub mod grants;
mod groups;
mod import;
mod me;
mod mfa;
mod mfa_enrolment;
mod openapi;
mod ops;
mod prune;
mod roles;
pub mod session;
mod tenants;
mod terms;
mod users;
pub mod views;
mod workspaces;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use latchkey_api::codes;

pub use openapi::ApiDoc;

use crate::services::Services;
use error::ApiError;

pub type AppState = Arc<Services>;

/// Every route of the server.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/openapi.json", get(openapi::document))
        .route("/tenants/{tenant}/sign-in", post(session::sign_in))
        .route(
            "/tenants/{tenant}/sign-in/mfa-enrolment",
            post(mfa_enrolment::begin),
        )
        .route(
            "/tenants/{tenant}/sign-in/mfa-enrolment/confirm",
            post(mfa_enrolment::confirm),
        )
        .route("/tenants/{tenant}/token/refresh", post(session::refresh))
        .route("/tenants/{tenant}/sign-out", post(session::sign_out))
        .route("/signup", post(workspaces::signup))
        .route("/me", get(me::me))
        .route(
            "/me/tenants",
            get(workspaces::mine).post(workspaces::create_mine),
        )
        .route(
            "/me/tenants/{tenant}",
            axum::routing::delete(workspaces::delete_mine),
        )
        .route("/me/password", put(me::change_password))
        .route("/me/mfa", get(mfa::status))
        .route("/me/mfa/totp", post(mfa::enrol).delete(mfa::disable))
        .route("/me/mfa/totp/confirm", post(mfa::confirm))
        .route("/me/terms", get(terms::own))
        .route("/me/terms/accept", post(terms::accept))
        .route("/tenants", get(tenants::list).post(tenants::create))
        .route(
            "/tenants/{tenant}",
            get(tenants::get)
                .patch(tenants::update)
                .delete(tenants::delete),
        )
        .route("/tenants/{tenant}/keys/rotate", post(tenants::rotate_keys))
        .route("/tenants/{tenant}/audit", get(tenants::audit))
        .route(
            "/tenants/{tenant}/terms",
            get(terms::list).post(terms::publish),
        )
        .route("/tenants/{tenant}/jwks.json", get(tenants::jwks))
        .route("/tenants/{tenant}/roles", get(roles::list))
        .route(
            "/tenants/{tenant}/roles/{name}",
            put(roles::put).delete(roles::delete),
        )
        .route(
            "/tenants/{tenant}/password-policy",
            get(workspaces::password_policy),
        )
        .route("/tenants/{tenant}/members", post(workspaces::add_members))
        .route(
            "/tenants/{tenant}/applications",
            get(applications::list).post(applications::create),
        )
        .route(
            "/tenants/{tenant}/applications/{client_id}",
            get(applications::get).delete(applications::delete),
        )
        .route(
            "/tenants/{tenant}/applications/{client_id}/rotate-secret",
            post(applications::rotate_secret),
        )
        .route(
            "/tenants/{tenant}/users",
            get(users::list).post(users::create),
        )
        // Its own body limit (16 MiB) is set by its extractor.
        .route("/tenants/{tenant}/users/import", post(import::import))
        .route("/tenants/{tenant}/users/prune", post(prune::prune))
        .route("/tenants/{tenant}/users/restore", post(prune::restore))
        .route(
            "/tenants/{tenant}/users/{id}",
            get(users::get).patch(users::update).delete(users::delete),
        )
        .route(
            "/tenants/{tenant}/users/{id}/password",
            put(users::set_password),
        )
        .route(
            "/tenants/{tenant}/users/{id}/impersonation",
            post(roles::impersonate),
        )
        .route(
            "/tenants/{tenant}/users/{id}/mfa",
            axum::routing::delete(mfa::reset),
        )
        .route(
            "/tenants/{tenant}/users/{id}/sessions",
            get(users::sessions),
        )
        .route(
            "/tenants/{tenant}/users/{id}/projects",
            get(groups::user_projects),
        )
        .route(
            "/tenants/{tenant}/groups",
            get(groups::list_groups).post(groups::create_group),
        )
        .route(
            "/tenants/{tenant}/groups/{id}",
            get(groups::get_group)
                .patch(groups::update_group)
                .delete(groups::delete_group),
        )
        .route(
            "/tenants/{tenant}/groups/{id}/members",
            post(groups::add_group_member),
        )
        .route(
            "/tenants/{tenant}/groups/{id}/members/{user_id}",
            axum::routing::delete(groups::remove_group_member),
        )
        .route(
            "/tenants/{tenant}/groups/{id}/roles",
            put(groups::set_group_roles),
        )
        .route(
            "/tenants/{tenant}/groups/{id}/projects",
            get(groups::group_projects),
        )
        .route(
            "/tenants/{tenant}/projects",
            get(groups::list_projects).post(groups::create_project),
        )
        .route(
            "/tenants/{tenant}/projects/{id}",
            get(groups::get_project).delete(groups::delete_project),
        )
        .route(
            "/tenants/{tenant}/projects/{id}/members",
            get(groups::project_members).post(groups::add_project_member),
        )
        .route(
            "/tenants/{tenant}/projects/{id}/members/{member_id}",
            put(groups::set_project_member_role).delete(groups::remove_project_member),
        )
        .route(
            "/tenants/{tenant}/users/{id}/grants",
            get(grants::list).post(grants::create),
        )
        .route(
            "/tenants/{tenant}/users/{id}/grants/{gid}",
            axum::routing::delete(grants::revoke),
        )
        .route(
            "/tenants/{tenant}/users/{id}/authentications",
            get(grants::list_authentications),
        )
        .route(
            "/tenants/{tenant}/users/{id}/authentications/{service}",
            get(grants::get_authentication)
                .put(grants::put_authentication)
                .delete(grants::delete_authentication),
        )
        .route(
            "/tenants/{tenant}/users/{id}/sessions/{sid}",
            axum::routing::delete(users::revoke_session),
        );

    Router::new()
        .nest("/api/v1", api)
        .nest(
            crate::dialects::maestro::MOUNT,
            crate::dialects::maestro::routes(),
        )
        .nest(
            crate::dialects::cloudspot::MOUNT,
            crate::dialects::cloudspot::routes(),
        )
        .nest(
            crate::dialects::squirro::MOUNT,
            crate::dialects::squirro::routes(),
        )
        .nest(
            crate::dialects::squirro::topic::MOUNT,
            crate::dialects::squirro::topic::routes(),
        )
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .merge(crate::oidc::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(extract::MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(Arc::clone(&state), observe))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(on_panic))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        codes::METHOD_NOT_ALLOWED,
        "this endpoint does not accept that method",
    )
}

/// A panic in a handler is a bug; the client gets an opaque 500, the log the message.
fn on_panic(payload: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    ApiError::from(crate::services::ServiceError::Internal(format!(
        "panic: {message}"
    )))
    .into_response()
}

/// Records per-route request counts and latency.
async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    // Only standard methods become label values; anything else is one bucket, so a
    // client cannot create metric series at will.
    let method = match request.method().as_str() {
        m @ ("GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS") => m,
        _ => "OTHER",
    }
    .to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let seconds = started.elapsed().as_secs_f64();
    state
        .metrics
        .observe_request(&method, &route, status, seconds);
    // The route template, never the raw path or query (which may hold ids or emails),
    // and no headers or bodies.
    tracing::debug!(%method, %route, status, ms = seconds * 1000.0, "request");
    response
}
