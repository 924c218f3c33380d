//! Groups under `/api/user/{version}/{tenant}/groups…`: `squirroclient`'s
//! `get_groups`, `create_group`, `get_group`, `update_group`, `delete_group`,
//! `add_group_member` (a `POST` to the group itself) and `delete_group_member`. Member
//! lists and project lists arrive as JSON strings inside form fields.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use latchkey_core::{PageRequest, Tenant};
use serde_json::{Map, Value, json};

use super::error::{SquirroBody, SquirroCaller, SquirroError, SquirroResult};
use super::users::user_object;
use super::wire::{self, flag, json_in_form, required, text};
use crate::api::AppState;
use crate::services::GroupDetails;

/// A group object: `{id, name, members: [user…], created_at}`, plus `projects`
/// (`[{id, title, role}]`) when they were asked for.
async fn group_object(
    state: &AppState,
    tenant: &Tenant,
    details: &GroupDetails,
) -> SquirroResult<Value> {
    let mut members = Vec::with_capacity(details.members.len());
    for member in &details.members {
        members.push(user_object(state, tenant, member).await?);
    }
    let mut object = json!({
        "id": details.group.id.as_str(),
        "name": details.group.name.as_str(),
        "members": members,
        "roles": details.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        "created_at": super::wire::timestamp(details.group.created_at),
    });
    if let (Some(projects), Some(map)) = (&details.projects, object.as_object_mut()) {
        let listed: Vec<Value> = projects
            .iter()
            .map(|access| wire::project_access(&access.project, access.role))
            .collect();
        map.insert("projects".into(), Value::Array(listed));
    }
    Ok(object)
}

/// The ids of a list field sent as a JSON string in a form (or as JSON itself): `{"id":
/// …}` objects, as `members` carries them, or plain ids, as `projects` does.
fn ids(body: &Map<String, Value>, key: &str) -> SquirroResult<Option<Vec<String>>> {
    let Some(value) = json_in_form(body, key)? else {
        return Ok(None);
    };
    let bad = || SquirroError::bad_request(format!("`{key}` must be a JSON list of ids"));
    let items = value.as_array().ok_or_else(bad)?;
    items
        .iter()
        .map(|item| match item {
            Value::String(id) => Ok(id.clone()),
            Value::Object(map) => map
                .get("id")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(bad),
            _ => Err(bad()),
        })
        .collect::<SquirroResult<Vec<_>>>()
        .map(Some)
}

/// `GET groups`: a bare JSON array of group objects, by name (needs `users.read`).
pub async fn list(
    State(state): State<AppState>,
    SquirroCaller(caller): SquirroCaller,
    Path(tenant): Path<String>,
) -> SquirroResult<Json<Value>> {
    let (caller, tenant) = state.caller_in(&caller, &tenant).await?;
    let mut page = PageRequest::new(Some(latchkey_core::page::MAX_PAGE_SIZE), None);
    let mut groups = Vec::new();
    loop {
        let listed = state.list_groups(&caller, &tenant, page.clone()).await?;
        for details in &listed.items {
            groups.push(group_object(&state, &tenant, details).await?);
        }
        match listed.next {
            Some(next) => page.after = Some(next),
            None => break,
        }
    }
    Ok(Json(Value::Array(groups)))
}

/// `POST groups`: form `name`, `members` (JSON string `[{"id": …}]`); 201 with the
/// group (needs `users.write`; a taken name is 409).
pub async fn create(
    State(state): State<AppState>,
    SquirroCaller(caller): SquirroCaller,
    Path(tenant): Path<String>,
    SquirroBody(body): SquirroBody,
) -> SquirroResult<(StatusCode, Json<Value>)> {
    let (caller, tenant) = state.caller_in(&caller, &tenant).await?;
    let name = required(&body, "name")?;
    let members = ids(&body, "members")?.unwrap_or_default();
    let details = state
        .create_group(&caller, &tenant, &name, &members)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(group_object(&state, &tenant, &details).await?),
    ))
}

/// `GET groups/{id}?include_projects=True|False`.
pub async fn get(
    State(state): State<AppState>,
    SquirroCaller(caller): SquirroCaller,
    Path((tenant, id)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> SquirroResult<Json<Value>> {
    let include_projects = flag(
        query.get("include_projects").map(String::as_str),
        "include_projects",
    )?;
    let (caller, tenant) = state.caller_in(&caller, &tenant).await?;
    let details = state.group(&caller, &tenant, &id, include_projects).await?;
    Ok(Json(group_object(&state, &tenant, &details).await?))
}

/// `PUT groups/{id}`: form `name`, `members` (JSON string, replaces the members) and
/// `projects` (JSON string list of project ids: the group's whole set of projects; the
/// client sends no role, so new ones get the default, see
/// [`crate::services::DEFAULT_GROUP_PROJECT_ROLE`]); 200 with the group (with its
/// projects when they were sent).
pub async fn update(
    State(state): State<AppState>,
    SquirroCaller(caller): SquirroCaller,
    Path((tenant, id)): Path<(String, String)>,
    SquirroBody(body): SquirroBody,
) -> SquirroResult<Json<Value>> {
    let (caller, tenant) = state.caller_in(&caller, &tenant).await?;
    let name = text(&body, "name")?.filter(|n| !n.is_empty());
    let members = ids(&body, "members")?;
    let projects = ids(&body, "projects")?;
    let details = state
        .update_group(
            &caller,
            &tenant,
            &id,
            name.as_deref(),
            members.as_deref(),
            projects.as_deref().map(|p| (p, None)),
        )
        .await?;
    Ok(Json(group_object(&state, &tenant, &details).await?))
}

/// `DELETE groups/{id}`: 204.
pub async fn delete(
    State(state): State<AppState>,
    SquirroCaller(caller): SquirroCaller,
    Path((tenant, id)): Path<(String, String)>,
) -> SquirroResult<StatusCode> {
    let (caller, tenant) = state.caller_in(&caller, &tenant).await?;
    state.delete_group(&caller, &tenant, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST groups/{id}`: form `user_id` adds a member of the tenant; 200 with the user
/// object (409 when it is in the group already).
pub async fn add_member(
    State(state): State<AppState>,
    SquirroCaller(caller): SquirroCaller,
    Path((tenant, id)): Path<(String, String)>,
    SquirroBody(body): SquirroBody,
) -> SquirroResult<Json<Value>> {
    let (caller, tenant) = state.caller_in(&caller, &tenant).await?;
    let user_id = required(&body, "user_id")?;
    let record = state
        .add_group_member(&caller, &tenant, &id, &user_id)
        .await?;
    Ok(Json(user_object(&state, &tenant, &record).await?))
}

/// `DELETE groups/{id}/members/{user_id}`: 204.
pub async fn delete_member(
    State(state): State<AppState>,
    SquirroCaller(caller): SquirroCaller,
    Path((tenant, id, user_id)): Path<(String, String, String)>,
) -> SquirroResult<StatusCode> {
    let (caller, tenant) = state.caller_in(&caller, &tenant).await?;
    state
        .remove_group_member(&caller, &tenant, &id, &user_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
