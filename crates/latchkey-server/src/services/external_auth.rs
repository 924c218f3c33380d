//! External authentications (an account's identity and credentials at another service)
//! and sign-in by external identity.
//!
//! The access token and secret are sealed with the server's AEAD key, bound to
//! (tenant, account, service), so a sealed value copied to another row does not open.
//! They are returned in clear only to the account itself or to a tenant administrator
//! (`users.write`): Squirro's `get_authentication` hands them to its caller, whose
//! integrations use them to call the external service.

use latchkey_core::audit::actions;
use latchkey_core::grant::{ExternalAuthError, validate_service, validate_service_user};
use latchkey_core::role::permissions;
use latchkey_core::secret::generate_opaque_token;
use latchkey_core::secret::hash_opaque_token;
use latchkey_core::{Account, AccountId, AuditOutcome, Session, SessionId, Tenant, TenantId};
use latchkey_store::{SignInRecord, StoredExternalAuth};
use serde_json::json;
use time::OffsetDateTime;

use super::{Caller, ClientContext, IssuedTokens, ServiceError, Services, TokenContext};

/// The longest access token or secret kept.
const MAX_CREDENTIAL_CHARS: usize = 8192;

/// What the caller sends to create or change an authentication.
#[derive(Clone, Default)]
pub struct ExternalAuthSpec {
    pub service_user: String,
    pub access_token: String,
    pub access_token_expires: Option<OffsetDateTime>,
    pub access_secret: Option<String>,
    pub access_secret_expires: Option<OffsetDateTime>,
    pub display_name: Option<String>,
    pub state: Option<String>,
}

/// An authentication with its credentials opened.
#[derive(Clone)]
pub struct ExternalAuth {
    pub account_id: AccountId,
    pub service: String,
    pub service_user: String,
    pub access_token: String,
    pub access_token_expires: Option<OffsetDateTime>,
    pub access_secret: Option<String>,
    pub access_secret_expires: Option<OffsetDateTime>,
    pub display_name: Option<String>,
    pub state: Option<String>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl std::fmt::Debug for ExternalAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExternalAuth")
            .field("account_id", &self.account_id)
            .field("service", &self.service)
            .field("service_user", &self.service_user)
            .finish_non_exhaustive()
    }
}

fn seal_context(tenant: &TenantId, account: &AccountId, service: &str, what: &str) -> Vec<u8> {
    format!("external-auth:{tenant}:{account}:{service}:{what}").into_bytes()
}

fn invalid(error: ExternalAuthError) -> ServiceError {
    ServiceError::Validation(error.to_string())
}

impl Services {
    /// The account itself (unrestricted token) or a tenant administrator may manage an
    /// account's authentications and read their credentials.
    async fn external_auth_owner(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        id: &str,
    ) -> Result<AccountId, ServiceError> {
        caller.require_unrestricted()?;
        if !caller.is_self_in(&tenant.id, id) {
            caller.require(&tenant.id, permissions::USERS_WRITE)?;
        }
        Ok(self.find_member(tenant, id).await?.account.id)
    }

    /// Creates or replaces member `id`'s authentication at `service`; true when created.
    pub async fn put_external_auth(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        id: &str,
        service: &str,
        spec: ExternalAuthSpec,
    ) -> Result<(bool, ExternalAuth), ServiceError> {
        validate_service(service).map_err(invalid)?;
        validate_service_user(&spec.service_user).map_err(invalid)?;
        if spec.access_token.chars().count() > MAX_CREDENTIAL_CHARS {
            return Err(invalid(ExternalAuthError::TooLong("access_token")));
        }
        if spec
            .access_secret
            .as_ref()
            .is_some_and(|s| s.chars().count() > MAX_CREDENTIAL_CHARS)
        {
            return Err(invalid(ExternalAuthError::TooLong("access_secret")));
        }
        for (name, value) in [("display_name", &spec.display_name), ("state", &spec.state)] {
            if value.as_ref().is_some_and(|v| v.chars().count() > 1024) {
                return Err(ServiceError::Validation(format!(
                    "{name} must be at most 1024 characters"
                )));
            }
        }
        let account = self.external_auth_owner(caller, tenant, id).await?;
        let now = self.clock.now();
        let created_at = self
            .store
            .external_auth(&tenant.id, &account, service)
            .await?
            .map_or(now, |existing| existing.created_at);
        let record = StoredExternalAuth {
            tenant_id: tenant.id.clone(),
            account_id: account.clone(),
            service: service.to_owned(),
            service_user: spec.service_user.clone(),
            sealed_access_token: self.sealer.seal(
                spec.access_token.as_bytes(),
                &seal_context(&tenant.id, &account, service, "access_token"),
            ),
            access_token_expires: spec.access_token_expires,
            sealed_access_secret: spec.access_secret.as_ref().map(|secret| {
                self.sealer.seal(
                    secret.as_bytes(),
                    &seal_context(&tenant.id, &account, service, "access_secret"),
                )
            }),
            access_secret_expires: spec.access_secret_expires,
            display_name: spec.display_name.clone(),
            state: spec.state.clone(),
            created_at,
            updated_at: now,
        };
        let event = self.audit_event(
            Some(&tenant.id),
            Some(&caller.account.id),
            actions::EXTERNAL_AUTH_PUT,
            Some(account.to_string()),
            AuditOutcome::Success,
            json!({"service": service, "service_user": spec.service_user}),
        );
        let created = self
            .store
            .put_external_auth(&record, &event)
            .await
            .map_err(|e| match e {
                latchkey_store::StoreError::Conflict(_) => ServiceError::Conflict(
                    "another account of this tenant already has this service_user at this service",
                ),
                latchkey_store::StoreError::NotFound => ServiceError::NotFound("user"),
                other => other.into(),
            })?;
        let opened = self.open_external_auth(record)?;
        Ok((created, opened))
    }

    /// Member `id`'s authentication at `service`, credentials opened.
    pub async fn external_auth(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        id: &str,
        service: &str,
    ) -> Result<ExternalAuth, ServiceError> {
        let account = self.external_auth_owner(caller, tenant, id).await?;
        let record = self
            .store
            .external_auth(&tenant.id, &account, service)
            .await?
            .ok_or(ServiceError::NotFound("authentication"))?;
        self.open_external_auth(record)
    }

    /// Member `id`'s authentications, ordered by service, credentials opened.
    pub async fn external_auths(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        id: &str,
    ) -> Result<Vec<ExternalAuth>, ServiceError> {
        let account = self.external_auth_owner(caller, tenant, id).await?;
        self.store
            .external_auths_of(&tenant.id, &account)
            .await?
            .into_iter()
            .map(|record| self.open_external_auth(record))
            .collect()
    }

    pub async fn delete_external_auth(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        id: &str,
        service: &str,
    ) -> Result<(), ServiceError> {
        let account = self.external_auth_owner(caller, tenant, id).await?;
        let event = self.audit_event(
            Some(&tenant.id),
            Some(&caller.account.id),
            actions::EXTERNAL_AUTH_DELETE,
            Some(account.to_string()),
            AuditOutcome::Success,
            json!({"service": service}),
        );
        if !self
            .store
            .delete_external_auth(&tenant.id, &account, service, &event)
            .await?
        {
            return Err(ServiceError::NotFound("authentication"));
        }
        Ok(())
    }

    fn open_external_auth(&self, record: StoredExternalAuth) -> Result<ExternalAuth, ServiceError> {
        let open = |sealed: &[u8], what: &str| -> Result<String, ServiceError> {
            let bytes = self
                .sealer
                .open(
                    sealed,
                    &seal_context(&record.tenant_id, &record.account_id, &record.service, what),
                )
                .map_err(|e| ServiceError::Internal(format!("external authentication: {e}")))?;
            String::from_utf8(bytes)
                .map_err(|_| ServiceError::Internal("external authentication: not UTF-8".into()))
        };
        let access_token = open(&record.sealed_access_token, "access_token")?;
        let access_secret = record
            .sealed_access_secret
            .as_deref()
            .map(|sealed| open(sealed, "access_secret"))
            .transpose()?;
        Ok(ExternalAuth {
            account_id: record.account_id,
            service: record.service,
            service_user: record.service_user,
            access_token,
            access_token_expires: record.access_token_expires,
            access_secret,
            access_secret_expires: record.access_secret_expires,
            display_name: record.display_name,
            state: record.state,
            created_at: record.created_at,
            updated_at: record.updated_at,
        })
    }

    /// Signs in the account holding the external identity (`service`, `service_user`)
    /// in `tenant`, for `client`. The caller has authenticated the client (a confidential
    /// one) or verified a token of the external service; the external identity stands
    /// in for the password. An unknown identity, a disabled account or one no longer a
    /// member all get `InvalidCredentials`, and the refusal is audited.
    pub async fn sign_in_external(
        &self,
        tenant: &Tenant,
        service: &str,
        service_user: &str,
        client: ClientContext<'_>,
        ip_address: Option<String>,
        user_agent: Option<String>,
    ) -> Result<IssuedTokens, ServiceError> {
        let found =
            if validate_service(service).is_ok() && validate_service_user(service_user).is_ok() {
                self.store
                    .external_auth_by_identity(&tenant.id, service, service_user)
                    .await?
            } else {
                None
            };
        let account: Option<Account> = match &found {
            Some(record) => self
                .store
                .account_by_id(&record.account_id)
                .await?
                .filter(|a| !a.disabled),
            None => None,
        };
        let membership = match &account {
            Some(a) => self.store.membership(&tenant.id, &a.id).await?,
            None => None,
        };
        let (Some(account), Some(membership)) = (account, membership) else {
            let event = self.audit_event(
                Some(&tenant.id),
                None,
                actions::EXTERNAL_SIGN_IN,
                Some(format!("{}:{}", service.chars().take(64).collect::<String>(), service_user.chars().take(256).collect::<String>())),
                AuditOutcome::Failure,
                json!({"reason": "unknown_identity", "client_id": client.client_id, "ip": ip_address}),
            );
            self.metrics.sign_in(false);
            self.store.append_audit(&event).await?;
            return Err(ServiceError::InvalidCredentials);
        };
        let (role, granted_roles) = self
            .effective_role_of(tenant, &account.id, &membership.role)
            .await?;
        let now = self.clock.now();
        let session = Session {
            id: SessionId::generate(),
            account_id: account.id.clone(),
            tenant_id: tenant.id.clone(),
            client_id: client.client_id.to_owned(),
            created_at: now,
            last_seen_at: now,
            expires_at: now + self.lifetimes.session_max,
            revoked_at: None,
            user_agent: user_agent.map(|ua| ua.chars().take(512).collect()),
            ip_address: ip_address.clone(),
        };
        let refresh = generate_opaque_token();
        let event = self.audit_event(
            Some(&tenant.id),
            Some(&account.id),
            actions::EXTERNAL_SIGN_IN,
            Some(account.id.to_string()),
            AuditOutcome::Success,
            json!({"session": session.id, "service": service, "client_id": client.client_id, "ip": ip_address}),
        );
        // No password was checked, so no password hash is compared and the account's
        // brute-force record is left as it is (no throttle row has this key).
        let opened = self
            .store
            .open_session(
                &SignInRecord {
                    session: &session,
                    refresh_hash: &hash_opaque_token(refresh.expose()),
                    refresh_expires_at: (now + self.lifetimes.refresh_idle).min(session.expires_at),
                    throttle_key: "external:none",
                    verified_hash: None,
                    rehash: None,
                },
                &event,
            )
            .await?;
        if !opened {
            return Err(ServiceError::InvalidCredentials);
        }
        self.metrics.sign_in(true);
        self.issue(
            TokenContext {
                account: Account {
                    last_login_at: Some(now),
                    ..account
                },
                tenant: tenant.clone(),
                role,
                granted_roles,
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
