//! Bulk import of accounts into a tenant (operators migrating from another system,
//! benchmarks seeding a store): every account is checked before anything is written,
//! then all of them go to the store in one transaction with one audit event.

use std::collections::HashSet;

use latchkey_core::audit::actions;
use latchkey_core::role::permissions;
use latchkey_core::{AccountId, AuditOutcome, NewAccount, NewImportedAccount, RoleName, Tenant};
use latchkey_store::{ConflictOn, StoreError};
use serde_json::json;

use super::accounts::{
    check_custom_data, parse_display_name, parse_email, parse_role, parse_username,
};
use super::{Caller, ServiceError, Services};
use crate::password::check_imported_hash;

/// The most accounts one import request may hold: bounds the request's memory and the
/// time the store's single writer is held.
pub const MAX_IMPORT_ACCOUNTS: usize = 10_000;

/// One account to import, as a front door read it from line `line` of its request.
pub struct ImportAccount {
    pub line: usize,
    pub email: String,
    pub username: Option<String>,
    pub display_name: Option<String>,
    pub role: Option<String>,
    /// An argon2id PHC string, kept as it is; never a plain-text password.
    pub password_hash: Option<String>,
    pub disabled: bool,
    pub custom_data: serde_json::Map<String, serde_json::Value>,
}

/// Why an import was refused; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The request as a whole (permission, tenant, size, the store).
    #[error(transparent)]
    Request(#[from] ServiceError),
    /// A line breaks a rule of its fields.
    #[error("line {line}: {message}")]
    InvalidLine { line: usize, message: String },
    /// A line's email address or username is taken, by an account or an earlier line.
    #[error("line {line}: {message}")]
    ConflictingLine { line: usize, message: String },
}

impl Services {
    /// Creates every account of `accounts` as a member of `tenant`, or none of them.
    pub async fn import_members(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        accounts: Vec<ImportAccount>,
    ) -> Result<u64, ImportError> {
        caller.require(&tenant.id, permissions::USERS_WRITE)?;
        if accounts.is_empty() {
            return Err(ServiceError::Validation("the import holds no accounts".into()).into());
        }
        if accounts.len() > MAX_IMPORT_ACCOUNTS {
            return Err(ServiceError::Validation(format!(
                "an import holds at most {MAX_IMPORT_ACCOUNTS} accounts"
            ))
            .into());
        }
        let roles: HashSet<RoleName> = self
            .store
            .list_roles(&tenant.id)
            .await
            .map_err(ServiceError::from)?
            .into_iter()
            .map(|role| role.name)
            .collect();
        let lines: Vec<usize> = accounts.iter().map(|account| account.line).collect();
        let imported = accounts
            .into_iter()
            .map(|account| {
                let line = account.line;
                checked(account, &roles)
                    .map_err(|message| ImportError::InvalidLine { line, message })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let count = imported.len();
        // One event for the whole request, not one per account: the log names who
        // imported how many, and a million-account import does not add a million rows.
        let event = self.audit_event(
            Some(&tenant.id),
            Some(&caller.account.id),
            actions::ACCOUNT_IMPORT,
            None,
            AuditOutcome::Success,
            json!({ "count": count }),
        );
        match self
            .store
            .import_accounts(&tenant.id, &imported, self.clock.now(), &event)
            .await
        {
            Ok(created) => Ok(created),
            Err(StoreError::ImportConflict { index, on, repeats }) => {
                let line_of = |index: usize| lines.get(index).copied().unwrap_or(index + 1);
                let field = match on {
                    ConflictOn::Username => "username",
                    _ => "email address",
                };
                let message = match repeats {
                    Some(earlier) => format!("the {field} repeats line {}", line_of(earlier)),
                    None => format!("an account with this {field} already exists"),
                };
                Err(ImportError::ConflictingLine {
                    line: line_of(index),
                    message,
                })
            }
            Err(other) => Err(ServiceError::from(other).into()),
        }
    }
}

/// Applies the rules of creating a member to one imported account; the error is the
/// message for its line.
fn checked(
    account: ImportAccount,
    roles: &HashSet<RoleName>,
) -> Result<NewImportedAccount, String> {
    let message = |error: ServiceError| match error {
        ServiceError::Validation(message) => message,
        other => other.to_string(),
    };
    let email = parse_email(&account.email).map_err(message)?;
    let username = account
        .username
        .as_deref()
        .map(parse_username)
        .transpose()
        .map_err(message)?;
    let display_name = account
        .display_name
        .as_deref()
        .map(parse_display_name)
        .transpose()
        .map_err(message)?;
    let role = parse_role(account.role.as_deref().unwrap_or(RoleName::USER)).map_err(message)?;
    if !roles.contains(&role) {
        return Err(format!("role `{role}` does not exist in this tenant"));
    }
    check_custom_data(&account.custom_data).map_err(message)?;
    if let Some(hash) = &account.password_hash {
        check_imported_hash(hash).map_err(|e| e.to_string())?;
    }
    Ok(NewImportedAccount {
        id: AccountId::generate(),
        account: NewAccount {
            email,
            username,
            display_name,
            custom_data: account.custom_data,
            platform_admin: false,
            password_hash: account.password_hash,
        },
        role,
        disabled: account.disabled,
    })
}
