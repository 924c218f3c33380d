//! Group commit for the SQLite writer.
//!
//! With `synchronous = FULL` every commit waits for the WAL to reach the disk, and the
//! single writer connection commits one transaction at a time, so write throughput is
//! one fsync per write. Here concurrent writes share one transaction instead: each runs
//! in a savepoint of the open batch (so each is still atomic and a failing one rolls back
//! alone), and a flusher commits the batch once, with one fsync for all of them. A write
//! is acknowledged only after the commit of its batch, so durability is unchanged: what a
//! caller was told happened survives a power cut.
//!
//! Batching is by queueing, not by timers: the flusher takes the batch lock behind the
//! writers already waiting for it (tokio's mutex is fair), so a batch holds the writes
//! that arrived during the previous commit. An idle server commits each write at once.
//!
//! Writes in one batch see each other's uncommitted changes, in lock order, which is the
//! order a serial writer would have applied them. A write that changed nothing may return
//! before the batch commits; if that commit then failed (a disk error), its answer may
//! have rested on a write that was rolled back.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};

use sqlx::{Acquire as _, Sqlite, SqlitePool, Transaction};
use tokio::sync::{Mutex, MutexGuard, Notify, watch};

use crate::{StoreError, StoreResult};

/// The commit outcome of one batch: `None` until it is known.
type Outcome = Option<Result<(), String>>;

pub(crate) struct GroupCommit {
    shared: Arc<Shared>,
}

struct Shared {
    pool: SqlitePool,
    batch: Mutex<Batch>,
    flush_wanted: Notify,
    closed: AtomicBool,
}

struct Batch {
    tx: Option<Transaction<'static, Sqlite>>,
    outcome: watch::Sender<Outcome>,
}

/// A writer's place in the open batch; holds the batch lock until `durable` (or drop).
pub(crate) struct Lane<'a> {
    guard: Option<MutexGuard<'a, Batch>>,
    outcome: watch::Receiver<Outcome>,
    shared: &'a Shared,
}

impl GroupCommit {
    /// Starts the flusher for `pool` (the one-connection writer pool).
    pub(crate) fn new(pool: SqlitePool) -> Self {
        let shared = Arc::new(Shared {
            pool,
            batch: Mutex::new(Batch {
                tx: None,
                outcome: watch::channel(None).0,
            }),
            flush_wanted: Notify::new(),
            closed: AtomicBool::new(false),
        });
        tokio::spawn(flusher(Arc::downgrade(&shared)));
        Self { shared }
    }

    /// Joins the open batch (starting one if none is open), waiting for earlier writers.
    pub(crate) async fn lane(&self) -> StoreResult<Lane<'_>> {
        let mut guard = self.shared.batch.lock().await;
        if guard.tx.is_none() {
            guard.tx = Some(self.shared.pool.begin().await?);
        }
        let outcome = guard.outcome.subscribe();
        Ok(Lane {
            guard: Some(guard),
            outcome,
            shared: &self.shared,
        })
    }

    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.shared.pool
    }

    /// Commits whatever is open and stops the flusher (the store is closing).
    pub(crate) async fn close(&self) {
        self.shared.closed.store(true, Ordering::SeqCst);
        self.shared.commit_open_batch().await;
        self.shared.flush_wanted.notify_one();
    }
}

impl Shared {
    async fn commit_open_batch(&self) {
        let mut batch = self.batch.lock().await;
        if let Some(tx) = batch.tx.take() {
            let result = tx.commit().await.map_err(|e| e.to_string());
            if let Err(error) = &result {
                tracing::error!(%error, "group commit failed; the batch was rolled back");
            }
            let finished = std::mem::replace(&mut batch.outcome, watch::channel(None).0);
            finished.send_replace(Some(result));
        }
    }
}

async fn flusher(shared: Weak<Shared>) {
    loop {
        let Some(shared) = shared.upgrade() else {
            return;
        };
        if shared.closed.load(Ordering::SeqCst) {
            return;
        }
        shared.flush_wanted.notified().await;
        shared.commit_open_batch().await;
    }
}

impl Lane<'_> {
    /// A savepoint in the batch: commit it to keep this write, drop it to undo it.
    pub(crate) async fn begin(&mut self) -> StoreResult<Transaction<'_, Sqlite>> {
        let tx = self
            .guard
            .as_mut()
            .and_then(|batch| batch.tx.as_mut())
            .ok_or_else(|| StoreError::Config("write lane used after release".into()))?;
        Ok(tx.begin().await?)
    }

    /// Leaves the batch and waits until it is committed.
    pub(crate) async fn durable(mut self) -> StoreResult<()> {
        self.guard = None;
        self.shared.flush_wanted.notify_one();
        let outcome = self
            .outcome
            .wait_for(Option::is_some)
            .await
            .map_err(|_| StoreError::Commit("the batch was abandoned".into()))?
            .clone();
        match outcome {
            Some(Ok(())) => Ok(()),
            Some(Err(error)) => Err(StoreError::Commit(error)),
            None => Err(StoreError::Commit("no outcome".into())),
        }
    }
}

impl Drop for Lane<'_> {
    fn drop(&mut self) {
        // A writer that returns early (nothing to write, or an error) still leaves an
        // open transaction behind; make sure it is committed or ended promptly.
        self.shared.flush_wanted.notify_one();
    }
}
