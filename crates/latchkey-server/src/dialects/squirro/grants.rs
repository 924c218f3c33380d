//! A member's grants: `POST|GET users/{id}/grants`. A grant is revoked through
//! `DELETE users/{id}/sessions/{gid}` (`delete_grant` delegates to `delete_session`;
//! a grant is a session).

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use latchkey_core::{Application, GrantKind, Tenant};
use latchkey_store::GrantRecord;
use serde_json::{Value, json};

use super::error::{SquirroBody, SquirroCaller, SquirroError, SquirroResult};
use super::wire::{required, text};
use crate::api::AppState;
use crate::services::GrantSpec;

/// The application named by `client_id` when one is sent, authenticated with
/// `client_secret` in `tenant`; a failed authentication is 403.
pub async fn verified_client(
    state: &AppState,
    tenant: &Tenant,
    client_id: Option<&str>,
    client_secret: Option<&str>,
) -> SquirroResult<Option<Application>> {
    let Some(client_id) = client_id.filter(|c| !c.is_empty()) else {
        return Ok(None);
    };
    let secret = client_secret.filter(|s| !s.is_empty());
    Ok(Some(
        state.authenticate_client(tenant, client_id, secret).await?,
    ))
}

/// Squirro's grant timestamps: `YYYY-MM-DD HH:MM:SS` in UTC.
fn grant_time(at: time::OffsetDateTime) -> String {
    super::wire::timestamp(at).replacen('T', " ", 1)
}

fn grant(record: &GrantRecord) -> Value {
    json!({
        "id": record.session.id.as_str(),
        "type": record.kind.as_str(),
        "client_id": record.session.client_id,
        "for_client_id": record.for_client_id,
        "project_permissions": record.permissions,
        "created_at": grant_time(record.session.created_at),
        "valid_to": grant_time(record.session.expires_at),
    })
}

/// `POST users/{id}/grants` (form `type`, `client_id`, `client_secret`,
/// `for_client_id`, `project_permissions` joined with `,`): 201 `{id, refresh_token}`.
/// A `user` grant is bound to the authenticated client (`client_id`), or to the native
/// API when none is sent; a `service` grant to `for_client_id`.
pub async fn create(
    State(state): State<AppState>,
    SquirroCaller(caller): SquirroCaller,
    Path((tenant, id)): Path<(String, String)>,
    SquirroBody(form): SquirroBody,
) -> SquirroResult<(StatusCode, Json<Value>)> {
    let (caller, tenant) = state.caller_in(&caller, &tenant).await?;
    let kind = GrantKind::parse(&required(&form, "type")?)
        .ok_or_else(|| SquirroError::bad_request("`type` must be `user` or `service`"))?;
    let client = verified_client(
        &state,
        &tenant,
        text(&form, "client_id")?.as_deref(),
        text(&form, "client_secret")?.as_deref(),
    )
    .await?;
    let project_permissions = text(&form, "project_permissions")?.map(|joined| {
        joined
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect::<Vec<_>>()
    });
    let client_id = match kind {
        GrantKind::User => client.map(|c| c.client_id.as_str().to_owned()),
        // A service grant belongs to `for_client_id`; the calling client only signs.
        GrantKind::Service => None,
    };
    let created = state
        .create_grant(
            &caller,
            &tenant,
            &id,
            GrantSpec {
                kind,
                for_client_id: text(&form, "for_client_id")?.filter(|c| !c.is_empty()),
                client_id,
                project_permissions,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": created.grant.session.id.as_str(),
            "refresh_token": created.refresh_token.expose(),
        })),
    ))
}

/// `GET users/{id}/grants` (Q `client_id`, `client_secret`, checked when sent):
/// `{"grants": [{id, type, created_at, valid_to, …}]}`, newest first.
pub async fn list(
    State(state): State<AppState>,
    SquirroCaller(caller): SquirroCaller,
    Path((tenant, id)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> SquirroResult<Json<Value>> {
    let (caller, tenant) = state.caller_in(&caller, &tenant).await?;
    verified_client(
        &state,
        &tenant,
        query.get("client_id").map(String::as_str),
        query.get("client_secret").map(String::as_str),
    )
    .await?;
    let grants = state.member_grants(&caller, &tenant, &id).await?;
    Ok(Json(
        json!({ "grants": grants.iter().map(grant).collect::<Vec<_>>() }),
    ))
}
