//! The SDK's error type and the decoding of error answers.

use std::fmt;

use latchkey_api::Problem;

use crate::secret::Secret;

/// Code given to error answers whose body is not a problem document (e.g. from a proxy).
pub const UNEXPECTED_RESPONSE: &str = "unexpected_response";

/// Everything an SDK call can fail with. No variant ever carries a token or password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with an error status and a problem document (boxed to keep
    /// `Result<_, Error>` small).
    #[error("{}", problem_message(.problem))]
    Api { status: u16, problem: Box<Problem> },
    /// The native sign-in's `mfa_enrollment_required` (the tenant requires multi-factor
    /// authentication and the account has none) with the enrolment token that lets the
    /// account enrol an authenticator and sign in: see
    /// [`Client::begin_mfa_enrolment`](crate::Client::begin_mfa_enrolment). Otherwise
    /// like `Api`; the token is taken out of the problem so `Debug` never shows it.
    #[error("{}", problem_message(.problem))]
    MfaEnrollmentRequired {
        status: u16,
        problem: Box<Problem>,
        enrolment_token: Secret,
    },
    /// The request could not be sent or the answer not received.
    #[error("transport error")]
    Transport(#[source] reqwest::Error),
    /// The server's answer did not have the expected shape.
    #[error(transparent)]
    Decode(DecodeError),
    /// The call needs a session and the client has none.
    #[error("not signed in")]
    NotSignedIn,
    /// A bad base URL or path argument (empty, `.` or `..`), refused before sending.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// A token refresh was interrupted because the async runtime is shutting down.
    #[error("the token refresh was cancelled")]
    Cancelled,
}

impl Error {
    /// The problem's stable code (e.g. `invalid_credentials`) for API errors.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Api { problem, .. } | Self::MfaEnrollmentRequired { problem, .. } => {
                Some(&problem.code)
            }
            _ => None,
        }
    }

    /// The HTTP status for API errors.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } | Self::MfaEnrollmentRequired { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The problem document for API errors.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            Self::Api { problem, .. } | Self::MfaEnrollmentRequired { problem, .. } => {
                Some(problem)
            }
            _ => None,
        }
    }

    /// The enrolment token of a sign-in refused with `mfa_enrollment_required`: enrol an
    /// authenticator with it ([`Client::begin_mfa_enrolment`](crate::Client::begin_mfa_enrolment),
    /// then [`Client::confirm_mfa_enrolment`](crate::Client::confirm_mfa_enrolment)).
    pub fn enrolment_token(&self) -> Option<&Secret> {
        match self {
            Self::MfaEnrollmentRequired {
                enrolment_token, ..
            } => Some(enrolment_token),
            _ => None,
        }
    }
}

impl From<reqwest::Error> for Error {
    fn from(err: reqwest::Error) -> Self {
        Self::Transport(err)
    }
}

fn problem_message(problem: &Problem) -> String {
    let text = problem
        .detail
        .as_deref()
        .filter(|d| !d.trim().is_empty())
        .unwrap_or(&problem.title);
    format!("{}: {}", problem.code, text)
}

/// A body that could not be decoded. Holds only where and how decoding failed, never the
/// body itself: a malformed token answer must not end up in a log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    pub status: u16,
    /// What was being decoded, e.g. `TokenResponse`.
    pub expected: &'static str,
    pub line: usize,
    pub column: usize,
    kind: &'static str,
}

impl DecodeError {
    pub(crate) fn new(status: u16, expected: &'static str, err: &serde_json::Error) -> Self {
        use serde_json::error::Category;
        let kind = match err.classify() {
            Category::Io => "I/O error",
            Category::Syntax => "invalid JSON",
            Category::Data => "unexpected JSON shape",
            Category::Eof => "truncated JSON",
        };
        Self {
            status,
            expected,
            line: err.line(),
            column: err.column(),
            kind,
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "could not decode the server's answer (HTTP {}) as {}: {} at line {} column {}",
            self.status, self.expected, self.kind, self.line, self.column
        )
    }
}

impl std::error::Error for DecodeError {}

/// The `Error::Api` for an error answer: its problem document, or one made up from the
/// status when the body is not a problem document.
pub(crate) fn api_error(status: u16, body: &[u8]) -> Error {
    let mut problem = match serde_json::from_slice::<Problem>(body) {
        Ok(problem) => problem,
        Err(_) => fallback_problem(status, body),
    };
    match problem.enrolment_token.take() {
        Some(token) => Error::MfaEnrollmentRequired {
            status,
            problem: Box::new(problem),
            enrolment_token: Secret::new(token),
        },
        None => Error::Api {
            status,
            problem: Box::new(problem),
        },
    }
}

fn fallback_problem(status: u16, body: &[u8]) -> Problem {
    let title = reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("HTTP error")
        .to_owned();
    // A short plain-text body (e.g. "Bad Gateway") helps; an HTML page does not.
    let detail = std::str::from_utf8(body)
        .ok()
        .map(|text| text.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|text| !text.is_empty() && text.len() <= 200 && !text.starts_with('<'));
    Problem {
        problem_type: "about:blank".to_owned(),
        title,
        status,
        detail,
        code: UNEXPECTED_RESPONSE.to_owned(),
        violations: Vec::new(),
        correlation_id: None,
        line: None,
        enrolment_token: None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn decodes_problem_documents() {
        let body = br#"{"type":"https://latchkey.dev/problems/invalid-credentials","title":"Invalid credentials","status":401,"detail":"The login or password is wrong.","code":"invalid_credentials"}"#;
        let err = api_error(401, body);
        assert_eq!(err.code(), Some("invalid_credentials"));
        assert_eq!(err.status(), Some(401));
        assert_eq!(
            err.to_string(),
            "invalid_credentials: The login or password is wrong."
        );
    }

    #[test]
    fn falls_back_to_title_without_detail() {
        let body = br#"{"type":"about:blank","title":"Not found","status":404,"code":"not_found"}"#;
        assert_eq!(api_error(404, body).to_string(), "not_found: Not found");
    }

    #[test]
    fn keeps_violations() {
        // What the server answers for a weak password: 400, the rules' messages joined as
        // the detail, and one violation per broken rule.
        let body = br#"{"type":"https://latchkey.dev/problems/weak-password","title":"Bad Request","status":400,"detail":"password must be at least 12 characters long; password is on the list of commonly used passwords","code":"weak_password","violations":[{"rule":"too_short","message":"password must be at least 12 characters long"},{"rule":"common","message":"password is on the list of commonly used passwords"}]}"#;
        let err = api_error(400, body);
        assert_eq!(err.status(), Some(400));
        assert_eq!(err.code(), Some("weak_password"));
        let rules: Vec<&str> = err
            .problem()
            .unwrap()
            .violations
            .iter()
            .map(|v| v.rule.as_str())
            .collect();
        assert_eq!(rules, vec!["too_short", "common"]);
        assert_eq!(
            err.to_string(),
            "weak_password: password must be at least 12 characters long; password is on the list of commonly used passwords"
        );
    }

    #[test]
    fn keeps_the_correlation_id_of_server_errors() {
        let body = br#"{"type":"https://latchkey.dev/problems/internal-error","title":"Internal Server Error","status":500,"detail":"the server failed to handle the request","code":"internal_error","correlation_id":"c0ffee"}"#;
        let err = api_error(500, body);
        assert_eq!(err.code(), Some("internal_error"));
        assert_eq!(
            err.problem().unwrap().correlation_id.as_deref(),
            Some("c0ffee")
        );
    }

    #[test]
    fn non_problem_bodies_get_a_synthetic_problem() {
        let err = api_error(502, b"Bad Gateway\n");
        assert_eq!(err.code(), Some(UNEXPECTED_RESPONSE));
        assert_eq!(err.to_string(), "unexpected_response: Bad Gateway");
        let err = api_error(503, b"<html><body>down</body></html>");
        assert_eq!(err.to_string(), "unexpected_response: Service Unavailable");
    }

    #[test]
    fn decode_errors_do_not_quote_the_body() {
        let err = serde_json::from_str::<latchkey_api::TokenResponse>(
            r#"{"access_token":"super-secret-token","refresh_token":7}"#,
        )
        .unwrap_err();
        let decode = DecodeError::new(200, "TokenResponse", &err);
        let shown = format!("{decode} {decode:?}");
        assert!(!shown.contains("super-secret-token"), "{shown}");
        assert!(shown.contains("TokenResponse"));
    }
}
