//! The closed-loop load generator: `N` workers, each sending its next request as soon as
//! the previous one has been answered, for a warm-up and then a measured window.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use serde::Deserialize;
use tokio::sync::RwLock;

/// Access tokens live 300 s; shared tokens are renewed once they are this old.
const TOKEN_RENEW_AFTER: Duration = Duration::from_secs(240);

#[derive(Clone)]
pub struct Account {
    pub email: String,
    pub password: String,
}

/// A tenant the scenarios run in: the default one (RS256 key) or the one whose key was
/// rotated to ES256.
pub struct TenantSeed {
    pub domain: String,
    /// Secret of the confidential client `bench` registered in it (empty when not needed).
    pub client_secret: String,
}

/// The confidential client every tenant gets for `client-credentials` and `introspect`.
pub const CLIENT_ID: &str = "bench";

/// What every worker shares.
pub struct Ctx {
    pub http: reqwest::Client,
    pub base: String,
    pub default_tenant: TenantSeed,
    pub es256_tenant: Option<TenantSeed>,
    pub user_ids: Vec<String>,
    /// Admin token (native sign-in) for `admin-read`.
    pub admin: Option<SharedToken>,
    /// A user's token from the OIDC password grant on `admin-cli`, for `introspect` and
    /// `userinfo`.
    pub user: Option<SharedToken>,
}

#[derive(Clone, Copy)]
pub enum SignInVia {
    Native,
    Oidc,
}

impl Ctx {
    pub fn tenant(&self, which: Which) -> Result<&TenantSeed, String> {
        match which {
            Which::Default => Ok(&self.default_tenant),
            Which::Es256 => self
                .es256_tenant
                .as_ref()
                .ok_or_else(|| "the ES256 tenant was not seeded".to_owned()),
        }
    }
}

/// Which seeded tenant a worker uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    Default,
    Es256,
}

/// An access token shared by all workers, renewed by signing in again before it expires.
pub struct SharedToken {
    via: SignInVia,
    login: String,
    password: String,
    state: RwLock<(String, Instant)>,
}

impl SharedToken {
    pub async fn new(
        http: &reqwest::Client,
        base: &str,
        via: SignInVia,
        login: &str,
        password: &str,
    ) -> anyhow::Result<Self> {
        let tokens = sign_in(http, base, "default", via, login, password).await?;
        Ok(Self {
            via,
            login: login.to_owned(),
            password: password.to_owned(),
            state: RwLock::new((tokens.access_token, Instant::now())),
        })
    }

    pub async fn get(&self, http: &reqwest::Client, base: &str) -> anyhow::Result<String> {
        {
            let state = self.state.read().await;
            if state.1.elapsed() < TOKEN_RENEW_AFTER {
                return Ok(state.0.clone());
            }
        }
        let mut state = self.state.write().await;
        if state.1.elapsed() >= TOKEN_RENEW_AFTER {
            let tokens =
                sign_in(http, base, "default", self.via, &self.login, &self.password).await?;
            *state = (tokens.access_token, Instant::now());
        }
        Ok(state.0.clone())
    }
}

#[derive(Deserialize)]
pub struct Tokens {
    pub access_token: String,
    #[serde(default)]
    pub refresh_token: Option<String>,
}

pub async fn sign_in(
    http: &reqwest::Client,
    base: &str,
    tenant: &str,
    via: SignInVia,
    login: &str,
    password: &str,
) -> anyhow::Result<Tokens> {
    let request = match via {
        SignInVia::Native => http
            .post(format!("{base}/api/v1/tenants/{tenant}/sign-in"))
            .json(&serde_json::json!({"login": login, "password": password})),
        SignInVia::Oidc => http
            .post(format!(
                "{base}/realms/{tenant}/protocol/openid-connect/token"
            ))
            .form(&[
                ("grant_type", "password"),
                ("client_id", "admin-cli"),
                ("username", login),
                ("password", password),
                ("scope", "openid"),
            ]),
    };
    let response = request.send().await.context("signing in")?;
    let status = response.status();
    let body = response
        .bytes()
        .await
        .context("reading the sign-in answer")?;
    if !status.is_success() {
        bail!(
            "sign-in of {login} answered {status}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    serde_json::from_slice(&body).context("parsing the sign-in answer")
}

/// One worker's state; each scenario has its own variant.
pub enum Worker {
    SignIn {
        via: SignInVia,
        accounts: Vec<Account>,
        next: usize,
    },
    ClientCredentials {
        tenant: Which,
    },
    Refresh {
        tenant: Which,
        /// `(account, newest refresh token)` of each session this worker rotates.
        sessions: Vec<(Account, String)>,
        next: usize,
    },
    Introspect,
    Userinfo,
    /// Alternately one user by id and one page of 50 (`admin-read`), or only the former
    /// (`admin-read-user`).
    AdminRead {
        next: usize,
        only_get_user: bool,
    },
    /// The `mixed` scenario's operations, 7 validations : 2 refreshes : 1 sign-in.
    Mixed {
        pools: Arc<MixedPools>,
        next: usize,
    },
}

/// Which operation a recorded latency belongs to (only `admin-read` has two).
pub const OP_MAIN: u8 = 0;
pub const OP_GET_USER: u8 = 0;
pub const OP_LIST_USERS: u8 = 1;

impl Worker {
    /// Sends one request and reads the whole answer. `Ok(op)` on a 2xx answer.
    async fn step(&mut self, ctx: &Ctx) -> Result<u8, String> {
        let base = &ctx.base;
        match self {
            Worker::SignIn {
                via,
                accounts,
                next,
            } => {
                let account = accounts
                    .get(*next % accounts.len().max(1))
                    .ok_or("no accounts")?;
                *next = next.wrapping_add(1);
                let request = match via {
                    SignInVia::Native => ctx
                        .http
                        .post(format!("{base}/api/v1/tenants/default/sign-in"))
                        .json(&serde_json::json!({
                            "login": account.email, "password": account.password
                        })),
                    SignInVia::Oidc => ctx
                        .http
                        .post(format!(
                            "{base}/realms/default/protocol/openid-connect/token"
                        ))
                        .form(&[
                            ("grant_type", "password"),
                            ("client_id", "admin-cli"),
                            ("username", account.email.as_str()),
                            ("password", account.password.as_str()),
                            ("scope", "openid"),
                        ]),
                };
                expect_success(request).await.map(|_| OP_MAIN)
            }
            Worker::ClientCredentials { tenant } => {
                let seed = ctx.tenant(*tenant)?;
                let request = ctx
                    .http
                    .post(format!(
                        "{base}/realms/{}/protocol/openid-connect/token",
                        seed.domain
                    ))
                    .form(&[
                        ("grant_type", "client_credentials"),
                        ("client_id", CLIENT_ID),
                        ("client_secret", seed.client_secret.as_str()),
                    ]);
                expect_success(request).await.map(|_| OP_MAIN)
            }
            Worker::Refresh {
                tenant,
                sessions,
                next,
            } => {
                let len = sessions.len().max(1);
                let slot = sessions.get_mut(*next % len).ok_or("no refresh sessions")?;
                *next = next.wrapping_add(1);
                let domain = ctx.tenant(*tenant)?.domain.clone();
                refresh(ctx, &domain, slot).await.map(|()| OP_MAIN)
            }
            Worker::Introspect => introspect(ctx).await.map(|()| OP_MAIN),
            Worker::Userinfo => userinfo(ctx).await.map(|()| OP_MAIN),
            Worker::Mixed { pools, next } => {
                let op = MIXED_PATTERN[*next % MIXED_PATTERN.len()];
                *next = next.wrapping_add(1);
                mixed_step(ctx, pools, op).await.map(|()| op)
            }
            Worker::AdminRead {
                next,
                only_get_user,
            } => {
                let token = shared(ctx, ctx.admin.as_ref()).await?;
                let turn = if *only_get_user { *next * 2 } else { *next };
                *next = next.wrapping_add(1);
                if turn % 2 == 0 {
                    let id = ctx
                        .user_ids
                        .get((turn / 2) % ctx.user_ids.len().max(1))
                        .ok_or("no seeded accounts")?;
                    let request = ctx
                        .http
                        .get(format!("{base}/api/v1/tenants/default/users/{id}"))
                        .bearer_auth(token);
                    expect_success(request).await.map(|_| OP_GET_USER)
                } else {
                    let request = ctx
                        .http
                        .get(format!("{base}/api/v1/tenants/default/users?limit=50"))
                        .bearer_auth(token);
                    expect_success(request).await.map(|_| OP_LIST_USERS)
                }
            }
        }
    }
}

/// Rotates the refresh token of `slot` (an account and its newest refresh token).
async fn refresh(ctx: &Ctx, tenant: &str, slot: &mut (Account, String)) -> Result<(), String> {
    let base = &ctx.base;
    let request = ctx
        .http
        .post(format!("{base}/api/v1/tenants/{tenant}/token/refresh"))
        .json(&serde_json::json!({"refresh_token": slot.1}));
    let outcome = match expect_success(request).await {
        Ok(body) => serde_json::from_slice::<Tokens>(body.as_ref())
            .map_err(|e| format!("parsing the refresh answer: {e}"))
            .and_then(|t| t.refresh_token.ok_or("no refresh_token".to_owned())),
        Err(e) => Err(e),
    };
    match outcome {
        Ok(token) => {
            slot.1 = token;
            Ok(())
        }
        Err(e) => {
            // The token may be spent without us holding its successor: open a new
            // session so the worker can go on (the error still counts).
            if let Ok(tokens) = sign_in(
                &ctx.http,
                base,
                tenant,
                SignInVia::Native,
                &slot.0.email,
                &slot.0.password,
            )
            .await
                && let Some(token) = tokens.refresh_token
            {
                slot.1 = token;
            }
            Err(e)
        }
    }
}

async fn introspect(ctx: &Ctx) -> Result<(), String> {
    let token = shared(ctx, ctx.user.as_ref()).await?;
    let request = ctx
        .http
        .post(format!(
            "{}/realms/default/protocol/openid-connect/token/introspect",
            ctx.base
        ))
        .form(&[
            ("token", token.as_str()),
            ("client_id", CLIENT_ID),
            ("client_secret", ctx.default_tenant.client_secret.as_str()),
        ]);
    let body = expect_success(request).await?;
    let answer: serde_json::Value = serde_json::from_slice(body.as_ref())
        .map_err(|e| format!("parsing the introspection answer: {e}"))?;
    if answer.get("active") == Some(&serde_json::Value::Bool(true)) {
        Ok(())
    } else {
        Err("introspection answered active: false".to_owned())
    }
}

async fn userinfo(ctx: &Ctx) -> Result<(), String> {
    let token = shared(ctx, ctx.user.as_ref()).await?;
    let request = ctx
        .http
        .get(format!(
            "{}/realms/default/protocol/openid-connect/userinfo",
            ctx.base
        ))
        .bearer_auth(token);
    expect_success(request).await.map(|_| ())
}

/// Operation codes of `mixed`.
pub const OP_INTROSPECT: u8 = 0;
pub const OP_USERINFO: u8 = 1;
pub const OP_REFRESH: u8 = 2;
pub const OP_SIGN_IN: u8 = 3;

/// Ten consecutive `mixed` operations: 70 % validation (introspection and userinfo), 20 %
/// refresh, 10 % sign-in, interleaved so that any window of ten has the exact mix.
pub const MIXED_PATTERN: [u8; 10] = [
    OP_INTROSPECT,
    OP_USERINFO,
    OP_REFRESH,
    OP_INTROSPECT,
    OP_USERINFO,
    OP_SIGN_IN,
    OP_INTROSPECT,
    OP_USERINFO,
    OP_REFRESH,
    OP_INTROSPECT,
];

/// Accounts and sessions `mixed` draws from. An account is signed in by one request at a
/// time and a session rotated by one at a time, as a real client would, so neither the
/// login throttle nor reuse detection is what is measured.
pub struct MixedPools {
    accounts: Pool<Account>,
    sessions: Pool<(Account, String)>,
}

impl MixedPools {
    pub fn new(accounts: Vec<Account>, sessions: Vec<(Account, String)>) -> Self {
        Self {
            accounts: Pool::new(accounts),
            sessions: Pool::new(sessions),
        }
    }
}

/// A set of items each lent to one task at a time.
struct Pool<T> {
    items: std::sync::Mutex<Vec<T>>,
    available: tokio::sync::Semaphore,
}

impl<T> Pool<T> {
    fn new(items: Vec<T>) -> Self {
        let count = items.len();
        Self {
            items: std::sync::Mutex::new(items),
            available: tokio::sync::Semaphore::new(count),
        }
    }

    async fn take(&self) -> Result<T, String> {
        self.available
            .acquire()
            .await
            .map_err(|_| "pool closed".to_owned())?
            .forget();
        self.items
            .lock()
            .map_err(|_| "pool poisoned".to_owned())?
            .pop()
            .ok_or_else(|| "pool empty".to_owned())
    }

    fn give_back(&self, item: T) {
        if let Ok(mut items) = self.items.lock() {
            items.push(item);
            self.available.add_permits(1);
        }
    }
}

pub async fn mixed_step(ctx: &Ctx, pools: &MixedPools, op: u8) -> Result<(), String> {
    match op {
        OP_INTROSPECT => introspect(ctx).await,
        OP_USERINFO => userinfo(ctx).await,
        OP_REFRESH => {
            let mut slot = pools.sessions.take().await?;
            let outcome = refresh(ctx, "default", &mut slot).await;
            pools.sessions.give_back(slot);
            outcome
        }
        _ => {
            let account = pools.accounts.take().await?;
            let outcome = sign_in(
                &ctx.http,
                &ctx.base,
                "default",
                SignInVia::Native,
                &account.email,
                &account.password,
            )
            .await
            .map(|_| ())
            .map_err(|e| format!("{e:#}"));
            pools.accounts.give_back(account);
            outcome
        }
    }
}

async fn shared(ctx: &Ctx, token: Option<&SharedToken>) -> Result<String, String> {
    token
        .ok_or("no shared token was prepared")?
        .get(&ctx.http, &ctx.base)
        .await
        .map_err(|e| format!("{e:#}"))
}

async fn expect_success(request: reqwest::RequestBuilder) -> Result<impl AsRef<[u8]>, String> {
    let response = request
        .send()
        .await
        .map_err(|e| format!("transport: {e}"))?;
    let status = response.status();
    let body = response
        .bytes()
        .await
        .map_err(|e| format!("reading the answer: {e}"))?;
    if status.is_success() {
        Ok(body)
    } else {
        Err(format!("{status}: {}", String::from_utf8_lossy(&body)))
    }
}

/// Samples `cpu` (server and own CPU seconds) at the window's edges; yields the two
/// differences and the window's actual length.
fn spawn_cpu_sampler(
    window_start: Instant,
    end: Instant,
    cpu: impl Fn() -> anyhow::Result<(f64, f64)> + Send + 'static,
) -> tokio::task::JoinHandle<anyhow::Result<(f64, f64, Duration)>> {
    tokio::spawn(async move {
        tokio::time::sleep_until(window_start.into()).await;
        let before = cpu()?;
        let at = Instant::now();
        tokio::time::sleep_until(end.into()).await;
        let after = cpu()?;
        anyhow::Ok((after.0 - before.0, after.1 - before.1, at.elapsed()))
    })
}

/// Signs `account` in to `tenant` and returns it with the session's refresh token.
pub async fn open_session(
    http: &reqwest::Client,
    base: &str,
    tenant: &str,
    account: Account,
) -> anyhow::Result<(Account, String)> {
    let tokens = sign_in(
        http,
        base,
        tenant,
        SignInVia::Native,
        &account.email,
        &account.password,
    )
    .await?;
    let token = tokens
        .refresh_token
        .ok_or_else(|| anyhow!("sign-in gave no refresh token"))?;
    Ok((account, token))
}

/// What one measured window produced.
pub struct Measured {
    /// `(latency, op)` of every request answered with 2xx inside the window.
    pub latencies: Vec<(Duration, u8)>,
    pub errors: u64,
    pub warmup_errors: u64,
    pub warmup_requests: u64,
    pub first_error: Option<String>,
    pub window: Duration,
    pub server_cpu_s: f64,
    pub client_cpu_s: f64,
}

/// Runs `workers` closed-loop for `warmup`, then for `duration`; a request counts in the
/// window when its answer arrives inside it. The server's and our own CPU time are
/// sampled at the window's edges.
pub async fn run(
    ctx: Arc<Ctx>,
    workers: Vec<Worker>,
    warmup: Duration,
    duration: Duration,
    cpu: impl Fn() -> anyhow::Result<(f64, f64)> + Send + 'static,
) -> anyhow::Result<Measured> {
    let start = Instant::now();
    let window_start = start + warmup;
    let end = window_start + duration;
    let sampler = spawn_cpu_sampler(window_start, end, cpu);
    let mut handles = Vec::with_capacity(workers.len());
    for mut worker in workers {
        let ctx = Arc::clone(&ctx);
        handles.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let (mut errors, mut warmup_errors, mut warmup_requests) = (0u64, 0u64, 0u64);
            let mut first_error = None;
            loop {
                let sent = Instant::now();
                if sent >= end {
                    break;
                }
                let outcome = worker.step(&ctx).await;
                let done = Instant::now();
                let in_window = done >= window_start && done <= end;
                match outcome {
                    Ok(op) if in_window => latencies.push((done - sent, op)),
                    Ok(_) => {
                        if done < window_start {
                            warmup_requests += 1;
                        }
                    }
                    Err(e) => {
                        if in_window {
                            errors += 1;
                        } else if done < window_start {
                            warmup_errors += 1;
                        }
                        first_error.get_or_insert(e);
                    }
                }
            }
            (
                latencies,
                errors,
                warmup_errors,
                warmup_requests,
                first_error,
            )
        }));
    }
    let mut measured = Measured {
        latencies: Vec::new(),
        errors: 0,
        warmup_errors: 0,
        warmup_requests: 0,
        first_error: None,
        window: duration,
        server_cpu_s: 0.0,
        client_cpu_s: 0.0,
    };
    for handle in handles {
        let (latencies, errors, warmup_errors, warmup_requests, first_error) =
            handle.await.map_err(|e| anyhow!("a worker failed: {e}"))?;
        measured.latencies.extend(latencies);
        measured.errors += errors;
        measured.warmup_errors += warmup_errors;
        measured.warmup_requests += warmup_requests;
        if measured.first_error.is_none() {
            measured.first_error = first_error;
        }
    }
    let (server_cpu_s, client_cpu_s, window) = sampler
        .await
        .map_err(|e| anyhow!("the CPU sampler failed: {e}"))??;
    measured.server_cpu_s = server_cpu_s;
    measured.client_cpu_s = client_cpu_s;
    measured.window = window;
    Ok(measured)
}

/// Requests the open-loop generator lets be in flight before it counts new ones as
/// errors instead of queueing them without bound.
const OPEN_LOOP_MAX_IN_FLIGHT: usize = 512;

/// Sends `mixed` operations at a fixed `rate` (requests per second) regardless of how
/// fast they are answered, for `warmup` and then `duration`. Latency runs from the
/// moment a request was due, not from when it was sent, so a stalled server shows as
/// latency rather than as fewer requests (no coordinated omission).
pub async fn run_open_loop(
    ctx: Arc<Ctx>,
    pools: Arc<MixedPools>,
    rate: f64,
    warmup: Duration,
    duration: Duration,
    cpu: impl Fn() -> anyhow::Result<(f64, f64)> + Send + 'static,
) -> anyhow::Result<Measured> {
    if rate.is_nan() || rate <= 0.0 {
        bail!("the open-loop rate must be positive");
    }
    let start = Instant::now();
    let window_start = start + warmup;
    let end = window_start + duration;
    let sampler = spawn_cpu_sampler(window_start, end, cpu);
    let interval = Duration::from_secs_f64(1.0 / rate);
    let in_flight = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    let mut overloaded = (0u64, 0u64);
    let mut sequence = 0usize;
    loop {
        let due = start + interval.mul_f64(sequence as f64);
        if due >= end {
            break;
        }
        tokio::time::sleep_until(due.into()).await;
        let op = MIXED_PATTERN[sequence % MIXED_PATTERN.len()];
        sequence += 1;
        if in_flight.load(std::sync::atomic::Ordering::Relaxed) >= OPEN_LOOP_MAX_IN_FLIGHT {
            if due >= window_start {
                overloaded.0 += 1;
            } else {
                overloaded.1 += 1;
            }
            continue;
        }
        in_flight.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (ctx, pools, in_flight) =
            (Arc::clone(&ctx), Arc::clone(&pools), Arc::clone(&in_flight));
        tasks.spawn(async move {
            let outcome = mixed_step(&ctx, &pools, op).await;
            in_flight.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
            (due, Instant::now(), op, outcome)
        });
    }
    let mut measured = Measured {
        latencies: Vec::new(),
        errors: overloaded.0,
        warmup_errors: overloaded.1,
        warmup_requests: 0,
        first_error: (overloaded.0 + overloaded.1 > 0).then(|| {
            format!("overloaded: {OPEN_LOOP_MAX_IN_FLIGHT} requests were already in flight")
        }),
        window: duration,
        server_cpu_s: 0.0,
        client_cpu_s: 0.0,
    };
    while let Some(done) = tasks.join_next().await {
        let (due, finished, op, outcome) =
            done.map_err(|e| anyhow!("a request task failed: {e}"))?;
        let in_window = due >= window_start;
        match outcome {
            Ok(()) if in_window => measured.latencies.push((finished - due, op)),
            Ok(()) => measured.warmup_requests += 1,
            Err(e) => {
                if in_window {
                    measured.errors += 1;
                } else {
                    measured.warmup_errors += 1;
                }
                measured.first_error.get_or_insert(e);
            }
        }
    }
    let (server_cpu_s, client_cpu_s, window) = sampler
        .await
        .map_err(|e| anyhow!("the CPU sampler failed: {e}"))??;
    measured.server_cpu_s = server_cpu_s;
    measured.client_cpu_s = client_cpu_s;
    measured.window = window;
    Ok(measured)
}
