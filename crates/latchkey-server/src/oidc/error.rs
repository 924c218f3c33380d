//! OAuth 2.0 error answers (RFC 6749 §5.2): `{"error", "error_description"}` with the
//! status Keycloak clients expect. Server faults stay opaque, as in the native API.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::services::ServiceError;

#[derive(Debug)]
pub struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
    /// Latchkey's finer reason, sent as `error_code` beside the OAuth `error`, for the
    /// answers OAuth has no code for (`mfa_required`, `invalid_totp`,
    /// `mfa_enrollment_required`).
    code: Option<&'static str>,
    retry_after: Option<i64>,
}

impl OAuthError {
    pub fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            error,
            description: description.into(),
            code: None,
            retry_after: None,
        }
    }

    fn with_code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }

    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_grant", description)
    }

    pub fn invalid_client() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Invalid client or client credentials",
        )
    }

    pub fn invalid_token() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "Token verification failed",
        )
    }
}

impl From<ServiceError> for OAuthError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::InvalidCredentials => Self::new(
                StatusCode::UNAUTHORIZED,
                "invalid_grant",
                "Invalid user credentials",
            ),
            // Keycloak answers a missing or wrong OTP of the direct grant like a wrong
            // password (401 invalid_grant); `error_code` tells the cases apart.
            ServiceError::MfaRequired => Self::new(
                StatusCode::UNAUTHORIZED,
                "invalid_grant",
                "Invalid user credentials: a TOTP code is required (form field `totp`)",
            )
            .with_code(latchkey_api::codes::MFA_REQUIRED),
            ServiceError::InvalidTotp => Self::new(
                StatusCode::UNAUTHORIZED,
                "invalid_grant",
                "Invalid user credentials: the TOTP code is wrong or was already used",
            )
            .with_code(latchkey_api::codes::INVALID_TOTP),
            // Keycloak's phrase for a pending required action (such as configuring OTP).
            ServiceError::MfaEnrollmentRequired => {
                Self::invalid_grant("Account is not fully set up")
                    .with_code(latchkey_api::codes::MFA_ENROLLMENT_REQUIRED)
            }
            ServiceError::TooManyAttempts {
                retry_after_seconds,
            } => {
                let mut e = Self::invalid_grant("Too many failed attempts; try again later");
                e.retry_after = Some(retry_after_seconds);
                e
            }
            // Keycloak's phrases: python-keycloak's admin connection signs in again when a
            // 400 carries one of them.
            ServiceError::InvalidRefreshToken("session not active") => {
                Self::invalid_grant("Session not active")
            }
            ServiceError::InvalidRefreshToken("token expired") => {
                Self::invalid_grant("Refresh token expired")
            }
            ServiceError::InvalidRefreshToken(_) => Self::invalid_grant("Token is not active"),
            ServiceError::InvalidClient => Self::invalid_client(),
            ServiceError::UnauthorizedClient => Self::new(
                StatusCode::BAD_REQUEST,
                "unauthorized_client",
                "The client is not allowed to use this grant",
            ),
            ServiceError::InvalidToken => Self::invalid_token(),
            ServiceError::NotFound("tenant") => Self::new(
                StatusCode::NOT_FOUND,
                "invalid_request",
                "Realm does not exist",
            ),
            ServiceError::Forbidden(message) => {
                Self::new(StatusCode::FORBIDDEN, "access_denied", message)
            }
            ServiceError::NotFound(what) => Self::new(
                StatusCode::NOT_FOUND,
                "invalid_request",
                format!("{what} not found"),
            ),
            ServiceError::Validation(message) => Self::invalid_request(message),
            ServiceError::Conflict(message) => Self::invalid_request(message),
            ServiceError::WeakPassword(_) => {
                Self::invalid_request("the password does not meet the policy")
            }
            ServiceError::Internal(detail) => {
                let correlation_id = latchkey_core::id::random_id();
                tracing::error!(%correlation_id, detail, "internal error");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    format!(
                        "the server failed to handle the request (correlation id {correlation_id})"
                    ),
                )
            }
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let mut body = json!({"error": self.error, "error_description": self.description});
        if let (Some(code), Some(map)) = (self.code, body.as_object_mut()) {
            map.insert("error_code".into(), code.into());
        }
        let mut response = (self.status, Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(value) = self
            .retry_after
            .and_then(|s| HeaderValue::from_str(&s.to_string()).ok())
        {
            headers.insert(header::RETRY_AFTER, value);
        }
        if self.status == StatusCode::UNAUTHORIZED {
            let challenge = if self.error == "invalid_token" {
                "Bearer error=\"invalid_token\""
            } else {
                "Basic realm=\"latchkey\""
            };
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        response
    }
}

pub type OAuthResult<T> = Result<T, OAuthError>;
