//! Who is calling: resolved from a Bearer access token on every request, against the
//! store, so a revoked session, a disabled account or a removed membership takes effect
//! at once rather than when the token expires.

use latchkey_core::token::AccessClaims;
use latchkey_core::{Account, Role, SessionId, Tenant, TenantId, id::is_id_shaped};

use super::{ServiceError, Services};

#[derive(Clone, Debug)]
pub struct Caller {
    pub account: Account,
    /// The tenant the token was issued for.
    pub tenant: Tenant,
    /// The effective role: the membership role's name with the permissions of the
    /// roles the caller's groups grant added.
    pub role: Role,
    /// Names of the roles the caller's groups grant it in the tenant.
    pub granted_roles: Vec<latchkey_core::RoleName>,
    pub session_id: SessionId,
    /// The client the token was issued to (`azp`).
    pub client_id: String,
    /// The project permissions of a restricted grant's token (its `role` is then reduced
    /// to what a restricted grant keeps); `None` for every other token.
    pub project_permissions: Option<Vec<String>>,
}

impl Caller {
    /// May the caller do `permission` in `tenant`? Platform administrators may do
    /// anything anywhere; everyone else only in the tenant of their token.
    pub fn may(&self, tenant: &TenantId, permission: &str) -> bool {
        (self.account.platform_admin && self.project_permissions.is_none())
            || (self.tenant.id == *tenant && self.role.grants(permission))
    }

    pub fn require(&self, tenant: &TenantId, permission: &str) -> Result<(), ServiceError> {
        if self.may(tenant, permission) {
            Ok(())
        } else if self.tenant.id == *tenant {
            Err(ServiceError::Forbidden(
                "your role in this tenant does not allow this",
            ))
        } else {
            Err(ServiceError::Forbidden(
                "your token is not valid for this tenant",
            ))
        }
    }

    /// Is `id` the caller's own account, seen through the tenant of its token?
    pub fn is_self_in(&self, tenant: &TenantId, id: &str) -> bool {
        self.tenant.id == *tenant && self.account.id.as_str() == id
    }

    /// Refuses tokens issued to third-party applications on the management APIs.
    pub fn require_management_client(&self) -> Result<(), ServiceError> {
        if latchkey_core::application::is_management_client(&self.client_id) {
            Ok(())
        } else {
            Err(ServiceError::Forbidden(
                "this token was issued to an application and cannot call the management API",
            ))
        }
    }

    /// Refuses tokens of a grant restricted to project permissions: they must not mint
    /// grants or manage credentials.
    pub fn require_unrestricted(&self) -> Result<(), ServiceError> {
        if self.project_permissions.is_none() {
            Ok(())
        } else {
            Err(ServiceError::Forbidden(
                "this token comes from a grant restricted to project permissions and cannot do this",
            ))
        }
    }

    pub fn require_platform_admin(&self) -> Result<(), ServiceError> {
        if self.account.platform_admin && self.project_permissions.is_none() {
            Ok(())
        } else {
            Err(ServiceError::Forbidden(
                "only platform administrators may manage tenants",
            ))
        }
    }
}

impl Services {
    /// Resolves a Bearer token to its caller, or `InvalidToken`.
    pub async fn authenticate(&self, token: &str) -> Result<Caller, ServiceError> {
        let claims = self.verified_claims(token).await?;
        // Service tokens (no session) speak for a client, not an account: they cannot
        // call the account-centred native API.
        let session_id =
            SessionId::from_string(claims.sid.clone().ok_or(ServiceError::InvalidToken)?);
        // Session, membership and group-granted role names are read live on every
        // request (one round-trip), so a revocation, a removed membership or a changed
        // grant takes effect at once; the tenant and the roles' permissions come from
        // the short-lived cache.
        let (session, member_role, granted) = self
            .store
            .session_with_member_role(&session_id)
            .await?
            .ok_or(ServiceError::InvalidToken)?;
        let now = self.clock.now();
        if !session.is_active(now)
            || session.account_id.as_str() != claims.sub
            || session.tenant_id.as_str() != claims.tenant_id
        {
            return Err(ServiceError::InvalidToken);
        }
        let member_role = member_role.ok_or(ServiceError::InvalidToken)?;
        let account = self
            .store
            .account_by_id(&session.account_id)
            .await?
            .filter(|a| !a.disabled)
            .ok_or(ServiceError::InvalidToken)?;
        let tenant = self
            .tenant_by_id(&session.tenant_id)
            .await?
            .ok_or(ServiceError::InvalidToken)?;
        let role = self
            .role_in(&tenant.id, &member_role)
            .await?
            .ok_or_else(|| {
                ServiceError::Internal(format!("membership names missing role {member_role}"))
            })?;
        let (role, granted_roles) = self.with_granted(&tenant, role, granted).await?;
        // A restricted grant's token speaks with the reduced role, whatever the member's
        // role is now (the restriction is fixed for the grant's life and signed into every
        // token minted from it).
        let role =
            latchkey_core::grant::restricted_role(&role, claims.project_permissions.as_deref());
        // Nor does it carry a platform administrator's standing.
        let account = if claims.project_permissions.is_some() {
            latchkey_core::Account {
                platform_admin: false,
                ..account
            }
        } else {
            account
        };
        Ok(Caller {
            account,
            tenant,
            role,
            granted_roles,
            session_id,
            client_id: claims.azp,
            project_permissions: claims.project_permissions,
        })
    }

    /// Checks signature, issuer, audience and expiry of an access token.
    pub async fn verified_claims(&self, token: &str) -> Result<AccessClaims, ServiceError> {
        // Read the tenant from the unverified payload only to choose the key; nothing is
        // trusted until the signature checks out with that tenant's key.
        let tenant_hint = unverified_tenant_id(token).ok_or(ServiceError::InvalidToken)?;
        // An unknown tenant ends here: nothing below may create keys for it.
        let tenant = self
            .tenant_by_id(&tenant_hint)
            .await?
            .ok_or(ServiceError::InvalidToken)?;
        let claims: AccessClaims = self.keys.verify(&tenant.id, token).await?;
        let expected_issuer =
            latchkey_core::token::issuer_for(&self.public_url, tenant.domain.as_str());
        let now = self.clock.now().unix_timestamp();
        if claims.tenant_id != tenant_hint.as_str()
            || claims.iss != expected_issuer
            || claims.aud != latchkey_core::token::NATIVE_AUDIENCE
            || claims.exp <= now
        {
            return Err(ServiceError::InvalidToken);
        }
        Ok(claims)
    }
}

fn unverified_tenant_id(token: &str) -> Option<TenantId> {
    use base64::Engine as _;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    #[derive(serde::Deserialize)]
    struct TenantOnly {
        tenant_id: String,
    }
    let parsed: TenantOnly = serde_json::from_slice(&bytes).ok()?;
    is_id_shaped(&parsed.tenant_id).then(|| TenantId::from_string(parsed.tenant_id))
}
