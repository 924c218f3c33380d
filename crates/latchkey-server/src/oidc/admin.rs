//! Keycloak's admin user API (`/admin/realms/{realm}/users…`), the subset
//! python-keycloak's `KeycloakAdmin` uses. A thin translation between Keycloak's wire
//! format (UserRepresentation, offset paging, `{"error", "errorMessage"}` bodies) and the
//! account services; every rule, permissions included, is the native API's.
//!
//! Name mapping (see docs/oidc.md): Keycloak's `username` is the account's username, or
//! its email when it has none; `firstName`/`lastName` are `display_name` split at its
//! first space; `attributes` live in `custom_data.keycloak_attributes`; `enabled` is
//! the negation of `disabled`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequestParts, OriginalUri, Path, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use latchkey_core::{AccountId, Email, Session, Tenant, Username};
use latchkey_store::MemberRecord;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::api::AppState;
use crate::api::extract::{bearer_token, redact_values};
use crate::services::members::{self, MemberQuery, OFFSET_WALK_LIMIT, TextMatch};
use crate::services::{AccountUpdate, Caller, CreateAccount, ServiceError};

/// The `custom_data` key holding Keycloak attributes (a map of string arrays).
pub const ATTRIBUTES_KEY: &str = "keycloak_attributes";
/// Keycloak's page size when `max` is not given.
const DEFAULT_MAX: usize = 100;

// ---- errors ----------------------------------------------------------------------------

/// An error answer as Keycloak's admin API gives it: `{"error", "errorMessage"}`.
#[derive(Debug)]
pub struct AdminError {
    status: StatusCode,
    error: String,
    message: String,
}

impl AdminError {
    fn new(status: StatusCode, error: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            status,
            error: error.into(),
            message: message.into(),
        }
    }

    fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "HTTP 401 Unauthorized", message)
    }
}

impl From<ServiceError> for AdminError {
    fn from(error: ServiceError) -> Self {
        let message = error.to_string();
        match error {
            ServiceError::InvalidToken => Self::unauthorized(message),
            ServiceError::InvalidCredentials
            | ServiceError::InvalidClient
            | ServiceError::MfaRequired
            | ServiceError::InvalidTotp => Self::unauthorized(message),
            ServiceError::MfaEnrollmentRequired => {
                Self::new(StatusCode::FORBIDDEN, "HTTP 403 Forbidden", message)
            }
            ServiceError::Forbidden(_) | ServiceError::UnauthorizedClient => {
                Self::new(StatusCode::FORBIDDEN, "HTTP 403 Forbidden", message)
            }
            ServiceError::NotFound(what) => {
                let phrase = match what {
                    "tenant" => "Realm not found.".to_owned(),
                    "user" => "User not found".to_owned(),
                    other => {
                        let mut chars = other.chars();
                        let first = chars.next().map(|c| c.to_uppercase().to_string());
                        format!("{}{} not found", first.unwrap_or_default(), chars.as_str())
                    }
                };
                Self::new(StatusCode::NOT_FOUND, phrase.clone(), phrase)
            }
            ServiceError::Conflict(detail) => {
                let phrase = if detail.contains("username") {
                    "User exists with same username"
                } else if detail.contains("email") {
                    "User exists with same email"
                } else {
                    detail
                };
                Self::new(StatusCode::CONFLICT, "conflict", phrase)
            }
            ServiceError::Validation(detail) => Self::bad_request(detail),
            ServiceError::WeakPassword(violations) => {
                let detail = violations
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ");
                Self::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_password",
                    format!("Invalid password: {detail}"),
                )
            }
            ServiceError::TooManyAttempts { .. } => {
                Self::new(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts", message)
            }
            ServiceError::InvalidRefreshToken(_) => Self::bad_request(message),
            ServiceError::Internal(detail) => {
                let correlation_id = latchkey_core::id::random_id();
                tracing::error!(%correlation_id, detail, "internal error");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "unknown_error",
                    format!(
                        "the server failed to handle the request (correlation id {correlation_id})"
                    ),
                )
            }
        }
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(json!({"error": self.error, "errorMessage": self.message})),
        )
            .into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
        }
        response
    }
}

type AdminResult<T> = Result<T, AdminError>;

/// The caller, from its Bearer token; refusals are Keycloak-style 401s.
pub struct AdminCaller(Caller);

impl FromRequestParts<AppState> for AdminCaller {
    type Rejection = AdminError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer_token(parts).ok_or_else(|| {
            AdminError::unauthorized("send an access token as `Authorization: Bearer <token>`")
        })?;
        let caller = state.authenticate(token).await?;
        caller.require_management_client()?;
        Ok(Self(caller))
    }
}

// ---- wire format -----------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UserRepresentation {
    username: Option<String>,
    email: Option<String>,
    enabled: Option<bool>,
    first_name: Option<String>,
    last_name: Option<String>,
    credentials: Option<Vec<CredentialRepresentation>>,
    attributes: Option<Map<String, Value>>,
}

#[derive(Debug, Default, Deserialize)]
struct CredentialRepresentation {
    #[serde(rename = "type")]
    kind: Option<String>,
    value: Option<String>,
    /// Accepted and ignored: Latchkey has no "change it at next sign-in" action yet.
    #[allow(dead_code)]
    temporary: Option<bool>,
}

fn json_body<T: serde::de::DeserializeOwned>(
    body: Result<Bytes, BytesRejection>,
) -> AdminResult<T> {
    let bytes = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AdminError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request",
                "the request body is too large",
            )
        } else {
            AdminError::bad_request("the request body could not be read")
        }
    })?;
    serde_json::from_slice(&bytes).map_err(|e| {
        AdminError::bad_request(format!(
            "invalid JSON body: {}",
            redact_values(&e.to_string())
        ))
    })
}

/// Non-empty, trimmed text.
fn given(text: Option<&str>) -> Option<&str> {
    text.map(str::trim).filter(|t| !t.is_empty())
}

fn millis(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// `display_name` from Keycloak's two names: the non-empty parts joined by a space.
fn join_names(first: Option<&str>, last: Option<&str>) -> Option<String> {
    let parts: Vec<&str> = [first, last].into_iter().filter_map(given).collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// Keycloak's two names from `display_name`: split at the first space.
fn split_name(display_name: Option<&str>) -> (Option<&str>, Option<&str>) {
    match given(display_name) {
        None => (None, None),
        Some(name) => match name.split_once(' ') {
            Some((first, last)) => (Some(first), given(Some(last))),
            None => (Some(name), None),
        },
    }
}

/// Keycloak attributes, normalised to a map of string arrays (a single string becomes a
/// one-element array).
fn attributes(raw: Map<String, Value>) -> AdminResult<Map<String, Value>> {
    let mut out = Map::new();
    for (name, value) in raw {
        let values = match value {
            Value::String(s) => vec![Value::String(s)],
            Value::Array(items) if items.iter().all(Value::is_string) => items,
            Value::Null => Vec::new(),
            _ => {
                return Err(AdminError::bad_request(format!(
                    "attribute `{name}` must be a string or an array of strings"
                )));
            }
        };
        out.insert(name, Value::Array(values));
    }
    Ok(out)
}

/// The password among Keycloak credentials, if any; other credential types are refused.
fn password_of(credentials: Option<Vec<CredentialRepresentation>>) -> AdminResult<Option<String>> {
    let mut password = None;
    for credential in credentials.unwrap_or_default() {
        match credential.kind.as_deref().unwrap_or("password") {
            "password" => {
                let value = credential.value.filter(|v| !v.is_empty()).ok_or_else(|| {
                    AdminError::bad_request("a password credential needs a value")
                })?;
                if password.replace(value).is_some() {
                    return Err(AdminError::bad_request(
                        "give at most one password credential",
                    ));
                }
            }
            other => {
                return Err(AdminError::bad_request(format!(
                    "credential type `{other}` is not supported; only `password`"
                )));
            }
        }
    }
    Ok(password)
}

/// How a Keycloak `username` lands on a Latchkey account.
enum LoginName {
    /// A valid Latchkey username.
    Username(String),
    /// An email address used as the username: it is the account's email.
    Email(String),
}

fn login_name_of(text: &str) -> AdminResult<LoginName> {
    if Username::parse(text).is_ok() {
        Ok(LoginName::Username(text.to_owned()))
    } else if Email::parse(text).is_ok() {
        Ok(LoginName::Email(text.to_owned()))
    } else {
        Err(AdminError::bad_request(
            "username must be 2 to 64 letters, digits, `.`, `_` or `-`, or an email address",
        ))
    }
}

/// The email an email-shaped username stands for, reconciled with `email`.
fn reconcile_email(username_email: &str, email: Option<&str>) -> AdminResult<String> {
    match email {
        Some(email) if !email.eq_ignore_ascii_case(username_email) => Err(AdminError::bad_request(
            "an email address used as the username must be the user's email",
        )),
        _ => Ok(username_email.to_owned()),
    }
}

/// A UserRepresentation. `totp` is whether the account signs in with a second factor;
/// in a tenant that requires one, an account without it shows Keycloak's
/// `CONFIGURE_TOTP` required action.
fn user_view(record: &MemberRecord, totp: bool, tenant: &Tenant) -> Value {
    let account = &record.account;
    let required_actions: Vec<&str> = if tenant.require_mfa && !totp {
        vec!["CONFIGURE_TOTP"]
    } else {
        Vec::new()
    };
    let disableable: Vec<&str> = if totp { vec!["otp"] } else { Vec::new() };
    let mut user = json!({
        "id": account.id.as_str(),
        "username": members::login_name(record),
        "email": account.email.as_str(),
        "enabled": !account.disabled,
        "emailVerified": false,
        "createdTimestamp": millis(account.created_at),
        "totp": totp,
        "disableableCredentialTypes": disableable,
        "requiredActions": required_actions,
        "notBefore": 0,
    });
    let (first, last) = split_name(account.display_name.as_deref());
    if let Some(map) = user.as_object_mut() {
        if let Some(first) = first {
            map.insert("firstName".into(), first.into());
        }
        if let Some(last) = last {
            map.insert("lastName".into(), last.into());
        }
        if let Some(Value::Object(attributes)) = account.custom_data.get(ATTRIBUTES_KEY) {
            map.insert("attributes".into(), Value::Object(attributes.clone()));
        }
    }
    user
}

fn session_view(session: &Session, record: &MemberRecord) -> Value {
    json!({
        "id": session.id.as_str(),
        "username": members::login_name(record),
        "userId": record.account.id.as_str(),
        "ipAddress": session.ip_address,
        "start": millis(session.created_at),
        "lastAccess": millis(session.last_seen_at),
        "rememberMe": false,
        "clients": {},
    })
}

/// The query parameters of a user search; unknown ones are ignored, as Keycloak does.
struct UserSearch {
    query: MemberQuery,
    first: usize,
    max: usize,
}

fn truthy(value: &str) -> bool {
    value.eq_ignore_ascii_case("true")
}

fn parse_count(name: &str, value: &str) -> AdminResult<i64> {
    value
        .trim()
        .parse::<i64>()
        .map_err(|_| AdminError::bad_request(format!("`{name}` must be an integer")))
}

fn user_search(raw: Option<&str>) -> AdminResult<UserSearch> {
    let mut search = None;
    let mut username = None;
    let mut email = None;
    let mut exact = false;
    let mut enabled = None;
    let mut first = 0usize;
    let mut max = DEFAULT_MAX;
    for (name, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        let value = value.trim().to_owned();
        match name.as_ref() {
            "search" => search = Some(value),
            "username" => username = Some(value),
            "email" => email = Some(value),
            "exact" => exact = truthy(&value),
            "enabled" if !value.is_empty() => enabled = Some(truthy(&value)),
            "first" if !value.is_empty() => {
                first = usize::try_from(parse_count("first", &value)?).unwrap_or(0);
            }
            "max" if !value.is_empty() => {
                // Keycloak reads a negative `max` as "no limit".
                max = usize::try_from(parse_count("max", &value)?).unwrap_or(OFFSET_WALK_LIMIT);
            }
            _ => {}
        }
    }
    let text = |value: Option<String>| {
        value
            .filter(|v| !v.is_empty())
            .map(|text| TextMatch { text, exact })
    };
    // Keycloak's `search` takes `*` wildcards and `"…"` for an exact match.
    let search = search.and_then(|s| {
        let quoted = s.len() >= 2 && s.starts_with('"') && s.ends_with('"');
        let text = if quoted {
            s[1..s.len() - 1].to_owned()
        } else {
            s.trim_matches('*').to_owned()
        };
        (!text.is_empty()).then_some(TextMatch {
            text,
            exact: quoted,
        })
    });
    Ok(UserSearch {
        query: MemberQuery {
            search,
            login_name: text(username),
            email: text(email),
            enabled,
        },
        first,
        max,
    })
}

// ---- handlers --------------------------------------------------------------------------

/// `GET …/users`: a JSON array of UserRepresentation, `first`/`max` offset paging.
pub async fn list(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path(realm): Path<String>,
    RawQuery(raw): RawQuery,
) -> AdminResult<Json<Vec<Value>>> {
    let tenant = state.tenant_by_domain(&realm).await?;
    let search = user_search(raw.as_deref())?;
    let records = state
        .members_by_offset(&caller, &tenant, &search.query, search.first, search.max)
        .await?;
    let ids: Vec<AccountId> = records.iter().map(|r| r.account.id.clone()).collect();
    let with_mfa = state.with_active_mfa(&ids).await?;
    Ok(Json(
        records
            .iter()
            .map(|r| user_view(r, with_mfa.contains(&r.account.id), &tenant))
            .collect(),
    ))
}

/// `GET …/users/count`: a bare JSON integer.
pub async fn count(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path(realm): Path<String>,
    RawQuery(raw): RawQuery,
) -> AdminResult<Json<i64>> {
    let tenant = state.tenant_by_domain(&realm).await?;
    let search = user_search(raw.as_deref())?;
    Ok(Json(
        state
            .count_matching_members(&caller, &tenant, &search.query)
            .await?,
    ))
}

/// `POST …/users`: exactly 201, an empty body and `Location: …/users/{id}`.
pub async fn create(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path(realm): Path<String>,
    OriginalUri(uri): OriginalUri,
    body: Result<Bytes, BytesRejection>,
) -> AdminResult<Response> {
    let tenant = state.tenant_by_domain(&realm).await?;
    let user: UserRepresentation = json_body(body)?;
    let email = given(user.email.as_deref());
    let (username, email) = match given(user.username.as_deref()).map(login_name_of) {
        None => (None, email.map(str::to_owned)),
        Some(Err(e)) => return Err(e),
        Some(Ok(LoginName::Username(name))) => (Some(name), email.map(str::to_owned)),
        Some(Ok(LoginName::Email(address))) => (None, Some(reconcile_email(&address, email)?)),
    };
    let email = email.ok_or_else(|| {
        AdminError::bad_request("email is required (or an email address as the username)")
    })?;
    let mut custom_data = Map::new();
    if let Some(raw) = user.attributes {
        let attributes = attributes(raw)?;
        if !attributes.is_empty() {
            custom_data.insert(ATTRIBUTES_KEY.into(), Value::Object(attributes));
        }
    }
    let request = CreateAccount {
        email,
        username,
        display_name: join_names(user.first_name.as_deref(), user.last_name.as_deref()),
        role: None,
        password: password_of(user.credentials)?,
        custom_data,
    };
    let record = state
        .create_member_enabled(&caller, &tenant, request, user.enabled.unwrap_or(true))
        .await?;
    let location = format!(
        "{}{}/{}",
        state.public_url.trim_end_matches('/'),
        uri.path().trim_end_matches('/'),
        record.account.id.as_str()
    );
    let mut response = StatusCode::CREATED.into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

/// `GET …/users/{id}`.
pub async fn get(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path((realm, id)): Path<(String, String)>,
) -> AdminResult<Json<Value>> {
    let tenant = state.tenant_by_domain(&realm).await?;
    let record = state.member(&caller, &tenant, &id).await?;
    let totp = !state
        .with_active_mfa(std::slice::from_ref(&record.account.id))
        .await?
        .is_empty();
    Ok(Json(user_view(&record, totp, &tenant)))
}

/// `PUT …/users/{id}`: a partial UserRepresentation; exactly 204.
pub async fn update(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path((realm, id)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> AdminResult<StatusCode> {
    let tenant = state.tenant_by_domain(&realm).await?;
    let user: UserRepresentation = json_body(body)?;
    let current = state.member(&caller, &tenant, &id).await?;
    let mut update = AccountUpdate {
        email: given(user.email.as_deref()).map(str::to_owned),
        disabled: user.enabled.map(|enabled| !enabled),
        ..AccountUpdate::default()
    };
    if let Some(name) = given(user.username.as_deref())
        && !name.eq_ignore_ascii_case(members::login_name(&current))
    {
        match login_name_of(name)? {
            LoginName::Username(name) => update.username = Some(Some(name)),
            LoginName::Email(address) => {
                update.email = Some(reconcile_email(&address, update.email.as_deref())?);
                update.username = Some(None);
            }
        }
    }
    if user.first_name.is_some() || user.last_name.is_some() {
        let (first, last) = split_name(current.account.display_name.as_deref());
        update.display_name = Some(join_names(
            user.first_name.as_deref().or(first),
            user.last_name.as_deref().or(last),
        ));
    }
    if let Some(raw) = user.attributes {
        // Keycloak replaces the whole attribute map; an empty one removes them all.
        let attributes = attributes(raw)?;
        let value = if attributes.is_empty() {
            Value::Null
        } else {
            Value::Object(attributes)
        };
        update.custom_data = Some(Map::from_iter([(ATTRIBUTES_KEY.to_owned(), value)]));
    }
    // A password first: a weak one is refused before anything changes.
    if let Some(password) = password_of(user.credentials)? {
        state
            .set_member_password(&caller, &tenant, &id, &password)
            .await?;
    }
    state.update_member(&caller, &tenant, &id, update).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE …/users/{id}`: exactly 204.
pub async fn delete(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path((realm, id)): Path<(String, String)>,
) -> AdminResult<StatusCode> {
    let tenant = state.tenant_by_domain(&realm).await?;
    state.delete_member(&caller, &tenant, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT …/users/{id}/reset-password` with `{"type":"password","value","temporary"}`.
pub async fn reset_password(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path((realm, id)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> AdminResult<StatusCode> {
    let tenant = state.tenant_by_domain(&realm).await?;
    let credential: CredentialRepresentation = json_body(body)?;
    let password = password_of(Some(vec![credential]))?
        .ok_or_else(|| AdminError::bad_request("a password credential needs a value"))?;
    state
        .set_member_password(&caller, &tenant, &id, &password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET …/users/{id}/groups`: the member's groups in the realm, by name, as Keycloak's
/// GroupRepresentation (`id`, `name`, `path`; Latchkey's groups are flat, so the path is
/// `/name` and there are no sub-groups).
pub async fn groups(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path((realm, id)): Path<(String, String)>,
) -> AdminResult<Json<Vec<Value>>> {
    let tenant = state.tenant_by_domain(&realm).await?;
    let record = state.member(&caller, &tenant, &id).await?;
    let mut groups = state
        .groups_of_members(&caller, &tenant, std::slice::from_ref(&record.account.id))
        .await?
        .remove(&record.account.id)
        .unwrap_or_default();
    groups.sort_by(|a, b| a.name.as_str().cmp(b.name.as_str()));
    Ok(Json(
        groups
            .iter()
            .map(|group| {
                json!({
                    "id": group.id.as_str(),
                    "name": group.name.as_str(),
                    "path": format!("/{}", group.name.as_str()),
                    "subGroups": [],
                })
            })
            .collect(),
    ))
}

/// `GET …/users/{id}/sessions`: the member's active sessions in this realm.
pub async fn sessions(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path((realm, id)): Path<(String, String)>,
) -> AdminResult<Json<Vec<Value>>> {
    let tenant = state.tenant_by_domain(&realm).await?;
    let sessions = state.member_sessions(&caller, &tenant, &id).await?;
    let record = state.member(&caller, &tenant, &id).await?;
    Ok(Json(
        sessions.iter().map(|s| session_view(s, &record)).collect(),
    ))
}

/// `POST …/users/{id}/logout`: ends all the member's sessions in this realm; 204.
pub async fn logout(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path((realm, id)): Path<(String, String)>,
) -> AdminResult<StatusCode> {
    let tenant = state.tenant_by_domain(&realm).await?;
    state.end_member_sessions(&caller, &tenant, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The user routes, relative to `/admin/realms`.
pub fn routes() -> axum::Router<AppState> {
    use axum::routing::{get, post, put};
    axum::Router::new()
        .route("/{realm}/users", get(list).post(create))
        .route("/{realm}/users/count", get(count))
        .route(
            "/{realm}/users/{id}",
            get(self::get).put(update).delete(delete),
        )
        .route("/{realm}/users/{id}/reset-password", put(reset_password))
        .route("/{realm}/users/{id}/groups", get(groups))
        .route("/{realm}/users/{id}/sessions", get(sessions))
        .route("/{realm}/users/{id}/logout", post(logout))
}
