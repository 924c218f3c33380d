//! Wire types of groups and projects (`/api/v1/tenants/{tenant}/groups…`,
//! `/api/v1/tenants/{tenant}/projects…`).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::AccountView;

wire! {
    /// A group with its members (accounts, with their tenant role), the roles it grants
    /// them and, when asked for, the projects it is a member of.
    pub struct GroupView {
        pub id: String,
        pub name: String,
        #[serde(with = "time::serde::rfc3339")]
        pub created_at: OffsetDateTime,
        pub members: Vec<AccountView>,
        /// Roles of the tenant the group grants its members.
        pub roles: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub projects: Option<Vec<ProjectView>>,
    }

    /// `POST /api/v1/tenants/{tenant}/groups`.
    #[serde(deny_unknown_fields)]
    pub struct CreateGroupRequest {
        pub name: String,
        /// Account ids of members of the tenant.
        #[serde(default)]
        pub members: Vec<String>,
    }

    /// `PATCH /api/v1/tenants/{tenant}/groups/{id}`: rename, replace the members and/or
    /// the projects, all or nothing.
    #[serde(deny_unknown_fields)]
    pub struct UpdateGroupRequest {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub name: Option<String>,
        /// The complete new member list (account ids).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub members: Option<Vec<String>>,
        /// The complete list of projects the group is in (project ids): it leaves the
        /// others, joins new ones with `project_role`, keeps its role in the rest.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub projects: Option<Vec<String>>,
        /// `reader`, `member` (the default) or `admin`: the role in projects it joins.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub project_role: Option<String>,
    }

    /// `POST /api/v1/tenants/{tenant}/groups/{id}/members`.
    #[serde(deny_unknown_fields)]
    pub struct AddGroupMemberRequest {
        pub user_id: String,
    }

    /// `PUT /api/v1/tenants/{tenant}/groups/{id}/roles`: the complete list of roles the
    /// group grants.
    #[serde(deny_unknown_fields)]
    pub struct SetGroupRolesRequest {
        pub roles: Vec<String>,
    }

    /// A project. `role` is a role held in it: the caller's effective role in lists and
    /// reads, the group's or user's role in `…/groups/{id}/projects` and
    /// `…/users/{id}/projects`.
    pub struct ProjectView {
        pub id: String,
        pub title: String,
        pub description: String,
        pub owner_id: Option<String>,
        #[serde(with = "time::serde::rfc3339")]
        pub created_at: OffsetDateTime,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub role: Option<String>,
    }

    /// `GET …/groups/{id}/projects`, `GET …/users/{id}/projects`.
    pub struct ProjectListView {
        pub items: Vec<ProjectView>,
    }

    /// `POST /api/v1/tenants/{tenant}/projects`.
    #[serde(deny_unknown_fields)]
    pub struct CreateProjectRequest {
        pub title: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub description: Option<String>,
    }

    /// A member of a project: an account (`member_type` `user`) or a group.
    /// `permissions` are derived from `project_role` and, for accounts, their tenant role
    /// (`server_role`) and the roles of their groups in the project.
    pub struct ProjectMemberView {
        pub member_id: String,
        /// `user` or `group`.
        pub member_type: String,
        pub project_id: String,
        /// The role stored for this member: `reader`, `member` or `admin`.
        pub project_role: String,
        /// Accounts: the email address.
        pub email: Option<String>,
        /// Accounts: the display name; groups: the name.
        pub full_name: Option<String>,
        /// Accounts: the role in the tenant.
        pub server_role: Option<String>,
        pub permissions: Vec<String>,
    }

    /// `GET /api/v1/tenants/{tenant}/projects/{id}/members`.
    pub struct ProjectMembersView {
        pub members: Vec<ProjectMemberView>,
    }

    /// `POST /api/v1/tenants/{tenant}/projects/{id}/members`: exactly one of `user_id`
    /// and `group_id`.
    #[serde(deny_unknown_fields)]
    pub struct AddProjectMemberRequest {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub user_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub group_id: Option<String>,
        /// `reader`, `member` or `admin`.
        pub role: String,
    }

    /// `PUT /api/v1/tenants/{tenant}/projects/{id}/members/{member_id}`.
    #[serde(deny_unknown_fields)]
    pub struct SetProjectRoleRequest {
        pub role: String,
    }
}

/// Query of `GET /api/v1/tenants/{tenant}/groups/{id}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[serde(deny_unknown_fields)]
pub struct GetGroupQuery {
    /// Also list the projects the group is a member of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_projects: Option<bool>,
}
