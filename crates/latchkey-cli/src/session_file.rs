//! The stored session: `session.json` in the user's config directory, readable by the
//! user only (the directory 0700, the file 0600), replaced atomically on every write.

use std::fs::{DirBuilder, OpenOptions};
use std::io::{ErrorKind, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow, bail};
use latchkey_client::Session;
use serde::{Deserialize, Serialize};

const FILE_NAME: &str = "session.json";

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

/// The stored session, or `None` when there is none.
pub fn load(path: &Path) -> anyhow::Result<Option<StoredSession>> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
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
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("creating {}", dir.display()))?;
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
        let err = load(&path).unwrap_err().to_string();
        assert!(!err.contains("tok-secret"), "{err}");
        assert!(err.contains("latchkey login"), "{err}");
    }
}
