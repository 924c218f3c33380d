//! The physical limits the scenarios are compared against, measured in the same run.

use std::time::{Duration, Instant};

use anyhow::anyhow;
use argon2::password_hash::{PasswordHasher as _, SaltString};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs1::EncodeRsaPrivateKey as _;

/// The server's default argon2id cost (docs/configuration.md, `[hashing]`).
pub const ARGON2_MEMORY_KIB: u32 = 19_456;
pub const ARGON2_ITERATIONS: u32 = 2;
pub const ARGON2_PARALLELISM: u32 = 1;

/// Median single-thread time of one argon2id hash with the server's parameters, over
/// `samples` hashes.
pub fn argon2_hash_time(samples: usize) -> anyhow::Result<Duration> {
    let params = argon2::Params::new(
        ARGON2_MEMORY_KIB,
        ARGON2_ITERATIONS,
        ARGON2_PARALLELISM,
        None,
    )
    .map_err(|e| anyhow!("argon2 parameters: {e}"))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut times = Vec::with_capacity(samples);
    // One untimed hash first, so that page faults of the first allocation do not count.
    for i in 0..=samples {
        let salt = SaltString::generate(&mut rand::thread_rng());
        let started = Instant::now();
        argon
            .hash_password(b"bench-password-for-the-hash-bound", &salt)
            .map_err(|e| anyhow!("argon2: {e}"))?;
        if i > 0 {
            times.push(started.elapsed());
        }
    }
    times.sort();
    times
        .get(times.len() / 2)
        .copied()
        .ok_or_else(|| anyhow!("no argon2 samples"))
}

/// Single-thread RS256 signatures per second with a fresh RSA-2048 key, signing a
/// token shaped like the server's client-credentials access token, for about `run`.
pub fn rs256_signatures_per_s(run: Duration) -> anyhow::Result<f64> {
    let key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048)
        .map_err(|e| anyhow!("generating an RSA key: {e}"))?;
    let der = key
        .to_pkcs1_der()
        .map_err(|e| anyhow!("encoding the RSA key: {e}"))?;
    let encoding = EncodingKey::from_rsa_der(der.as_bytes());
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("iToQgHNbyWV2S6t38hkabA".to_owned());
    let claims = serde_json::json!({
        "iss": "http://127.0.0.1:8080/realms/default",
        "sub": "QHLkOo8Orx9c7GVDA7MJmg",
        "aud": "latchkey",
        "azp": "bench",
        "iat": 1_795_000_000u64,
        "exp": 1_795_000_300u64,
        "jti": "n-f7-EHkbU4JKp-JhgXiGg",
        "scope": "profile email",
        "tenant": "default",
        "tenant_id": "QHMwUw4q201BVQhvKieLTw",
        "preferred_username": "service-account-bench",
        "resource_access": {"bench": {"roles": []}},
    });
    // Warm-up signature, untimed.
    jsonwebtoken::encode(&header, &claims, &encoding)?;
    let started = Instant::now();
    let mut count = 0u64;
    while started.elapsed() < run {
        jsonwebtoken::encode(&header, &claims, &encoding)?;
        count += 1;
    }
    Ok(count as f64 / started.elapsed().as_secs_f64())
}
