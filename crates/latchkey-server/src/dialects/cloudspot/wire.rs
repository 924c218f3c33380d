//! The Cloudspot License API's JSON, as `cloudspot-license-api` 1.4.3 reads it. Its
//! models raise `AttributeError` on any key they do not define, so every answer here has
//! exactly the model's keys and nothing else (no `has_error`, no `error`, no
//! `expires_in`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `POST auth/authenticate/`. Unknown fields are ignored.
#[derive(Debug, Deserialize)]
pub struct AuthenticateRequest {
    /// Email address or username.
    pub username: String,
    pub password: String,
}

/// `POST auth/impersonation-validation/`.
#[derive(Debug, Deserialize)]
pub struct ImpersonationRequest {
    pub token: String,
}

/// The client's `AuthPermission`.
#[derive(Debug, Serialize)]
pub struct CompanyPermissions {
    /// The tenant's id.
    pub company_id: String,
    /// The tenant's title.
    pub company_name: String,
    /// The member's slugs for the module there.
    pub permissions: Vec<String>,
}

/// The client's `AuthResponse` (authenticate, get-permissions).
#[derive(Debug, Serialize)]
pub struct AuthResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    pub permissions: Vec<CompanyPermissions>,
}

/// The client's `User`.
#[derive(Debug, Serialize)]
pub struct User {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: String,
    /// Latchkey keeps no PIN: always `null`.
    pub pin: Option<String>,
}

/// The client's `CompanyPermissionsResponse`.
#[derive(Debug, Serialize)]
pub struct CompanyPermissionsResponse {
    pub permissions: Vec<String>,
}

/// The client's `ImpersonateResponse`; `user` and `company` may be any JSON.
#[derive(Debug, Serialize)]
pub struct ImpersonateResponse {
    pub token: String,
    pub auth_token: String,
    pub user: Value,
    pub company: Value,
}

/// The client's `Error`: only `message` and `error_code`.
#[derive(Debug, Serialize)]
pub struct ErrorBody {
    pub message: String,
    pub error_code: &'static str,
}
