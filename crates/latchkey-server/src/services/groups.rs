//! Groups of a tenant: its administrators (`users.write`) create and change them and
//! choose the roles they grant; readers of the tenant's accounts (`users.read`) see them.
//! A group's granted roles take part in its members' effective permissions (see
//! `Services::with_granted` and `docs/permissions.md`).

use std::collections::HashMap;

use latchkey_core::audit::actions;
use latchkey_core::role::permissions;
use latchkey_core::{
    AccountId, AuditOutcome, Group, GroupId, GroupName, Page, PageRequest, ProjectId, ProjectRole,
    RoleName, Tenant,
};
use latchkey_store::{GroupUpdate, MemberRecord, ProjectAccess, StoreError};
use serde_json::json;

use super::{Caller, ServiceError, Services};

/// The most members a group can be given in one request.
pub const MAX_GROUP_MEMBERS_PER_REQUEST: usize = 1000;

/// The most projects a group's project set can name in one request.
pub const MAX_GROUP_PROJECTS_PER_REQUEST: usize = 1000;

/// The role a group gets in the projects it joins through an update that names none
/// (Squirro's `update_group(projects=…)` never does).
pub const DEFAULT_GROUP_PROJECT_ROLE: &str = "member";

/// A group with what is shown beside it.
#[derive(Clone, Debug)]
pub struct GroupDetails {
    pub group: Group,
    pub members: Vec<MemberRecord>,
    pub roles: Vec<RoleName>,
    /// Only when asked for.
    pub projects: Option<Vec<ProjectAccess>>,
}

pub(super) fn account_ids(ids: &[String]) -> Result<Vec<AccountId>, ServiceError> {
    if ids.len() > MAX_GROUP_MEMBERS_PER_REQUEST {
        return Err(ServiceError::Validation(format!(
            "at most {MAX_GROUP_MEMBERS_PER_REQUEST} members per request"
        )));
    }
    let mut accounts: Vec<AccountId> = Vec::with_capacity(ids.len());
    for id in ids {
        if !latchkey_core::id::is_id_shaped(id) {
            return Err(ServiceError::NotFound("user"));
        }
        let id = AccountId::from_string(id.clone());
        if !accounts.contains(&id) {
            accounts.push(id);
        }
    }
    Ok(accounts)
}

/// The distinct project ids of a request (at most [`MAX_GROUP_PROJECTS_PER_REQUEST`]); a
/// malformed id is an unknown project.
fn project_ids(ids: &[String]) -> Result<Vec<ProjectId>, ServiceError> {
    if ids.len() > MAX_GROUP_PROJECTS_PER_REQUEST {
        return Err(ServiceError::Validation(format!(
            "at most {MAX_GROUP_PROJECTS_PER_REQUEST} projects per request"
        )));
    }
    let mut out: Vec<ProjectId> = Vec::with_capacity(ids.len());
    for id in ids {
        if !latchkey_core::id::is_id_shaped(id) {
            return Err(ServiceError::NotFound("project"));
        }
        let id = ProjectId::from_string(id.clone());
        if !out.contains(&id) {
            out.push(id);
        }
    }
    Ok(out)
}

fn group_name(raw: &str) -> Result<GroupName, ServiceError> {
    GroupName::parse(raw).map_err(|e| ServiceError::Validation(e.to_string()))
}

/// Maps the store's answers about a group write: `NotFound` names the group or a user
/// (a member that is no member of the tenant), `Conflict` the name.
fn group_write(error: StoreError, not_found: &'static str) -> ServiceError {
    match error {
        StoreError::NotFound => ServiceError::NotFound(not_found),
        StoreError::Conflict(_) => {
            ServiceError::Conflict("the tenant already has a group with this name")
        }
        other => other.into(),
    }
}

impl Services {
    fn group_event(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        action: &'static str,
        group: &GroupId,
        detail: serde_json::Value,
    ) -> latchkey_core::AuditEvent {
        self.audit_event(
            Some(&tenant.id),
            Some(&caller.account.id),
            action,
            Some(group.to_string()),
            AuditOutcome::Success,
            detail,
        )
    }

    /// The group `id` of `tenant`, or `NotFound` (also for another tenant's group).
    pub async fn find_group(&self, tenant: &Tenant, id: &str) -> Result<Group, ServiceError> {
        if !latchkey_core::id::is_id_shaped(id) {
            return Err(ServiceError::NotFound("group"));
        }
        self.store
            .group(&tenant.id, &GroupId::from_string(id.to_owned()))
            .await?
            .ok_or(ServiceError::NotFound("group"))
    }

    async fn group_details(
        &self,
        tenant: &Tenant,
        group: Group,
        include_projects: bool,
    ) -> Result<GroupDetails, ServiceError> {
        let members = self.store.group_members(&tenant.id, &group.id).await?;
        let roles = self.store.group_roles(&tenant.id, &group.id).await?;
        let projects = if include_projects {
            Some(self.store.group_projects(&tenant.id, &group.id).await?)
        } else {
            None
        };
        Ok(GroupDetails {
            group,
            members,
            roles,
            projects,
        })
    }

    pub async fn create_group(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        name: &str,
        members: &[String],
    ) -> Result<GroupDetails, ServiceError> {
        caller.require(&tenant.id, permissions::USERS_WRITE)?;
        let name = group_name(name)?;
        let members = account_ids(members)?;
        let group = Group {
            id: GroupId::generate(),
            tenant_id: tenant.id.clone(),
            name,
            created_at: self.clock.now(),
        };
        let event = self.group_event(
            caller,
            tenant,
            actions::GROUP_CREATE,
            &group.id,
            json!({"name": group.name.as_str(), "members": members.len()}),
        );
        let group = self
            .store
            .create_group(&group, &members, &event)
            .await
            .map_err(|e| group_write(e, "user"))?;
        self.group_details(tenant, group, false).await
    }

    /// A page of the tenant's groups by name, each with its members and roles: three
    /// reads for the whole page, not two per group (an empty page issues no statement
    /// for its members and roles).
    pub async fn list_groups(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        page: PageRequest,
    ) -> Result<Page<GroupDetails>, ServiceError> {
        caller.require(&tenant.id, permissions::USERS_READ)?;
        let groups = self.store.list_groups(&tenant.id, &page).await?;
        let ids: Vec<GroupId> = groups.items.iter().map(|g| g.id.clone()).collect();
        let mut members: HashMap<GroupId, Vec<MemberRecord>> = HashMap::new();
        for (group, member) in self.store.members_of_groups(&tenant.id, &ids).await? {
            members.entry(group).or_default().push(member);
        }
        let mut roles: HashMap<GroupId, Vec<RoleName>> = HashMap::new();
        for (group, role) in self.store.roles_of_groups(&tenant.id, &ids).await? {
            roles.entry(group).or_default().push(role);
        }
        let items = groups
            .items
            .into_iter()
            .map(|group| GroupDetails {
                members: members.remove(&group.id).unwrap_or_default(),
                roles: roles.remove(&group.id).unwrap_or_default(),
                projects: None,
                group,
            })
            .collect();
        Ok(Page {
            items,
            next: groups.next,
        })
    }

    pub async fn group(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        id: &str,
        include_projects: bool,
    ) -> Result<GroupDetails, ServiceError> {
        caller.require(&tenant.id, permissions::USERS_READ)?;
        let group = self.find_group(tenant, id).await?;
        self.group_details(tenant, group, include_projects).await
    }

    /// Renames a group, replaces its members and/or the projects it is in (new ones
    /// with `projects.1`, [`DEFAULT_GROUP_PROJECT_ROLE`] when none is named; those it
    /// is in already keep their role), all in one
    /// transaction: an unknown user or project changes nothing (`users.write`).
    pub async fn update_group(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        id: &str,
        name: Option<&str>,
        members: Option<&[String]>,
        projects: Option<(&[String], Option<&str>)>,
    ) -> Result<GroupDetails, ServiceError> {
        caller.require(&tenant.id, permissions::USERS_WRITE)?;
        let group = self.find_group(tenant, id).await?;
        let name = name
            .map(group_name)
            .transpose()?
            .filter(|n| *n != group.name);
        let members = members.map(account_ids).transpose()?;
        let projects = match projects {
            Some((ids, role)) => {
                let role = ProjectRole::parse(role.unwrap_or(DEFAULT_GROUP_PROJECT_ROLE))
                    .map_err(|e| ServiceError::Validation(e.to_string()))?;
                Some((project_ids(ids)?, role))
            }
            None => None,
        };
        let mut events = Vec::new();
        if let Some(name) = &name {
            events.push(self.group_event(
                caller,
                tenant,
                actions::GROUP_UPDATE,
                &group.id,
                json!({"name": name.as_str()}),
            ));
        }
        if let Some(members) = &members {
            events.push(self.group_event(
                caller,
                tenant,
                actions::GROUP_MEMBERS,
                &group.id,
                json!({"set": members.len()}),
            ));
        }
        if let Some((ids, role)) = &projects {
            events.push(self.group_event(
                caller,
                tenant,
                actions::GROUP_UPDATE,
                &group.id,
                json!({
                    "projects": ids.iter().map(ProjectId::as_str).collect::<Vec<_>>(),
                    "project_role": role.as_str(),
                }),
            ));
        }
        let with_projects = projects.is_some();
        if events.is_empty() {
            return self.group_details(tenant, group, with_projects).await;
        }
        // The group was found above, so a `NotFound` names one of the ids given.
        let not_found = match (&members, &projects) {
            (Some(_), Some(_)) => "user or project",
            (None, Some(_)) => "project",
            _ => "user",
        };
        let update = GroupUpdate {
            name,
            members,
            projects,
        };
        let group = self
            .store
            .update_group(&tenant.id, &group.id, &update, self.clock.now(), &events)
            .await
            .map_err(|e| group_write(e, not_found))?;
        self.group_details(tenant, group, with_projects).await
    }

    pub async fn delete_group(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        id: &str,
    ) -> Result<(), ServiceError> {
        caller.require(&tenant.id, permissions::USERS_WRITE)?;
        let group = self.find_group(tenant, id).await?;
        let event = self.group_event(
            caller,
            tenant,
            actions::GROUP_DELETE,
            &group.id,
            json!({"name": group.name.as_str()}),
        );
        self.store
            .delete_group(&tenant.id, &group.id, &event)
            .await
            .map_err(|e| group_write(e, "group"))
    }

    /// Adds a member of the tenant to the group and returns it.
    pub async fn add_group_member(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        id: &str,
        user_id: &str,
    ) -> Result<MemberRecord, ServiceError> {
        caller.require(&tenant.id, permissions::USERS_WRITE)?;
        let group = self.find_group(tenant, id).await?;
        let member = self.find_member(tenant, user_id).await?;
        let event = self.group_event(
            caller,
            tenant,
            actions::GROUP_MEMBERS,
            &group.id,
            json!({"added": member.account.id}),
        );
        self.store
            .add_group_member(
                &tenant.id,
                &group.id,
                &member.account.id,
                self.clock.now(),
                &event,
            )
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => {
                    ServiceError::Conflict("the account is a member of the group already")
                }
                other => group_write(other, "user"),
            })?;
        Ok(member)
    }

    pub async fn remove_group_member(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        id: &str,
        user_id: &str,
    ) -> Result<(), ServiceError> {
        caller.require(&tenant.id, permissions::USERS_WRITE)?;
        let group = self.find_group(tenant, id).await?;
        if !latchkey_core::id::is_id_shaped(user_id) {
            return Err(ServiceError::NotFound("group member"));
        }
        let account = AccountId::from_string(user_id.to_owned());
        let event = self.group_event(
            caller,
            tenant,
            actions::GROUP_MEMBERS,
            &group.id,
            json!({"removed": account}),
        );
        self.store
            .remove_group_member(&tenant.id, &group.id, &account, &event)
            .await
            .map_err(|e| group_write(e, "group member"))
    }

    /// Replaces the roles the group grants its members. Granting is managing accounts'
    /// permissions, so it needs `users.write`; only a role the caller holds itself may be
    /// granted, so nobody gives more than they have.
    pub async fn set_group_roles(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        id: &str,
        roles: &[String],
    ) -> Result<GroupDetails, ServiceError> {
        caller.require(&tenant.id, permissions::USERS_WRITE)?;
        let group = self.find_group(tenant, id).await?;
        let mut names: Vec<RoleName> = Vec::with_capacity(roles.len());
        for raw in roles {
            let name =
                RoleName::parse(raw).map_err(|e| ServiceError::Validation(format!("role: {e}")))?;
            let role = self.role_in(&tenant.id, &name).await?.ok_or_else(|| {
                ServiceError::Validation(format!("role `{name}` does not exist in this tenant"))
            })?;
            if !caller.account.platform_admin
                && !role.permissions.iter().all(|p| caller.role.grants(p))
            {
                return Err(ServiceError::Forbidden(
                    "a group may only grant roles whose permissions you hold yourself",
                ));
            }
            if !names.contains(&name) {
                names.push(name);
            }
        }
        let event = self.group_event(
            caller,
            tenant,
            actions::GROUP_ROLES,
            &group.id,
            json!({"roles": names.iter().map(RoleName::as_str).collect::<Vec<_>>()}),
        );
        self.store
            .set_group_roles(&tenant.id, &group.id, &names, &event)
            .await
            .map_err(|e| group_write(e, "group"))?;
        self.group_details(tenant, group, false).await
    }

    /// The groups of the tenant an account is in, by name (the account itself, or
    /// `users.read`); for front doors that show a user's groups.
    pub async fn user_groups(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        user_id: &str,
    ) -> Result<Vec<Group>, ServiceError> {
        if !caller.is_self_in(&tenant.id, user_id) {
            caller.require(&tenant.id, permissions::USERS_READ)?;
        }
        let member = self.find_member(tenant, user_id).await?;
        Ok(self.store.groups_of(&tenant.id, &member.account.id).await?)
    }

    /// The projects the group is a member of, with its role in each.
    pub async fn group_projects(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        id: &str,
    ) -> Result<Vec<ProjectAccess>, ServiceError> {
        caller.require(&tenant.id, permissions::USERS_READ)?;
        let group = self.find_group(tenant, id).await?;
        Ok(self.store.group_projects(&tenant.id, &group.id).await?)
    }

    /// The groups of the tenant each of `accounts` is in, by name, for a page of users
    /// (one read for the whole page); accounts in no group are absent. Needs
    /// `users.read`, like reading the users themselves.
    pub async fn groups_of_members(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        accounts: &[AccountId],
    ) -> Result<HashMap<AccountId, Vec<Group>>, ServiceError> {
        caller.require(&tenant.id, permissions::USERS_READ)?;
        let mut groups: HashMap<AccountId, Vec<Group>> = HashMap::new();
        for (account, group) in self.store.group_memberships(&tenant.id, accounts).await? {
            groups.entry(account).or_default().push(group);
        }
        Ok(groups)
    }
}
