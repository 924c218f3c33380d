//! Accounts within a tenant: the administrator's view, and the account's own.

use latchkey_core::audit::actions;
use latchkey_core::role::permissions;
use latchkey_core::{
    Account, AccountId, AccountPatch, AuditOutcome, Email, NewAccount, Page, PageRequest, Role,
    RoleName, Session, SessionId, Tenant, Username,
};
use latchkey_store::{MemberFilter, MemberRecord};
use serde_json::json;

use super::{Caller, ServiceError, Services};

/// A new member as an administrator describes it.
pub struct CreateAccount {
    pub email: String,
    pub username: Option<String>,
    pub display_name: Option<String>,
    pub role: Option<String>,
    pub password: Option<String>,
    pub custom_data: serde_json::Map<String, serde_json::Value>,
}

/// Changes to a member; `None` leaves a field alone.
#[derive(Default)]
pub struct AccountUpdate {
    pub email: Option<String>,
    pub username: Option<Option<String>>,
    pub display_name: Option<Option<String>>,
    pub custom_data: Option<serde_json::Map<String, serde_json::Value>>,
    pub disabled: Option<bool>,
    pub role: Option<String>,
}

pub(super) fn parse_role(text: &str) -> Result<RoleName, ServiceError> {
    RoleName::parse(text).map_err(|e| ServiceError::Validation(format!("role: {e}")))
}

pub(super) fn parse_email(text: &str) -> Result<Email, ServiceError> {
    Email::parse(text).map_err(|e| ServiceError::Validation(format!("email: {e}")))
}

pub(super) fn parse_username(text: &str) -> Result<Username, ServiceError> {
    Username::parse(text).map_err(|e| ServiceError::Validation(format!("username: {e}")))
}

pub(super) fn parse_display_name(text: &str) -> Result<String, ServiceError> {
    latchkey_core::account::validate_display_name(text)
        .map_err(|m| ServiceError::Validation(m.into()))
}

pub(super) fn check_custom_data(
    data: &serde_json::Map<String, serde_json::Value>,
) -> Result<(), ServiceError> {
    let size = serde_json::to_vec(data)
        .map(|v| v.len())
        .unwrap_or(usize::MAX);
    if size > latchkey_core::account::MAX_CUSTOM_DATA_BYTES {
        return Err(ServiceError::Validation(format!(
            "custom_data must be at most {} bytes of JSON",
            latchkey_core::account::MAX_CUSTOM_DATA_BYTES
        )));
    }
    Ok(())
}

/// The names a password may not contain.
fn identity_of(email: &Email, username: Option<&Username>) -> Vec<String> {
    let mut names = vec![email.as_str().to_owned()];
    if let Some((local, _)) = email.as_str().split_once('@') {
        names.push(local.to_owned());
    }
    if let Some(username) = username {
        names.push(username.as_str().to_owned());
    }
    names
}

impl Services {
    /// Hashes `password` after checking it against the tenant's policy.
    pub async fn checked_hash(
        &self,
        tenant: &Tenant,
        password: &str,
        email: &Email,
        username: Option<&Username>,
    ) -> Result<String, ServiceError> {
        let identity = identity_of(email, username);
        let names: Vec<&str> = identity.iter().map(String::as_str).collect();
        tenant
            .password_policy
            .check(password, &names)
            .map_err(ServiceError::WeakPassword)?;
        Ok(self.hasher.hash(password.to_owned()).await?)
    }

    pub async fn list_members(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        filter: MemberFilter,
        page: PageRequest,
    ) -> Result<Page<MemberRecord>, ServiceError> {
        caller.require(&tenant.id, permissions::USERS_READ)?;
        Ok(self.store.list_members(&tenant.id, &filter, &page).await?)
    }

    pub async fn create_member(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        request: CreateAccount,
    ) -> Result<MemberRecord, ServiceError> {
        caller.require(&tenant.id, permissions::USERS_WRITE)?;
        let email = parse_email(&request.email)?;
        let username = request
            .username
            .as_deref()
            .map(parse_username)
            .transpose()?;
        let display_name = request
            .display_name
            .as_deref()
            .map(parse_display_name)
            .transpose()?;
        let role_name = parse_role(request.role.as_deref().unwrap_or(RoleName::USER))?;
        self.existing_role(tenant, &role_name).await?;
        check_custom_data(&request.custom_data)?;
        let password_hash = match &request.password {
            Some(password) => Some(
                self.checked_hash(tenant, password, &email, username.as_ref())
                    .await?,
            ),
            None => None,
        };
        let id = AccountId::generate();
        let event = self.audit_event(
            Some(&tenant.id),
            Some(&caller.account.id),
            actions::ACCOUNT_CREATE,
            Some(id.to_string()),
            AuditOutcome::Success,
            json!({"email": email.as_str(), "role": role_name.as_str()}),
        );
        let account = self
            .store
            .create_account(
                &id,
                &NewAccount {
                    email,
                    username,
                    display_name,
                    custom_data: request.custom_data,
                    platform_admin: false,
                    password_hash,
                },
                Some((&tenant.id, &role_name)),
                self.clock.now(),
                &event,
            )
            .await?;
        Ok(MemberRecord {
            account,
            role: role_name,
        })
    }

    /// A member of `tenant`; accounts of other tenants are "not found" here.
    pub async fn member(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        id: &str,
    ) -> Result<MemberRecord, ServiceError> {
        if !caller.is_self_in(&tenant.id, id) {
            caller.require(&tenant.id, permissions::USERS_READ)?;
        }
        self.find_member(tenant, id).await
    }

    pub async fn update_member(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        id: &str,
        update: AccountUpdate,
    ) -> Result<MemberRecord, ServiceError> {
        caller.require(&tenant.id, permissions::USERS_WRITE)?;
        let current = self.find_member(tenant, id).await?;
        let patch = AccountPatch {
            email: update.email.as_deref().map(parse_email).transpose()?,
            username: update
                .username
                .map(|u| u.as_deref().map(parse_username).transpose())
                .transpose()?,
            display_name: update
                .display_name
                .map(|d| d.as_deref().map(parse_display_name).transpose())
                .transpose()?,
            custom_data: update.custom_data,
            disabled: update.disabled,
        };
        if let Some(data) = &patch.custom_data {
            // The limit is on what is stored, so check the merged result.
            let mut merged = current.account.custom_data.clone();
            latchkey_core::account::merge_custom_data(&mut merged, data.clone());
            check_custom_data(&merged)?;
        }
        let changes_account = patch.email.is_some()
            || patch.username.is_some()
            || patch.display_name.is_some()
            || patch.custom_data.is_some()
            || patch.disabled.is_some();
        if changes_account || update.role.is_some() {
            self.require_authority_over(caller, &current).await?;
        }
        if update.disabled == Some(true) && current.account.id == caller.account.id {
            return Err(ServiceError::Validation(
                "you cannot disable your own account".into(),
            ));
        }
        let role = update.role.as_deref().map(parse_role).transpose()?;
        if let Some(role) = &role {
            self.existing_role(tenant, role).await?;
            if current.account.id == caller.account.id
                && !role.is_admin()
                && current.role.is_admin()
            {
                return Err(ServiceError::Validation(
                    "you cannot remove your own administrator role".into(),
                ));
            }
        }
        let event = self.audit_event(
            Some(&tenant.id),
            Some(&caller.account.id),
            actions::ACCOUNT_UPDATE,
            Some(current.account.id.to_string()),
            AuditOutcome::Success,
            json!({
                "email": patch.email.is_some(),
                "username": patch.username.is_some(),
                "display_name": patch.display_name.is_some(),
                "custom_data": patch.custom_data.as_ref().map(|d| d.keys().cloned().collect::<Vec<_>>()),
                "disabled": patch.disabled,
                "role": role.as_ref().map(RoleName::as_str),
            }),
        );
        let role_change = role.filter(|role| *role != current.role);
        let account = self
            .store
            .update_account(
                &current.account.id,
                &patch,
                role_change.as_ref().map(|role| (&tenant.id, role)),
                self.clock.now(),
                &event,
            )
            .await?;
        let role = role_change.unwrap_or(current.role);
        Ok(MemberRecord { account, role })
    }

    /// Removes the account from the tenant; the account itself is deleted when this was
    /// its only membership (accounts are global and may belong to other tenants).
    pub async fn delete_member(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        id: &str,
    ) -> Result<(), ServiceError> {
        self.delete_member_for(caller, tenant, id, None).await
    }

    /// [`Services::delete_member`], recording in the audit event the person the client
    /// says it acts for (`acting_user`, e.g. Maestro's `Dadosfera-User` header). The
    /// label is the client's claim, not an identity Latchkey checked: the actor stays the
    /// token's account.
    pub async fn delete_member_for(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        id: &str,
        acting_user: Option<&str>,
    ) -> Result<(), ServiceError> {
        caller.require(&tenant.id, permissions::USERS_WRITE)?;
        let current = self.find_member(tenant, id).await?;
        if current.account.id == caller.account.id {
            return Err(ServiceError::Validation(
                "you cannot delete your own account here".into(),
            ));
        }
        let event = self.audit_event(
            Some(&tenant.id),
            Some(&caller.account.id),
            actions::ACCOUNT_DELETE,
            Some(current.account.id.to_string()),
            AuditOutcome::Success,
            match acting_user {
                Some(label) => {
                    json!({"email": current.account.email.as_str(), "acting_user": label})
                }
                None => json!({"email": current.account.email.as_str()}),
            },
        );
        self.require_authority_over(caller, &current).await?;
        // One store transaction removes the membership and, when it was the account's
        // last one, the account.
        self.store
            .remove_membership(&tenant.id, &current.account.id, self.clock.now(), &event)
            .await?;
        Ok(())
    }

    /// An administrator sets a member's password; the member's sessions end.
    pub async fn set_member_password(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        id: &str,
        password: &str,
    ) -> Result<(), ServiceError> {
        caller.require(&tenant.id, permissions::USERS_WRITE)?;
        let current = self.find_member(tenant, id).await?;
        self.require_authority_over(caller, &current).await?;
        let hash = self
            .checked_hash(
                tenant,
                password,
                &current.account.email,
                current.account.username.as_ref(),
            )
            .await?;
        let event = self.audit_event(
            Some(&tenant.id),
            Some(&caller.account.id),
            actions::PASSWORD_SET,
            Some(current.account.id.to_string()),
            AuditOutcome::Success,
            json!({}),
        );
        let keep = (current.account.id == caller.account.id).then_some(&caller.session_id);
        self.store
            .set_password_hash(
                &current.account.id,
                &hash,
                keep,
                Some(&super::auth::account_throttle_key(&current.account.id)),
                self.clock.now(),
                &event,
            )
            .await?;
        Ok(())
    }

    /// The caller changes its own password; other sessions end, this one stays.
    pub async fn change_own_password(
        &self,
        caller: &Caller,
        current_password: String,
        new_password: &str,
    ) -> Result<(), ServiceError> {
        caller.require(&caller.tenant.id, permissions::PROFILE_WRITE)?;
        // Guessing the current password with a stolen access token is throttled exactly
        // like guessing it at sign-in, on the same counter.
        self.reserve_attempt(
            &super::auth::account_throttle_key(&caller.account.id),
            self.clock.now(),
        )
        .await?;
        let stored = self.store.password_hash(&caller.account.id).await?;
        let matches = matches!(
            self.hasher.verify(current_password, stored).await?,
            crate::password::Verification::Match { .. }
        );
        if !matches {
            let event = self.audit_event(
                Some(&caller.tenant.id),
                Some(&caller.account.id),
                actions::PASSWORD_CHANGE,
                Some(caller.account.id.to_string()),
                AuditOutcome::Failure,
                json!({"reason": "current password incorrect"}),
            );
            self.store.append_audit(&event).await?;
            return Err(ServiceError::InvalidCredentials);
        }
        let hash = self
            .checked_hash(
                &caller.tenant,
                new_password,
                &caller.account.email,
                caller.account.username.as_ref(),
            )
            .await?;
        let event = self.audit_event(
            Some(&caller.tenant.id),
            Some(&caller.account.id),
            actions::PASSWORD_CHANGE,
            Some(caller.account.id.to_string()),
            AuditOutcome::Success,
            json!({}),
        );
        self.store
            .set_password_hash(
                &caller.account.id,
                &hash,
                Some(&caller.session_id),
                Some(&super::auth::account_throttle_key(&caller.account.id)),
                self.clock.now(),
                &event,
            )
            .await?;
        Ok(())
    }

    pub async fn member_sessions(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        id: &str,
    ) -> Result<Vec<Session>, ServiceError> {
        if !caller.is_self_in(&tenant.id, id) {
            caller.require(&tenant.id, permissions::SESSIONS_READ)?;
        }
        let member = self.find_member(tenant, id).await?;
        Ok(self
            .store
            .list_sessions(&tenant.id, &member.account.id, self.clock.now())
            .await?)
    }

    pub async fn revoke_member_session(
        &self,
        caller: &Caller,
        tenant: &Tenant,
        id: &str,
        session_id: &str,
    ) -> Result<(), ServiceError> {
        if !caller.is_self_in(&tenant.id, id) {
            caller.require(&tenant.id, permissions::SESSIONS_WRITE)?;
        }
        let member = self.find_member(tenant, id).await?;
        let session_id = SessionId::from_string(session_id.to_owned());
        let session = self
            .store
            .session(&session_id)
            .await?
            .filter(|s| s.account_id == member.account.id && s.tenant_id == tenant.id)
            .ok_or(ServiceError::NotFound("session"))?;
        let event = self.audit_event(
            Some(&tenant.id),
            Some(&caller.account.id),
            actions::SESSION_REVOKE,
            Some(session.id.to_string()),
            AuditOutcome::Success,
            json!({"account": member.account.id}),
        );
        if !self
            .store
            .revoke_session(&session.id, self.clock.now(), &event)
            .await?
        {
            return Err(ServiceError::NotFound("session"));
        }
        Ok(())
    }

    /// Account fields (password, email, names, custom data, disabled) are global, as is
    /// a platform administrator's standing: a tenant administrator may act on them only
    /// for accounts that belong to their tenant alone and are not platform
    /// administrators. Platform administrators may act on anyone, anyone on themselves.
    pub(super) async fn require_authority_over(
        &self,
        caller: &Caller,
        member: &MemberRecord,
    ) -> Result<(), ServiceError> {
        if caller.account.platform_admin || caller.account.id == member.account.id {
            return Ok(());
        }
        if member.account.platform_admin {
            return Err(ServiceError::Forbidden(
                "only platform administrators may change a platform administrator",
            ));
        }
        if self.store.memberships_of(&member.account.id).await?.len() > 1 {
            return Err(ServiceError::Forbidden(
                "this account also belongs to other tenants; only a platform administrator may change it",
            ));
        }
        Ok(())
    }

    pub(super) async fn find_member(
        &self,
        tenant: &Tenant,
        id: &str,
    ) -> Result<MemberRecord, ServiceError> {
        if !latchkey_core::id::is_id_shaped(id) {
            return Err(ServiceError::NotFound("user"));
        }
        let id = AccountId::from_string(id.to_owned());
        let membership = self
            .store
            .membership(&tenant.id, &id)
            .await?
            .ok_or(ServiceError::NotFound("user"))?;
        let account: Account = self
            .store
            .account_by_id(&id)
            .await?
            .ok_or(ServiceError::NotFound("user"))?;
        Ok(MemberRecord {
            account,
            role: membership.role,
        })
    }

    async fn existing_role(&self, tenant: &Tenant, role: &RoleName) -> Result<Role, ServiceError> {
        self.role_in(&tenant.id, role).await?.ok_or_else(|| {
            ServiceError::Validation(format!("role `{role}` does not exist in this tenant"))
        })
    }
}
