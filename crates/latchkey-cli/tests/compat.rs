//! Client compatibility: the real Python client packages (python-keycloak,
//! im-squonk2-client, Authlib; pinned in `tests/compat/requirements.txt`) against the
//! built `latchkey serve`, once on SQLite and once on PostgreSQL.
//!
//! The virtualenv lives in `<target>/compat-venv`. It is created on the first run and
//! rebuilt only when the requirement files or the interpreter change (their hash is
//! kept in a marker file inside it); a lock file serialises its set-up between test
//! processes and threads. No `python3` skips loudly, as does PostgreSQL without
//! `LATCHKEY_TEST_POSTGRES_URL`; with `LATCHKEY_REQUIRE_ALL=1` both fail instead.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use latchkey_store::testing::{self, REQUIRE_ALL_VAR, TestDatabase};
use sha2::{Digest as _, Sha256};

const ADMIN_EMAIL: &str = "admin@example.com";
const ADMIN_PASSWORD: &str = "Compat-Harness-4417-Basalt";
const TENANT: &str = "default";
/// base64 of the 32 bytes `latchkey-compat-test-key-32bytes` (a throwaway test key).
const ENCRYPTION_KEY: &str = "bGF0Y2hrZXktY29tcGF0LXRlc3Qta2V5LTMyYnl0ZXM=";
/// The whole pytest run; python-keycloak's own timeout per request is 60 s.
const PYTEST_TIMEOUT: Duration = Duration::from_secs(15 * 60);

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn compat_dir() -> PathBuf {
    workspace().join("tests/compat")
}

fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => workspace().join(dir),
        _ => workspace().join("target"),
    }
}

fn require_all() -> bool {
    std::env::var(REQUIRE_ALL_VAR).as_deref() == Ok("1")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// `python3` and its `--version`, or `None` (after a loud notice) when there is none.
fn find_python() -> Option<(PathBuf, String)> {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("python3"))
            .find(|candidate| candidate.is_file())
    });
    let version = found.as_ref().and_then(|python| {
        let out = Command::new(python).arg("--version").output().ok()?;
        out.status.success().then(|| text(&out).trim().to_owned())
    });
    match (found, version) {
        (Some(python), Some(version)) => Some((python, version)),
        (found, _) => {
            let why = match found {
                Some(python) => format!("{} does not run", python.display()),
                None => "no python3 on PATH".to_owned(),
            };
            if require_all() {
                panic!(
                    "{REQUIRE_ALL_VAR}=1 but {why}: the Python client compatibility suite cannot run"
                );
            }
            eprintln!(
                "!!!! Python client compatibility suite SKIPPED: {why} \
                 (install python3 with its venv module to run it) !!!!"
            );
            None
        }
    }
}

/// The identity of the virtualenv we want: requirement files and interpreter.
fn requirements_hash(python: &Path, version: &str) -> String {
    let mut hash = Sha256::new();
    for name in ["requirements.txt", "constraints.txt"] {
        let path = compat_dir().join(name);
        let content = fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        hash.update(name.as_bytes());
        hash.update((content.len() as u64).to_le_bytes());
        hash.update(&content);
    }
    hash.update(python.as_os_str().as_encoded_bytes());
    hash.update(version.as_bytes());
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Creates (or reuses) `<target>/compat-venv`; returns its Python.
fn virtualenv(python: &Path, version: &str) -> PathBuf {
    let target = target_dir();
    fs::create_dir_all(&target).unwrap();
    let venv = target.join("compat-venv");
    let venv_python = venv.join("bin/python");
    let marker = venv.join("latchkey-requirements.sha256");
    let wanted = requirements_hash(python, version);

    // One set-up at a time: both backends' tests, and other `cargo test` processes.
    let lock = File::create(target.join("compat-venv.lock")).unwrap();
    lock.lock().unwrap();

    if venv_python.is_file() && fs::read_to_string(&marker).is_ok_and(|m| m.trim() == wanted) {
        return venv_python;
    }
    let started = Instant::now();
    eprintln!(
        "compat: creating {} with {version} from {} (requirements changed or first run)",
        venv.display(),
        python.display()
    );
    if venv.exists() {
        fs::remove_dir_all(&venv).unwrap();
    }
    let out = Command::new(python)
        .args(["-m", "venv"])
        .arg(&venv)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "`{} -m venv` failed (on Debian the venv module and ensurepip come with python3-venv):\n{}",
        python.display(),
        text(&out)
    );
    let out = Command::new(&venv_python)
        .args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-input",
            "--quiet",
            "-r",
        ])
        .arg(compat_dir().join("requirements.txt"))
        // The requirement file names its constraints file relative to itself.
        .current_dir(compat_dir())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pip could not install tests/compat/requirements.txt:\n{}",
        text(&out)
    );
    // Written last: an interrupted set-up is redone on the next run.
    fs::write(&marker, format!("{wanted}\n")).unwrap();
    eprintln!(
        "compat: virtualenv ready in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    venv_python
}

/// Runs pytest over `tests/compat` against `server`; panics with its output (and the
/// server's log) when it fails.
fn run_pytest(venv_python: &Path, server: &common::Server, backend: &str) {
    let log_dir = tempfile::tempdir().unwrap();
    let log_path = log_dir.path().join("pytest.log");
    let log = File::create(&log_path).unwrap();
    let started = Instant::now();
    let mut child = Command::new(venv_python)
        .args(["-m", "pytest"])
        .arg(compat_dir())
        .args(["-q", "-p", "no:cacheprovider"])
        .current_dir(workspace())
        .env("LATCHKEY_URL", &server.url)
        .env("LATCHKEY_ADMIN_EMAIL", ADMIN_EMAIL)
        .env("LATCHKEY_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("LATCHKEY_TENANT", TENANT)
        // No __pycache__ in the source tree.
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("PYTHONPATH")
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > PYTEST_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let output = fs::read_to_string(&log_path).unwrap_or_default();
    let took = started.elapsed().as_secs_f64();
    match status {
        Some(status) if status.success() => {
            eprintln!("compat ({backend}): pytest passed in {took:.1} s\n{output}");
        }
        Some(status) => panic!(
            "compat ({backend}): pytest failed ({status}) after {took:.1} s:\n{output}\n\
             ---- server log (tail) ----\n{}",
            server.log_tail()
        ),
        None => panic!(
            "compat ({backend}): pytest did not finish within {} s:\n{output}\n\
             ---- server log (tail) ----\n{}",
            PYTEST_TIMEOUT.as_secs(),
            server.log_tail()
        ),
    }
}

/// Starts a server (on `database_url`, else SQLite in its data directory) and runs the
/// suite against it.
fn check_backend(backend: &str, python: &(PathBuf, String), database_url: Option<&str>) {
    let venv_python = virtualenv(&python.0, &python.1);

    let data = tempfile::tempdir().unwrap();
    let mut command = common::serve_command(data.path());
    command
        .env("LATCHKEY_ADMIN_EMAIL", ADMIN_EMAIL)
        .env("LATCHKEY_ADMIN_PASSWORD", ADMIN_PASSWORD)
        // test_squirro.py signs up accounts (which also lets them create workspaces).
        .env("LATCHKEY_SIGNUP_ENABLED", "true");
    if let Some(url) = database_url {
        command
            .arg("--database-url")
            .arg(url)
            .env("LATCHKEY_ENCRYPTION_KEY", ENCRYPTION_KEY);
    }
    let (mut server, _) = common::spawn(command);
    server.keep(data);
    run_pytest(&venv_python, &server, backend);
}

#[test]
fn python_clients_on_sqlite() {
    if let Some(python) = find_python() {
        check_backend("SQLite", &python, None);
    }
}

#[test]
fn python_clients_on_postgres() {
    let admin_url = match testing::postgres_url("Python client compatibility suite") {
        Ok(Some(url)) => url,
        Ok(None) => return,
        Err(message) => panic!("{message}"),
    };
    let Some(python) = find_python() else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let database = runtime
        .block_on(TestDatabase::create(&admin_url))
        .unwrap_or_else(|e| panic!("cannot create a test database on {admin_url}: {e}"));
    check_backend("PostgreSQL", &python, Some(&database.url));
    // `database` is dropped (the database with it) after the server has stopped.
}
