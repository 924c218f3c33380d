//! The one implementation of [`Store`](crate::Store), shared by both backends.
//!
//! The SQL is written once, in the dialect SQLite and PostgreSQL share: `$1, $2…`
//! placeholders (SQLite treats `$N` as a named parameter; sqlx binds it by its number, and
//! every statement introduces its parameters in numeric order anyway), `ON CONFLICT`,
//! `RETURNING`, `LIKE … ESCAPE '\'`. sqlx's executors are concrete per database, so
//! [`impl_store!`] expands the implementation for each backend instead of making it
//! generic over `sqlx::Database` (whose bounds do not propagate and would swamp the code).
//!
//! The backends differ only in what the macro is given:
//! - `$for_update`: appended to the `SELECT` of a read-modify-write. PostgreSQL runs
//!   transactions concurrently, so the row is locked (`FOR UPDATE`) until commit. SQLite
//!   needs nothing: every writing transaction goes through a one-connection pool, so
//!   writers never interleave.
//! - the store's `write_lane()` (SQLite: a savepoint in a group-committed batch, see
//!   `group_commit`; PostgreSQL: a transaction of its own) and its `reader()` pool.

pub(crate) mod groups;
pub(crate) mod mfa_enrolment;
pub(crate) mod prune;
pub(crate) mod rows;

/// Rows per multi-row `INSERT` of a bulk import. An account row binds 10 parameters, a
/// membership row 4: 1,000 rows stay far below SQLite's limit of 32,766 bound
/// parameters (PostgreSQL's is 65,535), and every full chunk is the same statement text,
/// so the prepared statement is reused.
pub(crate) const IMPORT_ROWS_PER_STATEMENT: usize = 1000;

/// Keys looked up per `IN (…)` when locating an import's conflict.
pub(crate) const CONFLICT_LOOKUP_CHUNK: usize = 500;

/// What a bulk import stores beside the account's own fields, computed once per account.
pub(crate) struct ImportRow {
    pub email_key: String,
    pub username_key: Option<String>,
    pub custom_data: String,
}

pub(crate) fn import_rows(
    accounts: &[latchkey_core::NewImportedAccount],
) -> crate::StoreResult<Vec<ImportRow>> {
    accounts
        .iter()
        .map(|imported| {
            Ok(ImportRow {
                email_key: imported.account.email.normalized(),
                username_key: imported.account.username.as_ref().map(|u| u.normalized()),
                custom_data: rows::to_json(&imported.account.custom_data)?,
            })
        })
        .collect()
}

/// The first account of a batch that repeats an earlier one's email or username.
pub(crate) fn repeated_in_batch(rows: &[ImportRow]) -> Option<crate::StoreError> {
    use crate::ConflictOn;
    use std::collections::HashMap;
    let mut emails: HashMap<&str, usize> = HashMap::with_capacity(rows.len());
    let mut usernames: HashMap<&str, usize> = HashMap::new();
    rows.iter().enumerate().find_map(|(index, row)| {
        if let Some(earlier) = emails.insert(row.email_key.as_str(), index) {
            return Some(crate::StoreError::ImportConflict {
                index,
                on: ConflictOn::Email,
                repeats: Some(earlier),
            });
        }
        let earlier = usernames.insert(row.username_key.as_deref()?, index)?;
        Some(crate::StoreError::ImportConflict {
            index,
            on: ConflictOn::Username,
            repeats: Some(earlier),
        })
    })
}

/// The first position in `rows` whose key (`email_key` or `username_key`, per `on`) is
/// among `taken`.
pub(crate) fn first_taken(
    rows: &[ImportRow],
    taken: &std::collections::HashSet<String>,
    on: crate::ConflictOn,
) -> Option<(usize, crate::ConflictOn)> {
    rows.iter()
        .position(|row| match on {
            crate::ConflictOn::Username => row
                .username_key
                .as_ref()
                .is_some_and(|key| taken.contains(key)),
            _ => taken.contains(&row.email_key),
        })
        .map(|index| (index, on))
}

/// Implements [`Store`](crate::Store) for `$store`, a struct with
/// `async fn write_lane(&self)` (whose lane has `begin()` and `durable()`) and
/// `fn reader(&self) -> &sqlx::Pool<$db>`.
/// The tenant-member filters shared by listing, counting and pruning, binding `$1`
/// tenant, `$2` email prefix pattern, `$3` role, `$4` inactive-since millis, `$5` search
/// pattern, `$6` exact login, `$7` an account to leave out, `$8` TRUE to leave out
/// platform administrators, `$9` a role to leave out and `$10` TRUE to leave out accounts
/// that belong to other tenants too. A filter left out binds NULL and its condition is
/// true for every row. Bind them with [`bind_member_filter!`].
macro_rules! member_filter {
    () => {
        "FROM memberships m JOIN accounts a ON a.id = m.account_id \
         WHERE m.tenant_id = $1 \
         AND ($2 IS NULL OR m.email_key LIKE $2 ESCAPE '\\') \
         AND ($3 IS NULL OR m.role = $3) \
         AND ($4 IS NULL OR a.last_login_at < $4 \
              OR (a.last_login_at IS NULL AND a.created_at < $4)) \
         AND ($5 IS NULL OR a.email_key LIKE $5 ESCAPE '\\' OR a.username_key LIKE $5 ESCAPE '\\') \
         AND ($6 IS NULL OR a.email_key = $6 OR a.username_key = $6) \
         AND ($7 IS NULL OR a.id <> $7) \
         AND ($8 IS NULL OR a.platform_admin = FALSE) \
         AND ($9 IS NULL OR m.role <> $9) \
         AND ($10 IS NULL OR NOT EXISTS (SELECT 1 FROM memberships o \
              WHERE o.account_id = m.account_id AND o.tenant_id <> m.tenant_id))"
    };
}

/// Binds `$1`-`$10` of [`member_filter!`] to `$query`.
macro_rules! bind_member_filter {
    ($query:expr, $tenant:expr, $filter:expr) => {{
        let filter: &$crate::MemberFilter = $filter;
        $query
            .bind($tenant.as_str())
            .bind(
                filter
                    .email_prefix
                    .as_ref()
                    .map(|p| rows::like_prefix(&p.to_lowercase())),
            )
            .bind(filter.role.as_ref().map(RoleName::as_str))
            .bind(filter.inactive_since.map(millis))
            .bind(
                filter
                    .search
                    .as_ref()
                    .map(|t| rows::like_substring(&t.to_lowercase())),
            )
            .bind(filter.login.as_ref().map(|l| l.to_lowercase()))
            .bind(filter.exclude_account.as_ref().map(AccountId::as_str))
            .bind(filter.exclude_platform_admins.then_some(true))
            .bind(filter.exclude_role.as_ref().map(RoleName::as_str))
            .bind(filter.exclude_shared.then_some(true))
    }};
}

macro_rules! impl_store {
    ($store:ty, $db:ty, backend = $backend:literal, for_update = $for_update:literal) => {
        // An anonymous const scopes these imports to the expansion.
        const _: () = {
            use $crate::sql::rows::{self, Columns as _, millis, stored, to_json};
            use $crate::{
                AccountCredentials, AccountMfa, AuthorizationCode, MemberFilter, Redemption, MemberRecord, MembershipRemoval, PurgeCutoffs,
                PurgeReport, RotationOutcome, SignInRecord, Store, StoreError, StoreResult,
                StoredSigningKey,
            };
            use sqlx::Row as _;
            use latchkey_core::{
                Account, AccountId, AccountPatch, AuditEvent, AuditEventId, AuditOutcome,
                LockoutPolicy, LoginThrottle, Membership, NewAccount, NewTenant, Page,
                PageRequest, Role, RoleName, Session, SessionId, Tenant, TenantId, TenantPatch,
                TermsAcceptance, TermsVersion, ThrottleDecision,
            };
            use time::OffsetDateTime;

            type Conn = <$db as sqlx::Database>::Connection;

            impl $store {
                /// Inserts a tenant with its built-in roles and client (inside a write).
                async fn insert_tenant(
                    conn: &mut Conn,
                    id: &TenantId,
                    tenant: &NewTenant,
                    now: OffsetDateTime,
                ) -> StoreResult<Tenant> {
                    sqlx::query(
                        "INSERT INTO tenants \
                         (id, domain, title, metadata, password_policy, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(id.as_str())
                    .bind(tenant.domain.as_str())
                    .bind(tenant.title.as_str())
                    .bind(to_json(&tenant.metadata)?)
                    .bind(to_json(&tenant.password_policy)?)
                    .bind(millis(now))
                    .execute(&mut *conn)
                    .await?;
                    for role in latchkey_core::role::builtin_roles() {
                        sqlx::query(
                            "INSERT INTO roles (tenant_id, name, permissions, builtin) \
                             VALUES ($1, $2, $3, $4)",
                        )
                        .bind(id.as_str())
                        .bind(role.name.as_str())
                        .bind(to_json(&role.permissions)?)
                        .bind(role.builtin)
                        .execute(&mut *conn)
                        .await?;
                    }
                    Self::insert_application(
                        &mut *conn,
                        &latchkey_core::Application::admin_cli(id.clone(), stored(now)),
                    )
                    .await?;
                    Ok(Tenant {
                        id: id.clone(),
                        domain: tenant.domain.clone(),
                        title: tenant.title.clone(),
                        metadata: tenant.metadata.clone(),
                        password_policy: tenant.password_policy.clone(),
                        require_mfa: false,
                        created_at: stored(now),
                    })
                }

                /// Inserts an account (inside a write).
                async fn insert_account(
                    conn: &mut Conn,
                    id: &AccountId,
                    account: &NewAccount,
                    now: OffsetDateTime,
                ) -> StoreResult<Account> {
                    sqlx::query(
                        "INSERT INTO accounts (id, email, email_key, username, username_key, \
                         display_name, custom_data, platform_admin, disabled, password_hash, \
                         created_at, last_login_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL)",
                    )
                    .bind(id.as_str())
                    .bind(account.email.as_str())
                    .bind(account.email.normalized())
                    .bind(account.username.as_ref().map(|u| u.as_str()))
                    .bind(account.username.as_ref().map(|u| u.normalized()))
                    .bind(account.display_name.as_deref())
                    .bind(to_json(&account.custom_data)?)
                    .bind(account.platform_admin)
                    .bind(false)
                    .bind(account.password_hash.as_deref())
                    .bind(millis(now))
                    .execute(&mut *conn)
                    .await?;
                    Ok(Account {
                        id: id.clone(),
                        email: account.email.clone(),
                        username: account.username.clone(),
                        display_name: account.display_name.clone(),
                        custom_data: account.custom_data.clone(),
                        platform_admin: account.platform_admin,
                        disabled: false,
                        created_at: stored(now),
                        last_login_at: None,
                    })
                }

                async fn insert_application(
                    conn: &mut Conn,
                    application: &latchkey_core::Application,
                ) -> StoreResult<()> {
                    let grants: Vec<&str> =
                        application.grant_types.iter().map(|g| g.as_str()).collect();
                    sqlx::query(
                        "INSERT INTO applications (tenant_id, client_id, public, secret_hash, \
                         grant_types, redirect_uris, roles, access_token_lifetime, builtin, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    )
                    .bind(application.tenant_id.as_str())
                    .bind(application.client_id.as_str())
                    .bind(application.public)
                    .bind(application.secret_hash.as_deref())
                    .bind(to_json(&grants)?)
                    .bind(to_json(&application.redirect_uris)?)
                    .bind(to_json(&application.roles)?)
                    .bind(application.access_token_lifetime)
                    .bind(application.builtin)
                    .bind(millis(application.created_at))
                    .execute(conn)
                    .await?;
                    Ok(())
                }

                /// The frame of an audited write: `work` runs in a transaction of the write
                /// lane, the audit event is written and committed with it, and the answer
                /// waits until the commit is durable. When `work` fails nothing is
                /// committed: the transaction is dropped (rolled back), then the lane.
                /// For writes whose every path either fails or commits with `audit`;
                /// one that can succeed without writing keeps its own frame.
                async fn write_audited<T>(
                    &self,
                    audit: &AuditEvent,
                    work: impl AsyncFnOnce(&mut Conn) -> StoreResult<T>,
                ) -> StoreResult<T> {
                    let mut lane = self.write_lane().await?;
                    let mut tx = lane.begin().await?;
                    let value = work(&mut tx).await?;
                    Self::commit_audited(tx, audit).await?;
                    lane.durable().await?;
                    Ok(value)
                }

                /// Writes the audit event of a change and commits the change with it: the
                /// two are never separated.
                async fn commit_audited(
                    mut tx: sqlx::Transaction<'_, $db>,
                    event: &AuditEvent,
                ) -> StoreResult<()> {
                    Self::insert_audit(&mut tx, event).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn insert_audit(conn: &mut Conn, event: &AuditEvent) -> StoreResult<()> {
                    sqlx::query(
                        "INSERT INTO audit_events \
                         (id, tenant_id, actor, action, target, outcome, detail, at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(event.id.as_str())
                    .bind(event.tenant_id.as_ref().map(TenantId::as_str))
                    .bind(event.actor.as_ref().map(AccountId::as_str))
                    .bind(event.action.as_str())
                    .bind(event.target.as_deref())
                    .bind(event.outcome.as_str())
                    .bind(to_json(&event.detail)?)
                    .bind(millis(event.at))
                    .execute(conn)
                    .await?;
                    Ok(())
                }

                /// NotFound unless `role` is one of the tenant's roles (which also means the
                /// tenant exists).
                async fn require_role(
                    conn: &mut Conn,
                    tenant: &TenantId,
                    role: &RoleName,
                ) -> StoreResult<()> {
                    sqlx::query("SELECT name FROM roles WHERE tenant_id = $1 AND name = $2")
                        .bind(tenant.as_str())
                        .bind(role.as_str())
                        .fetch_optional(conn)
                        .await?
                        .map(|_| ())
                        .ok_or(StoreError::NotFound)
                }

                /// Inserts `session` as it is (open, touch and expiry times, client).
                async fn insert_session(conn: &mut Conn, session: &Session) -> StoreResult<()> {
                    sqlx::query(
                        "INSERT INTO sessions (id, account_id, tenant_id, created_at, \
                         last_seen_at, expires_at, revoked_at, user_agent, ip_address, client_id) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    )
                    .bind(session.id.as_str())
                    .bind(session.account_id.as_str())
                    .bind(session.tenant_id.as_str())
                    .bind(millis(session.created_at))
                    .bind(millis(session.last_seen_at))
                    .bind(millis(session.expires_at))
                    .bind(session.revoked_at.map(millis))
                    .bind(session.user_agent.as_deref())
                    .bind(session.ip_address.as_deref())
                    .bind(&session.client_id)
                    .execute(&mut *conn)
                    .await?;
                    Ok(())
                }

                async fn insert_refresh_token(
                    conn: &mut Conn,
                    hash: &str,
                    session: &SessionId,
                    now: OffsetDateTime,
                    expires_at: OffsetDateTime,
                ) -> StoreResult<()> {
                    sqlx::query(
                        "INSERT INTO refresh_tokens \
                         (token_hash, session_id, created_at, expires_at, rotated_at) \
                         VALUES ($1, $2, $3, $4, NULL)",
                    )
                    .bind(hash)
                    .bind(session.as_str())
                    .bind(millis(now))
                    .bind(millis(expires_at))
                    .execute(conn)
                    .await?;
                    Ok(())
                }

                /// After an import's `INSERT` broke a uniqueness rule (the transaction is
                /// rolled back): which account of the batch clashes with a stored one. Only
                /// on this failure path, so a successful import pays no extra lookups.
                async fn locate_import_conflict(
                    &self,
                    rows: &[$crate::sql::ImportRow],
                    on: $crate::ConflictOn,
                ) -> StoreError {
                    let mut first: Option<(usize, $crate::ConflictOn)> = None;
                    for (column, kind) in [
                        ("email_key", $crate::ConflictOn::Email),
                        ("username_key", $crate::ConflictOn::Username),
                    ] {
                        let keys: Vec<&str> = rows
                            .iter()
                            .filter_map(|row| match kind {
                                $crate::ConflictOn::Username => row.username_key.as_deref(),
                                _ => Some(row.email_key.as_str()),
                            })
                            .collect();
                        let mut taken = std::collections::HashSet::new();
                        for chunk in keys.chunks($crate::sql::CONFLICT_LOOKUP_CHUNK) {
                            let mut lookup = sqlx::QueryBuilder::<$db>::new(format!(
                                "SELECT {column} AS taken FROM accounts WHERE {column} IN ("
                            ));
                            let mut list = lookup.separated(", ");
                            for key in chunk {
                                list.push_bind(*key);
                            }
                            lookup.push(")");
                            let found = match lookup.build().fetch_all(self.reader()).await {
                                Ok(found) => found,
                                Err(error) => return StoreError::from(error),
                            };
                            for row in &found {
                                match row.text("taken") {
                                    Ok(key) => taken.insert(key),
                                    Err(error) => return error,
                                };
                            }
                        }
                        if let Some(hit) = $crate::sql::first_taken(rows, &taken, kind) {
                            if first.is_none_or(|(index, _)| hit.0 < index) {
                                first = Some(hit);
                            }
                        }
                    }
                    match first {
                        Some((index, on)) => StoreError::ImportConflict {
                            index,
                            on,
                            repeats: None,
                        },
                        // Gone since (a concurrent delete): report the rule that broke.
                        None => StoreError::Conflict(on),
                    }
                }

                async fn touch_session(
                    conn: &mut Conn,
                    mut session: Session,
                    now: OffsetDateTime,
                ) -> StoreResult<Session> {
                    sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2")
                        .bind(millis(now))
                        .bind(session.id.as_str())
                        .execute(conn)
                        .await?;
                    session.last_seen_at = stored(now);
                    Ok(session)
                }
            }

            #[async_trait::async_trait]
            impl Store for $store {
                async fn ping(&self) -> StoreResult<()> {
                    sqlx::query("SELECT 1").execute(self.reader()).await?;
                    Ok(())
                }

                fn backend(&self) -> &'static str {
                    $backend
                }

                // ---- tenants -------------------------------------------------------

                async fn create_tenant(
                    &self,
                    id: &TenantId,
                    tenant: &NewTenant,
                    now: OffsetDateTime,
                    audit: &AuditEvent,
                ) -> StoreResult<Tenant> {
                    self.write_audited(audit, async |conn| {
                        Self::insert_tenant(conn, id, tenant, now).await
                    })
                    .await
                }

                async fn create_owned_tenant(
                    &self,
                    id: &TenantId,
                    tenant: &NewTenant,
                    owner: crate::TenantOwner<'_>,
                    now: OffsetDateTime,
                    audit: &AuditEvent,
                ) -> StoreResult<Tenant> {
                    self.write_audited(audit, async |conn| {
                        let created = Self::insert_tenant(conn, id, tenant, now).await?;
                        let owner_id = match owner {
                            crate::TenantOwner::Existing(account) => {
                                sqlx::query("SELECT id FROM accounts WHERE id = $1")
                                    .bind(account.as_str())
                                    .fetch_optional(&mut *conn)
                                    .await?
                                    .ok_or(StoreError::NotFound)?;
                                account
                            }
                            crate::TenantOwner::New(account_id, account) => {
                                Self::insert_account(conn, account_id, account, now).await?;
                                account_id
                            }
                        };
                        sqlx::query(
                            "INSERT INTO memberships (tenant_id, account_id, role, created_at, email_key) \
                             VALUES ($1, $2, $3, $4, (SELECT email_key FROM accounts WHERE id = $2))",
                        )
                        .bind(id.as_str())
                        .bind(owner_id.as_str())
                        .bind(RoleName::ADMIN)
                        .bind(millis(now))
                        .execute(&mut *conn)
                        .await?;
                        Ok(created)
                    })
                    .await
                }

                async fn tenant_by_domain(&self, domain: &str) -> StoreResult<Option<Tenant>> {
                    sqlx::query("SELECT * FROM tenants WHERE domain = $1")
                        .bind(domain)
                        .fetch_optional(self.reader())
                        .await?
                        .map(|row| rows::tenant(&row))
                        .transpose()
                }

                async fn tenant_by_id(&self, id: &TenantId) -> StoreResult<Option<Tenant>> {
                    sqlx::query("SELECT * FROM tenants WHERE id = $1")
                        .bind(id.as_str())
                        .fetch_optional(self.reader())
                        .await?
                        .map(|row| rows::tenant(&row))
                        .transpose()
                }

                async fn list_tenants(&self, page: &PageRequest) -> StoreResult<Page<Tenant>> {
                    let tenants = sqlx::query(
                        "SELECT * FROM tenants WHERE ($1 IS NULL OR domain > $1) \
                         ORDER BY domain LIMIT $2",
                    )
                    .bind(page.after.as_deref())
                    .bind(page.fetch_limit())
                    .fetch_all(self.reader())
                    .await?
                    .iter()
                    .map(rows::tenant)
                    .collect::<StoreResult<Vec<_>>>()?;
                    Ok(Page::from_overfetch(tenants, page, |t| {
                        t.domain.as_str().to_owned()
                    }))
                }

                async fn update_tenant(
                    &self,
                    id: &TenantId,
                    patch: &TenantPatch,
                    audit: &AuditEvent,
                ) -> StoreResult<Tenant> {
                    self.write_audited(audit, async |conn| {
                        let row = sqlx::query(concat!(
                            "SELECT * FROM tenants WHERE id = $1",
                            $for_update
                        ))
                        .bind(id.as_str())
                        .fetch_optional(&mut *conn)
                        .await?
                        .ok_or(StoreError::NotFound)?;
                        let tenant = rows::apply_tenant_patch(rows::tenant(&row)?, patch);
                        sqlx::query(
                            "UPDATE tenants SET title = $1, metadata = $2, password_policy = $3, \
                             require_mfa = $4 WHERE id = $5",
                        )
                        .bind(tenant.title.as_str())
                        .bind(to_json(&tenant.metadata)?)
                        .bind(to_json(&tenant.password_policy)?)
                        .bind(tenant.require_mfa)
                        .bind(id.as_str())
                        .execute(&mut *conn)
                        .await?;
                        Ok(tenant)
                    })
                    .await
                }

                async fn delete_tenant(&self, id: &TenantId, audit: &AuditEvent) -> StoreResult<()> {
                    self.write_audited(audit, async |conn| {
                        // Accounts that belong to this tenant alone would be left unreachable,
                        // their emails taken for ever: they go with it (platform admins stay).
                        sqlx::query(
                            "DELETE FROM accounts WHERE platform_admin = FALSE \
                             AND id IN (SELECT account_id FROM memberships WHERE tenant_id = $1) \
                             AND id NOT IN (SELECT account_id FROM memberships WHERE tenant_id <> $1)",
                        )
                        .bind(id.as_str())
                        .execute(&mut *conn)
                        .await?;
                        // Roles, memberships, sessions (and their tokens) and keys cascade.
                        let deleted = sqlx::query("DELETE FROM tenants WHERE id = $1")
                            .bind(id.as_str())
                            .execute(&mut *conn)
                            .await?;
                        if deleted.rows_affected() == 0 {
                            return Err(StoreError::NotFound);
                        }
                        Ok(())
                    })
                    .await
                }

                // ---- applications --------------------------------------------------

                async fn create_application(
                    &self,
                    application: &latchkey_core::Application,
                    audit: &AuditEvent,
                ) -> StoreResult<()> {
                    self.write_audited(audit, async |conn| {
                        let tenant_exists = sqlx::query("SELECT 1 FROM tenants WHERE id = $1")
                            .bind(application.tenant_id.as_str())
                            .fetch_optional(&mut *conn)
                            .await?
                            .is_some();
                        if !tenant_exists {
                            return Err(StoreError::NotFound);
                        }
                        Self::insert_application(conn, application).await?;
                        Ok(())
                    })
                    .await
                }

                async fn application(
                    &self,
                    tenant: &TenantId,
                    client_id: &latchkey_core::ClientId,
                ) -> StoreResult<Option<latchkey_core::Application>> {
                    sqlx::query("SELECT * FROM applications WHERE tenant_id = $1 AND client_id = $2")
                        .bind(tenant.as_str())
                        .bind(client_id.as_str())
                        .fetch_optional(self.reader())
                        .await?
                        .map(|row| rows::application(&row))
                        .transpose()
                }

                async fn list_applications(
                    &self,
                    tenant: &TenantId,
                ) -> StoreResult<Vec<latchkey_core::Application>> {
                    sqlx::query("SELECT * FROM applications WHERE tenant_id = $1 ORDER BY client_id")
                        .bind(tenant.as_str())
                        .fetch_all(self.reader())
                        .await?
                        .iter()
                        .map(rows::application)
                        .collect()
                }

                async fn delete_application(
                    &self,
                    tenant: &TenantId,
                    client_id: &latchkey_core::ClientId,
                    audit: &AuditEvent,
                ) -> StoreResult<()> {
                    self.write_audited(audit, async |conn| {
                        let deleted =
                            sqlx::query("DELETE FROM applications WHERE tenant_id = $1 AND client_id = $2")
                                .bind(tenant.as_str())
                                .bind(client_id.as_str())
                                .execute(&mut *conn)
                                .await?;
                        if deleted.rows_affected() == 0 {
                            return Err(StoreError::NotFound);
                        }
                        Ok(())
                    })
                    .await
                }

                async fn set_application_secret(
                    &self,
                    tenant: &TenantId,
                    client_id: &latchkey_core::ClientId,
                    secret_hash: &str,
                    audit: &AuditEvent,
                ) -> StoreResult<()> {
                    self.write_audited(audit, async |conn| {
                        let updated = sqlx::query(
                            "UPDATE applications SET secret_hash = $1 \
                             WHERE tenant_id = $2 AND client_id = $3 AND public = FALSE",
                        )
                        .bind(secret_hash)
                        .bind(tenant.as_str())
                        .bind(client_id.as_str())
                        .execute(&mut *conn)
                        .await?;
                        if updated.rows_affected() == 0 {
                            return Err(StoreError::NotFound);
                        }
                        Ok(())
                    })
                    .await
                }

                // ---- roles ---------------------------------------------------------

                async fn role(&self, tenant: &TenantId, name: &RoleName) -> StoreResult<Option<Role>> {
                    sqlx::query("SELECT * FROM roles WHERE tenant_id = $1 AND name = $2")
                        .bind(tenant.as_str())
                        .bind(name.as_str())
                        .fetch_optional(self.reader())
                        .await?
                        .map(|row| rows::role(&row))
                        .transpose()
                }

                async fn list_roles(&self, tenant: &TenantId) -> StoreResult<Vec<Role>> {
                    sqlx::query("SELECT * FROM roles WHERE tenant_id = $1 ORDER BY name")
                        .bind(tenant.as_str())
                        .fetch_all(self.reader())
                        .await?
                        .iter()
                        .map(rows::role)
                        .collect()
                }

                async fn put_role(
                    &self,
                    tenant: &TenantId,
                    role: &Role,
                    audit: &AuditEvent,
                ) -> StoreResult<bool> {
                    self.write_audited(audit, async |conn| {
                        let tenant_exists = sqlx::query("SELECT 1 FROM tenants WHERE id = $1")
                            .bind(tenant.as_str())
                            .fetch_optional(&mut *conn)
                            .await?
                            .is_some();
                        if !tenant_exists {
                            return Err(StoreError::NotFound);
                        }
                        let existing = sqlx::query(concat!(
                            "SELECT builtin FROM roles WHERE tenant_id = $1 AND name = $2",
                            $for_update
                        ))
                        .bind(tenant.as_str())
                        .bind(role.name.as_str())
                        .fetch_optional(&mut *conn)
                        .await?;
                        let created = match existing {
                            Some(row) if row.flag("builtin")? => {
                                return Err(StoreError::Conflict($crate::ConflictOn::Other));
                            }
                            Some(_) => {
                                sqlx::query(
                                    "UPDATE roles SET permissions = $1 \
                                     WHERE tenant_id = $2 AND name = $3 AND builtin = FALSE",
                                )
                                .bind(to_json(&role.permissions)?)
                                .bind(tenant.as_str())
                                .bind(role.name.as_str())
                                .execute(&mut *conn)
                                .await?;
                                false
                            }
                            None => {
                                sqlx::query(
                                    "INSERT INTO roles (tenant_id, name, permissions, builtin) \
                                     VALUES ($1, $2, $3, FALSE)",
                                )
                                .bind(tenant.as_str())
                                .bind(role.name.as_str())
                                .bind(to_json(&role.permissions)?)
                                .execute(&mut *conn)
                                .await?;
                                true
                            }
                        };
                        Ok(created)
                    })
                    .await
                }

                async fn delete_role(
                    &self,
                    tenant: &TenantId,
                    name: &RoleName,
                    audit: &AuditEvent,
                ) -> StoreResult<()> {
                    self.write_audited(audit, async |conn| {
                        let existing = sqlx::query(concat!(
                            "SELECT builtin FROM roles WHERE tenant_id = $1 AND name = $2",
                            $for_update
                        ))
                        .bind(tenant.as_str())
                        .bind(name.as_str())
                        .fetch_optional(&mut *conn)
                        .await?
                        .ok_or(StoreError::NotFound)?;
                        if existing.flag("builtin")? {
                            return Err(StoreError::Conflict($crate::ConflictOn::Other));
                        }
                        // Checked in the transaction that deletes (SQLite's single writer
                        // serialises it with every membership write; on PostgreSQL a
                        // membership written concurrently with the deletion could still
                        // name the role, which sign-in then reports as an internal error).
                        let in_use = sqlx::query(
                            "SELECT 1 FROM memberships WHERE tenant_id = $1 AND role = $2 \
                             UNION ALL \
                             SELECT 1 FROM pruned_memberships WHERE tenant_id = $1 AND role = $2 \
                             LIMIT 1",
                        )
                        .bind(tenant.as_str())
                        .bind(name.as_str())
                        .fetch_optional(&mut *conn)
                        .await?
                        .is_some();
                        if in_use {
                            return Err(StoreError::Conflict($crate::ConflictOn::Other));
                        }
                        sqlx::query("DELETE FROM roles WHERE tenant_id = $1 AND name = $2 AND builtin = FALSE")
                            .bind(tenant.as_str())
                            .bind(name.as_str())
                            .execute(&mut *conn)
                            .await?;
                        Ok(())
                    })
                    .await
                }

                // ---- applications across tenants ----------------------------------

                async fn application_exists_anywhere(
                    &self,
                    client_id: &latchkey_core::ClientId,
                ) -> StoreResult<bool> {
                    Ok(sqlx::query("SELECT 1 FROM applications WHERE client_id = $1 LIMIT 1")
                        .bind(client_id.as_str())
                        .fetch_optional(self.reader())
                        .await?
                        .is_some())
                }

                async fn memberships_with_application(
                    &self,
                    account: &AccountId,
                    client_id: &latchkey_core::ClientId,
                ) -> StoreResult<Vec<Membership>> {
                    sqlx::query(
                        "SELECT m.* FROM memberships m WHERE m.account_id = $1 AND EXISTS \
                         (SELECT 1 FROM applications a \
                          WHERE a.tenant_id = m.tenant_id AND a.client_id = $2) \
                         ORDER BY m.tenant_id",
                    )
                    .bind(account.as_str())
                    .bind(client_id.as_str())
                    .fetch_all(self.reader())
                    .await?
                    .iter()
                    .map(rows::membership)
                    .collect()
                }

                async fn most_recently_used_tenant_with_application(
                    &self,
                    account: &AccountId,
                    client_id: &latchkey_core::ClientId,
                ) -> StoreResult<Option<TenantId>> {
                    let row = sqlx::query(
                        "SELECT tenant_id FROM (SELECT m.tenant_id, m.created_at AS joined_at, \
                         (SELECT MAX(s.created_at) FROM sessions s \
                          WHERE s.tenant_id = m.tenant_id AND s.account_id = m.account_id) AS last_used \
                         FROM memberships m WHERE m.account_id = $1 AND EXISTS \
                         (SELECT 1 FROM applications a \
                          WHERE a.tenant_id = m.tenant_id AND a.client_id = $2)) used \
                         ORDER BY (CASE WHEN last_used IS NULL THEN 1 ELSE 0 END), last_used DESC, \
                         joined_at, tenant_id LIMIT 1",
                    )
                    .bind(account.as_str())
                    .bind(client_id.as_str())
                    .fetch_optional(self.reader())
                    .await?;
                    row.map(|r| r.text("tenant_id").map(TenantId::from_string))
                        .transpose()
                }

                // ---- impersonation -------------------------------------------------

                async fn create_impersonation(
                    &self,
                    grant: &latchkey_core::ImpersonationGrant,
                    audit: &AuditEvent,
                ) -> StoreResult<()> {
                    self.write_audited(audit, async |conn| {
                        let inserted = sqlx::query(
                            "INSERT INTO impersonation_tokens \
                             (token_hash, tenant_id, account_id, issued_by, created_at, expires_at, used_at) \
                             SELECT $1, $2, $3, $4, $5, $6, NULL FROM memberships \
                             WHERE tenant_id = $2 AND account_id = $3",
                        )
                        .bind(grant.token_hash.as_str())
                        .bind(grant.tenant_id.as_str())
                        .bind(grant.account_id.as_str())
                        .bind(grant.issued_by.as_str())
                        .bind(millis(grant.created_at))
                        .bind(millis(grant.expires_at))
                        .execute(&mut *conn)
                        .await?;
                        if inserted.rows_affected() == 0 {
                            return Err(StoreError::NotFound);
                        }
                        Ok(())
                    })
                    .await
                }

                async fn impersonation(
                    &self,
                    token_hash: &str,
                    now: OffsetDateTime,
                ) -> StoreResult<Option<latchkey_core::ImpersonationGrant>> {
                    let row = sqlx::query(
                        "SELECT * FROM impersonation_tokens \
                         WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
                    )
                    .bind(token_hash)
                    .bind(millis(now))
                    .fetch_optional(self.reader())
                    .await?;
                    row.map(|row| {
                        Ok(latchkey_core::ImpersonationGrant {
                            token_hash: row.text("token_hash")?,
                            tenant_id: TenantId::from_string(row.text("tenant_id")?),
                            account_id: AccountId::from_string(row.text("account_id")?),
                            issued_by: AccountId::from_string(row.text("issued_by")?),
                            created_at: row.time("created_at")?,
                            expires_at: row.time("expires_at")?,
                        })
                    })
                    .transpose()
                }

                async fn redeem_impersonation(
                    &self,
                    token_hash: &str,
                    session: &Session,
                    now: OffsetDateTime,
                    audit: &AuditEvent,
                ) -> StoreResult<bool> {
                    let mut lane = self.write_lane().await?;
                    let mut tx = lane.begin().await?;
                    // One conditional UPDATE: of two racing exchanges only one spends it.
                    let spent = sqlx::query(
                        "UPDATE impersonation_tokens SET used_at = $1 \
                         WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 \
                         AND account_id = $3 AND tenant_id = $4",
                    )
                    .bind(millis(now))
                    .bind(token_hash)
                    .bind(session.account_id.as_str())
                    .bind(session.tenant_id.as_str())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if spent == 0 {
                        return Ok(false);
                    }
                    let member = sqlx::query(
                        "SELECT a.disabled FROM memberships m JOIN accounts a ON a.id = m.account_id \
                         WHERE m.tenant_id = $1 AND m.account_id = $2",
                    )
                    .bind(session.tenant_id.as_str())
                    .bind(session.account_id.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
                    match member {
                        Some(row) if !row.flag("disabled")? => {}
                        _ => return Ok(false),
                    }
                    Self::insert_session(&mut tx, session).await?;
                    Self::commit_audited(tx, audit).await?;
                    lane.durable().await?;
                    Ok(true)
                }

                // ---- accounts ------------------------------------------------------

                async fn has_no_accounts(&self) -> StoreResult<bool> {
                    let any = sqlx::query("SELECT id FROM accounts LIMIT 1")
                        .fetch_optional(self.reader())
                        .await?;
                    Ok(any.is_none())
                }

                async fn create_account(
                    &self,
                    id: &AccountId,
                    account: &NewAccount,
                    membership: Option<(&TenantId, &RoleName)>,
                    now: OffsetDateTime,
                    audit: &AuditEvent,
                ) -> StoreResult<Account> {
                    self.write_audited(audit, async |conn| {
                        if let Some((tenant, role)) = membership {
                            Self::require_role(conn, tenant, role).await?;
                        }
                        let created = Self::insert_account(conn, id, account, now).await?;
                        if let Some((tenant, role)) = membership {
                            sqlx::query(
                                "INSERT INTO memberships (tenant_id, account_id, role, created_at, email_key) \
                                 VALUES ($1, $2, $3, $4, $5)",
                            )
                            .bind(tenant.as_str())
                            .bind(id.as_str())
                            .bind(role.as_str())
                            .bind(millis(now))
                            .bind(account.email.normalized())
                            .execute(&mut *conn)
                            .await?;
                        }
                        Ok(created)
                    })
                    .await
                }

                async fn import_accounts(
                    &self,
                    tenant: &TenantId,
                    accounts: &[latchkey_core::NewImportedAccount],
                    now: OffsetDateTime,
                    audit: &AuditEvent,
                ) -> StoreResult<u64> {
                    let import_rows = $crate::sql::import_rows(accounts)?;
                    if let Some(conflict) = $crate::sql::repeated_in_batch(&import_rows) {
                        return Err(conflict);
                    }
                    let mut lane = self.write_lane().await?;
                    let mut tx = lane.begin().await?;
                    let mut roles_checked: Vec<&RoleName> = Vec::new();
                    for imported in accounts {
                        if !roles_checked.contains(&&imported.role) {
                            Self::require_role(&mut tx, tenant, &imported.role).await?;
                            roles_checked.push(&imported.role);
                        }
                    }
                    let created_at = millis(now);
                    let chunks = accounts
                        .chunks($crate::sql::IMPORT_ROWS_PER_STATEMENT)
                        .zip(import_rows.chunks($crate::sql::IMPORT_ROWS_PER_STATEMENT));
                    for (chunk, chunk_rows) in chunks {
                        let mut insert = sqlx::QueryBuilder::<$db>::new(
                            "INSERT INTO accounts (id, email, email_key, username, username_key, \
                             display_name, custom_data, platform_admin, disabled, password_hash, \
                             created_at, last_login_at) ",
                        );
                        insert.push_values(chunk.iter().zip(chunk_rows), |mut row, (imported, keys)| {
                            let account = &imported.account;
                            row.push_bind(imported.id.as_str())
                                .push_bind(account.email.as_str())
                                .push_bind(keys.email_key.as_str())
                                .push_bind(account.username.as_ref().map(|u| u.as_str()))
                                .push_bind(keys.username_key.as_deref())
                                .push_bind(account.display_name.as_deref())
                                .push_bind(keys.custom_data.as_str())
                                // Imports never create platform administrators.
                                .push("FALSE")
                                .push_bind(imported.disabled)
                                .push_bind(account.password_hash.as_deref())
                                .push_bind(created_at)
                                .push("NULL");
                        });
                        if let Err(error) = insert.build().execute(&mut *tx).await {
                            return Err(match StoreError::from(error) {
                                StoreError::Conflict(on) => {
                                    // Undo this import and leave the batch before
                                    // looking for the clash on a reader.
                                    drop(tx);
                                    // (A no-op on PostgreSQL, whose lane holds nothing.)
                                    #[allow(clippy::drop_non_drop)]
                                    drop(lane);
                                    self.locate_import_conflict(&import_rows, on).await
                                }
                                other => other,
                            });
                        }
                        let mut members = sqlx::QueryBuilder::<$db>::new(
                            "INSERT INTO memberships (tenant_id, account_id, role, created_at, email_key) ",
                        );
                        members.push_values(chunk.iter().zip(chunk_rows), |mut row, (imported, keys)| {
                            row.push_bind(tenant.as_str())
                                .push_bind(imported.id.as_str())
                                .push_bind(imported.role.as_str())
                                .push_bind(created_at)
                                .push_bind(keys.email_key.as_str());
                        });
                        members.build().execute(&mut *tx).await?;
                    }
                    Self::commit_audited(tx, audit).await?;
                    lane.durable().await?;
                    Ok(accounts.len() as u64)
                }

                async fn account_by_id(&self, id: &AccountId) -> StoreResult<Option<Account>> {
                    sqlx::query("SELECT * FROM accounts WHERE id = $1")
                        .bind(id.as_str())
                        .fetch_optional(self.reader())
                        .await?
                        .map(|row| rows::account(&row))
                        .transpose()
                }

                async fn account_by_login(
                    &self,
                    login_key: &str,
                ) -> StoreResult<Option<AccountCredentials>> {
                    // Emails contain '@' and usernames cannot, so at most one row matches.
                    sqlx::query("SELECT * FROM accounts WHERE email_key = $1 OR username_key = $1")
                        .bind(login_key.to_lowercase())
                        .fetch_optional(self.reader())
                        .await?
                        .map(|row| {
                            Ok(AccountCredentials {
                                account: rows::account(&row)?,
                                password_hash: row.opt_text("password_hash")?,
                            })
                        })
                        .transpose()
                }

                async fn password_hash(&self, id: &AccountId) -> StoreResult<Option<String>> {
                    let row = sqlx::query("SELECT password_hash FROM accounts WHERE id = $1")
                        .bind(id.as_str())
                        .fetch_optional(self.reader())
                        .await?;
                    match row {
                        Some(row) => row.opt_text("password_hash"),
                        None => Ok(None),
                    }
                }

                async fn update_account(
                    &self,
                    id: &AccountId,
                    patch: &AccountPatch,
                    role_in: Option<(&TenantId, &RoleName)>,
                    now: OffsetDateTime,
                    audit: &AuditEvent,
                ) -> StoreResult<Account> {
                    self.write_audited(audit, async |conn| {
                        let row = sqlx::query(concat!(
                            "SELECT * FROM accounts WHERE id = $1",
                            $for_update
                        ))
                        .bind(id.as_str())
                        .fetch_optional(&mut *conn)
                        .await?
                        .ok_or(StoreError::NotFound)?;
                        let account = rows::apply_account_patch(rows::account(&row)?, patch);
                        sqlx::query(
                            "UPDATE accounts SET email = $1, email_key = $2, username = $3, \
                             username_key = $4, display_name = $5, custom_data = $6, disabled = $7 \
                             WHERE id = $8",
                        )
                        .bind(account.email.as_str())
                        .bind(account.email.normalized())
                        .bind(account.username.as_ref().map(|u| u.as_str()))
                        .bind(account.username.as_ref().map(|u| u.normalized()))
                        .bind(account.display_name.as_deref())
                        .bind(to_json(&account.custom_data)?)
                        .bind(account.disabled)
                        .bind(id.as_str())
                        .execute(&mut *conn)
                        .await?;
                        // Memberships keep a copy of the sort key (migration 0006).
                        sqlx::query("UPDATE memberships SET email_key = $1 WHERE account_id = $2")
                            .bind(account.email.normalized())
                            .bind(id.as_str())
                            .execute(&mut *conn)
                            .await?;
                        if patch.disabled == Some(true) {
                            sqlx::query(
                                "UPDATE sessions SET revoked_at = $1 \
                                 WHERE account_id = $2 AND revoked_at IS NULL",
                            )
                            .bind(millis(now))
                            .bind(id.as_str())
                            .execute(&mut *conn)
                            .await?;
                        }
                        if let Some((tenant, role)) = role_in {
                            let role_exists = sqlx::query("SELECT 1 FROM roles WHERE tenant_id = $1 AND name = $2")
                                .bind(tenant.as_str())
                                .bind(role.as_str())
                                .fetch_optional(&mut *conn)
                                .await?
                                .is_some();
                            let changed = sqlx::query(
                                "UPDATE memberships SET role = $1 WHERE tenant_id = $2 AND account_id = $3",
                            )
                            .bind(role.as_str())
                            .bind(tenant.as_str())
                            .bind(id.as_str())
                            .execute(&mut *conn)
                            .await?;
                            if !role_exists || changed.rows_affected() == 0 {
                                return Err(StoreError::NotFound);
                            }
                        }
                        Ok(account)
                    })
                    .await
                }

                async fn delete_account(&self, id: &AccountId, audit: &AuditEvent) -> StoreResult<()> {
                    self.write_audited(audit, async |conn| {
                        // Memberships and sessions (and their tokens) cascade.
                        let deleted = sqlx::query("DELETE FROM accounts WHERE id = $1")
                            .bind(id.as_str())
                            .execute(&mut *conn)
                            .await?;
                        if deleted.rows_affected() == 0 {
                            return Err(StoreError::NotFound);
                        }
                        Ok(())
                    })
                    .await
                }

                async fn set_password_hash(
                    &self,
                    id: &AccountId,
                    hash: &str,
                    keep: Option<&SessionId>,
                    clear_throttle: Option<&str>,
                    now: OffsetDateTime,
                    audit: &AuditEvent,
                ) -> StoreResult<()> {
                    self.write_audited(audit, async |conn| {
                        let updated = sqlx::query("UPDATE accounts SET password_hash = $1 WHERE id = $2")
                            .bind(hash)
                            .bind(id.as_str())
                            .execute(&mut *conn)
                            .await?;
                        if updated.rows_affected() == 0 {
                            return Err(StoreError::NotFound);
                        }
                        // The revoked sessions' refresh tokens stay, unusable: rotation checks
                        // the session first and answers SessionInactive.
                        sqlx::query(
                            "UPDATE sessions SET revoked_at = $1 \
                             WHERE account_id = $2 AND revoked_at IS NULL \
                             AND ($3 IS NULL OR id <> $3)",
                        )
                        .bind(millis(now))
                        .bind(id.as_str())
                        .bind(keep.map(SessionId::as_str))
                        .execute(&mut *conn)
                        .await?;
                        // An enrolment token was earned with the old password: it goes too.
                        sqlx::query("DELETE FROM mfa_enrolment_tokens WHERE account_id = $1")
                            .bind(id.as_str())
                            .execute(&mut *conn)
                            .await?;
                        if let Some(key) = clear_throttle {
                            sqlx::query("DELETE FROM login_throttles WHERE login_key = $1")
                                .bind(key)
                                .execute(&mut *conn)
                                .await?;
                        }
                        Ok(())
                    })
                    .await
                }

                // ---- memberships ---------------------------------------------------

                async fn membership(
                    &self,
                    tenant: &TenantId,
                    account: &AccountId,
                ) -> StoreResult<Option<Membership>> {
                    sqlx::query("SELECT * FROM memberships WHERE tenant_id = $1 AND account_id = $2")
                        .bind(tenant.as_str())
                        .bind(account.as_str())
                        .fetch_optional(self.reader())
                        .await?
                        .map(|row| rows::membership(&row))
                        .transpose()
                }

                async fn put_membership(
                    &self,
                    tenant: &TenantId,
                    account: &AccountId,
                    role: &RoleName,
                    now: OffsetDateTime,
                    audit: &AuditEvent,
                ) -> StoreResult<Membership> {
                    self.write_audited(audit, async |conn| {
                        Self::require_role(conn, tenant, role).await?;
                        sqlx::query("SELECT id FROM accounts WHERE id = $1")
                            .bind(account.as_str())
                            .fetch_optional(&mut *conn)
                            .await?
                            .ok_or(StoreError::NotFound)?;
                        // An existing membership keeps its created_at; RETURNING reports it.
                        let row = sqlx::query(
                            "INSERT INTO memberships (tenant_id, account_id, role, created_at, email_key) \
                             VALUES ($1, $2, $3, $4, (SELECT email_key FROM accounts WHERE id = $2)) \
                             ON CONFLICT (tenant_id, account_id) DO UPDATE SET role = excluded.role \
                             RETURNING *",
                        )
                        .bind(tenant.as_str())
                        .bind(account.as_str())
                        .bind(role.as_str())
                        .bind(millis(now))
                        .fetch_one(&mut *conn)
                        .await?;
                        let membership = rows::membership(&row)?;
                        Ok(membership)
                    })
                    .await
                }

                async fn remove_membership(
                    &self,
                    tenant: &TenantId,
                    account: &AccountId,
                    now: OffsetDateTime,
                    audit: &AuditEvent,
                ) -> StoreResult<MembershipRemoval> {
                    self.write_audited(audit, async |conn| {
                        let deleted =
                            sqlx::query("DELETE FROM memberships WHERE tenant_id = $1 AND account_id = $2")
                                .bind(tenant.as_str())
                                .bind(account.as_str())
                                .execute(&mut *conn)
                                .await?;
                        if deleted.rows_affected() == 0 {
                            return Err(StoreError::NotFound);
                        }
                        sqlx::query(
                            "UPDATE sessions SET revoked_at = $1 \
                             WHERE tenant_id = $2 AND account_id = $3 AND revoked_at IS NULL",
                        )
                        .bind(millis(now))
                        .bind(tenant.as_str())
                        .bind(account.as_str())
                        .execute(&mut *conn)
                        .await?;
                        // An account left without any tenant would be unreachable, its email
                        // taken for ever: it goes too (platform administrators stay).
                        let orphan_removed = sqlx::query(
                            "DELETE FROM accounts WHERE id = $1 AND platform_admin = FALSE \
                             AND NOT EXISTS (SELECT 1 FROM memberships WHERE account_id = $1)",
                        )
                        .bind(account.as_str())
                        .execute(&mut *conn)
                        .await?
                        .rows_affected()
                            > 0;
                        Ok(if orphan_removed {
                            MembershipRemoval::AccountDeleted
                        } else {
                            MembershipRemoval::MembershipOnly
                        })
                    })
                    .await
                }

                async fn memberships_of(&self, account: &AccountId) -> StoreResult<Vec<Membership>> {
                    sqlx::query("SELECT * FROM memberships WHERE account_id = $1 ORDER BY tenant_id")
                        .bind(account.as_str())
                        .fetch_all(self.reader())
                        .await?
                        .iter()
                        .map(rows::membership)
                        .collect()
                }

                async fn list_members(
                    &self,
                    tenant: &TenantId,
                    filter: &MemberFilter,
                    page: &PageRequest,
                ) -> StoreResult<Page<MemberRecord>> {
                    // Only the filters given become SQL, so the plan can walk the
                    // (tenant_id, email_key) index in order and stop after one page. With
                    // `($N IS NULL OR …)` for every filter, PostgreSQL's generic plan
                    // sorted all of a tenant's members for each page (1.3 s at 100,000).
                    let mut query = sqlx::QueryBuilder::<$db>::new(
                        "SELECT a.*, m.role AS member_role FROM memberships m \
                         JOIN accounts a ON a.id = m.account_id WHERE m.tenant_id = ",
                    );
                    query.push_bind(tenant.as_str());
                    if let Some(prefix) = &filter.email_prefix {
                        query.push(" AND m.email_key LIKE ");
                        query.push_bind(rows::like_prefix(&prefix.to_lowercase()));
                        query.push(" ESCAPE '\\'");
                    }
                    if let Some(role) = &filter.role {
                        query.push(" AND m.role = ");
                        query.push_bind(role.as_str());
                    }
                    if let Some(since) = filter.inactive_since {
                        query.push(" AND (a.last_login_at < ");
                        query.push_bind(millis(since));
                        query.push(" OR (a.last_login_at IS NULL AND a.created_at < ");
                        query.push_bind(millis(since));
                        query.push("))");
                    }
                    if let Some(text) = &filter.search {
                        let pattern = rows::like_substring(&text.to_lowercase());
                        query.push(" AND (a.email_key LIKE ");
                        query.push_bind(pattern.clone());
                        query.push(" ESCAPE '\\' OR a.username_key LIKE ");
                        query.push_bind(pattern);
                        query.push(" ESCAPE '\\')");
                    }
                    if let Some(login) = &filter.login {
                        let login = login.to_lowercase();
                        query.push(" AND (a.email_key = ");
                        query.push_bind(login.clone());
                        query.push(" OR a.username_key = ");
                        query.push_bind(login);
                        query.push(")");
                    }
                    if let Some(account) = &filter.exclude_account {
                        query.push(" AND a.id <> ");
                        query.push_bind(account.as_str());
                    }
                    if filter.exclude_platform_admins {
                        query.push(" AND a.platform_admin = FALSE");
                    }
                    if let Some(role) = &filter.exclude_role {
                        query.push(" AND m.role <> ");
                        query.push_bind(role.as_str());
                    }
                    if filter.exclude_shared {
                        query.push(
                            " AND NOT EXISTS (SELECT 1 FROM memberships o \
                             WHERE o.account_id = m.account_id AND o.tenant_id <> m.tenant_id)",
                        );
                    }
                    if let Some(after) = &page.after {
                        query.push(" AND m.email_key > ");
                        query.push_bind(after.as_str());
                    }
                    query.push(" ORDER BY m.email_key LIMIT ");
                    query.push_bind(page.fetch_limit());
                    let members = query
                        .build()
                        .fetch_all(self.reader())
                        .await?
                        .iter()
                        .map(rows::member)
                        .collect::<StoreResult<Vec<_>>>()?;
                    Ok(Page::from_overfetch(members, page, |m| {
                        m.account.email.normalized()
                    }))
                }

                async fn count_members(&self, tenant: &TenantId, filter: &MemberFilter) -> StoreResult<i64> {
                    let count = sqlx::query(concat!("SELECT COUNT(*) AS members ", $crate::sql::member_filter!()));
                    let row = $crate::sql::bind_member_filter!(count, tenant, filter)
                        .fetch_one(self.reader())
                        .await?;
                    row.int("members")
                }

                // ---- dormant-account prune (SQL in sql/prune.rs) --------------------

                async fn prune_members(
                    &self,
                    tenant: &TenantId,
                    filter: &MemberFilter,
                    after: Option<&str>,
                    limit: u32,
                    pruned_by: &AccountId,
                    now: OffsetDateTime,
                    audit: &AuditEvent,
                ) -> StoreResult<$crate::PruneBatch> {
                    self.prune_batch(tenant, filter, after, limit, pruned_by, now, audit).await
                }

                async fn restore_pruned(
                    &self,
                    tenant: &TenantId,
                    accounts: &[AccountId],
                    pruned_since: OffsetDateTime,
                    audit: &AuditEvent,
                ) -> StoreResult<u64> {
                    self.restore_batch(tenant, accounts, pruned_since, audit).await
                }

                // ---- MFA enrolment tokens (bodies in sql/mfa_enrolment.rs) -------------

                async fn create_mfa_enrolment_token(
                    &self,
                    token_hash: &str,
                    account: &AccountId,
                    tenant: &TenantId,
                    expires_at: OffsetDateTime,
                    now: OffsetDateTime,
                    audit: &AuditEvent,
                ) -> StoreResult<()> {
                    self.sql_create_mfa_enrolment_token(token_hash, account, tenant, expires_at, now, audit)
                        .await
                }
                async fn mfa_enrolment_token(
                    &self,
                    token_hash: &str,
                    now: OffsetDateTime,
                ) -> StoreResult<Option<(AccountId, TenantId)>> {
                    self.sql_mfa_enrolment_token(token_hash, now).await
                }
                async fn delete_mfa_enrolment_tokens(&self, account: &AccountId) -> StoreResult<u64> {
                    self.sql_delete_mfa_enrolment_tokens(account).await
                }

                // ---- groups and projects (bodies in sql/groups.rs) --------------------

                async fn create_group(&self, group: &latchkey_core::Group, members: &[AccountId], audit: &AuditEvent) -> StoreResult<latchkey_core::Group> {
                    self.sql_create_group(group, members, audit).await
                }
                async fn group(&self, tenant: &TenantId, id: &latchkey_core::GroupId) -> StoreResult<Option<latchkey_core::Group>> {
                    self.sql_group(tenant, id).await
                }
                async fn list_groups(&self, tenant: &TenantId, page: &PageRequest) -> StoreResult<Page<latchkey_core::Group>> {
                    self.sql_list_groups(tenant, page).await
                }
                async fn update_group(&self, tenant: &TenantId, id: &latchkey_core::GroupId, update: &$crate::GroupUpdate, now: OffsetDateTime, audit: &[AuditEvent]) -> StoreResult<latchkey_core::Group> {
                    self.sql_update_group(tenant, id, update, now, audit).await
                }
                async fn delete_group(&self, tenant: &TenantId, id: &latchkey_core::GroupId, audit: &AuditEvent) -> StoreResult<()> {
                    self.sql_delete_group(tenant, id, audit).await
                }
                async fn group_members(&self, tenant: &TenantId, group: &latchkey_core::GroupId) -> StoreResult<Vec<MemberRecord>> {
                    self.sql_group_members(tenant, group).await
                }
                async fn add_group_member(&self, tenant: &TenantId, group: &latchkey_core::GroupId, account: &AccountId, now: OffsetDateTime, audit: &AuditEvent) -> StoreResult<()> {
                    self.sql_add_group_member(tenant, group, account, now, audit).await
                }
                async fn remove_group_member(&self, tenant: &TenantId, group: &latchkey_core::GroupId, account: &AccountId, audit: &AuditEvent) -> StoreResult<()> {
                    self.sql_remove_group_member(tenant, group, account, audit).await
                }
                async fn set_group_roles(&self, tenant: &TenantId, group: &latchkey_core::GroupId, roles: &[RoleName], audit: &AuditEvent) -> StoreResult<()> {
                    self.sql_set_group_roles(tenant, group, roles, audit).await
                }
                async fn group_roles(&self, tenant: &TenantId, group: &latchkey_core::GroupId) -> StoreResult<Vec<RoleName>> {
                    self.sql_group_roles(tenant, group).await
                }
                async fn groups_of(&self, tenant: &TenantId, account: &AccountId) -> StoreResult<Vec<latchkey_core::Group>> {
                    self.sql_groups_of(tenant, account).await
                }
                async fn members_of_groups(&self, tenant: &TenantId, groups: &[latchkey_core::GroupId]) -> StoreResult<Vec<(latchkey_core::GroupId, MemberRecord)>> {
                    self.sql_members_of_groups(tenant, groups).await
                }
                async fn roles_of_groups(&self, tenant: &TenantId, groups: &[latchkey_core::GroupId]) -> StoreResult<Vec<(latchkey_core::GroupId, RoleName)>> {
                    self.sql_roles_of_groups(tenant, groups).await
                }
                async fn group_memberships(&self, tenant: &TenantId, accounts: &[AccountId]) -> StoreResult<Vec<(AccountId, latchkey_core::Group)>> {
                    self.sql_group_memberships(tenant, accounts).await
                }
                async fn granted_roles(&self, tenant: &TenantId, account: &AccountId) -> StoreResult<Vec<RoleName>> {
                    self.sql_granted_roles(tenant, account).await
                }
                async fn create_project(&self, project: &latchkey_core::Project, now: OffsetDateTime, audit: &AuditEvent) -> StoreResult<latchkey_core::Project> {
                    self.sql_create_project(project, now, audit).await
                }
                async fn project(&self, tenant: &TenantId, id: &latchkey_core::ProjectId) -> StoreResult<Option<latchkey_core::Project>> {
                    self.sql_project(tenant, id).await
                }
                async fn list_projects(&self, tenant: &TenantId, visible_to: Option<&AccountId>, page: &PageRequest) -> StoreResult<Page<latchkey_core::Project>> {
                    self.sql_list_projects(tenant, visible_to, page).await
                }
                async fn delete_project(&self, tenant: &TenantId, id: &latchkey_core::ProjectId, audit: &AuditEvent) -> StoreResult<()> {
                    self.sql_delete_project(tenant, id, audit).await
                }
                async fn project_members(&self, tenant: &TenantId, project: &latchkey_core::ProjectId) -> StoreResult<Vec<$crate::ProjectMemberRecord>> {
                    self.sql_project_members(tenant, project).await
                }
                async fn add_project_member(&self, tenant: &TenantId, project: &latchkey_core::ProjectId, member: &$crate::ProjectMemberRef, role: latchkey_core::ProjectRole, now: OffsetDateTime, audit: &AuditEvent) -> StoreResult<()> {
                    self.sql_add_project_member(tenant, project, member, role, now, audit).await
                }
                async fn set_project_member_role(&self, tenant: &TenantId, project: &latchkey_core::ProjectId, member_id: &str, role: latchkey_core::ProjectRole, audit: &AuditEvent) -> StoreResult<()> {
                    self.sql_set_project_member_role(tenant, project, member_id, role, audit).await
                }
                async fn remove_project_member(&self, tenant: &TenantId, project: &latchkey_core::ProjectId, member_id: &str, audit: &AuditEvent) -> StoreResult<()> {
                    self.sql_remove_project_member(tenant, project, member_id, audit).await
                }
                async fn account_projects(&self, tenant: &TenantId, account: &AccountId) -> StoreResult<Vec<$crate::ProjectAccess>> {
                    self.sql_account_projects(tenant, account).await
                }
                async fn group_projects(&self, tenant: &TenantId, group: &latchkey_core::GroupId) -> StoreResult<Vec<$crate::ProjectAccess>> {
                    self.sql_group_projects(tenant, group).await
                }

                // ---- sign-in throttling --------------------------------------------

                async fn login_throttle(&self, key: &str) -> StoreResult<LoginThrottle> {
                    sqlx::query("SELECT * FROM login_throttles WHERE login_key = $1")
                        .bind(key)
                        .fetch_optional(self.reader())
                        .await?
                        .map(|row| rows::throttle(&row))
                        .transpose()
                        .map(Option::unwrap_or_default)
                }

                async fn reserve_login_attempt(
                    &self,
                    key: &str,
                    policy: &LockoutPolicy,
                    now: OffsetDateTime,
                ) -> StoreResult<ThrottleDecision> {
                    let mut lane = self.write_lane().await?;
                    let mut tx = lane.begin().await?;
                    // The upsert both creates a missing row and (on PostgreSQL) locks an
                    // existing one, so concurrent attempts on one key are serialised.
                    let row = sqlx::query(
                        "INSERT INTO login_throttles (login_key, failures) VALUES ($1, 0) \
                         ON CONFLICT (login_key) DO UPDATE SET login_key = excluded.login_key \
                         RETURNING *",
                    )
                    .bind(key)
                    .fetch_one(&mut *tx)
                    .await?;
                    let state = rows::throttle(&row)?;
                    let decision = policy.decide(&state, now);
                    if decision == ThrottleDecision::Allow {
                        // Counted as a failure before the password is checked, so parallel
                        // guesses cannot slip past the limit; a success clears the row.
                        let next = policy.record_failure(&state, stored(now));
                        sqlx::query(
                            "UPDATE login_throttles \
                             SET failures = $1, last_failure_at = $2, locked_until = $3 \
                             WHERE login_key = $4",
                        )
                        .bind(i64::from(next.failures))
                        .bind(next.last_failure_at.map(millis))
                        .bind(next.locked_until.map(millis))
                        .bind(key)
                        .execute(&mut *tx)
                        .await?;
                    }
                    tx.commit().await?;
                    lane.durable().await?;
                    Ok(decision)
                }

                // ---- sessions and refresh tokens -----------------------------------

                async fn open_session(
                    &self,
                    record: &SignInRecord<'_>,
                    audit: &AuditEvent,
                ) -> StoreResult<bool> {
                    let session = record.session;
                    let mut lane = self.write_lane().await?;
                    let mut tx = lane.begin().await?;
                    let current = sqlx::query(concat!(
                        "SELECT password_hash FROM accounts WHERE id = $1",
                        $for_update
                    ))
                    .bind(session.account_id.as_str())
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or(StoreError::NotFound)?;
                    if let Some(verified) = record.verified_hash {
                        let stored_hash: Option<String> = current.try_get("password_hash")?;
                        if stored_hash.as_deref() != Some(verified) {
                            // The password changed while this sign-in was being checked.
                            return Ok(false);
                        }
                    }
                    sqlx::query("DELETE FROM login_throttles WHERE login_key = $1")
                        .bind(record.throttle_key)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query(
                        "UPDATE accounts SET last_login_at = $1, \
                         password_hash = COALESCE($2, password_hash) WHERE id = $3",
                    )
                    .bind(millis(session.created_at))
                    .bind(record.rehash)
                    .bind(session.account_id.as_str())
                    .execute(&mut *tx)
                    .await?;
                    Self::insert_session(&mut tx, session).await?;
                    Self::insert_refresh_token(
                        &mut tx,
                        record.refresh_hash,
                        &session.id,
                        session.created_at,
                        record.refresh_expires_at,
                    )
                    .await?;
                    Self::commit_audited(tx, audit).await?;
                    lane.durable().await?;
                    Ok(true)
                }

                async fn session(&self, id: &SessionId) -> StoreResult<Option<Session>> {
                    sqlx::query("SELECT * FROM sessions WHERE id = $1")
                        .bind(id.as_str())
                        .fetch_optional(self.reader())
                        .await?
                        .map(|row| rows::session(&row))
                        .transpose()
                }

                async fn session_with_member_role(
                    &self,
                    id: &SessionId,
                ) -> StoreResult<Option<(Session, Option<RoleName>, Vec<RoleName>)>> {
                    // One row per role a group grants (or one row without any): the
                    // granted roles come in the same round-trip as the session.
                    let found = sqlx::query(
                        "SELECT s.*, m.role AS member_role, r.role AS granted_role \
                         FROM sessions s \
                         LEFT JOIN memberships m \
                         ON m.tenant_id = s.tenant_id AND m.account_id = s.account_id \
                         LEFT JOIN group_members gm \
                         ON gm.tenant_id = m.tenant_id AND gm.account_id = m.account_id \
                         LEFT JOIN group_roles r ON r.group_id = gm.group_id \
                         WHERE s.id = $1",
                    )
                    .bind(id.as_str())
                    .fetch_all(self.reader())
                    .await?;
                    let Some(first) = found.first() else {
                        return Ok(None);
                    };
                    let mut granted: Vec<RoleName> = Vec::new();
                    for row in &found {
                        if let Some(role) = rows::opt_role_name(row, "granted_role")? {
                            if !granted.contains(&role) {
                                granted.push(role);
                            }
                        }
                    }
                    granted.sort_by(|a, b| a.as_str().cmp(b.as_str()));
                    Ok(Some((
                        rows::session(first)?,
                        rows::opt_role_name(first, "member_role")?,
                        granted,
                    )))
                }

                async fn count_active_sessions(&self, now: OffsetDateTime) -> StoreResult<i64> {
                    let row = sqlx::query(
                        "SELECT COUNT(*) AS active FROM sessions \
                         WHERE revoked_at IS NULL AND expires_at > $1",
                    )
                    .bind(millis(now))
                    .fetch_one(self.reader())
                    .await?;
                    row.int("active")
                }

                async fn session_of_refresh_token(&self, token_hash: &str) -> StoreResult<Option<Session>> {
                    sqlx::query(
                        "SELECT s.* FROM sessions s JOIN refresh_tokens t ON t.session_id = s.id \
                         WHERE t.token_hash = $1",
                    )
                    .bind(token_hash)
                    .fetch_optional(self.reader())
                    .await?
                    .map(|row| rows::session(&row))
                    .transpose()
                }

                async fn purge_expired(&self, cutoffs: &PurgeCutoffs) -> StoreResult<PurgeReport> {
                    let mut lane = self.write_lane().await?;
                    let mut tx = lane.begin().await?;
                    // Tokens of the sessions about to go are counted with them (no cascade
                    // count is reported by either database).
                    let session_tokens = sqlx::query(
                        "DELETE FROM refresh_tokens WHERE session_id IN (SELECT id FROM sessions \
                         WHERE (revoked_at IS NOT NULL AND revoked_at < $1) OR expires_at < $1)",
                    )
                    .bind(millis(cutoffs.sessions_ended_before))
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    let sessions = sqlx::query(
                        "DELETE FROM sessions \
                         WHERE (revoked_at IS NOT NULL AND revoked_at < $1) OR expires_at < $1",
                    )
                    .bind(millis(cutoffs.sessions_ended_before))
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    let expired_tokens = sqlx::query("DELETE FROM refresh_tokens WHERE expires_at < $1")
                        .bind(millis(cutoffs.tokens_expired_before))
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    let throttles = sqlx::query(
                        "DELETE FROM login_throttles \
                         WHERE (locked_until IS NULL OR locked_until <= $1) \
                         AND (last_failure_at IS NULL OR last_failure_at < $2)",
                    )
                    .bind(millis(cutoffs.now))
                    .bind(millis(cutoffs.throttles_idle_since))
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    sqlx::query("DELETE FROM authorization_codes WHERE expires_at < $1")
                        .bind(millis(cutoffs.tokens_expired_before))
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("DELETE FROM impersonation_tokens WHERE expires_at < $1")
                        .bind(millis(cutoffs.tokens_expired_before))
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("DELETE FROM mfa_enrolment_tokens WHERE expires_at < $1")
                        .bind(millis(cutoffs.tokens_expired_before))
                        .execute(&mut *tx)
                        .await?;
                    let signing_keys = sqlx::query("DELETE FROM signing_keys WHERE status = 'retired'")
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    // Tombstones of a prune whose retention ran out, a bounded number per
                    // run (the subquery's LIMIT) so a prune of millions is purged over
                    // several runs rather than in one long transaction.
                    let pruned_memberships = sqlx::query(
                        "DELETE FROM pruned_memberships WHERE (tenant_id, account_id) IN \
                         (SELECT tenant_id, account_id FROM pruned_memberships \
                          WHERE pruned_at < $1 LIMIT $2)",
                    )
                    .bind(millis(cutoffs.pruned_before))
                    .bind(i64::from($crate::PURGE_PRUNED_PER_RUN))
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    // Their authenticators' copies cascade.
                    let pruned_accounts = sqlx::query(
                        "DELETE FROM pruned_accounts WHERE id IN \
                         (SELECT id FROM pruned_accounts WHERE pruned_at < $1 LIMIT $2)",
                    )
                    .bind(millis(cutoffs.pruned_before))
                    .bind(i64::from($crate::PURGE_PRUNED_PER_RUN))
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    tx.commit().await?;
                    lane.durable().await?;
                    Ok(PurgeReport {
                        sessions,
                        refresh_tokens: session_tokens + expired_tokens,
                        throttles,
                        signing_keys,
                        pruned_memberships,
                        pruned_accounts,
                    })
                }

                async fn list_sessions(
                    &self,
                    tenant: &TenantId,
                    account: &AccountId,
                    now: OffsetDateTime,
                ) -> StoreResult<Vec<Session>> {
                    sqlx::query(
                        "SELECT * FROM sessions WHERE tenant_id = $1 AND account_id = $2 \
                         AND revoked_at IS NULL AND expires_at > $3 \
                         ORDER BY created_at DESC, id DESC",
                    )
                    .bind(tenant.as_str())
                    .bind(account.as_str())
                    .bind(millis(now))
                    .fetch_all(self.reader())
                    .await?
                    .iter()
                    .map(rows::session)
                    .collect()
                }

                async fn revoke_session(
                    &self,
                    id: &SessionId,
                    now: OffsetDateTime,
                    audit: &AuditEvent,
                ) -> StoreResult<bool> {
                    let mut lane = self.write_lane().await?;
                    let mut tx = lane.begin().await?;
                    let revoked = sqlx::query(
                        "UPDATE sessions SET revoked_at = $1 \
                         WHERE id = $2 AND revoked_at IS NULL AND expires_at > $1",
                    )
                    .bind(millis(now))
                    .bind(id.as_str())
                    .execute(&mut *tx)
                    .await?;
                    if revoked.rows_affected() == 0 {
                        // Nothing changed, so there is nothing to record.
                        return Ok(false);
                    }
                    Self::commit_audited(tx, audit).await?;
                    lane.durable().await?;
                    Ok(true)
                }

                async fn rotate_refresh_token(
                    &self,
                    tenant: &TenantId,
                    client_id: &str,
                    presented: &str,
                    replacement: &str,
                    replacement_expires_at: OffsetDateTime,
                    grace: time::Duration,
                    now: OffsetDateTime,
                ) -> StoreResult<RotationOutcome> {
                    let mut lane = self.write_lane().await?;
                    let mut tx = lane.begin().await?;
                    // Lock order is token, then session; nothing locks them the other way.
                    let Some(token) = sqlx::query(concat!(
                        "SELECT * FROM refresh_tokens WHERE token_hash = $1",
                        $for_update
                    ))
                    .bind(presented)
                    .fetch_optional(&mut *tx)
                    .await?
                    else {
                        return Ok(RotationOutcome::Unknown);
                    };
                    let session_id = SessionId::from_string(token.text("session_id")?);
                    let row = sqlx::query(concat!(
                        "SELECT s.*, (SELECT g.kind FROM session_grants g \
                         WHERE g.session_id = s.id) AS grant_kind FROM sessions s WHERE s.id = $1",
                        $for_update
                    ))
                    .bind(session_id.as_str())
                    .fetch_one(&mut *tx)
                    .await?;
                    let mut session = rows::session(&row)?;
                    if session.tenant_id != *tenant || session.client_id != client_id {
                        // Presented at the wrong tenant or by another client: refuse
                        // without spending it.
                        return Ok(RotationOutcome::Unknown);
                    }
                    if !session.is_active(now) {
                        return Ok(RotationOutcome::SessionInactive);
                    }
                    if row.opt_text("grant_kind")?.is_some() {
                        // Grants do not rotate: the token stays as it is, valid until the
                        // grant ends or is revoked.
                        if token.time("expires_at")? <= now {
                            return Ok(RotationOutcome::Expired);
                        }
                        let grant_row = sqlx::query(
                            "SELECT s.*, g.kind, g.for_client_id, g.permissions FROM sessions s \
                             JOIN session_grants g ON g.session_id = s.id WHERE s.id = $1",
                        )
                        .bind(session_id.as_str())
                        .fetch_one(&mut *tx)
                        .await?;
                        let mut grant = rows::grant(&grant_row)?;
                        grant.session = Self::touch_session(&mut tx, session, now).await?;
                        tx.commit().await?;
                        lane.durable().await?;
                        return Ok(RotationOutcome::GrantUsed(Box::new(grant)));
                    }
                    // No refresh token outlives its session.
                    let replacement_expires_at = replacement_expires_at.min(session.expires_at);
                    let reissued = match token.opt_time("rotated_at")? {
                        // Processes sharing one token, two requests racing, or a lost
                        // answer: honoured with a replacement of its own, in the same
                        // session, so one revocation or one later replay still ends every
                        // chain. The grace is short and configurable (0 turns this off)
                        // because a thief replaying inside it is honoured too.
                        Some(rotated_at) if grace > time::Duration::ZERO && now - rotated_at <= grace => true,
                        Some(_) => {
                            // A spent token came back: someone holds a copy. End the
                            // session for every holder.
                            sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE id = $2")
                                .bind(millis(now))
                                .bind(session_id.as_str())
                                .execute(&mut *tx)
                                .await?;
                            sqlx::query("DELETE FROM refresh_tokens WHERE session_id = $1")
                                .bind(session_id.as_str())
                                .execute(&mut *tx)
                                .await?;
                            session.revoked_at = Some(stored(now));
                            let event = AuditEvent {
                                id: AuditEventId::generate(),
                                tenant_id: Some(session.tenant_id.clone()),
                                actor: Some(session.account_id.clone()),
                                action: latchkey_core::audit::actions::REFRESH_REUSE.to_owned(),
                                target: Some(session_id.as_str().to_owned()),
                                outcome: AuditOutcome::Failure,
                                detail: serde_json::json!({}),
                                at: stored(now),
                            };
                            Self::commit_audited(tx, &event).await?;
                            lane.durable().await?;
                            return Ok(RotationOutcome::ReuseDetected(session));
                        }
                        None => {
                            if token.time("expires_at")? <= now {
                                return Ok(RotationOutcome::Expired);
                            }
                            sqlx::query(
                                "UPDATE refresh_tokens SET rotated_at = $1 WHERE token_hash = $2",
                            )
                            .bind(millis(now))
                            .bind(presented)
                            .execute(&mut *tx)
                            .await?;
                            false
                        }
                    };
                    Self::insert_refresh_token(
                        &mut tx,
                        replacement,
                        &session_id,
                        now,
                        replacement_expires_at,
                    )
                    .await?;
                    let session = Self::touch_session(&mut tx, session, now).await?;
                    tx.commit().await?;
                    lane.durable().await?;
                    Ok(if reissued {
                        RotationOutcome::ReissuedInGrace(session)
                    } else {
                        RotationOutcome::Rotated(session)
                    })
                }

                // ---- grants --------------------------------------------------------

                async fn create_grant(
                    &self,
                    grant: &$crate::GrantRecord,
                    refresh_hash: &str,
                    audit: &AuditEvent,
                ) -> StoreResult<()> {
                    let session = &grant.session;
                    let permissions = grant.permissions.as_ref().map(to_json).transpose()?;
                    self.write_audited(audit, async |conn| {
                        sqlx::query(concat!(
                            "SELECT role FROM memberships WHERE tenant_id = $1 AND account_id = $2",
                            $for_update
                        ))
                        .bind(session.tenant_id.as_str())
                        .bind(session.account_id.as_str())
                        .fetch_optional(&mut *conn)
                        .await?
                        .ok_or(StoreError::NotFound)?;
                        Self::insert_session(conn, session).await?;
                        sqlx::query(
                            "INSERT INTO session_grants (session_id, kind, for_client_id, permissions) \
                             VALUES ($1, $2, $3, $4)",
                        )
                        .bind(session.id.as_str())
                        .bind(grant.kind.as_str())
                        .bind(grant.for_client_id.as_deref())
                        .bind(permissions)
                        .execute(&mut *conn)
                        .await?;
                        Self::insert_refresh_token(
                            conn,
                            refresh_hash,
                            &session.id,
                            session.created_at,
                            session.expires_at,
                        )
                        .await?;
                        Ok(())
                    })
                    .await
                }

                async fn grant(&self, id: &SessionId) -> StoreResult<Option<$crate::GrantRecord>> {
                    sqlx::query(
                        "SELECT s.*, g.kind, g.for_client_id, g.permissions FROM sessions s \
                         JOIN session_grants g ON g.session_id = s.id WHERE s.id = $1",
                    )
                    .bind(id.as_str())
                    .fetch_optional(self.reader())
                    .await?
                    .map(|row| rows::grant(&row))
                    .transpose()
                }

                async fn list_grants(
                    &self,
                    tenant: &TenantId,
                    account: &AccountId,
                    now: OffsetDateTime,
                ) -> StoreResult<Vec<$crate::GrantRecord>> {
                    sqlx::query(
                        "SELECT s.*, g.kind, g.for_client_id, g.permissions FROM sessions s \
                         JOIN session_grants g ON g.session_id = s.id \
                         WHERE s.tenant_id = $1 AND s.account_id = $2 \
                         AND s.revoked_at IS NULL AND s.expires_at > $3 \
                         ORDER BY s.created_at DESC, s.id DESC",
                    )
                    .bind(tenant.as_str())
                    .bind(account.as_str())
                    .bind(millis(now))
                    .fetch_all(self.reader())
                    .await?
                    .iter()
                    .map(rows::grant)
                    .collect()
                }

                // ---- external authentications ---------------------------------------

                async fn put_external_auth(
                    &self,
                    record: &$crate::StoredExternalAuth,
                    audit: &AuditEvent,
                ) -> StoreResult<bool> {
                    self.write_audited(audit, async |conn| {
                        sqlx::query(concat!(
                            "SELECT role FROM memberships WHERE tenant_id = $1 AND account_id = $2",
                            $for_update
                        ))
                        .bind(record.tenant_id.as_str())
                        .bind(record.account_id.as_str())
                        .fetch_optional(&mut *conn)
                        .await?
                        .ok_or(StoreError::NotFound)?;
                        let updated = sqlx::query(
                            "UPDATE external_authentications SET service_user = $1, \
                             sealed_access_token = $2, access_token_expires = $3, \
                             sealed_access_secret = $4, access_secret_expires = $5, \
                             display_name = $6, state = $7, updated_at = $8 \
                             WHERE tenant_id = $9 AND account_id = $10 AND service = $11",
                        )
                        .bind(record.service_user.as_str())
                        .bind(record.sealed_access_token.as_slice())
                        .bind(record.access_token_expires.map(millis))
                        .bind(record.sealed_access_secret.as_deref())
                        .bind(record.access_secret_expires.map(millis))
                        .bind(record.display_name.as_deref())
                        .bind(record.state.as_deref())
                        .bind(millis(record.updated_at))
                        .bind(record.tenant_id.as_str())
                        .bind(record.account_id.as_str())
                        .bind(record.service.as_str())
                        .execute(&mut *conn)
                        .await?
                        .rows_affected();
                        let created = updated == 0;
                        if created {
                            sqlx::query(
                                "INSERT INTO external_authentications (tenant_id, account_id, \
                                 service, service_user, sealed_access_token, access_token_expires, \
                                 sealed_access_secret, access_secret_expires, display_name, state, \
                                 created_at, updated_at) \
                                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                            )
                            .bind(record.tenant_id.as_str())
                            .bind(record.account_id.as_str())
                            .bind(record.service.as_str())
                            .bind(record.service_user.as_str())
                            .bind(record.sealed_access_token.as_slice())
                            .bind(record.access_token_expires.map(millis))
                            .bind(record.sealed_access_secret.as_deref())
                            .bind(record.access_secret_expires.map(millis))
                            .bind(record.display_name.as_deref())
                            .bind(record.state.as_deref())
                            .bind(millis(record.created_at))
                            .bind(millis(record.updated_at))
                            .execute(&mut *conn)
                            .await?;
                        }
                        Ok(created)
                    })
                    .await
                }

                async fn external_auth(
                    &self,
                    tenant: &TenantId,
                    account: &AccountId,
                    service: &str,
                ) -> StoreResult<Option<$crate::StoredExternalAuth>> {
                    sqlx::query(
                        "SELECT * FROM external_authentications \
                         WHERE tenant_id = $1 AND account_id = $2 AND service = $3",
                    )
                    .bind(tenant.as_str())
                    .bind(account.as_str())
                    .bind(service)
                    .fetch_optional(self.reader())
                    .await?
                    .map(|row| rows::external_auth(&row))
                    .transpose()
                }

                async fn external_auths_of(
                    &self,
                    tenant: &TenantId,
                    account: &AccountId,
                ) -> StoreResult<Vec<$crate::StoredExternalAuth>> {
                    sqlx::query(
                        "SELECT * FROM external_authentications \
                         WHERE tenant_id = $1 AND account_id = $2 ORDER BY service",
                    )
                    .bind(tenant.as_str())
                    .bind(account.as_str())
                    .fetch_all(self.reader())
                    .await?
                    .iter()
                    .map(rows::external_auth)
                    .collect()
                }

                async fn external_auth_by_identity(
                    &self,
                    tenant: &TenantId,
                    service: &str,
                    service_user: &str,
                ) -> StoreResult<Option<$crate::StoredExternalAuth>> {
                    sqlx::query(
                        "SELECT * FROM external_authentications \
                         WHERE tenant_id = $1 AND service = $2 AND service_user = $3",
                    )
                    .bind(tenant.as_str())
                    .bind(service)
                    .bind(service_user)
                    .fetch_optional(self.reader())
                    .await?
                    .map(|row| rows::external_auth(&row))
                    .transpose()
                }

                async fn delete_external_auth(
                    &self,
                    tenant: &TenantId,
                    account: &AccountId,
                    service: &str,
                    audit: &AuditEvent,
                ) -> StoreResult<bool> {
                    let mut lane = self.write_lane().await?;
                    let mut tx = lane.begin().await?;
                    let deleted = sqlx::query(
                        "DELETE FROM external_authentications \
                         WHERE tenant_id = $1 AND account_id = $2 AND service = $3",
                    )
                    .bind(tenant.as_str())
                    .bind(account.as_str())
                    .bind(service)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if deleted == 0 {
                        return Ok(false);
                    }
                    Self::commit_audited(tx, audit).await?;
                    lane.durable().await?;
                    Ok(true)
                }

                // ---- authorization codes -------------------------------------------

                async fn create_authorization_code(&self, code: &AuthorizationCode) -> StoreResult<()> {
                    let mut lane = self.write_lane().await?;
                    let mut tx = lane.begin().await?;
                    sqlx::query(
                        "INSERT INTO authorization_codes (code_hash, tenant_id, client_id, session_id, \
                         redirect_uri, code_challenge, scope, nonce, created_at, expires_at, used_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL)",
                    )
                    .bind(&code.code_hash)
                    .bind(code.tenant_id.as_str())
                    .bind(&code.client_id)
                    .bind(code.session_id.as_str())
                    .bind(&code.redirect_uri)
                    .bind(code.code_challenge.as_deref())
                    .bind(&code.scope)
                    .bind(code.nonce.as_deref())
                    .bind(millis(code.created_at))
                    .bind(millis(code.expires_at))
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    lane.durable().await
                }

                async fn redeem_authorization_code(
                    &self,
                    code_hash: &str,
                    now: OffsetDateTime,
                ) -> StoreResult<Redemption> {
                    let mut lane = self.write_lane().await?;
                    let mut tx = lane.begin().await?;
                    let Some(row) = sqlx::query(concat!(
                        "SELECT * FROM authorization_codes WHERE code_hash = $1",
                        $for_update
                    ))
                    .bind(code_hash)
                    .fetch_optional(&mut *tx)
                    .await?
                    else {
                        return Ok(Redemption::Unknown);
                    };
                    let code = rows::authorization_code(&row)?;
                    if row.opt_int("used_at")?.is_some() {
                        // Replayed: whoever holds it is not to be trusted with what it gave.
                        sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                            .bind(millis(now))
                            .bind(code.session_id.as_str())
                            .execute(&mut *tx)
                            .await?;
                        sqlx::query("DELETE FROM refresh_tokens WHERE session_id = $1")
                            .bind(code.session_id.as_str())
                            .execute(&mut *tx)
                            .await?;
                        let account = sqlx::query("SELECT account_id FROM sessions WHERE id = $1")
                            .bind(code.session_id.as_str())
                            .fetch_optional(&mut *tx)
                            .await?
                            .map(|row| row.text("account_id"))
                            .transpose()?;
                        let event = AuditEvent {
                            id: AuditEventId::generate(),
                            tenant_id: Some(code.tenant_id.clone()),
                            actor: account.map(AccountId::from_string),
                            action: latchkey_core::audit::actions::CODE_REUSE.to_owned(),
                            target: Some(code.session_id.as_str().to_owned()),
                            outcome: AuditOutcome::Failure,
                            detail: serde_json::json!({"client_id": code.client_id}),
                            at: stored(now),
                        };
                        Self::commit_audited(tx, &event).await?;
                        lane.durable().await?;
                        return Ok(Redemption::AlreadyUsed);
                    }
                    if code.expires_at <= now {
                        return Ok(Redemption::Expired);
                    }
                    sqlx::query("UPDATE authorization_codes SET used_at = $1 WHERE code_hash = $2")
                        .bind(millis(now))
                        .bind(code_hash)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    lane.durable().await?;
                    Ok(Redemption::Redeemed(Box::new(code)))
                }

                async fn add_refresh_token(
                    &self,
                    session: &SessionId,
                    token_hash: &str,
                    expires_at: OffsetDateTime,
                    extend_session_to: Option<OffsetDateTime>,
                    now: OffsetDateTime,
                ) -> StoreResult<bool> {
                    let mut lane = self.write_lane().await?;
                    let mut tx = lane.begin().await?;
                    let Some(row) = sqlx::query(concat!("SELECT * FROM sessions WHERE id = $1", $for_update))
                        .bind(session.as_str())
                        .fetch_optional(&mut *tx)
                        .await?
                    else {
                        return Ok(false);
                    };
                    let mut current = rows::session(&row)?;
                    if !current.is_active(now) {
                        return Ok(false);
                    }
                    if let Some(end) = extend_session_to.filter(|end| *end > current.expires_at) {
                        sqlx::query("UPDATE sessions SET expires_at = $1 WHERE id = $2")
                            .bind(millis(end))
                            .bind(session.as_str())
                            .execute(&mut *tx)
                            .await?;
                        current.expires_at = stored(end);
                    }
                    Self::insert_refresh_token(&mut tx, token_hash, session, now, expires_at.min(current.expires_at))
                        .await?;
                    tx.commit().await?;
                    lane.durable().await?;
                    Ok(true)
                }

                // ---- signing keys --------------------------------------------------

                async fn signing_keys(&self, tenant: &TenantId) -> StoreResult<Vec<StoredSigningKey>> {
                    sqlx::query(
                        "SELECT * FROM signing_keys \
                         WHERE tenant_id = $1 AND status IN ('active', 'previous') \
                         ORDER BY CASE status WHEN 'active' THEN 0 ELSE 1 END, created_at DESC, id DESC",
                    )
                    .bind(tenant.as_str())
                    .fetch_all(self.reader())
                    .await?
                    .iter()
                    .map(rows::signing_key)
                    .collect()
                }

                async fn install_signing_key(
                    &self,
                    key: &StoredSigningKey,
                    rotate: bool,
                    audit: Option<&AuditEvent>,
                ) -> StoreResult<()> {
                    let mut lane = self.write_lane().await?;
                    let mut tx = lane.begin().await?;
                    if rotate {
                        // Locking the tenant serialises concurrent rotations, so each
                        // demotes the key the previous one installed instead of both
                        // racing for the single active slot.
                        sqlx::query(concat!("SELECT id FROM tenants WHERE id = $1", $for_update))
                            .bind(key.tenant_id.as_str())
                            .fetch_optional(&mut *tx)
                            .await?
                            .ok_or(StoreError::NotFound)?;
                        sqlx::query(
                            "UPDATE signing_keys SET status = 'retired' \
                             WHERE tenant_id = $1 AND status = 'previous'",
                        )
                        .bind(key.tenant_id.as_str())
                        .execute(&mut *tx)
                        .await?;
                        sqlx::query(
                            "UPDATE signing_keys SET status = 'previous' \
                             WHERE tenant_id = $1 AND status = 'active'",
                        )
                        .bind(key.tenant_id.as_str())
                        .execute(&mut *tx)
                        .await?;
                    }
                    // Whatever `key.status` says, the installed key is the active one.
                    sqlx::query(
                        "INSERT INTO signing_keys (id, tenant_id, algorithm, \
                         sealed_private_key, public_key_der, status, created_at) \
                         VALUES ($1, $2, $3, $4, $5, 'active', $6)",
                    )
                    .bind(key.id.as_str())
                    .bind(key.tenant_id.as_str())
                    .bind(key.algorithm.as_str())
                    .bind(key.sealed_private_key.as_slice())
                    .bind(key.public_key_der.as_slice())
                    .bind(millis(key.created_at))
                    .execute(&mut *tx)
                    .await?;
                    if let Some(audit) = audit {
                        Self::insert_audit(&mut tx, audit).await?;
                    }
                    tx.commit().await?;
                    lane.durable().await?;
                    Ok(())
                }

                // ---- multi-factor authentication -------------------------------------

                async fn account_mfa(&self, account: &AccountId) -> StoreResult<Option<AccountMfa>> {
                    let Some(row) = sqlx::query("SELECT * FROM account_mfa WHERE account_id = $1")
                        .bind(account.as_str())
                        .fetch_optional(self.reader())
                        .await?
                    else {
                        return Ok(None);
                    };
                    let codes = sqlx::query(
                        "SELECT code_hash FROM mfa_recovery_codes \
                         WHERE account_id = $1 AND used_at IS NULL ORDER BY code_hash",
                    )
                    .bind(account.as_str())
                    .fetch_all(self.reader())
                    .await?
                    .iter()
                    .map(|r| r.text("code_hash"))
                    .collect::<StoreResult<Vec<_>>>()?;
                    rows::account_mfa(&row, codes).map(Some)
                }

                async fn accounts_with_active_mfa(
                    &self,
                    accounts: &[AccountId],
                ) -> StoreResult<std::collections::HashSet<AccountId>> {
                    if accounts.is_empty() {
                        return Ok(std::collections::HashSet::new());
                    }
                    let mut query = sqlx::QueryBuilder::<$db>::new(
                        "SELECT account_id FROM account_mfa \
                         WHERE confirmed_at IS NOT NULL AND account_id IN (",
                    );
                    let mut list = query.separated(", ");
                    for account in accounts {
                        list.push_bind(account.as_str());
                    }
                    list.push_unseparated(")");
                    query
                        .build()
                        .fetch_all(self.reader())
                        .await?
                        .iter()
                        .map(|row| Ok(AccountId::from_string(row.text("account_id")?)))
                        .collect()
                }

                async fn begin_mfa_enrolment(
                    &self,
                    account: &AccountId,
                    sealed_secret: &[u8],
                    recovery_code_hashes: &[String],
                    now: OffsetDateTime,
                    audit: &AuditEvent,
                ) -> StoreResult<()> {
                    self.write_audited(audit, async |conn| {
                        sqlx::query(concat!("SELECT id FROM accounts WHERE id = $1", $for_update))
                            .bind(account.as_str())
                            .fetch_optional(&mut *conn)
                            .await?
                            .ok_or(StoreError::NotFound)?;
                        // A pending enrolment is replaced (its recovery codes cascade); an
                        // active one must be disabled first.
                        sqlx::query(
                            "DELETE FROM account_mfa WHERE account_id = $1 AND confirmed_at IS NULL",
                        )
                        .bind(account.as_str())
                        .execute(&mut *conn)
                        .await?;
                        let active = sqlx::query("SELECT account_id FROM account_mfa WHERE account_id = $1")
                            .bind(account.as_str())
                            .fetch_optional(&mut *conn)
                            .await?;
                        if active.is_some() {
                            return Err(StoreError::Conflict(crate::ConflictOn::Other));
                        }
                        sqlx::query(
                            "INSERT INTO account_mfa \
                             (account_id, sealed_secret, created_at, confirmed_at, last_step) \
                             VALUES ($1, $2, $3, NULL, NULL)",
                        )
                        .bind(account.as_str())
                        .bind(sealed_secret)
                        .bind(millis(now))
                        .execute(&mut *conn)
                        .await?;
                        for hash in recovery_code_hashes {
                            sqlx::query(
                                "INSERT INTO mfa_recovery_codes (account_id, code_hash, used_at) \
                                 VALUES ($1, $2, NULL)",
                            )
                            .bind(account.as_str())
                            .bind(hash.as_str())
                            .execute(&mut *conn)
                            .await?;
                        }
                        Ok(())
                    })
                    .await
                }

                async fn confirm_mfa_enrolment(
                    &self,
                    account: &AccountId,
                    step: i64,
                    now: OffsetDateTime,
                    clear_throttle: Option<&str>,
                    audit: &AuditEvent,
                ) -> StoreResult<bool> {
                    let mut lane = self.write_lane().await?;
                    let mut tx = lane.begin().await?;
                    let confirmed = sqlx::query(
                        "UPDATE account_mfa SET confirmed_at = $1, last_step = $2 \
                         WHERE account_id = $3 AND confirmed_at IS NULL",
                    )
                    .bind(millis(now))
                    .bind(step)
                    .bind(account.as_str())
                    .execute(&mut *tx)
                    .await?;
                    if confirmed.rows_affected() == 0 {
                        return Ok(false);
                    }
                    // With an active authenticator the account signs in with codes: its
                    // enrolment tokens are spent with the confirmation.
                    sqlx::query("DELETE FROM mfa_enrolment_tokens WHERE account_id = $1")
                        .bind(account.as_str())
                        .execute(&mut *tx)
                        .await?;
                    if let Some(key) = clear_throttle {
                        sqlx::query("DELETE FROM login_throttles WHERE login_key = $1")
                            .bind(key)
                            .execute(&mut *tx)
                            .await?;
                    }
                    Self::commit_audited(tx, audit).await?;
                    lane.durable().await?;
                    Ok(true)
                }

                async fn accept_totp_step(&self, account: &AccountId, step: i64) -> StoreResult<bool> {
                    // One statement: the row lock (PostgreSQL) or the single writer
                    // (SQLite) makes the comparison and the write indivisible, so of two
                    // nodes accepting the same code only one updates the row. The answer
                    // waits for the commit: an accepted step is durably spent.
                    let mut lane = self.write_lane().await?;
                    let mut tx = lane.begin().await?;
                    let accepted = sqlx::query(
                        "UPDATE account_mfa SET last_step = $1 \
                         WHERE account_id = $2 AND confirmed_at IS NOT NULL \
                         AND (last_step IS NULL OR last_step < $1)",
                    )
                    .bind(step)
                    .bind(account.as_str())
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    lane.durable().await?;
                    Ok(accepted.rows_affected() == 1)
                }

                async fn use_recovery_code(
                    &self,
                    account: &AccountId,
                    code_hash: &str,
                    now: OffsetDateTime,
                    audit: &AuditEvent,
                ) -> StoreResult<bool> {
                    let mut lane = self.write_lane().await?;
                    let mut tx = lane.begin().await?;
                    let spent = sqlx::query(
                        "UPDATE mfa_recovery_codes SET used_at = $1 \
                         WHERE account_id = $2 AND code_hash = $3 AND used_at IS NULL",
                    )
                    .bind(millis(now))
                    .bind(account.as_str())
                    .bind(code_hash)
                    .execute(&mut *tx)
                    .await?;
                    if spent.rows_affected() == 0 {
                        return Ok(false);
                    }
                    Self::commit_audited(tx, audit).await?;
                    lane.durable().await?;
                    Ok(true)
                }

                async fn remove_mfa(
                    &self,
                    account: &AccountId,
                    clear_throttle: Option<&str>,
                    audit: &AuditEvent,
                ) -> StoreResult<bool> {
                    let mut lane = self.write_lane().await?;
                    let mut tx = lane.begin().await?;
                    // Recovery codes cascade.
                    let removed = sqlx::query("DELETE FROM account_mfa WHERE account_id = $1")
                        .bind(account.as_str())
                        .execute(&mut *tx)
                        .await?;
                    if removed.rows_affected() == 0 {
                        return Ok(false);
                    }
                    if let Some(key) = clear_throttle {
                        sqlx::query("DELETE FROM login_throttles WHERE login_key = $1")
                            .bind(key)
                            .execute(&mut *tx)
                            .await?;
                    }
                    Self::commit_audited(tx, audit).await?;
                    lane.durable().await?;
                    Ok(true)
                }

                // ---- audit ---------------------------------------------------------

                // ---- terms of use -----------------------------------------------------

                async fn publish_terms(
                    &self,
                    terms: &TermsVersion,
                    audit: &AuditEvent,
                ) -> StoreResult<TermsVersion> {
                    self.write_audited(audit, async |conn| {
                        // Locking the tenant row serialises publications (PostgreSQL), so two
                        // racing publishers cannot both pass the "later than the newest" check.
                        sqlx::query(concat!("SELECT id FROM tenants WHERE id = $1", $for_update))
                            .bind(terms.tenant_id.as_str())
                            .fetch_optional(&mut *conn)
                            .await?
                            .ok_or(StoreError::NotFound)?;
                        let newest: Option<i64> = sqlx::query(
                            "SELECT MAX(version) AS newest FROM terms_versions WHERE tenant_id = $1",
                        )
                        .bind(terms.tenant_id.as_str())
                        .fetch_one(&mut *conn)
                        .await?
                        .opt_int("newest")?;
                        if newest.is_some_and(|n| n >= terms.version) {
                            return Err(StoreError::Conflict(crate::ConflictOn::Other));
                        }
                        sqlx::query(
                            "INSERT INTO terms_versions \
                             (tenant_id, version, public_url, enforce_date, created_at) \
                             VALUES ($1, $2, $3, $4, $5)",
                        )
                        .bind(terms.tenant_id.as_str())
                        .bind(terms.version)
                        .bind(terms.public_url.as_str())
                        .bind(millis(terms.enforce_date))
                        .bind(millis(terms.created_at))
                        .execute(&mut *conn)
                        .await?;
                        Ok(TermsVersion {
                            enforce_date: stored(terms.enforce_date),
                            created_at: stored(terms.created_at),
                            ..terms.clone()
                        })
                    })
                    .await
                }

                async fn terms_versions(&self, tenant: &TenantId) -> StoreResult<Vec<TermsVersion>> {
                    sqlx::query(
                        "SELECT * FROM terms_versions WHERE tenant_id = $1 ORDER BY version DESC",
                    )
                    .bind(tenant.as_str())
                    .fetch_all(self.reader())
                    .await?
                    .iter()
                    .map(rows::terms_version)
                    .collect()
                }

                async fn accept_terms(
                    &self,
                    acceptance: &TermsAcceptance,
                    audit: &AuditEvent,
                ) -> StoreResult<bool> {
                    let mut lane = self.write_lane().await?;
                    let mut tx = lane.begin().await?;
                    sqlx::query(
                        "SELECT version FROM terms_versions WHERE tenant_id = $1 AND version = $2",
                    )
                    .bind(acceptance.tenant_id.as_str())
                    .bind(acceptance.version)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or(StoreError::NotFound)?;
                    let inserted = sqlx::query(
                        "INSERT INTO terms_acceptances (tenant_id, account_id, version, accepted_at) \
                         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                    )
                    .bind(acceptance.tenant_id.as_str())
                    .bind(acceptance.account_id.as_str())
                    .bind(acceptance.version)
                    .bind(millis(acceptance.accepted_at))
                    .execute(&mut *tx)
                    .await?;
                    if inserted.rows_affected() == 0 {
                        return Ok(false);
                    }
                    Self::commit_audited(tx, audit).await?;
                    lane.durable().await?;
                    Ok(true)
                }

                async fn accepted_terms(
                    &self,
                    tenant: &TenantId,
                    account: &AccountId,
                ) -> StoreResult<Vec<TermsAcceptance>> {
                    sqlx::query(
                        "SELECT * FROM terms_acceptances WHERE tenant_id = $1 AND account_id = $2 \
                         ORDER BY version DESC",
                    )
                    .bind(tenant.as_str())
                    .bind(account.as_str())
                    .fetch_all(self.reader())
                    .await?
                    .iter()
                    .map(rows::terms_acceptance)
                    .collect()
                }

                async fn most_recently_used_tenant(
                    &self,
                    account: &AccountId,
                ) -> StoreResult<Option<TenantId>> {
                    // An account has few memberships; each newest-session lookup uses the
                    // (tenant_id, account_id) index of sessions.
                    let row = sqlx::query(
                        "SELECT tenant_id FROM (SELECT m.tenant_id, m.created_at AS joined_at, \
                         (SELECT MAX(s.created_at) FROM sessions s \
                          WHERE s.tenant_id = m.tenant_id AND s.account_id = m.account_id) AS last_used \
                         FROM memberships m WHERE m.account_id = $1) used \
                         ORDER BY (CASE WHEN last_used IS NULL THEN 1 ELSE 0 END), last_used DESC, \
                         joined_at, tenant_id LIMIT 1",
                    )
                    .bind(account.as_str())
                    .fetch_optional(self.reader())
                    .await?;
                    row.map(|r| r.text("tenant_id").map(TenantId::from_string))
                        .transpose()
                }

                async fn append_audit(&self, event: &AuditEvent) -> StoreResult<()> {
                    // The event is the whole write.
                    self.write_audited(event, async |_| Ok(())).await
                }

                async fn list_audit(
                    &self,
                    tenant: &TenantId,
                    page: &PageRequest,
                ) -> StoreResult<Page<AuditEvent>> {
                    let after = page.after.as_deref().map(rows::parse_audit_cursor).transpose()?;
                    let (after_at, after_id) = after.unzip();
                    let events = sqlx::query(
                        "SELECT * FROM audit_events WHERE tenant_id = $1 \
                         AND ($2 IS NULL OR at < $2 OR (at = $2 AND id < $3)) \
                         ORDER BY at DESC, id DESC LIMIT $4",
                    )
                    .bind(tenant.as_str())
                    .bind(after_at)
                    .bind(after_id)
                    .bind(page.fetch_limit())
                    .fetch_all(self.reader())
                    .await?
                    .iter()
                    .map(rows::audit_event)
                    .collect::<StoreResult<Vec<_>>>()?;
                    Ok(Page::from_overfetch(events, page, rows::audit_cursor))
                }
            }
        };
        // The bodies of the enrolment-token methods (sql/mfa_enrolment.rs).
        $crate::sql::mfa_enrolment::impl_mfa_enrolment!($store, $db);
    };
}

pub(crate) use bind_member_filter;
pub(crate) use impl_store;
pub(crate) use member_filter;

#[cfg(test)]
mod tests {
    /// Every string literal in this file that holds SQL must introduce its placeholders in
    /// numeric order (`$1` before `$2`…), the rule that keeps positional binding and SQLite's
    /// named `$N` parameters in agreement. (A statement's first literal starts at `$1`
    /// because binding starts there; continuation fragments pick up where it stopped.)
    #[test]
    fn placeholders_first_appear_in_numeric_order() {
        let source: String = include_str!("sql.rs")
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let mut checked = 0;
        for literal in source.split('"').skip(1).step_by(2) {
            let mut seen: Vec<u32> = Vec::new();
            for (_, rest) in literal
                .match_indices('$')
                .map(|(i, _)| literal.split_at(i + 1))
            {
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                if let Ok(n) = digits.parse::<u32>()
                    && !seen.contains(&n)
                {
                    // A fragment glued on with `concat!` continues a statement, so it may
                    // start above 1; within a literal the numbers still go up one by one.
                    let expected = seen.last().map_or(n, |last| last + 1);
                    assert_eq!(n, expected, "in {literal:?}");
                    seen.push(n);
                }
            }
            checked += usize::from(!seen.is_empty());
        }
        assert!(checked > 40, "only {checked} statements found");
    }
}
