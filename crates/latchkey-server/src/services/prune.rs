//! Dormant-account clean-up: list (dry run), prune in batches, restore within the
//! retention period. The tombstone design is in `docs/prune.md`.

use std::collections::HashSet;

use latchkey_core::audit::actions;
use latchkey_core::role::permissions;
use latchkey_core::{AccountId, AuditOutcome, InactiveSince, Page, PageRequest, Tenant};
use latchkey_store::{MemberFilter, MemberRecord, PruneBatch};
use serde_json::json;

use super::{Caller, ServiceError, Services};

/// Members per batch (and per dry-run page) unless the request says otherwise; also the
/// most allowed, the store's bound on one transaction.
pub const PRUNE_BATCH: u32 = latchkey_store::MAX_PRUNE_BATCH;
/// The most accounts one restore request names.
pub const MAX_RESTORE_IDS: usize = 1000;

/// Which members a prune removes.
#[derive(Clone, Copy, Debug)]
pub struct PruneCriteria {
    pub inactive_since: InactiveSince,
    pub include_admins: bool,
}

impl PruneCriteria {
    /// The store filter for `caller`: never the caller, never platform administrators,
    /// tenant administrators only when asked, and accounts shared with other tenants only
    /// for a platform administrator (the authority rule of removing a member by hand).
    fn filter(&self, caller: &Caller) -> MemberFilter {
        MemberFilter::dormant(
            self.inactive_since.instant(),
            &caller.account.id,
            self.include_admins,
            caller.account.platform_admin,
        )
    }
}

fn batch_size(limit: Option<u32>) -> Result<u32, ServiceError> {
    match limit {
        None => Ok(PRUNE_BATCH),
        Some(n) if (1..=PRUNE_BATCH).contains(&n) => Ok(n),
        Some(_) => Err(ServiceError::Validation(format!(
            "limit must be between 1 and {PRUNE_BATCH}"
        ))),
    }
}

impl Services {
    /// One page (keyset by email) of the members a prune with `criteria` would remove,
    /// and on the first page how many there are in all.
    pub async fn dormant_members(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        criteria: &PruneCriteria,
        limit: Option<u32>,
        after: Option<String>,
    ) -> Result<(Page<MemberRecord>, Option<i64>), ServiceError> {
        caller.require(&tenant.id, permissions::USERS_WRITE)?;
        let filter = criteria.filter(caller);
        let total = match after {
            None => Some(self.store.count_members(&tenant.id, &filter).await?),
            Some(_) => None,
        };
        // Pages of a batch's size: larger than the member list's, so that listing a
        // large prune takes as many round trips as running it.
        let page = PageRequest {
            limit: batch_size(limit)?,
            after: after.filter(|a| !a.is_empty()),
        };
        let members = self.store.list_members(&tenant.id, &filter, &page).await?;
        Ok((members, total))
    }

    /// Prunes the next batch of dormant members after the email key `after`: one store
    /// transaction, one audit event per account. The caller loops while a batch comes
    /// back full; a new run (no `after`) selects again from the start, so an
    /// interrupted run is continued by running it again.
    pub async fn prune_members(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        criteria: &PruneCriteria,
        limit: Option<u32>,
        after: Option<&str>,
    ) -> Result<(PruneBatch, bool), ServiceError> {
        caller.require(&tenant.id, permissions::USERS_WRITE)?;
        let limit = batch_size(limit)?;
        let template = self.audit_event(
            Some(&tenant.id),
            Some(&caller.account.id),
            actions::ACCOUNT_PRUNE,
            None,
            AuditOutcome::Success,
            json!({
                "inactive_since": criteria.inactive_since.instant().unix_timestamp(),
                "include_admins": criteria.include_admins,
            }),
        );
        let batch = self
            .store
            .prune_members(
                &tenant.id,
                &criteria.filter(caller),
                after,
                limit,
                &caller.account.id,
                self.clock.now(),
                &template,
            )
            .await?;
        let remaining = batch.pruned == u64::from(limit);
        Ok((batch, remaining))
    }

    /// Brings pruned members of `tenant` back (all or none) while their tombstones are
    /// within the retention period.
    pub async fn restore_members(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        ids: &[String],
    ) -> Result<u64, ServiceError> {
        caller.require(&tenant.id, permissions::USERS_WRITE)?;
        if ids.is_empty() || ids.len() > MAX_RESTORE_IDS {
            return Err(ServiceError::Validation(format!(
                "ids must name between 1 and {MAX_RESTORE_IDS} accounts"
            )));
        }
        let mut seen = HashSet::new();
        let mut accounts = Vec::with_capacity(ids.len());
        for id in ids {
            if !latchkey_core::id::is_id_shaped(id) {
                return Err(ServiceError::NotFound("pruned user"));
            }
            if seen.insert(id.as_str()) {
                accounts.push(AccountId::from_string(id.clone()));
            }
        }
        let template = self.audit_event(
            Some(&tenant.id),
            Some(&caller.account.id),
            actions::ACCOUNT_RESTORE,
            None,
            AuditOutcome::Success,
            json!({}),
        );
        let now = self.clock.now();
        self.store
            .restore_pruned(&tenant.id, &accounts, now - self.prune_retention, &template)
            .await
            .map_err(|error| match error {
                latchkey_store::StoreError::NotFound => ServiceError::NotFound("pruned user"),
                other => other.into(),
            })
    }
}
