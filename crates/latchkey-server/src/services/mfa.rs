//! Multi-factor authentication with TOTP (RFC 6238) and recovery codes: enrolment,
//! confirmation, the second-factor check of every sign-in, disabling and administrators'
//! resets. The arithmetic is in `latchkey_core::totp`; the once-only rule for time steps
//! and recovery codes is enforced by the store, so it holds across nodes.

use latchkey_core::audit::actions;
use latchkey_core::role::permissions;
use latchkey_core::secret::SecretString;
use latchkey_core::totp::{self, TotpSecret};
use latchkey_core::{Account, AccountId, AuditOutcome, Tenant};
use latchkey_store::{AccountMfa, ConflictOn, StoreError};
use serde_json::json;

use super::{Caller, ServiceError, Services};
use crate::password::Verification;

/// A new authenticator as the account sees it once.
pub struct TotpEnrolment {
    pub secret_base32: SecretString,
    pub otpauth_uri: SecretString,
    /// The otpauth URI as an SVG QR code.
    pub qr_svg: String,
    pub recovery_codes: Vec<SecretString>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TotpState {
    None,
    /// Enrolled but not yet confirmed with a first code.
    Pending,
    Active,
}

impl TotpState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Pending => "pending",
            Self::Active => "active",
        }
    }
}

pub struct MfaStatus {
    pub totp: TotpState,
    pub recovery_codes_remaining: usize,
    pub required_by_tenant: bool,
}

/// Binds a sealed secret to its account: a sealed value copied to another row does not
/// open.
fn seal_context(account: &AccountId) -> Vec<u8> {
    format!("totp:{account}").into_bytes()
}

/// Renders `text` as an SVG QR code.
fn qr_svg(text: &str) -> Result<String, ServiceError> {
    let code = qrcode::QrCode::new(text.as_bytes())
        .map_err(|e| ServiceError::Internal(format!("QR code: {e}")))?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .build())
}

impl Services {
    /// Starts an enrolment for the caller: a fresh secret and recovery codes, stored
    /// sealed and hashed. A pending enrolment is replaced; an active one must be disabled
    /// first.
    pub async fn enrol_totp(&self, caller: &Caller) -> Result<TotpEnrolment, ServiceError> {
        caller.require(&caller.tenant.id, permissions::PROFILE_WRITE)?;
        self.begin_totp_enrolment(&caller.tenant.id, &caller.account)
            .await
    }

    /// [`Services::enrol_totp`] for `account`, seen through `tenant` (the audit log's),
    /// once the caller is known to be allowed.
    pub(super) async fn begin_totp_enrolment(
        &self,
        tenant: &latchkey_core::TenantId,
        account: &Account,
    ) -> Result<TotpEnrolment, ServiceError> {
        let secret = TotpSecret::generate();
        let recovery_codes = totp::generate_recovery_codes();
        let hashes: Vec<String> = recovery_codes
            .iter()
            .map(|code| totp::hash_recovery_code(code.expose()))
            .collect();
        let sealed = self
            .sealer
            .seal(secret.as_bytes(), &seal_context(&account.id));
        let event = self.audit_event(
            Some(tenant),
            Some(&account.id),
            actions::MFA_ENROL,
            Some(account.id.to_string()),
            AuditOutcome::Success,
            json!({"method": "totp"}),
        );
        match self
            .store
            .begin_mfa_enrolment(&account.id, &sealed, &hashes, self.clock.now(), &event)
            .await
        {
            Ok(()) => {}
            Err(StoreError::Conflict(ConflictOn::Other)) => {
                return Err(ServiceError::Conflict(
                    "multi-factor authentication is already active; disable it first",
                ));
            }
            Err(other) => return Err(other.into()),
        }
        let otpauth_uri = totp::otpauth_uri(&secret, &self.totp_issuer(), account.email.as_str());
        Ok(TotpEnrolment {
            qr_svg: qr_svg(otpauth_uri.expose())?,
            secret_base32: secret.to_base32(),
            otpauth_uri,
            recovery_codes,
        })
    }

    /// Activates the caller's pending authenticator with its first valid code; that
    /// code's time step counts as used.
    pub async fn confirm_totp(&self, caller: &Caller, code: &str) -> Result<(), ServiceError> {
        caller.require(&caller.tenant.id, permissions::PROFILE_WRITE)?;
        self.confirm_pending_totp(&caller.tenant.id, &caller.account, code)
            .await
    }

    /// [`Services::confirm_totp`] for `account`, seen through `tenant` (the audit log's),
    /// once the caller is known to be allowed.
    pub(super) async fn confirm_pending_totp(
        &self,
        tenant: &latchkey_core::TenantId,
        account: &Account,
        code: &str,
    ) -> Result<(), ServiceError> {
        let pending = self
            .store
            .account_mfa(&account.id)
            .await?
            .ok_or(ServiceError::NotFound("multi-factor enrolment"))?;
        if pending.is_active() {
            return Err(ServiceError::Conflict(
                "multi-factor authentication is already active",
            ));
        }
        // Confirmation codes are guesses like sign-in codes: they count on the account's
        // sign-in counter, so a stolen session (or enrolment token) cannot brute-force
        // the 10^6 codes of a secret it planted. The next successful sign-in resets the
        // counter.
        let throttle_key = super::auth::account_throttle_key(&account.id);
        self.reserve_attempt(&throttle_key, self.clock.now())
            .await?;
        let secret = self.open_secret(&pending)?;
        let verified = totp::verify_code(&secret, code, self.clock.now())
            .and_then(|step| i64::try_from(step).ok());
        let Some(step) = verified else {
            let event = self.audit_event(
                Some(tenant),
                Some(&account.id),
                actions::MFA_CONFIRM,
                Some(account.id.to_string()),
                AuditOutcome::Failure,
                json!({"reason": "invalid_totp"}),
            );
            self.store.append_audit(&event).await?;
            return Err(ServiceError::InvalidTotp);
        };
        let event = self.audit_event(
            Some(tenant),
            Some(&account.id),
            actions::MFA_CONFIRM,
            Some(account.id.to_string()),
            AuditOutcome::Success,
            json!({"method": "totp"}),
        );
        if !self
            .store
            .confirm_mfa_enrolment(
                &account.id,
                step,
                self.clock.now(),
                Some(&throttle_key),
                &event,
            )
            .await?
        {
            // Confirmed or disabled by a concurrent request.
            return Err(ServiceError::Conflict(
                "the enrolment changed meanwhile; check the status",
            ));
        }
        Ok(())
    }

    pub async fn mfa_status(&self, caller: &Caller) -> Result<MfaStatus, ServiceError> {
        caller.require(&caller.tenant.id, permissions::PROFILE_READ)?;
        let mfa = self.store.account_mfa(&caller.account.id).await?;
        let totp = match &mfa {
            None => TotpState::None,
            Some(m) if m.is_active() => TotpState::Active,
            Some(_) => TotpState::Pending,
        };
        Ok(MfaStatus {
            totp,
            recovery_codes_remaining: mfa.map_or(0, |m| m.unused_recovery_codes.len()),
            required_by_tenant: caller.tenant.require_mfa,
        })
    }

    /// The caller turns its authenticator off, proving both factors. Guesses are
    /// throttled on the account's sign-in counter.
    pub async fn disable_totp(
        &self,
        caller: &Caller,
        password: String,
        code: &str,
    ) -> Result<(), ServiceError> {
        caller.require(&caller.tenant.id, permissions::PROFILE_WRITE)?;
        let throttle_key = super::auth::account_throttle_key(&caller.account.id);
        self.reserve_attempt(&throttle_key, self.clock.now())
            .await?;
        let stored = self.store.password_hash(&caller.account.id).await?;
        let password_ok = matches!(
            self.hasher.verify(password, stored).await?,
            Verification::Match { .. }
        );
        let outcome = if !password_ok {
            Err(ServiceError::InvalidCredentials)
        } else {
            match self.store.account_mfa(&caller.account.id).await? {
                Some(mfa) if mfa.is_active() => {
                    self.verify_second_factor(&caller.tenant, &caller.account, &mfa, code)
                        .await
                }
                // A pending enrolment needs no code to be dropped.
                Some(_) => Ok(()),
                None => Err(ServiceError::NotFound("multi-factor authentication")),
            }
        };
        if let Err(refused) = outcome {
            if matches!(
                refused,
                ServiceError::InvalidCredentials | ServiceError::InvalidTotp
            ) {
                let event = self.audit_event(
                    Some(&caller.tenant.id),
                    Some(&caller.account.id),
                    actions::MFA_DISABLE,
                    Some(caller.account.id.to_string()),
                    AuditOutcome::Failure,
                    json!({"reason": refused_reason(&refused)}),
                );
                self.store.append_audit(&event).await?;
            }
            return Err(refused);
        }
        let event = self.audit_event(
            Some(&caller.tenant.id),
            Some(&caller.account.id),
            actions::MFA_DISABLE,
            Some(caller.account.id.to_string()),
            AuditOutcome::Success,
            json!({}),
        );
        self.store
            .remove_mfa(&caller.account.id, Some(&throttle_key), &event)
            .await?;
        Ok(())
    }

    /// An administrator removes a member's authenticator (a lost device); the member
    /// signs in with the password alone until enrolling again. Tenant administrators may
    /// do so only for accounts that belong to their tenant alone, as with passwords.
    pub async fn reset_member_mfa(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        id: &str,
    ) -> Result<(), ServiceError> {
        caller.require(&tenant.id, permissions::USERS_WRITE)?;
        let member = self.find_member(tenant, id).await?;
        self.require_authority_over(caller, &member).await?;
        let event = self.audit_event(
            Some(&tenant.id),
            Some(&caller.account.id),
            actions::MFA_RESET,
            Some(member.account.id.to_string()),
            AuditOutcome::Success,
            json!({"email": member.account.email.as_str()}),
        );
        if self
            .store
            .remove_mfa(&member.account.id, None, &event)
            .await?
        {
            Ok(())
        } else {
            Err(ServiceError::NotFound("multi-factor authentication"))
        }
    }

    /// The second-factor step of a sign-in, run only after the password was verified.
    /// Accounts without an active authenticator pass, unless the tenant requires one.
    pub(super) async fn check_second_factor(
        &self,
        tenant: &Tenant,
        account: &Account,
        offered: Option<&str>,
    ) -> Result<(), ServiceError> {
        let active = self
            .store
            .account_mfa(&account.id)
            .await?
            .filter(AccountMfa::is_active);
        let Some(mfa) = active else {
            return if tenant.require_mfa {
                Err(ServiceError::MfaEnrollmentRequired)
            } else {
                Ok(())
            };
        };
        match offered.map(str::trim).filter(|code| !code.is_empty()) {
            None => Err(ServiceError::MfaRequired),
            Some(code) => self.verify_second_factor(tenant, account, &mfa, code).await,
        }
    }

    /// Accepts a TOTP code whose time step is later than the last one used, or an unspent
    /// recovery code (spent by this call).
    async fn verify_second_factor(
        &self,
        tenant: &Tenant,
        account: &Account,
        mfa: &AccountMfa,
        code: &str,
    ) -> Result<(), ServiceError> {
        if totp::is_code_shaped(code) {
            let secret = self.open_secret(mfa)?;
            let step = totp::verify_code(&secret, code, self.clock.now())
                .and_then(|step| i64::try_from(step).ok())
                .ok_or(ServiceError::InvalidTotp)?;
            return if self.store.accept_totp_step(&account.id, step).await? {
                Ok(())
            } else {
                // Replayed, or older than a code already used.
                Err(ServiceError::InvalidTotp)
            };
        }
        let hash = totp::find_recovery_code(code, &mfa.unused_recovery_codes)
            .ok_or(ServiceError::InvalidTotp)?;
        let event = self.audit_event(
            Some(&tenant.id),
            Some(&account.id),
            actions::MFA_RECOVERY_CODE_USE,
            Some(account.id.to_string()),
            AuditOutcome::Success,
            json!({"remaining": mfa.unused_recovery_codes.len().saturating_sub(1)}),
        );
        if self
            .store
            .use_recovery_code(&account.id, hash, self.clock.now(), &event)
            .await?
        {
            Ok(())
        } else {
            // Spent by a concurrent request.
            Err(ServiceError::InvalidTotp)
        }
    }

    fn open_secret(&self, mfa: &AccountMfa) -> Result<TotpSecret, ServiceError> {
        let bytes = self
            .sealer
            .open(&mfa.sealed_secret, &seal_context(&mfa.account_id))
            .map_err(|e| {
                ServiceError::Internal(format!("TOTP secret of {}: {e}", mfa.account_id))
            })?;
        TotpSecret::from_bytes(bytes)
            .map_err(|e| ServiceError::Internal(format!("TOTP secret of {}: {e}", mfa.account_id)))
    }

    /// The issuer authenticator apps list the entry under: the product and this
    /// server's host, so two deployments are told apart.
    fn totp_issuer(&self) -> String {
        let host = self
            .public_url
            .split("://")
            .nth(1)
            .unwrap_or(&self.public_url)
            .split('/')
            .next()
            .unwrap_or_default();
        if host.is_empty() {
            "Latchkey".to_owned()
        } else {
            format!("Latchkey ({host})")
        }
    }
}

/// The reason recorded in the audit log for a refused second factor.
pub(super) fn refused_reason(error: &ServiceError) -> &'static str {
    match error {
        ServiceError::InvalidCredentials => "invalid_credentials",
        ServiceError::MfaRequired => "mfa_required",
        ServiceError::InvalidTotp => "invalid_totp",
        ServiceError::MfaEnrollmentRequired => "mfa_enrollment_required",
        _ => "other",
    }
}

impl Services {
    /// Those of `accounts` (members the caller was already allowed to read) that sign in
    /// with a second factor; views such as Keycloak's user representation report it.
    pub async fn with_active_mfa(
        &self,
        accounts: &[latchkey_core::AccountId],
    ) -> Result<std::collections::HashSet<latchkey_core::AccountId>, ServiceError> {
        Ok(self.store.accounts_with_active_mfa(accounts).await?)
    }
}
