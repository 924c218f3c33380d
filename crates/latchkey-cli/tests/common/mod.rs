//! Shared by the integration tests: running the built `latchkey serve` as a child process.
// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use latchkey_store::testing::{self, TestDatabase};

pub const BIN: &str = env!("CARGO_BIN_EXE_latchkey");

/// How many of the server's stderr lines after start-up are kept for failure reports.
const LOG_TAIL: usize = 300;

/// The server child process; killed when the test ends, however it ends.
pub struct Server {
    pub child: Child,
    pub url: String,
    log: Arc<Mutex<VecDeque<String>>>,
    data: Option<tempfile::TempDir>,
    /// Declared after `child`, and `Drop` kills the child first: the database goes only
    /// once the server no longer uses it.
    database: Option<TestDatabase>,
}

impl Server {
    /// Keeps `dir` (typically its data directory) alive as long as the server.
    pub fn keep(&mut self, dir: tempfile::TempDir) {
        self.data = Some(dir);
    }

    /// The last lines the server wrote to stderr after its address line.
    pub fn log_tail(&self) -> String {
        let log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        log.iter().fold(String::new(), |mut all, line| {
            all.push_str(line);
            all.push('\n');
            all
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `latchkey serve` on an ephemeral loopback port with `data` as its data directory, the
/// environment cleared of settings that would override the test's own.
pub fn serve_command(data: &Path) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .env_remove("LATCHKEY_ADMIN_EMAIL")
        .env_remove("LATCHKEY_ADMIN_PASSWORD")
        .env_remove("LATCHKEY_CONFIG")
        .env_remove("LATCHKEY_DATABASE_URL")
        .env_remove("LATCHKEY_ENCRYPTION_KEY")
        .env_remove("LATCHKEY_LISTEN")
        .env_remove("LATCHKEY_DATA_DIR")
        .env_remove("LATCHKEY_PUBLIC_URL")
        .env_remove("LATCHKEY_LOG_FORMAT")
        .env_remove("LATCHKEY_SIGNUP_ENABLED")
        .env_remove("LATCHKEY_WORKSPACES_SELF_SERVICE")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

/// Spawns `command` (see [`serve_command`]) and waits for its `latchkey listening on URL`
/// line; returns the server with the stderr lines printed before it (the bootstrap
/// messages).
pub fn spawn(mut command: Command) -> (Server, Vec<String>) {
    let mut child = command.spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let log = Arc::new(Mutex::new(VecDeque::new()));
    let (tx, rx) = mpsc::channel();
    let tail = Arc::clone(&log);
    // Keeps draining stderr after the address line so that logging never blocks; the
    // last lines are kept for failure reports.
    std::thread::spawn(move || {
        let mut before = Vec::new();
        let mut sent = false;
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if sent {
                let mut tail = tail.lock().unwrap_or_else(|e| e.into_inner());
                if tail.len() == LOG_TAIL {
                    tail.pop_front();
                }
                tail.push_back(line);
            } else if let Some(url) = line.strip_prefix("latchkey listening on ") {
                let _ = tx.send(Ok((url.trim().to_owned(), std::mem::take(&mut before))));
                sent = true;
            } else {
                before.push(line);
            }
        }
        if !sent {
            let _ = tx.send(Err(before));
        }
    });
    let mut server = Server {
        child,
        url: String::new(),
        log,
        data: None,
        database: None,
    };
    match rx.recv_timeout(Duration::from_secs(120)) {
        Ok(Ok((url, before))) => {
            server.url = url;
            (server, before)
        }
        Ok(Err(lines)) => panic!(
            "the server exited without reporting its address:\n{}",
            lines.join("\n")
        ),
        Err(_) => panic!("the server did not report its address within 120 s"),
    }
}

/// Where a test server keeps its data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// The SQLite file in the data directory.
    Sqlite,
    /// A fresh database on `LATCHKEY_TEST_POSTGRES_URL`, dropped after the server.
    Postgres,
}

/// base64 of 32 bytes: the throwaway encryption key PostgreSQL servers need (every node
/// of a cluster must share one, so the server does not generate it there).
const TEST_ENCRYPTION_KEY: &str = "bGF0Y2hrZXktY2xpLXRlc3RzLWtleS0zMi1ieXRlcyE=";

/// [`spawn`] on `backend`. `None` (after a loud notice) for PostgreSQL when
/// `LATCHKEY_TEST_POSTGRES_URL` is not set; with `LATCHKEY_REQUIRE_ALL=1` that fails.
pub fn spawn_on(backend: Backend, mut command: Command) -> Option<(Server, Vec<String>)> {
    let database = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => {
            let admin_url = match testing::postgres_url("CLI tests") {
                Ok(Some(url)) => url,
                Ok(None) => return None,
                Err(message) => panic!("{message}"),
            };
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let database = runtime
                .block_on(TestDatabase::create(&admin_url))
                .unwrap_or_else(|e| panic!("cannot create a test database on {admin_url}: {e}"));
            command
                .arg("--database-url")
                .arg(&database.url)
                .env("LATCHKEY_ENCRYPTION_KEY", TEST_ENCRYPTION_KEY);
            Some(database)
        }
    };
    let (mut server, before) = spawn(command);
    server.database = database;
    Some((server, before))
}
