//! The one mapping from service errors to Squirro's error answers, and the extractors
//! whose rejections are such answers. Every error body is a JSON object
//! `{"error": "<message>"}`: `squirroclient` reads `data.get("error")`, and a JSON
//! array or a non-JSON body would make it fail with `AttributeError`/`TransportError`.
//! Statuses follow the client's mapping: 400 `ClientError`, 401 (after one refresh
//! attempt) and 403 `AuthorizationError`, 404 `NotFoundError`, 409 `ConflictError`.
//! Nothing here answers 502, 503 or 504, which the client retries for minutes.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::api::AppState;
use crate::dialects::common::{Dialect, DialectError};
use crate::services::{Caller, ServiceError};

/// Squirro's error vocabulary: statuses only, every body `{"error": message}`.
#[derive(Debug)]
pub enum Squirro {}

pub type SquirroError = DialectError<Squirro>;

impl Dialect for Squirro {
    type Code = ();

    const NAME: &'static str = "squirro";
    const NOT_FOUND: ((), &'static str) = ((), "no such Squirro user API endpoint");
    const METHOD_NOT_ALLOWED: () = ();

    fn classify(error: &ServiceError) -> (StatusCode, ()) {
        let status = match error {
            ServiceError::InvalidToken => StatusCode::UNAUTHORIZED,
            ServiceError::InvalidCredentials
            | ServiceError::MfaRequired
            | ServiceError::InvalidTotp
            | ServiceError::MfaEnrollmentRequired
            | ServiceError::InvalidClient
            | ServiceError::UnauthorizedClient
            | ServiceError::InvalidRefreshToken(_)
            | ServiceError::Forbidden(_) => StatusCode::FORBIDDEN,
            ServiceError::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            ServiceError::NotFound(_) => StatusCode::NOT_FOUND,
            ServiceError::Conflict(_) => StatusCode::CONFLICT,
            ServiceError::Validation(_) | ServiceError::WeakPassword(_) => StatusCode::BAD_REQUEST,
            ServiceError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        (status, ())
    }

    /// A weak password's answer names every rule it breaks: the body has no other field
    /// to carry them in.
    fn message(error: &ServiceError) -> String {
        match error {
            ServiceError::WeakPassword(violations) => {
                let reasons: Vec<String> = violations.iter().map(ToString::to_string).collect();
                format!(
                    "the password does not meet the policy: {}",
                    reasons.join("; ")
                )
            }
            other => other.to_string(),
        }
    }

    fn body((): (), message: String) -> impl Serialize {
        serde_json::json!({ "error": message })
    }
}

impl SquirroError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self::coded(status, (), message)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// The token endpoint's answer to a refused grant: `squirroclient` raises
    /// `AuthenticationError` for 403 (401 would be an `UnknownError`).
    pub fn at_token_endpoint(error: ServiceError) -> Self {
        match error {
            ServiceError::MfaRequired | ServiceError::InvalidTotp => Self::new(
                StatusCode::FORBIDDEN,
                "the account uses multi-factor authentication, which the Squirro token \
                 endpoint cannot carry; sign in through Latchkey's native API or OpenID \
                 Connect instead",
            ),
            ServiceError::InvalidToken => Self::new(
                StatusCode::FORBIDDEN,
                "the access token is missing, malformed, expired or revoked",
            ),
            // An unknown tenant named in the form is a failed sign-in like any other.
            ServiceError::NotFound(_) | ServiceError::InvalidCredentials => Self::new(
                StatusCode::FORBIDDEN,
                ServiceError::InvalidCredentials.to_string(),
            ),
            other => other.into(),
        }
    }
}

pub type SquirroResult<T> = Result<T, SquirroError>;

/// The caller of a Squirro API route: `Authorization: Bearer <access token>`. A missing,
/// expired or revoked token is 401, which makes the client refresh and retry once.
pub struct SquirroCaller(pub Caller);

impl FromRequestParts<AppState> for SquirroCaller {
    type Rejection = SquirroError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(bearer_token)
            .ok_or_else(|| {
                SquirroError::new(
                    StatusCode::UNAUTHORIZED,
                    "send the access token as `Authorization: Bearer <token>`",
                )
            })?;
        let caller = state.authenticate(token).await?;
        caller.require_management_client()?;
        Ok(Self(caller))
    }
}

/// The token of `Authorization: Bearer <token>` (scheme in any case).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer")
        && !token.is_empty()
        && !token.contains(char::is_whitespace))
    .then_some(token)
}

/// A request body as Squirro clients send it: JSON (`application/json`), a form
/// (`application/x-www-form-urlencoded`, every value a string), or nothing (an empty
/// object). JSON must be an object.
pub struct SquirroBody(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for SquirroBody {
    type Rejection = SquirroError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let media_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .map(|m| m.trim().to_ascii_lowercase());
        let bytes = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    SquirroError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "the request body is too large",
                    )
                } else {
                    SquirroError::bad_request("the request body could not be read")
                }
            })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(Map::new()));
        }
        match media_type.as_deref() {
            Some("application/json") => match serde_json::from_slice::<Value>(&bytes) {
                Ok(Value::Object(map)) => Ok(Self(map)),
                Ok(_) => Err(SquirroError::bad_request("the JSON body must be an object")),
                Err(_) => Err(SquirroError::bad_request("the body is not valid JSON")),
            },
            Some("application/x-www-form-urlencoded") | None => {
                let mut map = Map::new();
                for (key, value) in form_urlencoded::parse(&bytes) {
                    map.insert(key.into_owned(), Value::String(value.into_owned()));
                }
                Ok(Self(map))
            }
            Some(_) => Err(SquirroError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "send the body as JSON or as a form",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_read_in_any_case() {
        assert_eq!(bearer_token("Bearer abc.def"), Some("abc.def"));
        assert_eq!(bearer_token("bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("abc"), None);
    }
}
