//! Extractors whose rejections are problem details, and the authenticated caller.

use std::net::SocketAddr;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use latchkey_api::codes;
use serde::de::DeserializeOwned;

use super::AppState;
use super::error::ApiError;
use crate::services::Caller;

/// The largest request body any endpoint accepts.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The largest body of a bulk import (`POST …/users/import`), the one route allowed more
/// than [`MAX_BODY_BYTES`].
pub const MAX_IMPORT_BODY_BYTES: usize = 16 * 1024 * 1024;

/// The media type of newline-delimited JSON, the body of a bulk import.
pub const NDJSON: &str = "application/x-ndjson";

/// A newline-delimited JSON body (`Content-Type: application/x-ndjson`) of at most
/// [`MAX_IMPORT_BODY_BYTES`]; the lines are left to the handler.
pub struct NdjsonBody(pub axum::body::Bytes);

impl<S: Send + Sync> FromRequest<S> for NdjsonBody {
    type Rejection = ApiError;

    async fn from_request(mut request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let media_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .map(str::trim);
        if !media_type.is_some_and(|m| m.eq_ignore_ascii_case(NDJSON)) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                codes::UNSUPPORTED_MEDIA_TYPE,
                format!("send the accounts as NDJSON with `Content-Type: {NDJSON}`"),
            ));
        }
        // Overrides the router-wide limit for this extractor only.
        axum::extract::DefaultBodyLimit::max(MAX_IMPORT_BODY_BYTES).apply(&mut request);
        match axum::body::Bytes::from_request(request, state).await {
            Ok(body) => Ok(Self(body)),
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    codes::PAYLOAD_TOO_LARGE,
                    format!(
                        "import bodies are limited to {MAX_IMPORT_BODY_BYTES} bytes (16 MiB); \
                         send the accounts in several requests"
                    ),
                ))
            }
            Err(_) => Err(ApiError::malformed("the request body could not be read")),
        }
    }
}

/// JSON body; malformed, oversized or mistyped bodies become problem details.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_rejection(&rejection)),
        }
    }
}

/// A JSON body that may be left out entirely: no `Content-Type` and no bytes means
/// `None`; anything else must be a valid JSON body as for [`ApiJson`].
pub struct OptionalApiJson<T>(pub Option<T>);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for OptionalApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if request.headers().contains_key(header::CONTENT_TYPE) {
            let ApiJson(value) = ApiJson::<T>::from_request(request, state).await?;
            return Ok(Self(Some(value)));
        }
        let body = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|_| {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    codes::PAYLOAD_TOO_LARGE,
                    format!("request bodies are limited to {MAX_BODY_BYTES} bytes"),
                )
            })?;
        if body.is_empty() {
            Ok(Self(None))
        } else {
            Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                codes::UNSUPPORTED_MEDIA_TYPE,
                "send the body as JSON with `Content-Type: application/json`",
            ))
        }
    }
}

fn json_rejection(rejection: &JsonRejection) -> ApiError {
    match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            codes::PAYLOAD_TOO_LARGE,
            format!("request bodies are limited to {MAX_BODY_BYTES} bytes"),
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            codes::UNSUPPORTED_MEDIA_TYPE,
            "send the body as JSON with `Content-Type: application/json`",
        ),
        _ => ApiError::malformed(format!(
            "invalid JSON body: {}",
            redact_values(&rejection.body_text())
        )),
    }
}

/// serde echoes offending scalar values ("invalid type: integer `123456`"), which could
/// be a password sent with the wrong type; keep the kind of value, drop the value.
pub fn redact_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    for marker in ["invalid type: ", "invalid value: "] {
        if let Some(start) = rest.find(marker) {
            let after = start + marker.len();
            out.push_str(&rest[..after]);
            let tail = &rest[after..];
            let kind_end = tail.find([' ', ',']).unwrap_or(tail.len());
            out.push_str(&tail[..kind_end]);
            let value_end = tail.find(", expected").unwrap_or(kind_end);
            rest = &tail[value_end.max(kind_end)..];
        }
    }
    out.push_str(rest);
    out
}

/// Query string; unknown or mistyped parameters become problem details.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Self(value)),
            Err(rejection) => Err(query_rejection(&rejection)),
        }
    }
}

fn query_rejection(rejection: &QueryRejection) -> ApiError {
    ApiError::malformed(format!(
        "invalid query string: {}",
        redact_values(&rejection.body_text())
    ))
}

/// Where the request came from, for sessions and the audit log.
pub struct ClientInfo {
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for ClientInfo {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let ip_address = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip().to_string());
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ok(Self {
            ip_address,
            user_agent,
        })
    }
}

/// The Bearer token of a request, if it has one.
pub fn bearer_token(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer_token(parts).ok_or_else(|| {
            ApiError::unauthenticated("send an access token as `Authorization: Bearer <token>`")
        })?;
        let caller = state.authenticate(token).await?;
        caller.require_management_client()?;
        Ok(caller)
    }
}

#[cfg(test)]
mod tests {
    use super::redact_values;

    #[test]
    fn scalar_values_are_removed_from_serde_messages() {
        let message = "Failed to deserialize the JSON body into the target type: password: invalid type: integer `123456`, expected a string at line 1 column 20";
        let redacted = redact_values(message);
        assert!(!redacted.contains("123456"), "{redacted}");
        assert!(
            redacted.contains("invalid type: integer, expected a string"),
            "{redacted}"
        );
        let plain = "missing field `login`";
        assert_eq!(redact_values(plain), plain);
    }
}
