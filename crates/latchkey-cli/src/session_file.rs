//! The stored session: `session.json` in the user's config directory, readable by the
//! user only (the directory 0700, the file 0600), replaced atomically on every write.
//! Commands that use it hold an exclusive lock on `session.lock` beside it for as long as
//! they run, so that two commands never spend the same refresh token.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{ErrorKind, Read as _, Write as _};
use std::os::unix::fs::{
    DirBuilderExt as _, MetadataExt as _, OpenOptionsExt as _, PermissionsExt as _,
};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow, bail};
use latchkey_client::Session;
use serde::{Deserialize, Serialize};

const FILE_NAME: &str = "session.json";
const LOCK_NAME: &str = "session.lock";

/// What `latchkey login` stores: the server and the newest tokens.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredSession {
    pub server: String,
    #[serde(flatten)]
    pub session: Session,
}

/// `$LATCHKEY_CONFIG_DIR`, else `$XDG_CONFIG_HOME/latchkey`, else `$HOME/.config/latchkey`.
pub fn config_dir() -> anyhow::Result<PathBuf> {
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(dir) = var("LATCHKEY_CONFIG_DIR") {
        return Ok(dir);
    }
    // The XDG spec says to ignore relative values.
    if let Some(dir) = var("XDG_CONFIG_HOME").filter(|d| d.is_absolute()) {
        return Ok(dir.join("latchkey"));
    }
    var("HOME")
        .map(|home| home.join(".config").join("latchkey"))
        .ok_or_else(|| anyhow!("cannot find a config directory: set LATCHKEY_CONFIG_DIR or HOME"))
}

pub fn path() -> anyhow::Result<PathBuf> {
    Ok(config_dir()?.join(FILE_NAME))
}

/// An exclusive `flock` on `session.lock` in the config directory: held by every command
/// that reads the session and may write it back, from before it reads the session until
/// after it has stored it. Released when dropped (closing the file drops the lock, also
/// when the process dies).
#[derive(Debug)]
pub struct SessionLock {
    _file: File,
}

/// Waits until no other `latchkey` command holds the session file at `session`, then
/// holds it. Creates the config directory (private) and the lock file as needed. The lock
/// file is never deleted: a process waiting on a deleted file would lock a different file
/// than the next one.
pub async fn lock(session: &Path) -> anyhow::Result<SessionLock> {
    let dir = session
        .parent()
        .ok_or_else(|| anyhow!("{} has no parent directory", session.display()))?;
    ensure_private_dir(dir)?;
    let path = dir.join(LOCK_NAME);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    // `File::lock` blocks the thread, so it waits on a blocking thread.
    let file = tokio::task::spawn_blocking(move || file.lock().map(|()| file))
        .await
        .context("waiting for the session lock")?
        .with_context(|| format!("locking {}", path.display()))?;
    Ok(SessionLock { _file: file })
}

/// Creates `dir` with mode 0700, or makes an existing one 0700 when group or others may
/// use it. A directory with the sticky bit (such as `/tmp`) is shared by design: it is
/// refused rather than changed.
fn ensure_private_dir(dir: &Path) -> anyhow::Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("creating {}", dir.display()))?;
    let meta = std::fs::metadata(dir).with_context(|| format!("reading {}", dir.display()))?;
    if !meta.is_dir() {
        bail!("{} is not a directory", dir.display());
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 == 0 {
        return Ok(());
    }
    if mode & 0o1000 != 0 {
        bail!(
            "{} is a shared directory (mode {mode:04o}); set LATCHKEY_CONFIG_DIR to a private one",
            dir.display()
        );
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).with_context(|| {
        format!(
            "{} is accessible by other users (mode {mode:04o}) and could not be made private",
            dir.display()
        )
    })
}

/// The stored session, or `None` when there is none.
///
/// A file that group or others may read or write is refused, not silently tightened:
/// its tokens may already have been read (or replaced), so the user should decide —
/// log in again, or `chmod 600` it if they know nobody else used it.
pub fn load(path: &Path) -> anyhow::Result<Option<StoredSession>> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let mode = file
        .metadata()
        .with_context(|| format!("reading {}", path.display()))?
        .mode()
        & 0o777;
    if mode & 0o077 != 0 {
        bail!(
            "{} is accessible by other users (mode {mode:04o}); run `latchkey login` again, \
             or `chmod 600` it if nobody else can have read it",
            path.display()
        );
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .with_context(|| format!("reading {}", path.display()))?;
    // Not the serde message: it may quote a token.
    serde_json::from_slice(&bytes).map(Some).map_err(|e| {
        anyhow!(
            "{} is not a valid session file (line {}, column {}); run `latchkey login` again",
            path.display(),
            e.line(),
            e.column()
        )
    })
}

/// Writes the session: to a fresh 0600 file next to it, then renamed over it.
pub fn save(path: &Path, stored: &StoredSession) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| anyhow!("{} has no parent directory", path.display()))?;
    ensure_private_dir(dir)?;
    let json = serde_json::to_vec_pretty(stored).context("encoding the session")?;
    let tmp = dir.join(format!(".{FILE_NAME}.{}.tmp", std::process::id()));
    let written = write_private(&tmp, &json).and_then(|()| {
        std::fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))
    });
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

fn write_private(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("removing {}", path.display())),
    }
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", path.display()))
}

/// Deletes the session file; `false` when there was none.
pub fn delete(path: &Path) -> anyhow::Result<bool> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e).with_context(|| format!("deleting {}", path.display())),
    }
}

/// The stored session, or an error telling the user to log in.
pub fn require(path: &Path) -> anyhow::Result<StoredSession> {
    match load(path)? {
        Some(stored) => Ok(stored),
        None => {
            bail!("not logged in; run `latchkey login --server URL --user EMAIL --password-stdin`")
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use std::os::unix::fs::PermissionsExt as _;

    use latchkey_client::Secret;

    use super::*;

    fn stored(access: &str) -> StoredSession {
        StoredSession {
            server: "http://127.0.0.1:8080/".into(),
            session: Session {
                tenant: "default".into(),
                access_token: Secret::new(access),
                refresh_token: Secret::new("r"),
                access_expires_at: 42,
            },
        }
    }

    #[test]
    fn round_trips_with_private_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested").join(FILE_NAME);
        assert_eq!(load(&path).unwrap(), None);
        save(&path, &stored("a1")).unwrap();
        save(&path, &stored("a2")).unwrap();
        assert_eq!(load(&path).unwrap(), Some(stored("a2")));
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let dir_mode = std::fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(dir_mode & 0o777, 0o700);
        // Nothing but the session file is left behind.
        assert_eq!(
            std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1
        );
        assert!(delete(&path).unwrap());
        assert!(!delete(&path).unwrap());
    }

    #[test]
    fn the_file_is_flat_json() {
        let json = serde_json::to_value(stored("a")).unwrap();
        assert_eq!(json["server"], "http://127.0.0.1:8080/");
        assert_eq!(json["tenant"], "default");
        assert_eq!(json["access_token"], "a");
        assert_eq!(json["access_expires_at"], 42);
    }

    #[test]
    fn corrupt_files_are_reported_without_their_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        std::fs::write(
            &path,
            r#"{"server":"s","tenant":"t","access_token":"tok-secret","refresh_token":1}"#,
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let err = load(&path).unwrap_err().to_string();
        assert!(!err.contains("tok-secret"), "{err}");
        assert!(err.contains("latchkey login"), "{err}");
    }

    fn mode_of(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn files_others_may_read_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        save(&path, &stored("a")).unwrap();
        for loose in [0o644, 0o640, 0o620, 0o604] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(loose)).unwrap();
            let err = load(&path).unwrap_err().to_string();
            assert!(err.contains("accessible by other users"), "{err}");
            assert!(
                err.contains("latchkey login") && err.contains("chmod 600"),
                "{err}"
            );
            assert!(!err.contains('\n'), "{err}");
            // It is left as it was, for the user to judge.
            assert_eq!(mode_of(&path), loose);
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
        assert_eq!(load(&path).unwrap(), Some(stored("a")));
    }

    #[test]
    fn loose_config_dirs_are_made_private() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("latchkey");
        std::fs::create_dir(&config).unwrap();
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o755)).unwrap();
        save(&config.join(FILE_NAME), &stored("a")).unwrap();
        assert_eq!(mode_of(&config), 0o700);
        assert_eq!(mode_of(&config.join(FILE_NAME)), 0o600);
        // A private one (even narrower than 0700) is left alone.
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o500)).unwrap();
        ensure_private_dir(&config).unwrap();
        assert_eq!(mode_of(&config), 0o500);
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o700)).unwrap();
    }

    #[test]
    fn shared_sticky_dirs_are_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let shared = dir.path().join("shared");
        std::fs::create_dir(&shared).unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
        let err = ensure_private_dir(&shared).unwrap_err().to_string();
        assert!(err.contains("shared directory"), "{err}");
        assert_eq!(mode_of(&shared), 0o1777);
    }

    #[tokio::test]
    async fn the_lock_is_exclusive_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("new");
        let held = lock(&config.join(FILE_NAME)).await.unwrap();
        assert_eq!(mode_of(&config), 0o700);
        assert_eq!(mode_of(&config.join(LOCK_NAME)), 0o600);
        // flock locks belong to the open file, so a second open conflicts even in-process.
        let other = File::open(config.join(LOCK_NAME)).unwrap();
        assert!(matches!(
            other.try_lock(),
            Err(std::fs::TryLockError::WouldBlock)
        ));
        // A second `lock` waits until the first is dropped.
        let waiter = tokio::spawn({
            let config = config.clone();
            async move { lock(&config.join(FILE_NAME)).await.unwrap() }
        });
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        assert!(!waiter.is_finished());
        drop(held);
        let second = tokio::time::timeout(std::time::Duration::from_secs(10), waiter)
            .await
            .unwrap()
            .unwrap();
        drop(second);
        other.try_lock().unwrap();
    }
}
