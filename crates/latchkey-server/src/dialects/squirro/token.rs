//! `POST /api/user/oauth2/token`: the grants `password`, `refresh_token`,
//! `access_token` and `ext_id`, form-encoded (JSON accepted too).

use axum::Json;
use axum::extract::State;
use latchkey_core::Application;
use serde_json::{Map, Value, json};

use super::error::{SquirroBody, SquirroError, SquirroResult};
use super::wire::{json_in_form, required, text};
use crate::api::AppState;
use crate::api::extract::ClientInfo;
use crate::api::session::NATIVE_CLIENT_ID;
use crate::services::{ClientContext, HomeSignIn, IssuedTokens, ServiceError};

/// Issues tokens. Without `tenant`, a password sign-in goes to the account's most
/// recently used tenant and a refresh to the tenant of the refresh token's session; the
/// answer always names the tenant.
///
/// Without `client_id` the tokens are issued to Latchkey's own management client (what
/// `SquirroClient(None, None, …)` needs to call the user API). With `client_id`, the
/// client must be an application of the tenant (named, or learnt from the refresh token)
/// and present its secret when it is confidential; the tokens are then issued to that
/// application. `ext_id` is only for authenticated confidential clients. Every refused
/// grant and every failed client authentication is 403 (`AuthenticationError` in the
/// client); an unknown grant or a missing field is 400.
pub async fn token(
    State(state): State<AppState>,
    client: ClientInfo,
    SquirroBody(form): SquirroBody,
) -> SquirroResult<Json<Value>> {
    let grant = required(&form, "grant_type")?;
    let tenant = text(&form, "tenant")?.filter(|t| !t.trim().is_empty());
    let user_information = json_in_form(&form, "user_information")?;
    let application = authenticated_client(&state, &form, tenant.as_deref(), &grant).await?;
    let context = match &application {
        Some(application) => ClientContext::of(application),
        None => ClientContext::plain(NATIVE_CLIENT_ID),
    };
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
            let service = required(&form, "auth_service")?;
            let service_user = required(&form, "auth_user")?;
            // Anyone could name an external identity: only a client that proved itself
            // with its secret may sign in by one.
            let Some(application) = application.as_ref().filter(|a| !a.public) else {
                return Err(SquirroError::at_token_endpoint(
                    ServiceError::UnauthorizedClient,
                ));
            };
            let domain = tenant
                .as_deref()
                .ok_or_else(|| SquirroError::bad_request("the grant `ext_id` needs `tenant`"))?;
            let tenant = state
                .tenant_by_domain(domain)
                .await
                .map_err(SquirroError::at_token_endpoint)?;
            state
                .sign_in_external(
                    &tenant,
                    &service,
                    &service_user,
                    ClientContext::of(application),
                    client.ip_address,
                    client.user_agent,
                )
                .await
        }
        other => {
            return Err(SquirroError::bad_request(format!(
                "unsupported grant_type `{}`; use password, refresh_token, access_token or ext_id",
                other.chars().take(40).collect::<String>()
            )));
        }
    }
    .map_err(SquirroError::at_token_endpoint)?;
    Ok(Json(answer(issued, user_information)))
}

/// The application named by `client_id`, authenticated with `client_secret` in the
/// tenant named by `tenant` or, for a refresh, the refresh token's tenant. `None` when no
/// `client_id` is sent.
async fn authenticated_client(
    state: &AppState,
    form: &Map<String, Value>,
    tenant: Option<&str>,
    grant: &str,
) -> SquirroResult<Option<Application>> {
    let Some(client_id) = text(form, "client_id")?.filter(|c| !c.is_empty()) else {
        return Ok(None);
    };
    let secret = text(form, "client_secret")?.filter(|s| !s.is_empty());
    let tenant = match tenant {
        Some(domain) => state.tenant_by_domain(domain).await,
        None if grant == "refresh_token" => {
            let presented = required(form, "refresh_token")?;
            state
                .tenant_of_refresh_token(&presented)
                .await
                .and_then(|t| t.ok_or(ServiceError::InvalidRefreshToken("unknown token")))
        }
        None => {
            return Err(SquirroError::bad_request(
                "`client_id` names an application of a tenant: send `tenant` with it",
            ));
        }
    }
    .map_err(SquirroError::at_token_endpoint)?;
    let application = state
        .authenticate_client(&tenant, &client_id, secret.as_deref())
        .await
        .map_err(SquirroError::at_token_endpoint)?;
    Ok(Some(application))
}

fn answer(issued: IssuedTokens, user_information: Option<Value>) -> Value {
    let context = &issued.context;
    // A grant's restriction, `null` when the tokens may use all the role's permissions.
    let project_permissions = context
        .grant
        .as_ref()
        .and_then(|grant| grant.permissions.clone());
    json!({
        "access_token": issued.access_token,
        "refresh_token": issued.refresh_token.expose(),
        "token_type": "Bearer",
        "expires_in": issued.expires_in,
        "tenant": context.tenant.domain.as_str(),
        "user_id": context.account.id.as_str(),
        "role": context.role.name.as_str(),
        "role_permissions": context.role.permissions,
        "project_permissions": project_permissions,
        "user_information": user_information.unwrap_or_else(|| json!({})),
    })
}
