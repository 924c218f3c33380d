//! What the dialects' error answers have in common. Each dialect decides the status and
//! code of every service error and the JSON object its clients expect; everything else
//! is the same for all of them and lives here: `429` answers carry `Retry-After`, a
//! `500` tells the client only a correlation id (the detail goes to the log), bodies are
//! always JSON objects sent as `application/json`, and a JSON body axum refuses keeps
//! `413` and `415` and is otherwise a `400` whose text has its values redacted.

use std::fmt;
use std::marker::PhantomData;

use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::api::extract::redact_values;
use crate::services::ServiceError;

/// One dialect's error vocabulary and body shape.
pub trait Dialect: Sized {
    /// What the dialect's bodies name an error by (`()` for a dialect whose bodies carry
    /// only a message).
    type Code: Copy + fmt::Debug;

    /// Names the dialect in the log line of an internal error.
    const NAME: &'static str;
    /// The code of an unknown path (`404`) and the message that goes with it.
    const NOT_FOUND: (Self::Code, &'static str);
    /// The code of a known path called with another method (`405`).
    const METHOD_NOT_ALLOWED: Self::Code;

    /// The status and code of a service error.
    fn classify(error: &ServiceError) -> (StatusCode, Self::Code);

    /// The message of a service error: its own unless the dialect words it differently.
    /// Not asked for internal errors, whose message is always the correlation id.
    fn message(error: &ServiceError) -> String {
        error.to_string()
    }

    /// The JSON object the dialect's clients read.
    fn body(code: Self::Code, message: String) -> impl Serialize;
}

/// Dialects that read JSON bodies with axum's extractor: the code of its rejections,
/// by the status they are answered with (`413`, `415` or `400`).
pub trait RejectsJson: Dialect {
    fn rejected_json_code(status: StatusCode) -> Self::Code;
}

/// An error answer of dialect `D`.
pub struct DialectError<D: Dialect> {
    status: StatusCode,
    code: D::Code,
    message: String,
    retry_after: Option<i64>,
    dialect: PhantomData<fn() -> D>,
}

impl<D: Dialect> fmt::Debug for DialectError<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DialectError")
            .field("dialect", &D::NAME)
            .field("status", &self.status)
            .field("code", &self.code)
            .field("message", &self.message)
            .field("retry_after", &self.retry_after)
            .finish()
    }
}

impl<D: Dialect> DialectError<D> {
    pub fn coded(status: StatusCode, code: D::Code, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
            dialect: PhantomData,
        }
    }

    pub fn not_found() -> Self {
        let (code, message) = D::NOT_FOUND;
        Self::coded(StatusCode::NOT_FOUND, code, message)
    }

    pub fn method_not_allowed() -> Self {
        Self::coded(
            StatusCode::METHOD_NOT_ALLOWED,
            D::METHOD_NOT_ALLOWED,
            "this endpoint does not accept that method",
        )
    }
}

impl<D: Dialect> From<ServiceError> for DialectError<D> {
    fn from(error: ServiceError) -> Self {
        let (status, code) = D::classify(&error);
        match error {
            ServiceError::Internal(detail) => {
                // The detail goes to the log only; the client gets a correlation id.
                let correlation_id = latchkey_core::id::random_id();
                tracing::error!(%correlation_id, detail = %detail, "internal error ({})", D::NAME);
                Self::coded(
                    status,
                    code,
                    format!(
                        "the server failed to handle the request (correlation id {correlation_id})"
                    ),
                )
            }
            ServiceError::TooManyAttempts {
                retry_after_seconds,
            } => {
                let mut refused = Self::coded(status, code, D::message(&error));
                refused.retry_after = Some(retry_after_seconds);
                refused
            }
            other => Self::coded(status, code, D::message(&other)),
        }
    }
}

impl<D: Dialect> IntoResponse for DialectError<D> {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&D::body(self.code, self.message)).unwrap_or_default();
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

/// Reads a JSON body as axum does, its rejections answered in dialect `D` (values
/// redacted: a password sent with the wrong type must not be echoed).
pub async fn read_json<T, S, D>(request: Request, state: &S) -> Result<T, DialectError<D>>
where
    T: DeserializeOwned,
    S: Send + Sync,
    D: RejectsJson,
{
    match axum::Json::<T>::from_request(request, state).await {
        Ok(axum::Json(value)) => Ok(value),
        Err(rejection) => {
            let status = match rejection.status() {
                kept @ (StatusCode::PAYLOAD_TOO_LARGE | StatusCode::UNSUPPORTED_MEDIA_TYPE) => kept,
                _ => StatusCode::BAD_REQUEST,
            };
            Err(DialectError::coded(
                status,
                D::rejected_json_code(status),
                redact_values(&rejection.body_text()),
            ))
        }
    }
}
