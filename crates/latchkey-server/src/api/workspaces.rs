//! Self-service: signup, the tenants of the signed-in account (creating, listing and
//! deleting its own), members added by email, and a tenant's password policy.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use latchkey_api::{
    AddMembersRequest, AddedMemberView, AddedMembersView, CreateOwnTenantRequest, MyTenantView,
    MyTenantsQuery, MyTenantsView, PasswordPolicyDocument, Problem, SignUpRequest, SignUpResponse,
    TenantView,
};

use super::error::ApiResult;
use super::extract::{ApiJson, ApiQuery, ClientInfo};
use super::{AppState, views};
use crate::services::{Caller, SignUp};

/// Create an account and a tenant it administers (only when `[signup] enabled`; 403
/// otherwise). For an email that has an account, the account's password creates a new
/// tenant it administers; any other password is refused with a 400 that does not say
/// the address is registered. Attempts are throttled per client address and per email.
#[utoipa::path(
    post, path = "/api/v1/signup", tag = "me",
    request_body = SignUpRequest,
    responses(
        (status = 201, body = SignUpResponse),
        (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 429, body = Problem)
    )
)]
pub async fn signup(
    State(state): State<AppState>,
    client: ClientInfo,
    ApiJson(request): ApiJson<SignUpRequest>,
) -> ApiResult<(StatusCode, Json<SignUpResponse>)> {
    let (tenant, account) = state
        .sign_up(SignUp {
            email: request.email,
            password: request.password,
            display_name: request.display_name,
            ip_address: client.ip_address,
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(SignUpResponse {
            account_id: account.into_string(),
            tenant: views::tenant(tenant),
        }),
    ))
}

/// The tenants the signed-in account belongs to, with its role in each.
#[utoipa::path(
    get, path = "/api/v1/me/tenants", tag = "me",
    security(("bearer" = [])),
    params(MyTenantsQuery),
    responses((status = 200, body = MyTenantsView), (status = 401, body = Problem))
)]
pub async fn mine(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<MyTenantsQuery>,
) -> ApiResult<Json<MyTenantsView>> {
    let workspaces = state
        .workspaces_of(&caller, query.admin_only.unwrap_or(false))
        .await?;
    Ok(Json(MyTenantsView {
        items: workspaces
            .into_iter()
            .map(|w| MyTenantView {
                domain: w.tenant.domain.into(),
                title: w.tenant.title,
                role: w.role.to_string(),
            })
            .collect(),
    }))
}

/// Create a tenant administered by the signed-in account (platform administrators, or
/// anyone when `[workspaces] self_service` or signup is enabled). Its domain is
/// generated from the title.
#[utoipa::path(
    post, path = "/api/v1/me/tenants", tag = "me",
    security(("bearer" = [])),
    request_body = CreateOwnTenantRequest,
    responses((status = 201, body = TenantView), (status = 400, body = Problem), (status = 403, body = Problem))
)]
pub async fn create_mine(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<CreateOwnTenantRequest>,
) -> ApiResult<(StatusCode, Json<TenantView>)> {
    let tenant = state.create_workspace(&caller, &request.title).await?;
    Ok((StatusCode::CREATED, Json(views::tenant(tenant))))
}

/// Delete a tenant the signed-in account administers (not the one of the token in use).
#[utoipa::path(
    delete, path = "/api/v1/me/tenants/{tenant}", tag = "me",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant domain")),
    responses((status = 204), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem))
)]
pub async fn delete_mine(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
) -> ApiResult<StatusCode> {
    state.delete_workspace(&caller, &tenant).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Add accounts to the tenant by email with a role (`users.write`), or set the role of
/// those already members. An address without an account gets a new account without a
/// password, which cannot sign in until a password is set (an invitation).
#[utoipa::path(
    post, path = "/api/v1/tenants/{tenant}/members", tag = "users",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant domain")),
    request_body = AddMembersRequest,
    responses((status = 200, body = AddedMembersView), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem))
)]
pub async fn add_members(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
    ApiJson(request): ApiJson<AddMembersRequest>,
) -> ApiResult<Json<AddedMembersView>> {
    let tenant = state.tenant_by_domain(&tenant).await?;
    let added = state
        .add_members_by_email(&caller, &tenant, &request.emails, &request.role)
        .await?;
    Ok(Json(AddedMembersView {
        items: added
            .into_iter()
            .map(|r| AddedMemberView {
                id: r.account.id.into_string(),
                email: r.account.email.as_str().to_owned(),
                role: r.role.to_string(),
            })
            .collect(),
    }))
}

/// The tenant's password policy (any member).
#[utoipa::path(
    get, path = "/api/v1/tenants/{tenant}/password-policy", tag = "tenants",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant domain")),
    responses((status = 200, body = PasswordPolicyDocument), (status = 403, body = Problem), (status = 404, body = Problem))
)]
pub async fn password_policy(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
) -> ApiResult<Json<PasswordPolicyDocument>> {
    let policy = state.password_policy_of(&caller, &tenant).await?;
    Ok(Json(PasswordPolicyDocument {
        min_length: policy.min_length,
        max_length: policy.max_length,
        rejects_common_passwords: true,
        rejects_account_names: true,
        composition_rules: false,
    }))
}
