//! Credentials the SDK holds: wrapped so that `Debug` never shows them.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use latchkey_api::TokenResponse;
use serde::{Deserialize, Serialize};

/// A token or password. `Debug` prints `Secret(<redacted>)`; there is no `Display`, so
/// it cannot slip into a formatted message by accident. Use [`Secret::expose`] to read it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// The tokens of a signed-in client. Persist it (it is `Serialize`) after every use of
/// the client: the refresh token rotates on each refresh, and only the newest one works.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Domain of the tenant the tokens belong to.
    pub tenant: String,
    pub access_token: Secret,
    pub refresh_token: Secret,
    /// When the access token expires, in seconds since the Unix epoch.
    pub access_expires_at: i64,
}

impl Session {
    pub(crate) fn from_tokens(tenant: String, tokens: &TokenResponse, now: i64) -> Self {
        Self {
            tenant,
            access_token: Secret::new(tokens.access_token.clone()),
            refresh_token: Secret::new(tokens.refresh_token.clone()),
            access_expires_at: now.saturating_add(tokens.expires_in.max(0)),
        }
    }

    /// Whether the access token expires within `margin_secs` of `now`, or already has.
    pub fn expires_within(&self, margin_secs: i64, now: i64) -> bool {
        self.access_expires_at.saturating_sub(now) <= margin_secs
    }
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn debug_redacts_tokens() {
        let session = Session {
            tenant: "default".into(),
            access_token: Secret::new("access-abc"),
            refresh_token: Secret::new("refresh-xyz"),
            access_expires_at: 100,
        };
        let shown = format!("{session:?}");
        assert!(!shown.contains("access-abc"), "{shown}");
        assert!(!shown.contains("refresh-xyz"), "{shown}");
        assert!(shown.contains("default"));
    }

    #[test]
    fn serializes_tokens_transparently() {
        let session = Session {
            tenant: "t".into(),
            access_token: Secret::new("a"),
            refresh_token: Secret::new("r"),
            access_expires_at: 5,
        };
        let json = serde_json::to_value(&session).unwrap();
        assert_eq!(json["access_token"], "a");
        assert_eq!(json["refresh_token"], "r");
        let back: Session = serde_json::from_value(json).unwrap();
        assert_eq!(back, session);
    }

    #[test]
    fn expiry_margin() {
        let session = Session {
            tenant: "t".into(),
            access_token: Secret::new("a"),
            refresh_token: Secret::new("r"),
            access_expires_at: 1_000,
        };
        assert!(!session.expires_within(30, 900));
        assert!(session.expires_within(30, 970));
        assert!(session.expires_within(30, 2_000));
    }
}
