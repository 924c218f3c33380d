//! Applications are a tenant's OAuth 2.0 clients: who may ask for tokens, with which
//! grants, for which redirect URIs. Every tenant has the public client `admin-cli` with
//! the password grant, as Keycloak realms do.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::id::TenantId;

/// The built-in public client of every tenant.
pub const ADMIN_CLI: &str = "admin-cli";

/// The client id of tokens issued by the native API's own sign-in.
pub const NATIVE_CLIENT_ID: &str = "latchkey-api";

/// Tokens of these clients act for the user on the management APIs (the native API and
/// Keycloak's admin API). Tokens issued to any other application only prove who the user
/// is to that application: they must not carry the user's administrative power to a
/// third party (RFC 9700 §2.3, least privilege).
pub fn is_management_client(client_id: &str) -> bool {
    client_id == NATIVE_CLIENT_ID || client_id == ADMIN_CLI
}

/// Client ids no application may register: they name Latchkey's own clients.
pub fn is_reserved_client_id(client_id: &str) -> bool {
    is_management_client(client_id) || client_id == "latchkey"
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplicationError {
    #[error("client_id must be 1-64 characters of letters, digits, '.', '_', ':' or '-'")]
    InvalidClientId,
    #[error("unknown grant type `{0}`")]
    UnknownGrant(String),
    #[error(
        "redirect URI `{0}` must be an absolute http(s) URL without a fragment (plain http only for localhost)"
    )]
    InvalidRedirectUri(String),
    #[error("public clients cannot use the client_credentials grant (they have no secret)")]
    PublicClientCredentials,
    #[error("access_token_lifetime must be between 60 and 86400 seconds")]
    InvalidLifetime,
    #[error("an application needs at least one grant type")]
    NoGrant,
}

/// An OAuth client id, unique within a tenant.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClientId(String);

impl ClientId {
    pub fn parse(raw: &str) -> Result<Self, ApplicationError> {
        let valid = (1..=64).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ApplicationError::InvalidClientId)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ClientId {
    type Error = ApplicationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<ClientId> for String {
    fn from(value: ClientId) -> Self {
        value.0
    }
}

impl std::fmt::Display for ClientId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The OAuth 2.0 grants Latchkey implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    AuthorizationCode,
    Password,
    RefreshToken,
    ClientCredentials,
}

impl GrantType {
    pub const ALL: [Self; 4] = [
        Self::AuthorizationCode,
        Self::Password,
        Self::RefreshToken,
        Self::ClientCredentials,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::Password => "password",
            Self::RefreshToken => "refresh_token",
            Self::ClientCredentials => "client_credentials",
        }
    }

    pub fn parse(text: &str) -> Result<Self, ApplicationError> {
        Self::ALL
            .into_iter()
            .find(|g| g.as_str() == text)
            .ok_or_else(|| ApplicationError::UnknownGrant(text.chars().take(64).collect()))
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Application {
    pub tenant_id: TenantId,
    pub client_id: ClientId,
    /// Public clients have no secret (browser and command-line apps).
    pub public: bool,
    /// SHA-256 of the secret of a confidential client (secrets are 256 random bits).
    pub secret_hash: Option<String>,
    pub grant_types: Vec<GrantType>,
    /// Exact redirect URIs allowed for the authorization-code grant.
    pub redirect_uris: Vec<String>,
    /// Application-scoped role names (Keycloak's client roles).
    pub roles: Vec<String>,
    /// Overrides the server's access-token lifetime for this client, in seconds.
    pub access_token_lifetime: Option<i64>,
    pub builtin: bool,
    pub created_at: OffsetDateTime,
}

impl Application {
    pub fn allows(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }

    /// The built-in `admin-cli` of a tenant: public, password and refresh grants.
    pub fn admin_cli(tenant_id: TenantId, now: OffsetDateTime) -> Self {
        Self {
            tenant_id,
            client_id: ClientId(ADMIN_CLI.to_owned()),
            public: true,
            secret_hash: None,
            grant_types: vec![GrantType::Password, GrantType::RefreshToken],
            redirect_uris: Vec::new(),
            roles: Vec::new(),
            access_token_lifetime: None,
            builtin: true,
            created_at: now,
        }
    }
}

/// Checks a redirect URI: absolute, http(s), no fragment; plain http only for loopback
/// hosts (RFC 9700 §2.1 asks for exact matching and TLS elsewhere).
pub fn validate_redirect_uri(uri: &str) -> Result<String, ApplicationError> {
    let invalid = || ApplicationError::InvalidRedirectUri(uri.chars().take(200).collect());
    let (scheme, rest) = uri.split_once("://").ok_or_else(invalid)?;
    let host_port = rest.split(['/', '?']).next().unwrap_or_default();
    let host = host_port
        .rsplit_once(':')
        .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
        .map_or(host_port, |(host, _)| host);
    let loopback = matches!(host, "localhost" | "127.0.0.1" | "[::1]");
    let scheme_ok = scheme == "https" || (scheme == "http" && loopback);
    if !scheme_ok
        || !uri.is_ascii()
        || host.is_empty()
        || uri.contains('#')
        || uri.len() > 2000
        || uri.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(invalid());
    }
    Ok(uri.to_owned())
}

/// Checks a client's grant list and lifetime as a whole.
pub fn validate_settings(
    public: bool,
    grants: &[GrantType],
    access_token_lifetime: Option<i64>,
) -> Result<(), ApplicationError> {
    if grants.is_empty() {
        return Err(ApplicationError::NoGrant);
    }
    if public && grants.contains(&GrantType::ClientCredentials) {
        return Err(ApplicationError::PublicClientCredentials);
    }
    if access_token_lifetime.is_some_and(|s| !(60..=86_400).contains(&s)) {
        return Err(ApplicationError::InvalidLifetime);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_are_restricted() {
        assert!(ClientId::parse("my-app.v2:web_1").is_ok());
        for bad in ["", "has space", "slash/y", &"a".repeat(65)] {
            assert!(ClientId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn grants_round_trip() {
        for grant in GrantType::ALL {
            assert_eq!(GrantType::parse(grant.as_str()), Ok(grant));
        }
        assert!(GrantType::parse("implicit").is_err());
    }

    #[test]
    fn redirect_uris_need_tls_except_on_loopback() {
        assert!(validate_redirect_uri("https://app.example.com/cb?x=1").is_ok());
        assert!(validate_redirect_uri("http://localhost:8080/cb").is_ok());
        assert!(validate_redirect_uri("http://127.0.0.1/cb").is_ok());
        for bad in [
            "http://app.example.com/cb",
            "https://app.example.com/cb#frag",
            "app.example.com/cb",
            "javascript:alert(1)",
            "https:///cb",
            "https://exa mple.com/",
            "https://exämple.com/cb",
        ] {
            assert!(validate_redirect_uri(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn public_clients_have_no_client_credentials() {
        assert_eq!(
            validate_settings(true, &[GrantType::ClientCredentials], None),
            Err(ApplicationError::PublicClientCredentials)
        );
        assert!(validate_settings(false, &[GrantType::ClientCredentials], Some(300)).is_ok());
        assert_eq!(
            validate_settings(false, &[], None),
            Err(ApplicationError::NoGrant)
        );
        assert!(validate_settings(false, &[GrantType::Password], Some(10)).is_err());
    }
}
