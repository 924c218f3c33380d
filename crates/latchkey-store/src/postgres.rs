//! The shared backend: one PostgreSQL database for several Latchkey nodes.

use std::time::Duration;

use sqlx::PgPool;
use sqlx::migrate::Migrator;
use sqlx::postgres::PgPoolOptions;

use crate::StoreResult;

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

const MAX_CONNECTIONS: u32 = 10;

/// A PostgreSQL database. Transactions run concurrently (READ COMMITTED), so every
/// read-modify-write locks the row it read with `SELECT … FOR UPDATE`.
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to `url` and migrates the database. Migrations take an advisory lock, so
    /// nodes starting together apply them once.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool })
    }

    /// Closes the pool, waiting for connections in use to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Every write runs in a transaction of its own: PostgreSQL already flushes the WAL
    /// of concurrent commits together.
    async fn write_lane(&self) -> StoreResult<PgLane<'_>> {
        Ok(PgLane { pool: &self.pool })
    }

    fn reader(&self) -> &PgPool {
        &self.pool
    }
}

/// The PostgreSQL counterpart of the SQLite group-commit lane: a plain transaction.
struct PgLane<'a> {
    pool: &'a PgPool,
}

impl PgLane<'_> {
    async fn begin(&mut self) -> StoreResult<sqlx::Transaction<'static, sqlx::Postgres>> {
        Ok(self.pool.begin().await?)
    }

    /// The transaction's own commit was durable already.
    async fn durable(self) -> StoreResult<()> {
        Ok(())
    }
}

crate::sql::impl_store!(
    PostgresStore,
    sqlx::Postgres,
    backend = "postgres",
    for_update = " FOR UPDATE"
);

crate::sql::prune::impl_prune!(
    PostgresStore,
    sqlx::Postgres,
    refresh_statistics = "ANALYZE memberships, accounts"
);

crate::sql::groups::impl_groups!(PostgresStore, sqlx::Postgres, for_update = " FOR UPDATE");
