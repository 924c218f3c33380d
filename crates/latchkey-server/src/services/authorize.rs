//! The authorization-code grant (RFC 6749 §4.1) with PKCE (RFC 7636): validating an
//! authorization request, turning a successful sign-in into a code, and exchanging the
//! code for tokens. Codes are single-use, bound to client, redirect URI and PKCE
//! challenge, live 60 seconds, and are stored only as hashes.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use latchkey_core::secret::{constant_time_eq, generate_opaque_token, hash_opaque_token};
use latchkey_core::{Application, ClientId, GrantType, Session, Tenant};
use latchkey_store::{AuthorizationCode, Redemption};
use sha2::{Digest as _, Sha256};
use time::Duration;

use super::{ClientContext, IssuedTokens, ServiceError, Services, TokenContext};

const CODE_LIFETIME: Duration = Duration::seconds(60);

/// How long a session opened by the sign-in page lives before its code is exchanged.
pub const PENDING_SESSION_LIFETIME: Duration = Duration::seconds(120);

/// The parameters of an authorization request, as received.
#[derive(Clone, Debug, Default)]
pub struct AuthorizationParams {
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub response_type: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub prompt: Option<String>,
    pub max_age: Option<String>,
    pub login_hint: Option<String>,
}

/// A request that passed validation.
#[derive(Clone, Debug)]
pub struct ValidAuthorization {
    pub application: Application,
    pub redirect_uri: String,
    pub scope: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub login_hint: Option<String>,
}

/// Why an authorization request failed, and how to tell.
#[derive(Debug)]
pub enum AuthorizationError {
    /// The client or redirect URI cannot be trusted: show an error page, never redirect.
    Page(String),
    /// Tell the client, at its verified redirect URI.
    Redirect {
        redirect_uri: String,
        error: &'static str,
        description: String,
        state: Option<String>,
    },
    Service(ServiceError),
}

impl From<ServiceError> for AuthorizationError {
    fn from(error: ServiceError) -> Self {
        Self::Service(error)
    }
}

/// Builds `uri` with `params` appended to its query.
pub fn with_query(uri: &str, params: &[(&str, &str)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in params {
        query.append_pair(name, value);
    }
    let separator = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{separator}{}", query.finish())
}

fn is_pkce_verifier(text: &str) -> bool {
    (43..=128).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

impl Services {
    /// Checks an authorization request. Client and redirect URI are checked first; until
    /// both are known good, every problem is a page, never a redirect (no open redirector).
    pub async fn validate_authorization(
        &self,
        tenant: &Tenant,
        params: &AuthorizationParams,
    ) -> Result<ValidAuthorization, AuthorizationError> {
        let client_id = params.client_id.as_deref().ok_or_else(|| {
            AuthorizationError::Page("the request names no client (client_id)".into())
        })?;
        let application = match ClientId::parse(client_id) {
            Ok(id) => self
                .store
                .application(&tenant.id, &id)
                .await
                .map_err(ServiceError::from)?,
            Err(_) => None,
        }
        .ok_or_else(|| {
            AuthorizationError::Page("the client is not registered in this realm".into())
        })?;
        let redirect_uri = params
            .redirect_uri
            .clone()
            .filter(|uri| {
                application
                    .redirect_uris
                    .iter()
                    .any(|allowed| allowed == uri)
            })
            .ok_or_else(|| {
                AuthorizationError::Page(
                    "the redirect URI is not registered for this client".into(),
                )
            })?;
        let fail = |error: &'static str, description: &str| AuthorizationError::Redirect {
            redirect_uri: redirect_uri.clone(),
            error,
            description: description.to_owned(),
            state: params.state.clone(),
        };
        for (name, value, max) in [
            ("state", &params.state, 1024),
            ("nonce", &params.nonce, 1024),
            ("scope", &params.scope, 1024),
            ("login_hint", &params.login_hint, 254),
        ] {
            if value.as_ref().is_some_and(|v| v.len() > max) {
                return Err(AuthorizationError::Redirect {
                    redirect_uri: redirect_uri.clone(),
                    error: "invalid_request",
                    description: format!("{name} is longer than {max} bytes"),
                    state: None,
                });
            }
        }
        if params.response_type.as_deref() != Some("code") {
            return Err(fail(
                "unsupported_response_type",
                "only response_type=code is supported",
            ));
        }
        if !application.allows(GrantType::AuthorizationCode) {
            return Err(fail(
                "unauthorized_client",
                "the client may not use the authorization-code grant",
            ));
        }
        let code_challenge = match (
            params.code_challenge.as_deref(),
            params.code_challenge_method.as_deref(),
        ) {
            (Some(challenge), Some("S256")) if challenge.len() == 43 => Some(challenge.to_owned()),
            (Some(_), Some("S256")) => {
                return Err(fail(
                    "invalid_request",
                    "code_challenge must be a base64url SHA-256",
                ));
            }
            (Some(_), _) => {
                return Err(fail(
                    "invalid_request",
                    "code_challenge_method must be S256",
                ));
            }
            (None, _) if application.public => {
                return Err(fail(
                    "invalid_request",
                    "public clients must use PKCE (code_challenge, S256)",
                ));
            }
            (None, _) => None,
        };
        if params
            .max_age
            .as_deref()
            .is_some_and(|age| age.parse::<u64>().is_err())
        {
            return Err(fail(
                "invalid_request",
                "max_age must be a number of seconds",
            ));
        }
        // Latchkey keeps no browser session yet, so it can never answer without asking.
        if params
            .prompt
            .as_deref()
            .is_some_and(|p| p.split(' ').any(|p| p == "none"))
        {
            return Err(fail("login_required", "the user must sign in"));
        }
        let scope = params.scope.clone().unwrap_or_default();
        Ok(ValidAuthorization {
            application,
            redirect_uri,
            scope,
            state: params.state.clone(),
            nonce: params.nonce.clone(),
            code_challenge,
            login_hint: params.login_hint.clone(),
        })
    }

    /// Issues a code for a session just opened by signing in; returns where to send the
    /// browser.
    pub async fn issue_authorization_code(
        &self,
        tenant: &Tenant,
        request: &ValidAuthorization,
        session: &Session,
    ) -> Result<String, ServiceError> {
        let code = generate_opaque_token();
        let now = self.clock.now();
        self.store
            .create_authorization_code(&AuthorizationCode {
                code_hash: hash_opaque_token(code.expose()),
                tenant_id: tenant.id.clone(),
                client_id: request.application.client_id.to_string(),
                session_id: session.id.clone(),
                redirect_uri: request.redirect_uri.clone(),
                code_challenge: request.code_challenge.clone(),
                scope: request.scope.clone(),
                nonce: request.nonce.clone(),
                created_at: now,
                expires_at: now + CODE_LIFETIME,
            })
            .await?;
        let issuer = latchkey_core::token::issuer_for(&self.public_url, tenant.domain.as_str());
        let mut params = vec![
            ("code", code.expose()),
            ("session_state", session.id.as_str()),
            ("iss", issuer.as_str()),
        ];
        if let Some(state) = &request.state {
            params.push(("state", state));
        }
        Ok(with_query(&request.redirect_uri, &params))
    }

    /// Exchanges a code at the token endpoint. Returns the tokens and the scope the code
    /// was issued for.
    pub async fn exchange_authorization_code(
        &self,
        tenant: &Tenant,
        client: &Application,
        code: &str,
        redirect_uri: Option<&str>,
        code_verifier: Option<&str>,
    ) -> Result<(IssuedTokens, String), ServiceError> {
        let invalid = || ServiceError::InvalidRefreshToken("code not valid");
        let code = match self
            .store
            .redeem_authorization_code(&hash_opaque_token(code), self.clock.now())
            .await?
        {
            Redemption::Redeemed(code) => code,
            Redemption::Unknown | Redemption::Expired | Redemption::AlreadyUsed => {
                return Err(invalid());
            }
        };
        let bound = code.tenant_id == tenant.id
            && code.client_id == client.client_id.as_str()
            && redirect_uri == Some(code.redirect_uri.as_str());
        let pkce_ok = match (&code.code_challenge, code_verifier) {
            (Some(challenge), Some(verifier)) if is_pkce_verifier(verifier) => {
                let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
                constant_time_eq(computed.as_bytes(), challenge.as_bytes())
            }
            (Some(_), _) => false,
            (None, verifier) => verifier.is_none(),
        };
        if !(bound && pkce_ok) {
            return Err(invalid());
        }
        let session = self
            .store
            .session(&code.session_id)
            .await?
            .filter(|s| s.is_active(self.clock.now()))
            .ok_or(ServiceError::InvalidRefreshToken("session not active"))?;
        let account = self
            .store
            .account_by_id(&session.account_id)
            .await?
            .filter(|a| !a.disabled)
            .ok_or(ServiceError::InvalidRefreshToken("session not active"))?;
        let membership = self
            .store
            .membership(&tenant.id, &account.id)
            .await?
            .ok_or(ServiceError::InvalidRefreshToken("session not active"))?;
        let (role, granted_roles) = self
            .effective_role_of(tenant, &account.id, &membership.role)
            .await?;
        let refresh = generate_opaque_token();
        let now = self.clock.now();
        let added = self
            .store
            .add_refresh_token(
                &session.id,
                &hash_opaque_token(refresh.expose()),
                now + self.lifetimes.refresh_idle,
                Some(session.created_at + self.lifetimes.session_max),
                now,
            )
            .await?;
        if !added {
            return Err(ServiceError::InvalidRefreshToken("session not active"));
        }
        let tokens = self
            .issue(
                TokenContext {
                    account,
                    tenant: tenant.clone(),
                    role,
                    granted_roles,
                    session,
                    grant: None,
                },
                refresh,
                ClientContext::of(client),
                code.nonce.as_deref(),
            )
            .await?;
        Ok((tokens, code.scope))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parameters_are_appended_and_encoded() {
        assert_eq!(
            with_query("https://a/cb", &[("code", "x y"), ("state", "s&t")]),
            "https://a/cb?code=x+y&state=s%26t"
        );
        assert_eq!(
            with_query("https://a/cb?k=1", &[("code", "c")]),
            "https://a/cb?k=1&code=c"
        );
    }

    #[test]
    fn verifiers_follow_rfc_7636() {
        assert!(is_pkce_verifier(&"a".repeat(43)));
        assert!(!is_pkce_verifier(&"a".repeat(42)));
        assert!(!is_pkce_verifier(&format!("{}!", "a".repeat(43))));
    }
}
