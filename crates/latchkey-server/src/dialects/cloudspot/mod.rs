//! The Cloudspot License dialect under `/cloudspot/api/v1`: the endpoints the
//! `cloudspot-license-api` Python client (1.4.3) calls (see `docs/dialects/cloudspot.md`).
//! Handlers only translate: Cloudspot JSON and headers → services → Cloudspot JSON.
//!
//! The client builds every URL as `'{base}/{path}/'`, so each path is routed with its
//! trailing slash, and without it, the same way and never redirected.

mod error;
mod wire;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{MethodRouter, get, post};
use latchkey_core::Account;
use serde_json::json;

use crate::api::AppState;
use crate::api::extract::ClientInfo;
use crate::api::session::NATIVE_CLIENT_ID;
use crate::services::{ClientContext, CompanyPermissions as Company, ModuleSignIn};
use error::{CloudspotError, CloudspotJson, CloudspotResult, LicenseCaller, Module};
use wire::{
    AuthResponse, AuthenticateRequest, CompanyPermissions, CompanyPermissionsResponse,
    ImpersonateResponse, ImpersonationRequest, User,
};

/// Where the dialect is mounted: point the client at it with
/// `api.base_url = "http(s)://HOST:PORT/cloudspot/api/v1"`.
pub const MOUNT: &str = "/cloudspot/api/v1";

/// The dialect's routes, to be nested at [`MOUNT`].
pub fn routes() -> Router<AppState> {
    let mut router = Router::new();
    let endpoints: [(&str, MethodRouter<AppState>); 5] = [
        ("/auth/authenticate", post(authenticate)),
        ("/auth/get-permissions", get(get_permissions)),
        ("/auth/users/profile", get(profile)),
        (
            "/auth/get-company-permissions/{company_id}",
            get(company_permissions),
        ),
        (
            "/auth/impersonation-validation",
            post(validate_impersonation),
        ),
    ];
    for (path, handler) in endpoints {
        router = router
            .route(&format!("{path}/"), handler.clone())
            .route(path, handler);
    }
    router
        // Unknown paths and methods under the mount answer in Cloudspot's error shape.
        .fallback(|| async { CloudspotError::not_found() })
        .method_not_allowed_fallback(|| async { CloudspotError::method_not_allowed() })
}

fn companies(companies: Vec<Company>) -> Vec<CompanyPermissions> {
    companies
        .into_iter()
        .map(|company| CompanyPermissions {
            company_id: company.tenant.id.into_string(),
            company_name: company.tenant.title,
            permissions: company.slugs,
        })
        .collect()
}

/// `first_name` and `last_name` from the display name: its first word, and the rest.
fn names(account: &Account) -> (Option<String>, Option<String>) {
    split_name(account.display_name.as_deref())
}

fn split_name(display: Option<&str>) -> (Option<String>, Option<String>) {
    let Some(display) = display.map(str::trim) else {
        return (None, None);
    };
    match display.split_once(char::is_whitespace) {
        Some((first, rest)) => (Some(first.to_owned()), Some(rest.trim().to_owned())),
        None if display.is_empty() => (None, None),
        None => (Some(display.to_owned()), None),
    }
}

/// `POST auth/authenticate/`: signs in to the account's most recently used tenant among
/// those that have the module, and answers with the access token and the account's
/// slugs for the module in every such tenant.
async fn authenticate(
    State(state): State<AppState>,
    Module(module): Module,
    client: ClientInfo,
    CloudspotJson(request): CloudspotJson<AuthenticateRequest>,
) -> CloudspotResult<Json<AuthResponse>> {
    let tokens = state
        .sign_in_for_module(ModuleSignIn {
            module: &module,
            login: &request.username,
            password: request.password,
            user_agent: client.user_agent,
            ip_address: client.ip_address,
            client_id: NATIVE_CLIENT_ID,
        })
        .await?;
    let permissions = state
        .module_permissions(&tokens.context.account.id, &module)
        .await?;
    Ok(Json(AuthResponse {
        token: Some(tokens.access_token),
        permissions: companies(permissions),
    }))
}

/// `GET auth/get-permissions/`: the caller's slugs for the module, per company. Always
/// exactly 200 on success (the client treats any other status as an error).
async fn get_permissions(
    State(state): State<AppState>,
    Module(module): Module,
    LicenseCaller(caller): LicenseCaller,
) -> CloudspotResult<Json<AuthResponse>> {
    let permissions = state
        .module_permissions(&caller.account.id, &module)
        .await?;
    Ok(Json(AuthResponse {
        token: None,
        permissions: companies(permissions),
    }))
}

/// `GET auth/users/profile/`.
async fn profile(
    Module(_module): Module,
    LicenseCaller(caller): LicenseCaller,
) -> CloudspotResult<Json<User>> {
    let (first_name, last_name) = names(&caller.account);
    Ok(Json(User {
        first_name,
        last_name,
        email: caller.account.email.as_str().to_owned(),
        pin: None,
    }))
}

/// `GET auth/get-company-permissions/{company_id}/`: the caller's slugs for the module
/// in one company (tenant id); 404 unless it is a member there and the tenant has the
/// module.
async fn company_permissions(
    State(state): State<AppState>,
    Module(module): Module,
    LicenseCaller(caller): LicenseCaller,
    Path(company_id): Path<String>,
) -> CloudspotResult<Json<CompanyPermissionsResponse>> {
    let permissions = state
        .module_company_permissions(&caller.account.id, &module, &company_id)
        .await?;
    Ok(Json(CompanyPermissionsResponse { permissions }))
}

/// `POST auth/impersonation-validation/`: exchanges an impersonation token (minted by a
/// tenant administrator through the native API) for an access token of its member.
async fn validate_impersonation(
    State(state): State<AppState>,
    Module(module): Module,
    client: ClientInfo,
    CloudspotJson(request): CloudspotJson<ImpersonationRequest>,
) -> CloudspotResult<Json<ImpersonateResponse>> {
    let impersonated = state
        .redeem_impersonation(
            request.token.trim(),
            ClientContext::plain(NATIVE_CLIENT_ID),
            client.user_agent,
            client.ip_address,
        )
        .await?;
    let context = &impersonated.tokens.context;
    let slugs = state
        .module_permissions(&context.account.id, &module)
        .await?
        .into_iter()
        .find(|company| company.tenant.id == context.tenant.id)
        .map(|company| company.slugs)
        .unwrap_or_default();
    let (first_name, last_name) = names(&context.account);
    Ok(Json(ImpersonateResponse {
        token: impersonated.tokens.access_token.clone(),
        auth_token: impersonated.tokens.access_token.clone(),
        user: json!({
            "id": context.account.id.as_str(),
            "email": context.account.email.as_str(),
            "first_name": first_name,
            "last_name": last_name,
        }),
        company: json!({
            "company_id": context.tenant.id.as_str(),
            "company_name": context.tenant.title,
            "permissions": slugs,
            "impersonated_by": impersonated.issued_by.as_str(),
        }),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_the_display_name_at_its_first_space() {
        assert_eq!(split_name(None), (None, None));
        assert_eq!(split_name(Some("  ")), (None, None));
        assert_eq!(split_name(Some("Ada")), (Some("Ada".into()), None));
        assert_eq!(
            split_name(Some("Ada King Lovelace")),
            (Some("Ada".into()), Some("King Lovelace".into()))
        );
    }
}
