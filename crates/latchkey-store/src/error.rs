use thiserror::Error;

/// Which uniqueness rule a write broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConflictOn {
    Email,
    Username,
    TenantDomain,
    SigningKey,
    Other,
}

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("conflict on {0:?}")]
    Conflict(ConflictOn),
    /// A bulk import would duplicate an email address or username: `index` is the
    /// position in the batch of the first account that does; `repeats` the position of
    /// the earlier account of the batch it repeats, `None` when it clashes with a stored
    /// account.
    #[error("conflict on {on:?} at position {index} of the import")]
    ImportConflict {
        index: usize,
        on: ConflictOn,
        repeats: Option<usize>,
    },
    /// Stored data that does not parse back into the domain (a bug or manual tampering).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// A page cursor that this store did not hand out (client input, not stored data).
    #[error("invalid page cursor")]
    InvalidCursor,
    #[error("store configuration: {0}")]
    Config(String),
    #[error("database error")]
    Database(#[source] sqlx::Error),
    /// The batched commit a write was part of failed (see `group_commit`).
    #[error("commit failed: {0}")]
    Commit(String),
    #[error("migration failed")]
    Migration(#[from] sqlx::migrate::MigrateError),
}

pub type StoreResult<T> = Result<T, StoreError>;

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::RowNotFound => Self::NotFound,
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                // PostgreSQL names the constraint; SQLite names the columns in the message.
                let name = db
                    .constraint()
                    .map(str::to_owned)
                    .unwrap_or_else(|| db.message().to_owned());
                let on = if name.contains("email") {
                    ConflictOn::Email
                } else if name.contains("username") {
                    ConflictOn::Username
                } else if name.contains("domain") {
                    ConflictOn::TenantDomain
                } else if name.contains("signing_keys") {
                    ConflictOn::SigningKey
                } else {
                    ConflictOn::Other
                };
                Self::Conflict(on)
            }
            _ => Self::Database(error),
        }
    }
}
