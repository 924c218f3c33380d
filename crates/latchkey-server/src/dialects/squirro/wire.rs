//! Squirro's JSON, as `squirroclient` 3.17.3 sends and reads it: snake_case keys, users
//! as flat objects with their custom keys beside the standard ones, booleans in forms
//! and query strings as `True`/`False`.

use latchkey_core::{Account, Group, Project, ProjectRole, Session, Tenant};
use latchkey_store::MemberRecord;
use serde_json::{Map, Value, json};

use super::error::{SquirroError, SquirroResult};

/// The keys of a user object that Latchkey fills itself; custom data cannot shadow them.
pub const RESERVED_USER_KEYS: &[&str] = &[
    "id",
    "email",
    "full_name",
    "role",
    "role_permissions",
    "tenant",
    "groups",
    "projects",
    "created_at",
    "last_login",
    "disabled",
];

/// A field as text: strings as they are, numbers and booleans written out; `null` and
/// absent are `None`.
pub fn text(body: &Map<String, Value>, key: &str) -> SquirroResult<Option<String>> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(Value::Bool(b)) => Ok(Some(b.to_string())),
        Some(_) => Err(SquirroError::bad_request(format!(
            "`{key}` must be a string"
        ))),
    }
}

/// A required text field.
pub fn required(body: &Map<String, Value>, key: &str) -> SquirroResult<String> {
    text(body, key)?
        .filter(|v| !v.is_empty())
        .ok_or_else(|| SquirroError::bad_request(format!("`{key}` is required")))
}

/// A boolean as `requests` (`True`/`False`) or httpx (`true`/`false`) writes it, in any
/// case; also `1`/`0`. Absent is `false`.
pub fn flag(value: Option<&str>, key: &str) -> SquirroResult<bool> {
    match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("") | Some("false") | Some("0") => Ok(false),
        Some("true") | Some("1") => Ok(true),
        Some(_) => Err(SquirroError::bad_request(format!(
            "`{key}` must be True or False"
        ))),
    }
}

/// A JSON value sent as a JSON string inside a form field (`user_information`), or as
/// JSON itself in a JSON body.
pub fn json_in_form(body: &Map<String, Value>, key: &str) -> SquirroResult<Option<Value>> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => serde_json::from_str(s)
            .map(Some)
            .map_err(|_| SquirroError::bad_request(format!("`{key}` must be JSON"))),
        Some(other) => Ok(Some(other.clone())),
    }
}

/// The full name shown for an account: its display name, or its email.
pub fn full_name(account: &Account) -> String {
    account
        .display_name
        .clone()
        .unwrap_or_else(|| account.email.as_str().to_owned())
}

/// A user object: `{id, email, full_name, role, role_permissions, tenant, …custom
/// keys…}`. `groups` is always present, empty here; the handlers that read the user's
/// groups replace it with [`groups`].
pub fn user(record: &MemberRecord, tenant: &Tenant, role_permissions: &[String]) -> Value {
    let account = &record.account;
    let mut object = Map::new();
    for (key, value) in &account.custom_data {
        if !RESERVED_USER_KEYS.contains(&key.as_str()) {
            object.insert(key.clone(), value.clone());
        }
    }
    object.insert("id".into(), json!(account.id.as_str()));
    object.insert("email".into(), json!(account.email.as_str()));
    object.insert("full_name".into(), json!(full_name(account)));
    object.insert("role".into(), json!(record.role.as_str()));
    object.insert("role_permissions".into(), json!(role_permissions));
    object.insert("tenant".into(), json!(tenant.domain.as_str()));
    object.insert("groups".into(), json!([]));
    object.insert("disabled".into(), json!(account.disabled));
    object.insert("created_at".into(), json!(timestamp(account.created_at)));
    object.insert(
        "last_login".into(),
        json!(account.last_login_at.map(timestamp)),
    );
    Value::Object(object)
}

/// A user's `groups`: `[{id, name}]` (`delete_workspace_user` reads the ids).
pub fn groups(groups: &[Group]) -> Value {
    groups
        .iter()
        .map(|g| json!({ "id": g.id.as_str(), "name": g.name.as_str() }))
        .collect()
}

/// A project as users, groups and workspaces list it: `{id, title, role}`, `role` the
/// project role of whoever it is listed for.
pub fn project_access(project: &Project, role: ProjectRole) -> Value {
    json!({ "id": project.id.as_str(), "title": project.title, "role": role.as_str() })
}

/// Squirro's timestamps: `YYYY-MM-DDTHH:MM:SS` in UTC.
pub fn timestamp(at: time::OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

/// A session object.
pub fn session(session: &Session) -> Value {
    json!({
        "id": session.id.as_str(),
        "user_id": session.account_id.as_str(),
        "client_id": session.client_id,
        "created_at": timestamp(session.created_at),
        "last_seen_at": timestamp(session.last_seen_at),
        "expires_at": timestamp(session.expires_at),
        "user_agent": session.user_agent,
        "ip_address": session.ip_address,
    })
}

/// A workspace object: `{domain, title}` (plus the caller's role when known).
pub fn workspace(tenant: &Tenant, role: Option<&str>) -> Value {
    let mut object = json!({
        "domain": tenant.domain.as_str(),
        "title": tenant.title,
        "created_at": timestamp(tenant.created_at),
    });
    if let (Some(role), Some(map)) = (role, object.as_object_mut()) {
        map.insert("role".into(), json!(role));
    }
    object
}
