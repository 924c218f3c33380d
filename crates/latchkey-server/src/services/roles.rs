//! A tenant's roles: the built-in ones (fixed) and custom ones its administrators define,
//! e.g. to grant permissions inside an external application (`{client_id}:{slug}`).

use latchkey_core::audit::actions;
use latchkey_core::role::{self, permissions};
use latchkey_core::{AuditOutcome, Role, RoleName, Tenant, TenantId};
use latchkey_store::StoreError;
use serde_json::json;

use super::accounts::parse_role;
use super::{Caller, ServiceError, Services};

impl Services {
    /// The tenant's roles, built-in and custom, ordered by name (needs `tenant.read`).
    pub async fn list_roles(
        &self,
        caller: &Caller,
        tenant: &Tenant,
    ) -> Result<Vec<Role>, ServiceError> {
        caller.require(&tenant.id, permissions::TENANT_READ)?;
        Ok(self.store.list_roles(&tenant.id).await?)
    }

    /// Creates the custom role `name` or replaces its permissions (needs
    /// `tenant.write`); true when it was created. Built-in roles cannot change.
    pub async fn put_role(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        name: &str,
        requested: &[String],
    ) -> Result<(Role, bool), ServiceError> {
        caller.require(&tenant.id, permissions::TENANT_WRITE)?;
        let name = parse_role(name)?;
        if role::is_builtin_role_name(name.as_str()) {
            return Err(builtin_refused());
        }
        let permissions = role::validate_permissions(requested)
            .map_err(|e| ServiceError::Validation(format!("permissions: {e}")))?;
        let role = Role {
            name,
            permissions,
            builtin: false,
        };
        let event = self.audit_event(
            Some(&tenant.id),
            Some(&caller.account.id),
            actions::ROLE_PUT,
            Some(role.name.to_string()),
            AuditOutcome::Success,
            json!({"permissions": role.permissions}),
        );
        let created = self
            .store
            .put_role(&tenant.id, &role, &event)
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => builtin_refused(),
                other => other.into(),
            })?;
        self.forget_role(&tenant.id, &role.name);
        Ok((role, created))
    }

    /// Removes a custom role (needs `tenant.write`); refused while a member holds it.
    pub async fn delete_role(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        name: &str,
    ) -> Result<(), ServiceError> {
        caller.require(&tenant.id, permissions::TENANT_WRITE)?;
        let name = RoleName::parse(name).map_err(|_| ServiceError::NotFound("role"))?;
        if role::is_builtin_role_name(name.as_str()) {
            return Err(builtin_refused());
        }
        let event = self.audit_event(
            Some(&tenant.id),
            Some(&caller.account.id),
            actions::ROLE_DELETE,
            Some(name.to_string()),
            AuditOutcome::Success,
            json!({}),
        );
        self.store
            .delete_role(&tenant.id, &name, &event)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => ServiceError::NotFound("role"),
                StoreError::Conflict(_) => ServiceError::Conflict(
                    "members (or pruned members that can be restored) still hold this role; give them another role first",
                ),
                other => other.into(),
            })?;
        self.forget_role(&tenant.id, &name);
        Ok(())
    }
}

fn builtin_refused() -> ServiceError {
    ServiceError::Conflict(
        "built-in roles (admin, user, reader, demo) cannot be changed or removed",
    )
}

impl Services {
    /// Drops this node's cached copy of a role it has just changed (other nodes see the
    /// change within `HOT_ROW_TTL`).
    fn forget_role(&self, tenant: &TenantId, name: &RoleName) {
        self.hot.forget_role(tenant, name);
    }
}
