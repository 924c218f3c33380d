//! Groups: named sets of a tenant's members. A group can be granted roles of its tenant
//! (its members then hold those roles' permissions beside their membership role) and can
//! be a member of projects (see [`crate::project`]).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::id::{GroupId, TenantId};
use crate::role::{Permission, Role};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidText {
    #[error("{0} must be 1-{1} characters without control characters")]
    Length(&'static str, usize),
}

/// The longest group name.
pub const MAX_GROUP_NAME: usize = 100;

/// Trims `raw` and checks it is 1..=`max` characters without control characters.
pub(crate) fn checked_text(
    raw: &str,
    what: &'static str,
    max: usize,
    allow_empty: bool,
) -> Result<String, InvalidText> {
    let text = raw.trim();
    let count = text.chars().count();
    if (count == 0 && !allow_empty) || count > max || text.chars().any(char::is_control) {
        return Err(InvalidText::Length(what, max));
    }
    Ok(text.to_owned())
}

/// A group's name, unique within its tenant (exactly; names differing in case are
/// different names).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct GroupName(String);

impl GroupName {
    pub fn parse(raw: &str) -> Result<Self, InvalidText> {
        checked_text(raw, "group name", MAX_GROUP_NAME, false).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for GroupName {
    type Error = InvalidText;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<GroupName> for String {
    fn from(value: GroupName) -> Self {
        value.0
    }
}

impl std::fmt::Display for GroupName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub id: GroupId,
    pub tenant_id: TenantId,
    pub name: GroupName,
    pub created_at: OffsetDateTime,
}

/// The role an account acts with in its tenant: its membership role, with the
/// permissions of the roles its groups grant added (a union, in order, without
/// repeats). The name stays the membership role's.
pub fn effective_role(membership_role: &Role, granted: &[Role]) -> Role {
    let mut permissions: Vec<Permission> = membership_role.permissions.clone();
    for role in granted {
        for permission in &role.permissions {
            if !permissions.contains(permission) {
                permissions.push(permission.clone());
            }
        }
    }
    Role {
        name: membership_role.name.clone(),
        permissions,
        builtin: membership_role.builtin,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::role::{RoleName, builtin_roles, permissions};

    fn builtin(name: &str) -> Role {
        builtin_roles()
            .into_iter()
            .find(|r| r.name.as_str() == name)
            .unwrap()
    }

    #[test]
    fn group_names_are_trimmed_and_bounded() {
        assert_eq!(GroupName::parse("  Sales ").unwrap().as_str(), "Sales");
        assert!(GroupName::parse("   ").is_err());
        assert!(GroupName::parse(&"x".repeat(MAX_GROUP_NAME + 1)).is_err());
        assert!(GroupName::parse("a\nb").is_err());
    }

    #[test]
    fn effective_role_is_the_union_of_membership_and_granted_roles() {
        let user = builtin("user");
        let admin = builtin("admin");
        let effective = effective_role(&user, &[admin]);
        assert_eq!(effective.name, RoleName::user());
        assert!(effective.grants(permissions::USERS_WRITE));
        assert!(effective.grants(permissions::PROFILE_WRITE));
        // No repeats, and the membership role's permissions come first.
        let mut sorted = effective.permissions.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), effective.permissions.len());
        assert_eq!(
            effective.permissions[..user.permissions.len()],
            user.permissions[..]
        );
    }

    #[test]
    fn without_grants_the_membership_role_is_unchanged() {
        let demo = builtin("demo");
        assert_eq!(effective_role(&demo, &[]), demo);
    }

    #[test]
    fn a_granted_role_never_removes_permissions() {
        let admin = builtin("admin");
        let effective = effective_role(&admin, &[builtin("demo")]);
        assert_eq!(effective.permissions, admin.permissions);
    }
}
