//! Project members under `/api/user/{version}/{tenant}/projects/{project_id}/members…`:
//! `squirroclient`'s `get_project_members`, `add_project_member` (200, not 201),
//! `update_project_member` and `delete_project_member`. Members are users or groups;
//! their permissions are derived by the services, never stored.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use latchkey_store::ProjectMember;
use serde_json::{Value, json};

use super::error::{SquirroBody, SquirroCaller, SquirroResult};
use super::wire::{full_name, required, text};
use crate::api::AppState;
use crate::services::{NewProjectMember, ProjectMemberDetails};

/// A member object: `{member_id, member_type: "user"|"group", email, full_name,
/// server_role, project_role, project_id, permissions}`. `project_role` is the role the
/// member acts with (a user's own role raised by its groups' and capped by its tenant
/// role); a group has no email nor server role, its `full_name` is its name.
fn member_object(details: &ProjectMemberDetails) -> Value {
    let record = &details.record;
    let (member_type, email, name, server_role) = match &record.member {
        ProjectMember::User {
            account,
            tenant_role,
            ..
        } => (
            "user",
            Some(account.email.as_str().to_owned()),
            full_name(account),
            Some(tenant_role.as_str().to_owned()),
        ),
        ProjectMember::Group(group) => ("group", None, group.name.as_str().to_owned(), None),
    };
    json!({
        "member_id": record.member.member_id(),
        "member_type": member_type,
        "email": email,
        "full_name": name,
        "server_role": server_role,
        "project_role": details.effective_role.map(|r| r.as_str()),
        "assigned_role": record.role.as_str(),
        "project_id": record.project_id.as_str(),
        "permissions": details.permissions,
    })
}

/// `GET projects/{pid}/members`: `{"members": [member…]}` (anyone who can see the
/// project).
pub async fn list(
    State(state): State<AppState>,
    SquirroCaller(caller): SquirroCaller,
    Path((tenant, project)): Path<(String, String)>,
) -> SquirroResult<Json<Value>> {
    let (caller, tenant) = state.caller_in(&caller, &tenant).await?;
    let members = state.project_members(&caller, &tenant, &project).await?;
    Ok(Json(
        json!({ "members": members.iter().map(member_object).collect::<Vec<_>>() }),
    ))
}

/// `POST projects/{pid}/members`: form `role` and `user_id` or `group_id`; **200** with
/// the member (project and tenant administrators; 409 when it is a member already).
pub async fn add(
    State(state): State<AppState>,
    SquirroCaller(caller): SquirroCaller,
    Path((tenant, project)): Path<(String, String)>,
    SquirroBody(body): SquirroBody,
) -> SquirroResult<Json<Value>> {
    let (caller, tenant) = state.caller_in(&caller, &tenant).await?;
    let role = required(&body, "role")?;
    let user_id = text(&body, "user_id")?.filter(|v| !v.is_empty());
    let group_id = text(&body, "group_id")?.filter(|v| !v.is_empty());
    let member = state
        .add_project_member(
            &caller,
            &tenant,
            &project,
            NewProjectMember {
                user_id: user_id.as_deref(),
                group_id: group_id.as_deref(),
                role: &role,
            },
        )
        .await?;
    Ok(Json(member_object(&member)))
}

/// `PUT projects/{pid}/members/{member_id}`: form `role`; 200 with the member.
pub async fn update(
    State(state): State<AppState>,
    SquirroCaller(caller): SquirroCaller,
    Path((tenant, project, member)): Path<(String, String, String)>,
    SquirroBody(body): SquirroBody,
) -> SquirroResult<Json<Value>> {
    let (caller, tenant) = state.caller_in(&caller, &tenant).await?;
    let role = required(&body, "role")?;
    let member = state
        .set_project_member_role(&caller, &tenant, &project, &member, &role)
        .await?;
    Ok(Json(member_object(&member)))
}

/// `DELETE projects/{pid}/members/{member_id}`: 204.
pub async fn delete(
    State(state): State<AppState>,
    SquirroCaller(caller): SquirroCaller,
    Path((tenant, project, member)): Path<(String, String, String)>,
) -> SquirroResult<StatusCode> {
    let (caller, tenant) = state.caller_in(&caller, &tenant).await?;
    state
        .remove_project_member(&caller, &tenant, &project, &member)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
