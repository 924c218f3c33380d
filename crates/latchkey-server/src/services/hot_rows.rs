//! Tenants and roles, read on nearly every request, served from a short-lived cache
//! (see `crate::cache` for what that may delay across nodes).

use std::time::Duration;

use latchkey_core::{Role, RoleName, Tenant, TenantId};

use super::{ServiceError, Services};
use crate::cache::TtlCache;

/// How long another node's change to a tenant (title, metadata, password policy) or to
/// a role's permissions may take to show here.
pub const HOT_ROW_TTL: Duration = Duration::from_secs(5);
const CAPACITY: usize = 10_000;

pub struct HotRows {
    tenants_by_id: TtlCache<TenantId, Tenant>,
    tenants_by_domain: TtlCache<String, Tenant>,
    roles: TtlCache<(TenantId, RoleName), Role>,
}

impl Default for HotRows {
    fn default() -> Self {
        Self {
            tenants_by_id: TtlCache::new(HOT_ROW_TTL, CAPACITY),
            tenants_by_domain: TtlCache::new(HOT_ROW_TTL, CAPACITY),
            roles: TtlCache::new(HOT_ROW_TTL, CAPACITY),
        }
    }
}

impl HotRows {
    /// Drops the cached copy of one role.
    pub(super) fn forget_role(&self, tenant: &TenantId, name: &RoleName) {
        self.roles.retain(|(t, n), _| !(t == tenant && n == name));
    }

    fn remember_tenant(&self, tenant: &Tenant) {
        self.tenants_by_id.insert(tenant.id.clone(), tenant.clone());
        self.tenants_by_domain
            .insert(tenant.domain.to_string(), tenant.clone());
    }
}

impl Services {
    /// The tenant named by `domain`, or `NotFound`.
    pub async fn tenant_by_domain(&self, domain: &str) -> Result<Tenant, ServiceError> {
        if let Some(tenant) = self.hot.tenants_by_domain.get(&domain.to_owned()) {
            return Ok(tenant);
        }
        let tenant = self
            .store
            .tenant_by_domain(domain)
            .await?
            .ok_or(ServiceError::NotFound("tenant"))?;
        self.hot.remember_tenant(&tenant);
        Ok(tenant)
    }

    /// The tenant with `id`, if it exists.
    pub async fn tenant_by_id(&self, id: &TenantId) -> Result<Option<Tenant>, ServiceError> {
        if let Some(tenant) = self.hot.tenants_by_id.get(id) {
            return Ok(Some(tenant));
        }
        let tenant = self.store.tenant_by_id(id).await?;
        if let Some(tenant) = &tenant {
            self.hot.remember_tenant(tenant);
        }
        Ok(tenant)
    }

    /// The role `name` of `tenant`, if it exists.
    pub async fn role_in(
        &self,
        tenant: &TenantId,
        name: &RoleName,
    ) -> Result<Option<Role>, ServiceError> {
        let key = (tenant.clone(), name.clone());
        if let Some(role) = self.hot.roles.get(&key) {
            return Ok(Some(role));
        }
        let role = self.store.role(tenant, name).await?;
        if let Some(role) = &role {
            self.hot.roles.insert(key, role.clone());
        }
        Ok(role)
    }

    /// Drops this node's cached copies of a tenant it has just changed or deleted.
    pub(super) fn forget_tenant(&self, id: &TenantId) {
        self.hot.tenants_by_id.retain(|key, _| key != id);
        self.hot
            .tenants_by_domain
            .retain(|_, tenant| tenant.id != *id);
        self.hot.roles.retain(|(tenant, _), _| tenant != id);
    }
}
