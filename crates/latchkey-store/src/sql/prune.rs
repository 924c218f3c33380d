//! The SQL of a dormant-account prune and of bringing pruned members back
//! ([`Store::prune_members`](crate::Store::prune_members),
//! [`Store::restore_pruned`](crate::Store::restore_pruned)), expanded per backend like
//! [`impl_store!`](crate::sql::impl_store). A tombstone is a row moved to a `pruned_*`
//! table (migration 0007), so nothing else in the store needs to know about pruning.

/// The most members one prune batch removes: bounds the transaction (and the time the
/// SQLite writer is held) and keeps every `IN (…)` list and the audit `INSERT` (8
/// parameters a row) far below SQLite's 32,766 bound parameters.
pub const MAX_PRUNE_BATCH: u32 = 1000;

/// The columns `accounts` and `pruned_accounts` share.
pub(crate) const ACCOUNT_COLUMNS: &str = "id, email, email_key, username, username_key, \
     display_name, custom_data, platform_admin, disabled, password_hash, created_at, last_login_at";

/// The columns `external_authentications` and `pruned_external_authentications` share.
pub(crate) const EXTERNAL_AUTH_COLUMNS: &str = "tenant_id, account_id, service, service_user, \
     sealed_access_token, access_token_expires, sealed_access_secret, access_secret_expires, \
     display_name, state, created_at, updated_at";

/// `$refresh_statistics`: a statement run before the first batch of a run, or `""`.
/// PostgreSQL plans from table statistics that autovacuum refreshes only now and then;
/// straight after a bulk import they still describe a nearly empty table, and the
/// planner then sorts the whole tenant for every batch (0.9 s a batch at 100,000
/// members) instead of walking the email index. One `ANALYZE` per run costs a sample of
/// 30,000 rows. SQLite's planner needs no statistics for this query.
macro_rules! impl_prune {
    ($store:ty, $db:ty, refresh_statistics = $refresh_statistics:literal) => {
        const _: () = {
            use $crate::sql::prune::{ACCOUNT_COLUMNS, EXTERNAL_AUTH_COLUMNS, MAX_PRUNE_BATCH};
            use $crate::sql::rows::{self, Columns as _, millis, to_json};
            use $crate::{MemberFilter, PruneBatch, StoreError, StoreResult};
            use latchkey_core::{AccountId, AuditEvent, AuditEventId, RoleName, TenantId};
            // (RoleName is named by bind_member_filter!.)
            use time::OffsetDateTime;

            type Conn = <$db as sqlx::Database>::Connection;

            /// Appends ` IN ($a, $b, …)` binding `ids`.
            fn push_in<'a>(query: &mut sqlx::QueryBuilder<'a, $db>, ids: &'a [String]) {
                query.push(" IN (");
                let mut list = query.separated(", ");
                for id in ids {
                    list.push_bind(id.as_str());
                }
                list.push_unseparated(")");
            }

            /// A copy of `template` about one account: a fresh id, the account as target,
            /// `extra` merged into the detail.
            fn event_for(template: &AuditEvent, account: &str, extra: serde_json::Value) -> AuditEvent {
                let mut event = template.clone();
                event.id = AuditEventId::generate();
                event.target = Some(account.to_owned());
                if let (serde_json::Value::Object(detail), serde_json::Value::Object(extra)) =
                    (&mut event.detail, extra)
                {
                    detail.extend(extra);
                }
                event
            }

            impl $store {
                /// Writes `events` with multi-row `INSERT`s.
                async fn insert_audit_events(conn: &mut Conn, events: &[AuditEvent]) -> StoreResult<()> {
                    for chunk in events.chunks(MAX_PRUNE_BATCH as usize) {
                        let details = chunk
                            .iter()
                            .map(|event| to_json(&event.detail))
                            .collect::<StoreResult<Vec<_>>>()?;
                        let mut insert = sqlx::QueryBuilder::<$db>::new(
                            "INSERT INTO audit_events \
                             (id, tenant_id, actor, action, target, outcome, detail, at) ",
                        );
                        insert.push_values(chunk.iter().zip(&details), |mut row, (event, detail)| {
                            row.push_bind(event.id.as_str())
                                .push_bind(event.tenant_id.as_ref().map(TenantId::as_str))
                                .push_bind(event.actor.as_ref().map(AccountId::as_str))
                                .push_bind(event.action.as_str())
                                .push_bind(event.target.as_deref())
                                .push_bind(event.outcome.as_str())
                                .push_bind(detail.as_str())
                                .push_bind(millis(event.at));
                        });
                        insert.build().execute(&mut *conn).await?;
                    }
                    Ok(())
                }

                #[allow(clippy::too_many_arguments)]
                pub(crate) async fn prune_batch(
                    &self,
                    tenant: &TenantId,
                    filter: &MemberFilter,
                    after: Option<&str>,
                    limit: u32,
                    pruned_by: &AccountId,
                    now: OffsetDateTime,
                    audit: &AuditEvent,
                ) -> StoreResult<PruneBatch> {
                    let limit = limit.clamp(1, MAX_PRUNE_BATCH);
                    if after.is_none() && !$refresh_statistics.is_empty() {
                        sqlx::query($refresh_statistics).execute(self.reader()).await?;
                    }
                    let mut lane = self.write_lane().await?;
                    let mut tx = lane.begin().await?;
                    // The victims are chosen inside the transaction, with the member
                    // list's filter and order: what a dry run listed, and never a member
                    // that changed since (signed in, became an administrator).
                    // The limit is written into the text rather than bound: PostgreSQL
                    // switches a prepared statement to a generic plan after five runs,
                    // and a generic plan (which assumes a large LIMIT) joins and sorts
                    // every member of the tenant instead of walking the email index.
                    let order = format!(" ORDER BY m.email_key LIMIT {limit}");
                    let select = if after.is_some() {
                        concat!(
                            "SELECT m.account_id AS account_id, m.email_key AS email_key, \
                             m.role AS member_role, a.email AS email, \
                             a.platform_admin AS platform_admin ",
                            $crate::sql::member_filter!(),
                            " AND m.email_key > $11",
                        )
                    } else {
                        concat!(
                            "SELECT m.account_id AS account_id, m.email_key AS email_key, \
                             m.role AS member_role, a.email AS email, \
                             a.platform_admin AS platform_admin ",
                            $crate::sql::member_filter!(),
                            " AND $11 IS NULL",
                        )
                    };
                    let select = format!("{select}{order}");
                    let victims = $crate::sql::bind_member_filter!(sqlx::query(&select), tenant, filter)
                        .bind(after)
                        .fetch_all(&mut *tx)
                        .await?;
                    let Some(last) = victims.last() else {
                        return Ok(PruneBatch::default());
                    };
                    let last_key = last.text("email_key")?;
                    let mut ids = Vec::with_capacity(victims.len());
                    let mut events = Vec::with_capacity(victims.len());
                    for row in &victims {
                        ids.push(row.text("account_id")?);
                    }
                    let at = millis(now);

                    let mut keep = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO pruned_memberships \
                         (tenant_id, account_id, role, created_at, pruned_at, pruned_by) \
                         SELECT tenant_id, account_id, role, created_at, ",
                    );
                    keep.push_bind(at)
                        .push(", ")
                        .push_bind(pruned_by.as_str())
                        .push(" FROM memberships WHERE tenant_id = ")
                        .push_bind(tenant.as_str())
                        .push(" AND account_id");
                    push_in(&mut keep, &ids);
                    // A tombstone from an earlier prune (the member was added back by
                    // hand since) gives way to this one.
                    keep.push(
                        " ON CONFLICT (tenant_id, account_id) DO UPDATE SET \
                         role = excluded.role, created_at = excluded.created_at, \
                         pruned_at = excluded.pruned_at, pruned_by = excluded.pruned_by",
                    );
                    keep.build().execute(&mut *tx).await?;

                    Self::entomb_places(&mut tx, tenant, &ids).await?;

                    let mut end_sessions = sqlx::QueryBuilder::<$db>::new("UPDATE sessions SET revoked_at = ");
                    end_sessions
                        .push_bind(at)
                        .push(" WHERE revoked_at IS NULL AND tenant_id = ")
                        .push_bind(tenant.as_str())
                        .push(" AND account_id");
                    push_in(&mut end_sessions, &ids);
                    end_sessions.build().execute(&mut *tx).await?;

                    let mut remove = sqlx::QueryBuilder::<$db>::new("DELETE FROM memberships WHERE tenant_id = ");
                    remove.push_bind(tenant.as_str()).push(" AND account_id");
                    push_in(&mut remove, &ids);
                    remove.build().execute(&mut *tx).await?;

                    // Accounts now without any tenant would be unreachable with their
                    // email taken for ever: they move to the tombstone too. The ones
                    // that stay are found by probing the account index for the batch's
                    // ids; asking "which of these have no membership left" instead lets
                    // PostgreSQL hash-join the whole memberships table on every batch,
                    // which made a batch's cost grow with the tenant.
                    let mut shared_query = sqlx::QueryBuilder::<$db>::new(
                        "SELECT DISTINCT account_id FROM memberships WHERE account_id",
                    );
                    push_in(&mut shared_query, &ids);
                    let still_members = shared_query
                        .build()
                        .fetch_all(&mut *tx)
                        .await?
                        .iter()
                        .map(|row| row.text("account_id"))
                        .collect::<StoreResult<std::collections::HashSet<String>>>()?;
                    let mut orphans = std::collections::HashSet::new();
                    for row in &victims {
                        let id = row.text("account_id")?;
                        if !row.flag("platform_admin")? && !still_members.contains(&id) {
                            orphans.insert(id);
                        }
                    }
                    if !orphans.is_empty() {
                        let orphans: Vec<String> = orphans.iter().cloned().collect();
                        Self::entomb_accounts(&mut tx, &orphans, at, pruned_by).await?;
                    }

                    for row in &victims {
                        let id = row.text("account_id")?;
                        events.push(event_for(
                            audit,
                            &id,
                            serde_json::json!({
                                "email": row.text("email")?,
                                "role": row.text("member_role")?,
                                "account_removed": orphans.contains(&id),
                            }),
                        ));
                    }
                    Self::insert_audit_events(&mut tx, &events).await?;
                    tx.commit().await?;
                    lane.durable().await?;
                    Ok(PruneBatch {
                        pruned: victims.len() as u64,
                        accounts_removed: orphans.len() as u64,
                        last_key: Some(last_key),
                    })
                }

                /// Copies the group and project places of the members `ids` of `tenant`
                /// beside their membership tombstones (replacing those of an earlier
                /// prune), before removing the memberships cascades them away.
                async fn entomb_places(
                    conn: &mut Conn,
                    tenant: &TenantId,
                    ids: &[String],
                ) -> StoreResult<()> {
                    for (tombstone, live, columns) in [
                        ("pruned_group_members", "group_members", "group_id, tenant_id, account_id, created_at"),
                        (
                            "pruned_project_account_members",
                            "project_account_members",
                            "project_id, tenant_id, account_id, role, created_at",
                        ),
                    ] {
                        let mut stale = sqlx::QueryBuilder::<$db>::new(format!(
                            "DELETE FROM {tombstone} WHERE tenant_id = "
                        ));
                        stale.push_bind(tenant.as_str()).push(" AND account_id");
                        push_in(&mut stale, ids);
                        stale.build().execute(&mut *conn).await?;
                        let mut copy = sqlx::QueryBuilder::<$db>::new(format!(
                            "INSERT INTO {tombstone} ({columns}) SELECT {columns} FROM {live} \
                             WHERE tenant_id = "
                        ));
                        copy.push_bind(tenant.as_str()).push(" AND account_id");
                        push_in(&mut copy, ids);
                        copy.build().execute(&mut *conn).await?;
                    }
                    Ok(())
                }

                /// Moves the accounts `ids` (with their authenticators and terms-of-use
                /// acceptances) to the tombstone tables and deletes them; their sessions
                /// cascade.
                async fn entomb_accounts(
                    conn: &mut Conn,
                    ids: &[String],
                    at: i64,
                    pruned_by: &AccountId,
                ) -> StoreResult<()> {
                    let mut copy = sqlx::QueryBuilder::<$db>::new(format!(
                        "INSERT INTO pruned_accounts ({ACCOUNT_COLUMNS}, pruned_at, pruned_by) \
                         SELECT {ACCOUNT_COLUMNS}, "
                    ));
                    copy.push_bind(at)
                        .push(", ")
                        .push_bind(pruned_by.as_str())
                        .push(" FROM accounts WHERE id");
                    push_in(&mut copy, ids);
                    copy.build().execute(&mut *conn).await?;
                    let mut mfa = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO pruned_account_mfa \
                         (account_id, sealed_secret, created_at, confirmed_at, last_step) \
                         SELECT account_id, sealed_secret, created_at, confirmed_at, last_step \
                         FROM account_mfa WHERE account_id",
                    );
                    push_in(&mut mfa, ids);
                    mfa.build().execute(&mut *conn).await?;
                    let mut codes = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO pruned_mfa_recovery_codes (account_id, code_hash, used_at) \
                         SELECT account_id, code_hash, used_at FROM mfa_recovery_codes \
                         WHERE account_id",
                    );
                    push_in(&mut codes, ids);
                    codes.build().execute(&mut *conn).await?;
                    let mut terms = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO pruned_terms_acceptances \
                         (tenant_id, account_id, version, accepted_at) \
                         SELECT tenant_id, account_id, version, accepted_at \
                         FROM terms_acceptances WHERE account_id",
                    );
                    push_in(&mut terms, ids);
                    terms.build().execute(&mut *conn).await?;
                    let mut external = sqlx::QueryBuilder::<$db>::new(format!(
                        "INSERT INTO pruned_external_authentications ({EXTERNAL_AUTH_COLUMNS}) \
                         SELECT {EXTERNAL_AUTH_COLUMNS} FROM external_authentications WHERE account_id"
                    ));
                    push_in(&mut external, ids);
                    external.build().execute(&mut *conn).await?;
                    let mut delete = sqlx::QueryBuilder::<$db>::new("DELETE FROM accounts WHERE id");
                    push_in(&mut delete, ids);
                    delete.build().execute(&mut *conn).await?;
                    Ok(())
                }

                pub(crate) async fn restore_batch(
                    &self,
                    tenant: &TenantId,
                    accounts: &[AccountId],
                    pruned_since: OffsetDateTime,
                    audit: &AuditEvent,
                ) -> StoreResult<u64> {
                    let mut lane = self.write_lane().await?;
                    let mut tx = lane.begin().await?;
                    let mut events = Vec::with_capacity(accounts.len());
                    for account in accounts {
                        let role = sqlx::query(
                            "SELECT role FROM pruned_memberships \
                             WHERE tenant_id = $1 AND account_id = $2 AND pruned_at >= $3",
                        )
                        .bind(tenant.as_str())
                        .bind(account.as_str())
                        .bind(millis(pruned_since))
                        .fetch_optional(&mut *tx)
                        .await?
                        .ok_or(StoreError::NotFound)?
                        .text("role")?;
                        let entombed = sqlx::query("SELECT id FROM pruned_accounts WHERE id = $1")
                            .bind(account.as_str())
                            .fetch_optional(&mut *tx)
                            .await?
                            .is_some();
                        if entombed {
                            // Fails on the unique email or username index when either
                            // was registered again meanwhile: a conflict, nothing written.
                            sqlx::query(&format!(
                                "INSERT INTO accounts ({ACCOUNT_COLUMNS}) \
                                 SELECT {ACCOUNT_COLUMNS} FROM pruned_accounts WHERE id = $1"
                            ))
                            .bind(account.as_str())
                            .execute(&mut *tx)
                            .await?;
                            sqlx::query(
                                "INSERT INTO account_mfa \
                                 (account_id, sealed_secret, created_at, confirmed_at, last_step) \
                                 SELECT account_id, sealed_secret, created_at, confirmed_at, last_step \
                                 FROM pruned_account_mfa WHERE account_id = $1",
                            )
                            .bind(account.as_str())
                            .execute(&mut *tx)
                            .await?;
                            sqlx::query(
                                "INSERT INTO mfa_recovery_codes (account_id, code_hash, used_at) \
                                 SELECT account_id, code_hash, used_at \
                                 FROM pruned_mfa_recovery_codes WHERE account_id = $1",
                            )
                            .bind(account.as_str())
                            .execute(&mut *tx)
                            .await?;
                            sqlx::query(
                                "INSERT INTO terms_acceptances \
                                 (tenant_id, account_id, version, accepted_at) \
                                 SELECT tenant_id, account_id, version, accepted_at \
                                 FROM pruned_terms_acceptances WHERE account_id = $1",
                            )
                            .bind(account.as_str())
                            .execute(&mut *tx)
                            .await?;
                            // An identity taken by another account meanwhile stays
                            // with it; this account simply loses that link.
                            sqlx::query(&format!(
                                "INSERT INTO external_authentications ({EXTERNAL_AUTH_COLUMNS}) \
                                 SELECT {EXTERNAL_AUTH_COLUMNS} FROM pruned_external_authentications \
                                 WHERE account_id = $1 ON CONFLICT DO NOTHING"
                            ))
                            .bind(account.as_str())
                            .execute(&mut *tx)
                            .await?;
                            // The authenticator's, the acceptances' and the external
                            // authentications' copies cascade.
                            sqlx::query("DELETE FROM pruned_accounts WHERE id = $1")
                                .bind(account.as_str())
                                .execute(&mut *tx)
                                .await?;
                        }
                        // The account may have been deleted since (it stayed because it
                        // belonged elsewhere): then there is nothing to come back to.
                        let restored = sqlx::query(
                            "INSERT INTO memberships (tenant_id, account_id, role, created_at, email_key) \
                             SELECT p.tenant_id, p.account_id, p.role, p.created_at, a.email_key \
                             FROM pruned_memberships p JOIN accounts a ON a.id = p.account_id \
                             WHERE p.tenant_id = $1 AND p.account_id = $2 \
                             ON CONFLICT (tenant_id, account_id) DO NOTHING",
                        )
                        .bind(tenant.as_str())
                        .bind(account.as_str())
                        .execute(&mut *tx)
                        .await?;
                        let still_exists = restored.rows_affected() > 0
                            || sqlx::query("SELECT id FROM accounts WHERE id = $1")
                                .bind(account.as_str())
                                .fetch_optional(&mut *tx)
                                .await?
                                .is_some();
                        if !still_exists {
                            return Err(StoreError::NotFound);
                        }
                        // Back into the groups and projects that still exist (the
                        // copies of deleted ones went with them); the tombstone's
                        // deletion below cascades the copies.
                        for (live, tombstone, columns) in [
                            ("group_members", "pruned_group_members", "group_id, tenant_id, account_id, created_at"),
                            (
                                "project_account_members",
                                "pruned_project_account_members",
                                "project_id, tenant_id, account_id, role, created_at",
                            ),
                        ] {
                            sqlx::query(&format!(
                                "INSERT INTO {live} ({columns}) SELECT {columns} FROM {tombstone} \
                                 WHERE tenant_id = $1 AND account_id = $2 ON CONFLICT DO NOTHING"
                            ))
                            .bind(tenant.as_str())
                            .bind(account.as_str())
                            .execute(&mut *tx)
                            .await?;
                        }
                        sqlx::query("DELETE FROM pruned_memberships WHERE tenant_id = $1 AND account_id = $2")
                            .bind(tenant.as_str())
                            .bind(account.as_str())
                            .execute(&mut *tx)
                            .await?;
                        events.push(event_for(
                            audit,
                            account.as_str(),
                            serde_json::json!({
                                "role": role,
                                "account_restored": entombed,
                            }),
                        ));
                    }
                    Self::insert_audit_events(&mut tx, &events).await?;
                    tx.commit().await?;
                    lane.durable().await?;
                    Ok(accounts.len() as u64)
                }
            }
        };
    };
}

pub(crate) use impl_prune;
