//! `GET /api/user/msexchange/oauth2_token?msexchuid_token=<JWT>`: a Microsoft Exchange
//! identity token exchanged for an access token of the account whose `msexchange`
//! external authentication holds the token's `msexchuid`.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::error::{SquirroCaller, SquirroError, SquirroResult};
use crate::api::AppState;
use crate::api::extract::ClientInfo;
use crate::api::session::NATIVE_CLIENT_ID;
use crate::services::{ClientContext, MsExchangeError};

/// The caller (the add-in's backend, with its own token) names no tenant in the path;
/// the account is looked up in the caller's tenant. Not configured (no trusted issuer):
/// 400. A token that fails verification, or whose identity no member holds: 403.
pub async fn oauth2_token(
    State(state): State<AppState>,
    SquirroCaller(caller): SquirroCaller,
    client: ClientInfo,
    Query(query): Query<HashMap<String, String>>,
) -> SquirroResult<Json<Value>> {
    let token = query
        .get("msexchuid_token")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| SquirroError::bad_request("`msexchuid_token` is required"))?;
    let issued = state
        .sign_in_with_msexchange_token(
            &caller.tenant,
            token,
            ClientContext::plain(NATIVE_CLIENT_ID),
            client.ip_address,
        )
        .await
        .map_err(|error| match error {
            MsExchangeError::NotConfigured => SquirroError::bad_request(error.to_string()),
            MsExchangeError::InvalidToken(_) => {
                SquirroError::new(StatusCode::FORBIDDEN, error.to_string())
            }
            MsExchangeError::Service(service) => SquirroError::at_token_endpoint(service),
        })?;
    Ok(Json(json!({
        "oauth2_token": issued.access_token,
        "user_id": issued.context.account.id.as_str(),
    })))
}
