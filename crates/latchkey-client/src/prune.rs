//! Dormant-account clean-up: `POST /api/v1/tenants/{tenant}/users/prune` and
//! `…/users/restore`.

use latchkey_api::{
    PruneBatchResponse, PrunePreview, PruneUsersRequest, RestoreUsersRequest, RestoreUsersResponse,
};
use reqwest::Method;

use crate::client::{Client, decode};
use crate::error::Error;

impl Client {
    /// A dry run: one page of the members a prune would remove (`request.dry_run` is
    /// set to true). Pass the page's `next` as `after` for the following page.
    pub async fn preview_prune(
        &self,
        tenant: &str,
        request: &PruneUsersRequest,
    ) -> Result<PrunePreview, Error> {
        let request = PruneUsersRequest {
            dry_run: true,
            ..request.clone()
        };
        let url = self.endpoint(&["tenants", tenant, "users", "prune"])?;
        let resp = self.send_bearer(Method::POST, url, Some(&request)).await?;
        decode(resp, "PrunePreview").await
    }

    /// A real run's next batch (`request.dry_run` is set to false): the server removes
    /// at most one batch per call. Call again with `after` = the answer's `next` while
    /// `remaining` is true; a run started afresh continues an interrupted one.
    pub async fn prune_batch(
        &self,
        tenant: &str,
        request: &PruneUsersRequest,
    ) -> Result<PruneBatchResponse, Error> {
        let request = PruneUsersRequest {
            dry_run: false,
            ..request.clone()
        };
        let url = self.endpoint(&["tenants", tenant, "users", "prune"])?;
        let resp = self.send_bearer(Method::POST, url, Some(&request)).await?;
        decode(resp, "PruneBatchResponse").await
    }

    /// Brings pruned members back (all or none) within the server's retention period.
    pub async fn restore_users(&self, tenant: &str, ids: &[String]) -> Result<u64, Error> {
        let url = self.endpoint(&["tenants", tenant, "users", "restore"])?;
        let body = RestoreUsersRequest { ids: ids.to_vec() };
        let resp = self.send_bearer(Method::POST, url, Some(&body)).await?;
        let answer: RestoreUsersResponse = decode(resp, "RestoreUsersResponse").await?;
        Ok(answer.restored)
    }
}
