//! Token claims and lifetimes. Signing happens in the server; the core decides what a
//! token says.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::account::Account;
use crate::id::SessionId;
use crate::role::Role;
use crate::tenant::Tenant;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenLifetimes {
    pub access: Duration,
    /// How long a refresh token stays usable without being rotated.
    pub refresh_idle: Duration,
    /// The absolute end of a session.
    pub session_max: Duration,
    /// How long after rotation the previous refresh token may still be presented (a lost
    /// response, a retry) before presenting it counts as theft.
    pub refresh_reuse_grace: Duration,
}

impl Default for TokenLifetimes {
    fn default() -> Self {
        Self {
            access: Duration::minutes(5),
            refresh_idle: Duration::days(1),
            session_max: Duration::days(30),
            refresh_reuse_grace: Duration::seconds(10),
        }
    }
}

/// The audience of tokens issued by the native API.
pub const NATIVE_AUDIENCE: &str = "latchkey";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RealmAccess {
    pub roles: Vec<String>,
}

/// Claims of an access token, shaped like Keycloak's so existing resource servers read them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub azp: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub sid: String,
    pub scope: String,
    pub tenant: String,
    pub tenant_id: String,
    pub realm_access: RealmAccess,
    pub permissions: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub platform_admin: bool,
}

/// Claims of an OpenID Connect ID token for the same sign-in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub auth_time: i64,
    pub sid: String,
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Everything needed to mint the tokens of one sign-in or refresh.
pub struct TokenSubject<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub tenant: &'a Tenant,
    pub account: &'a Account,
    pub role: &'a Role,
    pub session_id: &'a SessionId,
    pub session_started_at: OffsetDateTime,
}

impl TokenSubject<'_> {
    pub fn access_claims(
        &self,
        now: OffsetDateTime,
        lifetime: Duration,
        jti: String,
    ) -> AccessClaims {
        AccessClaims {
            iss: self.issuer.to_owned(),
            sub: self.account.id.to_string(),
            aud: NATIVE_AUDIENCE.to_owned(),
            azp: self.client_id.to_owned(),
            exp: (now + lifetime).unix_timestamp(),
            iat: now.unix_timestamp(),
            jti,
            sid: self.session_id.to_string(),
            scope: "openid profile email".to_owned(),
            tenant: self.tenant.domain.to_string(),
            tenant_id: self.tenant.id.to_string(),
            realm_access: RealmAccess {
                roles: vec![self.role.name.to_string()],
            },
            permissions: self.role.permissions.clone(),
            email: Some(self.account.email.as_str().to_owned()),
            preferred_username: self
                .account
                .username
                .as_ref()
                .map(|u| u.as_str().to_owned()),
            platform_admin: self.account.platform_admin,
        }
    }

    pub fn id_claims(&self, now: OffsetDateTime, lifetime: Duration) -> IdClaims {
        IdClaims {
            iss: self.issuer.to_owned(),
            sub: self.account.id.to_string(),
            aud: self.client_id.to_owned(),
            exp: (now + lifetime).unix_timestamp(),
            iat: now.unix_timestamp(),
            auth_time: self.session_started_at.unix_timestamp(),
            sid: self.session_id.to_string(),
            email: self.account.email.as_str().to_owned(),
            preferred_username: self
                .account
                .username
                .as_ref()
                .map(|u| u.as_str().to_owned()),
            name: self.account.display_name.clone(),
        }
    }
}

/// The issuer URL of a tenant: `{public_url}/realms/{domain}`, as Keycloak clients expect.
pub fn issuer_for(public_url: &str, domain: &str) -> String {
    format!("{}/realms/{}", public_url.trim_end_matches('/'), domain)
}
