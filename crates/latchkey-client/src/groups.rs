//! Groups and projects of a tenant.

use latchkey_api::{
    AccountView, AddGroupMemberRequest, AddProjectMemberRequest, CreateGroupRequest,
    CreateProjectRequest, GroupView, Page, PageQuery, ProjectListView, ProjectMemberView,
    ProjectMembersView, ProjectView, SetGroupRolesRequest, SetProjectRoleRequest,
    UpdateGroupRequest,
};
use reqwest::{Method, Url};

use crate::client::{Client, decode};
use crate::error::Error;

fn with_page(url: &mut Url, query: &PageQuery) {
    let mut pairs = url.query_pairs_mut();
    if let Some(limit) = query.limit {
        pairs.append_pair("limit", &limit.to_string());
    }
    if let Some(after) = &query.after {
        pairs.append_pair("after", after);
    }
}

impl Client {
    /// `GET /api/v1/tenants/{tenant}/groups`: a page of groups by name.
    pub async fn list_groups(
        &self,
        tenant: &str,
        query: &PageQuery,
    ) -> Result<Page<GroupView>, Error> {
        let mut url = self.endpoint(&["tenants", tenant, "groups"])?;
        with_page(&mut url, query);
        let resp = self.send_bearer::<()>(Method::GET, url, None).await?;
        decode(resp, "Page<GroupView>").await
    }

    /// `POST /api/v1/tenants/{tenant}/groups`.
    pub async fn create_group(
        &self,
        tenant: &str,
        request: &CreateGroupRequest,
    ) -> Result<GroupView, Error> {
        let url = self.endpoint(&["tenants", tenant, "groups"])?;
        let resp = self.send_bearer(Method::POST, url, Some(request)).await?;
        decode(resp, "GroupView").await
    }

    /// `GET /api/v1/tenants/{tenant}/groups/{id}`.
    pub async fn get_group(
        &self,
        tenant: &str,
        id: &str,
        include_projects: bool,
    ) -> Result<GroupView, Error> {
        let mut url = self.endpoint(&["tenants", tenant, "groups", id])?;
        if include_projects {
            url.query_pairs_mut()
                .append_pair("include_projects", "true");
        }
        let resp = self.send_bearer::<()>(Method::GET, url, None).await?;
        decode(resp, "GroupView").await
    }

    /// `PATCH /api/v1/tenants/{tenant}/groups/{id}`: rename and/or replace members.
    pub async fn update_group(
        &self,
        tenant: &str,
        id: &str,
        request: &UpdateGroupRequest,
    ) -> Result<GroupView, Error> {
        let url = self.endpoint(&["tenants", tenant, "groups", id])?;
        let resp = self.send_bearer(Method::PATCH, url, Some(request)).await?;
        decode(resp, "GroupView").await
    }

    /// `DELETE /api/v1/tenants/{tenant}/groups/{id}`.
    pub async fn delete_group(&self, tenant: &str, id: &str) -> Result<(), Error> {
        let url = self.endpoint(&["tenants", tenant, "groups", id])?;
        self.send_bearer::<()>(Method::DELETE, url, None).await?;
        Ok(())
    }

    /// `POST /api/v1/tenants/{tenant}/groups/{id}/members`.
    pub async fn add_group_member(
        &self,
        tenant: &str,
        id: &str,
        user_id: &str,
    ) -> Result<AccountView, Error> {
        let url = self.endpoint(&["tenants", tenant, "groups", id, "members"])?;
        let body = AddGroupMemberRequest {
            user_id: user_id.to_owned(),
        };
        let resp = self.send_bearer(Method::POST, url, Some(&body)).await?;
        decode(resp, "AccountView").await
    }

    /// `DELETE /api/v1/tenants/{tenant}/groups/{id}/members/{user_id}`.
    pub async fn remove_group_member(
        &self,
        tenant: &str,
        id: &str,
        user_id: &str,
    ) -> Result<(), Error> {
        let url = self.endpoint(&["tenants", tenant, "groups", id, "members", user_id])?;
        self.send_bearer::<()>(Method::DELETE, url, None).await?;
        Ok(())
    }

    /// `PUT /api/v1/tenants/{tenant}/groups/{id}/roles`: the complete list of granted roles.
    pub async fn set_group_roles(
        &self,
        tenant: &str,
        id: &str,
        roles: &[String],
    ) -> Result<GroupView, Error> {
        let url = self.endpoint(&["tenants", tenant, "groups", id, "roles"])?;
        let body = SetGroupRolesRequest {
            roles: roles.to_vec(),
        };
        let resp = self.send_bearer(Method::PUT, url, Some(&body)).await?;
        decode(resp, "GroupView").await
    }

    /// `GET /api/v1/tenants/{tenant}/groups/{id}/projects`.
    pub async fn group_projects(&self, tenant: &str, id: &str) -> Result<Vec<ProjectView>, Error> {
        let url = self.endpoint(&["tenants", tenant, "groups", id, "projects"])?;
        let resp = self.send_bearer::<()>(Method::GET, url, None).await?;
        let list: ProjectListView = decode(resp, "ProjectListView").await?;
        Ok(list.items)
    }

    /// `GET /api/v1/tenants/{tenant}/projects`: the projects the caller can see.
    pub async fn list_projects(
        &self,
        tenant: &str,
        query: &PageQuery,
    ) -> Result<Page<ProjectView>, Error> {
        let mut url = self.endpoint(&["tenants", tenant, "projects"])?;
        with_page(&mut url, query);
        let resp = self.send_bearer::<()>(Method::GET, url, None).await?;
        decode(resp, "Page<ProjectView>").await
    }

    /// `POST /api/v1/tenants/{tenant}/projects`.
    pub async fn create_project(
        &self,
        tenant: &str,
        request: &CreateProjectRequest,
    ) -> Result<ProjectView, Error> {
        let url = self.endpoint(&["tenants", tenant, "projects"])?;
        let resp = self.send_bearer(Method::POST, url, Some(request)).await?;
        decode(resp, "ProjectView").await
    }

    /// `GET /api/v1/tenants/{tenant}/projects/{id}`.
    pub async fn get_project(&self, tenant: &str, id: &str) -> Result<ProjectView, Error> {
        let url = self.endpoint(&["tenants", tenant, "projects", id])?;
        let resp = self.send_bearer::<()>(Method::GET, url, None).await?;
        decode(resp, "ProjectView").await
    }

    /// `DELETE /api/v1/tenants/{tenant}/projects/{id}`.
    pub async fn delete_project(&self, tenant: &str, id: &str) -> Result<(), Error> {
        let url = self.endpoint(&["tenants", tenant, "projects", id])?;
        self.send_bearer::<()>(Method::DELETE, url, None).await?;
        Ok(())
    }

    /// `GET /api/v1/tenants/{tenant}/projects/{id}/members`.
    pub async fn project_members(
        &self,
        tenant: &str,
        id: &str,
    ) -> Result<Vec<ProjectMemberView>, Error> {
        let url = self.endpoint(&["tenants", tenant, "projects", id, "members"])?;
        let resp = self.send_bearer::<()>(Method::GET, url, None).await?;
        let list: ProjectMembersView = decode(resp, "ProjectMembersView").await?;
        Ok(list.members)
    }

    /// `POST /api/v1/tenants/{tenant}/projects/{id}/members`.
    pub async fn add_project_member(
        &self,
        tenant: &str,
        id: &str,
        request: &AddProjectMemberRequest,
    ) -> Result<ProjectMemberView, Error> {
        let url = self.endpoint(&["tenants", tenant, "projects", id, "members"])?;
        let resp = self.send_bearer(Method::POST, url, Some(request)).await?;
        decode(resp, "ProjectMemberView").await
    }

    /// `PUT /api/v1/tenants/{tenant}/projects/{id}/members/{member_id}`.
    pub async fn set_project_member_role(
        &self,
        tenant: &str,
        id: &str,
        member_id: &str,
        role: &str,
    ) -> Result<ProjectMemberView, Error> {
        let url = self.endpoint(&["tenants", tenant, "projects", id, "members", member_id])?;
        let body = SetProjectRoleRequest {
            role: role.to_owned(),
        };
        let resp = self.send_bearer(Method::PUT, url, Some(&body)).await?;
        decode(resp, "ProjectMemberView").await
    }

    /// `DELETE /api/v1/tenants/{tenant}/projects/{id}/members/{member_id}`.
    pub async fn remove_project_member(
        &self,
        tenant: &str,
        id: &str,
        member_id: &str,
    ) -> Result<(), Error> {
        let url = self.endpoint(&["tenants", tenant, "projects", id, "members", member_id])?;
        self.send_bearer::<()>(Method::DELETE, url, None).await?;
        Ok(())
    }

    /// `GET /api/v1/tenants/{tenant}/users/{id}/projects`: an account's projects with its
    /// effective role in each.
    pub async fn user_projects(
        &self,
        tenant: &str,
        user_id: &str,
    ) -> Result<Vec<ProjectView>, Error> {
        let url = self.endpoint(&["tenants", tenant, "users", user_id, "projects"])?;
        let resp = self.send_bearer::<()>(Method::GET, url, None).await?;
        let list: ProjectListView = decode(resp, "ProjectListView").await?;
        Ok(list.items)
    }
}
