//! The embedded backend: one SQLite file, for a single node.

use std::path::Path;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::group_commit::{GroupCommit, Lane};
use crate::{StoreError, StoreResult};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

/// Connections reading concurrently with the writer (WAL lets readers and one writer
/// proceed together).
const READERS: u32 = 4;

/// The writer's page cache, in KiB (a negative `cache_size` counts KiB, not pages).
/// SQLite's default of 2 MiB is exhausted by one bulk import of a few thousand accounts:
/// dirty pages then spill to the WAL mid-transaction and index pages are re-read from
/// the OS for every row. 16 MiB is the compromise with the memory budget (≤ 100 MB of
/// RSS with a million accounts): measured on 2 cores, importing 1,000,000 accounts left
/// the server at 89 MB with 16 MiB, while 64 MiB (which imported roughly twice as fast)
/// was at 134 MB after only 200,000. The readers keep the default.
const WRITER_CACHE_SIZE: &str = "-16384";

/// A SQLite database file.
///
/// SQLite admits one writer at a time and answers `SQLITE_BUSY` to the others once the
/// busy timeout runs out. Every transaction that may write therefore goes through a pool
/// of exactly one connection, so our own writers queue in the pool instead of contending
/// inside SQLite; reads use a separate pool of query-only connections.
pub struct SqliteStore {
    /// Commits the writer's transactions in groups (see `group_commit`).
    group: GroupCommit,
    reader: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating it and its directory if missing) and migrates the database at `path`.
    pub async fn open(path: &Path) -> StoreResult<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Config(format!("cannot create directory {}: {e}", dir.display()))
            })?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL syncs the WAL on every commit: a sign-in or revocation that was
            // acknowledged survives a power cut.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(
                options
                    .clone()
                    .create_if_missing(true)
                    .pragma("cache_size", WRITER_CACHE_SIZE),
            )
            .await?;
        MIGRATOR.run(&writer).await?;
        // `query_only` rather than opening read-only: a read-only connection cannot
        // create the WAL index (-shm) file if the writer has not yet.
        let reader = SqlitePoolOptions::new()
            .max_connections(READERS)
            .connect_with(options.pragma("query_only", "ON"))
            .await?;
        Ok(Self {
            group: GroupCommit::new(writer),
            reader,
        })
    }

    /// Closes both pools, waiting for connections in use to be returned.
    pub async fn close(&self) {
        self.group.close().await;
        self.reader.close().await;
        self.group.pool().close().await;
    }

    async fn write_lane(&self) -> StoreResult<Lane<'_>> {
        self.group.lane().await
    }

    fn reader(&self) -> &SqlitePool {
        &self.reader
    }
}

crate::sql::impl_store!(
    SqliteStore,
    sqlx::Sqlite,
    backend = "sqlite",
    for_update = ""
);

crate::sql::prune::impl_prune!(SqliteStore, sqlx::Sqlite, refresh_statistics = "");

crate::sql::groups::impl_groups!(SqliteStore, sqlx::Sqlite, for_update = "");
