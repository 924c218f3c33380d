//! Starting the server under test as a child process and reading its resource use from
//! `/proc`.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use base64::Engine as _;
use rand::RngCore as _;

/// The running server; killed when dropped.
pub struct Server {
    child: Child,
    pub url: String,
    pub admin_email: String,
    pub admin_password: String,
    /// From spawn to the `listening on` line.
    pub listening_after: Duration,
    bin: PathBuf,
    database_url: Option<String>,
    /// The PostgreSQL encryption key, reused on restart.
    encryption_key: String,
    // Kept alive (and deleted on drop) for as long as the server runs.
    data: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Spawns `bin serve` on an ephemeral port and waits for its address line.
fn spawn(
    bin: &Path,
    data: &Path,
    database_url: Option<&str>,
    encryption_key: &str,
    admin_email: &str,
    admin_password: &str,
) -> anyhow::Result<(Child, String, Duration)> {
    let mut command = Command::new(bin);
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .env_remove("LATCHKEY_CONFIG")
        .env_remove("LATCHKEY_LISTEN")
        .env_remove("LATCHKEY_DATA_DIR")
        .env_remove("LATCHKEY_PUBLIC_URL")
        .env_remove("LATCHKEY_LOG_FORMAT")
        .env_remove("LATCHKEY_DATABASE_URL")
        .env_remove("LATCHKEY_ENCRYPTION_KEY")
        .env_remove("LATCHKEY_SIGNING_ALGORITHM")
        .env("LATCHKEY_ADMIN_EMAIL", admin_email)
        .env("LATCHKEY_ADMIN_PASSWORD", admin_password)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(url) = database_url {
        command
            .args(["--database-url", url])
            .env("LATCHKEY_ENCRYPTION_KEY", encryption_key);
    }
    let started = Instant::now();
    let mut child = command
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let stderr = child
        .stderr
        .take()
        .ok_or_else(|| anyhow!("the server's stderr is not piped"))?;
    let (tx, rx) = mpsc::channel();
    // Keeps draining stderr after the address line so that the server never blocks on
    // logging; later lines (warnings) are echoed to our stderr.
    std::thread::spawn(move || {
        let mut before = Vec::new();
        let mut sent = false;
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if sent {
                eprintln!("server: {line}");
            } else if let Some(url) = line.strip_prefix("latchkey listening on ") {
                let _ = tx.send(Ok(url.trim().to_owned()));
                sent = true;
            } else {
                before.push(line);
            }
        }
        if !sent {
            let _ = tx.send(Err(before));
        }
    });
    let url = match rx.recv_timeout(Duration::from_secs(120)) {
        Ok(Ok(url)) => url,
        Ok(Err(lines)) => {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "the server exited without reporting its address:\n{}",
                lines.join("\n")
            )
        }
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            bail!("the server did not report its address within 120 s")
        }
    };
    Ok((child, url, started.elapsed()))
}

impl Server {
    /// The data directory (SQLite database file and key file).
    pub fn data_dir(&self) -> &Path {
        self.data.path()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Starts `bin serve` on an ephemeral loopback port with a fresh temporary data
    /// directory (SQLite) or the given PostgreSQL `database_url`, and waits for its
    /// address line.
    pub fn start(bin: &Path, database_url: Option<&str>) -> anyhow::Result<Self> {
        if !bin.is_file() {
            bail!(
                "server binary {} not found; build it first with `cargo build --release -p latchkey-cli` \
                 or pass --server-bin",
                bin.display()
            );
        }
        let data = tempfile::Builder::new()
            .prefix("latchkey-bench-")
            .tempdir()
            .context("creating the temporary data directory")?;
        let admin_email = "admin@example.com".to_owned();
        let admin_password = format!("secret-{}", random_hex(12));
        let mut key = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        let encryption_key = base64::engine::general_purpose::STANDARD.encode(key);
        let (child, url, listening_after) = spawn(
            bin,
            data.path(),
            database_url,
            &encryption_key,
            &admin_email,
            &admin_password,
        )?;
        Ok(Self {
            child,
            url,
            admin_email,
            admin_password,
            listening_after,
            bin: bin.to_owned(),
            database_url: database_url.map(str::to_owned),
            encryption_key,
            data,
        })
    }

    /// Stops the server (SIGTERM, then SIGKILL after 10 s) and starts it again on the
    /// same data; returns the time from spawn to the new `listening on` line. The caller
    /// then waits for `/readyz` at the new `url`.
    pub fn restart(&mut self) -> anyhow::Result<Instant> {
        let stopped = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        let deadline = Instant::now() + Duration::from_secs(10);
        while stopped && Instant::now() < deadline {
            if self.child.try_wait()?.is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let spawned = Instant::now();
        let (child, url, listening_after) = spawn(
            &self.bin,
            self.data.path(),
            self.database_url.as_deref(),
            &self.encryption_key,
            &self.admin_email,
            &self.admin_password,
        )?;
        self.child = child;
        self.url = url;
        self.listening_after = listening_after;
        Ok(spawned)
    }

    /// User plus system CPU time of the server process so far.
    pub fn cpu(&self, ticks_per_s: f64) -> anyhow::Result<f64> {
        proc_cpu(
            &PathBuf::from(format!("/proc/{}/stat", self.pid())),
            ticks_per_s,
        )
    }

    /// `(VmHWM, VmRSS)` of the server in MiB.
    pub fn memory(&self) -> anyhow::Result<(f64, f64)> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .context("reading the server's /proc status")?;
        Ok((
            status_kib(&status, "VmHWM:")? / 1024.0,
            status_kib(&status, "VmRSS:")? / 1024.0,
        ))
    }
}

/// CPU time (utime + stime) of the current process, for the load generator's own share.
pub fn own_cpu(ticks_per_s: f64) -> anyhow::Result<f64> {
    proc_cpu(Path::new("/proc/self/stat"), ticks_per_s)
}

fn proc_cpu(path: &Path, ticks_per_s: f64) -> anyhow::Result<f64> {
    let stat =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    // The command name (field 2) is in parentheses and may contain spaces; the fields
    // after the last `)` start with field 3 (state), so utime (14) and stime (15) are
    // at indices 11 and 12.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or_else(|| anyhow!("unexpected format of {}", path.display()))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| -> anyhow::Result<f64> {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .map(|v| v as f64)
            .ok_or_else(|| anyhow!("unexpected format of {}", path.display()))
    };
    Ok((field(11)? + field(12)?) / ticks_per_s)
}

fn status_kib(status: &str, key: &str) -> anyhow::Result<f64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<f64>().ok())
        .ok_or_else(|| anyhow!("no {key} in /proc status"))
}

/// Clock ticks per second (`getconf CLK_TCK`); 100, the Linux default, if that fails.
pub fn clock_ticks() -> (f64, bool) {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|v| *v > 0.0)
        .map_or((100.0, false), |v| (v, true))
}

pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}
