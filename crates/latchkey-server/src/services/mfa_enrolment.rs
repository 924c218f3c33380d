//! "Enrol only" sign-in, the equivalent of Keycloak's CONFIGURE_TOTP required action: a
//! member of a tenant that requires multi-factor authentication who signs in with the
//! right password but has no active authenticator gets an enrolment token instead of a
//! session. The token is opaque (not a JWT, so no endpoint takes it as an access token),
//! stored hashed, bound to the account and the tenant, and lives ten minutes. It lets
//! the account begin an enrolment and, with the authenticator's first code, confirm it
//! and open its session, which spends the token.
//!
//! The enrolment and confirmation are those of `POST /me/mfa/totp[/confirm]` (see
//! `mfa.rs`); the session is opened like any sign-in's (see `auth.rs`).

use latchkey_core::audit::actions;
use latchkey_core::role::permissions;
use latchkey_core::secret::{SecretString, generate_opaque_token, hash_opaque_token};
use latchkey_core::terms::TermsState;
use latchkey_core::{Account, AuditOutcome, Membership, Tenant};
use serde_json::json;

use super::auth::{PasswordChecked, SessionOpening, account_throttle_key};
use super::{ClientContext, IssuedTokens, ServiceError, Services, SignIn, TotpEnrolment};

/// How long an enrolment token lasts: time to install an authenticator app and scan a
/// code, not long enough to matter if one leaks.
pub const ENROLMENT_TOKEN_LIFETIME: time::Duration = time::Duration::minutes(10);

/// Why a native sign-in or an enrolment with a token did not give tokens.
#[derive(Debug, thiserror::Error)]
pub enum EnrolmentError {
    /// The password was right, the tenant requires multi-factor authentication and the
    /// account has no active authenticator: it may enrol one with this token.
    #[error(
        "this tenant requires multi-factor authentication and the account has none; enrol an authenticator with the `enrolment_token` (valid 10 minutes) at POST /api/v1/tenants/{{tenant}}/sign-in/mfa-enrolment"
    )]
    Required { enrolment_token: SecretString },
    #[error("the enrolment token is unknown, expired, already used or for another tenant")]
    InvalidToken,
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl From<latchkey_store::StoreError> for EnrolmentError {
    fn from(error: latchkey_store::StoreError) -> Self {
        Self::Service(error.into())
    }
}

/// Confirming an enrolment with a token: what opens the session.
pub struct EnrolmentConfirmation<'a> {
    pub tenant_domain: &'a str,
    pub enrolment_token: &'a str,
    /// The authenticator's first code.
    pub code: &'a str,
    pub user_agent: Option<String>,
    pub ip_address: Option<String>,
    pub client: ClientContext<'a>,
    /// How long the session lives before it must be extended, as in [`SignIn`]: the
    /// authorization endpoint opens a short one that the code exchange extends; `None`
    /// is the full session lifetime.
    pub session_lifetime: Option<time::Duration>,
}

/// The account an enrolment token speaks for, still an enabled member of its tenant.
struct Enrolling {
    tenant: Tenant,
    account: Account,
    membership: Membership,
}

impl Services {
    /// The native API's sign-in: [`Services::sign_in_with_terms`], except that a member
    /// of a tenant that requires multi-factor authentication without an active
    /// authenticator is refused with an enrolment token ([`EnrolmentError::Required`]).
    /// The authorization endpoint's sign-in page uses it too; the token endpoint and the
    /// dialect front doors keep the plain refusal.
    pub async fn sign_in_offering_enrolment(
        &self,
        request: SignIn<'_>,
    ) -> Result<(IssuedTokens, TermsState), EnrolmentError> {
        let checked = self.check_password(&request).await?;
        match self
            .check_second_factor(&checked.tenant, &checked.account, request.totp.as_deref())
            .await
        {
            Ok(()) => {}
            Err(ServiceError::MfaEnrollmentRequired) => {
                return Err(self
                    .offer_enrolment(&checked, request.ip_address.as_deref())
                    .await);
            }
            Err(refused) => {
                return Err(self
                    .second_factor_refused(
                        &checked.tenant,
                        &checked.account,
                        refused,
                        request.ip_address.as_deref(),
                    )
                    .await
                    .into());
            }
        }
        let tokens = self.finish_sign_in(checked, request).await?;
        let terms = self
            .terms_state(&tokens.context.tenant.id, &tokens.context.account.id)
            .await?;
        Ok((tokens, terms))
    }

    /// Issues an enrolment token for a sign-in refused for want of an authenticator. The
    /// refusal is audited like any other (`session.sign_in` failure,
    /// `mfa_enrollment_required`), in the transaction that stores the token.
    async fn offer_enrolment(
        &self,
        checked: &PasswordChecked,
        ip_address: Option<&str>,
    ) -> EnrolmentError {
        self.metrics.sign_in(false);
        let token = generate_opaque_token();
        let now = self.clock.now();
        let event = self.audit_event(
            Some(&checked.tenant.id),
            Some(&checked.account.id),
            actions::SIGN_IN,
            Some(checked.account.id.to_string()),
            AuditOutcome::Failure,
            json!({
                "reason": "mfa_enrollment_required",
                "enrolment_token": "issued",
                "ip": ip_address,
            }),
        );
        match self
            .store
            .create_mfa_enrolment_token(
                &hash_opaque_token(token.expose()),
                &checked.account.id,
                &checked.tenant.id,
                now + ENROLMENT_TOKEN_LIFETIME,
                now,
                &event,
            )
            .await
        {
            Ok(()) => EnrolmentError::Required {
                enrolment_token: token,
            },
            // Removed from the tenant meanwhile: as if the password had been wrong.
            Err(latchkey_store::StoreError::NotFound) => ServiceError::InvalidCredentials.into(),
            Err(other) => other.into(),
        }
    }

    /// Begins (or restarts, replacing a pending one) the enrolment of the token's
    /// account, like `POST /me/mfa/totp`.
    pub async fn begin_enrolment_with_token(
        &self,
        tenant_domain: &str,
        enrolment_token: &str,
    ) -> Result<TotpEnrolment, EnrolmentError> {
        let enrolling = self.enrolling(tenant_domain, enrolment_token).await?;
        Ok(self
            .begin_totp_enrolment(&enrolling.tenant.id, &enrolling.account)
            .await?)
    }

    /// Confirms the token's pending enrolment with its first code, like
    /// `POST /me/mfa/totp/confirm` (wrong codes count on the account's sign-in throttle),
    /// spends the account's enrolment tokens and opens its session.
    pub async fn confirm_enrolment_with_token(
        &self,
        confirmation: EnrolmentConfirmation<'_>,
    ) -> Result<(IssuedTokens, TermsState), EnrolmentError> {
        let Enrolling {
            tenant,
            account,
            membership,
        } = self
            .enrolling(confirmation.tenant_domain, confirmation.enrolment_token)
            .await?;
        // The confirmation spends the account's enrolment tokens in its own transaction,
        // before any session exists: with an active authenticator the account signs in
        // with codes from now on.
        self.confirm_pending_totp(&tenant.id, &account, confirmation.code)
            .await?;
        let login = account.email.as_str().to_owned();
        let tokens = self
            .open_authenticated_session(SessionOpening {
                tenant,
                account,
                membership_role: membership.role,
                throttle_key: account_throttle_key(&membership.account_id),
                // The password was verified when the token was issued.
                verified_hash: None,
                rehash: None,
                client: confirmation.client,
                user_agent: confirmation.user_agent,
                ip_address: confirmation.ip_address,
                session_lifetime: confirmation.session_lifetime,
                login: &login,
                now: self.clock.now(),
            })
            .await?;
        let terms = self
            .terms_state(&tokens.context.tenant.id, &tokens.context.account.id)
            .await?;
        Ok((tokens, terms))
    }

    /// The account an unexpired enrolment token of this tenant names, if it is still an
    /// enabled member whose role lets it change its own profile (what enrolling needs
    /// through `/me` too).
    async fn enrolling(
        &self,
        tenant_domain: &str,
        enrolment_token: &str,
    ) -> Result<Enrolling, EnrolmentError> {
        let tenant = self.tenant_by_domain(tenant_domain).await?;
        let found = self
            .store
            .mfa_enrolment_token(&hash_opaque_token(enrolment_token), self.clock.now())
            .await?;
        let Some((account_id, _)) = found.filter(|(_, of)| *of == tenant.id) else {
            return Err(EnrolmentError::InvalidToken);
        };
        // Disabled or removed from the tenant since: the token is worth nothing.
        let account = self
            .store
            .account_by_id(&account_id)
            .await?
            .filter(|a| !a.disabled)
            .ok_or(EnrolmentError::InvalidToken)?;
        let membership = self
            .store
            .membership(&tenant.id, &account.id)
            .await?
            .ok_or(EnrolmentError::InvalidToken)?;
        let (role, _) = self
            .effective_role_of(&tenant, &account.id, &membership.role)
            .await?;
        if !account.platform_admin && !role.grants(permissions::PROFILE_WRITE) {
            return Err(
                ServiceError::Forbidden("your role in this tenant does not allow this").into(),
            );
        }
        Ok(Enrolling {
            tenant,
            account,
            membership,
        })
    }
}
