//! Domain values rendered as the native API's wire types.

use crate::keys::PublicJwk;
use latchkey_api::{
    AccountView, AuditEventView, Jwk, Page, PasswordPolicyView, SessionView, SignedTermsView,
    TenantMetadataView, TenantView, TermsOfUseView, TermsVersionView,
};
use latchkey_core::{Account, AuditEvent, PasswordPolicy, Session, Tenant, TenantMetadata};

pub fn account(account: Account, role: Option<String>) -> AccountView {
    AccountView {
        id: account.id.into_string(),
        email: account.email.into(),
        username: account.username.map(Into::into),
        display_name: account.display_name,
        custom_data: account.custom_data,
        platform_admin: account.platform_admin,
        disabled: account.disabled,
        created_at: account.created_at,
        last_login_at: account.last_login_at,
        role,
    }
}

pub fn tenant(tenant: Tenant) -> TenantView {
    TenantView {
        id: tenant.id.into_string(),
        domain: tenant.domain.into(),
        title: tenant.title,
        metadata: TenantMetadataView {
            tier: tenant.metadata.tier,
            modules: tenant.metadata.modules,
            links: tenant.metadata.links,
            schedule_limit: tenant.metadata.schedule_limit,
            settings: tenant.metadata.settings,
        },
        password_policy: PasswordPolicyView {
            min_length: tenant.password_policy.min_length,
            max_length: tenant.password_policy.max_length,
        },
        require_mfa: tenant.require_mfa,
        created_at: tenant.created_at,
    }
}

pub fn metadata_from_wire(view: TenantMetadataView) -> TenantMetadata {
    TenantMetadata {
        tier: view.tier,
        modules: view.modules,
        links: view.links,
        schedule_limit: view.schedule_limit,
        settings: view.settings,
    }
}

pub fn policy_from_wire(view: PasswordPolicyView) -> PasswordPolicy {
    PasswordPolicy {
        min_length: view.min_length,
        max_length: view.max_length,
    }
}

pub fn session(session: Session) -> SessionView {
    SessionView {
        id: session.id.into_string(),
        created_at: session.created_at,
        last_seen_at: session.last_seen_at,
        expires_at: session.expires_at,
        user_agent: session.user_agent,
        ip_address: session.ip_address,
    }
}

pub fn audit_event(event: AuditEvent) -> AuditEventView {
    AuditEventView {
        id: event.id.into_string(),
        actor: event.actor.map(|a| a.into_string()),
        action: event.action,
        target: event.target,
        outcome: event.outcome.as_str().to_owned(),
        detail: event.detail,
        at: event.at,
    }
}

/// A store page rendered item by item.
pub fn page<T, U>(page: latchkey_core::Page<T>, render: impl FnMut(T) -> U) -> Page<U> {
    let page = page.map(render);
    Page {
        items: page.items,
        next: page.next,
    }
}

/// A signing key's public half as a JWK (RFC 7517 / RFC 7518 §6).
pub fn jwk(key: &crate::keys::LoadedKey) -> Jwk {
    let mut jwk = Jwk {
        kid: key.kid.to_string(),
        kty: key.algorithm.key_type().to_owned(),
        alg: key.algorithm.as_str().to_owned(),
        key_use: "sig".to_owned(),
        n: None,
        e: None,
        crv: None,
        x: None,
        y: None,
    };
    match &key.jwk {
        PublicJwk::Rsa { n, e } => {
            jwk.n = Some(n.clone());
            jwk.e = Some(e.clone());
        }
        PublicJwk::Ec { crv, x, y } => {
            jwk.crv = Some((*crv).to_owned());
            jwk.x = Some(x.clone());
            jwk.y = Some(y.clone());
        }
    }
    jwk
}

pub fn terms_version(version: latchkey_core::TermsVersion) -> TermsVersionView {
    TermsVersionView {
        version: version.version,
        public_url: version.public_url,
        enforce_date: version.enforce_date,
        created_at: version.created_at,
    }
}

pub fn terms_of_use(state: latchkey_core::TermsState) -> TermsOfUseView {
    TermsOfUseView {
        status: state.status.as_str().to_owned(),
        in_force: state.in_force.map(terms_version),
        last_signed: state
            .last_signed
            .map(|(version, accepted_at)| SignedTermsView {
                version: version.version,
                public_url: version.public_url,
                enforce_date: version.enforce_date,
                created_at: version.created_at,
                accepted_at,
            }),
    }
}
