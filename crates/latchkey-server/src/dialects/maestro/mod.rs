//! The Maestro (Dadosfera) dialect under `/maestro/api`: the endpoints the `dadosfera`
//! Python client's `services.maestro` functions call (see `docs/dialects/maestro.md`).
//! Handlers only translate: Maestro JSON → services → Maestro JSON.

mod error;
mod wire;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{delete, get, post};
use latchkey_core::Account;

use crate::api::AppState;
use crate::api::extract::ClientInfo;
use crate::api::session::NATIVE_CLIENT_ID;
use crate::services::members::{MemberQuery, OFFSET_WALK_LIMIT};
use crate::services::{ClientContext, HomeSignIn, SecondFactorUse, SignedIn};
use error::{MaestroCaller, MaestroError, MaestroJson, MaestroResult, acting_user};
use wire::{
    Customer, ListedUser, SignInRequest, SignInResponse, SignedTerms, TermsOfUse, Tokens, User,
    UserList,
};

/// Where the dialect is mounted. The client builds `f"{base}/auth/sign-in"`, so its
/// base URL is `http(s)://HOST:PORT/maestro/api`.
pub const MOUNT: &str = "/maestro/api";

/// The dialect's routes, to be nested at [`MOUNT`].
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/sign-in", post(sign_in))
        .route("/users", get(list_users))
        .route("/users/{id}", delete(delete_user))
        // Unknown paths and methods under the mount answer in Maestro's error shape too.
        .fallback(|| async { MaestroError::not_found() })
        .method_not_allowed_fallback(|| async { MaestroError::method_not_allowed() })
}

/// `POST /maestro/api/auth/sign-in`: signs in to the account's tenant (the one
/// `customer` names, else its most recently used) and answers with the tokens and the
/// user's configuration.
async fn sign_in(
    State(state): State<AppState>,
    client: ClientInfo,
    MaestroJson(request): MaestroJson<SignInRequest>,
) -> MaestroResult<Json<SignInResponse>> {
    let signed_in = state
        .sign_in_to_home_tenant(HomeSignIn {
            customer: request.customer.as_deref(),
            login: &request.username,
            password: request.password,
            totp: request.totp.filter(|code| !code.trim().is_empty()),
            user_agent: client.user_agent,
            ip_address: client.ip_address,
            client: ClientContext::plain(NATIVE_CLIENT_ID),
        })
        .await?;
    Ok(Json(sign_in_response(signed_in)))
}

fn sign_in_response(signed_in: SignedIn) -> SignInResponse {
    let SignedIn {
        tokens,
        terms,
        second_factor,
    } = signed_in;
    let context = tokens.context;
    let metadata = context.tenant.metadata;
    SignInResponse {
        permissions: context.role.permissions,
        tokens: Tokens {
            id_token: tokens.id_token,
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token.expose().to_owned(),
        },
        mfa_status: match second_factor {
            SecondFactorUse::Off => "DISABLED",
            SecondFactorUse::On => "ENABLED",
            SecondFactorUse::RequiredByTenant => "REQUIRED",
        },
        terms_of_use: TermsOfUse {
            status: terms.status.as_str(),
            last_signed: terms
                .last_signed
                .map(|(version, _accepted_at)| SignedTerms {
                    version: version.version,
                    public_url: version.public_url,
                    enforce_date: version.enforce_date,
                    created_at: version.created_at,
                }),
        },
        user: User {
            id: context.account.id.to_string(),
            name: display_name(&context.account),
            username: username(&context.account),
            created_at: context.account.created_at,
        },
        customer: Customer {
            modules: metadata.modules,
            links: metadata.links,
            id: context.tenant.id.into_string(),
            name: context.tenant.title,
            tier: metadata.tier,
            schedule_limit: metadata.schedule_limit,
        },
    }
}

/// Maestro's `name`: the display name, or the email for accounts without one.
fn display_name(account: &Account) -> String {
    account
        .display_name
        .clone()
        .unwrap_or_else(|| account.email.as_str().to_owned())
}

/// Maestro's `username` is what the account signs in with: its username, or its email.
fn username(account: &Account) -> String {
    account.username.as_ref().map_or_else(
        || account.email.as_str().to_owned(),
        |u| u.as_str().to_owned(),
    )
}

/// `GET /maestro/api/users`: the members of the caller's tenant (needs `users.read`),
/// ordered by email, at most [`OFFSET_WALK_LIMIT`].
async fn list_users(
    State(state): State<AppState>,
    MaestroCaller(caller): MaestroCaller,
) -> MaestroResult<Json<UserList>> {
    let tenant = caller.tenant.clone();
    let members = state
        .members_by_offset(
            &caller,
            &tenant,
            &MemberQuery::default(),
            0,
            OFFSET_WALK_LIMIT,
        )
        .await?;
    Ok(Json(UserList {
        users: members
            .into_iter()
            .map(|member| ListedUser {
                id: member.account.id.to_string(),
                name: display_name(&member.account),
                username: username(&member.account),
                email: member.account.email.as_str().to_owned(),
                created_at: member.account.created_at,
                last_login: member.account.last_login_at,
            })
            .collect(),
    }))
}

/// `DELETE /maestro/api/users/{id}`: removes the member from the caller's tenant (needs
/// `users.write`); the account goes too when this was its only tenant. The
/// `Dadosfera-User` header, when present, is recorded in the audit event.
async fn delete_user(
    State(state): State<AppState>,
    MaestroCaller(caller): MaestroCaller,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> MaestroResult<StatusCode> {
    let tenant = caller.tenant.clone();
    state
        .delete_member_for(&caller, &tenant, &id, acting_user(&headers).as_deref())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
