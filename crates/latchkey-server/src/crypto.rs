//! Sealing secrets at rest with ChaCha20-Poly1305. The key comes from configuration or a
//! key file in the data directory, created with mode 0600 on first start.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore as _;

const NONCE_LEN: usize = 12;
const KEY_FILE: &str = "encryption.key";

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("encryption key must be base64 of exactly 32 bytes")]
    BadKey,
    #[error("cannot read or create the key file {path}: {source}")]
    KeyFile {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("sealed data failed authentication (wrong encryption key or tampering)")]
    Open,
}

/// Encrypts and authenticates small secrets; `context` binds a ciphertext to its owner so
/// a sealed value cannot be moved to another row.
pub struct Sealer {
    cipher: ChaCha20Poly1305,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(<key redacted>)")
    }
}

impl Sealer {
    pub fn from_base64(text: &str) -> Result<Self, SealError> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| SealError::BadKey)?;
        if bytes.len() != 32 {
            return Err(SealError::BadKey);
        }
        Ok(Self {
            cipher: ChaCha20Poly1305::new(Key::from_slice(&bytes)),
        })
    }

    /// Loads `encryption.key` from `dir`, creating it (0600) with a random key if missing.
    pub fn from_key_file(dir: &Path) -> Result<Self, SealError> {
        let path = dir.join(KEY_FILE);
        let io_error = |source| SealError::KeyFile {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::from_base64(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut key);
                let encoded = STANDARD.encode(key);
                let mut file = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&path)
                    .map_err(io_error)?;
                file.write_all(encoded.as_bytes()).map_err(io_error)?;
                file.sync_all().map_err(io_error)?;
                Self::from_base64(&encoded)
            }
            Err(e) => Err(io_error(e)),
        }
    }

    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let payload = Payload {
            msg: plaintext,
            aad: context,
        };
        // Encryption with a valid key and a fresh nonce cannot fail for in-memory input.
        let ciphertext = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), payload)
            .unwrap_or_default();
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&ciphertext);
        sealed
    }

    pub fn open(&self, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>, SealError> {
        if sealed.len() < NONCE_LEN {
            return Err(SealError::Open);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        self.cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context,
                },
            )
            .map_err(|_| SealError::Open)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn sealed_data_opens_only_with_the_same_context() {
        let dir = tempfile::tempdir().unwrap();
        let sealer = Sealer::from_key_file(dir.path()).unwrap();
        let sealed = sealer.seal(b"private key", b"tenant-1");
        assert_eq!(sealer.open(&sealed, b"tenant-1").unwrap(), b"private key");
        assert!(sealer.open(&sealed, b"tenant-2").is_err());
        let mode = std::fs::metadata(dir.path().join(KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let again = Sealer::from_key_file(dir.path()).unwrap();
        assert_eq!(again.open(&sealed, b"tenant-1").unwrap(), b"private key");
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(matches!(
            Sealer::from_base64("c2hvcnQ="),
            Err(SealError::BadKey)
        ));
    }
}
