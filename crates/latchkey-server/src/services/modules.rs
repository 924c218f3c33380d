//! Applications as "modules" of external products (the Cloudspot dialect): an
//! application's client id names the module, and a member's permissions inside it are
//! the `{client_id}:{slug}` permissions of its effective role (see
//! `latchkey_core::role::application_slugs`), per tenant ("company") in which the
//! account is a member and that has an application with that client id.

use latchkey_core::id::is_id_shaped;
use latchkey_core::role::application_slugs;
use latchkey_core::{AccountId, ClientId, Tenant, TenantId};

use super::auth::MAX_LOGIN_CHARS;
use super::{ClientContext, IssuedTokens, ServiceError, Services, SignIn};

/// A member's permission slugs for one module in one tenant.
pub struct CompanyPermissions {
    pub tenant: Tenant,
    pub slugs: Vec<String>,
}

/// A sign-in into the account's most recently used tenant that has the module.
pub struct ModuleSignIn<'a> {
    pub module: &'a ClientId,
    pub login: &'a str,
    pub password: String,
    pub user_agent: Option<String>,
    pub ip_address: Option<String>,
    /// The client the session is opened for (`azp`); the access token lives as long as
    /// the module's application in the chosen tenant says (`access_token_lifetime`),
    /// else the server's default.
    pub client_id: &'a str,
}

impl Services {
    /// The module named by `client_id`: an application's client id in some tenant, else
    /// `InvalidClient`.
    pub async fn module(&self, client_id: &str) -> Result<ClientId, ServiceError> {
        let client_id =
            ClientId::parse(client_id.trim()).map_err(|_| ServiceError::InvalidClient)?;
        if self.store.application_exists_anywhere(&client_id).await? {
            Ok(client_id)
        } else {
            Err(ServiceError::InvalidClient)
        }
    }

    /// The account's permission slugs for `module`, one entry per tenant it is a member
    /// of that has the module, ordered by tenant id.
    pub async fn module_permissions(
        &self,
        account: &AccountId,
        module: &ClientId,
    ) -> Result<Vec<CompanyPermissions>, ServiceError> {
        let memberships = self
            .store
            .memberships_with_application(account, module)
            .await?;
        let mut companies = Vec::with_capacity(memberships.len());
        for membership in memberships {
            let Some(tenant) = self.tenant_by_id(&membership.tenant_id).await? else {
                continue;
            };
            // Group-granted roles count, as everywhere else.
            let (role, _) = self
                .effective_role_of(&tenant, account, &membership.role)
                .await?;
            companies.push(CompanyPermissions {
                slugs: application_slugs(&role.permissions, module.as_str()),
                tenant,
            });
        }
        Ok(companies)
    }

    /// The account's slugs for `module` in the tenant with id `company_id`; `NotFound`
    /// unless it is a member there and the tenant has the module.
    pub async fn module_company_permissions(
        &self,
        account: &AccountId,
        module: &ClientId,
        company_id: &str,
    ) -> Result<Vec<String>, ServiceError> {
        if !is_id_shaped(company_id) {
            return Err(ServiceError::NotFound("company"));
        }
        let company = TenantId::from_string(company_id.to_owned());
        self.module_permissions(account, module)
            .await?
            .into_iter()
            .find(|c| c.tenant.id == company)
            .map(|c| c.slugs)
            .ok_or(ServiceError::NotFound("company"))
    }

    /// Signs in to the account's most recently used tenant among those that have
    /// `module` (see `Store::most_recently_used_tenant_with_application`). The client
    /// cannot send a second factor: accounts with MFA get `MfaRequired`. A login that
    /// leads to no such tenant gets the answer of a wrong password, at the same cost.
    pub async fn sign_in_for_module(
        &self,
        request: ModuleSignIn<'_>,
    ) -> Result<IssuedTokens, ServiceError> {
        let tenant = self
            .module_home_tenant(request.login, request.module)
            .await?;
        let Some(tenant) = tenant else {
            return Err(self
                .refuse_homeless_sign_in(request.login, request.password)
                .await);
        };
        let access_lifetime = self
            .store
            .application(&tenant.id, request.module)
            .await?
            .and_then(|application| application.access_token_lifetime)
            .map(time::Duration::seconds);
        self.sign_in(SignIn {
            tenant_domain: tenant.domain.as_str(),
            login: request.login,
            password: request.password,
            totp: None,
            user_agent: request.user_agent,
            ip_address: request.ip_address,
            client: ClientContext {
                client_id: request.client_id,
                access_lifetime,
                roles: &[],
            },
            session_lifetime: None,
        })
        .await
    }

    async fn module_home_tenant(
        &self,
        login: &str,
        module: &ClientId,
    ) -> Result<Option<Tenant>, ServiceError> {
        let login_key = login.trim().to_lowercase();
        if login_key.chars().count() > MAX_LOGIN_CHARS {
            return Ok(None);
        }
        let Some(found) = self.store.account_by_login(&login_key).await? else {
            return Ok(None);
        };
        let Some(tenant_id) = self
            .store
            .most_recently_used_tenant_with_application(&found.account.id, module)
            .await?
        else {
            return Ok(None);
        };
        self.tenant_by_id(&tenant_id).await
    }
}
