//! A member's grants (`/api/v1/tenants/{tenant}/users/{id}/grants`) and external
//! authentications (`…/users/{id}/authentications`).

use latchkey_api::{
    CreateGrantRequest, CreatedGrantView, ExternalAuthRequest, ExternalAuthView, GrantView,
};
use reqwest::Method;

use crate::client::{Client, decode};
use crate::error::Error;

impl Client {
    /// `POST …/users/{id}/grants`: the answer holds the grant's refresh token, shown only
    /// this once (it does not rotate; keep it like a password).
    pub async fn create_grant(
        &self,
        tenant: &str,
        user_id: &str,
        request: &CreateGrantRequest,
    ) -> Result<CreatedGrantView, Error> {
        let url = self.endpoint(&["tenants", tenant, "users", user_id, "grants"])?;
        let resp = self.send_bearer(Method::POST, url, Some(request)).await?;
        decode(resp, "CreatedGrantView").await
    }

    /// `GET …/users/{id}/grants`: the member's active grants, newest first.
    pub async fn list_grants(&self, tenant: &str, user_id: &str) -> Result<Vec<GrantView>, Error> {
        let url = self.endpoint(&["tenants", tenant, "users", user_id, "grants"])?;
        let resp = self.send_bearer::<()>(Method::GET, url, None).await?;
        decode(resp, "Vec<GrantView>").await
    }

    /// `DELETE …/users/{id}/grants/{gid}`.
    pub async fn revoke_grant(
        &self,
        tenant: &str,
        user_id: &str,
        grant_id: &str,
    ) -> Result<(), Error> {
        let url = self.endpoint(&["tenants", tenant, "users", user_id, "grants", grant_id])?;
        self.send_bearer::<()>(Method::DELETE, url, None).await?;
        Ok(())
    }

    /// `PUT …/users/{id}/authentications/{service}`: creates or replaces it.
    pub async fn put_authentication(
        &self,
        tenant: &str,
        user_id: &str,
        service: &str,
        request: &ExternalAuthRequest,
    ) -> Result<ExternalAuthView, Error> {
        let url = self.endpoint(&[
            "tenants",
            tenant,
            "users",
            user_id,
            "authentications",
            service,
        ])?;
        let resp = self.send_bearer(Method::PUT, url, Some(request)).await?;
        decode(resp, "ExternalAuthView").await
    }

    /// `GET …/users/{id}/authentications/{service}`, with its credentials.
    pub async fn get_authentication(
        &self,
        tenant: &str,
        user_id: &str,
        service: &str,
    ) -> Result<ExternalAuthView, Error> {
        let url = self.endpoint(&[
            "tenants",
            tenant,
            "users",
            user_id,
            "authentications",
            service,
        ])?;
        let resp = self.send_bearer::<()>(Method::GET, url, None).await?;
        decode(resp, "ExternalAuthView").await
    }

    /// `GET …/users/{id}/authentications`, ordered by service.
    pub async fn list_authentications(
        &self,
        tenant: &str,
        user_id: &str,
    ) -> Result<Vec<ExternalAuthView>, Error> {
        let url = self.endpoint(&["tenants", tenant, "users", user_id, "authentications"])?;
        let resp = self.send_bearer::<()>(Method::GET, url, None).await?;
        decode(resp, "Vec<ExternalAuthView>").await
    }

    /// `DELETE …/users/{id}/authentications/{service}`.
    pub async fn delete_authentication(
        &self,
        tenant: &str,
        user_id: &str,
        service: &str,
    ) -> Result<(), Error> {
        let url = self.endpoint(&[
            "tenants",
            tenant,
            "users",
            user_id,
            "authentications",
            service,
        ])?;
        self.send_bearer::<()>(Method::DELETE, url, None).await?;
        Ok(())
    }
}
