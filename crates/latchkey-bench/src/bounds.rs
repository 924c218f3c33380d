//! The physical limits the scenarios are compared against, measured in the same run.

use std::time::{Duration, Instant};

use anyhow::anyhow;
use argon2::password_hash::{PasswordHasher as _, SaltString};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, RSA_PKCS1_SHA256, RsaKeyPair,
};
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

/// Signs a JWS signing input, returning the raw signature.
type SignFn = dyn Fn(&[u8]) -> anyhow::Result<Vec<u8>>;

/// The JWS algorithms whose signing bound is measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SigningAlg {
    Rs256,
    Es256,
}

/// Single-thread JWS signatures per second with a fresh key (RSA-2048 or P-256), doing
/// per token what the server does: serialize claims shaped like its client-credentials
/// access token, base64url them behind a fixed header, sign with a key parsed once
/// (`ring`, the server's backend), append the base64url signature. Runs for about `run`.
pub fn signatures_per_s(alg: SigningAlg, run: Duration) -> anyhow::Result<f64> {
    let rng = SystemRandom::new();
    let sign: Box<SignFn> = match alg {
        SigningAlg::Rs256 => {
            let key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048)
                .map_err(|e| anyhow!("generating an RSA key: {e}"))?;
            let der = key
                .to_pkcs1_der()
                .map_err(|e| anyhow!("encoding the RSA key: {e}"))?;
            let pair = RsaKeyPair::from_der(der.as_bytes())
                .map_err(|e| anyhow!("parsing the RSA key: {e}"))?;
            let rng = rng.clone();
            Box::new(move |message| {
                let mut signature = vec![0; pair.public().modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &rng, message, &mut signature)
                    .map_err(|_| anyhow!("RSA signing failed"))?;
                Ok(signature)
            })
        }
        SigningAlg::Es256 => {
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                .map_err(|_| anyhow!("generating a P-256 key failed"))?;
            let pair =
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
                    .map_err(|e| anyhow!("parsing the P-256 key: {e}"))?;
            let rng = rng.clone();
            Box::new(move |message| {
                Ok(pair
                    .sign(&rng, message)
                    .map_err(|_| anyhow!("ECDSA signing failed"))?
                    .as_ref()
                    .to_vec())
            })
        }
    };
    let header = URL_SAFE_NO_PAD.encode(
        serde_json::json!({"typ": "JWT", "alg": if alg == SigningAlg::Rs256 { "RS256" } else { "ES256" }, "kid": "iToQgHNbyWV2S6t38hkabA"})
            .to_string(),
    );
    let claims = serde_json::json!({
        "iss": "http://127.0.0.1:8080/realms/default",
        "sub": "service-account-bench",
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
    let one_token = || -> anyhow::Result<usize> {
        let payload = serde_json::to_vec(&claims)?;
        let mut token = header.clone();
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&payload, &mut token);
        let signature = sign(token.as_bytes())?;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&signature, &mut token);
        Ok(token.len())
    };
    // Warm-up signature, untimed.
    one_token()?;
    let started = Instant::now();
    let mut count = 0u64;
    while started.elapsed() < run {
        std::hint::black_box(one_token()?);
        count += 1;
    }
    Ok(count as f64 / started.elapsed().as_secs_f64())
}
