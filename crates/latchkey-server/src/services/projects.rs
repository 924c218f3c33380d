//! Projects of a tenant and their members. Who may do what (see `docs/permissions.md`):
//! - create: members of the tenant whose tenant role is not capped at `reader` (`demo`
//!   and `reader` accounts cannot), and platform administrators; the creator becomes the
//!   owner and the first project `admin`;
//! - list and read: tenant administrators (`users.read`) see every project, other
//!   members only those they hold a role in (directly or through a group); a project
//!   the caller cannot see answers 404;
//! - delete and manage members: project administrators (effective role `admin`) and
//!   tenant administrators (`users.write`).
//!
//! The permissions of a member are derived by `latchkey_core::project`, never stored.

use latchkey_core::audit::actions;
use latchkey_core::project::{self, ProjectTitle, effective_project_role, project_role_cap};
use latchkey_core::role::permissions;
use latchkey_core::{
    AccountId, AuditOutcome, GroupId, Page, PageRequest, Project, ProjectId, ProjectRole, Tenant,
};
use latchkey_store::{
    ProjectAccess, ProjectMember, ProjectMemberRecord, ProjectMemberRef, StoreError,
};
use serde_json::json;

use super::{Caller, ServiceError, Services};

/// A project member with its derived permissions.
#[derive(Clone, Debug)]
pub struct ProjectMemberDetails {
    pub record: ProjectMemberRecord,
    /// The role the member acts with in the project (`None`: its tenant role leaves it
    /// none, which cannot happen for a listed member; kept for completeness).
    pub effective_role: Option<ProjectRole>,
    pub permissions: Vec<String>,
}

/// A project and the caller's effective role in it.
#[derive(Clone, Debug)]
pub struct ProjectWithRole {
    pub project: Project,
    pub role: Option<ProjectRole>,
}

/// Who to add to a project.
pub struct NewProjectMember<'a> {
    pub user_id: Option<&'a str>,
    pub group_id: Option<&'a str>,
    pub role: &'a str,
}

fn parse_role(raw: &str) -> Result<ProjectRole, ServiceError> {
    ProjectRole::parse(raw).map_err(|e| ServiceError::Validation(e.to_string()))
}

/// Derives a member's effective role and permissions.
pub fn member_details(record: ProjectMemberRecord) -> ProjectMemberDetails {
    let effective_role = match &record.member {
        ProjectMember::User {
            tenant_role,
            via_groups,
            ..
        } => effective_project_role(tenant_role, Some(record.role), via_groups),
        ProjectMember::Group(_) => Some(record.role),
    };
    ProjectMemberDetails {
        permissions: effective_role
            .map(ProjectRole::permissions)
            .unwrap_or_default(),
        effective_role,
        record,
    }
}

/// The highest role per project of `access` rows, derived with `tenant_role`.
fn reduce_access(
    tenant_role: &latchkey_core::RoleName,
    access: Vec<ProjectAccess>,
) -> Vec<(Project, ProjectRole)> {
    let mut out: Vec<(Project, Option<ProjectRole>, Vec<ProjectRole>)> = Vec::new();
    for row in access {
        let index = match out.iter().position(|(p, _, _)| p.id == row.project.id) {
            Some(index) => index,
            None => {
                out.push((row.project.clone(), None, Vec::new()));
                out.len() - 1
            }
        };
        match row.via_group {
            None => out[index].1 = Some(row.role),
            Some(_) => out[index].2.push(row.role),
        }
    }
    out.into_iter()
        .filter_map(|(project, direct, via)| {
            effective_project_role(tenant_role, direct, &via).map(|role| (project, role))
        })
        .collect()
}

impl Services {
    fn project_event(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        action: &'static str,
        project: &ProjectId,
        detail: serde_json::Value,
    ) -> latchkey_core::AuditEvent {
        self.audit_event(
            Some(&tenant.id),
            Some(&caller.account.id),
            action,
            Some(project.to_string()),
            AuditOutcome::Success,
            detail,
        )
    }

    /// The caller's effective role in `project` (`None`: no access). Platform and tenant
    /// administrators are project administrators everywhere.
    async fn caller_project_role(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        project: &ProjectId,
    ) -> Result<Option<ProjectRole>, ServiceError> {
        if caller.account.platform_admin || caller.may(&tenant.id, permissions::USERS_WRITE) {
            return Ok(Some(ProjectRole::Admin));
        }
        if caller.tenant.id != tenant.id {
            return Ok(None);
        }
        let access: Vec<ProjectAccess> = self
            .store
            .account_projects(&tenant.id, &caller.account.id)
            .await?
            .into_iter()
            .filter(|a| a.project.id == *project)
            .collect();
        Ok(reduce_access(&caller.role.name, access)
            .into_iter()
            .next()
            .map(|(_, role)| role))
    }

    /// The project `id` and the caller's role in it; `NotFound` when it does not exist
    /// in `tenant` or the caller may not see it.
    async fn visible_project(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        id: &str,
    ) -> Result<(Project, ProjectRole), ServiceError> {
        if caller.tenant.id != tenant.id && !caller.account.platform_admin {
            return Err(ServiceError::Forbidden(
                "your token is not valid for this tenant",
            ));
        }
        if !latchkey_core::id::is_id_shaped(id) {
            return Err(ServiceError::NotFound("project"));
        }
        let id = ProjectId::from_string(id.to_owned());
        let project = self
            .store
            .project(&tenant.id, &id)
            .await?
            .ok_or(ServiceError::NotFound("project"))?;
        let role = self
            .caller_project_role(caller, tenant, &id)
            .await?
            .ok_or(ServiceError::NotFound("project"))?;
        Ok((project, role))
    }

    /// Like [`Self::visible_project`], and the caller must administer the project.
    async fn administered_project(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        id: &str,
    ) -> Result<Project, ServiceError> {
        let (project, role) = self.visible_project(caller, tenant, id).await?;
        if !role.manages_members() {
            return Err(ServiceError::Forbidden(
                "only project administrators and tenant administrators may do this",
            ));
        }
        Ok(project)
    }

    pub async fn create_project(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        title: &str,
        description: Option<&str>,
    ) -> Result<ProjectWithRole, ServiceError> {
        caller.require(&tenant.id, permissions::TENANT_READ)?;
        if !caller.account.platform_admin
            && project_role_cap(&caller.role.name) < ProjectRole::Member
        {
            return Err(ServiceError::Forbidden(
                "your role in this tenant cannot create projects",
            ));
        }
        let title =
            ProjectTitle::parse(title).map_err(|e| ServiceError::Validation(e.to_string()))?;
        let description = project::checked_description(description.unwrap_or_default())
            .map_err(|e| ServiceError::Validation(e.to_string()))?;
        let now = self.clock.now();
        let project = Project {
            id: ProjectId::generate(),
            tenant_id: tenant.id.clone(),
            title: title.as_str().to_owned(),
            description,
            owner_id: Some(caller.account.id.clone()),
            created_at: now,
        };
        let event = self.project_event(
            caller,
            tenant,
            actions::PROJECT_CREATE,
            &project.id,
            json!({"title": project.title}),
        );
        let project = self.store.create_project(&project, now, &event).await?;
        let role = self
            .caller_project_role(caller, tenant, &project.id)
            .await?;
        Ok(ProjectWithRole { project, role })
    }

    /// A page of the projects the caller can see, by id.
    pub async fn list_projects(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        page: PageRequest,
    ) -> Result<Page<ProjectWithRole>, ServiceError> {
        caller.require(&tenant.id, permissions::TENANT_READ)?;
        let sees_all = caller.may(&tenant.id, permissions::USERS_READ);
        let visible_to = (!sees_all).then_some(&caller.account.id);
        let projects = self
            .store
            .list_projects(&tenant.id, visible_to, &page)
            .await?;
        // The caller's roles in all of them: one read, not one per project.
        let administers_all =
            caller.account.platform_admin || caller.may(&tenant.id, permissions::USERS_WRITE);
        let roles = if administers_all || caller.tenant.id != tenant.id {
            Vec::new()
        } else {
            let access = self
                .store
                .account_projects(&tenant.id, &caller.account.id)
                .await?;
            reduce_access(&caller.role.name, access)
        };
        let items = projects
            .items
            .into_iter()
            .map(|project| {
                let role = if administers_all {
                    Some(ProjectRole::Admin)
                } else {
                    roles
                        .iter()
                        .find(|(p, _)| p.id == project.id)
                        .map(|(_, role)| *role)
                };
                ProjectWithRole { project, role }
            })
            .collect();
        Ok(Page {
            items,
            next: projects.next,
        })
    }

    pub async fn project(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        id: &str,
    ) -> Result<ProjectWithRole, ServiceError> {
        let (project, role) = self.visible_project(caller, tenant, id).await?;
        Ok(ProjectWithRole {
            project,
            role: Some(role),
        })
    }

    pub async fn delete_project(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        id: &str,
    ) -> Result<(), ServiceError> {
        let project = self.administered_project(caller, tenant, id).await?;
        let event = self.project_event(
            caller,
            tenant,
            actions::PROJECT_DELETE,
            &project.id,
            json!({"title": project.title}),
        );
        self.store
            .delete_project(&tenant.id, &project.id, &event)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => ServiceError::NotFound("project"),
                other => other.into(),
            })
    }

    /// The project's members with their derived permissions (anyone who can see it).
    pub async fn project_members(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        id: &str,
    ) -> Result<Vec<ProjectMemberDetails>, ServiceError> {
        let (project, _) = self.visible_project(caller, tenant, id).await?;
        Ok(self
            .store
            .project_members(&tenant.id, &project.id)
            .await?
            .into_iter()
            .map(member_details)
            .collect())
    }

    async fn project_member(
        &self,
        tenant: &Tenant,
        project: &ProjectId,
        member_id: &str,
    ) -> Result<ProjectMemberDetails, ServiceError> {
        self.store
            .project_members(&tenant.id, project)
            .await?
            .into_iter()
            .find(|m| m.member.member_id() == member_id)
            .map(member_details)
            .ok_or(ServiceError::NotFound("project member"))
    }

    pub async fn add_project_member(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        id: &str,
        member: NewProjectMember<'_>,
    ) -> Result<ProjectMemberDetails, ServiceError> {
        let role = parse_role(member.role)?;
        let reference = match (member.user_id, member.group_id) {
            (Some(user), None) => {
                if !latchkey_core::id::is_id_shaped(user) {
                    return Err(ServiceError::NotFound("user"));
                }
                ProjectMemberRef::User(AccountId::from_string(user.to_owned()))
            }
            (None, Some(group)) => {
                if !latchkey_core::id::is_id_shaped(group) {
                    return Err(ServiceError::NotFound("group"));
                }
                ProjectMemberRef::Group(GroupId::from_string(group.to_owned()))
            }
            _ => {
                return Err(ServiceError::Validation(
                    "give exactly one of user_id and group_id".into(),
                ));
            }
        };
        let project = self.administered_project(caller, tenant, id).await?;
        let member_id = match &reference {
            ProjectMemberRef::User(a) => a.to_string(),
            ProjectMemberRef::Group(g) => g.to_string(),
        };
        let event = self.project_event(
            caller,
            tenant,
            actions::PROJECT_MEMBERS,
            &project.id,
            json!({"added": member_id, "role": role.as_str()}),
        );
        self.store
            .add_project_member(
                &tenant.id,
                &project.id,
                &reference,
                role,
                self.clock.now(),
                &event,
            )
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => {
                    ServiceError::Conflict("this is a member of the project already")
                }
                StoreError::NotFound => ServiceError::NotFound(match reference {
                    ProjectMemberRef::User(_) => "user",
                    ProjectMemberRef::Group(_) => "group",
                }),
                other => other.into(),
            })?;
        self.project_member(tenant, &project.id, &member_id).await
    }

    pub async fn set_project_member_role(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        id: &str,
        member_id: &str,
        role: &str,
    ) -> Result<ProjectMemberDetails, ServiceError> {
        let role = parse_role(role)?;
        let project = self.administered_project(caller, tenant, id).await?;
        if !latchkey_core::id::is_id_shaped(member_id) {
            return Err(ServiceError::NotFound("project member"));
        }
        let event = self.project_event(
            caller,
            tenant,
            actions::PROJECT_MEMBERS,
            &project.id,
            json!({"changed": member_id, "role": role.as_str()}),
        );
        self.store
            .set_project_member_role(&tenant.id, &project.id, member_id, role, &event)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => ServiceError::NotFound("project member"),
                other => other.into(),
            })?;
        self.project_member(tenant, &project.id, member_id).await
    }

    pub async fn remove_project_member(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        id: &str,
        member_id: &str,
    ) -> Result<(), ServiceError> {
        let project = self.administered_project(caller, tenant, id).await?;
        if !latchkey_core::id::is_id_shaped(member_id) {
            return Err(ServiceError::NotFound("project member"));
        }
        let event = self.project_event(
            caller,
            tenant,
            actions::PROJECT_MEMBERS,
            &project.id,
            json!({"removed": member_id}),
        );
        self.store
            .remove_project_member(&tenant.id, &project.id, member_id, &event)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => ServiceError::NotFound("project member"),
                other => other.into(),
            })
    }

    /// The projects a member of the tenant can access, with its effective role in each
    /// (for `include_projects`). The account itself, or readers of the tenant's accounts.
    pub async fn user_projects(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        user_id: &str,
    ) -> Result<Vec<(Project, ProjectRole)>, ServiceError> {
        if !caller.is_self_in(&tenant.id, user_id) {
            caller.require(&tenant.id, permissions::USERS_READ)?;
        }
        let member = self.find_member(tenant, user_id).await?;
        self.projects_of_member(tenant, &member.account.id, &member.role)
            .await
    }

    /// The projects an account with the membership role `role` can access in the
    /// tenant, with its effective role in each: every project as `admin` for a tenant
    /// administrator, otherwise those it holds a role in, directly or through a group.
    pub(super) async fn projects_of_member(
        &self,
        tenant: &Tenant,
        account: &AccountId,
        role: &latchkey_core::RoleName,
    ) -> Result<Vec<(Project, ProjectRole)>, ServiceError> {
        if role.is_admin() {
            // A tenant administrator administers every project of the tenant.
            let mut all = Vec::new();
            let mut page = PageRequest::new(Some(latchkey_core::page::MAX_PAGE_SIZE), None);
            loop {
                let projects = self.store.list_projects(&tenant.id, None, &page).await?;
                all.extend(projects.items.into_iter().map(|p| (p, ProjectRole::Admin)));
                match projects.next {
                    Some(next) => page.after = Some(next),
                    None => break,
                }
            }
            return Ok(all);
        }
        let access = self.store.account_projects(&tenant.id, account).await?;
        Ok(reduce_access(role, access))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use latchkey_core::RoleName;
    use time::OffsetDateTime;

    fn project(n: u8) -> Project {
        Project {
            id: ProjectId::from_string(format!("{n:0>22}")),
            tenant_id: latchkey_core::TenantId::from_string("t".repeat(22)),
            title: format!("P{n}"),
            description: String::new(),
            owner_id: None,
            created_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    fn access(n: u8, role: ProjectRole, via: bool) -> ProjectAccess {
        ProjectAccess {
            project: project(n),
            role,
            via_group: via.then(|| GroupId::from_string("g".repeat(22))),
        }
    }

    #[test]
    fn access_rows_reduce_to_the_highest_role_per_project_capped_by_the_tenant_role() {
        let rows = vec![
            access(1, ProjectRole::Reader, false),
            access(1, ProjectRole::Admin, true),
            access(2, ProjectRole::Member, true),
        ];
        let user = RoleName::user();
        let reduced = reduce_access(&user, rows.clone());
        assert_eq!(
            reduced
                .iter()
                .map(|(p, r)| (p.title.as_str(), *r))
                .collect::<Vec<_>>(),
            [("P1", ProjectRole::Admin), ("P2", ProjectRole::Member)]
        );
        let demo = RoleName::parse("demo").unwrap();
        let reduced = reduce_access(&demo, rows);
        assert!(reduced.iter().all(|(_, r)| *r == ProjectRole::Reader));
    }
}
