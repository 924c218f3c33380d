//! The one mapping from service errors to Maestro's error answers, and the extractors
//! whose rejections are such answers. Bodies are always JSON objects
//! `{"error": code, "message": …}`: the `dadosfera` client returns error bodies to its
//! caller (`get_token` then raises `KeyError('tokens')`), and a non-JSON body would make
//! it raise `JSONDecodeError` instead.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use latchkey_api::codes;
use serde::de::DeserializeOwned;

use super::wire::ErrorBody;
use crate::api::AppState;
use crate::api::extract::redact_values;
use crate::services::{Caller, ServiceError};

#[derive(Debug)]
pub struct MaestroError {
    status: StatusCode,
    code: &'static str,
    message: String,
    retry_after: Option<i64>,
}

impl MaestroError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            codes::NOT_FOUND,
            "no such Maestro endpoint",
        )
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            codes::METHOD_NOT_ALLOWED,
            "this endpoint does not accept that method",
        )
    }
}

impl From<ServiceError> for MaestroError {
    fn from(error: ServiceError) -> Self {
        let message = error.to_string();
        let (status, code) = match &error {
            ServiceError::InvalidCredentials => {
                (StatusCode::UNAUTHORIZED, codes::INVALID_CREDENTIALS)
            }
            ServiceError::MfaRequired => (StatusCode::UNAUTHORIZED, codes::MFA_REQUIRED),
            ServiceError::InvalidTotp => (StatusCode::UNAUTHORIZED, codes::INVALID_TOTP),
            ServiceError::MfaEnrollmentRequired => {
                (StatusCode::FORBIDDEN, codes::MFA_ENROLLMENT_REQUIRED)
            }
            ServiceError::TooManyAttempts {
                retry_after_seconds,
            } => {
                let mut refused = Self::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    codes::TOO_MANY_ATTEMPTS,
                    message,
                );
                refused.retry_after = Some(*retry_after_seconds);
                return refused;
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
            ServiceError::Internal(detail) => {
                // The detail goes to the log only; the client gets a correlation id.
                let correlation_id = latchkey_core::id::random_id();
                tracing::error!(%correlation_id, detail = %detail, "internal error (maestro)");
                return Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    codes::INTERNAL,
                    format!(
                        "the server failed to handle the request (correlation id {correlation_id})"
                    ),
                );
            }
        };
        Self::new(status, code, message)
    }
}

impl IntoResponse for MaestroError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&ErrorBody {
            error: self.code,
            message: self.message,
        })
        .unwrap_or_default();
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(value) = self
            .retry_after
            .and_then(|seconds| HeaderValue::from_str(&seconds.to_string()).ok())
        {
            headers.insert(header::RETRY_AFTER, value);
        }
        response
    }
}

pub type MaestroResult<T> = Result<T, MaestroError>;

/// A JSON body whose rejections are Maestro errors (values redacted: a password sent
/// with the wrong type must not be echoed).
pub struct MaestroJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for MaestroJson<T> {
    type Rejection = MaestroError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(MaestroError::new(
                match rejection.status() {
                    status @ (StatusCode::PAYLOAD_TOO_LARGE
                    | StatusCode::UNSUPPORTED_MEDIA_TYPE) => status,
                    _ => StatusCode::BAD_REQUEST,
                },
                match rejection.status() {
                    StatusCode::PAYLOAD_TOO_LARGE => codes::PAYLOAD_TOO_LARGE,
                    StatusCode::UNSUPPORTED_MEDIA_TYPE => codes::UNSUPPORTED_MEDIA_TYPE,
                    _ => codes::MALFORMED_REQUEST,
                },
                redact_values(&rejection.body_text()),
            )),
        }
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
                MaestroError::new(
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
