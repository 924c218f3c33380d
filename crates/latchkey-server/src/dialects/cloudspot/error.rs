//! The one mapping from service errors to Cloudspot error answers, and the extractors
//! whose rejections are such answers. Bodies are always the JSON object
//! `{"message", "error_code"}` and nothing else: the client parses every response as
//! JSON, and its `Error` model raises `AttributeError` on any other key.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use latchkey_core::ClientId;
use serde::de::DeserializeOwned;

use super::wire::ErrorBody;
use crate::api::AppState;
use crate::api::extract::redact_values;
use crate::services::{Caller, ServiceError};

/// The `error_code` values (those of the client's `constants/responses.py` where one
/// fits).
pub mod codes {
    pub const NOT_AUTHORIZED: &str = "NOT_AUTHORIZED";
    pub const NOT_FOUND: &str = "NOT_FOUND";
    pub const NOT_ALLOWED: &str = "NOT_ALLOWED";
    pub const INVALID_FORMAT: &str = "INVALID_FORMAT";
    pub const FORBIDDEN: &str = "FORBIDDEN";
    pub const CONFLICT: &str = "CONFLICT";
    pub const MFA_NOT_SUPPORTED: &str = "MFA_NOT_SUPPORTED";
    pub const TOO_MANY_ATTEMPTS: &str = "TOO_MANY_ATTEMPTS";
    pub const SERVER_ERROR: &str = "SERVER_ERROR";
}

/// The header naming the module (an application's client id).
pub const MODULE_HEADER: &str = "x-license-module";
/// The header carrying the raw access token.
pub const TOKEN_HEADER: &str = "x-license-token";

#[derive(Debug)]
pub struct CloudspotError {
    status: StatusCode,
    code: &'static str,
    message: String,
    retry_after: Option<i64>,
}

impl CloudspotError {
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
            "no such Cloudspot License endpoint",
        )
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            codes::NOT_ALLOWED,
            "this endpoint does not accept that method",
        )
    }

    fn not_authorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, codes::NOT_AUTHORIZED, message)
    }
}

impl From<ServiceError> for CloudspotError {
    fn from(error: ServiceError) -> Self {
        let message = error.to_string();
        let (status, code) = match &error {
            ServiceError::InvalidCredentials
            | ServiceError::InvalidToken
            | ServiceError::InvalidClient
            | ServiceError::InvalidRefreshToken(_) => {
                (StatusCode::UNAUTHORIZED, codes::NOT_AUTHORIZED)
            }
            ServiceError::MfaRequired
            | ServiceError::InvalidTotp
            | ServiceError::MfaEnrollmentRequired => {
                return Self::new(
                    StatusCode::UNAUTHORIZED,
                    codes::MFA_NOT_SUPPORTED,
                    "this account signs in with a second factor, which the Cloudspot client cannot send; sign in through the native API or OpenID Connect",
                );
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
            ServiceError::UnauthorizedClient | ServiceError::Forbidden(_) => {
                (StatusCode::FORBIDDEN, codes::FORBIDDEN)
            }
            ServiceError::NotFound(_) => (StatusCode::NOT_FOUND, codes::NOT_FOUND),
            ServiceError::Conflict(_) => (StatusCode::CONFLICT, codes::CONFLICT),
            ServiceError::Validation(_) | ServiceError::WeakPassword(_) => {
                (StatusCode::BAD_REQUEST, codes::INVALID_FORMAT)
            }
            ServiceError::Internal(detail) => {
                // The detail goes to the log only; the client gets a correlation id.
                let correlation_id = latchkey_core::id::random_id();
                tracing::error!(%correlation_id, detail = %detail, "internal error (cloudspot)");
                return Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    codes::SERVER_ERROR,
                    format!(
                        "the server failed to handle the request (correlation id {correlation_id})"
                    ),
                );
            }
        };
        Self::new(status, code, message)
    }
}

impl IntoResponse for CloudspotError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&ErrorBody {
            message: self.message,
            error_code: self.code,
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

pub type CloudspotResult<T> = Result<T, CloudspotError>;

/// A JSON body whose rejections are Cloudspot errors (values redacted: a password sent
/// with the wrong type must not be echoed).
pub struct CloudspotJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for CloudspotJson<T> {
    type Rejection = CloudspotError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(CloudspotError::new(
                match rejection.status() {
                    status @ (StatusCode::PAYLOAD_TOO_LARGE
                    | StatusCode::UNSUPPORTED_MEDIA_TYPE) => status,
                    _ => StatusCode::BAD_REQUEST,
                },
                codes::INVALID_FORMAT,
                redact_values(&rejection.body_text()),
            )),
        }
    }
}

/// The module of a request: `X-LICENSE-MODULE`, an application's client id in some
/// tenant. Missing or unknown → 401.
pub struct Module(pub ClientId);

impl FromRequestParts<AppState> for Module {
    type Rejection = CloudspotError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let named = parts
            .headers
            .get(MODULE_HEADER)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                CloudspotError::not_authorized(
                    "send the application's client id as `X-LICENSE-MODULE`",
                )
            })?;
        state.module(named).await.map(Module).map_err(|e| match e {
            ServiceError::InvalidClient => CloudspotError::not_authorized(
                "`X-LICENSE-MODULE` names no application known to this server",
            ),
            other => other.into(),
        })
    }
}

/// The caller of a Cloudspot route: `X-LICENSE-TOKEN`, a raw access token verified as
/// the native API verifies it (signature, issuer, expiry, live session, membership,
/// enabled account). Missing or invalid → 401.
pub struct LicenseCaller(pub Caller);

impl FromRequestParts<AppState> for LicenseCaller {
    type Rejection = CloudspotError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(TOKEN_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                CloudspotError::not_authorized("send the access token as `X-LICENSE-TOKEN`")
            })?;
        Ok(Self(state.authenticate(token).await?))
    }
}
