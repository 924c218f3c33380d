//! Audit events: who did what to which target, when, and whether it worked.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::id::{AccountId, AuditEventId, TenantId};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditOutcome {
    Success,
    Failure,
}

impl AuditOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "success" => Some(Self::Success),
            "failure" => Some(Self::Failure),
            _ => None,
        }
    }
}

/// Action names, dotted `object.verb`, stable because people filter on them.
pub mod actions {
    pub const SIGN_IN: &str = "session.sign_in";
    pub const SIGN_OUT: &str = "session.sign_out";
    pub const REFRESH_REUSE: &str = "session.refresh_reuse_detected";
    pub const CODE_REUSE: &str = "session.code_reuse_detected";
    pub const SESSION_REVOKE: &str = "session.revoke";
    pub const ACCOUNT_CREATE: &str = "account.create";
    pub const ACCOUNT_UPDATE: &str = "account.update";
    pub const ACCOUNT_DELETE: &str = "account.delete";
    /// One event per bulk-import request (not per account), detail `{"count": N}`.
    pub const ACCOUNT_IMPORT: &str = "account.import";
    /// One event per account a prune removed from a tenant, detail `{"email", "role",
    /// "account_removed"}`; written in the transaction of the prune's batch.
    pub const ACCOUNT_PRUNE: &str = "account.prune";
    /// One event per account brought back from a prune's tombstone.
    pub const ACCOUNT_RESTORE: &str = "account.restore";
    pub const PASSWORD_CHANGE: &str = "account.password_change";
    pub const PASSWORD_SET: &str = "account.password_set";
    pub const TENANT_CREATE: &str = "tenant.create";
    pub const TENANT_UPDATE: &str = "tenant.update";
    pub const TENANT_DELETE: &str = "tenant.delete";
    pub const KEY_ROTATE: &str = "key.rotate";
    pub const APPLICATION_CREATE: &str = "application.create";
    pub const APPLICATION_DELETE: &str = "application.delete";
    pub const APPLICATION_ROTATE_SECRET: &str = "application.rotate_secret";
    pub const TOKEN_GRANT: &str = "token.grant";
    pub const GRANT_CREATE: &str = "grant.create";
    pub const GRANT_REVOKE: &str = "grant.revoke";
    pub const EXTERNAL_AUTH_PUT: &str = "external_auth.put";
    pub const EXTERNAL_AUTH_DELETE: &str = "external_auth.delete";
    /// A sign-in by external identity (`ext_id` grant, Microsoft Exchange token).
    pub const EXTERNAL_SIGN_IN: &str = "session.external_sign_in";
    pub const MFA_ENROL: &str = "mfa.enrol";
    pub const MFA_CONFIRM: &str = "mfa.confirm";
    pub const MFA_DISABLE: &str = "mfa.disable";
    pub const MFA_RESET: &str = "mfa.reset";
    pub const MFA_RECOVERY_CODE_USE: &str = "mfa.recovery_code_use";
    /// A tenant published a version of its terms of use.
    pub const TERMS_PUBLISH: &str = "terms.publish";
    /// A member accepted a version of the terms of use.
    pub const TERMS_ACCEPT: &str = "terms.accept";
    pub const GROUP_CREATE: &str = "group.create";
    pub const GROUP_UPDATE: &str = "group.update";
    pub const GROUP_DELETE: &str = "group.delete";
    /// Members added, removed or replaced.
    pub const GROUP_MEMBERS: &str = "group.members";
    /// The roles a group grants replaced.
    pub const GROUP_ROLES: &str = "group.roles";
    pub const PROJECT_CREATE: &str = "project.create";
    pub const PROJECT_DELETE: &str = "project.delete";
    /// A project member added, its role changed, or removed.
    pub const PROJECT_MEMBERS: &str = "project.members";
    /// A custom role was created or its permissions replaced.
    pub const ROLE_PUT: &str = "role.put";
    /// A custom role was removed.
    pub const ROLE_DELETE: &str = "role.delete";
    /// An administrator minted an impersonation token for a member (target).
    pub const IMPERSONATION_MINT: &str = "impersonation.mint";
    /// An impersonation token was exchanged for a session of its member (target); the
    /// actor is the administrator who minted it.
    pub const IMPERSONATION_REDEEM: &str = "impersonation.redeem";
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub id: AuditEventId,
    pub tenant_id: Option<TenantId>,
    pub actor: Option<AccountId>,
    pub action: String,
    pub target: Option<String>,
    pub outcome: AuditOutcome,
    pub detail: serde_json::Value,
    pub at: OffsetDateTime,
}

#[derive(Clone, Debug)]
pub struct NewAuditEvent {
    pub tenant_id: Option<TenantId>,
    pub actor: Option<AccountId>,
    pub action: &'static str,
    pub target: Option<String>,
    pub outcome: AuditOutcome,
    /// Context without secrets: never a password, token or hash.
    pub detail: serde_json::Value,
}
