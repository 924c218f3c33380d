//! `scale`: measures sign-in and `admin-read` at the seeded size, bulk-imports accounts
//! into the default tenant up to `--scale-accounts` through
//! `POST /api/v1/tenants/default/users/import` (NDJSON, 10,000 per request), and measures
//! again, with the store's size on disk and the server's memory.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use super::{Cli, Scenario, reset_peak_rss, stats, workers};
use crate::load::{self, Account, Ctx};
use crate::server::{self, Server};

/// Accounts per import request (the endpoint's limit).
const IMPORT_BATCH: usize = 10_000;
/// Import requests in flight, as `latchkey users import` sends them. The store applies
/// imports one at a time anyway; a second request in flight gained little speed and left
/// the server's RSS 25 MB higher (glibc keeps the freed request buffers).
const IMPORT_IN_FLIGHT: usize = 1;

/// Latency of one phase, per operation.
struct Phase {
    signin_p50: f64,
    signin_p99: f64,
    get_user_p50: f64,
    get_user_p99: f64,
    list_p50: f64,
    list_p99: f64,
    admin_read: load::Measured,
    errors: u64,
}

pub async fn run(
    cli: &Cli,
    ctx: &Arc<Ctx>,
    server: &Arc<Server>,
    accounts: &[Account],
    ticks: f64,
) -> anyhow::Result<u64> {
    let before = phase(cli, ctx, server, accounts, ticks).await?;
    // The administrator, the sign-in accounts and the admin-read accounts.
    let present = 1 + accounts.len() + ctx.user_ids.len();
    let to_import = cli.scale_accounts.saturating_sub(present);
    let started = Instant::now();
    import(ctx, to_import).await?;
    let import_s = started.elapsed().as_secs_f64();
    let store_bytes = store_size(server.data_dir(), cli.database_url.as_deref())?;
    let (_, rss_after_import) = server.memory()?;
    let peak_reset = reset_peak_rss(server.pid());
    let after = phase(cli, ctx, server, accounts, ticks).await?;
    let (peak, rss) = server.memory()?;

    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    let extra = vec![
        ("accounts".to_owned(), (present + to_import) as f64),
        ("imported".to_owned(), to_import as f64),
        ("import_s".to_owned(), import_s),
        ("import_per_s".to_owned(), ratio(to_import as f64, import_s)),
        ("store_mb".to_owned(), store_bytes as f64 / 1_048_576.0),
        ("rss_after_import_mb".to_owned(), rss_after_import),
        ("signin_p50_ms_before".to_owned(), before.signin_p50),
        ("signin_p50_ms_after".to_owned(), after.signin_p50),
        ("signin_p99_ms_before".to_owned(), before.signin_p99),
        ("signin_p99_ms_after".to_owned(), after.signin_p99),
        (
            "signin_p50_after_over_before".to_owned(),
            ratio(after.signin_p50, before.signin_p50),
        ),
        ("get_user_p50_ms_before".to_owned(), before.get_user_p50),
        ("get_user_p50_ms_after".to_owned(), after.get_user_p50),
        ("get_user_p99_ms_before".to_owned(), before.get_user_p99),
        ("get_user_p99_ms_after".to_owned(), after.get_user_p99),
        ("list_users_p99_ms_before".to_owned(), before.list_p99),
        ("list_users_p99_ms_after".to_owned(), after.list_p99),
        ("list_users_p50_ms_before".to_owned(), before.list_p50),
        ("list_users_p50_ms_after".to_owned(), after.list_p50),
        (
            "admin_read_p99_after_over_before".to_owned(),
            ratio(after.admin_read_p99(), before.admin_read_p99()),
        ),
    ];
    super::report(
        cli,
        Scenario::Scale,
        &after.admin_read,
        None,
        peak,
        rss,
        peak_reset,
        &extra,
    );
    Ok(before.errors + after.errors)
}

impl Phase {
    fn admin_read_p99(&self) -> f64 {
        stats(self.admin_read.latencies.iter().map(|(d, _)| *d).collect()).p99
    }
}

/// Sign-in, then `admin-read`, each for the configured warm-up and duration.
async fn phase(
    cli: &Cli,
    ctx: &Arc<Ctx>,
    server: &Arc<Server>,
    accounts: &[Account],
    ticks: f64,
) -> anyhow::Result<Phase> {
    let mut measured = Vec::new();
    for scenario in [Scenario::Signin, Scenario::AdminRead] {
        let workers = workers(scenario, ctx, accounts, cli.connections).await?;
        let cpu_server = Arc::clone(server);
        measured.push(
            load::run(
                Arc::clone(ctx),
                workers,
                Duration::from_secs_f64(cli.warmup),
                Duration::from_secs_f64(cli.duration),
                move || Ok((cpu_server.cpu(ticks)?, server::own_cpu(ticks)?)),
            )
            .await?,
        );
    }
    let admin_read = measured.pop().context("admin-read phase")?;
    let signin = measured.pop().context("sign-in phase")?;
    let part = |m: &load::Measured, op: Option<u8>| {
        stats(
            m.latencies
                .iter()
                .filter(|(_, o)| op.is_none_or(|op| *o == op))
                .map(|(d, _)| *d)
                .collect(),
        )
    };
    let signin_stats = part(&signin, None);
    let get_user = part(&admin_read, Some(load::OP_GET_USER));
    let list = part(&admin_read, Some(load::OP_LIST_USERS));
    Ok(Phase {
        signin_p50: signin_stats.p50,
        signin_p99: signin_stats.p99,
        get_user_p50: get_user.p50,
        get_user_p99: get_user.p99,
        list_p50: list.p50,
        list_p99: list.p99,
        errors: signin.errors + signin.warmup_errors + admin_read.errors + admin_read.warmup_errors,
        admin_read,
    })
}

/// Imports `count` password-less accounts, `IMPORT_BATCH` per request.
async fn import(ctx: &Arc<Ctx>, count: usize) -> anyhow::Result<()> {
    let token = ctx
        .admin
        .as_ref()
        .context("no administrator token")?
        .get(&ctx.http, &ctx.base)
        .await?;
    let tag = server::random_hex(4);
    let batches: Vec<(usize, usize)> = (0..count)
        .step_by(IMPORT_BATCH)
        .map(|start| (start, (start + IMPORT_BATCH).min(count)))
        .collect();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let batches = Arc::new(batches);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..IMPORT_IN_FLIGHT {
        let (ctx, token, tag, next, batches) = (
            Arc::clone(ctx),
            token.clone(),
            tag.clone(),
            Arc::clone(&next),
            Arc::clone(&batches),
        );
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(&(start, end)) = batches.get(i) else {
                    return anyhow::Ok(());
                };
                let mut body = String::with_capacity((end - start) * 48);
                for n in start..end {
                    body.push_str(&format!(
                        "{{\"email\":\"scale-{n:07}-{tag}@bench.example\"}}\n"
                    ));
                }
                let response = ctx
                    .http
                    .post(format!("{}/api/v1/tenants/default/users/import", ctx.base))
                    .bearer_auth(&token)
                    .header("content-type", "application/x-ndjson")
                    .body(body)
                    .send()
                    .await
                    .context("sending an import batch")?;
                let status = response.status();
                if !status.is_success() {
                    bail!(
                        "importing accounts {start}..{end} answered {status}: {}",
                        response.text().await.unwrap_or_default()
                    );
                }
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok(())
}

/// Bytes the store occupies: the SQLite files in the data directory, or the PostgreSQL
/// database's size as `pg_database_size` reports it (through `psql`).
fn store_size(data_dir: &Path, database_url: Option<&str>) -> anyhow::Result<u64> {
    if let Some(url) = database_url {
        let output = std::process::Command::new("psql")
            .args([url, "-Atc", "SELECT pg_database_size(current_database())"])
            .output()
            .context("running psql for the database size")?;
        if !output.status.success() {
            bail!(
                "psql failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        return String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .context("parsing pg_database_size");
    }
    let mut total = 0;
    for entry in std::fs::read_dir(data_dir).context("listing the data directory")? {
        let entry = entry?;
        if entry
            .file_name()
            .to_string_lossy()
            .starts_with("latchkey.db")
        {
            total += entry.metadata()?.len();
        }
    }
    Ok(total)
}
