//! Accounts are global: one person, one account, member of any number of tenants.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::id::AccountId;
use crate::names::{Email, Username};
use crate::role::RoleName;

/// Custom data is a flat JSON object that clients may extend; it is capped so one
/// account cannot grow without bound.
pub const MAX_CUSTOM_DATA_BYTES: usize = 16 * 1024;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Account {
    pub id: AccountId,
    pub email: Email,
    pub username: Option<Username>,
    pub display_name: Option<String>,
    pub custom_data: serde_json::Map<String, serde_json::Value>,
    pub platform_admin: bool,
    pub disabled: bool,
    pub created_at: OffsetDateTime,
    pub last_login_at: Option<OffsetDateTime>,
}

#[derive(Clone, Debug)]
pub struct NewAccount {
    pub email: Email,
    pub username: Option<Username>,
    pub display_name: Option<String>,
    pub custom_data: serde_json::Map<String, serde_json::Value>,
    pub platform_admin: bool,
    /// PHC string; `None` creates an account that cannot sign in with a password yet.
    pub password_hash: Option<String>,
}

/// One account of a bulk import: a new account and its membership in the importing
/// tenant. Never a platform administrator (`account.platform_admin` is ignored and
/// stored as false).
#[derive(Clone, Debug)]
pub struct NewImportedAccount {
    pub id: AccountId,
    pub account: NewAccount,
    pub role: RoleName,
    pub disabled: bool,
}

/// A partial update; `custom_data` is merged key by key, a JSON `null` removing a key.
#[derive(Clone, Debug, Default)]
pub struct AccountPatch {
    pub email: Option<Email>,
    pub username: Option<Option<Username>>,
    pub display_name: Option<Option<String>>,
    pub custom_data: Option<serde_json::Map<String, serde_json::Value>>,
    pub disabled: Option<bool>,
}

/// Merges `patch` into `current`: keys with `null` are removed, others replaced.
pub fn merge_custom_data(
    current: &mut serde_json::Map<String, serde_json::Value>,
    patch: serde_json::Map<String, serde_json::Value>,
) {
    for (key, value) in patch {
        if value.is_null() {
            current.remove(&key);
        } else {
            current.insert(key, value);
        }
    }
}

/// Checks a display name: short and printable.
pub fn validate_display_name(name: &str) -> Result<String, &'static str> {
    let trimmed = name.trim();
    if trimmed.chars().count() > 200 || trimmed.chars().any(char::is_control) {
        Err("display_name must be at most 200 printable characters")
    } else {
        Ok(trimmed.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn custom_data_merge_replaces_and_removes() {
        let mut current = json!({"a": 1, "b": 2}).as_object().cloned().unwrap();
        let patch = json!({"b": null, "c": 3}).as_object().cloned().unwrap();
        merge_custom_data(&mut current, patch);
        assert_eq!(serde_json::Value::Object(current), json!({"a": 1, "c": 3}));
    }
}
