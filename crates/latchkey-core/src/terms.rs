//! Terms of use: versioned documents a tenant publishes, and each member's acceptance.
//! A version binds from its enforce date on; a member who has not accepted the newest
//! version in force is *pending* (signing in still works: front doors report the state
//! and let the member accept).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::id::{AccountId, TenantId};

/// The longest document URL accepted (browsers cope with far longer, people do not).
pub const MAX_PUBLIC_URL_CHARS: usize = 2000;

/// One published version of a tenant's terms of use.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TermsVersion {
    pub tenant_id: TenantId,
    /// Positive, unique per tenant; later versions have larger numbers.
    pub version: i64,
    /// Where members read the document.
    pub public_url: String,
    /// From this instant on, members must have accepted this version (or a later one).
    pub enforce_date: OffsetDateTime,
    pub created_at: OffsetDateTime,
}

/// A member's acceptance of one version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TermsAcceptance {
    pub tenant_id: TenantId,
    pub account_id: AccountId,
    pub version: i64,
    pub accepted_at: OffsetDateTime,
}

/// Where a member stands with the tenant's terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TermsStatus {
    /// No version is in force yet (none published, or all enforce later).
    NotRequired,
    /// The newest version in force, or a later one, is accepted.
    Accepted,
    /// The newest version in force is not accepted.
    Pending,
}

impl TermsStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotRequired => "not_required",
            Self::Accepted => "accepted",
            Self::Pending => "pending",
        }
    }
}

/// The member's state, with the versions a front door shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TermsState {
    pub status: TermsStatus,
    /// The newest version whose enforce date has come.
    pub in_force: Option<TermsVersion>,
    /// The newest version the member accepted, and when.
    pub last_signed: Option<(TermsVersion, OffsetDateTime)>,
}

/// Computes a member's state from the tenant's versions and the member's acceptances.
/// Accepting a later version (published ahead of its enforce date) also satisfies
/// earlier ones: the newest text supersedes the older.
pub fn evaluate(
    versions: &[TermsVersion],
    accepted: &[TermsAcceptance],
    now: OffsetDateTime,
) -> TermsState {
    let in_force = versions
        .iter()
        .filter(|v| v.enforce_date <= now)
        .max_by_key(|v| v.version)
        .cloned();
    let last_signed = accepted
        .iter()
        .filter_map(|a| {
            versions
                .iter()
                .find(|v| v.version == a.version)
                .map(|v| (v.clone(), a.accepted_at))
        })
        .max_by_key(|(v, _)| v.version);
    let status = match (&in_force, &last_signed) {
        (None, _) => TermsStatus::NotRequired,
        (Some(required), Some((signed, _))) if signed.version >= required.version => {
            TermsStatus::Accepted
        }
        (Some(_), _) => TermsStatus::Pending,
    };
    TermsState {
        status,
        in_force,
        last_signed,
    }
}

/// A document URL: absolute `https://` or `http://`, printable, at most
/// [`MAX_PUBLIC_URL_CHARS`] characters.
pub fn parse_public_url(text: &str) -> Result<String, &'static str> {
    let url = text.trim();
    let scheme_ok = ["https://", "http://"].iter().any(|s| {
        url.get(..s.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(s) && url.len() > s.len())
    });
    if !scheme_ok
        || url.chars().count() > MAX_PUBLIC_URL_CHARS
        || url.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        Err("public_url must be an absolute http(s) URL of at most 2000 characters, without spaces")
    } else {
        Ok(url.to_owned())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use time::Duration;

    fn version(n: i64, enforce: OffsetDateTime) -> TermsVersion {
        TermsVersion {
            tenant_id: TenantId::from_string("t".into()),
            version: n,
            public_url: format!("https://example.com/terms/{n}"),
            enforce_date: enforce,
            created_at: enforce,
        }
    }

    fn accepted(n: i64, at: OffsetDateTime) -> TermsAcceptance {
        TermsAcceptance {
            tenant_id: TenantId::from_string("t".into()),
            account_id: AccountId::from_string("a".into()),
            version: n,
            accepted_at: at,
        }
    }

    #[test]
    fn nothing_in_force_is_not_required() {
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(100);
        assert_eq!(evaluate(&[], &[], now).status, TermsStatus::NotRequired);
        let future = [version(1, now + Duration::days(1))];
        let state = evaluate(&future, &[], now);
        assert_eq!(state.status, TermsStatus::NotRequired);
        assert!(state.in_force.is_none());
    }

    #[test]
    fn the_newest_version_in_force_must_be_accepted() {
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(100);
        let versions = [
            version(1, now - Duration::days(10)),
            version(2, now - Duration::days(1)),
            version(3, now + Duration::days(5)),
        ];
        let old = [accepted(1, now - Duration::days(9))];
        let state = evaluate(&versions, &old, now);
        assert_eq!(state.status, TermsStatus::Pending);
        assert_eq!(state.in_force.unwrap().version, 2);
        assert_eq!(state.last_signed.unwrap().0.version, 1);

        let current = [accepted(1, now), accepted(2, now)];
        assert_eq!(
            evaluate(&versions, &current, now).status,
            TermsStatus::Accepted
        );
        // Accepting ahead of time covers the versions before it.
        let ahead = [accepted(3, now)];
        assert_eq!(
            evaluate(&versions, &ahead, now).status,
            TermsStatus::Accepted
        );
    }

    #[test]
    fn urls_must_be_absolute_http() {
        assert!(parse_public_url(" https://example.com/terms ").is_ok());
        assert!(parse_public_url("HTTP://example.com").is_ok());
        assert!(parse_public_url("ftp://example.com").is_err());
        assert!(parse_public_url("https://").is_err());
        assert!(parse_public_url("https://exa mple.com").is_err());
        assert!(parse_public_url(&format!("https://{}", "a".repeat(2000))).is_err());
    }
}
