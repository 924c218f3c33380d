//! The one mapping from service errors to Maestro's error answers, and the extractors
//! whose rejections are such answers. Bodies are always JSON objects
//! `{"error": code, "message": …}`: the `dadosfera` client returns error bodies to its
//! caller (`get_token` then raises `KeyError('tokens')`), and a non-JSON body would make
//! it raise `JSONDecodeError` instead.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use latchkey_api::codes;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::wire::ErrorBody;
use crate::api::AppState;
use crate::dialects::common::{Dialect, DialectError, RejectsJson, read_json};
use crate::services::{Caller, ServiceError};

/// Maestro's error vocabulary: the native API's codes, in `{"error", "message"}`.
#[derive(Debug)]
pub enum Maestro {}

pub type MaestroError = DialectError<Maestro>;

impl Dialect for Maestro {
    type Code = &'static str;

    const NAME: &'static str = "maestro";
    const NOT_FOUND: (&'static str, &'static str) = (codes::NOT_FOUND, "no such Maestro endpoint");
    const METHOD_NOT_ALLOWED: &'static str = codes::METHOD_NOT_ALLOWED;

    fn classify(error: &ServiceError) -> (StatusCode, &'static str) {
        match error {
            ServiceError::InvalidCredentials => {
                (StatusCode::UNAUTHORIZED, codes::INVALID_CREDENTIALS)
            }
            ServiceError::MfaRequired => (StatusCode::UNAUTHORIZED, codes::MFA_REQUIRED),
            ServiceError::InvalidTotp => (StatusCode::UNAUTHORIZED, codes::INVALID_TOTP),
            ServiceError::MfaEnrollmentRequired => {
                (StatusCode::FORBIDDEN, codes::MFA_ENROLLMENT_REQUIRED)
            }
            ServiceError::TooManyAttempts { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, codes::TOO_MANY_ATTEMPTS)
            }
            ServiceError::InvalidToken => (StatusCode::UNAUTHORIZED, codes::INVALID_TOKEN),
            ServiceError::InvalidClient => (StatusCode::UNAUTHORIZED, codes::INVALID_CLIENT),
            ServiceError::UnauthorizedClient | ServiceError::Forbidden(_) => {
                (StatusCode::FORBIDDEN, codes::FORBIDDEN)
            }
            ServiceError::InvalidRefreshToken(_) => {
                (StatusCode::UNAUTHORIZED, codes::INVALID_REFRESH_TOKEN)
            }
            ServiceError::NotFound(_) => (StatusCode::NOT_FOUND, codes::NOT_FOUND),
            ServiceError::Conflict(_) => (StatusCode::CONFLICT, codes::CONFLICT),
            ServiceError::Validation(_) => (StatusCode::BAD_REQUEST, codes::VALIDATION_FAILED),
            ServiceError::WeakPassword(_) => (StatusCode::BAD_REQUEST, codes::WEAK_PASSWORD),
            ServiceError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, codes::INTERNAL),
        }
    }

    fn body(code: &'static str, message: String) -> impl Serialize {
        ErrorBody {
            error: code,
            message,
        }
    }
}

impl RejectsJson for Maestro {
    fn rejected_json_code(status: StatusCode) -> &'static str {
        match status {
            StatusCode::PAYLOAD_TOO_LARGE => codes::PAYLOAD_TOO_LARGE,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => codes::UNSUPPORTED_MEDIA_TYPE,
            _ => codes::MALFORMED_REQUEST,
        }
    }
}

pub type MaestroResult<T> = Result<T, MaestroError>;

/// A JSON body whose rejections are Maestro errors.
pub struct MaestroJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for MaestroJson<T> {
    type Rejection = MaestroError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        read_json(request, state).await.map(Self)
    }
}

/// The caller of a Maestro route. Maestro clients send the access token bare
/// (`Authorization: <token>`); `Authorization: Bearer <token>` works too.
pub struct MaestroCaller(pub Caller);

/// The token of an `Authorization` header, bare or after `Bearer `.
pub fn presented_token(value: &str) -> Option<&str> {
    const SCHEME: &str = "bearer";
    let value = value.trim();
    let after_scheme = value
        .get(..SCHEME.len())
        .filter(|scheme| scheme.eq_ignore_ascii_case(SCHEME))
        .and_then(|_| value.get(SCHEME.len()..))
        .filter(|rest| rest.is_empty() || rest.starts_with(char::is_whitespace));
    let token = after_scheme.map_or(value, str::trim);
    (!token.is_empty() && !token.contains(char::is_whitespace)).then_some(token)
}

impl FromRequestParts<AppState> for MaestroCaller {
    type Rejection = MaestroError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(presented_token)
            .ok_or_else(|| {
                MaestroError::coded(
                    StatusCode::UNAUTHORIZED,
                    codes::INVALID_TOKEN,
                    "send the access token as `Authorization: <token>` (or `Bearer <token>`)",
                )
            })?;
        let caller = state.authenticate(token).await?;
        caller.require_management_client()?;
        Ok(Self(caller))
    }
}

/// The longest `Dadosfera-User` value kept in the audit log.
const MAX_ACTING_USER_CHARS: usize = 254;

/// The `Dadosfera-User` header (who the client says it acts for), for the audit log:
/// control characters dropped, at most 254 characters; absent or empty is `None`.
pub fn acting_user(parts_headers: &axum::http::HeaderMap) -> Option<String> {
    let raw = parts_headers.get("dadosfera-user")?;
    let text = String::from_utf8_lossy(raw.as_bytes());
    let cleaned: String = text
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_ACTING_USER_CHARS)
        .collect();
    let cleaned = cleaned.trim();
    (!cleaned.is_empty()).then(|| cleaned.to_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn tokens_are_taken_bare_or_after_bearer() {
        assert_eq!(presented_token("abc.def.ghi"), Some("abc.def.ghi"));
        assert_eq!(presented_token("Bearer abc.def"), Some("abc.def"));
        assert_eq!(presented_token("bearer  abc "), Some("abc"));
        assert_eq!(presented_token(""), None);
        assert_eq!(presented_token("Bearer "), None);
        assert_eq!(presented_token("Basic a b"), None);
    }

    #[test]
    fn acting_user_is_cleaned_and_bounded() {
        let mut headers = axum::http::HeaderMap::new();
        assert_eq!(acting_user(&headers), None);
        headers.insert("dadosfera-user", HeaderValue::from_static(""));
        assert_eq!(acting_user(&headers), None);
        headers.insert(
            "dadosfera-user",
            HeaderValue::from_bytes(b" admin@x\t ").unwrap(),
        );
        assert_eq!(acting_user(&headers).as_deref(), Some("admin@x"));
        let long = "a".repeat(1000);
        headers.insert("dadosfera-user", HeaderValue::from_str(&long).unwrap());
        assert_eq!(acting_user(&headers).map(|s| s.len()), Some(254));
    }
}
