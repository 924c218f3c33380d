//! `POST /api/v1/tenants/{tenant}/users/import`: many accounts in one request, as
//! newline-delimited JSON, created all or none.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use latchkey_api::{ImportUser, ImportUsersResponse, Problem, codes};

use super::AppState;
use super::error::{ApiError, ApiResult};
use super::extract::{NdjsonBody, redact_values};
use crate::services::{Caller, ImportAccount, ImportError, MAX_IMPORT_ACCOUNTS};

/// Import accounts as members of the tenant: an NDJSON body (`application/x-ndjson`) of
/// at most 16 MiB and 10,000 non-blank lines, each an `ImportUser`. All or nothing.
#[utoipa::path(
    post, path = "/api/v1/tenants/{tenant}/users/import", tag = "users",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant domain")),
    request_body(content = ImportUser, content_type = "application/x-ndjson", description = "One ImportUser object per line"),
    responses((status = 201, body = ImportUsersResponse), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 413, body = Problem), (status = 415, body = Problem))
)]
pub async fn import(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
    NdjsonBody(body): NdjsonBody,
) -> ApiResult<(StatusCode, Json<ImportUsersResponse>)> {
    let accounts = parse_lines(&body)?;
    let tenant = state.tenant_by_domain(&tenant).await?;
    let imported = state
        .import_members(&caller, &tenant, accounts)
        .await
        .map_err(|error| match error {
            ImportError::Request(error) => ApiError::from(error),
            ImportError::InvalidLine { line, .. } => ApiError::new(
                StatusCode::BAD_REQUEST,
                codes::VALIDATION_FAILED,
                error.to_string(),
            )
            .at_line(line),
            ImportError::ConflictingLine { line, .. } => {
                ApiError::new(StatusCode::CONFLICT, codes::CONFLICT, error.to_string())
                    .at_line(line)
            }
        })?;
    Ok((StatusCode::CREATED, Json(ImportUsersResponse { imported })))
}

/// Reads the body's lines (numbered from 1, blank ones skipped but counted, so numbers
/// match the sender's file) into accounts.
fn parse_lines(body: &[u8]) -> Result<Vec<ImportAccount>, ApiError> {
    let mut accounts = Vec::new();
    for (index, raw) in body.split(|byte| *byte == b'\n').enumerate() {
        let line = index + 1;
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if accounts.len() == MAX_IMPORT_ACCOUNTS {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                codes::PAYLOAD_TOO_LARGE,
                format!(
                    "an import holds at most {MAX_IMPORT_ACCOUNTS} accounts (non-blank lines); \
                     send them in several requests"
                ),
            )
            .at_line(line));
        }
        let user: ImportUser =
            serde_json::from_slice(raw).map_err(|e| line_error(line, &e).at_line(line))?;
        accounts.push(ImportAccount {
            line,
            email: user.email,
            username: user.username,
            display_name: user.display_name,
            role: user.role,
            password_hash: user.password_hash,
            disabled: user.disabled,
            custom_data: user.custom_data.unwrap_or_default(),
        });
    }
    Ok(accounts)
}

/// A line that is not an `ImportUser` object. serde's message without its position
/// inside the line (which is always "line 1") and without echoed values.
fn line_error(line: usize, error: &serde_json::Error) -> ApiError {
    let message = error.to_string();
    let message = message
        .rsplit_once(" at line ")
        .map_or(message.as_str(), |(text, _)| text);
    if message.starts_with("unknown field `password`") {
        return ApiError::malformed(format!(
            "line {line}: plain-text passwords are not accepted in an import; send an argon2id \
             `password_hash`, or set passwords afterwards"
        ));
    }
    ApiError::malformed(format!(
        "line {line}, column {}: {}",
        error.column(),
        redact_values(message)
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn blank_lines_are_skipped_but_counted() {
        let body = b"\n{\"email\":\"a@example.com\"}\r\n  \n{\"email\":\"b@example.com\",\"disabled\":true}";
        let accounts = parse_lines(body).unwrap();
        let lines: Vec<usize> = accounts.iter().map(|a| a.line).collect();
        assert_eq!(lines, [2, 4]);
        assert!(accounts[1].disabled);
    }

    #[test]
    fn a_bad_line_is_named_without_its_values() {
        let body =
            b"{\"email\":\"a@example.com\"}\n{\"email\":\"b@example.com\",\"disabled\":\"s3cret\"}";
        let error = format!("{:?}", parse_lines(body).err().unwrap());
        assert!(error.contains("line 2, column"), "{error}");
        assert!(!error.contains("s3cret"), "{error}");
        let plain = parse_lines(b"{\"email\":\"a@example.com\",\"password\":\"s3cret\"}");
        let error = format!("{:?}", plain.err().unwrap());
        assert!(error.contains("plain-text passwords"), "{error}");
        assert!(!error.contains("s3cret"), "{error}");
    }
}
