//! Sign-in as front doors that show more than tokens need it: with the account's terms
//! of use state and how it uses a second factor, and (for dialects whose clients name no
//! tenant) into the account's home tenant.

use latchkey_core::TermsState;
use latchkey_core::id::is_id_shaped;
use latchkey_core::{TenantId, terms};

use super::auth::{MAX_LOGIN_CHARS, throttle_key};
use super::{ClientContext, IssuedTokens, ServiceError, Services, SignIn};

/// How the signed-in account uses a second factor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecondFactorUse {
    /// No active authenticator, and the tenant does not require one.
    Off,
    /// The account has an active authenticator; the tenant does not require one.
    On,
    /// The tenant requires a second factor of every member.
    RequiredByTenant,
}

/// A successful sign-in with what front doors show beside the tokens.
pub struct SignedIn {
    pub tokens: IssuedTokens,
    pub terms: TermsState,
    pub second_factor: SecondFactorUse,
}

/// A sign-in that names no tenant: it goes to the account's home tenant.
pub struct HomeSignIn<'a> {
    /// A tenant the caller picks, by domain or id, among the account's memberships.
    pub customer: Option<&'a str>,
    pub login: &'a str,
    pub password: String,
    pub totp: Option<String>,
    pub user_agent: Option<String>,
    pub ip_address: Option<String>,
    pub client: ClientContext<'a>,
}

impl Services {
    /// [`Services::sign_in`], then the account's terms state in the tenant (the native
    /// sign-in response carries it).
    pub async fn sign_in_with_terms(
        &self,
        request: SignIn<'_>,
    ) -> Result<(IssuedTokens, TermsState), ServiceError> {
        let tokens = self.sign_in(request).await?;
        let context = &tokens.context;
        let terms = self
            .terms_state(&context.tenant.id, &context.account.id)
            .await?;
        Ok((tokens, terms))
    }

    /// [`Services::sign_in_with_terms`], and how the account uses a second factor.
    async fn sign_in_with_profile(&self, request: SignIn<'_>) -> Result<SignedIn, ServiceError> {
        let (tokens, terms) = self.sign_in_with_terms(request).await?;
        let context = &tokens.context;
        let second_factor = if context.tenant.require_mfa {
            SecondFactorUse::RequiredByTenant
        } else if self
            .store
            .account_mfa(&context.account.id)
            .await?
            .is_some_and(|mfa| mfa.is_active())
        {
            SecondFactorUse::On
        } else {
            SecondFactorUse::Off
        };
        Ok(SignedIn {
            tokens,
            terms,
            second_factor,
        })
    }

    /// Signs in to the tenant `customer` names (domain or id) or, without one, to the
    /// account's most recently used tenant: the tenant of its newest session, else the
    /// tenant it joined first (see `Store::most_recently_used_tenant`). An unknown login,
    /// or an account that is a member nowhere, costs a password verification and gets
    /// the answer of a wrong password, counted on the same throttle as a wrong password.
    pub async fn sign_in_to_home_tenant(
        &self,
        request: HomeSignIn<'_>,
    ) -> Result<SignedIn, ServiceError> {
        let domain = match request.customer.map(str::trim).filter(|c| !c.is_empty()) {
            Some(named) => Some(self.named_tenant_domain(named).await?),
            None => self.home_tenant_domain(request.login).await?,
        };
        let Some(domain) = domain else {
            return Err(self
                .refuse_homeless_sign_in(request.login, request.password)
                .await);
        };
        self.sign_in_with_profile(SignIn {
            tenant_domain: &domain,
            login: request.login,
            password: request.password,
            totp: request.totp,
            user_agent: request.user_agent,
            ip_address: request.ip_address,
            client: request.client,
            session_lifetime: None,
        })
        .await
    }

    async fn named_tenant_domain(&self, named: &str) -> Result<String, ServiceError> {
        if is_id_shaped(named)
            && let Some(tenant) = self
                .tenant_by_id(&TenantId::from_string(named.to_owned()))
                .await?
        {
            return Ok(tenant.domain.to_string());
        }
        Ok(self.tenant_by_domain(named).await?.domain.to_string())
    }

    async fn home_tenant_domain(&self, login: &str) -> Result<Option<String>, ServiceError> {
        let login_key = login.trim().to_lowercase();
        if login_key.chars().count() > MAX_LOGIN_CHARS {
            return Ok(None);
        }
        let Some(found) = self.store.account_by_login(&login_key).await? else {
            return Ok(None);
        };
        let Some(tenant_id) = self
            .store
            .most_recently_used_tenant(&found.account.id)
            .await?
        else {
            return Ok(None);
        };
        Ok(self
            .tenant_by_id(&tenant_id)
            .await?
            .map(|tenant| tenant.domain.to_string()))
    }

    /// The refusal of a login that leads to no tenant, at the cost of a real one.
    pub(super) async fn refuse_homeless_sign_in(
        &self,
        login: &str,
        password: String,
    ) -> ServiceError {
        let login_key = login.trim().to_lowercase();
        let account = match self.store.account_by_login(&login_key).await {
            Ok(found) => found.map(|c| c.account.id),
            Err(error) => return error.into(),
        };
        let now = self.clock.now();
        self.metrics.sign_in(false);
        if login_key.chars().count() <= MAX_LOGIN_CHARS
            && let Err(refused) = self
                .reserve_attempt(&throttle_key(account.as_ref(), &login_key), now)
                .await
        {
            return refused;
        }
        // Verified against the dummy hash: as slow as a real account's check.
        match self.hasher.verify(password, None).await {
            Ok(_) => ServiceError::InvalidCredentials,
            Err(error) => error.into(),
        }
    }
}

/// Re-exported so front doors need not reach into the core for the status names.
pub use terms::TermsStatus;
