//! OpenID Connect / OAuth 2.0 with Keycloak-compatible realm paths. Every route is served
//! under `/realms/{realm}` and under the legacy `/auth/realms/{realm}`, because existing
//! clients use both. A realm is a tenant, addressed by its domain.

mod admin;
mod authorize;
mod discovery;
mod enrolment_page;
mod error;
mod form;
mod session;
mod token;

use axum::Router;
use axum::routing::{get, post};

use crate::api::AppState;

/// The realm routes, to be merged into the server's router.
pub fn routes() -> Router<AppState> {
    let realm = Router::new()
        .route("/{realm}", get(discovery::realm))
        .route(
            "/{realm}/.well-known/openid-configuration",
            get(discovery::openid_configuration),
        )
        .route(
            "/{realm}/protocol/openid-connect/certs",
            get(discovery::certs),
        )
        .route(
            "/{realm}/protocol/openid-connect/auth",
            get(authorize::page).post(authorize::submit),
        )
        .route("/{realm}/protocol/openid-connect/token", post(token::token))
        .route(
            "/{realm}/protocol/openid-connect/token/introspect",
            post(session::introspect),
        )
        .route(
            "/{realm}/protocol/openid-connect/userinfo",
            get(session::userinfo).post(session::userinfo),
        )
        .route(
            "/{realm}/protocol/openid-connect/revoke",
            post(session::revoke),
        )
        .route(
            "/{realm}/protocol/openid-connect/logout",
            post(session::logout),
        );
    Router::new()
        .nest("/realms", realm.clone())
        .nest("/auth/realms", realm)
        .merge(admin_routes())
}

/// Keycloak's admin user API, under `/admin/realms` and `/auth/admin/realms`.
fn admin_routes() -> Router<AppState> {
    let admin = admin::routes();
    Router::new()
        .nest("/admin/realms", admin.clone())
        .nest("/auth/admin/realms", admin)
}
