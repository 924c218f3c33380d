//! Users under `/api/user/{version}/{tenant}/users…` (`v0`, `v1`, `v2`). The tenant in
//! the path may be any tenant the caller's account belongs to (Squirro's
//! `delete_workspace_user` reads a workspace's user with the caller's one token); the
//! caller acts there with its role there.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use latchkey_core::Tenant;
use serde_json::{Map, Value, json};

use super::error::{SquirroBody, SquirroCaller, SquirroError, SquirroResult};
use super::wire::{self, RESERVED_USER_KEYS, flag, required, text};
use crate::api::AppState;
use crate::services::members::{MemberQuery, OFFSET_WALK_LIMIT};
use crate::services::{AccountUpdate, Caller, CreateAccount};

/// The permissions of `role` in the tenant, for user objects.
async fn role_permissions(
    state: &AppState,
    tenant: &Tenant,
    role: &latchkey_core::RoleName,
) -> SquirroResult<Vec<String>> {
    Ok(state
        .role_in(&tenant.id, role)
        .await?
        .map(|r| r.permissions)
        .unwrap_or_default())
}

pub(super) async fn user_object(
    state: &AppState,
    tenant: &Tenant,
    record: &latchkey_store::MemberRecord,
) -> SquirroResult<Value> {
    let permissions = role_permissions(state, tenant, &record.role).await?;
    Ok(wire::user(record, tenant, &permissions))
}

async fn scoped(
    state: &AppState,
    caller: &Caller,
    tenant: &str,
) -> SquirroResult<(Caller, Tenant)> {
    Ok(state.caller_in(caller, tenant).await?)
}

/// `GET users?include_config=True|False`: `{"users": [user…]}`, ordered by email (needs
/// `users.read`), each with its groups (`[{id, name}]`, read for the whole list at once).
/// `include_config=True` adds `config`: the account's custom data as one object, the
/// nearest thing Latchkey keeps to a Squirro user's configuration.
pub async fn list(
    State(state): State<AppState>,
    SquirroCaller(caller): SquirroCaller,
    Path(tenant): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> SquirroResult<Json<Value>> {
    let include_config = flag(
        query.get("include_config").map(String::as_str),
        "include_config",
    )?;
    let (caller, tenant) = scoped(&state, &caller, &tenant).await?;
    let members = state
        .members_by_offset(
            &caller,
            &tenant,
            &MemberQuery::default(),
            0,
            OFFSET_WALK_LIMIT,
        )
        .await?;
    let accounts: Vec<_> = members.iter().map(|m| m.account.id.clone()).collect();
    let groups = state.groups_of_members(&caller, &tenant, &accounts).await?;
    let mut users = Vec::with_capacity(members.len());
    let mut permissions = HashMap::new();
    for member in &members {
        if !permissions.contains_key(&member.role) {
            let p = role_permissions(&state, &tenant, &member.role).await?;
            permissions.insert(member.role.clone(), p);
        }
        let p = permissions.get(&member.role).map_or(&[][..], Vec::as_slice);
        let mut user = wire::user(member, &tenant, p);
        if let Some(map) = user.as_object_mut() {
            let of_member = groups
                .get(&member.account.id)
                .map_or(&[][..], Vec::as_slice);
            map.insert("groups".into(), wire::groups(of_member));
            if include_config {
                map.insert(
                    "config".into(),
                    Value::Object(member.account.custom_data.clone()),
                );
            }
        }
        users.push(user);
    }
    Ok(Json(json!({ "users": users })))
}

/// `POST users`: JSON `{email, password, role}`; 201 with the new user. An empty body is
/// 400, a taken email 409.
pub async fn create(
    State(state): State<AppState>,
    SquirroCaller(caller): SquirroCaller,
    Path(tenant): Path<String>,
    SquirroBody(body): SquirroBody,
) -> SquirroResult<(StatusCode, Json<Value>)> {
    let (caller, tenant) = scoped(&state, &caller, &tenant).await?;
    let email = required(&body, "email")?;
    let record = state
        .create_member(
            &caller,
            &tenant,
            CreateAccount {
                email,
                username: None,
                display_name: text(&body, "full_name")?.filter(|n| !n.trim().is_empty()),
                role: text(&body, "role")?.filter(|r| !r.is_empty()),
                password: text(&body, "password")?.filter(|p| !p.is_empty()),
                custom_data: Map::new(),
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(user_object(&state, &tenant, &record).await?),
    ))
}

/// `GET users/{id}`: the user (members see themselves; `users.read` for others), with
/// its groups (`groups: [{id, name}]`, which `delete_workspace_user` reads) and, with
/// `include_projects=True`, the projects it can access (`projects: [{id, title,
/// role}]`, `role` its effective project role).
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
    let (caller, tenant) = scoped(&state, &caller, &tenant).await?;
    let record = state.member(&caller, &tenant, &id).await?;
    let mut object = user_object(&state, &tenant, &record).await?;
    let groups = state.user_groups(&caller, &tenant, &id).await?;
    let projects = if include_projects {
        Some(state.user_projects(&caller, &tenant, &id).await?)
    } else {
        None
    };
    if let Some(map) = object.as_object_mut() {
        map.insert("groups".into(), wire::groups(&groups));
        if let Some(projects) = projects {
            let projects: Vec<Value> = projects
                .iter()
                .map(|(p, role)| wire::project_access(p, *role))
                .collect();
            map.insert("projects".into(), Value::Array(projects));
        }
    }
    Ok(Json(object))
}

/// `PUT users/{id}` (needs `users.write`): `full_name`, `email` and `role` change the account; every other
/// key is kept in the account's custom data and echoed back (a `null` value removes
/// it). `v1` sends JSON, other versions a form; both are read.
pub async fn update(
    State(state): State<AppState>,
    SquirroCaller(caller): SquirroCaller,
    Path((tenant, id)): Path<(String, String)>,
    SquirroBody(body): SquirroBody,
) -> SquirroResult<Json<Value>> {
    let (caller, tenant) = scoped(&state, &caller, &tenant).await?;
    let mut update = AccountUpdate {
        email: text(&body, "email")?,
        display_name: text(&body, "full_name")?.map(|n| Some(n).filter(|n| !n.trim().is_empty())),
        role: text(&body, "role")?,
        ..AccountUpdate::default()
    };
    let custom: Map<String, Value> = body
        .into_iter()
        .filter(|(key, _)| !RESERVED_USER_KEYS.contains(&key.as_str()) && key != "password")
        .collect();
    if !custom.is_empty() {
        update.custom_data = Some(custom);
    }
    let record = state.update_member(&caller, &tenant, &id, update).await?;
    Ok(Json(user_object(&state, &tenant, &record).await?))
}

/// `DELETE users/{id}`: removes the user from the tenant (the account too when it
/// belonged to no other); 204.
pub async fn delete(
    State(state): State<AppState>,
    SquirroCaller(caller): SquirroCaller,
    Path((tenant, id)): Path<(String, String)>,
) -> SquirroResult<StatusCode> {
    let (caller, tenant) = scoped(&state, &caller, &tenant).await?;
    state.remove_member(&caller, &tenant, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT users/{id}/password`: JSON `{current_password, new_password,
/// new_password_confirm}`. For one's own account the current password is checked (other
/// sessions end); an administrator sets another member's password without it.
pub async fn change_password(
    State(state): State<AppState>,
    SquirroCaller(caller): SquirroCaller,
    Path((tenant, id)): Path<(String, String)>,
    SquirroBody(body): SquirroBody,
) -> SquirroResult<Json<Value>> {
    let (caller, tenant) = scoped(&state, &caller, &tenant).await?;
    let new_password = required(&body, "new_password")?;
    if let Some(confirm) = text(&body, "new_password_confirm")?
        && confirm != new_password
    {
        return Err(SquirroError::bad_request(
            "`new_password` and `new_password_confirm` differ",
        ));
    }
    if caller.is_self_in(&tenant.id, &id) {
        let current = text(&body, "current_password")?.unwrap_or_default();
        state
            .change_own_password(&caller, current, &new_password)
            .await?;
    } else {
        state
            .set_member_password(&caller, &tenant, &id, &new_password)
            .await?;
    }
    Ok(Json(json!({ "id": id, "password_changed": true })))
}

/// `GET users/password_policy`: the tenant's password rules (any member).
pub async fn password_policy(
    State(state): State<AppState>,
    SquirroCaller(caller): SquirroCaller,
    Path(tenant): Path<String>,
) -> SquirroResult<Json<Value>> {
    let policy = state.password_policy_of(&caller, &tenant).await?;
    Ok(Json(json!({
        "min_length": policy.min_length,
        "max_length": policy.max_length,
        "rejects_common_passwords": true,
        "rejects_email_or_username": true,
        "composition_rules": false,
    })))
}

/// `GET users/{id}/sessions/{sid}`: one active session (the user itself, or
/// `sessions.read`).
pub async fn get_session(
    State(state): State<AppState>,
    SquirroCaller(caller): SquirroCaller,
    Path((tenant, id, sid)): Path<(String, String, String)>,
) -> SquirroResult<Json<Value>> {
    let (caller, tenant) = scoped(&state, &caller, &tenant).await?;
    let sessions = state.member_sessions(&caller, &tenant, &id).await?;
    let found = sessions
        .iter()
        .find(|s| s.id.as_str() == sid)
        .ok_or(SquirroError::new(
            StatusCode::NOT_FOUND,
            "session not found",
        ))?;
    Ok(Json(wire::session(found)))
}

/// `DELETE users/{id}/sessions/{sid}`: ends the session and its refresh tokens; 204.
pub async fn delete_session(
    State(state): State<AppState>,
    SquirroCaller(caller): SquirroCaller,
    Path((tenant, id, sid)): Path<(String, String, String)>,
) -> SquirroResult<StatusCode> {
    let (caller, tenant) = scoped(&state, &caller, &tenant).await?;
    state
        .revoke_member_session(&caller, &tenant, &id, &sid)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
