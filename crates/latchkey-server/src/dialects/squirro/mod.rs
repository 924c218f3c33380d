//! The Squirro dialect under `/api/user`: the user API `squirroclient` 3.17.3's
//! `SquirroClient` calls (see `docs/dialects/squirro.md`). Handlers only translate:
//! Squirro JSON or forms → services → Squirro JSON.
//!
//! It serves the token endpoint, users, sessions, the password policy, signup and
//! workspaces, groups and project members, grants, external authentications, `ext_id`
//! and `msexchange`, each in its own module; [`topic`] serves the topic API's project
//! calls under `/api/topic`.

mod authentications;
mod error;
mod grants;
mod groups;
mod msexchange;
mod projects;
mod token;
pub mod topic;
mod users;
mod wire;
mod workspaces;

use axum::Router;
use axum::routing::{delete, get, post, put};

use crate::api::AppState;
use error::SquirroError;

/// Where the dialect is mounted. `SquirroClient(…, cluster=BASE)` calls
/// `BASE/api/user/…`.
pub const MOUNT: &str = "/api/user";

/// The API versions that serve tenant-scoped user routes.
const VERSIONS: [&str; 3] = ["v0", "v1", "v2"];

/// The dialect's routes, to be nested at [`MOUNT`].
pub fn routes() -> Router<AppState> {
    let mut router = Router::new()
        .route("/oauth2/token", post(token::token))
        // Grants, authentications and msexchange (phase 2, SQ-X).
        .route("/msexchange/oauth2_token", get(msexchange::oauth2_token))
        .route("/v2/signup", post(workspaces::signup))
        .route(
            "/v2/workspaces",
            get(workspaces::list).post(workspaces::create),
        )
        .route(
            "/v2/workspaces/{domain}",
            put(workspaces::update).delete(workspaces::delete),
        )
        .route(
            "/v2/workspaces/{domain}/users",
            get(workspaces::users).post(workspaces::add_users),
        )
        .route(
            "/v2/workspaces/{domain}/users/{user_id}",
            delete(workspaces::delete_user),
        );
    for version in VERSIONS {
        router = router
            .route(
                &format!("/{version}/{{tenant}}/users"),
                get(users::list).post(users::create),
            )
            // A static segment wins over `{id}`: `password_policy` is no user id.
            .route(
                &format!("/{version}/{{tenant}}/users/password_policy"),
                get(users::password_policy),
            )
            .route(
                &format!("/{version}/{{tenant}}/users/{{id}}"),
                get(users::get).put(users::update).delete(users::delete),
            )
            .route(
                &format!("/{version}/{{tenant}}/users/{{id}}/password"),
                put(users::change_password),
            )
            .route(
                &format!("/{version}/{{tenant}}/users/{{id}}/sessions/{{sid}}"),
                get(users::get_session).delete(users::delete_session),
            )
            // Grants and authentications (phase 2, SQ-X).
            .route(
                &format!("/{version}/{{tenant}}/users/{{id}}/grants"),
                get(grants::list).post(grants::create),
            )
            .route(
                &format!("/{version}/{{tenant}}/authentications/{{service}}/{{id}}"),
                get(authentications::get)
                    .post(authentications::put)
                    .delete(authentications::delete),
            );
        // Groups and project members (`get_groups` … `delete_project_member`).
        router = router
            .route(
                &format!("/{version}/{{tenant}}/groups"),
                get(groups::list).post(groups::create),
            )
            .route(
                &format!("/{version}/{{tenant}}/groups/{{id}}"),
                get(groups::get)
                    .put(groups::update)
                    .post(groups::add_member)
                    .delete(groups::delete),
            )
            .route(
                &format!("/{version}/{{tenant}}/groups/{{id}}/members/{{user_id}}"),
                delete(groups::delete_member),
            )
            .route(
                &format!("/{version}/{{tenant}}/projects/{{pid}}/members"),
                get(projects::list).post(projects::add),
            )
            .route(
                &format!("/{version}/{{tenant}}/projects/{{pid}}/members/{{mid}}"),
                put(projects::update).delete(projects::delete),
            );
    }
    // Unknown paths and methods under the mount answer in Squirro's error shape too.
    router
        .fallback(|| async { SquirroError::not_found() })
        .method_not_allowed_fallback(|| async { SquirroError::method_not_allowed() })
}
