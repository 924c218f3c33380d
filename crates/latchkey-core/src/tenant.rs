//! Tenants are the isolation boundary: every membership, role, session and signing key
//! belongs to exactly one.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::id::TenantId;
use crate::names::TenantDomain;
use crate::password_policy::PasswordPolicy;

/// Free-form descriptive data that the compatibility dialects expose (Maestro's tier,
/// modules, dashboard links and schedule limit, arbitrary settings). Latchkey itself
/// interprets none of it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantMetadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    #[serde(default)]
    pub modules: Vec<String>,
    /// Dashboard links, each an object (e.g. `{"name": …, "url": …}`).
    #[serde(default, deserialize_with = "links_list_or_legacy_object")]
    pub links: Vec<serde_json::Map<String, serde_json::Value>>,
    /// How often a customer's pipelines may be scheduled (Maestro's `scheduleLimit`,
    /// e.g. `"HOURLY"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_limit: Option<String>,
    #[serde(default)]
    pub settings: serde_json::Map<String, serde_json::Value>,
}

/// Links were first stored as one object mapping names to URLs (`{"home": "https://…"}`);
/// such stored values still read, as `[{"name": "home", "url": "https://…"}]`.
pub fn links_list_or_legacy_object<'de, D>(
    deserializer: D,
) -> Result<Vec<serde_json::Map<String, serde_json::Value>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Links {
        List(Vec<serde_json::Map<String, serde_json::Value>>),
        Named(serde_json::Map<String, serde_json::Value>),
    }
    Ok(match Links::deserialize(deserializer)? {
        Links::List(links) => links,
        Links::Named(named) => named
            .into_iter()
            .map(|(name, url)| {
                let mut link = serde_json::Map::new();
                link.insert("name".into(), serde_json::Value::String(name));
                link.insert("url".into(), url);
                link
            })
            .collect(),
    })
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

/// The longest slug of a title kept in a generated domain.
const MAX_SLUG_CHARS: usize = 40;

/// A domain for a tenant created from a title (Squirro workspaces, signup): the title's
/// ASCII letters and digits in lower case, other runs of characters as one `-`, at most
/// 40 characters, then `-` and `suffix` (lowercase letters and digits, which makes it
/// unique in practice); only `suffix` when the title has no usable character. `None`
/// when `suffix` is empty or not lowercase alphanumeric.
pub fn generated_domain(title: &str, suffix: &str) -> Option<TenantDomain> {
    if suffix.is_empty()
        || !suffix
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    {
        return None;
    }
    let mut slug = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            if slug.len() >= MAX_SLUG_CHARS {
                break;
            }
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    let domain = if slug.is_empty() {
        suffix.to_owned()
    } else {
        format!("{slug}-{suffix}")
    };
    TenantDomain::parse(&domain).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn generated_domains_are_path_safe_slugs() {
        let d = |t: &str, s: &str| generated_domain(t, s).map(|d| d.as_str().to_owned());
        assert_eq!(
            d("Acme Research", "k3j9"),
            Some("acme-research-k3j9".into())
        );
        assert_eq!(d("  Zoë's   / lab #1 ", "x1"), Some("zo-s-lab-1-x1".into()));
        assert_eq!(d("日本", "abc"), Some("abc".into()));
        assert_eq!(d("", "abc"), Some("abc".into()));
        assert_eq!(d("a", ""), None);
        assert_eq!(d("a", "A-b"), None);
        let long = d(&"x".repeat(500), "s1").unwrap();
        assert_eq!(long.len(), 43);
    }

    #[test]
    fn links_read_as_list_and_from_the_legacy_object() {
        let legacy: TenantMetadata =
            serde_json::from_str(r#"{"links":{"home":"https://acme.example"}}"#).unwrap();
        assert_eq!(
            serde_json::to_value(&legacy.links).unwrap(),
            serde_json::json!([{"name": "home", "url": "https://acme.example"}])
        );
        let list: TenantMetadata = serde_json::from_str(
            r#"{"links":[{"label":"BI","url":"https://bi.example"}],"schedule_limit":"HOURLY"}"#,
        )
        .unwrap();
        assert_eq!(list.links.len(), 1);
        assert_eq!(list.schedule_limit.as_deref(), Some("HOURLY"));
        assert!(serde_json::from_str::<TenantMetadata>(r#"{"links":"x"}"#).is_err());
    }
}
