//! A tenant's applications (OAuth clients) and client authentication.

use latchkey_core::application::{self, ApplicationError, ClientId, GrantType};
use latchkey_core::audit::actions;
use latchkey_core::role::permissions;
use latchkey_core::secret::{
    SecretString, constant_time_eq, generate_opaque_token, hash_opaque_token,
};
use latchkey_core::{Application, AuditOutcome, Tenant};
use latchkey_store::{ConflictOn, StoreError};
use serde_json::json;

use super::{Caller, ServiceError, Services};

/// A new application as an administrator describes it.
pub struct ApplicationSpec {
    pub client_id: String,
    pub public: bool,
    pub grant_types: Option<Vec<String>>,
    pub redirect_uris: Vec<String>,
    pub roles: Vec<String>,
    pub access_token_lifetime: Option<i64>,
}

fn invalid(error: ApplicationError) -> ServiceError {
    ServiceError::Validation(error.to_string())
}

fn parse_client_id(text: &str) -> Result<ClientId, ServiceError> {
    ClientId::parse(text).map_err(invalid)
}

impl Services {
    pub async fn list_applications(
        &self,
        caller: &Caller,
        tenant: &Tenant,
    ) -> Result<Vec<Application>, ServiceError> {
        caller.require(&tenant.id, permissions::APPLICATIONS_READ)?;
        Ok(self.store.list_applications(&tenant.id).await?)
    }

    pub async fn get_application(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        client_id: &str,
    ) -> Result<Application, ServiceError> {
        caller.require(&tenant.id, permissions::APPLICATIONS_READ)?;
        self.find_application(tenant, client_id).await
    }

    /// Registers an application; a confidential one's secret is returned once.
    pub async fn create_application(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        spec: ApplicationSpec,
    ) -> Result<(Application, Option<SecretString>), ServiceError> {
        caller.require(&tenant.id, permissions::APPLICATIONS_WRITE)?;
        let client_id = parse_client_id(&spec.client_id)?;
        if application::is_reserved_client_id(client_id.as_str()) {
            return Err(ServiceError::Conflict(
                "this client_id is reserved for Latchkey's own clients",
            ));
        }
        let grant_types = match spec.grant_types {
            Some(names) => {
                let mut grants = Vec::new();
                for name in names {
                    let grant = GrantType::parse(&name).map_err(invalid)?;
                    if !grants.contains(&grant) {
                        grants.push(grant);
                    }
                }
                grants
            }
            None if spec.public => vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            None => vec![
                GrantType::AuthorizationCode,
                GrantType::RefreshToken,
                GrantType::ClientCredentials,
            ],
        };
        let redirect_uris = spec
            .redirect_uris
            .iter()
            .map(|uri| application::validate_redirect_uri(uri))
            .collect::<Result<Vec<_>, _>>()
            .map_err(invalid)?;
        application::validate_settings(spec.public, &grant_types, spec.access_token_lifetime)
            .map_err(invalid)?;
        for role in &spec.roles {
            latchkey_core::RoleName::parse(role)
                .map_err(|e| ServiceError::Validation(format!("roles: {e}")))?;
        }
        let secret = (!spec.public).then(generate_opaque_token);
        let application = Application {
            tenant_id: tenant.id.clone(),
            client_id,
            public: spec.public,
            secret_hash: secret.as_ref().map(|s| hash_opaque_token(s.expose())),
            grant_types,
            redirect_uris,
            roles: spec.roles,
            access_token_lifetime: spec.access_token_lifetime,
            builtin: false,
            created_at: self.clock.now(),
        };
        let event = self.audit_event(
            Some(&tenant.id),
            Some(&caller.account.id),
            actions::APPLICATION_CREATE,
            Some(application.client_id.to_string()),
            AuditOutcome::Success,
            json!({
                "public": application.public,
                "grant_types": application.grant_types.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
            }),
        );
        match self.store.create_application(&application, &event).await {
            Ok(()) => Ok((application, secret)),
            Err(StoreError::Conflict(ConflictOn::Other)) => Err(ServiceError::Conflict(
                "an application with this client_id already exists in the tenant",
            )),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn delete_application(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        client_id: &str,
    ) -> Result<(), ServiceError> {
        caller.require(&tenant.id, permissions::APPLICATIONS_WRITE)?;
        let application = self.find_application(tenant, client_id).await?;
        if application.builtin {
            return Err(ServiceError::Validation(format!(
                "`{}` is built in and cannot be deleted",
                application.client_id
            )));
        }
        let event = self.audit_event(
            Some(&tenant.id),
            Some(&caller.account.id),
            actions::APPLICATION_DELETE,
            Some(application.client_id.to_string()),
            AuditOutcome::Success,
            json!({}),
        );
        Ok(self
            .store
            .delete_application(&tenant.id, &application.client_id, &event)
            .await?)
    }

    /// Gives a confidential client a new secret (returned once); the old one stops working.
    pub async fn rotate_application_secret(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        client_id: &str,
    ) -> Result<(Application, SecretString), ServiceError> {
        caller.require(&tenant.id, permissions::APPLICATIONS_WRITE)?;
        let mut application = self.find_application(tenant, client_id).await?;
        if application.public {
            return Err(ServiceError::Validation(
                "public clients have no secret".into(),
            ));
        }
        let secret = generate_opaque_token();
        let hash = hash_opaque_token(secret.expose());
        let event = self.audit_event(
            Some(&tenant.id),
            Some(&caller.account.id),
            actions::APPLICATION_ROTATE_SECRET,
            Some(application.client_id.to_string()),
            AuditOutcome::Success,
            json!({}),
        );
        self.store
            .set_application_secret(&tenant.id, &application.client_id, &hash, &event)
            .await?;
        application.secret_hash = Some(hash);
        Ok((application, secret))
    }

    /// Authenticates an OAuth client of `tenant`: a confidential client must present its
    /// secret, a public client must present none. Every failure is the same
    /// `InvalidClient`, and the secret comparison is constant-time on hashes.
    pub async fn authenticate_client(
        &self,
        tenant: &Tenant,
        client_id: &str,
        secret: Option<&str>,
    ) -> Result<Application, ServiceError> {
        let Ok(client_id) = ClientId::parse(client_id) else {
            return Err(ServiceError::InvalidClient);
        };
        let application = self
            .store
            .application(&tenant.id, &client_id)
            .await?
            .ok_or(ServiceError::InvalidClient)?;
        let presented = secret.map(hash_opaque_token);
        let authenticated = match (&application.secret_hash, presented) {
            (Some(expected), Some(presented)) => {
                constant_time_eq(expected.as_bytes(), presented.as_bytes())
            }
            (None, None) => application.public,
            _ => false,
        };
        if authenticated {
            Ok(application)
        } else {
            Err(ServiceError::InvalidClient)
        }
    }

    async fn find_application(
        &self,
        tenant: &Tenant,
        client_id: &str,
    ) -> Result<Application, ServiceError> {
        let Ok(client_id) = ClientId::parse(client_id) else {
            return Err(ServiceError::NotFound("application"));
        };
        self.store
            .application(&tenant.id, &client_id)
            .await?
            .ok_or(ServiceError::NotFound("application"))
    }
}
