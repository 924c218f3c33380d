//! Groups of a tenant and projects (`/api/v1/tenants/{tenant}/groups…`,
//! `/api/v1/tenants/{tenant}/projects…`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use latchkey_api::{
    AccountView, AddGroupMemberRequest, AddProjectMemberRequest, CreateGroupRequest,
    CreateProjectRequest, GetGroupQuery, GroupView, Page, PageQuery, Problem, ProjectListView,
    ProjectMemberView, ProjectMembersView, ProjectView, SetGroupRolesRequest,
    SetProjectRoleRequest, UpdateGroupRequest,
};
use latchkey_core::{PageRequest, Project, ProjectRole};
use latchkey_store::{ProjectAccess, ProjectMember};

use super::error::ApiResult;
use super::extract::{ApiJson, ApiQuery};
use super::{AppState, views};
use crate::services::{
    Caller, GroupDetails, NewProjectMember, ProjectMemberDetails, ProjectWithRole,
};

fn group_view(details: GroupDetails) -> GroupView {
    GroupView {
        id: details.group.id.to_string(),
        name: details.group.name.to_string(),
        created_at: details.group.created_at,
        members: details
            .members
            .into_iter()
            .map(|m| views::account(m.account, Some(m.role.to_string())))
            .collect(),
        roles: details.roles.iter().map(ToString::to_string).collect(),
        projects: details
            .projects
            .map(|p| p.into_iter().map(access_view).collect()),
    }
}

fn project_view(project: Project, role: Option<ProjectRole>) -> ProjectView {
    ProjectView {
        id: project.id.to_string(),
        title: project.title,
        description: project.description,
        owner_id: project.owner_id.map(|o| o.to_string()),
        created_at: project.created_at,
        role: role.map(|r| r.as_str().to_owned()),
    }
}

fn with_role_view(p: ProjectWithRole) -> ProjectView {
    project_view(p.project, p.role)
}

fn access_view(access: ProjectAccess) -> ProjectView {
    project_view(access.project, Some(access.role))
}

fn member_view(details: ProjectMemberDetails) -> ProjectMemberView {
    let record = details.record;
    let (member_type, email, full_name, server_role) = match &record.member {
        ProjectMember::User {
            account,
            tenant_role,
            ..
        } => (
            "user",
            Some(account.email.as_str().to_owned()),
            account.display_name.clone(),
            Some(tenant_role.to_string()),
        ),
        ProjectMember::Group(group) => ("group", None, Some(group.name.to_string()), None),
    };
    ProjectMemberView {
        member_id: record.member.member_id().to_owned(),
        member_type: member_type.to_owned(),
        project_id: record.project_id.to_string(),
        project_role: record.role.as_str().to_owned(),
        email,
        full_name,
        server_role,
        permissions: details.permissions,
    }
}

/// List the tenant's groups by name, with members and granted roles (`users.read`).
#[utoipa::path(
    get, path = "/api/v1/tenants/{tenant}/groups", tag = "groups",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant domain"), PageQuery),
    responses((status = 200, body = Page<GroupView>), (status = 403, body = Problem), (status = 404, body = Problem))
)]
pub async fn list_groups(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<GroupView>>> {
    let tenant = state.tenant_by_domain(&tenant).await?;
    let page = state
        .list_groups(&caller, &tenant, PageRequest::new(query.limit, query.after))
        .await?;
    Ok(Json(views::page(page, group_view)))
}

/// Create a group, optionally with members (`users.write`).
#[utoipa::path(
    post, path = "/api/v1/tenants/{tenant}/groups", tag = "groups",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant domain")),
    request_body = CreateGroupRequest,
    responses(
        (status = 201, body = GroupView), (status = 400, body = Problem),
        (status = 403, body = Problem),
        (status = 404, description = "A member is no member of the tenant", body = Problem),
        (status = 409, description = "The name is taken", body = Problem),
    )
)]
pub async fn create_group(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
    ApiJson(request): ApiJson<CreateGroupRequest>,
) -> ApiResult<(StatusCode, Json<GroupView>)> {
    let tenant = state.tenant_by_domain(&tenant).await?;
    let group = state
        .create_group(&caller, &tenant, &request.name, &request.members)
        .await?;
    Ok((StatusCode::CREATED, Json(group_view(group))))
}

/// One group (`users.read`); with `include_projects`, the projects it is a member of.
#[utoipa::path(
    get, path = "/api/v1/tenants/{tenant}/groups/{id}", tag = "groups",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant domain"), ("id" = String, Path, description = "Group id"), GetGroupQuery),
    responses((status = 200, body = GroupView), (status = 403, body = Problem), (status = 404, body = Problem))
)]
pub async fn get_group(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant, id)): Path<(String, String)>,
    ApiQuery(query): ApiQuery<GetGroupQuery>,
) -> ApiResult<Json<GroupView>> {
    let tenant = state.tenant_by_domain(&tenant).await?;
    let group = state
        .group(
            &caller,
            &tenant,
            &id,
            query.include_projects.unwrap_or(false),
        )
        .await?;
    Ok(Json(group_view(group)))
}

/// Rename a group and/or replace its members (`users.write`).
#[utoipa::path(
    patch, path = "/api/v1/tenants/{tenant}/groups/{id}", tag = "groups",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant domain"), ("id" = String, Path, description = "Group id")),
    request_body = UpdateGroupRequest,
    responses(
        (status = 200, body = GroupView), (status = 400, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "The name is taken", body = Problem),
    )
)]
pub async fn update_group(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant, id)): Path<(String, String)>,
    ApiJson(request): ApiJson<UpdateGroupRequest>,
) -> ApiResult<Json<GroupView>> {
    let tenant = state.tenant_by_domain(&tenant).await?;
    let group = state
        .update_group(
            &caller,
            &tenant,
            &id,
            request.name.as_deref(),
            request.members.as_deref(),
            request
                .projects
                .as_deref()
                .map(|projects| (projects, request.project_role.as_deref())),
        )
        .await?;
    Ok(Json(group_view(group)))
}

/// Delete a group; its members lose the roles it granted and its project memberships
/// (`users.write`).
#[utoipa::path(
    delete, path = "/api/v1/tenants/{tenant}/groups/{id}", tag = "groups",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant domain"), ("id" = String, Path, description = "Group id")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem))
)]
pub async fn delete_group(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let tenant = state.tenant_by_domain(&tenant).await?;
    state.delete_group(&caller, &tenant, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Add a member of the tenant to a group; answers the account (`users.write`).
#[utoipa::path(
    post, path = "/api/v1/tenants/{tenant}/groups/{id}/members", tag = "groups",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant domain"), ("id" = String, Path, description = "Group id")),
    request_body = AddGroupMemberRequest,
    responses(
        (status = 200, body = AccountView), (status = 403, body = Problem),
        (status = 404, body = Problem),
        (status = 409, description = "Already a member", body = Problem),
    )
)]
pub async fn add_group_member(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant, id)): Path<(String, String)>,
    ApiJson(request): ApiJson<AddGroupMemberRequest>,
) -> ApiResult<Json<AccountView>> {
    let tenant = state.tenant_by_domain(&tenant).await?;
    let member = state
        .add_group_member(&caller, &tenant, &id, &request.user_id)
        .await?;
    Ok(Json(views::account(
        member.account,
        Some(member.role.to_string()),
    )))
}

/// Remove an account from a group (`users.write`).
#[utoipa::path(
    delete, path = "/api/v1/tenants/{tenant}/groups/{id}/members/{user_id}", tag = "groups",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant domain"), ("id" = String, Path, description = "Group id"), ("user_id" = String, Path, description = "Account id")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem))
)]
pub async fn remove_group_member(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant, id, user_id)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    let tenant = state.tenant_by_domain(&tenant).await?;
    state
        .remove_group_member(&caller, &tenant, &id, &user_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replace the roles a group grants its members (`users.write`; only roles whose
/// permissions the caller holds).
#[utoipa::path(
    put, path = "/api/v1/tenants/{tenant}/groups/{id}/roles", tag = "groups",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant domain"), ("id" = String, Path, description = "Group id")),
    request_body = SetGroupRolesRequest,
    responses(
        (status = 200, body = GroupView),
        (status = 400, description = "Unknown or malformed role", body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem),
    )
)]
pub async fn set_group_roles(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant, id)): Path<(String, String)>,
    ApiJson(request): ApiJson<SetGroupRolesRequest>,
) -> ApiResult<Json<GroupView>> {
    let tenant = state.tenant_by_domain(&tenant).await?;
    let group = state
        .set_group_roles(&caller, &tenant, &id, &request.roles)
        .await?;
    Ok(Json(group_view(group)))
}

/// The projects a group is a member of, with its role in each (`users.read`).
#[utoipa::path(
    get, path = "/api/v1/tenants/{tenant}/groups/{id}/projects", tag = "groups",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant domain"), ("id" = String, Path, description = "Group id")),
    responses((status = 200, body = ProjectListView), (status = 403, body = Problem), (status = 404, body = Problem))
)]
pub async fn group_projects(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant, id)): Path<(String, String)>,
) -> ApiResult<Json<ProjectListView>> {
    let tenant = state.tenant_by_domain(&tenant).await?;
    let projects = state.group_projects(&caller, &tenant, &id).await?;
    Ok(Json(ProjectListView {
        items: projects.into_iter().map(access_view).collect(),
    }))
}

/// The projects the caller can see, by id: all of them for tenant administrators, the
/// ones the caller holds a role in for everyone else. `role` is the caller's.
#[utoipa::path(
    get, path = "/api/v1/tenants/{tenant}/projects", tag = "projects",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant domain"), PageQuery),
    responses((status = 200, body = Page<ProjectView>), (status = 403, body = Problem), (status = 404, body = Problem))
)]
pub async fn list_projects(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<ProjectView>>> {
    let tenant = state.tenant_by_domain(&tenant).await?;
    let page = state
        .list_projects(&caller, &tenant, PageRequest::new(query.limit, query.after))
        .await?;
    Ok(Json(views::page(page, with_role_view)))
}

/// Create a project owned by the caller, who becomes its first administrator (members
/// of the tenant except `demo` and `reader` accounts).
#[utoipa::path(
    post, path = "/api/v1/tenants/{tenant}/projects", tag = "projects",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant domain")),
    request_body = CreateProjectRequest,
    responses((status = 201, body = ProjectView), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem))
)]
pub async fn create_project(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
    ApiJson(request): ApiJson<CreateProjectRequest>,
) -> ApiResult<(StatusCode, Json<ProjectView>)> {
    let tenant = state.tenant_by_domain(&tenant).await?;
    let project = state
        .create_project(
            &caller,
            &tenant,
            &request.title,
            request.description.as_deref(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(with_role_view(project))))
}

/// One project the caller can see (404 otherwise), with the caller's role in it.
#[utoipa::path(
    get, path = "/api/v1/tenants/{tenant}/projects/{id}", tag = "projects",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant domain"), ("id" = String, Path, description = "Project id")),
    responses((status = 200, body = ProjectView), (status = 403, body = Problem), (status = 404, body = Problem))
)]
pub async fn get_project(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant, id)): Path<(String, String)>,
) -> ApiResult<Json<ProjectView>> {
    let tenant = state.tenant_by_domain(&tenant).await?;
    Ok(Json(with_role_view(
        state.project(&caller, &tenant, &id).await?,
    )))
}

/// Delete a project (its administrators and tenant administrators).
#[utoipa::path(
    delete, path = "/api/v1/tenants/{tenant}/projects/{id}", tag = "projects",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant domain"), ("id" = String, Path, description = "Project id")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem))
)]
pub async fn delete_project(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let tenant = state.tenant_by_domain(&tenant).await?;
    state.delete_project(&caller, &tenant, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The project's members (accounts, then groups) with their derived permissions
/// (anyone who can see the project).
#[utoipa::path(
    get, path = "/api/v1/tenants/{tenant}/projects/{id}/members", tag = "projects",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant domain"), ("id" = String, Path, description = "Project id")),
    responses((status = 200, body = ProjectMembersView), (status = 403, body = Problem), (status = 404, body = Problem))
)]
pub async fn project_members(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant, id)): Path<(String, String)>,
) -> ApiResult<Json<ProjectMembersView>> {
    let tenant = state.tenant_by_domain(&tenant).await?;
    let members = state.project_members(&caller, &tenant, &id).await?;
    Ok(Json(ProjectMembersView {
        members: members.into_iter().map(member_view).collect(),
    }))
}

/// Add an account or a group to a project with a role (project and tenant
/// administrators).
#[utoipa::path(
    post, path = "/api/v1/tenants/{tenant}/projects/{id}/members", tag = "projects",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant domain"), ("id" = String, Path, description = "Project id")),
    request_body = AddProjectMemberRequest,
    responses(
        (status = 201, body = ProjectMemberView),
        (status = 400, description = "Bad role, or not exactly one of user_id and group_id", body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "Already a member", body = Problem),
    )
)]
pub async fn add_project_member(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant, id)): Path<(String, String)>,
    ApiJson(request): ApiJson<AddProjectMemberRequest>,
) -> ApiResult<(StatusCode, Json<ProjectMemberView>)> {
    let tenant = state.tenant_by_domain(&tenant).await?;
    let member = state
        .add_project_member(
            &caller,
            &tenant,
            &id,
            NewProjectMember {
                user_id: request.user_id.as_deref(),
                group_id: request.group_id.as_deref(),
                role: &request.role,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(member_view(member))))
}

/// Change a project member's role (project and tenant administrators).
#[utoipa::path(
    put, path = "/api/v1/tenants/{tenant}/projects/{id}/members/{member_id}", tag = "projects",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant domain"), ("id" = String, Path, description = "Project id"), ("member_id" = String, Path, description = "Account or group id")),
    request_body = SetProjectRoleRequest,
    responses((status = 200, body = ProjectMemberView), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem))
)]
pub async fn set_project_member_role(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant, id, member_id)): Path<(String, String, String)>,
    ApiJson(request): ApiJson<SetProjectRoleRequest>,
) -> ApiResult<Json<ProjectMemberView>> {
    let tenant = state.tenant_by_domain(&tenant).await?;
    let member = state
        .set_project_member_role(&caller, &tenant, &id, &member_id, &request.role)
        .await?;
    Ok(Json(member_view(member)))
}

/// Remove an account or a group from a project (project and tenant administrators).
#[utoipa::path(
    delete, path = "/api/v1/tenants/{tenant}/projects/{id}/members/{member_id}", tag = "projects",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant domain"), ("id" = String, Path, description = "Project id"), ("member_id" = String, Path, description = "Account or group id")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem))
)]
pub async fn remove_project_member(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant, id, member_id)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    let tenant = state.tenant_by_domain(&tenant).await?;
    state
        .remove_project_member(&caller, &tenant, &id, &member_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The projects an account can access, with its effective role in each (the account
/// itself, or `users.read`).
#[utoipa::path(
    get, path = "/api/v1/tenants/{tenant}/users/{id}/projects", tag = "projects",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant domain"), ("id" = String, Path, description = "Account id")),
    responses((status = 200, body = ProjectListView), (status = 403, body = Problem), (status = 404, body = Problem))
)]
pub async fn user_projects(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant, id)): Path<(String, String)>,
) -> ApiResult<Json<ProjectListView>> {
    let tenant = state.tenant_by_domain(&tenant).await?;
    let projects = state.user_projects(&caller, &tenant, &id).await?;
    Ok(Json(ProjectListView {
        items: projects
            .into_iter()
            .map(|(p, r)| project_view(p, Some(r)))
            .collect(),
    }))
}
