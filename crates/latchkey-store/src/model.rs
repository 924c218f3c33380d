//! Records the store returns that are not plain domain types.

use latchkey_core::{Account, RoleName, Session, SigningKeyId, TenantId};
use time::OffsetDateTime;

/// An account with what sign-in needs to check it.
#[derive(Clone, Debug)]
pub struct AccountCredentials {
    pub account: Account,
    pub password_hash: Option<String>,
}

/// A tenant member as listed by administrators.
#[derive(Clone, Debug, PartialEq)]
pub struct MemberRecord {
    pub account: Account,
    pub role: RoleName,
}

#[derive(Clone, Debug, Default)]
pub struct MemberFilter {
    /// Normalised email prefix.
    pub email_prefix: Option<String>,
    pub role: Option<RoleName>,
    /// Members with no sign-in since this instant; never-signed-in members count when
    /// they were created before it.
    pub inactive_since: Option<OffsetDateTime>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SigningKeyStatus {
    Active,
    /// Replaced by a newer key but still published so tokens it signed verify.
    Previous,
}

impl SigningKeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Previous => "previous",
        }
    }
}

/// A signing key as stored: the private half sealed by the server's AEAD key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredSigningKey {
    pub id: SigningKeyId,
    pub tenant_id: TenantId,
    pub algorithm: String,
    /// Nonce and ciphertext of the private key, opaque to the store.
    pub sealed_private_key: Vec<u8>,
    /// DER SubjectPublicKeyInfo.
    pub public_key_der: Vec<u8>,
    pub status: SigningKeyStatus,
    pub created_at: OffsetDateTime,
}

/// What presenting a refresh token led to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RotationOutcome {
    /// The token was valid; the replacement now stands in its place.
    Rotated(Session),
    /// No such token (never issued, or its session was deleted).
    Unknown,
    /// The token outlived its idle lifetime.
    Expired,
    /// The session was revoked or ended.
    SessionInactive,
    /// An already-rotated token came back after the grace period: the session and all its
    /// tokens are now revoked.
    ReuseDetected(Session),
}
