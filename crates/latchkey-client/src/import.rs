//! Bulk import: `POST /api/v1/tenants/{tenant}/users/import`, one request at a time or
//! an iterator sent in batches.

use latchkey_api::{ImportUser, ImportUsersResponse};
use reqwest::Method;
use reqwest::header::CONTENT_TYPE;

use crate::client::{Client, decode};
use crate::error::Error;

/// The most accounts the server takes in one import request.
pub const MAX_IMPORT_BATCH: usize = 10_000;

/// A batched import stopped at a refused batch. The batches before it stay imported.
#[derive(Debug, thiserror::Error)]
#[error("the import stopped after {imported} accounts: {error}")]
pub struct ImportStopped {
    /// Accounts imported by the earlier batches.
    pub imported: u64,
    /// Why the batch was refused. For a refused line, its problem's `line` counts from
    /// the batch's first account: the failing item is number `imported + line` (from 1)
    /// of the iterator.
    #[source]
    pub error: Error,
}

impl Client {
    /// `POST /api/v1/tenants/{tenant}/users/import`: creates every account of `users` as
    /// a member of the tenant, or none of them. At most [`MAX_IMPORT_BATCH`] accounts
    /// and 16 MiB; passwords only as argon2id hashes. Returns how many were created.
    pub async fn import_users(&self, tenant: &str, users: &[ImportUser]) -> Result<u64, Error> {
        let mut body = Vec::with_capacity(users.len() * 96);
        for (index, user) in users.iter().enumerate() {
            serde_json::to_writer(&mut body, user).map_err(|e| {
                Error::InvalidInput(format!("account {} cannot be encoded: {e}", index + 1))
            })?;
            body.push(b'\n');
        }
        self.import_users_ndjson(tenant, body).await
    }

    /// [`Client::import_users`] for a body that already is NDJSON (one `ImportUser`
    /// object per line, e.g. lines read from a file), sent as it is: the server checks
    /// it, and a refused line is named by its number in `ndjson` (blank lines counted).
    pub async fn import_users_ndjson(&self, tenant: &str, ndjson: Vec<u8>) -> Result<u64, Error> {
        let body = ndjson;
        let url = self.endpoint(&["tenants", tenant, "users", "import"])?;
        let resp = self
            .send_bearer_with(Method::POST, url, |request| {
                request
                    .header(CONTENT_TYPE, "application/x-ndjson")
                    .body(body.clone())
            })
            .await?;
        let answer: ImportUsersResponse = decode(resp, "ImportUsersResponse").await?;
        Ok(answer.imported)
    }

    /// Imports `users` in requests of `batch_size` accounts (clamped to
    /// 1..=[`MAX_IMPORT_BATCH`]), reading the iterator one batch at a time. Each request
    /// is all or nothing; a refused one stops the import, and those before it stay.
    pub async fn import_users_in_batches<I>(
        &self,
        tenant: &str,
        users: I,
        batch_size: usize,
    ) -> Result<u64, ImportStopped>
    where
        I: IntoIterator<Item = ImportUser>,
    {
        let batch_size = batch_size.clamp(1, MAX_IMPORT_BATCH);
        let mut users = users.into_iter();
        let mut imported = 0;
        loop {
            let batch: Vec<ImportUser> = users.by_ref().take(batch_size).collect();
            if batch.is_empty() {
                return Ok(imported);
            }
            match self.import_users(tenant, &batch).await {
                Ok(count) => imported += count,
                Err(error) => return Err(ImportStopped { imported, error }),
            }
        }
    }
}
