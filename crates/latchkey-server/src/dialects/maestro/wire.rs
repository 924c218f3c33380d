//! Maestro's (Dadosfera's) JSON, as the `dadosfera` Python client (1.22.0) sends and
//! reads it: camelCase keys, ISO 8601 UTC timestamps.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;

/// `POST /maestro/api/auth/sign-in`. The client always sends `totp`, as `null` when it
/// has no code. Unknown fields are ignored: Maestro clients may send more.
#[derive(Debug, Deserialize)]
pub struct SignInRequest {
    /// Email address or username.
    pub username: String,
    pub password: String,
    #[serde(default)]
    pub totp: Option<String>,
    /// Latchkey's addition: the tenant (domain or id) to sign in to, for accounts that
    /// belong to several. Without it, the most recently used one.
    #[serde(default)]
    pub customer: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SignInResponse {
    pub permissions: Vec<String>,
    pub tokens: Tokens,
    /// `DISABLED`, `ENABLED` or `REQUIRED` (by the tenant).
    pub mfa_status: &'static str,
    pub terms_of_use: TermsOfUse,
    pub user: User,
    pub customer: Customer,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Tokens {
    pub id_token: String,
    pub access_token: String,
    pub refresh_token: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TermsOfUse {
    /// `not_required`, `accepted` or `pending`.
    pub status: &'static str,
    pub last_signed: Option<SignedTerms>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SignedTerms {
    pub version: i64,
    pub public_url: String,
    #[serde(with = "time::serde::rfc3339")]
    pub enforce_date: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: String,
    pub name: String,
    pub username: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Customer {
    pub modules: Vec<String>,
    pub links: Vec<Map<String, Value>>,
    pub id: String,
    pub name: String,
    pub tier: Option<String>,
    pub schedule_limit: Option<String>,
}

/// `GET /maestro/api/users`.
#[derive(Debug, Serialize)]
pub struct UserList {
    pub users: Vec<ListedUser>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListedUser {
    pub id: String,
    pub name: String,
    pub username: String,
    pub email: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// `null` when the account never signed in.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_login: Option<OffsetDateTime>,
}

/// Every error: a JSON object, because the client hands error bodies to its caller.
#[derive(Debug, Serialize)]
pub struct ErrorBody {
    pub error: &'static str,
    pub message: String,
}
