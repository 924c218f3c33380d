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

/// What every worker shares.
pub struct Ctx {
    pub http: reqwest::Client,
    pub base: String,
    pub client_id: String,
    pub client_secret: String,
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
        let tokens = sign_in(http, base, via, login, password).await?;
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
            let tokens = sign_in(http, base, self.via, &self.login, &self.password).await?;
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
    via: SignInVia,
    login: &str,
    password: &str,
) -> anyhow::Result<Tokens> {
    let request = match via {
        SignInVia::Native => http
            .post(format!("{base}/api/v1/tenants/default/sign-in"))
            .json(&serde_json::json!({"login": login, "password": password})),
        SignInVia::Oidc => http
            .post(format!(
                "{base}/realms/default/protocol/openid-connect/token"
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
    ClientCredentials,
    Refresh {
        /// `(account, newest refresh token)` of each session this worker rotates.
        sessions: Vec<(Account, String)>,
        next: usize,
    },
    Introspect,
    Userinfo,
    AdminRead {
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
            Worker::ClientCredentials => {
                let request = ctx
                    .http
                    .post(format!(
                        "{base}/realms/default/protocol/openid-connect/token"
                    ))
                    .form(&[
                        ("grant_type", "client_credentials"),
                        ("client_id", ctx.client_id.as_str()),
                        ("client_secret", ctx.client_secret.as_str()),
                    ]);
                expect_success(request).await.map(|_| OP_MAIN)
            }
            Worker::Refresh { sessions, next } => {
                let len = sessions.len().max(1);
                let slot = sessions.get_mut(*next % len).ok_or("no refresh sessions")?;
                *next = next.wrapping_add(1);
                let request = ctx
                    .http
                    .post(format!("{base}/api/v1/tenants/default/token/refresh"))
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
                        Ok(OP_MAIN)
                    }
                    Err(e) => {
                        // The token may be spent without us holding its successor: open
                        // a new session so the worker can go on (the error still counts).
                        if let Ok(tokens) = sign_in(
                            &ctx.http,
                            base,
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
            Worker::Introspect => {
                let token = shared(ctx, ctx.user.as_ref()).await?;
                let request = ctx
                    .http
                    .post(format!(
                        "{base}/realms/default/protocol/openid-connect/token/introspect"
                    ))
                    .form(&[
                        ("token", token.as_str()),
                        ("client_id", ctx.client_id.as_str()),
                        ("client_secret", ctx.client_secret.as_str()),
                    ]);
                let body = expect_success(request).await?;
                let answer: serde_json::Value = serde_json::from_slice(body.as_ref())
                    .map_err(|e| format!("parsing the introspection answer: {e}"))?;
                if answer.get("active") == Some(&serde_json::Value::Bool(true)) {
                    Ok(OP_MAIN)
                } else {
                    Err("introspection answered active: false".to_owned())
                }
            }
            Worker::Userinfo => {
                let token = shared(ctx, ctx.user.as_ref()).await?;
                let request = ctx
                    .http
                    .get(format!(
                        "{base}/realms/default/protocol/openid-connect/userinfo"
                    ))
                    .bearer_auth(token);
                expect_success(request).await.map(|_| OP_MAIN)
            }
            Worker::AdminRead { next } => {
                let token = shared(ctx, ctx.admin.as_ref()).await?;
                let turn = *next;
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
    let sampler = tokio::spawn(async move {
        tokio::time::sleep_until(window_start.into()).await;
        let before = cpu()?;
        let at = Instant::now();
        tokio::time::sleep_until(end.into()).await;
        let after = cpu()?;
        let took = at.elapsed();
        anyhow::Ok((after.0 - before.0, after.1 - before.1, took))
    });
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
