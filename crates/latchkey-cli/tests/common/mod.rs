//! Shared by the integration tests: running the built `latchkey serve` as a child process.
// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_latchkey");

/// How many of the server's stderr lines after start-up are kept for failure reports.
const LOG_TAIL: usize = 300;

/// The server child process; killed when the test ends, however it ends.
pub struct Server {
    pub child: Child,
    pub url: String,
    log: Arc<Mutex<VecDeque<String>>>,
    data: Option<tempfile::TempDir>,
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
