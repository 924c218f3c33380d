//! External authentications: `GET|POST|DELETE authentications/{service}/{user_id}`.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::macros::format_description;

use super::error::{SquirroBody, SquirroCaller, SquirroError, SquirroResult};
use super::grants::verified_client;
use super::wire::{required, text, timestamp};
use crate::api::AppState;
use crate::services::{ExternalAuth, ExternalAuthSpec};

fn authentication(auth: &ExternalAuth) -> Value {
    json!({
        "service": auth.service,
        "service_user": auth.service_user,
        "access_token": auth.access_token,
        "access_token_expires": auth.access_token_expires.map(timestamp),
        "access_secret": auth.access_secret,
        "access_secret_expires": auth.access_secret_expires.map(timestamp),
        "display_name": auth.display_name,
        "state": auth.state,
    })
}

/// A date as the client writes it (`%Y-%m-%dT%H:%M:%S`, UTC); absent or `null` is none.
fn date(body: &Map<String, Value>, key: &str) -> SquirroResult<Option<OffsetDateTime>> {
    let Some(value) = text(body, key)?.filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let format = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    time::PrimitiveDateTime::parse(value.trim(), format)
        .map(|at| Some(at.assume_utc()))
        .map_err(|_| {
            SquirroError::bad_request(format!("`{key}` must be a date YYYY-MM-DDTHH:MM:SS"))
        })
}

/// `GET authentications/{service}/{user_id}`: the authentication with its credentials
/// (the account itself or a tenant administrator).
pub async fn get(
    State(state): State<AppState>,
    SquirroCaller(caller): SquirroCaller,
    Path((tenant, service, id)): Path<(String, String, String)>,
) -> SquirroResult<Json<Value>> {
    let (caller, tenant) = state.caller_in(&caller, &tenant).await?;
    let auth = state.external_auth(&caller, &tenant, &id, &service).await?;
    Ok(Json(authentication(&auth)))
}

/// `POST authentications/{service}/{user_id}` (Q `client_id`, `client_secret`, checked
/// when sent; JSON `{service_user, access_token, …}`): 201 when created, 200 when
/// replaced.
pub async fn put(
    State(state): State<AppState>,
    SquirroCaller(caller): SquirroCaller,
    Path((tenant, service, id)): Path<(String, String, String)>,
    Query(query): Query<HashMap<String, String>>,
    SquirroBody(body): SquirroBody,
) -> SquirroResult<(StatusCode, Json<Value>)> {
    let (caller, tenant) = state.caller_in(&caller, &tenant).await?;
    verified_client(
        &state,
        &tenant,
        query.get("client_id").map(String::as_str),
        query.get("client_secret").map(String::as_str),
    )
    .await?;
    let spec = ExternalAuthSpec {
        service_user: required(&body, "service_user")?,
        access_token: required(&body, "access_token")?,
        access_token_expires: date(&body, "access_token_expires")?,
        access_secret: text(&body, "access_secret")?,
        access_secret_expires: date(&body, "access_secret_expires")?,
        display_name: text(&body, "display_name")?,
        state: text(&body, "state")?,
    };
    let (created, auth) = state
        .put_external_auth(&caller, &tenant, &id, &service, spec)
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(authentication(&auth))))
}

/// `DELETE authentications/{service}/{user_id}`: 204.
pub async fn delete(
    State(state): State<AppState>,
    SquirroCaller(caller): SquirroCaller,
    Path((tenant, service, id)): Path<(String, String, String)>,
) -> SquirroResult<StatusCode> {
    let (caller, tenant) = state.caller_in(&caller, &tenant).await?;
    state
        .delete_external_auth(&caller, &tenant, &id, &service)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
