//! First start: an empty store gets the tenant `default` and a platform administrator.

use latchkey_core::audit::actions;
use latchkey_core::secret::{SecretString, generate_opaque_token};
use latchkey_core::{
    AccountId, AuditOutcome, Email, NewAccount, NewTenant, PasswordPolicy, RoleName, TenantDomain,
    TenantId, TenantMetadata,
};
use latchkey_store::{ConflictOn, StoreError};
use serde_json::json;

use crate::StartupError;
use crate::config::Config;
use crate::services::{ServiceError, Services};

pub const DEFAULT_TENANT: &str = "default";

/// What the first start did.
#[derive(Debug, Default)]
pub enum BootstrapOutcome {
    /// The store already had accounts; nothing was touched.
    #[default]
    AlreadyInitialised,
    /// The administrator was created with the configured password.
    CreatedWithConfiguredPassword { email: String },
    /// The administrator was created with this generated password, shown once.
    CreatedWithGeneratedPassword {
        email: String,
        password: SecretString,
    },
}

fn failed(error: impl std::fmt::Display) -> StartupError {
    StartupError::Bootstrap(error.to_string())
}

pub async fn bootstrap(
    services: &Services,
    config: &Config,
) -> Result<BootstrapOutcome, StartupError> {
    if !services.store.has_no_accounts().await? {
        return Ok(BootstrapOutcome::AlreadyInitialised);
    }
    let tenant = match services.store.tenant_by_domain(DEFAULT_TENANT).await? {
        Some(tenant) => tenant,
        None => {
            let id = TenantId::generate();
            let event = services.audit_event(
                Some(&id),
                None,
                actions::TENANT_CREATE,
                Some(DEFAULT_TENANT.to_owned()),
                AuditOutcome::Success,
                json!({"bootstrap": true}),
            );
            let new = NewTenant {
                domain: TenantDomain::parse(DEFAULT_TENANT).map_err(failed)?,
                title: "Default".to_owned(),
                metadata: TenantMetadata::default(),
                password_policy: PasswordPolicy::default(),
            };
            match services.create_tenant_unchecked(&id, new, &event).await {
                Ok(tenant) => tenant,
                // Another node bootstrapping at the same moment won the race.
                Err(ServiceError::Conflict(_)) => services
                    .store
                    .tenant_by_domain(DEFAULT_TENANT)
                    .await?
                    .ok_or_else(|| failed("default tenant vanished during bootstrap"))?,
                Err(e) => return Err(failed(e)),
            }
        }
    };

    let email = Email::parse(&config.admin_email).map_err(failed)?;
    let (password, generated) = match &config.admin_password {
        Some(password) => (password.clone(), false),
        None => (generate_opaque_token(), true),
    };
    let hash = services
        .checked_hash(&tenant, password.expose(), &email, None)
        .await
        .map_err(|e| match e {
            ServiceError::WeakPassword(violations) => StartupError::Bootstrap(format!(
                "LATCHKEY_ADMIN_PASSWORD is refused by the password policy: {}",
                violations
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            )),
            other => failed(other),
        })?;
    let id = AccountId::generate();
    let event = services.audit_event(
        Some(&tenant.id),
        None,
        actions::ACCOUNT_CREATE,
        Some(id.to_string()),
        AuditOutcome::Success,
        json!({"bootstrap": true, "email": email.as_str(), "platform_admin": true}),
    );
    let account = NewAccount {
        email: email.clone(),
        username: None,
        display_name: Some("Administrator".to_owned()),
        custom_data: serde_json::Map::new(),
        platform_admin: true,
        password_hash: Some(hash),
    };
    let result = services
        .store
        .create_account(
            &id,
            &account,
            Some((&tenant.id, &RoleName::admin())),
            services.clock.now(),
            &event,
        )
        .await;
    match result {
        Ok(_) => {}
        // Never overwrite an existing administrator, even one created concurrently.
        Err(StoreError::Conflict(ConflictOn::Email)) => {
            return Ok(BootstrapOutcome::AlreadyInitialised);
        }
        Err(e) => return Err(e.into()),
    }
    let email = email.as_str().to_owned();
    Ok(if generated {
        BootstrapOutcome::CreatedWithGeneratedPassword { email, password }
    } else {
        BootstrapOutcome::CreatedWithConfiguredPassword { email }
    })
}
