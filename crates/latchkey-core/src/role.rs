//! Roles are named sets of permission strings; a membership gives an account one role in
//! one tenant. Every tenant has the built-in roles `admin`, `user`, `demo` and `reader`.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::id::{AccountId, TenantId};

/// The permission strings Latchkey itself checks. Dialects may add their own strings to
/// custom roles; these are the ones the native API enforces.
pub mod permissions {
    /// See one's own account.
    pub const PROFILE_READ: &str = "profile.read";
    /// Change one's own password.
    pub const PROFILE_WRITE: &str = "profile.write";
    /// See the tenant one belongs to.
    pub const TENANT_READ: &str = "tenant.read";
    /// Change the tenant's settings and rotate its keys.
    pub const TENANT_WRITE: &str = "tenant.write";
    /// List and read the tenant's accounts.
    pub const USERS_READ: &str = "users.read";
    /// Create, change and remove the tenant's accounts and their passwords.
    pub const USERS_WRITE: &str = "users.write";
    /// See other accounts' sessions.
    pub const SESSIONS_READ: &str = "sessions.read";
    /// Revoke other accounts' sessions.
    pub const SESSIONS_WRITE: &str = "sessions.write";
    /// Read the tenant's audit log.
    pub const AUDIT_READ: &str = "audit.read";
    /// See the tenant's applications (OAuth clients).
    pub const APPLICATIONS_READ: &str = "applications.read";
    /// Register, remove and re-key the tenant's applications.
    pub const APPLICATIONS_WRITE: &str = "applications.write";
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("role name must be 1-64 characters of lowercase letters, digits, '.', '_', ':' or '-'")]
pub struct InvalidRoleName;

/// A role's name, unique within a tenant.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RoleName(String);

impl RoleName {
    pub const ADMIN: &'static str = "admin";
    pub const USER: &'static str = "user";
    pub const DEMO: &'static str = "demo";
    pub const READER: &'static str = "reader";

    pub fn parse(raw: &str) -> Result<Self, InvalidRoleName> {
        let valid = (1..=64).contains(&raw.len())
            && raw.bytes().all(|b| {
                b.is_ascii_lowercase()
                    || b.is_ascii_digit()
                    || matches!(b, b'.' | b'_' | b':' | b'-')
            });
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidRoleName)
        }
    }

    pub fn admin() -> Self {
        Self(Self::ADMIN.to_owned())
    }

    pub fn user() -> Self {
        Self(Self::USER.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_admin(&self) -> bool {
        self.0 == Self::ADMIN
    }
}

impl TryFrom<String> for RoleName {
    type Error = InvalidRoleName;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<RoleName> for String {
    fn from(value: RoleName) -> Self {
        value.0
    }
}

impl std::fmt::Display for RoleName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A permission string such as `users.write`.
pub type Permission = String;

/// The longest permission string a custom role may hold.
pub const MAX_PERMISSION_CHARS: usize = 128;
/// The most permissions one custom role may hold.
pub const MAX_ROLE_PERMISSIONS: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidPermissions {
    #[error("a role may hold at most {MAX_ROLE_PERMISSIONS} permissions")]
    TooMany,
    #[error(
        "permission #{0} must be 1-{MAX_PERMISSION_CHARS} printable ASCII characters without spaces"
    )]
    Malformed(usize),
}

/// Checks the permissions of a custom role: at most [`MAX_ROLE_PERMISSIONS`], each 1 to
/// [`MAX_PERMISSION_CHARS`] printable ASCII characters without spaces. Returns them
/// sorted and without repeats (#N in errors counts from 1 in the order given).
pub fn validate_permissions(raw: &[String]) -> Result<Vec<Permission>, InvalidPermissions> {
    if raw.len() > MAX_ROLE_PERMISSIONS {
        return Err(InvalidPermissions::TooMany);
    }
    for (index, permission) in raw.iter().enumerate() {
        let valid = (1..=MAX_PERMISSION_CHARS).contains(&permission.len())
            && permission.bytes().all(|b| b.is_ascii_graphic());
        if !valid {
            return Err(InvalidPermissions::Malformed(index + 1));
        }
    }
    let mut permissions = raw.to_vec();
    permissions.sort();
    permissions.dedup();
    Ok(permissions)
}

/// Is `name` one of the roles every tenant has (which cannot be changed or removed)?
pub fn is_builtin_role_name(name: &str) -> bool {
    matches!(
        name,
        RoleName::ADMIN | RoleName::USER | RoleName::DEMO | RoleName::READER
    )
}

/// An application's permission slugs among `permissions`: every permission of the form
/// `{client_id}:{slug}` gives `slug` (the prefix stripped; an empty slug is ignored).
/// Sorted, without repeats. This is how a role grants permissions inside an external
/// application (the Cloudspot dialect's "module").
pub fn application_slugs(permissions: &[Permission], client_id: &str) -> Vec<String> {
    let mut slugs: Vec<String> = permissions
        .iter()
        .filter_map(|permission| {
            permission
                .strip_prefix(client_id)
                .and_then(|rest| rest.strip_prefix(':'))
        })
        .filter(|slug| !slug.is_empty())
        .map(str::to_owned)
        .collect();
    slugs.sort();
    slugs.dedup();
    slugs
}

/// A role and the permissions it grants.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    pub name: RoleName,
    pub permissions: Vec<Permission>,
    pub builtin: bool,
}

impl Role {
    pub fn grants(&self, permission: &str) -> bool {
        self.permissions.iter().any(|p| p == permission)
    }
}

/// The roles every tenant starts with. Stored per tenant at creation so a tenant can
/// later be given roles of its own beside them.
pub fn builtin_roles() -> Vec<Role> {
    use permissions::*;
    let role = |name: &str, perms: &[&str]| Role {
        name: RoleName(name.to_owned()),
        permissions: perms.iter().map(|p| (*p).to_owned()).collect(),
        builtin: true,
    };
    vec![
        role(
            RoleName::ADMIN,
            &[
                PROFILE_READ,
                PROFILE_WRITE,
                TENANT_READ,
                TENANT_WRITE,
                USERS_READ,
                USERS_WRITE,
                SESSIONS_READ,
                SESSIONS_WRITE,
                AUDIT_READ,
                APPLICATIONS_READ,
                APPLICATIONS_WRITE,
            ],
        ),
        role(RoleName::USER, &[PROFILE_READ, PROFILE_WRITE, TENANT_READ]),
        role(
            RoleName::READER,
            &[PROFILE_READ, PROFILE_WRITE, TENANT_READ],
        ),
        // Demo accounts are typically shared, so they may not change the password.
        role(RoleName::DEMO, &[PROFILE_READ, TENANT_READ]),
    ]
}

/// An account's place in a tenant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    pub account_id: AccountId,
    pub tenant_id: TenantId,
    pub role: RoleName,
    pub created_at: OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_role_exists_and_only_admin_manages_users() {
        let roles = builtin_roles();
        let names: Vec<_> = roles.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["admin", "user", "reader", "demo"]);
        for role in &roles {
            assert_eq!(
                role.grants(permissions::USERS_WRITE),
                role.name.is_admin(),
                "{}",
                role.name
            );
            assert!(role.grants(permissions::PROFILE_READ));
        }
    }

    #[test]
    fn permissions_are_checked_sorted_and_deduplicated() {
        let given = |p: &[&str]| p.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            validate_permissions(&given(&["b:x", "a.read", "b:x"])),
            Ok(given(&["a.read", "b:x"]))
        );
        assert_eq!(validate_permissions(&[]), Ok(vec![]));
        assert_eq!(
            validate_permissions(&given(&["ok", "has space"])),
            Err(InvalidPermissions::Malformed(2))
        );
        assert_eq!(
            validate_permissions(&given(&[""])),
            Err(InvalidPermissions::Malformed(1))
        );
        assert_eq!(
            validate_permissions(&given(&["caf\u{e9}"])),
            Err(InvalidPermissions::Malformed(1))
        );
        assert_eq!(
            validate_permissions(&given(&["tab\there"])),
            Err(InvalidPermissions::Malformed(1))
        );
        let long = "x".repeat(MAX_PERMISSION_CHARS + 1);
        assert!(validate_permissions(&[long]).is_err());
        assert!(validate_permissions(&["x".repeat(MAX_PERMISSION_CHARS)]).is_ok());
        let many: Vec<String> = (0..=MAX_ROLE_PERMISSIONS)
            .map(|i| format!("p{i}"))
            .collect();
        assert_eq!(
            validate_permissions(&many),
            Err(InvalidPermissions::TooMany)
        );
    }

    #[test]
    fn builtin_role_names_are_recognised() {
        for role in builtin_roles() {
            assert!(is_builtin_role_name(role.name.as_str()));
        }
        assert!(!is_builtin_role_name("editor"));
    }

    #[test]
    fn application_slugs_strip_the_client_prefix() {
        let perms: Vec<String> = [
            "crm:invoices.read",
            "users.read",
            "crm:admin",
            "crm:admin",
            "crmx:other",
            "crm:",
            "other:crm:no",
            "crm:nested:slug",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        assert_eq!(
            application_slugs(&perms, "crm"),
            ["admin", "invoices.read", "nested:slug"]
        );
        assert!(application_slugs(&perms, "none").is_empty());
        assert!(application_slugs(&[], "crm").is_empty());
    }

    #[test]
    fn role_names_are_restricted() {
        assert!(RoleName::parse("project:admin").is_ok());
        assert!(RoleName::parse("Admin").is_err());
        assert!(RoleName::parse("").is_err());
    }
}
