//! Tenants are the isolation boundary: every membership, role, session and signing key
//! belongs to exactly one.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::id::TenantId;
use crate::names::TenantDomain;
use crate::password_policy::PasswordPolicy;

/// Free-form descriptive data that the compatibility dialects expose (Maestro's tier and
/// modules, dashboard links, arbitrary settings). Latchkey itself interprets none of it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantMetadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    #[serde(default)]
    pub modules: Vec<String>,
    #[serde(default)]
    pub links: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    pub settings: serde_json::Map<String, serde_json::Value>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tenant {
    pub id: TenantId,
    pub domain: TenantDomain,
    pub title: String,
    pub metadata: TenantMetadata,
    pub password_policy: PasswordPolicy,
    /// Members must sign in with a second factor; those without one are refused until
    /// they enrol (see `docs/mfa.md`).
    pub require_mfa: bool,
    pub created_at: OffsetDateTime,
}

#[derive(Clone, Debug)]
pub struct NewTenant {
    pub domain: TenantDomain,
    pub title: String,
    pub metadata: TenantMetadata,
    pub password_policy: PasswordPolicy,
}

/// A partial update: `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct TenantPatch {
    pub title: Option<String>,
    pub metadata: Option<TenantMetadata>,
    pub password_policy: Option<PasswordPolicy>,
    pub require_mfa: Option<bool>,
}

/// Titles are shown to people; keep them short and printable.
pub fn validate_title(title: &str) -> Result<String, &'static str> {
    let trimmed = title.trim();
    if trimmed.is_empty() || trimmed.chars().count() > 200 || trimmed.chars().any(char::is_control)
    {
        Err("title must be 1-200 printable characters")
    } else {
        Ok(trimmed.to_owned())
    }
}
