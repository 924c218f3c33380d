//! Workspaces (tenants seen from an account: the ones it belongs to, created by it),
//! members added by email, signup, and token exchanges that dialects whose clients name
//! no tenant need. Squirro's `/v2/workspaces` maps onto these; so does the native API.
//!
//! Who may do what:
//! * Creating a workspace: platform administrators always; any signed-in account when
//!   `[workspaces] self_service` (or `[signup] enabled`) is on. The creator becomes the
//!   new tenant's `admin`.
//! * [`Services::caller_in`]: an access token speaks for its account in every tenant the
//!   account belongs to, with its role there (read live, like the token's own tenant).
//!   Tokens of third-party applications are refused by the dialects before this.
//! * Renaming and deleting a workspace: its administrators (`tenant.write` there), or
//!   platform administrators. The tenant of the token in use cannot be deleted with it.

use latchkey_core::audit::actions;
use latchkey_core::lockout::LockoutPolicy;
use latchkey_core::role::permissions;
use latchkey_core::{
    Account, AccountId, AuditOutcome, Email, NewAccount, NewTenant, PasswordPolicy, RoleName,
    Tenant, TenantId, TenantMetadata,
};
use latchkey_store::{AccountCredentials, AccountMfa, MemberRecord, TenantOwner};
use serde_json::json;

use super::accounts::{parse_display_name, parse_email, parse_role};
use super::{Caller, ServiceError, Services};
use crate::password::Verification;

/// A tenant the caller belongs to, with its role there.
pub struct Workspace {
    pub tenant: Tenant,
    pub role: RoleName,
}

/// A workspace with the projects the caller can access there and its role in each.
pub struct WorkspaceProjects {
    pub workspace: Workspace,
    pub projects: Vec<(latchkey_core::Project, latchkey_core::ProjectRole)>,
}

/// A signup: a new account and the tenant it administers, or a new tenant for the
/// account that already has the email (with its password).
pub struct SignUp {
    pub email: String,
    pub password: String,
    pub display_name: Option<String>,
    /// The client's address: attempts are throttled per address as well as per email.
    pub ip_address: Option<String>,
}

/// The throttle of signups from one client address. Every signup counts, successful or
/// not (one that succeeds creates an account, which is what a spammer wants): looser
/// than the per-email sign-in policy, because several people behind one NAT may sign
/// up on the same morning, but a client spraying addresses is slowed after ten and
/// locked out for half an hour after thirty.
const SIGNUP_ADDRESS_LOCKOUT: LockoutPolicy = LockoutPolicy {
    max_failures: 30,
    lock_duration: time::Duration::minutes(30),
    free_failures: 10,
    base_delay: time::Duration::seconds(1),
    max_delay: time::Duration::seconds(60),
};

/// How many generated domains are tried before giving up (each has ~50 random bits).
const DOMAIN_ATTEMPTS: usize = 3;

/// Lowercase letters and digits of a fresh random id, for generated domains.
fn domain_suffix() -> String {
    latchkey_core::id::random_id()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .take(10)
        .collect()
}

fn parse_title(title: &str) -> Result<String, ServiceError> {
    latchkey_core::tenant::validate_title(title).map_err(|m| ServiceError::Validation(m.into()))
}

impl Services {
    /// The caller as it acts in the tenant `domain`: itself when that is its token's
    /// tenant, otherwise with its role in that tenant. Platform administrators keep
    /// their standing anywhere. Non-members are refused.
    pub async fn caller_in(
        &self,
        caller: &Caller,
        domain: &str,
    ) -> Result<(Caller, Tenant), ServiceError> {
        let tenant = self.tenant_by_domain(domain).await?;
        if tenant.id == caller.tenant.id {
            return Ok((caller.clone(), tenant));
        }
        // A grant's restricted token stays in the tenant it was granted in: elsewhere
        // its restriction would have nothing to reduce and it would act with more.
        if caller.project_permissions.is_some() {
            return Err(ServiceError::Forbidden(
                "a grant's token acts only in the tenant of its grant",
            ));
        }
        match self
            .store
            .membership(&tenant.id, &caller.account.id)
            .await?
        {
            Some(membership) => {
                // The effective role there, group-granted roles included.
                let (role, granted_roles) = self
                    .effective_role_of(&tenant, &caller.account.id, &membership.role)
                    .await?;
                let mut scoped = caller.clone();
                scoped.tenant = tenant.clone();
                scoped.role = role;
                scoped.granted_roles = granted_roles;
                Ok((scoped, tenant))
            }
            None if caller.account.platform_admin => Ok((caller.clone(), tenant)),
            None => Err(ServiceError::Forbidden(
                "your account is not a member of this tenant",
            )),
        }
    }

    /// The tenants the caller's account belongs to, ordered by domain; only those it
    /// administers with `admin_only`.
    pub async fn workspaces_of(
        &self,
        caller: &Caller,
        admin_only: bool,
    ) -> Result<Vec<Workspace>, ServiceError> {
        let mut out = Vec::new();
        for membership in self.store.memberships_of(&caller.account.id).await? {
            if admin_only && !membership.role.is_admin() {
                continue;
            }
            if let Some(tenant) = self.tenant_by_id(&membership.tenant_id).await? {
                out.push(Workspace {
                    tenant,
                    role: membership.role,
                });
            }
        }
        out.sort_by(|a, b| a.tenant.domain.as_str().cmp(b.tenant.domain.as_str()));
        Ok(out)
    }

    /// [`Self::workspaces_of`], each with the projects the caller's account can access
    /// there and its effective role in each (as [`Self::user_projects`] answers for it:
    /// every project as `admin` where it administers the tenant). A grant's restricted
    /// token acts only in the tenant of its grant (see [`Self::caller_in`]), so elsewhere
    /// it is shown no projects.
    pub async fn workspaces_with_projects(
        &self,
        caller: &Caller,
        admin_only: bool,
    ) -> Result<Vec<WorkspaceProjects>, ServiceError> {
        let workspaces = self.workspaces_of(caller, admin_only).await?;
        let mut out = Vec::with_capacity(workspaces.len());
        for workspace in workspaces {
            let restricted_elsewhere =
                caller.project_permissions.is_some() && workspace.tenant.id != caller.tenant.id;
            let projects = if restricted_elsewhere {
                Vec::new()
            } else {
                self.projects_of_member(&workspace.tenant, &caller.account.id, &workspace.role)
                    .await?
            };
            out.push(WorkspaceProjects {
                workspace,
                projects,
            });
        }
        Ok(out)
    }

    /// Creates a tenant titled `title`, with a generated domain, administered by the
    /// caller's account.
    pub async fn create_workspace(
        &self,
        caller: &Caller,
        title: &str,
    ) -> Result<Tenant, ServiceError> {
        if !(caller.account.platform_admin || self.workspaces_self_service) {
            return Err(ServiceError::Forbidden(
                "only platform administrators may create workspaces on this server",
            ));
        }
        let title = parse_title(title)?;
        self.create_generated_tenant(&title, TenantOwner::Existing(&caller.account.id), |id| {
            self.audit_event(
                Some(id),
                Some(&caller.account.id),
                actions::TENANT_CREATE,
                None,
                AuditOutcome::Success,
                json!({"title": title, "workspace": true}),
            )
        })
        .await
    }

    /// A new tenant with a generated domain (retried on the rare collision).
    async fn create_generated_tenant(
        &self,
        title: &str,
        owner: TenantOwner<'_>,
        event_for: impl Fn(&TenantId) -> latchkey_core::AuditEvent,
    ) -> Result<Tenant, ServiceError> {
        for _ in 0..DOMAIN_ATTEMPTS {
            let domain = latchkey_core::tenant::generated_domain(title, &domain_suffix())
                .ok_or_else(|| ServiceError::Internal("generated domain refused".into()))?;
            let id = TenantId::generate();
            let mut event = event_for(&id);
            event.target = Some(domain.to_string());
            let new = NewTenant {
                domain,
                title: title.to_owned(),
                metadata: TenantMetadata::default(),
                password_policy: PasswordPolicy::default(),
            };
            match self
                .store
                .create_owned_tenant(&id, &new, owner, self.clock.now(), &event)
                .await
            {
                Ok(tenant) => return Ok(tenant),
                Err(latchkey_store::StoreError::Conflict(
                    latchkey_store::ConflictOn::TenantDomain,
                )) => {}
                Err(other) => return Err(other.into()),
            }
        }
        Err(ServiceError::Internal(
            "no free generated tenant domain".into(),
        ))
    }

    /// Renames a workspace (its administrators).
    pub async fn rename_workspace(
        &self,
        caller: &Caller,
        domain: &str,
        title: &str,
    ) -> Result<Tenant, ServiceError> {
        let (scoped, tenant) = self.caller_in(caller, domain).await?;
        self.update_tenant(
            &scoped,
            tenant.domain.as_str(),
            Some(title.to_owned()),
            None,
            None,
            None,
        )
        .await
    }

    /// Deletes a workspace with its memberships, sessions and keys (its administrators);
    /// accounts that belonged to it alone go with it.
    pub async fn delete_workspace(
        &self,
        caller: &Caller,
        domain: &str,
    ) -> Result<(), ServiceError> {
        let (scoped, tenant) = self.caller_in(caller, domain).await?;
        scoped.require(&tenant.id, permissions::TENANT_WRITE)?;
        if tenant.id == caller.tenant.id {
            return Err(ServiceError::Validation(
                "you cannot delete the tenant you are signed in to".into(),
            ));
        }
        let event = self.audit_event(
            Some(&tenant.id),
            Some(&caller.account.id),
            actions::TENANT_DELETE,
            Some(tenant.domain.to_string()),
            AuditOutcome::Success,
            json!({"workspace": true}),
        );
        self.store.delete_tenant(&tenant.id, &event).await?;
        self.forget_tenant(&tenant.id);
        self.keys.forget(&tenant.id);
        Ok(())
    }

    /// Adds the accounts of `emails` to `tenant` with `role` (or sets their role when
    /// they are members already); an address without an account gets a new account
    /// without a password, which cannot sign in until one is set (an invitation).
    pub async fn add_members_by_email(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        emails: &[String],
        role: &str,
    ) -> Result<Vec<MemberRecord>, ServiceError> {
        caller.require(&tenant.id, permissions::USERS_WRITE)?;
        let role = parse_role(role)?;
        if self.role_in(&tenant.id, &role).await?.is_none() {
            return Err(ServiceError::Validation(format!(
                "role `{role}` does not exist in this tenant"
            )));
        }
        if emails.is_empty() {
            return Err(ServiceError::Validation("emails: give at least one".into()));
        }
        let parsed: Vec<Email> = emails
            .iter()
            .map(|e| parse_email(e))
            .collect::<Result<_, _>>()?;
        let mut out = Vec::with_capacity(parsed.len());
        for email in parsed {
            let existing = self
                .store
                .account_by_login(&email.normalized())
                .await?
                .map(|c| c.account)
                // The login lookup also matches usernames; emails are unique by their
                // normalised form (`Ada@…` is `ada@…`).
                .filter(|a| a.email.normalized() == email.normalized());
            let record = match existing {
                Some(account) => {
                    let current = self.store.membership(&tenant.id, &account.id).await?;
                    if current.as_ref().is_some_and(|m| m.role == role) {
                        MemberRecord {
                            account,
                            role: role.clone(),
                        }
                    } else {
                        if let Some(current) = current {
                            // A role change goes through the member rules (own admin role…).
                            let record = MemberRecord {
                                account: account.clone(),
                                role: current.role,
                            };
                            self.check_role_change(caller, &record, &role)?;
                        }
                        let event = self.audit_event(
                            Some(&tenant.id),
                            Some(&caller.account.id),
                            actions::ACCOUNT_UPDATE,
                            Some(account.id.to_string()),
                            AuditOutcome::Success,
                            json!({"role": role.as_str(), "added_by_email": true}),
                        );
                        self.store
                            .put_membership(
                                &tenant.id,
                                &account.id,
                                &role,
                                self.clock.now(),
                                &event,
                            )
                            .await?;
                        MemberRecord {
                            account,
                            role: role.clone(),
                        }
                    }
                }
                None => {
                    let id = AccountId::generate();
                    let event = self.audit_event(
                        Some(&tenant.id),
                        Some(&caller.account.id),
                        actions::ACCOUNT_CREATE,
                        Some(id.to_string()),
                        AuditOutcome::Success,
                        json!({"email": email.as_str(), "role": role.as_str(), "invited": true}),
                    );
                    let account = self
                        .store
                        .create_account(
                            &id,
                            &NewAccount {
                                email,
                                username: None,
                                display_name: None,
                                custom_data: serde_json::Map::new(),
                                platform_admin: false,
                                password_hash: None,
                            },
                            Some((&tenant.id, &role)),
                            self.clock.now(),
                            &event,
                        )
                        .await?;
                    MemberRecord {
                        account,
                        role: role.clone(),
                    }
                }
            };
            out.push(record);
        }
        Ok(out)
    }

    /// Sets a member's role in `tenant` (`users.write`). The role is the tenant's own
    /// business, so unlike account fields it needs no authority over the account's other
    /// tenants; nobody removes their own administrator role.
    pub async fn set_member_role(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        id: &str,
        role: &str,
    ) -> Result<MemberRecord, ServiceError> {
        caller.require(&tenant.id, permissions::USERS_WRITE)?;
        let role = parse_role(role)?;
        if self.role_in(&tenant.id, &role).await?.is_none() {
            return Err(ServiceError::Validation(format!(
                "role `{role}` does not exist in this tenant"
            )));
        }
        let current = self.find_member(tenant, id).await?;
        if current.account.platform_admin && !caller.account.platform_admin {
            return Err(ServiceError::Forbidden(
                "only platform administrators may change a platform administrator",
            ));
        }
        self.check_role_change(caller, &current, &role)?;
        if current.role != role {
            let event = self.audit_event(
                Some(&tenant.id),
                Some(&caller.account.id),
                actions::ACCOUNT_UPDATE,
                Some(current.account.id.to_string()),
                AuditOutcome::Success,
                json!({"role": role.as_str()}),
            );
            self.store
                .put_membership(
                    &tenant.id,
                    &current.account.id,
                    &role,
                    self.clock.now(),
                    &event,
                )
                .await?;
        }
        Ok(MemberRecord {
            account: current.account,
            role,
        })
    }

    /// Removes a member from `tenant` (`users.write`; not oneself). The account goes too
    /// when this was its only tenant. An account that stays a member elsewhere is not
    /// changed beyond this tenant, so unlike [`Services::delete_member`] this needs no
    /// authority over its other tenants; platform administrators are removed only by
    /// platform administrators.
    pub async fn remove_member(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        id: &str,
    ) -> Result<(), ServiceError> {
        caller.require(&tenant.id, permissions::USERS_WRITE)?;
        let current = self.find_member(tenant, id).await?;
        if current.account.id == caller.account.id {
            return Err(ServiceError::Validation(
                "you cannot remove your own account here".into(),
            ));
        }
        if current.account.platform_admin && !caller.account.platform_admin {
            return Err(ServiceError::Forbidden(
                "only platform administrators may change a platform administrator",
            ));
        }
        let event = self.audit_event(
            Some(&tenant.id),
            Some(&caller.account.id),
            actions::ACCOUNT_DELETE,
            Some(current.account.id.to_string()),
            AuditOutcome::Success,
            json!({"email": current.account.email.as_str()}),
        );
        self.store
            .remove_membership(&tenant.id, &current.account.id, self.clock.now(), &event)
            .await?;
        Ok(())
    }

    fn check_role_change(
        &self,
        caller: &Caller,
        current: &MemberRecord,
        role: &RoleName,
    ) -> Result<(), ServiceError> {
        if current.account.id == caller.account.id && current.role.is_admin() && !role.is_admin() {
            return Err(ServiceError::Validation(
                "you cannot remove your own administrator role".into(),
            ));
        }
        Ok(())
    }

    /// The password policy of a tenant (its members, or platform administrators).
    pub async fn password_policy_of(
        &self,
        caller: &Caller,
        domain: &str,
    ) -> Result<PasswordPolicy, ServiceError> {
        let (scoped, tenant) = self.caller_in(caller, domain).await?;
        scoped.require(&tenant.id, permissions::PROFILE_READ)?;
        Ok(tenant.password_policy)
    }

    /// Creates an account and a tenant it administers, when signup is enabled; for an
    /// email that already has an account, a new tenant that account administers, when
    /// the password is that account's.
    ///
    /// Attempts are throttled per client address, and on the counter sign-in uses for
    /// the email (a registered account's own counter, else the login's).
    /// The password must meet the new tenant's (default) policy whether or not the
    /// email is registered, and every attempt that gets that far costs one argon2
    /// computation: a hash for a new account, a verification for an existing one. A
    /// wrong password, an account without one and a disabled account all get
    /// [`SIGNUP_REFUSED`], which names nothing about the address.
    pub async fn sign_up(&self, request: SignUp) -> Result<(Tenant, AccountId), ServiceError> {
        if !self.signup_enabled {
            return Err(ServiceError::Forbidden(
                "signup is disabled on this server; ask an administrator for an account",
            ));
        }
        let email = parse_email(&request.email)?;
        let display_name = request
            .display_name
            .as_deref()
            .filter(|n| !n.trim().is_empty())
            .map(parse_display_name)
            .transpose()?;
        let now = self.clock.now();
        // The address first: one client spraying many emails is stopped without also
        // charging the counters of the emails it names.
        self.reserve_attempt_under(
            &signup_ip_throttle_key(request.ip_address.as_deref()),
            &SIGNUP_ADDRESS_LOCKOUT,
            now,
        )
        .await?;
        let existing = self
            .store
            .account_by_login(&email.normalized())
            .await?
            // Emails are unique by their normalized form (the derived `==` compares them
            // as typed, so `Ada@…` would miss `ada@…` and fall through to a conflict).
            .filter(|found| found.account.email.normalized() == email.normalized());
        // The counter sign-in uses for this login: guessing a registered account's
        // password through signup spends the same budget as guessing it at sign-in
        // (looked up first, as sign-in does, so both paths cost the same lookup).
        self.reserve_attempt(
            &super::auth::throttle_key(
                existing.as_ref().map(|found| &found.account.id),
                &email.normalized(),
            ),
            now,
        )
        .await?;
        let local = email.as_str().split_once('@').map_or("", |(l, _)| l);
        PasswordPolicy::default()
            .check(&request.password, &[email.as_str(), local])
            .map_err(ServiceError::WeakPassword)?;
        let attempt = SignUpAttempt {
            local_part: local.to_owned(),
            email,
            display_name,
            password: request.password,
            ip_address: request.ip_address,
        };
        match existing {
            None => self.sign_up_new_account(attempt).await,
            Some(found) => self.sign_up_existing_account(attempt, found).await,
        }
    }

    /// A signup for an email without an account: the account and its tenant, together.
    async fn sign_up_new_account(
        &self,
        attempt: SignUpAttempt,
    ) -> Result<(Tenant, AccountId), ServiceError> {
        let title = signup_title(&[attempt.display_name.as_deref()], &attempt.local_part);
        let hash = self.hasher.hash(attempt.password).await?;
        let id = AccountId::generate();
        let account = NewAccount {
            email: attempt.email.clone(),
            username: None,
            display_name: attempt.display_name,
            custom_data: serde_json::Map::new(),
            platform_admin: false,
            password_hash: Some(hash),
        };
        let created = self
            .create_generated_tenant(&title, TenantOwner::New(&id, &account), |tenant| {
                self.audit_event(
                    Some(tenant),
                    Some(&id),
                    actions::TENANT_CREATE,
                    None,
                    AuditOutcome::Success,
                    json!({"signup": true, "account": id, "email": attempt.email.as_str(), "ip": attempt.ip_address}),
                )
            })
            .await;
        match created {
            Ok(tenant) => Ok((tenant, id)),
            // The address was registered by a request that raced this one: the answer
            // is the one a registered address gets, never "taken".
            Err(ServiceError::Conflict(_)) => Err(signup_refused()),
            Err(other) => Err(other),
        }
    }

    /// A signup for an email that has an account: with that account's password, a new
    /// tenant it administers (an existing user signing up again gets a workspace).
    async fn sign_up_existing_account(
        &self,
        attempt: SignUpAttempt,
        found: AccountCredentials,
    ) -> Result<(Tenant, AccountId), ServiceError> {
        let account = found.account;
        // Without a stored hash (an invitation) the hasher runs on a decoy and answers
        // `Mismatch`: this path costs what a new account's hash costs either way.
        let verification = self
            .hasher
            .verify(attempt.password, found.password_hash)
            .await?;
        if !matches!(verification, Verification::Match { .. }) || account.disabled {
            self.audit_signup_refusal(
                &account,
                "invalid_credentials",
                attempt.ip_address.as_deref(),
            )
            .await?;
            return Err(signup_refused());
        }
        // The password alone does not act for an account that signs in with a second
        // factor; now that it is verified, the answer may say so (as sign-in's does).
        let second_factor = self
            .store
            .account_mfa(&account.id)
            .await?
            .filter(AccountMfa::is_active);
        if second_factor.is_some() {
            self.audit_signup_refusal(&account, "second_factor", attempt.ip_address.as_deref())
                .await?;
            return Err(ServiceError::Forbidden(
                "this account signs in with a second factor: sign in, then create the workspace",
            ));
        }
        // The name given now, else the one the account has.
        let title = signup_title(
            &[
                attempt.display_name.as_deref(),
                account.display_name.as_deref(),
            ],
            &attempt.local_part,
        );
        let tenant = self
            .create_generated_tenant(
                &title,
                TenantOwner::Existing(&account.id),
                |tenant| {
                    self.audit_event(
                        Some(tenant),
                        Some(&account.id),
                        actions::TENANT_CREATE,
                        None,
                        AuditOutcome::Success,
                        json!({"signup": true, "account": account.id, "existing_account": true, "ip": attempt.ip_address}),
                    )
                },
            )
            .await?;
        Ok((tenant, account.id))
    }

    /// Records a refused signup for a registered account in the audit log of each tenant
    /// it belongs to, as a failed sign-in is recorded in its tenant's: those tenants'
    /// administrators see someone trying their member's address. The actor is unknown
    /// (nobody proved to be the account).
    async fn audit_signup_refusal(
        &self,
        account: &Account,
        reason: &str,
        ip_address: Option<&str>,
    ) -> Result<(), ServiceError> {
        for membership in self.store.memberships_of(&account.id).await? {
            let event = self.audit_event(
                Some(&membership.tenant_id),
                None,
                actions::TENANT_CREATE,
                Some(account.id.to_string()),
                AuditOutcome::Failure,
                json!({"signup": true, "reason": reason, "ip": ip_address}),
            );
            self.store.append_audit(&event).await?;
        }
        Ok(())
    }
}

/// What a signup carries once its email and display name are parsed and its password
/// meets the policy.
struct SignUpAttempt {
    email: Email,
    display_name: Option<String>,
    /// The email's local part, the new tenant's title when no name is known.
    local_part: String,
    password: String,
    ip_address: Option<String>,
}

/// The one answer to a signup whose credentials cannot be used: a registered email with
/// another password, an invitation without one, a disabled account. It is a `400` like
/// every other refused signup credential (a malformed email, a weak password) and does
/// not say whether the address is registered; see docs/api.md for why not `409`.
const SIGNUP_REFUSED: &str = "this email address and password cannot be used to sign up";

fn signup_refused() -> ServiceError {
    ServiceError::Validation(SIGNUP_REFUSED.into())
}

/// The throttle key of a client address. Requests whose address is unknown (a server
/// embedded without connection info) share one counter rather than go unthrottled.
fn signup_ip_throttle_key(ip_address: Option<&str>) -> String {
    format!("signup-ip:{}", ip_address.unwrap_or("unknown"))
}

/// A signup's tenant title: the first of `names` given, else the email's local part, when
/// it makes a valid title; else `Workspace`.
fn signup_title(names: &[Option<&str>], local_part: &str) -> String {
    let candidate = names.iter().flatten().next().copied().unwrap_or(local_part);
    parse_title(candidate).unwrap_or_else(|_| "Workspace".to_owned())
}
