//! Conversions between rows and domain types, written once for both backends.
//!
//! Rows are read by column name through [`Columns`], which is implemented for any sqlx row
//! whose database decodes the handful of column types the schema uses. Anything that does
//! not parse back into the domain is reported as [`StoreError::Corrupt`]: it was written
//! by a bug or by hand, never by a client.

use latchkey_core::clock::{from_unix_millis, unix_millis};
use latchkey_core::{
    Account, AccountId, AccountPatch, Application, AuditEvent, AuditEventId, AuditOutcome,
    ClientId, Email, GrantType, LoginThrottle, Membership, Role, RoleName, Session, SessionId,
    SigningKeyId, Tenant, TenantDomain, TenantId, TenantPatch, Username,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::{ColumnIndex, Decode, Row, Type};
use time::OffsetDateTime;

use crate::{SigningKeyStatus, StoreError, StoreResult, StoredSigningKey};

/// Typed access to a row's columns by name.
pub(crate) trait Columns {
    fn text(&self, column: &str) -> StoreResult<String>;
    fn opt_text(&self, column: &str) -> StoreResult<Option<String>>;
    fn int(&self, column: &str) -> StoreResult<i64>;
    fn opt_int(&self, column: &str) -> StoreResult<Option<i64>>;
    fn flag(&self, column: &str) -> StoreResult<bool>;
    fn bytes(&self, column: &str) -> StoreResult<Vec<u8>>;
    fn opt_bytes(&self, column: &str) -> StoreResult<Option<Vec<u8>>>;

    fn time(&self, column: &str) -> StoreResult<OffsetDateTime> {
        self.int(column).map(from_unix_millis)
    }
    fn opt_time(&self, column: &str) -> StoreResult<Option<OffsetDateTime>> {
        Ok(self.opt_int(column)?.map(from_unix_millis))
    }
    fn json<T: DeserializeOwned>(&self, column: &str) -> StoreResult<T> {
        let text = self.text(column)?;
        serde_json::from_str(&text).map_err(|e| corrupt(column, e))
    }
}

fn corrupt(column: &str, error: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("column {column}: {error}"))
}

fn get<'r, R, T>(row: &'r R, column: &str) -> StoreResult<T>
where
    R: Row,
    for<'a> &'a str: ColumnIndex<R>,
    T: Decode<'r, R::Database> + Type<R::Database>,
{
    row.try_get(column).map_err(|e| corrupt(column, e))
}

impl<R> Columns for R
where
    R: Row,
    for<'a> &'a str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> bool: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
{
    fn text(&self, column: &str) -> StoreResult<String> {
        get(self, column)
    }
    fn opt_text(&self, column: &str) -> StoreResult<Option<String>> {
        get(self, column)
    }
    fn int(&self, column: &str) -> StoreResult<i64> {
        get(self, column)
    }
    fn opt_int(&self, column: &str) -> StoreResult<Option<i64>> {
        get(self, column)
    }
    fn flag(&self, column: &str) -> StoreResult<bool> {
        get(self, column)
    }
    fn bytes(&self, column: &str) -> StoreResult<Vec<u8>> {
        get(self, column)
    }
    fn opt_bytes(&self, column: &str) -> StoreResult<Option<Vec<u8>>> {
        get(self, column)
    }
}

// ---- values written ------------------------------------------------------------------

/// The stored form of an instant.
pub(crate) fn millis(t: OffsetDateTime) -> i64 {
    unix_millis(t)
}

/// `t` as it reads back from the store (millisecond precision), so a value returned by a
/// write equals the same value read later.
pub(crate) fn stored(t: OffsetDateTime) -> OffsetDateTime {
    from_unix_millis(unix_millis(t))
}

pub(crate) fn to_json(value: &impl Serialize) -> StoreResult<String> {
    // Only maps with non-string keys fail to serialise; none of our types have them.
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(format!("serialising: {e}")))
}

/// A `LIKE` pattern matching strings that start with `prefix`; used with `ESCAPE '\'`.
pub(crate) fn like_prefix(prefix: &str) -> String {
    let mut pattern = escape_like(prefix);
    pattern.push('%');
    pattern
}

/// A LIKE pattern matching `text` anywhere.
pub(crate) fn like_substring(text: &str) -> String {
    format!("%{}%", escape_like(text))
}

fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len() + 2);
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

// ---- cursors -------------------------------------------------------------------------

/// The audit log's cursor: the last event's time and id, `"{at_millis}.{id}"`.
pub(crate) fn audit_cursor(event: &AuditEvent) -> String {
    format!("{}.{}", millis(event.at), event.id)
}

/// Parses an audit cursor; a malformed one is the client's mistake.
pub(crate) fn parse_audit_cursor(cursor: &str) -> StoreResult<(i64, String)> {
    let (at, id) = cursor.split_once('.').ok_or(StoreError::InvalidCursor)?;
    let at = at.parse::<i64>().map_err(|_| StoreError::InvalidCursor)?;
    if id.is_empty() {
        return Err(StoreError::InvalidCursor);
    }
    Ok((at, id.to_owned()))
}

// ---- patches -------------------------------------------------------------------------

pub(crate) fn apply_tenant_patch(mut tenant: Tenant, patch: &TenantPatch) -> Tenant {
    if let Some(title) = &patch.title {
        tenant.title = title.clone();
    }
    if let Some(metadata) = &patch.metadata {
        tenant.metadata = metadata.clone();
    }
    if let Some(policy) = &patch.password_policy {
        tenant.password_policy = policy.clone();
    }
    if let Some(require_mfa) = patch.require_mfa {
        tenant.require_mfa = require_mfa;
    }
    tenant
}

pub(crate) fn apply_account_patch(mut account: Account, patch: &AccountPatch) -> Account {
    if let Some(email) = &patch.email {
        account.email = email.clone();
    }
    if let Some(username) = &patch.username {
        account.username = username.clone();
    }
    if let Some(display_name) = &patch.display_name {
        account.display_name = display_name.clone();
    }
    if let Some(data) = &patch.custom_data {
        latchkey_core::account::merge_custom_data(&mut account.custom_data, data.clone());
    }
    if let Some(disabled) = patch.disabled {
        account.disabled = disabled;
    }
    account
}

// ---- rows read -----------------------------------------------------------------------

pub(crate) fn tenant(row: &impl Columns) -> StoreResult<Tenant> {
    Ok(Tenant {
        id: TenantId::from_string(row.text("id")?),
        domain: TenantDomain::parse(&row.text("domain")?).map_err(|e| corrupt("domain", e))?,
        title: row.text("title")?,
        metadata: row.json("metadata")?,
        password_policy: row.json("password_policy")?,
        require_mfa: row.flag("require_mfa")?,
        created_at: row.time("created_at")?,
    })
}

/// A nullable role-name column (a LEFT JOIN that found no membership).
pub(crate) fn opt_role_name(row: &impl Columns, column: &str) -> StoreResult<Option<RoleName>> {
    row.opt_text(column)?
        .map(|name| RoleName::parse(&name).map_err(|e| corrupt(column, e)))
        .transpose()
}

fn role_name(row: &impl Columns, column: &str) -> StoreResult<RoleName> {
    RoleName::parse(&row.text(column)?).map_err(|e| corrupt(column, e))
}

pub(crate) fn application(row: &impl Columns) -> StoreResult<Application> {
    let grants: Vec<String> = row.json("grant_types")?;
    Ok(Application {
        tenant_id: TenantId::from_string(row.text("tenant_id")?),
        client_id: ClientId::parse(&row.text("client_id")?).map_err(|e| corrupt("client_id", e))?,
        public: row.flag("public")?,
        secret_hash: row.opt_text("secret_hash")?,
        grant_types: grants
            .iter()
            .map(|g| GrantType::parse(g).map_err(|e| corrupt("grant_types", e)))
            .collect::<StoreResult<_>>()?,
        redirect_uris: row.json("redirect_uris")?,
        roles: row.json("roles")?,
        access_token_lifetime: row.opt_int("access_token_lifetime")?,
        builtin: row.flag("builtin")?,
        created_at: row.time("created_at")?,
    })
}

pub(crate) fn authorization_code(row: &impl Columns) -> StoreResult<crate::AuthorizationCode> {
    Ok(crate::AuthorizationCode {
        code_hash: row.text("code_hash")?,
        tenant_id: TenantId::from_string(row.text("tenant_id")?),
        client_id: row.text("client_id")?,
        session_id: SessionId::from_string(row.text("session_id")?),
        redirect_uri: row.text("redirect_uri")?,
        code_challenge: row.opt_text("code_challenge")?,
        scope: row.text("scope")?,
        nonce: row.opt_text("nonce")?,
        created_at: row.time("created_at")?,
        expires_at: row.time("expires_at")?,
    })
}

pub(crate) fn role(row: &impl Columns) -> StoreResult<Role> {
    Ok(Role {
        name: role_name(row, "name")?,
        permissions: row.json("permissions")?,
        builtin: row.flag("builtin")?,
    })
}

pub(crate) fn account(row: &impl Columns) -> StoreResult<Account> {
    let username = match row.opt_text("username")? {
        Some(name) => Some(Username::parse(&name).map_err(|e| corrupt("username", e))?),
        None => None,
    };
    Ok(Account {
        id: AccountId::from_string(row.text("id")?),
        email: Email::parse(&row.text("email")?).map_err(|e| corrupt("email", e))?,
        username,
        display_name: row.opt_text("display_name")?,
        custom_data: row.json("custom_data")?,
        platform_admin: row.flag("platform_admin")?,
        disabled: row.flag("disabled")?,
        created_at: row.time("created_at")?,
        last_login_at: row.opt_time("last_login_at")?,
    })
}

/// A membership joined with its account: the account's columns plus `member_role`.
pub(crate) fn member(row: &impl Columns) -> StoreResult<crate::MemberRecord> {
    Ok(crate::MemberRecord {
        account: account(row)?,
        role: role_name(row, "member_role")?,
    })
}

pub(crate) fn membership(row: &impl Columns) -> StoreResult<Membership> {
    Ok(Membership {
        account_id: AccountId::from_string(row.text("account_id")?),
        tenant_id: TenantId::from_string(row.text("tenant_id")?),
        role: role_name(row, "role")?,
        created_at: row.time("created_at")?,
    })
}

pub(crate) fn session(row: &impl Columns) -> StoreResult<Session> {
    Ok(Session {
        id: SessionId::from_string(row.text("id")?),
        account_id: AccountId::from_string(row.text("account_id")?),
        tenant_id: TenantId::from_string(row.text("tenant_id")?),
        client_id: row.text("client_id")?,
        created_at: row.time("created_at")?,
        last_seen_at: row.time("last_seen_at")?,
        expires_at: row.time("expires_at")?,
        revoked_at: row.opt_time("revoked_at")?,
        user_agent: row.opt_text("user_agent")?,
        ip_address: row.opt_text("ip_address")?,
    })
}

pub(crate) fn throttle(row: &impl Columns) -> StoreResult<LoginThrottle> {
    let failures = row.int("failures")?;
    Ok(LoginThrottle {
        failures: u32::try_from(failures).map_err(|e| corrupt("failures", e))?,
        last_failure_at: row.opt_time("last_failure_at")?,
        locked_until: row.opt_time("locked_until")?,
    })
}

pub(crate) fn signing_key(row: &impl Columns) -> StoreResult<StoredSigningKey> {
    let status = match row.text("status")?.as_str() {
        "active" => SigningKeyStatus::Active,
        "previous" => SigningKeyStatus::Previous,
        other => return Err(corrupt("status", format!("unexpected {other:?}"))),
    };
    Ok(StoredSigningKey {
        id: SigningKeyId::from_string(row.text("id")?),
        tenant_id: TenantId::from_string(row.text("tenant_id")?),
        algorithm: row.text("algorithm")?,
        sealed_private_key: row.bytes("sealed_private_key")?,
        public_key_der: row.bytes("public_key_der")?,
        status,
        created_at: row.time("created_at")?,
    })
}

pub(crate) fn audit_event(row: &impl Columns) -> StoreResult<AuditEvent> {
    let outcome = row.text("outcome")?;
    Ok(AuditEvent {
        id: AuditEventId::from_string(row.text("id")?),
        tenant_id: row.opt_text("tenant_id")?.map(TenantId::from_string),
        actor: row.opt_text("actor")?.map(AccountId::from_string),
        action: row.text("action")?,
        target: row.opt_text("target")?,
        outcome: AuditOutcome::parse(&outcome)
            .ok_or_else(|| corrupt("outcome", format!("unexpected {outcome:?}")))?,
        detail: row.json("detail")?,
        at: row.time("at")?,
    })
}

pub(crate) fn account_mfa(
    row: &impl Columns,
    unused_recovery_codes: Vec<String>,
) -> StoreResult<crate::AccountMfa> {
    Ok(crate::AccountMfa {
        account_id: AccountId::from_string(row.text("account_id")?),
        sealed_secret: row.bytes("sealed_secret")?,
        created_at: row.time("created_at")?,
        confirmed_at: row.opt_time("confirmed_at")?,
        last_step: row.opt_int("last_step")?,
        unused_recovery_codes,
    })
}

pub(crate) fn terms_version(row: &impl Columns) -> StoreResult<latchkey_core::TermsVersion> {
    Ok(latchkey_core::TermsVersion {
        tenant_id: TenantId::from_string(row.text("tenant_id")?),
        version: row.int("version")?,
        public_url: row.text("public_url")?,
        enforce_date: row.time("enforce_date")?,
        created_at: row.time("created_at")?,
    })
}

pub(crate) fn terms_acceptance(row: &impl Columns) -> StoreResult<latchkey_core::TermsAcceptance> {
    Ok(latchkey_core::TermsAcceptance {
        tenant_id: TenantId::from_string(row.text("tenant_id")?),
        account_id: latchkey_core::AccountId::from_string(row.text("account_id")?),
        version: row.int("version")?,
        accepted_at: row.time("accepted_at")?,
    })
}

/// A session row joined with its `session_grants` row (`kind`, `for_client_id`,
/// `permissions`).
pub(crate) fn grant(row: &impl Columns) -> StoreResult<crate::GrantRecord> {
    let kind = row.text("kind")?;
    let permissions = match row.opt_text("permissions")? {
        Some(text) => Some(serde_json::from_str(&text).map_err(|e| corrupt("permissions", e))?),
        None => None,
    };
    Ok(crate::GrantRecord {
        session: session(row)?,
        kind: latchkey_core::GrantKind::parse(&kind)
            .ok_or_else(|| corrupt("kind", format!("unexpected {kind:?}")))?,
        for_client_id: row.opt_text("for_client_id")?,
        permissions,
    })
}

pub(crate) fn external_auth(row: &impl Columns) -> StoreResult<crate::StoredExternalAuth> {
    Ok(crate::StoredExternalAuth {
        tenant_id: TenantId::from_string(row.text("tenant_id")?),
        account_id: AccountId::from_string(row.text("account_id")?),
        service: row.text("service")?,
        service_user: row.text("service_user")?,
        sealed_access_token: row.bytes("sealed_access_token")?,
        access_token_expires: row.opt_time("access_token_expires")?,
        sealed_access_secret: row.opt_bytes("sealed_access_secret")?,
        access_secret_expires: row.opt_time("access_secret_expires")?,
        display_name: row.opt_text("display_name")?,
        state: row.opt_text("state")?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_prefix_escapes_wildcards() {
        assert_eq!(like_prefix("a_b%c\\d"), "a\\_b\\%c\\\\d%");
        assert_eq!(like_prefix(""), "%");
    }

    #[test]
    fn audit_cursor_rejects_garbage() {
        assert!(matches!(
            parse_audit_cursor("12.abc"),
            Ok((12, ref id)) if id == "abc"
        ));
        for bad in ["", "12", "x.abc", "12.", ".abc"] {
            assert!(
                matches!(parse_audit_cursor(bad), Err(StoreError::InvalidCursor)),
                "{bad:?}"
            );
        }
    }
}
