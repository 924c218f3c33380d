//! The SQL of enrolment tokens (migration 0016): what a member of a tenant that requires
//! multi-factor authentication gets at sign-in instead of a session while it has no
//! authenticator. Expanded per backend like [`impl_store!`](crate::sql::impl_store); the
//! [`Store`](crate::Store) methods delegate here.

macro_rules! impl_mfa_enrolment {
    ($store:ty, $db:ty) => {
        const _: () = {
            use latchkey_core::{AccountId, AuditEvent, TenantId};
            use time::OffsetDateTime;
            use $crate::sql::rows::{Columns as _, millis};
            use $crate::{StoreError, StoreResult};

            impl $store {
                pub(crate) async fn sql_create_mfa_enrolment_token(
                    &self,
                    token_hash: &str,
                    account: &AccountId,
                    tenant: &TenantId,
                    expires_at: OffsetDateTime,
                    now: OffsetDateTime,
                    audit: &AuditEvent,
                ) -> StoreResult<()> {
                    self.write_audited(audit, async |conn| {
                        // Only for a member: a token never outlives the check it was issued
                        // after by naming a tenant the account is not in.
                        let inserted = sqlx::query(
                            "INSERT INTO mfa_enrolment_tokens \
                             (token_hash, account_id, tenant_id, expires_at, created_at) \
                             SELECT $1, $2, $3, $4, $5 FROM memberships \
                             WHERE account_id = $2 AND tenant_id = $3",
                        )
                        .bind(token_hash)
                        .bind(account.as_str())
                        .bind(tenant.as_str())
                        .bind(millis(expires_at))
                        .bind(millis(now))
                        .execute(&mut *conn)
                        .await?;
                        if inserted.rows_affected() == 0 {
                            return Err(StoreError::NotFound);
                        }
                        Ok(())
                    })
                    .await
                }

                pub(crate) async fn sql_mfa_enrolment_token(
                    &self,
                    token_hash: &str,
                    now: OffsetDateTime,
                ) -> StoreResult<Option<(AccountId, TenantId)>> {
                    let row = sqlx::query(
                        "SELECT account_id, tenant_id FROM mfa_enrolment_tokens \
                         WHERE token_hash = $1 AND expires_at > $2",
                    )
                    .bind(token_hash)
                    .bind(millis(now))
                    .fetch_optional(self.reader())
                    .await?;
                    row.map(|row| {
                        Ok((
                            AccountId::from_string(row.text("account_id")?),
                            TenantId::from_string(row.text("tenant_id")?),
                        ))
                    })
                    .transpose()
                }

                pub(crate) async fn sql_delete_mfa_enrolment_tokens(
                    &self,
                    account: &AccountId,
                ) -> StoreResult<u64> {
                    let mut lane = self.write_lane().await?;
                    let mut tx = lane.begin().await?;
                    let deleted =
                        sqlx::query("DELETE FROM mfa_enrolment_tokens WHERE account_id = $1")
                            .bind(account.as_str())
                            .execute(&mut *tx)
                            .await?
                            .rows_affected();
                    tx.commit().await?;
                    lane.durable().await?;
                    Ok(deleted)
                }
            }
        };
    };
}

pub(crate) use impl_mfa_enrolment;
