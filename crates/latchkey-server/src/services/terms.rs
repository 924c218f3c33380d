//! Terms of use: tenant administrators publish versions, members read where they stand
//! and accept. Whether a member is pending is computed by `latchkey_core::terms`.

use latchkey_core::audit::actions;
use latchkey_core::role::permissions;
use latchkey_core::terms::{self, TermsAcceptance, TermsState, TermsVersion};
use latchkey_core::{AccountId, AuditOutcome, TenantId};
use serde_json::json;
use time::OffsetDateTime;

use super::{Caller, ServiceError, Services};

/// A version to publish, as an administrator asked for it.
pub struct TermsPublication {
    /// `None`: one more than the newest version.
    pub version: Option<i64>,
    pub public_url: String,
    pub enforce_date: OffsetDateTime,
}

impl Services {
    /// Publishes a version of the tenant's terms (tenant administrators).
    pub async fn publish_terms(
        &self,
        caller: &Caller,
        domain: &str,
        publication: TermsPublication,
    ) -> Result<TermsVersion, ServiceError> {
        let tenant = self.tenant_by_domain(domain).await?;
        caller.require(&tenant.id, permissions::TENANT_WRITE)?;
        let public_url = terms::parse_public_url(&publication.public_url)
            .map_err(|m| ServiceError::Validation(m.into()))?;
        let version = match publication.version {
            Some(v) if v < 1 => {
                return Err(ServiceError::Validation(
                    "version must be at least 1".into(),
                ));
            }
            Some(v) => v,
            // The store refuses the number if another publication took it meanwhile.
            None => self
                .store
                .terms_versions(&tenant.id)
                .await?
                .first()
                .map_or(1, |newest| newest.version.saturating_add(1)),
        };
        let published = TermsVersion {
            tenant_id: tenant.id.clone(),
            version,
            public_url,
            enforce_date: publication.enforce_date,
            created_at: self.clock.now(),
        };
        let event = self.audit_event(
            Some(&tenant.id),
            Some(&caller.account.id),
            actions::TERMS_PUBLISH,
            Some(version.to_string()),
            AuditOutcome::Success,
            json!({"public_url": published.public_url, "enforce_date": published.enforce_date.unix_timestamp()}),
        );
        self.store
            .publish_terms(&published, &event)
            .await
            .map_err(|error| match error {
                latchkey_store::StoreError::Conflict(_) => ServiceError::Conflict(
                    "the tenant already has this version or a later one; versions only grow",
                ),
                other => other.into(),
            })
    }

    /// The tenant's versions, newest first (its members, or platform administrators).
    pub async fn list_terms(
        &self,
        caller: &Caller,
        domain: &str,
    ) -> Result<Vec<TermsVersion>, ServiceError> {
        let tenant = self.tenant_by_domain(domain).await?;
        caller.require(&tenant.id, permissions::TENANT_READ)?;
        Ok(self.store.terms_versions(&tenant.id).await?)
    }

    /// Where the caller stands with the terms of its token's tenant.
    pub async fn own_terms(&self, caller: &Caller) -> Result<TermsState, ServiceError> {
        caller.require(&caller.tenant.id, permissions::PROFILE_READ)?;
        self.terms_state(&caller.tenant.id, &caller.account.id)
            .await
    }

    /// The caller accepts `version` of its tenant's terms; accepting again changes
    /// nothing. Every role may accept (also `demo`, which may not edit its profile):
    /// a pending member must be able to get out of that state.
    pub async fn accept_terms(
        &self,
        caller: &Caller,
        version: i64,
    ) -> Result<TermsState, ServiceError> {
        caller.require(&caller.tenant.id, permissions::PROFILE_READ)?;
        let acceptance = TermsAcceptance {
            tenant_id: caller.tenant.id.clone(),
            account_id: caller.account.id.clone(),
            version,
            accepted_at: self.clock.now(),
        };
        let event = self.audit_event(
            Some(&caller.tenant.id),
            Some(&caller.account.id),
            actions::TERMS_ACCEPT,
            Some(version.to_string()),
            AuditOutcome::Success,
            json!({"session": caller.session_id}),
        );
        self.store
            .accept_terms(&acceptance, &event)
            .await
            .map_err(|error| match error {
                latchkey_store::StoreError::NotFound => {
                    ServiceError::NotFound("terms of use version")
                }
                other => other.into(),
            })?;
        self.terms_state(&caller.tenant.id, &caller.account.id)
            .await
    }

    /// Where an account stands with a tenant's terms, now.
    pub async fn terms_state(
        &self,
        tenant: &TenantId,
        account: &AccountId,
    ) -> Result<TermsState, ServiceError> {
        let versions = self.store.terms_versions(tenant).await?;
        // Most tenants publish no terms: skip the second read then.
        let accepted = if versions.is_empty() {
            Vec::new()
        } else {
            self.store.accepted_terms(tenant, account).await?
        };
        Ok(terms::evaluate(&versions, &accepted, self.clock.now()))
    }
}
