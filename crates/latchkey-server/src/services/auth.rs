//! Sign-in, token refresh and sign-out.

use latchkey_core::audit::actions;
use latchkey_core::secret::{generate_opaque_token, hash_opaque_token};
use latchkey_core::token::{TokenSubject, issuer_for};
use latchkey_core::{
    Account, AuditOutcome, Membership, Role, Session, SessionId, Tenant, ThrottleDecision,
};
use latchkey_store::{RotationOutcome, SignInRecord};
use serde_json::json;
use time::OffsetDateTime;

use super::{Caller, ServiceError, Services};

/// The longest login worth looking up: emails have at most 254 characters.
pub(super) const MAX_LOGIN_CHARS: usize = 254;

/// The brute-force counter's key: the account when it exists, otherwise a hash of the
/// login as typed (fixed length, whatever was sent), so unknown logins are throttled
/// exactly like real ones.
pub(super) fn throttle_key(account: Option<&latchkey_core::AccountId>, login_key: &str) -> String {
    match account {
        Some(id) => account_throttle_key(id),
        None => format!("login:{}", hash_opaque_token(login_key)),
    }
}

/// The brute-force counter of an existing account (sign-in and password change share it).
pub(super) fn account_throttle_key(account: &latchkey_core::AccountId) -> String {
    format!("account:{account}")
}
use crate::password::Verification;

/// What a sign-in needs from the request.
pub struct SignIn<'a> {
    pub tenant_domain: &'a str,
    pub login: &'a str,
    pub password: String,
    /// A TOTP or recovery code, for accounts with multi-factor authentication.
    pub totp: Option<String>,
    pub user_agent: Option<String>,
    pub ip_address: Option<String>,
    /// The OAuth client on whose behalf the tokens are issued.
    pub client: ClientContext<'a>,
    /// Overrides how long the session lasts. The authorization endpoint opens sessions
    /// that only live until their code is exchanged (which extends them), so abandoned
    /// sign-ins leave no month-long session behind.
    pub session_lifetime: Option<time::Duration>,
}

/// The OAuth client tokens are issued to: its id becomes `azp` and the ID token's `aud`;
/// its settings shape the tokens.
#[derive(Clone, Copy, Debug)]
pub struct ClientContext<'a> {
    pub client_id: &'a str,
    /// Overrides the server's access-token lifetime.
    pub access_lifetime: Option<time::Duration>,
    /// Application-scoped roles, published under `resource_access.{client_id}`.
    pub roles: &'a [String],
}

impl<'a> ClientContext<'a> {
    /// A client with the server's defaults and no roles (the native API).
    pub fn plain(client_id: &'a str) -> Self {
        Self {
            client_id,
            access_lifetime: None,
            roles: &[],
        }
    }

    pub fn of(application: &'a latchkey_core::Application) -> Self {
        Self {
            client_id: application.client_id.as_str(),
            access_lifetime: application
                .access_token_lifetime
                .map(time::Duration::seconds),
            roles: &application.roles,
        }
    }
}

/// Tokens of one sign-in or refresh, with who they are for.
pub struct IssuedTokens {
    pub access_token: String,
    pub refresh_token: latchkey_core::secret::SecretString,
    pub id_token: String,
    pub expires_in: i64,
    /// Seconds the refresh token stays usable without being rotated.
    pub refresh_expires_in: i64,
    pub context: TokenContext,
}

/// The account, tenant and role the tokens speak for.
pub struct TokenContext {
    pub account: Account,
    pub tenant: Tenant,
    /// The effective role: membership role plus the permissions its groups grant (for a
    /// restricted grant, then reduced to the grant's permissions).
    pub role: Role,
    /// Names of the roles the account's groups grant it in the tenant.
    pub granted_roles: Vec<latchkey_core::RoleName>,
    pub session: Session,
    /// The grant, when the tokens were minted from a grant's refresh token.
    pub grant: Option<latchkey_store::GrantRecord>,
}

/// A sign-in whose password was right, before its second factor is checked.
pub(super) struct PasswordChecked {
    pub tenant: Tenant,
    pub account: Account,
    pub membership: Membership,
    pub needs_rehash: bool,
    /// The hash the password was verified against.
    pub stored_hash: Option<String>,
    pub throttle_key: String,
    /// When the sign-in began: the session's start.
    pub now: OffsetDateTime,
}

/// What a session is opened with once the account proved who it is.
pub(super) struct SessionOpening<'a> {
    pub tenant: Tenant,
    pub account: Account,
    pub membership_role: latchkey_core::RoleName,
    /// The brute-force record a success clears.
    pub throttle_key: String,
    /// The password hash that was verified, if one was: the session opens only while it
    /// is still the stored one.
    pub verified_hash: Option<String>,
    /// A new hash of the password, replacing one with outdated parameters.
    pub rehash: Option<String>,
    pub client: ClientContext<'a>,
    pub user_agent: Option<String>,
    pub ip_address: Option<String>,
    pub session_lifetime: Option<time::Duration>,
    /// The login as typed, for the log when the session cannot open.
    pub login: &'a str,
    pub now: OffsetDateTime,
}

impl Services {
    /// Checks a password and opens a session. Unknown accounts, wrong passwords,
    /// non-members and disabled accounts all cost one full hash verification and get
    /// the same answer.
    pub async fn sign_in(&self, request: SignIn<'_>) -> Result<IssuedTokens, ServiceError> {
        let checked = self.check_password(&request).await?;
        // Only now, with the password verified, may the answer reveal that a second factor
        // is needed. A wrong code stays counted on the throttle `check_password` reserved.
        if let Err(refused) = self
            .check_second_factor(&checked.tenant, &checked.account, request.totp.as_deref())
            .await
        {
            return Err(self
                .second_factor_refused(
                    &checked.tenant,
                    &checked.account,
                    refused,
                    request.ip_address.as_deref(),
                )
                .await);
        }
        self.finish_sign_in(checked, request).await
    }

    /// The first half of a sign-in: the tenant, the throttle, the password and the
    /// membership. Every refusal here is the same `invalid_credentials` (or `429`).
    pub(super) async fn check_password(
        &self,
        request: &SignIn<'_>,
    ) -> Result<PasswordChecked, ServiceError> {
        let tenant = self.tenant_by_domain(request.tenant_domain).await?;
        let login_key = request.login.trim().to_lowercase();
        if login_key.chars().count() > MAX_LOGIN_CHARS {
            // No email or username is this long; nothing to look up or throttle.
            self.metrics.sign_in(false);
            return Err(ServiceError::InvalidCredentials);
        }
        let found = self.store.account_by_login(&login_key).await?;
        let throttle_key = throttle_key(found.as_ref().map(|c| &c.account.id), &login_key);
        let now = self.clock.now();
        if let Err(refused) = self.reserve_attempt(&throttle_key, now).await {
            self.metrics.sign_in(false);
            return Err(refused);
        }

        let (account, stored_hash) = match found {
            Some(c) => (Some(c.account), c.password_hash),
            None => (None, None),
        };
        let verification = self
            .hasher
            .verify(request.password.clone(), stored_hash.clone())
            .await?;
        let membership = match &account {
            Some(a) => self.store.membership(&tenant.id, &a.id).await?,
            None => None,
        };
        match (verification, account, membership) {
            (Verification::Match { needs_rehash }, Some(account), Some(membership))
                if !account.disabled =>
            {
                Ok(PasswordChecked {
                    tenant,
                    account,
                    membership,
                    needs_rehash,
                    stored_hash,
                    throttle_key,
                    now,
                })
            }
            // Only members are named in this tenant's log: another tenant's admin must
            // not learn from it whether an address has an account elsewhere.
            (_, account, membership) => {
                let member = account.filter(|_| membership.is_some());
                Err(self
                    .sign_in_failed(
                        &tenant,
                        member.as_ref(),
                        request.login,
                        request.ip_address.as_deref(),
                    )
                    .await)
            }
        }
    }

    /// The second half of a sign-in whose factors all passed: rehash the password if
    /// its parameters are outdated, and open the session.
    pub(super) async fn finish_sign_in(
        &self,
        checked: PasswordChecked,
        request: SignIn<'_>,
    ) -> Result<IssuedTokens, ServiceError> {
        let rehash = if checked.needs_rehash {
            Some(self.hasher.hash(request.password).await?)
        } else {
            None
        };
        self.open_authenticated_session(SessionOpening {
            tenant: checked.tenant,
            account: checked.account,
            membership_role: checked.membership.role,
            throttle_key: checked.throttle_key,
            verified_hash: checked.stored_hash,
            rehash,
            client: request.client,
            user_agent: request.user_agent,
            ip_address: request.ip_address,
            session_lifetime: request.session_lifetime,
            login: request.login,
            now: checked.now,
        })
        .await
    }

    /// Opens a session, with its first refresh token, for an account that proved who it
    /// is, clearing its brute-force record, and issues its tokens.
    pub(super) async fn open_authenticated_session(
        &self,
        opening: SessionOpening<'_>,
    ) -> Result<IssuedTokens, ServiceError> {
        let SessionOpening {
            tenant,
            account,
            membership_role,
            throttle_key,
            verified_hash,
            rehash,
            client,
            user_agent,
            ip_address,
            session_lifetime,
            login,
            now,
        } = opening;
        let (role, granted_roles) = self
            .effective_role_of(&tenant, &account.id, &membership_role)
            .await?;
        let session = Session {
            id: SessionId::generate(),
            account_id: account.id.clone(),
            tenant_id: tenant.id.clone(),
            client_id: client.client_id.to_owned(),
            created_at: now,
            last_seen_at: now,
            expires_at: now + session_lifetime.unwrap_or(self.lifetimes.session_max),
            revoked_at: None,
            user_agent: user_agent
                .as_deref()
                .map(|ua| ua.chars().take(512).collect()),
            ip_address: ip_address.clone(),
        };
        let refresh = generate_opaque_token();
        let event = self.audit_event(
            Some(&tenant.id),
            Some(&account.id),
            actions::SIGN_IN,
            Some(account.id.to_string()),
            AuditOutcome::Success,
            json!({"session": session.id, "ip": ip_address, "rehashed": rehash.is_some()}),
        );
        let refresh_hash = hash_opaque_token(refresh.expose());
        let opened = self
            .store
            .open_session(
                &SignInRecord {
                    session: &session,
                    refresh_hash: &refresh_hash,
                    refresh_expires_at: self.refresh_expiry(&session, now),
                    throttle_key: &throttle_key,
                    verified_hash: verified_hash.as_deref(),
                    rehash: rehash.as_deref(),
                },
                &event,
            )
            .await?;
        if !opened {
            // The password was changed while we checked the old one.
            return Err(self
                .sign_in_failed(&tenant, Some(&account), login, ip_address.as_deref())
                .await);
        }
        self.metrics.sign_in(true);
        let account = Account {
            last_login_at: Some(now),
            ..account
        };
        self.issue(
            TokenContext {
                account,
                tenant,
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

    /// Exchanges a refresh token for new tokens, rotating it.
    pub async fn refresh(
        &self,
        tenant_domain: &str,
        presented: &str,
        client: ClientContext<'_>,
    ) -> Result<IssuedTokens, ServiceError> {
        let tenant = self.tenant_by_domain(tenant_domain).await?;
        let now = self.clock.now();
        let replacement = generate_opaque_token();
        let replacement_hash = hash_opaque_token(replacement.expose());
        // The store caps the replacement's expiry at the session's end.
        let outcome = self
            .store
            .rotate_refresh_token(
                &tenant.id,
                client.client_id,
                &hash_opaque_token(presented),
                &replacement_hash,
                now + self.lifetimes.refresh_idle,
                self.lifetimes.refresh_reuse_grace,
                now,
            )
            .await?;
        let (session, grant, refresh_token) = match outcome {
            RotationOutcome::Rotated(session) | RotationOutcome::ReissuedInGrace(session) => {
                (session, None, replacement)
            }
            // Grants do not rotate: the holder keeps using the same token.
            RotationOutcome::GrantUsed(grant) => (
                grant.session.clone(),
                Some(*grant),
                latchkey_core::secret::SecretString::new(presented.to_owned()),
            ),
            RotationOutcome::Unknown => {
                return Err(ServiceError::InvalidRefreshToken("unknown token"));
            }
            RotationOutcome::Expired => {
                return Err(ServiceError::InvalidRefreshToken("token expired"));
            }
            RotationOutcome::SessionInactive => {
                return Err(ServiceError::InvalidRefreshToken("session not active"));
            }
            RotationOutcome::ReuseDetected(_) => {
                return Err(ServiceError::InvalidRefreshToken(
                    "token was already used; the session has been revoked",
                ));
            }
        };
        let account = self
            .store
            .account_by_id(&session.account_id)
            .await?
            .filter(|a| !a.disabled);
        let membership = self
            .store
            .membership(&tenant.id, &session.account_id)
            .await?;
        let (Some(account), Some(membership)) = (account, membership) else {
            let event = self.audit_event(
                Some(&tenant.id),
                Some(&session.account_id),
                actions::SESSION_REVOKE,
                Some(session.id.to_string()),
                AuditOutcome::Success,
                json!({"reason": "account disabled or removed from tenant"}),
            );
            self.store.revoke_session(&session.id, now, &event).await?;
            return Err(ServiceError::InvalidRefreshToken("session not active"));
        };
        let (role, granted_roles) = self
            .effective_role_of(&tenant, &account.id, &membership.role)
            .await?;
        let role = latchkey_core::grant::restricted_role(
            &role,
            grant.as_ref().and_then(|g| g.permissions.as_deref()),
        );
        self.issue(
            TokenContext {
                account,
                tenant,
                role,
                granted_roles,
                session,
                grant,
            },
            refresh_token,
            client,
            None,
        )
        .await
    }

    /// Revokes the caller's session and every refresh token in it.
    pub async fn sign_out(&self, caller: &Caller) -> Result<(), ServiceError> {
        let event = self.audit_event(
            Some(&caller.tenant.id),
            Some(&caller.account.id),
            actions::SIGN_OUT,
            Some(caller.session_id.to_string()),
            AuditOutcome::Success,
            json!({}),
        );
        self.store
            .revoke_session(&caller.session_id, self.clock.now(), &event)
            .await?;
        Ok(())
    }

    /// Counts an attempt on `key` before any password is checked, or refuses it while the
    /// key must wait.
    pub(super) async fn reserve_attempt(
        &self,
        key: &str,
        now: OffsetDateTime,
    ) -> Result<(), ServiceError> {
        self.reserve_attempt_under(key, &self.lockout, now).await
    }

    /// [`Services::reserve_attempt`] under another policy than the sign-in one.
    pub(super) async fn reserve_attempt_under(
        &self,
        key: &str,
        policy: &latchkey_core::lockout::LockoutPolicy,
        now: OffsetDateTime,
    ) -> Result<(), ServiceError> {
        match self.store.reserve_login_attempt(key, policy, now).await? {
            ThrottleDecision::Allow => Ok(()),
            ThrottleDecision::Wait(wait) => {
                // Round up so a client that waits as told is never refused again.
                let millis = wait.whole_milliseconds().max(1);
                Err(ServiceError::TooManyAttempts {
                    retry_after_seconds: i64::try_from((millis + 999) / 1000).unwrap_or(i64::MAX),
                })
            }
        }
    }

    /// Records a refused sign-in and returns the one answer every refusal gets.
    async fn sign_in_failed(
        &self,
        tenant: &Tenant,
        member: Option<&Account>,
        login: &str,
        ip_address: Option<&str>,
    ) -> ServiceError {
        let event = self.audit_event(
            Some(&tenant.id),
            member.map(|a| &a.id),
            actions::SIGN_IN,
            Some(login.trim().chars().take(MAX_LOGIN_CHARS).collect()),
            AuditOutcome::Failure,
            json!({"reason": "invalid_credentials", "ip": ip_address}),
        );
        self.metrics.sign_in(false);
        match self.store.append_audit(&event).await {
            Ok(()) => ServiceError::InvalidCredentials,
            Err(error) => error.into(),
        }
    }

    /// Records a sign-in refused at the second factor and returns its answer.
    pub(super) async fn second_factor_refused(
        &self,
        tenant: &Tenant,
        account: &Account,
        refused: ServiceError,
        ip_address: Option<&str>,
    ) -> ServiceError {
        self.metrics.sign_in(false);
        if !matches!(
            refused,
            ServiceError::MfaRequired
                | ServiceError::InvalidTotp
                | ServiceError::MfaEnrollmentRequired
        ) {
            return refused;
        }
        let event = self.audit_event(
            Some(&tenant.id),
            Some(&account.id),
            actions::SIGN_IN,
            Some(account.id.to_string()),
            AuditOutcome::Failure,
            json!({"reason": super::mfa::refused_reason(&refused), "ip": ip_address}),
        );
        match self.store.append_audit(&event).await {
            Ok(()) => refused,
            Err(error) => error.into(),
        }
    }

    pub(super) async fn role_of(
        &self,
        tenant: &Tenant,
        name: &latchkey_core::RoleName,
    ) -> Result<Role, ServiceError> {
        self.role_in(&tenant.id, name).await?.ok_or_else(|| {
            ServiceError::Internal(format!("role {name} missing in tenant {}", tenant.domain))
        })
    }

    /// The account's effective role in `tenant` (its membership role `name` with the
    /// permissions of the roles its groups grant) and the names of the granted roles.
    /// One store read for the grants; the roles come from the hot-row cache.
    pub(crate) async fn effective_role_of(
        &self,
        tenant: &Tenant,
        account: &latchkey_core::AccountId,
        name: &latchkey_core::RoleName,
    ) -> Result<(Role, Vec<latchkey_core::RoleName>), ServiceError> {
        let role = self.role_of(tenant, name).await?;
        let granted_names = self.store.granted_roles(&tenant.id, account).await?;
        self.with_granted(tenant, role, granted_names).await
    }

    /// `role` with the permissions of the roles `granted` (names) added.
    pub(crate) async fn with_granted(
        &self,
        tenant: &Tenant,
        role: Role,
        granted: Vec<latchkey_core::RoleName>,
    ) -> Result<(Role, Vec<latchkey_core::RoleName>), ServiceError> {
        if granted.is_empty() {
            return Ok((role, granted));
        }
        let mut roles = Vec::with_capacity(granted.len());
        for name in &granted {
            // A grant names a role of the tenant (foreign key); one deleted meanwhile
            // simply grants nothing.
            if let Some(granted_role) = self.role_in(&tenant.id, name).await? {
                roles.push(granted_role);
            }
        }
        Ok((latchkey_core::group::effective_role(&role, &roles), granted))
    }

    fn refresh_expiry(&self, session: &Session, now: OffsetDateTime) -> OffsetDateTime {
        (now + self.lifetimes.refresh_idle).min(session.expires_at)
    }

    pub(super) async fn issue(
        &self,
        context: TokenContext,
        refresh: latchkey_core::secret::SecretString,
        client: ClientContext<'_>,
        nonce: Option<&str>,
    ) -> Result<IssuedTokens, ServiceError> {
        let now = self.clock.now();
        let lifetime = client.access_lifetime.unwrap_or(self.lifetimes.access);
        let issuer = issuer_for(&self.public_url, context.tenant.domain.as_str());
        let subject = TokenSubject {
            issuer: &issuer,
            client_id: client.client_id,
            tenant: &context.tenant,
            account: &context.account,
            role: &context.role,
            granted_roles: &context.granted_roles,
            session_id: &context.session.id,
            session_started_at: context.session.created_at,
        };
        let mut access = subject.access_claims(now, lifetime, latchkey_core::id::random_id());
        if !client.roles.is_empty() {
            access.resource_access.insert(
                client.client_id.to_owned(),
                latchkey_core::token::RealmAccess {
                    roles: client.roles.to_vec(),
                },
            );
        }
        if let Some(grant) = &context.grant {
            access.grant = Some(grant.session.id.to_string());
            if let Some(permissions) = &grant.permissions {
                access.project_permissions = Some(permissions.clone());
                access.platform_admin = false;
            }
        }
        let mut id = subject.id_claims(now, lifetime);
        id.nonce = nonce.map(str::to_owned);
        let access_token = self.keys.sign(&context.tenant.id, &access).await?;
        let id_token = self.keys.sign(&context.tenant.id, &id).await?;
        Ok(IssuedTokens {
            access_token,
            refresh_token: refresh,
            id_token,
            expires_in: lifetime.whole_seconds(),
            refresh_expires_in: if context.grant.is_some() {
                // A grant's token is not rotated: it lasts as long as the grant.
                (context.session.expires_at - now).whole_seconds()
            } else {
                (self.refresh_expiry(&context.session, now) - now).whole_seconds()
            },
            context,
        })
    }
}
