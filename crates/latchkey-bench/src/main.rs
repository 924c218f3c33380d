//! `latchkey-bench`: starts a latchkey server, seeds it over the native API and drives it
//! over loopback, reporting throughput, latency, errors, server CPU time and memory per
//! scenario (see docs/performance.md).

mod bounds;
mod load;
mod scale;
mod server;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use clap::{Parser, ValueEnum};
use serde::Deserialize;

use load::{Account, Ctx, MixedPools, SharedToken, SignInVia, TenantSeed, Which, Worker};
use server::Server;

/// Number of password-less accounts seeded for `admin-read`.
const ADMIN_READ_ACCOUNTS: usize = 1_000;
/// Requests in flight while seeding password-less accounts.
const SEED_CONCURRENCY: usize = 16;
/// Refresh sessions per worker in `refresh`.
const SESSIONS_PER_WORKER: usize = 8;
/// Refresh sessions `mixed` rotates (each by one request at a time).
const MIXED_SESSIONS: usize = 32;
/// The tenant whose signing key is rotated to ES256 for the `-es256` scenarios.
const ES256_TENANT: &str = "bench-es256";

#[derive(Parser)]
#[command(
    name = "latchkey-bench",
    about = "Benchmarks a latchkey server: starts it, seeds it and measures each scenario.",
    long_about = "Benchmarks a latchkey server: starts it (fresh temporary SQLite data \
directory, or --database-url), seeds it through the native API and drives it over \
loopback with closed-loop workers, reporting throughput, latency, errors, server CPU time \
and memory per scenario.\n\nBuild the server first: `cargo build --release -p latchkey-cli` \
(the default --server-bin is target/release/latchkey). Run the tool itself in release \
mode too: `cargo run --release -p latchkey-bench -- --duration 10 --connections 4`."
)]
struct Cli {
    /// The `latchkey` binary to benchmark.
    #[arg(long, default_value = "target/release/latchkey")]
    server_bin: PathBuf,
    /// Use this (empty) PostgreSQL database instead of a fresh SQLite data directory; a
    /// random LATCHKEY_ENCRYPTION_KEY is generated.
    #[arg(long)]
    database_url: Option<String>,
    /// Scenario to run (repeatable); default: all of them, in the order listed.
    #[arg(long = "scenario", value_enum)]
    scenarios: Vec<Scenario>,
    /// Run every scenario (the default when no --scenario is given).
    #[arg(long, conflicts_with = "scenarios")]
    all: bool,
    /// Measured seconds per scenario.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Warm-up seconds per scenario, not measured.
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Concurrent closed-loop workers (each one request in flight).
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Print one JSON object per line instead of the table.
    #[arg(long)]
    json: bool,
    /// Accounts in the tenant at the end of `scale` (bulk-imported).
    #[arg(long, default_value_t = 1_000_000)]
    scale_accounts: usize,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    /// Native password sign-in, distinct accounts round-robin.
    Signin,
    /// OIDC password grant on `admin-cli`.
    SigninOidc,
    /// Client-credentials grant of a confidential client, tenant with an RS256 key.
    ClientCredentials,
    /// The same in a tenant whose key was rotated to ES256.
    ClientCredentialsEs256,
    /// Refresh-token rotation through the native API, many sessions (RS256 tenant).
    Refresh,
    /// The same in the ES256 tenant.
    RefreshEs256,
    /// Token introspection of a valid access token by a confidential client.
    Introspect,
    /// OIDC userinfo with a valid access token.
    Userinfo,
    /// Admin token: one user by id and one page of 50 users, alternately.
    AdminRead,
    /// Admin token: one user by id only.
    AdminReadUser,
    /// 70 % validation, 20 % refresh, 10 % sign-in, open loop at half the closed-loop
    /// maximum of the same mix.
    Mixed,
    /// Bulk-imports accounts up to --scale-accounts and compares sign-in and admin-read
    /// latency, memory and store size before and after.
    Scale,
}

impl Scenario {
    const ALL: [Scenario; 12] = [
        Scenario::Signin,
        Scenario::SigninOidc,
        Scenario::ClientCredentials,
        Scenario::ClientCredentialsEs256,
        Scenario::Refresh,
        Scenario::RefreshEs256,
        Scenario::Introspect,
        Scenario::Userinfo,
        Scenario::AdminRead,
        Scenario::AdminReadUser,
        Scenario::Mixed,
        Scenario::Scale,
    ];

    fn name(self) -> &'static str {
        match self {
            Scenario::Signin => "signin",
            Scenario::SigninOidc => "signin-oidc",
            Scenario::ClientCredentials => "client-credentials",
            Scenario::ClientCredentialsEs256 => "client-credentials-es256",
            Scenario::Refresh => "refresh",
            Scenario::RefreshEs256 => "refresh-es256",
            Scenario::Introspect => "introspect",
            Scenario::Userinfo => "userinfo",
            Scenario::AdminRead => "admin-read",
            Scenario::AdminReadUser => "admin-read-user",
            Scenario::Mixed => "mixed",
            Scenario::Scale => "scale",
        }
    }
}

/// A scenario's physical bound, measured in the same run.
struct Bound {
    per_s: f64,
    kind: &'static str,
    /// `hash_time_ms` or `signatures_per_s_single_thread`.
    detail: (&'static str, f64),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: starting the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(0) => std::process::ExitCode::SUCCESS,
        Ok(errors) => {
            eprintln!("{errors} request(s) failed");
            std::process::ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Runs the selected scenarios; returns the total number of failed requests.
async fn run(cli: Cli) -> anyhow::Result<u64> {
    if cli.connections == 0 {
        bail!("--connections must be at least 1");
    }
    if !(cli.duration > 0.0 && cli.warmup >= 0.0) {
        bail!("--duration must be positive and --warmup not negative");
    }
    let scenarios: Vec<Scenario> = if cli.scenarios.is_empty() {
        Scenario::ALL.to_vec()
    } else {
        let mut chosen = Vec::new();
        for s in &cli.scenarios {
            if !chosen.contains(s) {
                chosen.push(*s);
            }
        }
        chosen
    };
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let (ticks, ticks_from_getconf) = server::clock_ticks();
    if !ticks_from_getconf {
        eprintln!("note: `getconf CLK_TCK` failed; assuming 100 clock ticks per second");
    }

    let spawned = Instant::now();
    let server = Server::start(&cli.server_bin, cli.database_url.as_deref())?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(cli.connections + SEED_CONCURRENCY)
        .tcp_nodelay(true)
        .build()
        .context("building the HTTP client")?;
    let base = server.url.clone();
    wait_ready(&http, &base).await?;
    let ready_after = spawned.elapsed();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (_, idle_rss) = server.memory()?;
    let store = if cli.database_url.is_some() {
        "postgresql"
    } else {
        "sqlite"
    };
    if cli.json {
        println!(
            "{}",
            serde_json::json!({
                "record": "server",
                "store": store,
                "cores": cores,
                "connections": cli.connections,
                "idle_rss_mb": round2(idle_rss),
                "listening_ms": round2(server.listening_after.as_secs_f64() * 1e3),
                "ready_ms": round2(ready_after.as_secs_f64() * 1e3),
            })
        );
    } else {
        println!(
            "server: {store}, idle RSS {idle_rss:.1} MiB, fresh start to /readyz {:.0} ms; \
             {cores} cores, {} connections, {} s warm-up + {} s per scenario",
            ready_after.as_secs_f64() * 1e3,
            cli.connections,
            cli.warmup,
            cli.duration
        );
    }

    // Seeding.
    let admin = SharedToken::new(
        &http,
        &base,
        SignInVia::Native,
        &server.admin_email,
        &server.admin_password,
    )
    .await
    .context("signing in as the administrator")?;
    let admin_token = admin.get(&http, &base).await?;
    let needs = |list: &[Scenario]| list.iter().any(|s| scenarios.contains(s));
    let accounts = if needs(&[
        Scenario::Signin,
        Scenario::SigninOidc,
        Scenario::Refresh,
        Scenario::Introspect,
        Scenario::Userinfo,
        Scenario::Mixed,
        Scenario::Scale,
    ]) {
        seed_password_accounts(&http, &base, &admin_token, "default", 2 * cli.connections).await?
    } else {
        Vec::new()
    };
    let client_secret = if needs(&[
        Scenario::ClientCredentials,
        Scenario::Introspect,
        Scenario::Mixed,
    ]) {
        create_client(&http, &base, &admin_token, "default").await?
    } else {
        String::new()
    };
    let (es256_tenant, es256_accounts) =
        if needs(&[Scenario::ClientCredentialsEs256, Scenario::RefreshEs256]) {
            create_es256_tenant(&http, &base, &admin_token).await?;
            let secret = create_client(&http, &base, &admin_token, ES256_TENANT).await?;
            let accounts = if needs(&[Scenario::RefreshEs256]) {
                seed_password_accounts(
                    &http,
                    &base,
                    &admin_token,
                    ES256_TENANT,
                    2 * cli.connections,
                )
                .await?
            } else {
                Vec::new()
            };
            (
                Some(TenantSeed {
                    domain: ES256_TENANT.to_owned(),
                    client_secret: secret,
                }),
                accounts,
            )
        } else {
            (None, Vec::new())
        };
    let user_ids = if needs(&[
        Scenario::AdminRead,
        Scenario::AdminReadUser,
        Scenario::Scale,
    ]) {
        seed_plain_accounts(&http, &base, &admin_token, ADMIN_READ_ACCOUNTS).await?
    } else {
        Vec::new()
    };
    let user = match accounts.first() {
        Some(a) if needs(&[Scenario::Introspect, Scenario::Userinfo, Scenario::Mixed]) => {
            Some(SharedToken::new(&http, &base, SignInVia::Oidc, &a.email, &a.password).await?)
        }
        _ => None,
    };
    let ctx = Arc::new(Ctx {
        http: http.clone(),
        base: base.clone(),
        default_tenant: TenantSeed {
            domain: "default".to_owned(),
            client_secret,
        },
        es256_tenant,
        user_ids,
        admin: Some(admin),
        user,
    });

    if !cli.json {
        println!(
            "{:<19} {:>9} {:>8} {:>8} {:>8} {:>8} {:>6} {:>8} {:>8} {:>9} {:>8} {:>9} {:>6}",
            "scenario",
            "req/s",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "max ms",
            "errors",
            "srv cpu",
            "cli cpu",
            "peak MiB",
            "rss MiB",
            "bound/s",
            "ratio"
        );
    }
    let server = Arc::new(server);
    let mut total_errors = 0;
    for scenario in scenarios {
        if scenario == Scenario::Mixed {
            total_errors += run_mixed(&cli, &ctx, &server, &accounts, ticks).await?;
            continue;
        }
        if scenario == Scenario::Scale {
            total_errors += scale::run(&cli, &ctx, &server, &accounts, ticks).await?;
            continue;
        }
        let bound = measure_bound(scenario, cores).await?;
        let scenario_accounts = if scenario == Scenario::RefreshEs256 {
            &es256_accounts
        } else {
            &accounts
        };
        let workers = workers(scenario, &ctx, scenario_accounts, cli.connections).await?;
        let peak_reset = reset_peak_rss(server.pid());
        let cpu_server = Arc::clone(&server);
        let measured = load::run(
            Arc::clone(&ctx),
            workers,
            Duration::from_secs_f64(cli.warmup),
            Duration::from_secs_f64(cli.duration),
            move || Ok((cpu_server.cpu(ticks)?, server::own_cpu(ticks)?)),
        )
        .await?;
        let (peak, rss) = server.memory()?;
        total_errors += measured.errors + measured.warmup_errors;
        report(
            &cli,
            scenario,
            &measured,
            bound.as_ref(),
            peak,
            rss,
            peak_reset,
            &[],
        );
    }

    // Start-up on an existing data directory (or database): stop, start, time /readyz.
    let mut server = Arc::try_unwrap(server).map_err(|_| anyhow!("the server is still in use"))?;
    let spawned = tokio::task::block_in_place(|| server.restart())?;
    wait_ready(&http, &server.url).await?;
    let ready_ms = spawned.elapsed().as_secs_f64() * 1e3;
    if cli.json {
        println!(
            "{}",
            serde_json::json!({
                "record": "restart",
                "listening_ms": round2(server.listening_after.as_secs_f64() * 1e3),
                "ready_ms": round2(ready_ms),
            })
        );
    } else {
        println!("restart on the existing data: /readyz after {ready_ms:.0} ms");
    }
    Ok(total_errors)
}

/// `mixed`: finds the closed-loop maximum of the mix, then offers half of it open-loop
/// and reports that phase, with per-operation tails. Returns the failed requests.
async fn run_mixed(
    cli: &Cli,
    ctx: &Arc<Ctx>,
    server: &Arc<Server>,
    accounts: &[Account],
    ticks: f64,
) -> anyhow::Result<u64> {
    let mut sessions = Vec::with_capacity(MIXED_SESSIONS);
    for s in 0..MIXED_SESSIONS {
        let account = accounts
            .get(s % accounts.len().max(1))
            .ok_or_else(|| anyhow!("mixed has no accounts"))?
            .clone();
        sessions.push(load::open_session(&ctx.http, &ctx.base, "default", account).await?);
    }
    let pools = Arc::new(MixedPools::new(accounts.to_vec(), sessions));
    let cpu = |server: &Arc<Server>| {
        let server = Arc::clone(server);
        move || Ok((server.cpu(ticks)?, server::own_cpu(ticks)?))
    };
    let workers = (0..cli.connections)
        .map(|w| Worker::Mixed {
            pools: Arc::clone(&pools),
            next: w * 3,
        })
        .collect();
    let closed = load::run(
        Arc::clone(ctx),
        workers,
        Duration::from_secs_f64(cli.warmup),
        Duration::from_secs_f64(cli.duration),
        cpu(server),
    )
    .await?;
    let maximum = closed.latencies.len() as f64 / closed.window.as_secs_f64();
    let rate = maximum / 2.0;
    let peak_reset = reset_peak_rss(server.pid());
    let open = load::run_open_loop(
        Arc::clone(ctx),
        pools,
        rate,
        Duration::from_secs_f64(cli.warmup),
        Duration::from_secs_f64(cli.duration),
        cpu(server),
    )
    .await?;
    let (peak, rss) = server.memory()?;
    let mut extra = vec![
        ("closed_loop_max_per_s".to_owned(), maximum),
        ("offered_rate_per_s".to_owned(), rate),
    ];
    for (ops, name) in [
        (&[load::OP_INTROSPECT, load::OP_USERINFO][..], "validation"),
        (&[load::OP_REFRESH][..], "refresh"),
        (&[load::OP_SIGN_IN][..], "signin"),
    ] {
        let part = stats(
            open.latencies
                .iter()
                .filter(|(_, op)| ops.contains(op))
                .map(|(d, _)| *d)
                .collect(),
        );
        extra.push((format!("{name}_p50_ms"), part.p50));
        extra.push((format!("{name}_p99_ms"), part.p99));
        extra.push((format!("{name}_max_ms"), part.max));
    }
    report(
        cli,
        Scenario::Mixed,
        &open,
        None,
        peak,
        rss,
        peak_reset,
        &extra,
    );
    Ok(closed.errors + closed.warmup_errors + open.errors + open.warmup_errors)
}

async fn wait_ready(http: &reqwest::Client, base: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = http.get(format!("{base}/readyz")).send().await
            && r.status().is_success()
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the server did not become ready within 30 s");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[derive(Deserialize)]
struct Created {
    id: String,
}

async fn create_account(
    http: &reqwest::Client,
    base: &str,
    admin_token: &str,
    tenant: &str,
    email: &str,
    password: Option<&str>,
) -> anyhow::Result<String> {
    let mut body = serde_json::json!({"email": email});
    if let Some(password) = password {
        body["password"] = password.into();
    }
    let response = http
        .post(format!("{base}/api/v1/tenants/{tenant}/users"))
        .bearer_auth(admin_token)
        .json(&body)
        .send()
        .await
        .with_context(|| format!("creating {email}"))?;
    let status = response.status();
    let text = response.text().await?;
    if !status.is_success() {
        bail!("creating {email} answered {status}: {text}");
    }
    Ok(serde_json::from_str::<Created>(&text)?.id)
}

/// `count` accounts with distinct passwords (each costs the server one argon2 hash).
async fn seed_password_accounts(
    http: &reqwest::Client,
    base: &str,
    admin_token: &str,
    tenant: &str,
    count: usize,
) -> anyhow::Result<Vec<Account>> {
    let tag = server::random_hex(4);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..count {
        let (http, base, token) = (http.clone(), base.to_owned(), admin_token.to_owned());
        let tenant = tenant.to_owned();
        let email = format!("bench-pw-{i:05}-{tag}@bench.example");
        let password = format!("secret-{i:05}-{}", server::random_hex(8));
        tasks.spawn(async move {
            create_account(&http, &base, &token, &tenant, &email, Some(&password)).await?;
            anyhow::Ok((i, Account { email, password }))
        });
    }
    let mut accounts = Vec::with_capacity(count);
    while let Some(done) = tasks.join_next().await {
        accounts.push(done??);
    }
    accounts.sort_by_key(|(i, _)| *i);
    Ok(accounts.into_iter().map(|(_, a)| a).collect())
}

/// `count` accounts without passwords, `SEED_CONCURRENCY` requests at a time.
async fn seed_plain_accounts(
    http: &reqwest::Client,
    base: &str,
    admin_token: &str,
    count: usize,
) -> anyhow::Result<Vec<String>> {
    let tag = server::random_hex(4);
    let mut tasks = tokio::task::JoinSet::new();
    for lane in 0..SEED_CONCURRENCY {
        let (http, base, token, tag) = (
            http.clone(),
            base.to_owned(),
            admin_token.to_owned(),
            tag.clone(),
        );
        tasks.spawn(async move {
            let mut ids = Vec::new();
            for i in (lane..count).step_by(SEED_CONCURRENCY) {
                let email = format!("bench-user-{i:07}-{tag}@bench.example");
                ids.push(create_account(&http, &base, &token, "default", &email, None).await?);
            }
            anyhow::Ok(ids)
        });
    }
    let mut ids = Vec::with_capacity(count);
    while let Some(done) = tasks.join_next().await {
        ids.extend(done??);
    }
    Ok(ids)
}

/// Creates the tenant `ES256_TENANT` and rotates its signing key to ES256.
async fn create_es256_tenant(
    http: &reqwest::Client,
    base: &str,
    admin_token: &str,
) -> anyhow::Result<()> {
    for (url, body) in [
        (
            format!("{base}/api/v1/tenants"),
            serde_json::json!({"domain": ES256_TENANT, "title": "Benchmark (ES256 key)"}),
        ),
        (
            format!("{base}/api/v1/tenants/{ES256_TENANT}/keys/rotate"),
            serde_json::json!({"algorithm": "ES256"}),
        ),
    ] {
        let response = http
            .post(&url)
            .bearer_auth(admin_token)
            .json(&body)
            .send()
            .await
            .with_context(|| format!("POST {url}"))?;
        let status = response.status();
        if !status.is_success() {
            bail!("POST {url} answered {status}: {}", response.text().await?);
        }
    }
    Ok(())
}

/// Registers the confidential client `bench` in `tenant` and returns its secret.
async fn create_client(
    http: &reqwest::Client,
    base: &str,
    admin_token: &str,
    tenant: &str,
) -> anyhow::Result<String> {
    let response = http
        .post(format!("{base}/api/v1/tenants/{tenant}/applications"))
        .bearer_auth(admin_token)
        .json(&serde_json::json!({
            "client_id": load::CLIENT_ID, "grant_types": ["client_credentials"]
        }))
        .send()
        .await
        .context("registering the bench client")?;
    let status = response.status();
    let text = response.text().await?;
    if !status.is_success() {
        bail!("registering the bench client answered {status}: {text}");
    }
    let value: serde_json::Value = serde_json::from_str(&text)?;
    value
        .get("client_secret")
        .and_then(|s| s.as_str())
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("the bench client has no client_secret"))
}

async fn measure_bound(scenario: Scenario, cores: usize) -> anyhow::Result<Option<Bound>> {
    match scenario {
        Scenario::Signin | Scenario::SigninOidc => {
            // Let the server settle after the previous scenario, so that the hash is
            // timed on an otherwise idle machine.
            tokio::time::sleep(Duration::from_secs(1)).await;
            let hash = tokio::task::spawn_blocking(|| bounds::argon2_hash_time(15)).await??;
            Ok(Some(Bound {
                per_s: cores as f64 / hash.as_secs_f64(),
                kind: "hash",
                detail: ("hash_time_ms", hash.as_secs_f64() * 1e3),
            }))
        }
        Scenario::ClientCredentials | Scenario::ClientCredentialsEs256 => {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let (alg, kind) = if scenario == Scenario::ClientCredentials {
                (bounds::SigningAlg::Rs256, "rs256_signing")
            } else {
                (bounds::SigningAlg::Es256, "es256_signing")
            };
            let single = tokio::task::spawn_blocking(move || {
                bounds::signatures_per_s(alg, Duration::from_secs(2))
            })
            .await??;
            Ok(Some(Bound {
                per_s: single * cores as f64,
                kind,
                detail: ("signatures_per_s_single_thread", single),
            }))
        }
        _ => Ok(None),
    }
}

/// The workers of `scenario`; for `refresh` this opens the sessions first.
async fn workers(
    scenario: Scenario,
    ctx: &Ctx,
    accounts: &[Account],
    connections: usize,
) -> anyhow::Result<Vec<Worker>> {
    // Worker `w` owns accounts w, w + N, w + 2N, … so that no account ever has two
    // sign-ins in flight (the throttle counts attempts per account).
    let owned = |w: usize| -> Vec<Account> {
        accounts
            .iter()
            .skip(w)
            .step_by(connections)
            .cloned()
            .collect()
    };
    let mut workers = Vec::with_capacity(connections);
    for w in 0..connections {
        workers.push(match scenario {
            Scenario::Signin | Scenario::SigninOidc => Worker::SignIn {
                via: if scenario == Scenario::Signin {
                    SignInVia::Native
                } else {
                    SignInVia::Oidc
                },
                accounts: owned(w),
                next: 0,
            },
            Scenario::ClientCredentials => Worker::ClientCredentials {
                tenant: Which::Default,
            },
            Scenario::ClientCredentialsEs256 => Worker::ClientCredentials {
                tenant: Which::Es256,
            },
            Scenario::Refresh | Scenario::RefreshEs256 => Worker::Refresh {
                tenant: if scenario == Scenario::Refresh {
                    Which::Default
                } else {
                    Which::Es256
                },
                sessions: Vec::new(),
                next: 0,
            },
            Scenario::Introspect => Worker::Introspect,
            Scenario::Userinfo => Worker::Userinfo,
            Scenario::AdminRead | Scenario::AdminReadUser => Worker::AdminRead {
                next: w * 7,
                only_get_user: scenario == Scenario::AdminReadUser,
            },
            Scenario::Mixed | Scenario::Scale => bail!("{} has its own driver", scenario.name()),
        });
    }
    if let Some(Worker::Refresh { tenant, .. }) = workers.first() {
        let domain = ctx.tenant(*tenant).map_err(|e| anyhow!(e))?.domain.clone();
        // Open SESSIONS_PER_WORKER sessions per worker, one sign-in at a time per
        // account, all workers in parallel.
        let mut tasks = tokio::task::JoinSet::new();
        for (w, _) in workers.iter().enumerate() {
            let mine = owned(w);
            let (http, base, domain) = (ctx.http.clone(), ctx.base.clone(), domain.clone());
            tasks.spawn(async move {
                let mut sessions = Vec::with_capacity(SESSIONS_PER_WORKER);
                for s in 0..SESSIONS_PER_WORKER {
                    let account = mine
                        .get(s % mine.len().max(1))
                        .ok_or_else(|| anyhow!("a refresh worker has no account"))?
                        .clone();
                    sessions.push(load::open_session(&http, &base, &domain, account).await?);
                }
                anyhow::Ok((w, sessions))
            });
        }
        while let Some(done) = tasks.join_next().await {
            let (w, sessions) = done??;
            if let Some(Worker::Refresh { sessions: slot, .. }) = workers.get_mut(w) {
                *slot = sessions;
            }
        }
    }
    Ok(workers)
}

/// Resets the server's peak RSS (`VmHWM`) by writing 5 to `/proc/PID/clear_refs`;
/// `false` when that is not permitted (the peak then covers the whole run so far).
fn reset_peak_rss(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

struct Stats {
    count: usize,
    p50: f64,
    p90: f64,
    p99: f64,
    max: f64,
}

/// Nearest-rank percentiles in milliseconds.
fn stats(mut latencies: Vec<Duration>) -> Stats {
    latencies.sort_unstable();
    let pick = |q: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        let rank = ((q * latencies.len() as f64).ceil() as usize).clamp(1, latencies.len());
        latencies
            .get(rank - 1)
            .map_or(0.0, |d| d.as_secs_f64() * 1e3)
    };
    Stats {
        count: latencies.len(),
        p50: pick(0.50),
        p90: pick(0.90),
        p99: pick(0.99),
        max: pick(1.0),
    }
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

#[allow(clippy::too_many_arguments)]
fn report(
    cli: &Cli,
    scenario: Scenario,
    measured: &load::Measured,
    bound: Option<&Bound>,
    peak: f64,
    rss: f64,
    peak_reset: bool,
    extra: &[(String, f64)],
) {
    let all = stats(measured.latencies.iter().map(|(d, _)| *d).collect());
    let window = measured.window.as_secs_f64();
    let throughput = all.count as f64 / window;
    if cli.json {
        let mut line = serde_json::json!({
            "record": "scenario",
            "scenario": scenario.name(),
            "connections": cli.connections,
            "duration_s": round2(window),
            "requests": all.count,
            "throughput_per_s": round2(throughput),
            "p50_ms": round2(all.p50),
            "p90_ms": round2(all.p90),
            "p99_ms": round2(all.p99),
            "max_ms": round2(all.max),
            "errors": measured.errors,
            "warmup_requests": measured.warmup_requests,
            "warmup_errors": measured.warmup_errors,
            "server_cpu_s": round2(measured.server_cpu_s),
            "client_cpu_s": round2(measured.client_cpu_s),
            "server_peak_rss_mb": round2(peak),
            "server_peak_rss_scope": if peak_reset { "scenario" } else { "since_start" },
            "server_rss_mb": round2(rss),
        });
        if let Some(bound) = bound {
            line["bound_per_s"] = round2(bound.per_s).into();
            line["bound_kind"] = bound.kind.into();
            line[bound.detail.0] = round2(bound.detail.1).into();
            line["throughput_over_bound"] =
                ((throughput / bound.per_s * 1000.0).round() / 1000.0).into();
        }
        if scenario == Scenario::AdminRead {
            for (op, name) in [
                (load::OP_GET_USER, "get_user"),
                (load::OP_LIST_USERS, "list_users"),
            ] {
                let part = stats(
                    measured
                        .latencies
                        .iter()
                        .filter(|(_, o)| *o == op)
                        .map(|(d, _)| *d)
                        .collect(),
                );
                line[format!("{name}_per_s")] = round2(part.count as f64 / window).into();
                line[format!("{name}_p50_ms")] = round2(part.p50).into();
                line[format!("{name}_p99_ms")] = round2(part.p99).into();
            }
        }
        for (key, value) in extra {
            line[key.as_str()] = round2(*value).into();
        }
        if let Some(e) = &measured.first_error {
            line["first_error"] = e.chars().take(300).collect::<String>().into();
        }
        println!("{line}");
    } else {
        let (bound_s, ratio_s) = bound.map_or((String::from("-"), String::from("-")), |b| {
            (
                format!("{:.0}", b.per_s),
                format!("{:.2}", throughput / b.per_s),
            )
        });
        println!(
            "{:<19} {:>9.1} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>6} {:>8.2} {:>8.2} {:>9.1} {:>8.1} {:>9} {:>6}",
            scenario.name(),
            throughput,
            all.p50,
            all.p90,
            all.p99,
            all.max,
            measured.errors + measured.warmup_errors,
            measured.server_cpu_s,
            measured.client_cpu_s,
            peak,
            rss,
            bound_s,
            ratio_s
        );
        if let Some(b) = bound {
            println!("    {} = {:.2}", b.detail.0, b.detail.1);
        }
        for (key, value) in extra {
            println!("    {key} = {value:.2}");
        }
        if !peak_reset {
            println!("    (peak RSS since server start; /proc/PID/clear_refs not writable)");
        }
        if let Some(e) = &measured.first_error {
            println!(
                "    first error: {}",
                e.chars().take(300).collect::<String>()
            );
        }
    }
}
