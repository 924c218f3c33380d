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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use axum::body::Body;
    use serde_json::{Value, json};

    use super::*;

    /// A dialect that shows everything the shared part decides.
    #[derive(Debug)]
    enum Probe {}

    impl Dialect for Probe {
        type Code = &'static str;
        const NAME: &'static str = "probe";
        const NOT_FOUND: (&'static str, &'static str) = ("nowhere", "no such probe endpoint");
        const METHOD_NOT_ALLOWED: &'static str = "wrong_method";

        fn classify(error: &ServiceError) -> (StatusCode, &'static str) {
            match error {
                ServiceError::TooManyAttempts { .. } => (StatusCode::TOO_MANY_REQUESTS, "slow"),
                ServiceError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "broken"),
                _ => (StatusCode::BAD_REQUEST, "other"),
            }
        }

        fn message(error: &ServiceError) -> String {
            format!("probe: {error}")
        }

        fn body(code: &'static str, message: String) -> impl Serialize {
            json!({"probe_code": code, "text": message})
        }
    }

    impl RejectsJson for Probe {
        fn rejected_json_code(status: StatusCode) -> &'static str {
            if status == StatusCode::BAD_REQUEST {
                "unreadable"
            } else {
                "refused"
            }
        }
    }

    async fn answer(error: DialectError<Probe>) -> (StatusCode, axum::http::HeaderMap, Value) {
        let response = error.into_response();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        (status, headers, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn throttled_answers_carry_retry_after_and_the_dialects_wording() {
        let error = DialectError::<Probe>::from(ServiceError::TooManyAttempts {
            retry_after_seconds: 7,
        });
        let (status, headers, body) = answer(error).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(headers[header::RETRY_AFTER], "7");
        assert_eq!(headers[header::CONTENT_TYPE], "application/json");
        assert_eq!(body["probe_code"], "slow");
        assert_eq!(
            body["text"],
            "probe: too many failed sign-in attempts; try again later"
        );
    }

    #[tokio::test]
    async fn internal_errors_show_only_a_correlation_id() {
        let error =
            DialectError::<Probe>::from(ServiceError::Internal("store: secret detail".into()));
        let (status, headers, body) = answer(error).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!headers.contains_key(header::RETRY_AFTER));
        assert_eq!(body["probe_code"], "broken");
        let text = body["text"].as_str().unwrap();
        assert!(text.contains("correlation id"), "{text}");
        assert!(
            !text.contains("secret") && !text.starts_with("probe:"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn fallbacks_use_the_dialects_codes() {
        let (status, _, body) = answer(DialectError::not_found()).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(
            body,
            json!({"probe_code": "nowhere", "text": "no such probe endpoint"})
        );
        let (status, _, body) = answer(DialectError::method_not_allowed()).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(body["probe_code"], "wrong_method");
    }

    fn json_request(content_type: &str, body: &'static str) -> Request {
        Request::builder()
            .method("POST")
            .uri("/")
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap()
    }

    #[tokio::test]
    async fn rejected_json_keeps_415_else_400_without_echoing_values() {
        #[derive(Debug, serde::Deserialize)]
        struct Login {
            #[expect(dead_code, reason = "only its type matters")]
            password: String,
        }
        let read = |request| async move { read_json::<Login, (), Probe>(request, &()).await };

        let wrong_type = read(json_request(
            "application/json",
            r#"{"password": 918273645}"#,
        ))
        .await
        .unwrap_err();
        let (status, _, body) = answer(wrong_type).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["probe_code"], "unreadable");
        let text = body["text"].as_str().unwrap();
        assert!(!text.is_empty() && !text.contains("918273645"), "{text}");

        let not_json = read(json_request("text/plain", "{}")).await.unwrap_err();
        let (status, _, body) = answer(not_json).await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert_eq!(body["probe_code"], "refused");

        let fine = read(json_request("application/json", r#"{"password": "x"}"#)).await;
        assert!(fine.is_ok());
    }
}
