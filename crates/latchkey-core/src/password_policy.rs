//! Password rules after NIST SP 800-63B §5.1.1.2: a minimum and a generous maximum length,
//! no composition rules, and a blocklist of commonly used passwords.
//!
//! The blocklist (`data/common-passwords.txt`) is the 30,000-entry `passwords` frequency
//! list shipped with Dropbox's zxcvbn (MIT licence; taken from the `zxcvbn` 4.4.28 package
//! on PyPI), itself derived from Mark Burnett's / xato.net's corpus of ten million leaked
//! passwords, most common first.

use std::collections::HashSet;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

static BLOCKLIST_TEXT: &str = include_str!("../data/common-passwords.txt");

static BLOCKLIST: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| BLOCKLIST_TEXT.lines().filter(|l| !l.is_empty()).collect());

/// Number of entries in the shipped blocklist.
pub fn blocklist_len() -> usize {
    BLOCKLIST.len()
}

/// The longest maximum we allow a tenant to configure: argon2 hashes any length, but
/// unbounded input is a denial-of-service lever.
pub const MAX_ALLOWED_LENGTH: usize = 1024;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordPolicy {
    /// Minimum length in characters (Unicode scalar values).
    pub min_length: usize,
    /// Maximum length in characters; NIST asks for at least 64.
    pub max_length: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_length: 12,
            max_length: 128,
        }
    }
}

/// One reason a password is refused; every reason is reported at once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum PolicyViolation {
    #[error("password must be at least {min} characters long")]
    TooShort { min: usize },
    #[error("password must be at most {max} characters long")]
    TooLong { max: usize },
    #[error("password is on the list of commonly used passwords")]
    Common,
    #[error("password must not contain the account's email or username")]
    ContainsIdentity,
}

impl PolicyViolation {
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooShort { .. } => "too_short",
            Self::TooLong { .. } => "too_long",
            Self::Common => "common",
            Self::ContainsIdentity => "contains_identity",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("password policy needs 1 <= min_length <= max_length, max_length between 64 and 1024")]
pub struct InvalidPolicy;

impl PasswordPolicy {
    pub fn new(min_length: usize, max_length: usize) -> Result<Self, InvalidPolicy> {
        let policy = Self {
            min_length,
            max_length,
        };
        policy.validate()?;
        Ok(policy)
    }

    pub fn validate(&self) -> Result<(), InvalidPolicy> {
        if self.min_length >= 1
            && self.min_length <= self.max_length
            && (64..=MAX_ALLOWED_LENGTH).contains(&self.max_length)
        {
            Ok(())
        } else {
            Err(InvalidPolicy)
        }
    }

    /// Checks `password`; `identity` holds the account's own names (email, its local
    /// part, username), which a password may not contain.
    pub fn check(&self, password: &str, identity: &[&str]) -> Result<(), Vec<PolicyViolation>> {
        let mut violations = Vec::new();
        let length = password.chars().count();
        if length < self.min_length {
            violations.push(PolicyViolation::TooShort {
                min: self.min_length,
            });
        }
        if length > self.max_length {
            violations.push(PolicyViolation::TooLong {
                max: self.max_length,
            });
        }
        let lowered = password.to_lowercase();
        if BLOCKLIST.contains(lowered.as_str()) {
            violations.push(PolicyViolation::Common);
        }
        if identity
            .iter()
            .map(|name| name.trim().to_lowercase())
            .any(|name| name.chars().count() >= 4 && lowered.contains(&name))
        {
            violations.push(PolicyViolation::ContainsIdentity);
        }
        if violations.is_empty() {
            Ok(())
        } else {
            Err(violations)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocklist_has_at_least_ten_thousand_entries() {
        assert!(blocklist_len() >= 10_000, "{}", blocklist_len());
    }

    #[test]
    fn long_uncommon_passwords_pass() {
        let policy = PasswordPolicy::default();
        assert_eq!(policy.check("correct horse battery staple", &[]), Ok(()));
    }

    #[test]
    fn every_violation_is_reported() {
        let policy = PasswordPolicy::default();
        let violations = policy
            .check("password", &["password@example.com"])
            .unwrap_err();
        assert_eq!(
            violations,
            vec![
                PolicyViolation::TooShort { min: 12 },
                PolicyViolation::Common
            ]
        );
        let long_common = policy.check("1234567890123", &[]);
        assert!(long_common.is_ok() || long_common == Err(vec![PolicyViolation::Common]));
    }

    #[test]
    fn blocklist_is_case_insensitive() {
        let policy = PasswordPolicy::new(1, 64).unwrap();
        assert_eq!(
            policy.check("PaSsWoRd", &[]),
            Err(vec![PolicyViolation::Common])
        );
    }

    #[test]
    fn too_long_and_identity_are_refused() {
        let policy = PasswordPolicy::new(12, 64).unwrap();
        let violations = policy.check(&"x".repeat(65), &[]).unwrap_err();
        assert_eq!(violations, vec![PolicyViolation::TooLong { max: 64 }]);
        let violations = policy
            .check("my name is adalovelace!!", &["adalovelace"])
            .unwrap_err();
        assert_eq!(violations, vec![PolicyViolation::ContainsIdentity]);
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        let policy = PasswordPolicy::default();
        assert!(policy.check("ünïcödé-pässwörd", &[]).is_ok());
        assert!(policy.check("ääääääääääa", &[]).is_err());
    }

    #[test]
    fn invalid_policies_are_refused() {
        assert!(PasswordPolicy::new(0, 64).is_err());
        assert!(PasswordPolicy::new(12, 63).is_err());
        assert!(PasswordPolicy::new(80, 64).is_err());
    }
}
