//! The one mapping from service errors to HTTP for the native API: RFC 9457 problem
//! details with a stable `code`. Server errors get an opaque body with a correlation id;
//! the detail goes to the log only.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use latchkey_api::{Problem, Violation, codes};

use crate::services::{EnrolmentError, ServiceError};

pub const PROBLEM_JSON: &str = "application/problem+json";

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    detail: String,
    /// A boxed slice rather than a `Vec`: like the boxed strings below, it keeps the
    /// error within clippy's `result_large_err`.
    violations: Box<[Violation]>,
    retry_after: Option<i64>,
    www_authenticate: bool,
    correlation_id: Option<Box<str>>,
    /// `u32` rather than `usize` keeps the error small (clippy's `result_large_err`);
    /// imports hold at most 10,000 lines.
    line: Option<u32>,
    /// The enrolment token of a native sign-in refused with `mfa_enrollment_required`.
    /// Boxed strings here too keep the error small.
    enrolment_token: Option<Box<str>>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            violations: Box::default(),
            retry_after: None,
            www_authenticate: false,
            correlation_id: None,
            line: None,
            enrolment_token: None,
        }
    }

    /// Names the line of an import request the error is about (`line` in the problem).
    pub fn at_line(mut self, line: usize) -> Self {
        self.line = u32::try_from(line).ok();
        self
    }

    pub fn malformed(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, codes::MALFORMED_REQUEST, detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, codes::NOT_FOUND, detail)
    }

    pub fn unauthenticated(detail: impl Into<String>) -> Self {
        let mut error = Self::new(StatusCode::UNAUTHORIZED, codes::INVALID_TOKEN, detail);
        error.www_authenticate = true;
        error
    }

    fn internal(detail: &str) -> Self {
        let correlation_id = latchkey_core::id::random_id();
        tracing::error!(%correlation_id, detail, "internal error");
        let mut error = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            codes::INTERNAL,
            format!("the server failed to handle the request (correlation id {correlation_id})"),
        );
        error.correlation_id = Some(correlation_id.into());
        error
    }
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        let message = error.to_string();
        match error {
            ServiceError::InvalidCredentials => Self::new(
                StatusCode::UNAUTHORIZED,
                codes::INVALID_CREDENTIALS,
                message,
            ),
            ServiceError::MfaRequired => {
                Self::new(StatusCode::UNAUTHORIZED, codes::MFA_REQUIRED, message)
            }
            ServiceError::InvalidTotp => {
                Self::new(StatusCode::UNAUTHORIZED, codes::INVALID_TOTP, message)
            }
            ServiceError::MfaEnrollmentRequired => Self::new(
                StatusCode::FORBIDDEN,
                codes::MFA_ENROLLMENT_REQUIRED,
                message,
            ),
            ServiceError::TooManyAttempts {
                retry_after_seconds,
            } => {
                let mut e = Self::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    codes::TOO_MANY_ATTEMPTS,
                    message,
                );
                e.retry_after = Some(retry_after_seconds);
                e
            }
            ServiceError::InvalidToken => Self::unauthenticated(message),
            ServiceError::UnauthorizedClient => {
                Self::new(StatusCode::FORBIDDEN, codes::FORBIDDEN, message)
            }
            ServiceError::InvalidClient => {
                Self::new(StatusCode::UNAUTHORIZED, codes::INVALID_CLIENT, message)
            }
            ServiceError::InvalidRefreshToken(_) => Self::new(
                StatusCode::UNAUTHORIZED,
                codes::INVALID_REFRESH_TOKEN,
                message,
            ),
            ServiceError::Forbidden(_) => {
                Self::new(StatusCode::FORBIDDEN, codes::FORBIDDEN, message)
            }
            ServiceError::NotFound(_) => Self::not_found(message),
            ServiceError::Conflict(_) => Self::new(StatusCode::CONFLICT, codes::CONFLICT, message),
            ServiceError::Validation(_) => {
                Self::new(StatusCode::BAD_REQUEST, codes::VALIDATION_FAILED, message)
            }
            ServiceError::WeakPassword(violations) => {
                let detail = violations
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ");
                let mut e = Self::new(StatusCode::BAD_REQUEST, codes::WEAK_PASSWORD, detail);
                e.violations = violations
                    .iter()
                    .map(|v| Violation {
                        rule: v.code().to_owned(),
                        message: v.to_string(),
                    })
                    .collect();
                e
            }
            ServiceError::Internal(detail) => Self::internal(&detail),
        }
    }
}

impl From<EnrolmentError> for ApiError {
    fn from(error: EnrolmentError) -> Self {
        let message = error.to_string();
        match error {
            EnrolmentError::Required { enrolment_token } => {
                let mut e = Self::new(
                    StatusCode::FORBIDDEN,
                    codes::MFA_ENROLLMENT_REQUIRED,
                    message,
                );
                e.enrolment_token = Some(enrolment_token.expose().into());
                e
            }
            EnrolmentError::InvalidToken => Self::new(
                StatusCode::UNAUTHORIZED,
                codes::INVALID_ENROLMENT_TOKEN,
                message,
            ),
            EnrolmentError::Service(error) => error.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = Problem {
            problem_type: format!(
                "https://latchkey.dev/problems/{}",
                self.code.replace('_', "-")
            ),
            title: self.status.canonical_reason().unwrap_or("Error").to_owned(),
            status: self.status.as_u16(),
            detail: Some(self.detail),
            code: self.code.to_owned(),
            violations: self.violations.into_vec(),
            correlation_id: self.correlation_id.map(String::from),
            line: self.line.map(u64::from),
            enrolment_token: self.enrolment_token.map(String::from),
        };
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(value) = self
            .retry_after
            .and_then(|seconds| HeaderValue::from_str(&seconds.to_string()).ok())
        {
            headers.insert(header::RETRY_AFTER, value);
        }
        if self.www_authenticate {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
