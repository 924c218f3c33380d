//! Tenants (platform administrators), their signing keys and their audit log.

use std::sync::Arc;

use latchkey_core::audit::actions;
use latchkey_core::role::permissions;
use latchkey_core::token::SigningAlgorithm;
use latchkey_core::{
    AuditEvent, AuditOutcome, NewTenant, Page, PageRequest, PasswordPolicy, Tenant, TenantDomain,
    TenantId, TenantMetadata, TenantPatch,
};
use serde_json::json;

use super::{Caller, ServiceError, Services};
use crate::keys::LoadedKey;

/// A tenant as an administrator describes it.
pub struct TenantSpec {
    pub domain: String,
    pub title: String,
    pub metadata: Option<TenantMetadata>,
    pub password_policy: Option<PasswordPolicy>,
}

fn parse_title(title: &str) -> Result<String, ServiceError> {
    latchkey_core::tenant::validate_title(title).map_err(|m| ServiceError::Validation(m.into()))
}

fn check_policy(policy: &PasswordPolicy) -> Result<(), ServiceError> {
    policy
        .validate()
        .map_err(|e| ServiceError::Validation(format!("password_policy: {e}")))
}

impl Services {
    pub async fn list_tenants(
        &self,
        caller: &Caller,
        page: PageRequest,
    ) -> Result<Page<Tenant>, ServiceError> {
        caller.require_platform_admin()?;
        Ok(self.store.list_tenants(&page).await?)
    }

    pub async fn create_tenant(
        &self,
        caller: &Caller,
        spec: TenantSpec,
    ) -> Result<Tenant, ServiceError> {
        caller.require_platform_admin()?;
        let domain = TenantDomain::parse(&spec.domain)
            .map_err(|e| ServiceError::Validation(format!("domain: {e}")))?;
        let title = parse_title(&spec.title)?;
        let password_policy = spec.password_policy.unwrap_or_default();
        check_policy(&password_policy)?;
        let id = TenantId::generate();
        let event = self.audit_event(
            Some(&id),
            Some(&caller.account.id),
            actions::TENANT_CREATE,
            Some(domain.to_string()),
            AuditOutcome::Success,
            json!({"title": title}),
        );
        self.create_tenant_unchecked(
            &id,
            NewTenant {
                domain,
                title,
                metadata: spec.metadata.unwrap_or_default(),
                password_policy,
            },
            &event,
        )
        .await
    }

    /// Creates a tenant without an authorisation check (bootstrap, signup).
    pub async fn create_tenant_unchecked(
        &self,
        id: &TenantId,
        tenant: NewTenant,
        event: &AuditEvent,
    ) -> Result<Tenant, ServiceError> {
        Ok(self
            .store
            .create_tenant(id, &tenant, self.clock.now(), event)
            .await?)
    }

    /// A tenant seen by its members or a platform administrator.
    pub async fn tenant_for(&self, caller: &Caller, domain: &str) -> Result<Tenant, ServiceError> {
        let tenant = self.tenant_by_domain(domain).await?;
        caller.require(&tenant.id, permissions::TENANT_READ)?;
        Ok(tenant)
    }

    pub async fn update_tenant(
        &self,
        caller: &Caller,
        domain: &str,
        title: Option<String>,
        metadata: Option<TenantMetadata>,
        password_policy: Option<PasswordPolicy>,
        require_mfa: Option<bool>,
    ) -> Result<Tenant, ServiceError> {
        let tenant = self.tenant_by_domain(domain).await?;
        caller.require(&tenant.id, permissions::TENANT_WRITE)?;
        let title = title.as_deref().map(parse_title).transpose()?;
        if let Some(policy) = &password_policy {
            check_policy(policy)?;
        }
        if require_mfa == Some(true) && !tenant.require_mfa {
            // Whoever switches the requirement on must be able to sign in under it.
            let own = self.store.account_mfa(&caller.account.id).await?;
            if !own.is_some_and(|mfa| mfa.is_active()) {
                return Err(ServiceError::Validation(
                    "enrol multi-factor authentication for your own account before requiring it"
                        .into(),
                ));
            }
        }
        let event = self.audit_event(
            Some(&tenant.id),
            Some(&caller.account.id),
            actions::TENANT_UPDATE,
            Some(tenant.domain.to_string()),
            AuditOutcome::Success,
            json!({"title": title, "metadata": metadata.is_some(), "password_policy": password_policy, "require_mfa": require_mfa}),
        );
        let patch = TenantPatch {
            title,
            metadata,
            password_policy,
            require_mfa,
        };
        let updated = self.store.update_tenant(&tenant.id, &patch, &event).await?;
        self.forget_tenant(&tenant.id);
        Ok(updated)
    }

    pub async fn delete_tenant(&self, caller: &Caller, domain: &str) -> Result<(), ServiceError> {
        caller.require_platform_admin()?;
        let tenant = self.tenant_by_domain(domain).await?;
        if tenant.id == caller.tenant.id {
            return Err(ServiceError::Validation(
                "you cannot delete the tenant you are signed in to".into(),
            ));
        }
        let event = self.audit_event(
            Some(&tenant.id),
            Some(&caller.account.id),
            actions::TENANT_DELETE,
            Some(tenant.domain.to_string()),
            AuditOutcome::Success,
            json!({}),
        );
        self.store.delete_tenant(&tenant.id, &event).await?;
        self.forget_tenant(&tenant.id);
        self.keys.forget(&tenant.id);
        Ok(())
    }

    pub async fn rotate_keys(
        &self,
        caller: &Caller,
        domain: &str,
        algorithm: Option<&str>,
    ) -> Result<Arc<LoadedKey>, ServiceError> {
        let tenant = self.tenant_by_domain(domain).await?;
        caller.require(&tenant.id, permissions::TENANT_WRITE)?;
        let algorithm = algorithm
            .map(|name| {
                SigningAlgorithm::parse(name).ok_or_else(|| {
                    ServiceError::Validation(format!(
                        "`algorithm` must be `RS256` or `ES256`, not `{name}`"
                    ))
                })
            })
            .transpose()?;
        let event = self.audit_event(
            Some(&tenant.id),
            Some(&caller.account.id),
            actions::KEY_ROTATE,
            Some(tenant.domain.to_string()),
            AuditOutcome::Success,
            json!({ "algorithm": algorithm.map(SigningAlgorithm::as_str) }),
        );
        Ok(self.keys.rotate(&tenant.id, algorithm, &event).await?)
    }

    /// The keys that verify the tenant's tokens (public information).
    pub async fn published_keys(
        &self,
        tenant: &TenantId,
    ) -> Result<Vec<Arc<LoadedKey>>, ServiceError> {
        Ok(self.keys.published(tenant).await?)
    }

    pub async fn audit_log(
        &self,
        caller: &Caller,
        domain: &str,
        page: PageRequest,
    ) -> Result<Page<AuditEvent>, ServiceError> {
        let tenant = self.tenant_by_domain(domain).await?;
        caller.require(&tenant.id, permissions::AUDIT_READ)?;
        Ok(self.store.list_audit(&tenant.id, &page).await?)
    }
}
