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

/// The JWS algorithm of a tenant's signing key. RS256 is what every OpenID Connect
/// client must accept; ES256 signs about thirty times faster with a far smaller key, for
/// deployments whose clients all support it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SigningAlgorithm {
    #[default]
    Rs256,
    Es256,
}

impl SigningAlgorithm {
    pub const ALL: [Self; 2] = [Self::Rs256, Self::Es256];

    /// The JOSE name (`alg`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
        }
    }

    /// The JWK key type (`kty`).
    pub fn key_type(self) -> &'static str {
        match self {
            Self::Rs256 => "RSA",
            Self::Es256 => "EC",
        }
    }

    /// Parses a JOSE name; case-sensitive, as JOSE names are.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|alg| alg.as_str() == name)
    }
}

impl std::fmt::Display for SigningAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
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
    /// The session; absent in service tokens (client credentials), which have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    pub scope: String,
    pub tenant: String,
    pub tenant_id: String,
    pub realm_access: RealmAccess,
    pub permissions: Vec<String>,
    /// Application-scoped roles, by client id (Keycloak's client roles).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub resource_access: std::collections::BTreeMap<String, RealmAccess>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub platform_admin: bool,
    /// Set in tokens of a grant restricted to project permissions: exactly those, and
    /// `permissions` then holds only the tenant permissions a restricted grant keeps
    /// (see [`crate::grant::restricted_role`]). Absent for every other token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_permissions: Option<Vec<String>>,
    /// The id of the grant (its session) when the token was minted from a grant's
    /// refresh token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant: Option<String>,
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
    /// The `nonce` of the authorization request, echoed so the client can bind the token
    /// to its request (OpenID Connect Core §3.1.2.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
}

/// Everything needed to mint the tokens of one sign-in or refresh.
pub struct TokenSubject<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub tenant: &'a Tenant,
    pub account: &'a Account,
    /// The effective role: the membership role's name with the permissions of the roles
    /// the account's groups grant added (see [`crate::group::effective_role`]).
    pub role: &'a Role,
    /// The names of the roles granted by groups, published beside the membership role.
    pub granted_roles: &'a [crate::role::RoleName],
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
            sid: Some(self.session_id.to_string()),
            scope: "openid profile email".to_owned(),
            tenant: self.tenant.domain.to_string(),
            tenant_id: self.tenant.id.to_string(),
            realm_access: RealmAccess {
                roles: std::iter::once(&self.role.name)
                    .chain(self.granted_roles.iter().filter(|r| **r != self.role.name))
                    .map(ToString::to_string)
                    .collect(),
            },
            permissions: self.role.permissions.clone(),
            resource_access: std::collections::BTreeMap::new(),
            email: Some(self.account.email.as_str().to_owned()),
            preferred_username: self
                .account
                .username
                .as_ref()
                .map(|u| u.as_str().to_owned()),
            name: self.account.display_name.clone(),
            platform_admin: self.account.platform_admin,
            project_permissions: None,
            grant: None,
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
            nonce: None,
        }
    }
}

/// Claims of a service token (client-credentials grant): the client acts for itself, so
/// there is no account, session or tenant role; `sub` names the client's service account
/// as Keycloak does (`service-account-{client_id}`) and its roles are its own app roles.
pub fn service_access_claims(
    issuer: &str,
    tenant: &Tenant,
    client_id: &str,
    app_roles: &[String],
    now: OffsetDateTime,
    lifetime: Duration,
    jti: String,
) -> AccessClaims {
    let mut resource_access = std::collections::BTreeMap::new();
    if !app_roles.is_empty() {
        resource_access.insert(
            client_id.to_owned(),
            RealmAccess {
                roles: app_roles.to_vec(),
            },
        );
    }
    AccessClaims {
        iss: issuer.to_owned(),
        sub: format!("service-account-{client_id}"),
        aud: NATIVE_AUDIENCE.to_owned(),
        azp: client_id.to_owned(),
        exp: (now + lifetime).unix_timestamp(),
        iat: now.unix_timestamp(),
        jti,
        sid: None,
        scope: "profile email".to_owned(),
        tenant: tenant.domain.to_string(),
        tenant_id: tenant.id.to_string(),
        realm_access: RealmAccess { roles: Vec::new() },
        permissions: Vec::new(),
        resource_access,
        email: None,
        preferred_username: Some(format!("service-account-{client_id}")),
        name: None,
        platform_admin: false,
        project_permissions: None,
        grant: None,
    }
}

/// The issuer URL of a tenant: `{public_url}/realms/{domain}`, as Keycloak clients expect.
pub fn issuer_for(public_url: &str, domain: &str) -> String {
    format!("{}/realms/{}", public_url.trim_end_matches('/'), domain)
}

#[cfg(test)]
mod signing_algorithm_tests {
    use super::SigningAlgorithm;

    #[test]
    fn jose_names_round_trip_and_are_case_sensitive() {
        for alg in SigningAlgorithm::ALL {
            assert_eq!(SigningAlgorithm::parse(alg.as_str()), Some(alg));
        }
        assert_eq!(SigningAlgorithm::parse("es256"), None);
        assert_eq!(SigningAlgorithm::parse("HS256"), None);
        assert_eq!(SigningAlgorithm::parse("none"), None);
    }
}
