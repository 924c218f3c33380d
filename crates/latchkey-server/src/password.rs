//! Password hashing with argon2id on a bounded pool: at most one hash per core runs at a
//! time, on tokio's blocking threads rather than its async workers, so memory stays at
//! `cores × memory_kib` and other requests keep being served while logins hash.

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::config::HashingConfig;

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("invalid argon2 parameters: {0}")]
    Params(String),
    #[error("hashing failed: {0}")]
    Hash(String),
    #[error("hashing task was cancelled")]
    Cancelled,
}

/// The outcome of checking a password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    Mismatch,
    /// Correct; `needs_rehash` when the stored hash used other parameters (the caller
    /// rehashes only once it has decided to let the sign-in through, so a refused
    /// sign-in never costs more than one hash).
    Match {
        needs_rehash: bool,
    },
}

#[derive(Clone)]
pub struct PasswordHasher {
    inner: Arc<Inner>,
}

struct Inner {
    params: Params,
    slots: Arc<Semaphore>,
    /// A real hash of a random password, verified against when the account is unknown
    /// so that an unknown login costs exactly what a wrong password costs.
    dummy_hash: String,
}

impl PasswordHasher {
    pub fn new(config: &HashingConfig) -> Result<Self, HashError> {
        let params = Params::new(
            config.memory_kib,
            config.iterations,
            config.parallelism,
            None,
        )
        .map_err(|e| HashError::Params(e.to_string()))?;
        let slots = std::thread::available_parallelism().map_or(1, usize::from);
        let dummy_password = latchkey_core::secret::generate_opaque_token();
        let dummy_hash = hash_with(&params, dummy_password.expose())?;
        Ok(Self {
            inner: Arc::new(Inner {
                params,
                slots: Arc::new(Semaphore::new(slots)),
                dummy_hash,
            }),
        })
    }

    /// Hashes a new password into a PHC string.
    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        let inner = Arc::clone(&self.inner);
        self.on_pool(move || hash_with(&inner.params, &password))
            .await?
    }

    /// Checks `password` against `stored`, or against the dummy hash when `stored` is
    /// `None` (unknown account, or one without a password) — always a full verification.
    pub async fn verify(
        &self,
        password: String,
        stored: Option<String>,
    ) -> Result<Verification, HashError> {
        let inner = Arc::clone(&self.inner);
        self.on_pool(move || {
            let known = stored.is_some();
            let hash_text = stored.unwrap_or_else(|| inner.dummy_hash.clone());
            let Ok(parsed) = PasswordHash::new(&hash_text) else {
                // A corrupt stored hash still costs a verification, then fails.
                let _ = verify_against(&inner.params, &password, &inner.dummy_hash);
                return Ok(Verification::Mismatch);
            };
            let matches = argon2_for(&inner.params)
                .verify_password(password.as_bytes(), &parsed)
                .is_ok();
            if !(matches && known) {
                return Ok(Verification::Mismatch);
            }
            Ok(Verification::Match {
                needs_rehash: !uses_params(&parsed, &inner.params),
            })
        })
        .await?
    }

    async fn on_pool<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let slot = Arc::clone(&self.inner.slots)
            .acquire_owned()
            .await
            .map_err(|_| HashError::Cancelled)?;
        // The permit travels with the work: if the request is dropped (client gone), the
        // hash still runs to its end and only then frees its slot, so no more than one
        // hash per core is ever in memory.
        tokio::task::spawn_blocking(move || {
            let result = work();
            drop(slot);
            result
        })
        .await
        .map_err(|_| HashError::Cancelled)
    }
}

fn argon2_for(params: &Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
}

fn hash_with(params: &Params, password: &str) -> Result<String, HashError> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    argon2_for(params)
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| HashError::Hash(e.to_string()))
}

fn verify_against(params: &Params, password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            argon2_for(params)
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// True when the stored hash is argon2id with exactly the configured cost.
fn uses_params(hash: &PasswordHash<'_>, params: &Params) -> bool {
    if hash.algorithm != argon2::ARGON2ID_IDENT {
        return false;
    }
    match Params::try_from(hash) {
        Ok(stored) => {
            stored.m_cost() == params.m_cost()
                && stored.t_cost() == params.t_cost()
                && stored.p_cost() == params.p_cost()
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    fn cheap() -> HashingConfig {
        HashingConfig {
            memory_kib: 8192,
            iterations: 1,
            parallelism: 1,
        }
    }

    #[tokio::test]
    async fn hashes_verify_and_mismatch() {
        let hasher = PasswordHasher::new(&cheap()).unwrap();
        let hash = hasher.hash("a long passphrase".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=8192,t=1,p=1$"));
        assert_eq!(
            hasher
                .verify("a long passphrase".into(), Some(hash.clone()))
                .await
                .unwrap(),
            Verification::Match {
                needs_rehash: false
            }
        );
        assert_eq!(
            hasher.verify("wrong".into(), Some(hash)).await.unwrap(),
            Verification::Mismatch
        );
    }

    #[tokio::test]
    async fn unknown_accounts_never_match_even_the_dummy_password() {
        let hasher = PasswordHasher::new(&cheap()).unwrap();
        assert_eq!(
            hasher.verify("anything".into(), None).await.unwrap(),
            Verification::Mismatch
        );
    }

    #[tokio::test]
    async fn changed_parameters_ask_for_a_rehash() {
        let old = PasswordHasher::new(&cheap()).unwrap();
        let hash = old.hash("a long passphrase".into()).await.unwrap();
        let new = PasswordHasher::new(&HashingConfig {
            iterations: 2,
            ..cheap()
        })
        .unwrap();
        assert_eq!(
            new.verify("a long passphrase".into(), Some(hash))
                .await
                .unwrap(),
            Verification::Match { needs_rehash: true }
        );
        let rehashed = new.hash("a long passphrase".into()).await.unwrap();
        assert!(rehashed.contains("m=8192,t=2,p=1"));
        assert_eq!(
            new.verify("a long passphrase".into(), Some(rehashed))
                .await
                .unwrap(),
            Verification::Match {
                needs_rehash: false
            }
        );
    }
}
