//! OAuth 2.0 operations that have no native-API twin: client-credentials tokens,
//! introspection (RFC 7662), revocation (RFC 7009) and logout by refresh token.

use latchkey_core::audit::actions;
use latchkey_core::secret::hash_opaque_token;
use latchkey_core::token::{AccessClaims, issuer_for, service_access_claims};
use latchkey_core::{Application, AuditOutcome, GrantType, SessionId, Tenant};
use serde_json::json;

use super::{ServiceError, Services};

/// A service token from the client-credentials grant.
pub struct ServiceToken {
    pub access_token: String,
    pub expires_in: i64,
    pub scope: String,
}

/// What introspection learned about a token.
pub enum Introspection {
    Inactive,
    /// A valid access token and its claims.
    Access(AccessClaims),
    /// A live refresh token of this session.
    Refresh {
        session: latchkey_core::Session,
        username: String,
    },
}

impl Services {
    /// Issues a service token to an authenticated confidential client.
    pub async fn client_credentials(
        &self,
        tenant: &Tenant,
        client: &Application,
    ) -> Result<ServiceToken, ServiceError> {
        if client.public || !client.allows(GrantType::ClientCredentials) {
            return Err(ServiceError::UnauthorizedClient);
        }
        let now = self.clock.now();
        let lifetime = client
            .access_token_lifetime
            .map_or(self.lifetimes.access, time::Duration::seconds);
        let issuer = issuer_for(&self.public_url, tenant.domain.as_str());
        let claims = service_access_claims(
            &issuer,
            tenant,
            client.client_id.as_str(),
            &client.roles,
            now,
            lifetime,
            latchkey_core::id::random_id(),
        );
        let access_token = self.keys.sign(&tenant.id, &claims).await?;
        let event = self.audit_event(
            Some(&tenant.id),
            None,
            actions::TOKEN_GRANT,
            Some(client.client_id.to_string()),
            AuditOutcome::Success,
            json!({"grant_type": "client_credentials"}),
        );
        self.store.append_audit(&event).await?;
        Ok(ServiceToken {
            access_token,
            expires_in: lifetime.whole_seconds(),
            scope: claims.scope,
        })
    }

    /// Tells whether `token` (an access token, or an opaque refresh token) of `tenant` is
    /// active now.
    pub async fn introspect(
        &self,
        tenant: &Tenant,
        token: &str,
    ) -> Result<Introspection, ServiceError> {
        if token.split('.').count() == 3 {
            return match self.verified_claims(token).await {
                Ok(claims) if claims.tenant_id == tenant.id.as_str() => {
                    let live = match &claims.sid {
                        Some(sid) => self
                            .store
                            .session(&SessionId::from_string(sid.clone()))
                            .await?
                            .is_some_and(|s| s.is_active(self.clock.now())),
                        None => true,
                    };
                    Ok(if live {
                        Introspection::Access(claims)
                    } else {
                        Introspection::Inactive
                    })
                }
                Ok(_) | Err(ServiceError::InvalidToken) => Ok(Introspection::Inactive),
                Err(other) => Err(other),
            };
        }
        let Some(session) = self
            .store
            .session_of_refresh_token(&hash_opaque_token(token))
            .await?
        else {
            return Ok(Introspection::Inactive);
        };
        if session.tenant_id != tenant.id || !session.is_active(self.clock.now()) {
            return Ok(Introspection::Inactive);
        }
        let Some(account) = self.store.account_by_id(&session.account_id).await? else {
            return Ok(Introspection::Inactive);
        };
        let username = account
            .username
            .map_or_else(|| account.email.as_str().to_owned(), String::from);
        Ok(Introspection::Refresh { session, username })
    }

    /// Ends the session of a refresh token issued to `client` (logout). `false` when the
    /// token is unknown, belongs to another tenant or was issued to another client.
    pub async fn end_session_of_refresh_token(
        &self,
        tenant: &Tenant,
        client: &Application,
        token: &str,
    ) -> Result<bool, ServiceError> {
        let Some(session) = self
            .store
            .session_of_refresh_token(&hash_opaque_token(token))
            .await?
        else {
            return Ok(false);
        };
        if session.tenant_id != tenant.id || session.client_id != client.client_id.as_str() {
            return Ok(false);
        }
        self.revoke(tenant, &session).await?;
        Ok(true)
    }

    /// RFC 7009 revocation: a refresh token or an access token ends its session; unknown
    /// tokens, and tokens issued to other clients (§2.1), are ignored (the answer never
    /// says which tokens exist).
    pub async fn revoke_token(
        &self,
        tenant: &Tenant,
        client: &Application,
        token: &str,
    ) -> Result<(), ServiceError> {
        if self
            .end_session_of_refresh_token(tenant, client, token)
            .await?
        {
            return Ok(());
        }
        if let Ok(claims) = self.verified_claims(token).await
            && claims.tenant_id == tenant.id.as_str()
            && claims.azp == client.client_id.as_str()
            && let Some(sid) = claims.sid
            && let Some(session) = self.store.session(&SessionId::from_string(sid)).await?
        {
            self.revoke(tenant, &session).await?;
        }
        Ok(())
    }

    async fn revoke(
        &self,
        tenant: &Tenant,
        session: &latchkey_core::Session,
    ) -> Result<(), ServiceError> {
        let event = self.audit_event(
            Some(&tenant.id),
            Some(&session.account_id),
            actions::SIGN_OUT,
            Some(session.id.to_string()),
            AuditOutcome::Success,
            json!({"via": "oauth"}),
        );
        self.store
            .revoke_session(&session.id, self.clock.now(), &event)
            .await?;
        Ok(())
    }
}
