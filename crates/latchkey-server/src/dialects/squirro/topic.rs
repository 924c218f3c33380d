//! The part of Squirro's topic API that `squirroclient`'s project methods call, under
//! `/api/topic/{version}/{tenant}/projects…`: `new_project` (form `title`,
//! `description`, …; 201), `get_projects` (a bare JSON array), `get_project` and
//! `delete_project` (204). Projects are Latchkey projects; the other topic fields the
//! client may send (`token`, `locator`, `default_sort`, `photo`, `project_type`,
//! `owner_id`, `project_id`) are not kept.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use latchkey_core::{PageRequest, Project, ProjectRole};
use serde_json::{Value, json};

use super::VERSIONS;
use super::error::{SquirroBody, SquirroCaller, SquirroError, SquirroResult};
use super::wire::{required, text, timestamp};
use crate::api::AppState;

/// Where the topic API is mounted. `SquirroClient(…, cluster=BASE)` calls
/// `BASE/api/topic/…`.
pub const MOUNT: &str = "/api/topic";

/// The topic routes, to be nested at [`MOUNT`].
pub fn routes() -> Router<AppState> {
    let mut router = Router::new();
    for version in VERSIONS {
        router = router
            .route(
                &format!("/{version}/{{tenant}}/projects"),
                get(list).post(create),
            )
            .route(
                &format!("/{version}/{{tenant}}/projects/{{id}}"),
                get(get_one).delete(delete),
            );
    }
    router
        .fallback(|| async {
            SquirroError::new(StatusCode::NOT_FOUND, "no such Squirro topic API endpoint")
        })
        .method_not_allowed_fallback(|| async { SquirroError::method_not_allowed() })
}

/// A project object: `{id, title, description, owner_id, created_at, type, role}`
/// (`role`: the caller's effective project role).
fn project_object(project: &Project, role: Option<ProjectRole>) -> Value {
    json!({
        "id": project.id.as_str(),
        "title": project.title,
        "description": project.description,
        "owner_id": project.owner_id.as_ref().map(|o| o.as_str()),
        "created_at": timestamp(project.created_at),
        "type": "normal",
        "role": role.map(ProjectRole::as_str),
    })
}

/// `POST projects`: form or JSON `title`, `description`; 201 with the project.
pub async fn create(
    State(state): State<AppState>,
    SquirroCaller(caller): SquirroCaller,
    Path(tenant): Path<String>,
    SquirroBody(body): SquirroBody,
) -> SquirroResult<(StatusCode, Json<Value>)> {
    let (caller, tenant) = state.caller_in(&caller, &tenant).await?;
    let title = required(&body, "title")?;
    let description = text(&body, "description")?;
    let created = state
        .create_project(&caller, &tenant, &title, description.as_deref())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(project_object(&created.project, created.role)),
    ))
}

/// `GET projects`: a bare JSON array of the projects the caller can see.
pub async fn list(
    State(state): State<AppState>,
    SquirroCaller(caller): SquirroCaller,
    Path(tenant): Path<String>,
) -> SquirroResult<Json<Value>> {
    let (caller, tenant) = state.caller_in(&caller, &tenant).await?;
    let mut page = PageRequest::new(Some(latchkey_core::page::MAX_PAGE_SIZE), None);
    let mut projects = Vec::new();
    loop {
        let listed = state.list_projects(&caller, &tenant, page.clone()).await?;
        projects.extend(
            listed
                .items
                .iter()
                .map(|p| project_object(&p.project, p.role)),
        );
        match listed.next {
            Some(next) => page.after = Some(next),
            None => break,
        }
    }
    Ok(Json(Value::Array(projects)))
}

/// `GET projects/{id}`: the project (404 when the caller cannot see it).
pub async fn get_one(
    State(state): State<AppState>,
    SquirroCaller(caller): SquirroCaller,
    Path((tenant, id)): Path<(String, String)>,
) -> SquirroResult<Json<Value>> {
    let (caller, tenant) = state.caller_in(&caller, &tenant).await?;
    let found = state.project(&caller, &tenant, &id).await?;
    Ok(Json(project_object(&found.project, found.role)))
}

/// `DELETE projects/{id}`: 204 (project and tenant administrators).
pub async fn delete(
    State(state): State<AppState>,
    SquirroCaller(caller): SquirroCaller,
    Path((tenant, id)): Path<(String, String)>,
) -> SquirroResult<StatusCode> {
    let (caller, tenant) = state.caller_in(&caller, &tenant).await?;
    state.delete_project(&caller, &tenant, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
