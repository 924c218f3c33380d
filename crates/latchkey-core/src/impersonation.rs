//! Impersonation: a tenant administrator mints a short-lived, single-use token that
//! lets whoever holds it open a session as one member of the tenant (the Cloudspot
//! dialect's `impersonation-validation/` exchanges it). Only the token's SHA-256 hash
//! is stored.

use time::{Duration, OffsetDateTime};

use crate::id::{AccountId, TenantId};
use crate::role::{Role, permissions};

/// How long a minted impersonation token can be exchanged.
pub const IMPERSONATION_TOKEN_LIFETIME: Duration = Duration::seconds(120);

/// A minted impersonation token as stored (by hash).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImpersonationGrant {
    pub token_hash: String,
    pub tenant_id: TenantId,
    /// The member the token signs in as.
    pub account_id: AccountId,
    /// The administrator who minted it.
    pub issued_by: AccountId,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// Who is asking to impersonate whom.
#[derive(Clone, Copy, Debug)]
pub struct ImpersonationRequest<'a> {
    pub caller: &'a AccountId,
    pub caller_is_platform_admin: bool,
    pub target: &'a AccountId,
    pub target_is_platform_admin: bool,
    pub target_disabled: bool,
    /// The target's role in the tenant.
    pub target_role: &'a Role,
}

/// Why an impersonation is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ImpersonationRefused {
    #[error("you cannot impersonate yourself")]
    Yourself,
    #[error("a disabled account cannot be impersonated")]
    Disabled,
    #[error("only platform administrators may impersonate a platform administrator")]
    PlatformAdmin,
    #[error("only platform administrators may impersonate a tenant administrator")]
    TenantAdmin,
}

/// The rule: nobody impersonates themselves or a disabled account; a platform
/// administrator, or a member whose role administers the tenant (grants `users.write`
/// or `tenant.write`, as `admin` does), may only be impersonated by a platform
/// administrator. (The caller's own right to impersonate, `users.write` in the tenant,
/// is checked where the caller is known.)
pub fn check_impersonation(request: &ImpersonationRequest<'_>) -> Result<(), ImpersonationRefused> {
    if request.caller == request.target {
        return Err(ImpersonationRefused::Yourself);
    }
    if request.target_disabled {
        return Err(ImpersonationRefused::Disabled);
    }
    if request.caller_is_platform_admin {
        return Ok(());
    }
    if request.target_is_platform_admin {
        return Err(ImpersonationRefused::PlatformAdmin);
    }
    if request.target_role.name.is_admin()
        || request.target_role.grants(permissions::USERS_WRITE)
        || request.target_role.grants(permissions::TENANT_WRITE)
    {
        return Err(ImpersonationRefused::TenantAdmin);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::role::{RoleName, builtin_roles};

    fn role(name: &str) -> Role {
        builtin_roles()
            .into_iter()
            .find(|r| r.name.as_str() == name)
            .unwrap_or_else(|| Role {
                name: RoleName::parse(name).unwrap_or_else(|_| RoleName::user()),
                permissions: vec!["users.write".into()],
                builtin: false,
            })
    }

    fn ask(
        caller_pa: bool,
        target_pa: bool,
        disabled: bool,
        target_role: &Role,
        same: bool,
    ) -> Result<(), ImpersonationRefused> {
        let caller = AccountId::from_string("caller".into());
        let other = AccountId::from_string("target".into());
        check_impersonation(&ImpersonationRequest {
            caller: &caller,
            caller_is_platform_admin: caller_pa,
            target: if same { &caller } else { &other },
            target_is_platform_admin: target_pa,
            target_disabled: disabled,
            target_role,
        })
    }

    #[test]
    fn tenant_admins_impersonate_ordinary_members_only() {
        let user = role("user");
        let admin = role("admin");
        let custom_admin = role("ops");
        assert_eq!(ask(false, false, false, &user, false), Ok(()));
        assert_eq!(
            ask(false, false, false, &admin, false),
            Err(ImpersonationRefused::TenantAdmin)
        );
        assert_eq!(
            ask(false, false, false, &custom_admin, false),
            Err(ImpersonationRefused::TenantAdmin)
        );
        assert_eq!(
            ask(false, true, false, &user, false),
            Err(ImpersonationRefused::PlatformAdmin)
        );
        assert_eq!(
            ask(false, false, true, &user, false),
            Err(ImpersonationRefused::Disabled)
        );
        assert_eq!(
            ask(false, false, false, &user, true),
            Err(ImpersonationRefused::Yourself)
        );
    }

    #[test]
    fn platform_admins_impersonate_administrators_too() {
        assert_eq!(ask(true, false, false, &role("admin"), false), Ok(()));
        assert_eq!(ask(true, true, false, &role("user"), false), Ok(()));
        assert_eq!(
            ask(true, false, true, &role("user"), false),
            Err(ImpersonationRefused::Disabled)
        );
        assert_eq!(
            ask(true, false, false, &role("user"), true),
            Err(ImpersonationRefused::Yourself)
        );
    }
}
