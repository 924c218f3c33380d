//! Token grants for clients that name no tenant (Squirro's `oauth2/token`): a refresh
//! whose tenant is learnt from the refresh token, and an access token exchanged for a
//! fresh pair in its session.

use latchkey_core::secret::{generate_opaque_token, hash_opaque_token};

use super::{ClientContext, IssuedTokens, ServiceError, Services, TokenContext};

impl Services {
    /// [`Services::refresh`] in `tenant_domain`, or, without one, in the tenant of the
    /// refresh token's session (an unknown token is refused the same way either way).
    pub async fn refresh_in_any_tenant(
        &self,
        tenant_domain: Option<&str>,
        presented: &str,
        client: ClientContext<'_>,
    ) -> Result<IssuedTokens, ServiceError> {
        let domain = match tenant_domain {
            Some(domain) => domain.to_owned(),
            None => {
                let session = self
                    .store
                    .session_of_refresh_token(&hash_opaque_token(presented))
                    .await?
                    .ok_or(ServiceError::InvalidRefreshToken("unknown token"))?;
                self.tenant_by_id(&session.tenant_id)
                    .await?
                    .ok_or(ServiceError::InvalidRefreshToken("unknown token"))?
                    .domain
                    .to_string()
            }
        };
        match self.refresh(&domain, presented, client).await {
            // A tenant that does not exist is just a wrong token here.
            Err(ServiceError::NotFound(_)) => {
                Err(ServiceError::InvalidRefreshToken("unknown token"))
            }
            other => other,
        }
    }

    /// The tenant of a refresh token's session, when the token is known (a client that
    /// names no tenant is authenticated in it).
    pub async fn tenant_of_refresh_token(
        &self,
        presented: &str,
    ) -> Result<Option<latchkey_core::Tenant>, ServiceError> {
        match self
            .store
            .session_of_refresh_token(&hash_opaque_token(presented))
            .await?
        {
            Some(session) => self.tenant_by_id(&session.tenant_id).await,
            None => Ok(None),
        }
    }

    /// Exchanges a valid access token for a new access token and a new refresh token in
    /// the same session (the session's other refresh tokens stay valid). Only tokens
    /// issued to `client` are accepted.
    pub async fn exchange_access_token(
        &self,
        token: &str,
        client: ClientContext<'_>,
    ) -> Result<IssuedTokens, ServiceError> {
        let caller = self.authenticate(token).await?;
        if caller.client_id != client.client_id {
            return Err(ServiceError::InvalidToken);
        }
        // A grant's restricted token is not exchanged: the grant's own refresh token is
        // the way to more of them, and an exchange must never widen what it may do.
        if caller.project_permissions.is_some() {
            return Err(ServiceError::InvalidToken);
        }
        let session = self
            .store
            .session(&caller.session_id)
            .await?
            .ok_or(ServiceError::InvalidToken)?;
        let now = self.clock.now();
        let refresh = generate_opaque_token();
        let expires = (now + self.lifetimes.refresh_idle).min(session.expires_at);
        if !self
            .store
            .add_refresh_token(
                &session.id,
                &hash_opaque_token(refresh.expose()),
                expires,
                None,
                now,
            )
            .await?
        {
            return Err(ServiceError::InvalidToken);
        }
        self.issue(
            TokenContext {
                account: caller.account,
                tenant: caller.tenant,
                role: caller.role,
                granted_roles: caller.granted_roles,
                session,
                grant: None,
            },
            refresh,
            client,
            None,
        )
        .await
    }
}
