//! `TestApp`: the real server on 127.0.0.1 and an ephemeral port, over a fresh SQLite
//! file or a fresh PostgreSQL database, with a clock the test can move.

use std::sync::Arc;

use latchkey_core::clock::ManualClock;
use latchkey_server::Server;
use latchkey_server::config::{Config, Overrides};
use latchkey_store::testing::{self, TestDatabase};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio::sync::oneshot;

pub const ADMIN_EMAIL: &str = "root@example.com";
pub const ADMIN_PASSWORD: &str = "bootstrap-Admin-passphrase-42";
pub const USER_PASSWORD: &str = "a perfectly long passphrase";

#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL URL tests use, or `None` (loudly) when it is not configured.
pub fn postgres_url() -> Option<String> {
    testing::postgres_url("API tests").unwrap_or_else(|message| panic!("{message}"))
}

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub clock: Arc<ManualClock>,
    /// The running server's services, for what has no endpoint (housekeeping).
    pub services: Arc<latchkey_server::services::Services>,
    shutdown: Option<oneshot::Sender<()>>,
    _data_dir: tempfile::TempDir,
    _database: Option<TestDatabase>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// A response read whole: status, headers and JSON body (or `Null`).
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl TestApp {
    /// Starts a server on `backend`; `None` when that backend is not available.
    pub async fn start(backend: Backend) -> Option<Self> {
        Self::start_with_env(backend, &[]).await
    }

    /// As [`TestApp::start`], with more environment variables for the configuration.
    pub async fn start_with_env(backend: Backend, extra: &[(&str, &str)]) -> Option<Self> {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let (database, database_url) = match backend {
            Backend::Sqlite => (None, None),
            Backend::Postgres => {
                let admin_url = postgres_url()?;
                let database = TestDatabase::create(&admin_url)
                    .await
                    .expect("create test database");
                let url = database.url.clone();
                (Some(database), Some(url))
            }
        };
        let env = |name: &str| match name {
            "LATCHKEY_ADMIN_EMAIL" => Some(ADMIN_EMAIL.to_owned()),
            "LATCHKEY_ADMIN_PASSWORD" => Some(ADMIN_PASSWORD.to_owned()),
            // Required with PostgreSQL (every node must share it); harmless with SQLite.
            "LATCHKEY_ENCRYPTION_KEY" => {
                Some("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=".to_owned())
            }
            other => extra
                .iter()
                .find(|(name, _)| *name == other)
                .map(|(_, value)| (*value).to_owned()),
        };
        let config = Config::load_with_env(
            Overrides {
                listen: Some("127.0.0.1:0".into()),
                data_dir: Some(data_dir.path().to_path_buf()),
                database_url,
                ..Overrides::default()
            },
            env,
        )
        .expect("config");
        let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
        let server = Server::build_with_clock(&config, clock.clone())
            .await
            .expect("server starts");
        let address = server.local_addr().expect("bound address");
        let services = server.services();
        let (tx, rx) = oneshot::channel();
        tokio::spawn(server.run_until(async {
            let _ = rx.await;
        }));
        Some(Self {
            base: format!("http://{address}"),
            http: reqwest::Client::new(),
            clock,
            services,
            shutdown: Some(tx),
            _data_dir: data_dir,
            _database: database,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends a request with an optional Bearer token and JSON body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut request = self.http.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        Self::read(request.send().await.expect("request sent")).await
    }

    /// POSTs a body sent as is, with the given content type.
    pub async fn post_raw(
        &self,
        path: &str,
        token: &str,
        content_type: &str,
        body: &'static str,
    ) -> Reply {
        let request = self
            .http
            .post(self.url(path))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(body);
        Self::read(request.send().await.expect("request sent")).await
    }

    pub async fn read(response: reqwest::Response) -> Reply {
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("body read");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    /// The default tenant's audit events, newest first (at most 500).
    pub async fn audit_events(&self, admin: &str) -> Vec<Value> {
        let log = self
            .call(
                Method::GET,
                "/api/v1/tenants/default/audit?limit=500",
                Some(admin),
                None,
            )
            .await;
        assert_eq!(log.status, StatusCode::OK, "{}", log.body);
        log.body["items"].as_array().cloned().unwrap_or_default()
    }

    pub async fn sign_in(&self, tenant: &str, login: &str, password: &str) -> Reply {
        self.call(
            Method::POST,
            &format!("/api/v1/tenants/{tenant}/sign-in"),
            None,
            Some(json!({"login": login, "password": password})),
        )
        .await
    }

    /// Signs in and returns the access token, failing the test otherwise.
    pub async fn token(&self, tenant: &str, login: &str, password: &str) -> String {
        let reply = self.sign_in(tenant, login, password).await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "sign-in as {login}: {}",
            reply.body
        );
        reply.body["access_token"]
            .as_str()
            .expect("access token")
            .to_owned()
    }

    pub async fn admin_token(&self) -> String {
        self.token("default", ADMIN_EMAIL, ADMIN_PASSWORD).await
    }

    /// Creates a member of `tenant` with `role` and [`USER_PASSWORD`]; returns its id.
    pub async fn create_user(&self, admin: &str, tenant: &str, email: &str, role: &str) -> String {
        let reply = self
            .call(
                Method::POST,
                &format!("/api/v1/tenants/{tenant}/users"),
                Some(admin),
                Some(json!({"email": email, "role": role, "password": USER_PASSWORD})),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::CREATED,
            "create {email}: {}",
            reply.body
        );
        reply.body["id"].as_str().expect("id").to_owned()
    }

    pub async fn create_tenant(&self, admin: &str, domain: &str) {
        let reply = self
            .call(
                Method::POST,
                "/api/v1/tenants",
                Some(admin),
                Some(json!({"domain": domain, "title": domain.to_uppercase()})),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::CREATED,
            "create tenant {domain}: {}",
            reply.body
        );
    }
}

/// Asserts a problem+json answer with `status` and `code`.
pub fn assert_problem(reply: &Reply, status: StatusCode, code: &str) {
    assert_eq!(reply.status, status, "body: {}", reply.body);
    assert_eq!(
        reply
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/problem+json"),
        "body: {}",
        reply.body
    );
    assert_eq!(reply.body["code"], code, "body: {}", reply.body);
    assert_eq!(reply.body["status"], status.as_u16());
    assert!(reply.body["detail"].as_str().is_some_and(|d| !d.is_empty()));
}

/// Runs one test body against SQLite and, when configured, PostgreSQL.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                use crate::harness::{Backend, TestApp};

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let app = TestApp::start(Backend::Sqlite).await.expect("sqlite always runs");
                    super::$name(app).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(app) = TestApp::start(Backend::Postgres).await {
                        super::$name(app).await;
                    }
                }
            }
        )*
    };
}
pub(crate) use on_both_backends;
