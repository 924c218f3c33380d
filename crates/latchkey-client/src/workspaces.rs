//! Self-service: signup (`POST /api/v1/signup`), the signed-in account's own tenants
//! (`/api/v1/me/tenants`), members added by email and a tenant's password policy.

use latchkey_api::{
    AddMembersRequest, AddedMemberView, AddedMembersView, CreateOwnTenantRequest, MyTenantView,
    MyTenantsQuery, MyTenantsView, PasswordPolicyDocument, SignUpRequest, SignUpResponse,
    TenantView,
};
use reqwest::{Method, Url};

use crate::client::{Client, decode};
use crate::error::Error;

impl Client {
    /// `POST /api/v1/signup`: creates an account and a tenant it administers. Needs no
    /// session and does not sign in: call [`Client::sign_in`] with the answer's tenant
    /// domain for that. A server with signup disabled answers 403 (`forbidden`).
    pub async fn sign_up(&self, request: &SignUpRequest) -> Result<SignUpResponse, Error> {
        let url = self.endpoint(&["signup"])?;
        let resp = self.send(Method::POST, url, Some(request), None).await?;
        decode(resp, "SignUpResponse").await
    }

    /// `GET /api/v1/me/tenants`: the tenants the signed-in account belongs to, by domain,
    /// with its role in each (only those it administers with `admin_only`).
    pub async fn list_my_tenants(
        &self,
        query: &MyTenantsQuery,
    ) -> Result<Vec<MyTenantView>, Error> {
        let mut url = self.endpoint(&["me", "tenants"])?;
        my_tenants_query(&mut url, query);
        let resp = self.send_bearer::<()>(Method::GET, url, None).await?;
        let list: MyTenantsView = decode(resp, "MyTenantsView").await?;
        Ok(list.items)
    }

    /// `POST /api/v1/me/tenants`: a tenant administered by the signed-in account, its
    /// domain generated from `title`.
    pub async fn create_my_tenant(&self, title: &str) -> Result<TenantView, Error> {
        let url = self.endpoint(&["me", "tenants"])?;
        let body = CreateOwnTenantRequest {
            title: title.to_owned(),
        };
        let resp = self.send_bearer(Method::POST, url, Some(&body)).await?;
        decode(resp, "TenantView").await
    }

    /// `DELETE /api/v1/me/tenants/{tenant}`: a tenant the signed-in account administers
    /// (the server refuses the tenant of the session in use).
    pub async fn delete_my_tenant(&self, tenant: &str) -> Result<(), Error> {
        let url = self.endpoint(&["me", "tenants", tenant])?;
        self.send_bearer::<()>(Method::DELETE, url, None).await?;
        Ok(())
    }

    /// `POST /api/v1/tenants/{tenant}/members`: adds the accounts of `request.emails`
    /// with `request.role` (or sets the role of those already members). An address
    /// without an account gets one without a password (an invitation).
    pub async fn add_members(
        &self,
        tenant: &str,
        request: &AddMembersRequest,
    ) -> Result<Vec<AddedMemberView>, Error> {
        let url = self.endpoint(&["tenants", tenant, "members"])?;
        let resp = self.send_bearer(Method::POST, url, Some(request)).await?;
        let list: AddedMembersView = decode(resp, "AddedMembersView").await?;
        Ok(list.items)
    }

    /// `GET /api/v1/tenants/{tenant}/password-policy`: what a password must satisfy there
    /// (any member may read it).
    pub async fn password_policy(&self, tenant: &str) -> Result<PasswordPolicyDocument, Error> {
        let url = self.endpoint(&["tenants", tenant, "password-policy"])?;
        let resp = self.send_bearer::<()>(Method::GET, url, None).await?;
        decode(resp, "PasswordPolicyDocument").await
    }
}

fn my_tenants_query(url: &mut Url, query: &MyTenantsQuery) {
    if let Some(admin_only) = query.admin_only {
        url.query_pairs_mut()
            .append_pair("admin_only", if admin_only { "true" } else { "false" });
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn url() -> Url {
        Url::parse("http://h/api/v1/me/tenants").unwrap()
    }

    #[test]
    fn admin_only_is_sent_only_when_set() {
        let mut u = url();
        my_tenants_query(&mut u, &MyTenantsQuery::default());
        assert_eq!(u.query(), None);
        for (admin_only, expected) in [(true, "admin_only=true"), (false, "admin_only=false")] {
            let mut u = url();
            my_tenants_query(
                &mut u,
                &MyTenantsQuery {
                    admin_only: Some(admin_only),
                },
            );
            assert_eq!(u.query(), Some(expected));
        }
    }
}
