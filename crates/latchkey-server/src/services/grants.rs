//! Grants: long-lived refresh tokens of a member, for itself or for an application.
//!
//! A grant is a session with a grant row beside it (see migration 0011). Its refresh
//! token does NOT rotate: Squirro's CLI and scripts share one grant token across
//! processes for months, and a rotating token would turn every concurrent use into a
//! reuse detection that revokes the grant. RFC 9700 §4.14.2 allows non-rotating refresh
//! tokens when they are otherwise protected; a grant's token is 256 random bits stored
//! only as a SHA-256 hash, shown once, bound to one client (the store refuses it from any
//! other, RFC 6749 §6), bound to one tenant, revocable at any time (deleting the grant or
//! its session), and ends with the grant. Every use mints a new access token (fresh
//! `jti`) whose permissions are limited to the grant's.

use latchkey_core::audit::actions;
use latchkey_core::grant::{GrantKind, parse_project_permissions};
use latchkey_core::role::permissions;
use latchkey_core::secret::{SecretString, generate_opaque_token, hash_opaque_token};
use latchkey_core::{AuditOutcome, ClientId, Session, SessionId, Tenant};
use latchkey_store::GrantRecord;
use serde_json::json;

use super::{Caller, ServiceError, Services};

/// How long a grant lasts.
pub const GRANT_LIFETIME: time::Duration = time::Duration::days(365);

/// What a new grant is for.
#[derive(Clone, Debug)]
pub struct GrantSpec {
    pub kind: GrantKind,
    /// The application of a `service` grant (required for it, refused otherwise).
    pub for_client_id: Option<String>,
    /// The client a `user` grant's token is bound to: an application of the tenant, or
    /// (the default) the native API `latchkey-api`.
    pub client_id: Option<String>,
    /// Restrict the grant to these project permissions; `None`: unrestricted.
    pub project_permissions: Option<Vec<String>>,
}

/// A new grant and its refresh token, shown once.
pub struct CreatedGrant {
    pub grant: GrantRecord,
    pub refresh_token: SecretString,
}

impl Services {
    /// Creates a grant for member `id`. The account itself may create `user` grants;
    /// tenant administrators (`users.write`) any grant for any member. Tokens of a
    /// restricted grant may not create grants.
    pub async fn create_grant(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        id: &str,
        spec: GrantSpec,
    ) -> Result<CreatedGrant, ServiceError> {
        caller.require_unrestricted()?;
        let is_self = caller.is_self_in(&tenant.id, id);
        if !(is_self && spec.kind == GrantKind::User) {
            caller.require(&tenant.id, permissions::USERS_WRITE)?;
        }
        let member = self.find_member(tenant, id).await?;
        let permissions = spec
            .project_permissions
            .as_deref()
            .map(parse_project_permissions)
            .transpose()
            .map_err(|e| ServiceError::Validation(e.to_string()))?;
        let (client_id, for_client_id) = match spec.kind {
            GrantKind::Service => {
                if spec.client_id.is_some() {
                    return Err(ServiceError::Validation(
                        "a service grant is bound to `for_client_id`; leave out `client_id`".into(),
                    ));
                }
                let for_client = spec.for_client_id.ok_or_else(|| {
                    ServiceError::Validation("a service grant needs `for_client_id`".into())
                })?;
                self.existing_application(tenant, &for_client, "for_client_id")
                    .await?;
                (for_client.clone(), Some(for_client))
            }
            GrantKind::User => {
                if spec.for_client_id.is_some() {
                    return Err(ServiceError::Validation(
                        "`for_client_id` is only for service grants".into(),
                    ));
                }
                let client = spec
                    .client_id
                    .unwrap_or_else(|| latchkey_core::application::NATIVE_CLIENT_ID.to_owned());
                if client != latchkey_core::application::NATIVE_CLIENT_ID {
                    self.existing_application(tenant, &client, "client_id")
                        .await?;
                }
                (client, None)
            }
        };
        let now = self.clock.now();
        let session = Session {
            id: SessionId::generate(),
            account_id: member.account.id.clone(),
            tenant_id: tenant.id.clone(),
            client_id,
            created_at: now,
            last_seen_at: now,
            expires_at: now + GRANT_LIFETIME,
            revoked_at: None,
            user_agent: None,
            ip_address: None,
        };
        let grant = GrantRecord {
            session,
            kind: spec.kind,
            for_client_id,
            permissions,
        };
        let refresh = generate_opaque_token();
        let event = self.audit_event(
            Some(&tenant.id),
            Some(&caller.account.id),
            actions::GRANT_CREATE,
            Some(grant.session.id.to_string()),
            AuditOutcome::Success,
            json!({
                "account": member.account.id,
                "type": grant.kind.as_str(),
                "client_id": grant.session.client_id,
                "project_permissions": grant.permissions,
            }),
        );
        self.store
            .create_grant(&grant, &hash_opaque_token(refresh.expose()), &event)
            .await
            .map_err(|e| match e {
                latchkey_store::StoreError::NotFound => ServiceError::NotFound("user"),
                other => other.into(),
            })?;
        Ok(CreatedGrant {
            grant,
            refresh_token: refresh,
        })
    }

    /// The member's active grants, newest first: the account itself, or a caller with
    /// `sessions.read`.
    pub async fn member_grants(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        id: &str,
    ) -> Result<Vec<GrantRecord>, ServiceError> {
        if !caller.is_self_in(&tenant.id, id) {
            caller.require(&tenant.id, permissions::SESSIONS_READ)?;
        }
        let member = self.find_member(tenant, id).await?;
        Ok(self
            .store
            .list_grants(&tenant.id, &member.account.id, self.clock.now())
            .await?)
    }

    /// Revokes a member's grant: the account itself (with an unrestricted token), or a
    /// caller with `sessions.write`. Unknown, foreign and already revoked grants are
    /// "not found".
    pub async fn revoke_grant(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        id: &str,
        grant_id: &str,
    ) -> Result<(), ServiceError> {
        if !caller.is_self_in(&tenant.id, id) {
            caller.require(&tenant.id, permissions::SESSIONS_WRITE)?;
        }
        let member = self.find_member(tenant, id).await?;
        if !latchkey_core::id::is_id_shaped(grant_id) {
            return Err(ServiceError::NotFound("grant"));
        }
        let grant = self
            .store
            .grant(&SessionId::from_string(grant_id.to_owned()))
            .await?
            .filter(|g| {
                g.session.account_id == member.account.id && g.session.tenant_id == tenant.id
            })
            .ok_or(ServiceError::NotFound("grant"))?;
        let event = self.audit_event(
            Some(&tenant.id),
            Some(&caller.account.id),
            actions::GRANT_REVOKE,
            Some(grant.session.id.to_string()),
            AuditOutcome::Success,
            json!({"account": member.account.id}),
        );
        if !self
            .store
            .revoke_session(&grant.session.id, self.clock.now(), &event)
            .await?
        {
            return Err(ServiceError::NotFound("grant"));
        }
        Ok(())
    }

    async fn existing_application(
        &self,
        tenant: &Tenant,
        client_id: &str,
        field: &str,
    ) -> Result<(), ServiceError> {
        let id = ClientId::parse(client_id)
            .map_err(|e| ServiceError::Validation(format!("{field}: {e}")))?;
        if self.store.application(&tenant.id, &id).await?.is_none() {
            return Err(ServiceError::Validation(format!(
                "{field}: the tenant has no application `{client_id}`"
            )));
        }
        Ok(())
    }
}
