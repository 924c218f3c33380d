//! Impersonation tokens: a tenant administrator mints one for a member; whoever holds it
//! may exchange it once, within `IMPERSONATION_TOKEN_LIFETIME`, for an access token of
//! that member (a session without refresh token that ends with the access token). The
//! rules of who may impersonate whom are `latchkey_core::impersonation`.

use latchkey_core::audit::actions;
use latchkey_core::impersonation::{
    IMPERSONATION_TOKEN_LIFETIME, ImpersonationRefused, ImpersonationRequest, check_impersonation,
};
use latchkey_core::role::permissions;
use latchkey_core::secret::{SecretString, generate_opaque_token, hash_opaque_token};
use latchkey_core::{AccountId, AuditOutcome, ImpersonationGrant, Session, SessionId, Tenant};
use serde_json::json;
use time::OffsetDateTime;

use super::{Caller, ClientContext, IssuedTokens, ServiceError, Services, TokenContext};

/// A freshly minted impersonation token, shown once.
pub struct MintedImpersonation {
    pub token: SecretString,
    pub expires_at: OffsetDateTime,
}

/// An exchanged impersonation token: the member's tokens, and who minted it.
pub struct Impersonated {
    pub tokens: IssuedTokens,
    pub issued_by: AccountId,
}

fn refused(refusal: ImpersonationRefused) -> ServiceError {
    match refusal {
        ImpersonationRefused::Yourself => {
            ServiceError::Validation(ImpersonationRefused::Yourself.to_string())
        }
        ImpersonationRefused::Disabled => {
            ServiceError::Forbidden("a disabled account cannot be impersonated")
        }
        ImpersonationRefused::PlatformAdmin => ServiceError::Forbidden(
            "only platform administrators may impersonate a platform administrator",
        ),
        ImpersonationRefused::TenantAdmin => ServiceError::Forbidden(
            "only platform administrators may impersonate a tenant administrator",
        ),
    }
}

impl Services {
    /// Mints an impersonation token for member `id` of `tenant` (needs `users.write`;
    /// administrators and platform administrators only by a platform administrator).
    pub async fn mint_impersonation(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        id: &str,
    ) -> Result<MintedImpersonation, ServiceError> {
        caller.require(&tenant.id, permissions::USERS_WRITE)?;
        let member = self.find_member(tenant, id).await?;
        // The effective role: a member whom a group makes an administrator is one.
        let (role, _) = self
            .effective_role_of(tenant, &member.account.id, &member.role)
            .await?;
        check_impersonation(&ImpersonationRequest {
            caller: &caller.account.id,
            caller_is_platform_admin: caller.account.platform_admin,
            target: &member.account.id,
            target_is_platform_admin: member.account.platform_admin,
            target_disabled: member.account.disabled,
            target_role: &role,
        })
        .map_err(refused)?;
        let now = self.clock.now();
        let token = generate_opaque_token();
        let grant = ImpersonationGrant {
            token_hash: hash_opaque_token(token.expose()),
            tenant_id: tenant.id.clone(),
            account_id: member.account.id.clone(),
            issued_by: caller.account.id.clone(),
            created_at: now,
            expires_at: now + IMPERSONATION_TOKEN_LIFETIME,
        };
        let event = self.audit_event(
            Some(&tenant.id),
            Some(&caller.account.id),
            actions::IMPERSONATION_MINT,
            Some(member.account.id.to_string()),
            AuditOutcome::Success,
            json!({"email": member.account.email.as_str(), "expires_at": grant.expires_at.unix_timestamp()}),
        );
        self.store
            .create_impersonation(&grant, &event)
            .await
            .map_err(|e| match e {
                latchkey_store::StoreError::NotFound => ServiceError::NotFound("user"),
                other => other.into(),
            })?;
        Ok(MintedImpersonation {
            token,
            expires_at: grant.expires_at,
        })
    }

    /// Exchanges an impersonation token for an access token of its member, once. The
    /// rules are checked again at the exchange (the member may have become an
    /// administrator, or the minting administrator lost the right, meanwhile). Every
    /// failure is `InvalidToken`.
    pub async fn redeem_impersonation(
        &self,
        presented: &str,
        client: ClientContext<'_>,
        user_agent: Option<String>,
        ip_address: Option<String>,
    ) -> Result<Impersonated, ServiceError> {
        let now = self.clock.now();
        let token_hash = hash_opaque_token(presented);
        let grant = self
            .store
            .impersonation(&token_hash, now)
            .await?
            .ok_or(ServiceError::InvalidToken)?;
        let tenant = self
            .tenant_by_id(&grant.tenant_id)
            .await?
            .ok_or(ServiceError::InvalidToken)?;
        let member = self
            .store
            .membership(&tenant.id, &grant.account_id)
            .await?
            .ok_or(ServiceError::InvalidToken)?;
        let account = self
            .store
            .account_by_id(&grant.account_id)
            .await?
            .ok_or(ServiceError::InvalidToken)?;
        let issuer = self
            .store
            .account_by_id(&grant.issued_by)
            .await?
            .filter(|a| !a.disabled)
            .ok_or(ServiceError::InvalidToken)?;
        if !issuer.platform_admin {
            let issuer_role = match self.store.membership(&tenant.id, &issuer.id).await? {
                Some(m) => self.role_in(&tenant.id, &m.role).await?,
                None => None,
            };
            if !issuer_role.is_some_and(|r| r.grants(permissions::USERS_WRITE)) {
                return Err(ServiceError::InvalidToken);
            }
        }
        let (role, granted_roles) = self
            .effective_role_of(&tenant, &account.id, &member.role)
            .await?;
        check_impersonation(&ImpersonationRequest {
            caller: &issuer.id,
            caller_is_platform_admin: issuer.platform_admin,
            target: &account.id,
            target_is_platform_admin: account.platform_admin,
            target_disabled: account.disabled,
            target_role: &role,
        })
        .map_err(|_| ServiceError::InvalidToken)?;
        let lifetime = client.access_lifetime.unwrap_or(self.lifetimes.access);
        let session = Session {
            id: SessionId::generate(),
            account_id: account.id.clone(),
            tenant_id: tenant.id.clone(),
            client_id: client.client_id.to_owned(),
            created_at: now,
            last_seen_at: now,
            expires_at: now + lifetime,
            revoked_at: None,
            user_agent: user_agent.map(|ua| ua.chars().take(512).collect()),
            ip_address: ip_address.clone(),
        };
        let event = self.audit_event(
            Some(&tenant.id),
            Some(&issuer.id),
            actions::IMPERSONATION_REDEEM,
            Some(account.id.to_string()),
            AuditOutcome::Success,
            json!({"session": session.id, "ip": ip_address}),
        );
        if !self
            .store
            .redeem_impersonation(&token_hash, &session, now, &event)
            .await?
        {
            return Err(ServiceError::InvalidToken);
        }
        // The session has no refresh token: the one `issue` makes up is never stored.
        let tokens = self
            .issue(
                TokenContext {
                    account,
                    tenant,
                    role,
                    granted_roles,
                    session,
                    grant: None,
                },
                generate_opaque_token(),
                client,
                None,
            )
            .await?;
        Ok(Impersonated {
            tokens,
            issued_by: issuer.id,
        })
    }
}
