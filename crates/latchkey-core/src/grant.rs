//! Grants and external authentications.
//!
//! A grant is a long-lived refresh token an account holds for itself (`user`) or hands
//! to an application of its tenant (`service`). It is a session of its own, so revoking
//! the session revokes the grant. A grant may be restricted to a list of project
//! permissions (`items.read.*`, `projects.*`, ...): access tokens minted from it then
//! carry exactly those project permissions and, of the tenant role's permissions, only
//! [`RESTRICTED_TENANT_PERMISSIONS`], so a restricted grant can read its own profile and
//! tenant but never manage accounts, sessions, applications or grants.
//!
//! An external authentication is an account's identity at another service (its
//! `service_user` there) with the credentials Latchkey keeps for it.

use serde::{Deserialize, Serialize};

use crate::role::{Role, permissions};

/// At most this many project permissions per grant.
pub const MAX_GRANT_PERMISSIONS: usize = 64;

/// The tenant permissions an access token of a restricted grant keeps (when the role
/// has them): reading one's own profile and one's tenant.
pub const RESTRICTED_TENANT_PERMISSIONS: [&str; 2] =
    [permissions::PROFILE_READ, permissions::TENANT_READ];

/// Who a grant is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GrantKind {
    /// For the account itself (a CLI, a script).
    User,
    /// For an application of the tenant acting on the account's behalf.
    Service,
}

impl GrantKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Service => "service",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "user" => Some(Self::User),
            "service" => Some(Self::Service),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    #[error(
        "project permission `{0}` is invalid: use 1-8 dot-separated segments of lowercase letters, digits, '_' or '-', or '*' (such as `items.read.*`), at most 128 characters"
    )]
    InvalidPermission(String),
    #[error("a grant may list at most {MAX_GRANT_PERMISSIONS} project permissions")]
    TooManyPermissions,
}

/// Checks one project permission string: dot-separated segments, each `*` or made of
/// lowercase ASCII letters, digits, `_` and `-`.
pub fn is_valid_project_permission(text: &str) -> bool {
    let segments: Vec<&str> = text.split('.').collect();
    (1..=128).contains(&text.len())
        && (1..=8).contains(&segments.len())
        && segments.iter().all(|segment| {
            *segment == "*"
                || (!segment.is_empty()
                    && segment.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-'
                    }))
        })
}

/// Validates, trims and de-duplicates a grant's project permissions (order kept).
pub fn parse_project_permissions<S: AsRef<str>>(raw: &[S]) -> Result<Vec<String>, GrantError> {
    let mut out: Vec<String> = Vec::new();
    for item in raw {
        let permission = item.as_ref().trim();
        if !is_valid_project_permission(permission) {
            return Err(GrantError::InvalidPermission(
                permission.chars().take(64).collect(),
            ));
        }
        if !out.iter().any(|p| p == permission) {
            out.push(permission.to_owned());
        }
    }
    if out.len() > MAX_GRANT_PERMISSIONS {
        return Err(GrantError::TooManyPermissions);
    }
    Ok(out)
}

/// The role a token of a grant speaks with: unchanged for an unrestricted grant; for a
/// restricted one, only the [`RESTRICTED_TENANT_PERMISSIONS`] the role has.
pub fn restricted_role(role: &Role, project_permissions: Option<&[String]>) -> Role {
    match project_permissions {
        None => role.clone(),
        Some(_) => Role {
            name: role.name.clone(),
            permissions: role
                .permissions
                .iter()
                .filter(|p| RESTRICTED_TENANT_PERMISSIONS.contains(&p.as_str()))
                .cloned()
                .collect(),
            builtin: role.builtin,
        },
    }
}

/// The service of an external authentication that signs in through Microsoft Exchange
/// identity tokens.
pub const MSEXCHANGE_SERVICE: &str = "msexchange";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExternalAuthError {
    #[error("service must be 1-64 characters of letters, digits, '.', '_' or '-'")]
    InvalidService,
    #[error("service_user must be 1-256 characters without control characters")]
    InvalidServiceUser,
    #[error("{0} must be at most 8192 characters")]
    TooLong(&'static str),
}

/// Checks the name of an external service (it appears in paths).
pub fn validate_service(service: &str) -> Result<(), ExternalAuthError> {
    let ok = (1..=64).contains(&service.len())
        && service
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(ExternalAuthError::InvalidService)
    }
}

/// Checks an account's identity at an external service.
pub fn validate_service_user(user: &str) -> Result<(), ExternalAuthError> {
    if (1..=256).contains(&user.chars().count()) && !user.chars().any(char::is_control) {
        Ok(())
    } else {
        Err(ExternalAuthError::InvalidServiceUser)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::role::builtin_roles;

    #[test]
    fn project_permissions_are_validated() {
        for good in [
            "items.*",
            "projects.read.*",
            "*",
            "items.read.all",
            "a_b-c.d",
        ] {
            assert!(is_valid_project_permission(good), "{good}");
        }
        for bad in [
            "",
            "items.",
            ".items",
            "Items.*",
            "items read",
            "a..b",
            "a.b.c.d.e.f.g.h.i",
        ] {
            assert!(!is_valid_project_permission(bad), "{bad}");
        }
        assert_eq!(
            parse_project_permissions(&[" items.* ", "items.*", "projects.read.*"]).unwrap(),
            vec!["items.*".to_owned(), "projects.read.*".to_owned()]
        );
        assert!(parse_project_permissions(&["users.write", "x y"]).is_err());
    }

    #[test]
    fn a_restricted_grant_keeps_only_reading_its_profile_and_tenant() {
        let admin = builtin_roles()
            .into_iter()
            .find(|r| r.name.is_admin())
            .unwrap();
        assert_eq!(restricted_role(&admin, None), admin);
        let restricted = restricted_role(&admin, Some(&["items.read.*".to_owned()]));
        assert!(restricted.grants(permissions::PROFILE_READ));
        assert!(restricted.grants(permissions::TENANT_READ));
        assert!(!restricted.grants(permissions::USERS_WRITE));
        assert!(!restricted.grants(permissions::USERS_READ));
        assert!(!restricted.grants(permissions::PROFILE_WRITE));
    }

    #[test]
    fn service_names_are_path_safe() {
        assert!(validate_service("msexchange").is_ok());
        assert!(validate_service("sales/force").is_err());
        assert!(validate_service("").is_err());
        assert!(validate_service_user("sf1").is_ok());
        assert!(validate_service_user("a\nb").is_err());
    }
}
