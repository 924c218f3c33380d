//! The operations every front door shares: sign-in, tokens, tenants, accounts, audit.
//! Services speak domain types and [`ServiceError`]; HTTP mapping lives in `api::error`
//! (and, later, in each dialect), never here.

mod accounts;
mod applications;
mod auth;
pub mod authorize;
mod caller;
mod error;
mod external_auth;
mod grants;
mod groups;
mod hot_rows;
mod impersonation;
mod import;
pub mod members;
mod mfa;
mod mfa_enrolment;
mod modules;
pub mod msexchange;
mod oauth;
mod projects;
mod prune;
mod roles;
mod sign_in_profile;
mod tenants;
mod terms;
mod token_grants;
mod workspaces;

pub use accounts::{AccountUpdate, CreateAccount};
pub use applications::ApplicationSpec;
pub use auth::{ClientContext, IssuedTokens, SignIn, TokenContext};
pub use authorize::{AuthorizationError, AuthorizationParams, ValidAuthorization};
pub use caller::Caller;
pub use error::ServiceError;
pub use external_auth::{ExternalAuth, ExternalAuthSpec};
pub use grants::{CreatedGrant, GRANT_LIFETIME, GrantSpec};
pub use groups::{DEFAULT_GROUP_PROJECT_ROLE, GroupDetails, MAX_GROUP_MEMBERS_PER_REQUEST};
pub use hot_rows::{HOT_ROW_TTL, HotRows};
pub use impersonation::{Impersonated, MintedImpersonation};
pub use import::{ImportAccount, ImportError, MAX_IMPORT_ACCOUNTS};
pub use mfa::{MfaStatus, TotpEnrolment, TotpState};
pub use mfa_enrolment::{EnrolmentConfirmation, EnrolmentError};
pub use modules::{CompanyPermissions, ModuleSignIn};
pub use msexchange::{MsExchangeError, MsExchangeIssuerConfig, MsExchangeTrust};
pub use oauth::{Introspection, ServiceToken};
pub use projects::{NewProjectMember, ProjectMemberDetails, ProjectWithRole, member_details};
pub use prune::{MAX_RESTORE_IDS, PRUNE_BATCH, PruneCriteria};
pub use sign_in_profile::{HomeSignIn, SecondFactorUse, SignedIn, TermsStatus};
pub use tenants::TenantSpec;
pub use terms::TermsPublication;
pub use workspaces::{SignUp, Workspace};

use std::sync::Arc;

use latchkey_core::token::TokenLifetimes;
use latchkey_core::{
    AccountId, AuditEvent, AuditEventId, AuditOutcome, Clock, LockoutPolicy, TenantId,
};
use latchkey_store::Store;

use crate::crypto::Sealer;
use crate::keys::KeyService;
use crate::metrics::Metrics;
use crate::password::PasswordHasher;

/// Everything the operations need, shared by all requests.
pub struct Services {
    pub store: Arc<dyn Store>,
    pub hasher: PasswordHasher,
    pub keys: KeyService,
    /// Seals secrets kept at rest (TOTP secrets).
    pub sealer: Arc<Sealer>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<Metrics>,
    pub lockout: LockoutPolicy,
    pub lifetimes: TokenLifetimes,
    /// Base of token issuers: `{public_url}/realms/{tenant}`.
    pub public_url: String,
    /// Tenants and roles cached for [`HOT_ROW_TTL`].
    pub hot: HotRows,
    /// How long pruned accounts and memberships can be restored before housekeeping
    /// purges them.
    pub prune_retention: time::Duration,
    /// Trusted Microsoft Exchange token issuers (empty: not configured).
    pub msexchange: MsExchangeTrust,
    /// Anyone may sign up (`[signup] enabled`).
    pub signup_enabled: bool,
    /// Any signed-in account may create tenants it then administers (`[workspaces]
    /// self_service`, implied by signup).
    pub workspaces_self_service: bool,
}

impl Services {
    /// An audit event stamped now; the store writes it in the transaction of the change.
    pub fn audit_event(
        &self,
        tenant: Option<&TenantId>,
        actor: Option<&AccountId>,
        action: &'static str,
        target: Option<String>,
        outcome: AuditOutcome,
        detail: serde_json::Value,
    ) -> AuditEvent {
        AuditEvent {
            id: AuditEventId::generate(),
            tenant_id: tenant.cloned(),
            actor: actor.cloned(),
            action: action.to_owned(),
            target,
            outcome,
            detail,
            at: self.clock.now(),
        }
    }
}
