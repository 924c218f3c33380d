//! Password hashing with argon2id on a bounded pool: at most one hash per core runs at a
//! time, on tokio's blocking threads rather than its async workers, so other requests
//! keep being served while logins hash.
//!
//! Memory is bounded by construction: each slot owns one argon2 working area
//! (`memory_kib`), allocated on first use and reused for every later hash, so the server
//! holds at most `cores × memory_kib` for hashing however many requests come and however
//! many blocking threads tokio spreads them over. (Letting the `argon2` crate allocate a
//! fresh area per hash, as its `PasswordHasher` trait does, leaves freed areas cached in
//! the allocator's per-thread arenas: RSS grew by tens of MiB after a few dozen sign-ins.)
//! This is why the module drives `Argon2::hash_password_into_with_memory` itself and
//! builds and checks the PHC strings with the crate's own `PasswordHash` types.

use std::sync::{Arc, Mutex};

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use subtle::ConstantTimeEq as _;
use tokio::sync::Semaphore;

use crate::config::HashingConfig;

/// Length of the hash output in new PHC strings (argon2's default).
const OUTPUT_LEN: usize = 32;

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
    /// Working areas not in use; never more than there are slots.
    areas: Mutex<Vec<Vec<Block>>>,
    /// Salt for the stand-in computation done for unknown accounts.
    decoy_salt: [u8; 16],
}

impl PasswordHasher {
    pub fn new(config: &HashingConfig) -> Result<Self, HashError> {
        let params = Params::new(
            config.memory_kib,
            config.iterations,
            config.parallelism,
            Some(OUTPUT_LEN),
        )
        .map_err(|e| HashError::Params(e.to_string()))?;
        let slots = std::thread::available_parallelism().map_or(1, usize::from);
        let mut decoy_salt = [0u8; 16];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut decoy_salt);
        Ok(Self {
            inner: Arc::new(Inner {
                params,
                slots: Arc::new(Semaphore::new(slots)),
                areas: Mutex::new(Vec::with_capacity(slots)),
                decoy_salt,
            }),
        })
    }

    /// Hashes a new password into a PHC string.
    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        let inner = Arc::clone(&self.inner);
        self.on_pool(move |area| inner.hash_phc(&password, area))
            .await?
    }

    /// Checks `password` against `stored`. Without a stored hash (unknown account, or one
    /// without a password) the same argon2 computation runs on a decoy salt and the
    /// answer is `Mismatch`: an unknown login costs exactly what a wrong password costs.
    pub async fn verify(
        &self,
        password: String,
        stored: Option<String>,
    ) -> Result<Verification, HashError> {
        let inner = Arc::clone(&self.inner);
        self.on_pool(move |area| inner.verify_phc(&password, stored.as_deref(), area))
            .await?
    }

    /// Frees the working areas not in use (after bootstrap's one-off hash, so an idle
    /// server does not keep `memory_kib` it may not need for a long time).
    pub fn release_idle_areas(&self) {
        if let Ok(mut areas) = self.inner.areas.lock() {
            areas.clear();
            areas.shrink_to_fit();
        }
    }

    async fn on_pool<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut [Block]) -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let slot = Arc::clone(&self.inner.slots)
            .acquire_owned()
            .await
            .map_err(|_| HashError::Cancelled)?;
        let inner = Arc::clone(&self.inner);
        // The permit travels with the work: if the request is dropped (client gone), the
        // hash still runs to its end and only then frees its slot and area.
        tokio::task::spawn_blocking(move || {
            let mut area = inner.take_area();
            let result = work(&mut area);
            inner.return_area(area);
            drop(slot);
            result
        })
        .await
        .map_err(|_| HashError::Cancelled)
    }
}

impl Inner {
    fn take_area(&self) -> Vec<Block> {
        let reused = self.areas.lock().ok().and_then(|mut areas| areas.pop());
        reused.unwrap_or_else(|| vec![Block::default(); self.params.block_count()])
    }

    fn return_area(&self, area: Vec<Block>) {
        if let Ok(mut areas) = self.areas.lock() {
            areas.push(area);
        }
    }

    fn hash_phc(&self, password: &str, area: &mut [Block]) -> Result<String, HashError> {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        let mut salt_bytes = [0u8; 64];
        let salt_raw = salt
            .as_salt()
            .decode_b64(&mut salt_bytes)
            .map_err(|e| HashError::Hash(e.to_string()))?;
        let mut out = [0u8; OUTPUT_LEN];
        argon2id(&self.params)
            .hash_password_into_with_memory(password.as_bytes(), salt_raw, &mut out, area)
            .map_err(|e| HashError::Hash(e.to_string()))?;
        let phc = PasswordHash {
            algorithm: argon2::ARGON2ID_IDENT,
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&self.params)
                .map_err(|e| HashError::Hash(e.to_string()))?,
            salt: Some(salt.as_salt()),
            hash: Some(Output::new(&out).map_err(|e| HashError::Hash(e.to_string()))?),
        };
        Ok(phc.to_string())
    }

    fn verify_phc(
        &self,
        password: &str,
        stored: Option<&str>,
        area: &mut [Block],
    ) -> Result<Verification, HashError> {
        let checked = stored
            .and_then(|text| PasswordHash::new(text).ok())
            .and_then(|parsed| self.check_against(password, &parsed, area));
        if let Some(verification) = checked {
            return Ok(verification);
        }
        // Unknown account, no password, or a stored hash we cannot use: the full cost,
        // then no.
        let mut out = [0u8; OUTPUT_LEN];
        let _ = argon2id(&self.params).hash_password_into_with_memory(
            password.as_bytes(),
            &self.decoy_salt,
            &mut out,
            area,
        );
        Ok(Verification::Mismatch)
    }

    /// Recomputes `parsed` for `password`; `None` when the stored hash is unusable (not
    /// argon2, no salt or output, parameters out of range).
    fn check_against(
        &self,
        password: &str,
        parsed: &PasswordHash<'_>,
        area: &mut [Block],
    ) -> Option<Verification> {
        let algorithm = Algorithm::try_from(parsed.algorithm).ok()?;
        let version = match parsed.version {
            Some(v) => Version::try_from(v).ok()?,
            None => Version::V0x13,
        };
        let expected = parsed.hash.as_ref()?.as_bytes();
        let stored_params = Params::try_from(parsed).ok()?;
        let params = Params::new(
            stored_params.m_cost(),
            stored_params.t_cost(),
            stored_params.p_cost(),
            Some(expected.len()),
        )
        .ok()?;
        let mut salt_bytes = [0u8; 64];
        let salt = parsed.salt.as_ref()?.decode_b64(&mut salt_bytes).ok()?;
        let mut out = vec![0u8; expected.len()];
        let hasher = Argon2::new(algorithm, version, params.clone());
        if params.block_count() == area.len() {
            hasher.hash_password_into_with_memory(password.as_bytes(), salt, &mut out, &mut *area)
        } else {
            // A hash made with other parameters (about to be rehashed): a one-off area.
            hasher.hash_password_into(password.as_bytes(), salt, &mut out)
        }
        .ok()?;
        if !bool::from(out.as_slice().ct_eq(expected)) {
            return Some(Verification::Mismatch);
        }
        let needs_rehash = algorithm != Algorithm::Argon2id
            || version != Version::V0x13
            || params.m_cost() != self.params.m_cost()
            || params.t_cost() != self.params.t_cost()
            || params.p_cost() != self.params.p_cost();
        Some(Verification::Match { needs_rehash })
    }
}

/// The largest argon2 parameters an imported hash may carry. Verifying such a hash at
/// sign-in allocates `m` KiB outside the pooled working areas (until it is rehashed with
/// the server's parameters), so an import must not be able to plant hashes that make
/// each sign-in cost gigabytes. 64 MiB, 10 passes and 8 lanes cover the usual
/// libraries' defaults (argon2-cffi: 64 MiB, t=3, p=4; OWASP: 19 MiB, t=2, p=1).
pub const MAX_IMPORTED_MEMORY_KIB: u32 = 64 * 1024;
pub const MAX_IMPORTED_ITERATIONS: u32 = 10;
pub const MAX_IMPORTED_PARALLELISM: u32 = 8;

/// Why an imported password hash is refused. The messages never quote the hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportedHashError {
    #[error("password_hash is not a PHC string ($argon2id$v=19$m=…,t=…,p=…$salt$hash)")]
    NotPhc,
    #[error("password_hash must be an argon2id hash")]
    NotArgon2id,
    #[error("password_hash must be argon2 version 19 (v=19)")]
    UnsupportedVersion,
    #[error("password_hash lacks its salt or its hash")]
    Incomplete,
    #[error(
        "password_hash parameters must be within m≤{MAX_IMPORTED_MEMORY_KIB}, t≤{MAX_IMPORTED_ITERATIONS}, p≤{MAX_IMPORTED_PARALLELISM}"
    )]
    ParametersOutOfRange,
}

/// Checks that `phc` is an argon2id hash this server can verify at sign-in: a PHC
/// string that parses, version 19, with a salt, a hash and bounded parameters. Cheap
/// (no argon2 computation), so a bulk import can check every line.
pub fn check_imported_hash(phc: &str) -> Result<(), ImportedHashError> {
    let parsed = PasswordHash::new(phc).map_err(|_| ImportedHashError::NotPhc)?;
    if Algorithm::try_from(parsed.algorithm) != Ok(Algorithm::Argon2id) {
        return Err(ImportedHashError::NotArgon2id);
    }
    let version = parsed
        .version
        .ok_or(ImportedHashError::UnsupportedVersion)
        .and_then(|v| Version::try_from(v).map_err(|_| ImportedHashError::UnsupportedVersion))?;
    if version != Version::V0x13 {
        return Err(ImportedHashError::UnsupportedVersion);
    }
    let (Some(salt), Some(_)) = (parsed.salt, parsed.hash.as_ref()) else {
        return Err(ImportedHashError::Incomplete);
    };
    // The same decoding sign-in does: a salt that does not fit would never verify.
    let mut salt_bytes = [0u8; 64];
    salt.decode_b64(&mut salt_bytes)
        .map_err(|_| ImportedHashError::Incomplete)?;
    let params = Params::try_from(&parsed).map_err(|_| ImportedHashError::ParametersOutOfRange)?;
    if params.m_cost() > MAX_IMPORTED_MEMORY_KIB
        || params.t_cost() > MAX_IMPORTED_ITERATIONS
        || params.p_cost() > MAX_IMPORTED_PARALLELISM
    {
        return Err(ImportedHashError::ParametersOutOfRange);
    }
    Ok(())
}

fn argon2id(params: &Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
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
    async fn hashes_are_standard_phc_strings_the_argon2_crate_verifies() {
        use argon2::password_hash::PasswordVerifier as _;
        let hasher = PasswordHasher::new(&cheap()).unwrap();
        let hash = hasher.hash("a long passphrase".into()).await.unwrap();
        let parsed = PasswordHash::new(&hash).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"a long passphrase", &parsed)
                .is_ok()
        );
        assert!(
            Argon2::default()
                .verify_password(b"another", &parsed)
                .is_err()
        );
        // And hashes made by the crate itself verify here.
        use argon2::password_hash::PasswordHasher as _;
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        let foreign = argon2id(&Params::new(8192, 1, 1, None).unwrap())
            .hash_password(b"a long passphrase", &salt)
            .unwrap()
            .to_string();
        assert_eq!(
            hasher
                .verify("a long passphrase".into(), Some(foreign))
                .await
                .unwrap(),
            Verification::Match {
                needs_rehash: false
            }
        );
    }

    #[tokio::test]
    async fn working_areas_are_reused_not_multiplied() {
        let hasher = PasswordHasher::new(&cheap()).unwrap();
        let mut tasks = Vec::new();
        for i in 0..12 {
            let hasher = hasher.clone();
            tasks.push(tokio::spawn(async move {
                hasher.hash(format!("password number {i}")).await
            }));
        }
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        let slots = std::thread::available_parallelism().map_or(1, usize::from);
        let pooled = hasher.inner.areas.lock().unwrap().len();
        assert!(
            pooled >= 1 && pooled <= slots,
            "{pooled} areas for {slots} slots"
        );
    }

    #[tokio::test]
    async fn corrupt_stored_hashes_never_match() {
        let hasher = PasswordHasher::new(&cheap()).unwrap();
        for stored in [
            "",
            "plain text",
            "$argon2id$v=19$m=8192,t=1,p=1$c2FsdHNhbHQ",
            "$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E",
        ] {
            assert_eq!(
                hasher
                    .verify("plain text".into(), Some(stored.into()))
                    .await
                    .unwrap(),
                Verification::Mismatch,
                "{stored:?}"
            );
        }
    }

    #[tokio::test]
    async fn imported_hashes_must_be_verifiable_argon2id() {
        let hasher = PasswordHasher::new(&cheap()).unwrap();
        let good = hasher.hash("a long passphrase".into()).await.unwrap();
        assert_eq!(check_imported_hash(&good), Ok(()));
        let salt = "c2FsdHNhbHRzYWx0c2FsdA";
        let hash = "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";
        for (phc, expected) in [
            ("plain text".to_owned(), ImportedHashError::NotPhc),
            (String::new(), ImportedHashError::NotPhc),
            (
                format!("$argon2i$v=19$m=8192,t=1,p=1${salt}${hash}"),
                ImportedHashError::NotArgon2id,
            ),
            (
                "$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E".to_owned(),
                ImportedHashError::NotArgon2id,
            ),
            (
                format!("$argon2id$v=16$m=8192,t=1,p=1${salt}${hash}"),
                ImportedHashError::UnsupportedVersion,
            ),
            (
                format!("$argon2id$m=8192,t=1,p=1${salt}${hash}"),
                ImportedHashError::UnsupportedVersion,
            ),
            (
                format!("$argon2id$v=19$m=8192,t=1,p=1${salt}"),
                ImportedHashError::Incomplete,
            ),
            (
                format!("$argon2id$v=19$m=4194304,t=1,p=1${salt}${hash}"),
                ImportedHashError::ParametersOutOfRange,
            ),
            (
                format!("$argon2id$v=19$m=8192,t=100,p=1${salt}${hash}"),
                ImportedHashError::ParametersOutOfRange,
            ),
        ] {
            assert_eq!(check_imported_hash(&phc), Err(expected.clone()), "{phc}");
            assert!(!expected.to_string().contains(salt));
        }
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
