//! The one mapping from service errors to Cloudspot error answers, and the extractors
//! whose rejections are such answers. Bodies are always the JSON object
//! `{"message", "error_code"}` and nothing else: the client parses every response as
//! JSON, and its `Error` model raises `AttributeError` on any other key.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use latchkey_core::ClientId;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::wire::ErrorBody;
use crate::api::AppState;
use crate::dialects::common::{Dialect, DialectError, RejectsJson, read_json};
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

/// Cloudspot's error vocabulary: the client's `error_code`s, in `{"message",
/// "error_code"}`.
#[derive(Debug)]
pub enum Cloudspot {}

pub type CloudspotError = DialectError<Cloudspot>;

/// What the client is told for every second-factor refusal: it has no field to send a
/// code in.
const MFA_NOT_SUPPORTED_MESSAGE: &str = "this account signs in with a second factor, which the Cloudspot client cannot send; sign in through the native API or OpenID Connect";

impl Dialect for Cloudspot {
    type Code = &'static str;

    const NAME: &'static str = "cloudspot";
    const NOT_FOUND: (&'static str, &'static str) =
        (codes::NOT_FOUND, "no such Cloudspot License endpoint");
    const METHOD_NOT_ALLOWED: &'static str = codes::NOT_ALLOWED;

    fn classify(error: &ServiceError) -> (StatusCode, &'static str) {
        match error {
            ServiceError::InvalidCredentials
            | ServiceError::InvalidToken
            | ServiceError::InvalidClient
            | ServiceError::InvalidRefreshToken(_) => {
                (StatusCode::UNAUTHORIZED, codes::NOT_AUTHORIZED)
            }
            ServiceError::MfaRequired
            | ServiceError::InvalidTotp
            | ServiceError::MfaEnrollmentRequired => {
                (StatusCode::UNAUTHORIZED, codes::MFA_NOT_SUPPORTED)
            }
            ServiceError::TooManyAttempts { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, codes::TOO_MANY_ATTEMPTS)
            }
            ServiceError::UnauthorizedClient | ServiceError::Forbidden(_) => {
                (StatusCode::FORBIDDEN, codes::FORBIDDEN)
            }
            ServiceError::NotFound(_) => (StatusCode::NOT_FOUND, codes::NOT_FOUND),
            ServiceError::Conflict(_) => (StatusCode::CONFLICT, codes::CONFLICT),
            ServiceError::Validation(_) | ServiceError::WeakPassword(_) => {
                (StatusCode::BAD_REQUEST, codes::INVALID_FORMAT)
            }
            ServiceError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, codes::SERVER_ERROR),
        }
    }

    fn message(error: &ServiceError) -> String {
        match error {
            ServiceError::MfaRequired
            | ServiceError::InvalidTotp
            | ServiceError::MfaEnrollmentRequired => MFA_NOT_SUPPORTED_MESSAGE.to_owned(),
            other => other.to_string(),
        }
    }

    fn body(code: &'static str, message: String) -> impl Serialize {
        ErrorBody {
            message,
            error_code: code,
        }
    }
}

impl RejectsJson for Cloudspot {
    fn rejected_json_code(_status: StatusCode) -> &'static str {
        codes::INVALID_FORMAT
    }
}

fn not_authorized(message: impl Into<String>) -> CloudspotError {
    CloudspotError::coded(StatusCode::UNAUTHORIZED, codes::NOT_AUTHORIZED, message)
}

pub type CloudspotResult<T> = Result<T, CloudspotError>;

/// A JSON body whose rejections are Cloudspot errors.
pub struct CloudspotJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for CloudspotJson<T> {
    type Rejection = CloudspotError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        read_json(request, state).await.map(Self)
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
                not_authorized("send the application's client id as `X-LICENSE-MODULE`")
            })?;
        state.module(named).await.map(Module).map_err(|e| match e {
            ServiceError::InvalidClient => {
                not_authorized("`X-LICENSE-MODULE` names no application known to this server")
            }
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
            .ok_or_else(|| not_authorized("send the access token as `X-LICENSE-TOKEN`"))?;
        Ok(Self(state.authenticate(token).await?))
    }
}
