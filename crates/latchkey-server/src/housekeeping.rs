//! Periodic clean-up of state nothing can use any more (ended sessions, expired refresh
//! tokens, stale brute-force counters, retired keys, tombstones of pruned accounts past
//! their retention), so tables do not grow for ever.
//! Every node runs it; the purge is idempotent, so nodes sharing one PostgreSQL only
//! repeat each other's (cheap) work.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use latchkey_store::{PurgeCutoffs, PurgeReport, StoreResult};
use time::Duration;

use crate::services::Services;

/// How often the purge runs, and how long after start the first run waits.
pub const INTERVAL: StdDuration = StdDuration::from_secs(600);
const FIRST_RUN_AFTER: StdDuration = StdDuration::from_secs(60);
/// Ended sessions stay listed (and their tokens recognised) this long.
const SESSION_RETENTION: Duration = Duration::days(7);
/// Expired refresh tokens stay this long, so a late replay is still recognised.
const TOKEN_RETENTION: Duration = Duration::days(1);
/// Failure counts of a login with no failure for this long are forgotten.
const THROTTLE_MEMORY: Duration = Duration::days(1);

/// Purges once, as of the services' clock.
pub async fn purge_once(services: &Services) -> StoreResult<PurgeReport> {
    let now = services.clock.now();
    services
        .store
        .purge_expired(&PurgeCutoffs {
            sessions_ended_before: now - SESSION_RETENTION,
            tokens_expired_before: now - TOKEN_RETENTION,
            throttles_idle_since: now - THROTTLE_MEMORY,
            pruned_before: now - services.prune_retention,
            now,
        })
        .await
}

/// Runs [`purge_once`] every [`INTERVAL`] until the task is dropped.
pub async fn run(services: Arc<Services>) {
    tokio::time::sleep(FIRST_RUN_AFTER).await;
    let mut ticks = tokio::time::interval(INTERVAL);
    loop {
        ticks.tick().await;
        match purge_once(&services).await {
            Ok(report) if report != PurgeReport::default() => {
                tracing::info!(
                    ?report,
                    "purged expired sessions, tokens, counters, keys and pruned accounts"
                );
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(?error, "housekeeping purge failed; will retry"),
        }
    }
}
