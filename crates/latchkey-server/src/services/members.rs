//! Member queries and bulk operations that front doors speaking other dialects need
//! beyond `accounts.rs`: offset paging over the keyset store (Keycloak's `first`/`max`),
//! per-field matching, creating an account disabled, and ending all of a member's
//! sessions. Every operation goes through the permission checks of `accounts.rs`.

use latchkey_core::role::permissions;
use latchkey_core::{PageRequest, Tenant, page::MAX_PAGE_SIZE};
use latchkey_store::{MemberFilter, MemberRecord};

use super::{AccountUpdate, Caller, CreateAccount, ServiceError, Services};

/// Offset paging walks the keyset-ordered list from its start, so it only reaches this
/// many matching members: `first` must be below it, and `first + max` is clipped to it.
pub const OFFSET_WALK_LIMIT: usize = 10_000;

/// How a text is matched (always case-insensitively).
#[derive(Clone, Debug)]
pub struct TextMatch {
    pub text: String,
    /// Equal rather than contained.
    pub exact: bool,
}

impl TextMatch {
    fn matches(&self, value: &str) -> bool {
        let value = value.to_lowercase();
        let text = self.text.to_lowercase();
        if self.exact {
            value == text
        } else {
            value.contains(&text)
        }
    }
}

/// Which members a query selects; every given condition must hold.
#[derive(Clone, Debug, Default)]
pub struct MemberQuery {
    /// The email or the username (contained, or equal when `exact`).
    pub search: Option<TextMatch>,
    /// The account's login name as Keycloak-style clients see it: its username, or its
    /// email for accounts without one.
    pub login_name: Option<TextMatch>,
    pub email: Option<TextMatch>,
    pub enabled: Option<bool>,
}

/// The name an account signs in with when it has no username: its email.
pub fn login_name(record: &MemberRecord) -> &str {
    record
        .account
        .username
        .as_ref()
        .map_or_else(|| record.account.email.as_str(), |u| u.as_str())
}

impl MemberQuery {
    /// The store filter selecting a superset of the matches (the store knows "email or
    /// username contains" and "email or username equals").
    fn store_filter(&self) -> MemberFilter {
        let mut filter = MemberFilter::default();
        let texts = [&self.search, &self.login_name, &self.email];
        // Prefer an exact condition: it narrows the most.
        if let Some(m) = texts.iter().filter_map(|t| t.as_ref()).find(|m| m.exact) {
            filter.login = Some(m.text.clone());
        } else if let Some(m) = texts.iter().find_map(|t| t.as_ref()) {
            filter.search = Some(m.text.clone());
        }
        filter
    }

    /// Whether the store filter alone is exact (nothing to check row by row).
    fn store_filter_is_exact(&self) -> bool {
        self.login_name.is_none() && self.email.is_none() && self.enabled.is_none()
    }

    fn matches(&self, record: &MemberRecord) -> bool {
        let account = &record.account;
        let username = account.username.as_ref().map(|u| u.as_str());
        self.search.as_ref().is_none_or(|m| {
            m.matches(account.email.as_str()) || username.is_some_and(|u| m.matches(u))
        }) && self
            .login_name
            .as_ref()
            .is_none_or(|m| m.matches(login_name(record)))
            && self
                .email
                .as_ref()
                .is_none_or(|m| m.matches(account.email.as_str()))
            && self.enabled.is_none_or(|e| e != account.disabled)
    }
}

impl Services {
    /// Members matching `query`, ordered by email, skipping `first` and returning at
    /// most `max`. `first` at or beyond [`OFFSET_WALK_LIMIT`] is refused.
    pub async fn members_by_offset(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        query: &MemberQuery,
        first: usize,
        max: usize,
    ) -> Result<Vec<MemberRecord>, ServiceError> {
        caller.require(&tenant.id, permissions::USERS_READ)?;
        if first >= OFFSET_WALK_LIMIT {
            return Err(ServiceError::Validation(format!(
                "offset paging reaches only the first {OFFSET_WALK_LIMIT} matching users; \
                 narrow the query with search, username or email"
            )));
        }
        let end = first.saturating_add(max).min(OFFSET_WALK_LIMIT);
        let filter = query.store_filter();
        let mut seen = 0usize;
        let mut out = Vec::new();
        let mut after = None;
        while seen < end {
            let page = self
                .list_members(
                    caller,
                    tenant,
                    filter.clone(),
                    PageRequest::new(Some(MAX_PAGE_SIZE), after),
                )
                .await?;
            for record in page.items {
                if !query.matches(&record) {
                    continue;
                }
                if seen >= first && seen < end {
                    out.push(record);
                }
                seen += 1;
            }
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        Ok(out)
    }

    /// How many members match `query`.
    pub async fn count_matching_members(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        query: &MemberQuery,
    ) -> Result<i64, ServiceError> {
        caller.require(&tenant.id, permissions::USERS_READ)?;
        let filter = query.store_filter();
        if query.store_filter_is_exact() {
            return Ok(self.store.count_members(&tenant.id, &filter).await?);
        }
        let mut count = 0i64;
        let mut after = None;
        loop {
            let page = self
                .list_members(
                    caller,
                    tenant,
                    filter.clone(),
                    PageRequest::new(Some(MAX_PAGE_SIZE), after),
                )
                .await?;
            count += page.items.iter().filter(|r| query.matches(r)).count() as i64;
            match page.next {
                Some(next) => after = Some(next),
                None => return Ok(count),
            }
        }
    }

    /// Creates a member, disabled straight after creation when `enabled` is false (two
    /// steps: the account exists enabled for the instant between them).
    pub async fn create_member_enabled(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        request: CreateAccount,
        enabled: bool,
    ) -> Result<MemberRecord, ServiceError> {
        let record = self.create_member(caller, tenant, request).await?;
        if enabled {
            return Ok(record);
        }
        let id = record.account.id.to_string();
        self.update_member(
            caller,
            tenant,
            &id,
            AccountUpdate {
                disabled: Some(true),
                ..AccountUpdate::default()
            },
        )
        .await
    }

    /// Ends every active session of a member in `tenant`; returns how many ended.
    pub async fn end_member_sessions(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        id: &str,
    ) -> Result<usize, ServiceError> {
        // The same rules as ending them one by one: administrators, or the account itself
        // (checked up front, so that a user without sessions is no way around them).
        if !caller.is_self_in(&tenant.id, id) {
            caller.require(&tenant.id, permissions::SESSIONS_WRITE)?;
        }
        let sessions = self.member_sessions(caller, tenant, id).await?;
        let mut ended = 0;
        for session in sessions {
            match self
                .revoke_member_session(caller, tenant, id, session.id.as_str())
                .await
            {
                Ok(()) => ended += 1,
                // Ended meanwhile (expired, or revoked by someone else).
                Err(ServiceError::NotFound("session")) => {}
                Err(other) => return Err(other),
            }
        }
        Ok(ended)
    }
}
