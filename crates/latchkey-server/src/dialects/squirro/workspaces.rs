//! `/api/user/v2/signup` and `/api/user/v2/workspaces…`: workspaces are tenants, a
//! workspace's `domain` is the tenant's domain and its `title` the tenant's title.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::error::{SquirroBody, SquirroCaller, SquirroError, SquirroResult};
use super::wire::{self, flag, required, text};
use crate::api::AppState;
use crate::api::extract::ClientInfo;
use crate::services::SignUp;
use crate::services::members::{MemberQuery, OFFSET_WALK_LIMIT};

/// `POST /v2/signup`: JSON `{email, password, full_name}` (`null`s allowed); 201
/// `{user_id, tenant}`. Only when signup is enabled (403 otherwise). A registered email
/// with its account's password gets a new workspace; with another password, the 400
/// every refused signup credential gets (`ClientError`).
pub async fn signup(
    State(state): State<AppState>,
    client: ClientInfo,
    SquirroBody(body): SquirroBody,
) -> SquirroResult<(StatusCode, Json<Value>)> {
    let request = SignUp {
        email: required(&body, "email")?,
        password: required(&body, "password")?,
        display_name: text(&body, "full_name")?,
        ip_address: client.ip_address,
    };
    let (tenant, account) = state.sign_up(request).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "user_id": account.as_str(), "tenant": tenant.domain.as_str() })),
    ))
}

/// `GET /v2/workspaces?include_projects=…&admin_only=…`: `{"workspaces": [{domain,
/// title, role, …}]}`, the tenants the caller's account belongs to (administers, with
/// `admin_only=True`); with `include_projects=True` each also lists `projects: [{id,
/// title, role}]`, the projects the caller can access there and its role in each.
pub async fn list(
    State(state): State<AppState>,
    SquirroCaller(caller): SquirroCaller,
    Query(query): Query<HashMap<String, String>>,
) -> SquirroResult<Json<Value>> {
    let admin_only = flag(query.get("admin_only").map(String::as_str), "admin_only")?;
    let include_projects = flag(
        query.get("include_projects").map(String::as_str),
        "include_projects",
    )?;
    let listed: Vec<Value> = if include_projects {
        state
            .workspaces_with_projects(&caller, admin_only)
            .await?
            .iter()
            .map(|w| {
                let mut object =
                    wire::workspace(&w.workspace.tenant, Some(w.workspace.role.as_str()));
                if let Some(map) = object.as_object_mut() {
                    let projects: Vec<Value> = w
                        .projects
                        .iter()
                        .map(|(project, role)| wire::project_access(project, *role))
                        .collect();
                    map.insert("projects".into(), Value::Array(projects));
                }
                object
            })
            .collect()
    } else {
        state
            .workspaces_of(&caller, admin_only)
            .await?
            .iter()
            .map(|w| wire::workspace(&w.tenant, Some(w.role.as_str())))
            .collect()
    };
    Ok(Json(json!({ "workspaces": listed })))
}

/// `POST /v2/workspaces`: JSON `{title}`; 201 `{domain, title}`. The caller administers
/// the new workspace.
pub async fn create(
    State(state): State<AppState>,
    SquirroCaller(caller): SquirroCaller,
    SquirroBody(body): SquirroBody,
) -> SquirroResult<(StatusCode, Json<Value>)> {
    let title = required(&body, "title")?;
    let tenant = state.create_workspace(&caller, &title).await?;
    Ok((
        StatusCode::CREATED,
        Json(wire::workspace(&tenant, Some("admin"))),
    ))
}

/// `PUT /v2/workspaces/{domain}`: JSON `{title}`; 200 `{domain, title}`.
pub async fn update(
    State(state): State<AppState>,
    SquirroCaller(caller): SquirroCaller,
    Path(domain): Path<String>,
    SquirroBody(body): SquirroBody,
) -> SquirroResult<Json<Value>> {
    let title = required(&body, "title")?;
    let tenant = state.rename_workspace(&caller, &domain, &title).await?;
    Ok(Json(wire::workspace(&tenant, None)))
}

/// `DELETE /v2/workspaces/{domain}`: 204.
pub async fn delete(
    State(state): State<AppState>,
    SquirroCaller(caller): SquirroCaller,
    Path(domain): Path<String>,
) -> SquirroResult<StatusCode> {
    state.delete_workspace(&caller, &domain).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v2/workspaces/{domain}/users`: `[{id, email, role, full_name}]`.
pub async fn users(
    State(state): State<AppState>,
    SquirroCaller(caller): SquirroCaller,
    Path(domain): Path<String>,
) -> SquirroResult<Json<Value>> {
    let (caller, tenant) = state.caller_in(&caller, &domain).await?;
    let members = state
        .members_by_offset(
            &caller,
            &tenant,
            &MemberQuery::default(),
            0,
            OFFSET_WALK_LIMIT,
        )
        .await?;
    Ok(Json(Value::Array(
        members
            .iter()
            .map(|m| {
                json!({
                    "id": m.account.id.as_str(),
                    "email": m.account.email.as_str(),
                    "role": m.role.as_str(),
                    "full_name": wire::full_name(&m.account),
                })
            })
            .collect(),
    )))
}

/// `POST /v2/workspaces/{domain}/users`: JSON `{emails: [..], role}` adds members by
/// email (201; an address without an account gets one without a password, an
/// invitation), or `{user_id, role}` changes a member's role (200). Both answer a JSON
/// array `[{user_id, workspace}]`.
pub async fn add_users(
    State(state): State<AppState>,
    SquirroCaller(caller): SquirroCaller,
    Path(domain): Path<String>,
    SquirroBody(body): SquirroBody,
) -> SquirroResult<(StatusCode, Json<Value>)> {
    let (caller, tenant) = state.caller_in(&caller, &domain).await?;
    let role = required(&body, "role")?;
    let entry = |id: &str| json!({ "user_id": id, "workspace": tenant.domain.as_str() });
    if let Some(user_id) = text(&body, "user_id")? {
        let record = state
            .set_member_role(&caller, &tenant, &user_id, &role)
            .await?;
        return Ok((
            StatusCode::OK,
            Json(json!([entry(record.account.id.as_str())])),
        ));
    }
    let emails: Vec<String> = match body.get("emails") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| SquirroError::bad_request("`emails` must be a list of strings"))
            })
            .collect::<Result<_, _>>()?,
        Some(Value::String(one)) => vec![one.clone()],
        _ => {
            return Err(SquirroError::bad_request(
                "send `emails` (a list) or `user_id`, with `role`",
            ));
        }
    };
    let added = state
        .add_members_by_email(&caller, &tenant, &emails, &role)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(Value::Array(
            added.iter().map(|r| entry(r.account.id.as_str())).collect(),
        )),
    ))
}

/// `DELETE /v2/workspaces/{domain}/users/{user_id}`: removes the member; 204.
pub async fn delete_user(
    State(state): State<AppState>,
    SquirroCaller(caller): SquirroCaller,
    Path((domain, user_id)): Path<(String, String)>,
) -> SquirroResult<StatusCode> {
    let (caller, tenant) = state.caller_in(&caller, &domain).await?;
    state.remove_member(&caller, &tenant, &user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
