//! Names that arrive from the outside world, parsed once into types that cannot hold an
//! invalid value ("parse, don't validate").

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("email address must look like name@domain, without spaces, at most 254 characters")]
    InvalidEmail,
    #[error(
        "username must be 2-64 characters of letters, digits, '.', '_' or '-' (no '@', which marks an email)"
    )]
    InvalidUsername,
    #[error(
        "tenant domain must be 1-63 characters of lowercase letters, digits and '-', starting and ending with a letter or digit"
    )]
    InvalidTenantDomain,
}

/// An email address as the user typed it; equality and uniqueness use [`Email::normalized`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, NameError> {
        let value = raw.trim();
        let valid = value.len() <= 254
            && !value.chars().any(|c| c.is_whitespace() || c.is_control())
            && match value.split_once('@') {
                Some((local, domain)) => {
                    !local.is_empty()
                        && !domain.is_empty()
                        && !domain.contains('@')
                        && !domain.starts_with('.')
                        && !domain.ends_with('.')
                }
                None => false,
            };
        if valid {
            Ok(Self(value.to_owned()))
        } else {
            Err(NameError::InvalidEmail)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The case-insensitive key under which the address is unique across the instance.
    pub fn normalized(&self) -> String {
        self.0.to_lowercase()
    }
}

impl TryFrom<String> for Email {
    type Error = NameError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Email> for String {
    fn from(value: Email) -> Self {
        value.0
    }
}

/// A username; unique case-insensitively, never containing '@' so a login string is
/// unambiguously either an email or a username.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, NameError> {
        let value = raw.trim();
        let valid = (2..=64).contains(&value.len())
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if valid {
            Ok(Self(value.to_owned()))
        } else {
            Err(NameError::InvalidUsername)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn normalized(&self) -> String {
        self.0.to_lowercase()
    }
}

impl TryFrom<String> for Username {
    type Error = NameError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Username> for String {
    fn from(value: Username) -> Self {
        value.0
    }
}

/// A tenant's domain: the url-safe slug that names it in every path (`/realms/{domain}`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TenantDomain(String);

impl TenantDomain {
    pub fn parse(raw: &str) -> Result<Self, NameError> {
        let value = raw.trim();
        let bytes = value.as_bytes();
        let valid = (1..=63).contains(&bytes.len())
            && bytes
                .iter()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
            && bytes.first().is_some_and(|b| *b != b'-')
            && bytes.last().is_some_and(|b| *b != b'-');
        if valid {
            Ok(Self(value.to_owned()))
        } else {
            Err(NameError::InvalidTenantDomain)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TenantDomain {
    type Error = NameError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<TenantDomain> for String {
    fn from(value: TenantDomain) -> Self {
        value.0
    }
}

impl std::fmt::Display for TenantDomain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_normalised_for_uniqueness() {
        let email = Email::parse("  Ada@Example.COM ").unwrap();
        assert_eq!(email.as_str(), "Ada@Example.COM");
        assert_eq!(email.normalized(), "ada@example.com");
    }

    #[test]
    fn malformed_emails_are_rejected() {
        for bad in [
            "",
            "ada",
            "@example.com",
            "ada@",
            "a da@example.com",
            "a@b@c",
            "ada@.com",
            "ada@example.",
        ] {
            assert_eq!(Email::parse(bad), Err(NameError::InvalidEmail), "{bad:?}");
        }
        let too_long = format!("{}@example.com", "a".repeat(250));
        assert!(Email::parse(&too_long).is_err());
    }

    #[test]
    fn usernames_exclude_at_sign_and_odd_characters() {
        assert!(Username::parse("ada.lovelace_1-x").is_ok());
        for bad in ["a", "ada@x", "ada lovelace", "ädä", &"a".repeat(65)] {
            assert!(Username::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn tenant_domains_are_lowercase_slugs() {
        assert!(TenantDomain::parse("acme-1").is_ok());
        for bad in [
            "",
            "Acme",
            "-acme",
            "acme-",
            "ac me",
            "ac/me",
            &"a".repeat(64),
        ] {
            assert!(TenantDomain::parse(bad).is_err(), "{bad:?}");
        }
    }
}
