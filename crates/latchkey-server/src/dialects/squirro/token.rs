//! `POST /api/user/oauth2/token`: the grants `password`, `refresh_token` and
//! `access_token`, form-encoded (JSON accepted too).

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::error::{SquirroBody, SquirroError, SquirroResult};
use super::wire::{json_in_form, required, text};
use crate::api::AppState;
use crate::api::extract::ClientInfo;
use crate::api::session::NATIVE_CLIENT_ID;
use crate::services::{ClientContext, HomeSignIn, IssuedTokens};

/// Issues tokens. Without `tenant`, a password sign-in goes to the account's most
/// recently used tenant and a refresh to the tenant of the refresh token's session; the
/// answer always names the tenant. `client_id` and `client_secret` are accepted and not
/// checked: the tokens are issued to Latchkey's own management client. Every refused
/// grant is 403 (`AuthenticationError` in the client); an unknown grant is 400.
pub async fn token(
    State(state): State<AppState>,
    client: ClientInfo,
    SquirroBody(form): SquirroBody,
) -> SquirroResult<Json<Value>> {
    let grant = required(&form, "grant_type")?;
    let tenant = text(&form, "tenant")?.filter(|t| !t.trim().is_empty());
    let user_information = json_in_form(&form, "user_information")?;
    let context = ClientContext::plain(NATIVE_CLIENT_ID);
    let issued = match grant.as_str() {
        "password" => {
            let login = required(&form, "username")?;
            let password = text(&form, "password")?.unwrap_or_default();
            state
                .sign_in_to_home_tenant(HomeSignIn {
                    customer: tenant.as_deref(),
                    login: &login,
                    password,
                    totp: None,
                    user_agent: client.user_agent,
                    ip_address: client.ip_address,
                    client: context,
                })
                .await
                .map(|signed_in| signed_in.tokens)
        }
        "refresh_token" => {
            let presented = required(&form, "refresh_token")?;
            state
                .refresh_in_any_tenant(tenant.as_deref(), &presented, context)
                .await
        }
        "access_token" => {
            let presented = required(&form, "access_token")?;
            state.exchange_access_token(&presented, context).await
        }
        "ext_id" => {
            return Err(SquirroError::bad_request(
                "the grant `ext_id` (external authentications) is not supported yet",
            ));
        }
        other => {
            return Err(SquirroError::bad_request(format!(
                "unsupported grant_type `{}`; use password, refresh_token or access_token",
                other.chars().take(40).collect::<String>()
            )));
        }
    }
    .map_err(SquirroError::at_token_endpoint)?;
    Ok(Json(answer(issued, user_information)))
}

fn answer(issued: IssuedTokens, user_information: Option<Value>) -> Value {
    let context = &issued.context;
    json!({
        "access_token": issued.access_token,
        "refresh_token": issued.refresh_token.expose(),
        "token_type": "Bearer",
        "expires_in": issued.expires_in,
        "tenant": context.tenant.domain.as_str(),
        "user_id": context.account.id.as_str(),
        "role": context.role.name.as_str(),
        "role_permissions": context.role.permissions,
        "project_permissions": Value::Null,
        "user_information": user_information.unwrap_or_else(|| json!({})),
    })
}
