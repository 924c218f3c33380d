use latchkey_core::PolicyViolation;
use latchkey_store::{ConflictOn, StoreError};

use crate::keys::KeyError;
use crate::password::HashError;

/// Why an operation was refused or failed. Messages are safe to show to the caller;
/// `Internal` carries detail for the log only.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("the login or password is incorrect")]
    InvalidCredentials,
    #[error(
        "the account uses multi-factor authentication: send the current code of its authenticator app, or a recovery code, as `totp`"
    )]
    MfaRequired,
    #[error("the one-time code is wrong or was already used")]
    InvalidTotp,
    #[error(
        "this tenant requires multi-factor authentication and the account has none; enrol before the requirement is switched on, or ask an administrator"
    )]
    MfaEnrollmentRequired,
    #[error("too many failed sign-in attempts; try again later")]
    TooManyAttempts { retry_after_seconds: i64 },
    #[error("the access token is missing, malformed, expired or revoked")]
    InvalidToken,
    #[error("client authentication failed")]
    InvalidClient,
    #[error("the client is not allowed to use this grant")]
    UnauthorizedClient,
    #[error("the refresh token is invalid: {0}")]
    InvalidRefreshToken(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(&'static str),
    #[error("{0}")]
    Validation(String),
    #[error("the password does not meet the policy")]
    WeakPassword(Vec<PolicyViolation>),
    #[error("internal error")]
    Internal(String),
}

impl From<StoreError> for ServiceError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => Self::NotFound("resource"),
            StoreError::Conflict(on) => Self::Conflict(match on {
                ConflictOn::Email => "an account with this email address already exists",
                ConflictOn::Username => "an account with this username already exists",
                ConflictOn::TenantDomain => "a tenant with this domain already exists",
                ConflictOn::SigningKey | ConflictOn::Other => "the resource already exists",
            }),
            StoreError::InvalidCursor => {
                Self::Validation("`after` is not a cursor this list returned".into())
            }
            other => Self::Internal(format!("store: {other:?}")),
        }
    }
}

impl From<HashError> for ServiceError {
    fn from(error: HashError) -> Self {
        Self::Internal(format!("password hashing: {error}"))
    }
}

impl From<KeyError> for ServiceError {
    fn from(error: KeyError) -> Self {
        match error {
            KeyError::InvalidToken => Self::InvalidToken,
            other => Self::Internal(format!("signing keys: {other}")),
        }
    }
}
