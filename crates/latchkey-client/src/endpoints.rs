//! One typed method per endpoint of the native API.

use latchkey_api::{
    AcceptTermsRequest, PublishTermsRequest, TermsListView, TermsOfUseView, TermsVersionView,
};
use latchkey_api::{
    AccountView, ApplicationView, AuditEventView, ChangePasswordRequest, ConfirmTotpRequest,
    CreateApplicationRequest, CreateTenantRequest, CreateUserRequest, DisableTotpRequest,
    ListUsersQuery, MeView, MfaStatusView, Page, PageQuery, RotateKeyRequest, SessionView,
    SetPasswordRequest, SigningKeyView, TenantView, TotpEnrolmentView, UpdateTenantRequest,
    UpdateUserRequest,
};
use latchkey_api::{ImpersonationView, PutRoleRequest, RoleView};
use reqwest::{Method, StatusCode, Url};

use crate::client::{Client, decode};
use crate::error::{Error, api_error};

impl Client {
    /// `GET /api/v1/me`: the signed-in account, its membership and permissions.
    pub async fn me(&self) -> Result<MeView, Error> {
        let url = self.endpoint(&["me"])?;
        let resp = self.send_bearer::<()>(Method::GET, url, None).await?;
        decode(resp, "MeView").await
    }

    /// `PUT /api/v1/me/password`.
    pub async fn change_password(
        &self,
        current_password: &str,
        new_password: &str,
    ) -> Result<(), Error> {
        let url = self.endpoint(&["me", "password"])?;
        let body = ChangePasswordRequest {
            current_password: current_password.to_owned(),
            new_password: new_password.to_owned(),
        };
        self.send_bearer(Method::PUT, url, Some(&body)).await?;
        Ok(())
    }

    /// `GET /api/v1/me/mfa`: the caller's multi-factor status.
    pub async fn mfa_status(&self) -> Result<MfaStatusView, Error> {
        let url = self.endpoint(&["me", "mfa"])?;
        let resp = self.send_bearer::<()>(Method::GET, url, None).await?;
        decode(resp, "MfaStatusView").await
    }

    /// `POST /api/v1/me/mfa/totp`: starts enrolling an authenticator app. The answer holds
    /// the secret and the recovery codes, shown only this once (its `Debug` prints them:
    /// do not log it). Confirm with [`Client::confirm_totp`].
    pub async fn enrol_totp(&self) -> Result<TotpEnrolmentView, Error> {
        let url = self.endpoint(&["me", "mfa", "totp"])?;
        let resp = self.send_bearer::<()>(Method::POST, url, None).await?;
        decode(resp, "TotpEnrolmentView").await
    }

    /// `POST /api/v1/me/mfa/totp/confirm`: activates the pending authenticator.
    pub async fn confirm_totp(&self, code: &str) -> Result<(), Error> {
        let url = self.endpoint(&["me", "mfa", "totp", "confirm"])?;
        let body = ConfirmTotpRequest {
            code: code.to_owned(),
        };
        self.send_bearer(Method::POST, url, Some(&body)).await?;
        Ok(())
    }

    /// `DELETE /api/v1/me/mfa/totp`: turns the authenticator off; `code` is a current
    /// TOTP code or a recovery code.
    pub async fn disable_totp(&self, password: &str, code: &str) -> Result<(), Error> {
        let url = self.endpoint(&["me", "mfa", "totp"])?;
        let body = DisableTotpRequest {
            password: password.to_owned(),
            code: code.to_owned(),
        };
        self.send_bearer(Method::DELETE, url, Some(&body)).await?;
        Ok(())
    }

    /// `DELETE /api/v1/tenants/{tenant}/users/{id}/mfa`: an administrator removes a
    /// member's authenticator.
    pub async fn reset_user_mfa(&self, tenant: &str, id: &str) -> Result<(), Error> {
        let url = self.endpoint(&["tenants", tenant, "users", id, "mfa"])?;
        self.send_bearer::<()>(Method::DELETE, url, None).await?;
        Ok(())
    }

    /// `POST /api/v1/tenants/{tenant}/terms`: publish a version of the terms of use.
    pub async fn publish_terms(
        &self,
        tenant: &str,
        request: &PublishTermsRequest,
    ) -> Result<TermsVersionView, Error> {
        let url = self.endpoint(&["tenants", tenant, "terms"])?;
        let resp = self.send_bearer(Method::POST, url, Some(request)).await?;
        decode(resp, "TermsVersionView").await
    }

    /// `GET /api/v1/tenants/{tenant}/terms`: the versions, newest first.
    pub async fn list_terms(&self, tenant: &str) -> Result<Vec<TermsVersionView>, Error> {
        let url = self.endpoint(&["tenants", tenant, "terms"])?;
        let resp = self.send_bearer::<()>(Method::GET, url, None).await?;
        let list: TermsListView = decode(resp, "TermsListView").await?;
        Ok(list.items)
    }

    /// `GET /api/v1/me/terms`: where the signed-in account stands with the terms.
    pub async fn own_terms(&self) -> Result<TermsOfUseView, Error> {
        let url = self.endpoint(&["me", "terms"])?;
        let resp = self.send_bearer::<()>(Method::GET, url, None).await?;
        decode(resp, "TermsOfUseView").await
    }

    /// `POST /api/v1/me/terms/accept`: accept `version` of the terms of use.
    pub async fn accept_terms(&self, version: i64) -> Result<TermsOfUseView, Error> {
        let url = self.endpoint(&["me", "terms", "accept"])?;
        let body = AcceptTermsRequest { version };
        let resp = self.send_bearer(Method::POST, url, Some(&body)).await?;
        decode(resp, "TermsOfUseView").await
    }

    /// `GET /api/v1/tenants`: one page of tenants.
    pub async fn list_tenants(&self, query: &PageQuery) -> Result<Page<TenantView>, Error> {
        let mut url = self.endpoint(&["tenants"])?;
        page_query(&mut url, query);
        let resp = self.send_bearer::<()>(Method::GET, url, None).await?;
        decode(resp, "Page<TenantView>").await
    }

    /// `POST /api/v1/tenants`.
    pub async fn create_tenant(&self, request: &CreateTenantRequest) -> Result<TenantView, Error> {
        let url = self.endpoint(&["tenants"])?;
        let resp = self.send_bearer(Method::POST, url, Some(request)).await?;
        decode(resp, "TenantView").await
    }

    /// `GET /api/v1/tenants/{tenant}`.
    pub async fn get_tenant(&self, tenant: &str) -> Result<TenantView, Error> {
        let url = self.endpoint(&["tenants", tenant])?;
        let resp = self.send_bearer::<()>(Method::GET, url, None).await?;
        decode(resp, "TenantView").await
    }

    /// `PATCH /api/v1/tenants/{tenant}`.
    pub async fn update_tenant(
        &self,
        tenant: &str,
        request: &UpdateTenantRequest,
    ) -> Result<TenantView, Error> {
        let url = self.endpoint(&["tenants", tenant])?;
        let resp = self.send_bearer(Method::PATCH, url, Some(request)).await?;
        decode(resp, "TenantView").await
    }

    /// `DELETE /api/v1/tenants/{tenant}`.
    pub async fn delete_tenant(&self, tenant: &str) -> Result<(), Error> {
        let url = self.endpoint(&["tenants", tenant])?;
        self.send_bearer::<()>(Method::DELETE, url, None).await?;
        Ok(())
    }

    /// `GET /api/v1/tenants/{tenant}/users`: one page of the tenant's accounts.
    pub async fn list_users(
        &self,
        tenant: &str,
        query: &ListUsersQuery,
    ) -> Result<Page<AccountView>, Error> {
        let mut url = self.endpoint(&["tenants", tenant, "users"])?;
        users_query(&mut url, query);
        let resp = self.send_bearer::<()>(Method::GET, url, None).await?;
        decode(resp, "Page<AccountView>").await
    }

    /// `POST /api/v1/tenants/{tenant}/users`.
    pub async fn create_user(
        &self,
        tenant: &str,
        request: &CreateUserRequest,
    ) -> Result<AccountView, Error> {
        let url = self.endpoint(&["tenants", tenant, "users"])?;
        let resp = self.send_bearer(Method::POST, url, Some(request)).await?;
        decode(resp, "AccountView").await
    }

    /// `GET /api/v1/tenants/{tenant}/users/{id}`.
    pub async fn get_user(&self, tenant: &str, id: &str) -> Result<AccountView, Error> {
        let url = self.endpoint(&["tenants", tenant, "users", id])?;
        let resp = self.send_bearer::<()>(Method::GET, url, None).await?;
        decode(resp, "AccountView").await
    }

    /// `PATCH /api/v1/tenants/{tenant}/users/{id}`.
    pub async fn update_user(
        &self,
        tenant: &str,
        id: &str,
        request: &UpdateUserRequest,
    ) -> Result<AccountView, Error> {
        let url = self.endpoint(&["tenants", tenant, "users", id])?;
        let resp = self.send_bearer(Method::PATCH, url, Some(request)).await?;
        decode(resp, "AccountView").await
    }

    /// `DELETE /api/v1/tenants/{tenant}/users/{id}`.
    pub async fn delete_user(&self, tenant: &str, id: &str) -> Result<(), Error> {
        let url = self.endpoint(&["tenants", tenant, "users", id])?;
        self.send_bearer::<()>(Method::DELETE, url, None).await?;
        Ok(())
    }

    /// `PUT /api/v1/tenants/{tenant}/users/{id}/password`.
    pub async fn set_user_password(
        &self,
        tenant: &str,
        id: &str,
        password: &str,
    ) -> Result<(), Error> {
        let url = self.endpoint(&["tenants", tenant, "users", id, "password"])?;
        let body = SetPasswordRequest {
            password: password.to_owned(),
        };
        self.send_bearer(Method::PUT, url, Some(&body)).await?;
        Ok(())
    }

    /// `GET /api/v1/tenants/{tenant}/users/{id}/sessions`.
    pub async fn list_sessions(
        &self,
        tenant: &str,
        user_id: &str,
    ) -> Result<Vec<SessionView>, Error> {
        let url = self.endpoint(&["tenants", tenant, "users", user_id, "sessions"])?;
        let resp = self.send_bearer::<()>(Method::GET, url, None).await?;
        decode(resp, "Vec<SessionView>").await
    }

    /// `DELETE /api/v1/tenants/{tenant}/users/{id}/sessions/{sid}`.
    pub async fn revoke_session(
        &self,
        tenant: &str,
        user_id: &str,
        session_id: &str,
    ) -> Result<(), Error> {
        let url = self.endpoint(&["tenants", tenant, "users", user_id, "sessions", session_id])?;
        self.send_bearer::<()>(Method::DELETE, url, None).await?;
        Ok(())
    }

    /// `GET /api/v1/tenants/{tenant}/audit`: one page of the audit log.
    pub async fn list_audit(
        &self,
        tenant: &str,
        query: &PageQuery,
    ) -> Result<Page<AuditEventView>, Error> {
        let mut url = self.endpoint(&["tenants", tenant, "audit"])?;
        page_query(&mut url, query);
        let resp = self.send_bearer::<()>(Method::GET, url, None).await?;
        decode(resp, "Page<AuditEventView>").await
    }

    /// `POST /api/v1/tenants/{tenant}/keys/rotate`: a new signing key, with `algorithm`
    /// (`RS256` or `ES256`) or, when `None`, the active key's algorithm.
    pub async fn rotate_keys(
        &self,
        tenant: &str,
        algorithm: Option<&str>,
    ) -> Result<SigningKeyView, Error> {
        let url = self.endpoint(&["tenants", tenant, "keys", "rotate"])?;
        let body = RotateKeyRequest {
            algorithm: algorithm.map(str::to_owned),
        };
        let resp = self.send_bearer(Method::POST, url, Some(&body)).await?;
        decode(resp, "SigningKeyView").await
    }

    /// `GET /api/v1/tenants/{tenant}/applications`: the tenant's applications (OAuth
    /// clients) by client id, `admin-cli` included. Not paged; never holds a secret.
    pub async fn list_applications(&self, tenant: &str) -> Result<Vec<ApplicationView>, Error> {
        let url = self.endpoint(&["tenants", tenant, "applications"])?;
        let resp = self.send_bearer::<()>(Method::GET, url, None).await?;
        decode(resp, "Vec<ApplicationView>").await
    }

    /// `POST /api/v1/tenants/{tenant}/applications`. For a confidential client the answer's
    /// `client_secret` is the only copy of the secret: store it now. (`ApplicationView`
    /// derives `Debug`, which prints the secret: do not log the answer.)
    pub async fn create_application(
        &self,
        tenant: &str,
        request: &CreateApplicationRequest,
    ) -> Result<ApplicationView, Error> {
        let url = self.endpoint(&["tenants", tenant, "applications"])?;
        let resp = self.send_bearer(Method::POST, url, Some(request)).await?;
        decode(resp, "ApplicationView").await
    }

    /// `GET /api/v1/tenants/{tenant}/applications/{client_id}` (without the secret).
    pub async fn get_application(
        &self,
        tenant: &str,
        client_id: &str,
    ) -> Result<ApplicationView, Error> {
        let url = self.endpoint(&["tenants", tenant, "applications", client_id])?;
        let resp = self.send_bearer::<()>(Method::GET, url, None).await?;
        decode(resp, "ApplicationView").await
    }

    /// `DELETE /api/v1/tenants/{tenant}/applications/{client_id}` (not `admin-cli`).
    pub async fn delete_application(&self, tenant: &str, client_id: &str) -> Result<(), Error> {
        let url = self.endpoint(&["tenants", tenant, "applications", client_id])?;
        self.send_bearer::<()>(Method::DELETE, url, None).await?;
        Ok(())
    }

    /// `POST /api/v1/tenants/{tenant}/applications/{client_id}/rotate-secret`: a new secret
    /// for a confidential client, in the answer's `client_secret` only; the old one stops
    /// working at once. (Do not log the answer: its `Debug` shows the secret.)
    pub async fn rotate_application_secret(
        &self,
        tenant: &str,
        client_id: &str,
    ) -> Result<ApplicationView, Error> {
        let url = self.endpoint(&[
            "tenants",
            tenant,
            "applications",
            client_id,
            "rotate-secret",
        ])?;
        let resp = self.send_bearer::<()>(Method::POST, url, None).await?;
        decode(resp, "ApplicationView").await
    }

    /// `GET /api/v1/tenants/{tenant}/roles`: the tenant's roles, built-in and custom, by
    /// name.
    pub async fn list_roles(&self, tenant: &str) -> Result<Vec<RoleView>, Error> {
        let url = self.endpoint(&["tenants", tenant, "roles"])?;
        let resp = self.send_bearer::<()>(Method::GET, url, None).await?;
        decode(resp, "Vec<RoleView>").await
    }

    /// `PUT /api/v1/tenants/{tenant}/roles/{name}`: creates the custom role or replaces
    /// its permissions (built-in roles cannot change).
    pub async fn put_role(
        &self,
        tenant: &str,
        name: &str,
        permissions: &[String],
    ) -> Result<RoleView, Error> {
        let url = self.endpoint(&["tenants", tenant, "roles", name])?;
        let body = PutRoleRequest {
            permissions: permissions.to_vec(),
        };
        let resp = self.send_bearer(Method::PUT, url, Some(&body)).await?;
        decode(resp, "RoleView").await
    }

    /// `DELETE /api/v1/tenants/{tenant}/roles/{name}` (refused while members hold it).
    pub async fn delete_role(&self, tenant: &str, name: &str) -> Result<(), Error> {
        let url = self.endpoint(&["tenants", tenant, "roles", name])?;
        self.send_bearer::<()>(Method::DELETE, url, None).await?;
        Ok(())
    }

    /// `POST /api/v1/tenants/{tenant}/users/{id}/impersonation`: a single-use token that
    /// signs in as the member for the next 120 seconds (treat it as a password).
    pub async fn impersonate_user(
        &self,
        tenant: &str,
        id: &str,
    ) -> Result<ImpersonationView, Error> {
        let url = self.endpoint(&["tenants", tenant, "users", id, "impersonation"])?;
        let resp = self.send_bearer::<()>(Method::POST, url, None).await?;
        decode(resp, "ImpersonationView").await
    }

    /// `GET /healthz`: `Ok` when the process is up.
    pub async fn health(&self) -> Result<(), Error> {
        let url = self.probe_url("healthz")?;
        self.send::<()>(Method::GET, url, None, None).await?;
        Ok(())
    }

    /// `GET /readyz`: whether the server can serve requests (`false` on 503).
    pub async fn ready(&self) -> Result<bool, Error> {
        let url = self.probe_url("readyz")?;
        let resp = self.http.get(url).send().await?;
        let status = resp.status();
        if status.is_success() {
            Ok(true)
        } else if status == StatusCode::SERVICE_UNAVAILABLE {
            Ok(false)
        } else {
            let body = resp.bytes().await?;
            Err(api_error(status.as_u16(), &body))
        }
    }

    /// `{base}/{name}`: the probes live at the server root, outside `/api/v1`.
    fn probe_url(&self, name: &str) -> Result<Url, Error> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| Error::InvalidInput("server URL cannot be a base".to_owned()))?
            .pop_if_empty()
            .push(name);
        Ok(url)
    }
}

fn page_query(url: &mut Url, query: &PageQuery) {
    append_pairs(
        url,
        &[
            ("limit", query.limit.map(|l| l.to_string())),
            ("after", query.after.clone()),
        ],
    );
}

fn users_query(url: &mut Url, query: &ListUsersQuery) {
    append_pairs(
        url,
        &[
            ("limit", query.limit.map(|l| l.to_string())),
            ("after", query.after.clone()),
            ("email", query.email.clone()),
            ("role", query.role.clone()),
            ("inactive_since", query.inactive_since.clone()),
        ],
    );
}

/// Appends the present pairs; leaves the URL without a `?` when none is.
fn append_pairs(url: &mut Url, pairs: &[(&str, Option<String>)]) {
    if pairs.iter().all(|(_, v)| v.is_none()) {
        return;
    }
    let mut serializer = url.query_pairs_mut();
    for (key, value) in pairs {
        if let Some(value) = value {
            serializer.append_pair(key, value);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn url() -> Url {
        Url::parse("http://h/api/v1/tenants/default/users").unwrap()
    }

    #[test]
    fn empty_queries_add_nothing() {
        let mut u = url();
        users_query(&mut u, &ListUsersQuery::default());
        assert_eq!(u.as_str(), "http://h/api/v1/tenants/default/users");
        page_query(&mut u, &PageQuery::default());
        assert_eq!(u.query(), None);
    }

    #[test]
    fn encodes_user_filters() {
        let mut u = url();
        users_query(
            &mut u,
            &ListUsersQuery {
                limit: Some(10),
                after: Some("abc=".into()),
                email: Some("a+b@x".into()),
                role: Some("admin".into()),
                inactive_since: Some("2024-01-02T00:00:00+01:00".into()),
            },
        );
        assert_eq!(
            u.query(),
            Some(
                "limit=10&after=abc%3D&email=a%2Bb%40x&role=admin&inactive_since=2024-01-02T00%3A00%3A00%2B01%3A00"
            )
        );
    }

    #[test]
    fn application_paths() {
        let client = Client::new("http://h/").unwrap();
        let url = client
            .endpoint(&[
                "tenants",
                "default",
                "applications",
                "my-app.v2:web_1",
                "rotate-secret",
            ])
            .unwrap();
        assert_eq!(
            url.as_str(),
            "http://h/api/v1/tenants/default/applications/my-app.v2:web_1/rotate-secret"
        );
    }

    #[test]
    fn a_malformed_application_answer_does_not_leak_its_secret() {
        let body =
            r#"{"client_id":"svc","public":false,"client_secret":"s3cr3t-value","grant_types":7}"#;
        let err = serde_json::from_str::<ApplicationView>(body).unwrap_err();
        let err = Error::Decode(crate::error::DecodeError::new(201, "ApplicationView", &err));
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("s3cr3t-value"), "{shown}");
        assert!(shown.contains("ApplicationView"), "{shown}");
    }

    #[test]
    fn probes_live_at_the_root() {
        let client = Client::new("http://h:1/prefix/").unwrap();
        assert_eq!(
            client.probe_url("readyz").unwrap().as_str(),
            "http://h:1/prefix/readyz"
        );
    }
}
