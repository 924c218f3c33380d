//! Per-tenant signing keys (RS256 or ES256): generated on first use, stored sealed,
//! cached briefly so a rotation on another node is picked up within `CACHE_TTL`, and
//! looked up again at once when a token names a key this node has not seen.
//!
//! Tokens are signed here with `ring` directly rather than through
//! `jsonwebtoken::encode`: jsonwebtoken 9 re-parses (and re-validates) the private key
//! from DER on every signature, which the profile of the refresh path showed as a large
//! share of its CPU. Here each key is parsed once when it is loaded. Verification stays
//! with jsonwebtoken.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use latchkey_core::token::SigningAlgorithm;
use latchkey_core::{AuditEvent, Clock, SigningKeyId, TenantId};
use latchkey_store::{ConflictOn, SigningKeyStatus, Store, StoreError, StoredSigningKey};
use ring::rand::SystemRandom;
use ring::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _, RSA_PKCS1_SHA256, RsaKeyPair,
};
use rsa::pkcs1::EncodeRsaPrivateKey as _;
use rsa::pkcs8::{DecodePublicKey as _, EncodePublicKey as _};
use rsa::traits::PublicKeyParts as _;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::crypto::Sealer;

const CACHE_TTL: Duration = Duration::from_secs(30);
const MIN_RELOAD_INTERVAL: Duration = Duration::from_secs(2);
const RSA_BITS: usize = 2048;

/// The DER prefix of a SubjectPublicKeyInfo for a P-256 key (id-ecPublicKey with the
/// prime256v1 curve, then the BIT STRING header); the 65-byte uncompressed point follows.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];
const P256_POINT_LEN: usize = 65;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("signing key material is unusable: {0}")]
    Material(String),
    #[error("token signature or format is invalid")]
    InvalidToken,
}

/// The public half of a key as a JWK publishes it (base64url fields).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublicJwk {
    Rsa {
        n: String,
        e: String,
    },
    Ec {
        crv: &'static str,
        x: String,
        y: String,
    },
}

enum Signer {
    Rsa(RsaKeyPair),
    Ecdsa(EcdsaKeyPair),
}

/// A key ready to sign or verify, with its public parts for JWKS.
pub struct LoadedKey {
    pub kid: SigningKeyId,
    pub algorithm: SigningAlgorithm,
    /// DER SubjectPublicKeyInfo (what Keycloak's realm document calls `public_key`).
    pub public_key_der: Vec<u8>,
    pub jwk: PublicJwk,
    pub created_at: time::OffsetDateTime,
    /// The base64url JWS header, the same for every token this key signs.
    encoded_header: String,
    signer: Signer,
    decoding: DecodingKey,
}

impl LoadedKey {
    /// `header.payload.signature` in JWS compact serialization (RFC 7515 §7.1).
    fn sign_compact<T: Serialize>(
        &self,
        claims: &T,
        rng: &SystemRandom,
    ) -> Result<String, KeyError> {
        let payload = serde_json::to_vec(claims).map_err(|e| KeyError::Material(e.to_string()))?;
        let mut token =
            String::with_capacity(self.encoded_header.len() + payload.len() * 4 / 3 + 360);
        token.push_str(&self.encoded_header);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&payload, &mut token);
        let signing_failed = |_| KeyError::Material("signing failed".into());
        let signature = match &self.signer {
            Signer::Rsa(pair) => {
                let mut signature = vec![0; pair.public().modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, rng, token.as_bytes(), &mut signature)
                    .map_err(signing_failed)?;
                signature
            }
            // The FIXED encoding is r || s, exactly what JWS wants for ES256.
            Signer::Ecdsa(pair) => pair
                .sign(rng, token.as_bytes())
                .map_err(signing_failed)?
                .as_ref()
                .to_vec(),
        };
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&signature, &mut token);
        Ok(token)
    }

    fn jose_algorithm(&self) -> Algorithm {
        match self.algorithm {
            SigningAlgorithm::Rs256 => Algorithm::RS256,
            SigningAlgorithm::Es256 => Algorithm::ES256,
        }
    }
}

struct CachedKeys {
    loaded_at: Instant,
    /// Active key first, then the previous one.
    keys: Vec<Arc<LoadedKey>>,
}

pub struct KeyService {
    store: Arc<dyn Store>,
    sealer: Arc<Sealer>,
    clock: Arc<dyn Clock>,
    /// The algorithm of a tenant's first key.
    default_algorithm: SigningAlgorithm,
    rng: SystemRandom,
    cache: RwLock<HashMap<TenantId, Arc<CachedKeys>>>,
}

impl KeyService {
    pub fn new(
        store: Arc<dyn Store>,
        sealer: Arc<Sealer>,
        clock: Arc<dyn Clock>,
        default_algorithm: SigningAlgorithm,
    ) -> Self {
        Self {
            store,
            sealer,
            clock,
            default_algorithm,
            rng: SystemRandom::new(),
            cache: RwLock::new(HashMap::new()),
        }
    }

    /// The tenant's published keys (active first), creating the first one if needed.
    pub async fn published(&self, tenant: &TenantId) -> Result<Vec<Arc<LoadedKey>>, KeyError> {
        Ok(self.cached(tenant, false).await?.keys.clone())
    }

    /// Signs `claims` with the tenant's active key.
    pub async fn sign<T: Serialize>(
        &self,
        tenant: &TenantId,
        claims: &T,
    ) -> Result<String, KeyError> {
        let keys = self.cached(tenant, false).await?;
        let active = keys
            .keys
            .first()
            .ok_or_else(|| KeyError::Material("tenant has no active key".into()))?;
        active.sign_compact(claims, &self.rng)
    }

    /// Verifies the signature of a token issued for `tenant` and returns its claims.
    /// Expiry is checked by the caller against the injected clock, not here.
    pub async fn verify<T: DeserializeOwned>(
        &self,
        tenant: &TenantId,
        token: &str,
    ) -> Result<T, KeyError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| KeyError::InvalidToken)?;
        let kid = header.kid.ok_or(KeyError::InvalidToken)?;
        let mut keys = self.cached(tenant, false).await?;
        if !keys.keys.iter().any(|k| k.kid.as_str() == kid)
            && keys.loaded_at.elapsed() >= MIN_RELOAD_INTERVAL
        {
            // Another node may have rotated since we cached. Tokens with made-up key ids
            // cost at most one store read per tenant per interval.
            keys = self.cached(tenant, true).await?;
        }
        let key = keys
            .keys
            .iter()
            .find(|k| k.kid.as_str() == kid)
            .ok_or(KeyError::InvalidToken)?;
        // The key decides the algorithm, never the token: this is what stops an
        // attacker from choosing `none` or HMAC-with-the-public-key.
        if header.alg != key.jose_algorithm() {
            return Err(KeyError::InvalidToken);
        }
        let mut validation = Validation::new(key.jose_algorithm());
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        jsonwebtoken::decode::<T>(token, &key.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|_| KeyError::InvalidToken)
    }

    /// Replaces the active key with a new one; the old one stays published as previous.
    /// Without `algorithm` the new key uses the algorithm of the active one.
    pub async fn rotate(
        &self,
        tenant: &TenantId,
        algorithm: Option<SigningAlgorithm>,
        audit: &AuditEvent,
    ) -> Result<Arc<LoadedKey>, KeyError> {
        let algorithm = match algorithm {
            Some(chosen) => chosen,
            None => self
                .cached(tenant, true)
                .await?
                .keys
                .first()
                .map_or(self.default_algorithm, |active| active.algorithm),
        };
        let stored = self.generate(tenant, algorithm).await?;
        self.store
            .install_signing_key(&stored, true, Some(audit))
            .await?;
        let keys = self.cached(tenant, true).await?;
        keys.keys
            .first()
            .cloned()
            .ok_or_else(|| KeyError::Material("rotation left no active key".into()))
    }

    /// Drops cached keys of a deleted tenant.
    pub fn forget(&self, tenant: &TenantId) {
        if let Ok(mut cache) = self.cache.write() {
            cache.remove(tenant);
        }
    }

    async fn cached(&self, tenant: &TenantId, force: bool) -> Result<Arc<CachedKeys>, KeyError> {
        if !force
            && let Some(hit) = self
                .cache
                .read()
                .ok()
                .and_then(|cache| cache.get(tenant).cloned())
                .filter(|hit| hit.loaded_at.elapsed() < CACHE_TTL)
        {
            return Ok(hit);
        }
        let mut stored = self.store.signing_keys(tenant).await?;
        if stored.is_empty() {
            let first = self.generate(tenant, self.default_algorithm).await?;
            match self.store.install_signing_key(&first, false, None).await {
                Ok(()) | Err(StoreError::Conflict(ConflictOn::SigningKey)) => {}
                Err(e) => return Err(e.into()),
            }
            stored = self.store.signing_keys(tenant).await?;
        }
        let keys = stored
            .iter()
            .map(|key| self.load(key).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()?;
        let entry = Arc::new(CachedKeys {
            loaded_at: Instant::now(),
            keys,
        });
        if let Ok(mut cache) = self.cache.write() {
            cache.insert(tenant.clone(), Arc::clone(&entry));
        }
        Ok(entry)
    }

    async fn generate(
        &self,
        tenant: &TenantId,
        algorithm: SigningAlgorithm,
    ) -> Result<StoredSigningKey, KeyError> {
        let id = SigningKeyId::generate();
        let material = |e: String| KeyError::Material(e);
        let (private_der, public_der) = match algorithm {
            SigningAlgorithm::Rs256 => {
                // RSA key generation takes tens of milliseconds (ring cannot generate RSA
                // keys, hence the `rsa` crate): keep it off the async workers.
                let private = tokio::task::spawn_blocking(|| {
                    rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, RSA_BITS)
                })
                .await
                .map_err(|e| material(e.to_string()))?
                .map_err(|e| material(e.to_string()))?;
                let private_der = private
                    .to_pkcs1_der()
                    .map_err(|e| material(e.to_string()))?
                    .as_bytes()
                    .to_vec();
                let public_der = private
                    .to_public_key()
                    .to_public_key_der()
                    .map_err(|e| material(e.to_string()))?
                    .as_bytes()
                    .to_vec();
                (private_der, public_der)
            }
            SigningAlgorithm::Es256 => {
                let pkcs8 =
                    EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &self.rng)
                        .map_err(|_| material("P-256 key generation failed".into()))?;
                let pair = EcdsaKeyPair::from_pkcs8(
                    &ECDSA_P256_SHA256_FIXED_SIGNING,
                    pkcs8.as_ref(),
                    &self.rng,
                )
                .map_err(|e| material(e.to_string()))?;
                let mut public_der = P256_SPKI_PREFIX.to_vec();
                public_der.extend_from_slice(pair.public_key().as_ref());
                (pkcs8.as_ref().to_vec(), public_der)
            }
        };
        Ok(StoredSigningKey {
            sealed_private_key: self.sealer.seal(&private_der, &seal_context(tenant, &id)),
            public_key_der: public_der,
            id,
            tenant_id: tenant.clone(),
            algorithm: algorithm.as_str().to_owned(),
            status: SigningKeyStatus::Active,
            created_at: self.clock.now(),
        })
    }

    fn load(&self, stored: &StoredSigningKey) -> Result<LoadedKey, KeyError> {
        let material = |e: String| KeyError::Material(e);
        let algorithm = SigningAlgorithm::parse(&stored.algorithm)
            .ok_or_else(|| material(format!("unknown algorithm {}", stored.algorithm)))?;
        let private_der = self
            .sealer
            .open(
                &stored.sealed_private_key,
                &seal_context(&stored.tenant_id, &stored.id),
            )
            .map_err(|e| material(e.to_string()))?;
        let (signer, jwk, decoding) = match algorithm {
            SigningAlgorithm::Rs256 => {
                let pair =
                    RsaKeyPair::from_der(&private_der).map_err(|e| material(e.to_string()))?;
                let public = rsa::RsaPublicKey::from_public_key_der(&stored.public_key_der)
                    .map_err(|e| material(e.to_string()))?;
                let n = URL_SAFE_NO_PAD.encode(public.n().to_bytes_be());
                let e = URL_SAFE_NO_PAD.encode(public.e().to_bytes_be());
                let decoding = DecodingKey::from_rsa_components(&n, &e)
                    .map_err(|e| material(e.to_string()))?;
                (Signer::Rsa(pair), PublicJwk::Rsa { n, e }, decoding)
            }
            SigningAlgorithm::Es256 => {
                let pair = EcdsaKeyPair::from_pkcs8(
                    &ECDSA_P256_SHA256_FIXED_SIGNING,
                    &private_der,
                    &self.rng,
                )
                .map_err(|e| material(e.to_string()))?;
                let point = pair.public_key().as_ref();
                let mut expected_der = P256_SPKI_PREFIX.to_vec();
                expected_der.extend_from_slice(point);
                if point.len() != P256_POINT_LEN || stored.public_key_der != expected_der {
                    return Err(material(
                        "stored public key does not match the private key".into(),
                    ));
                }
                let x = URL_SAFE_NO_PAD.encode(&point[1..33]);
                let y = URL_SAFE_NO_PAD.encode(&point[33..]);
                let decoding =
                    DecodingKey::from_ec_components(&x, &y).map_err(|e| material(e.to_string()))?;
                (
                    Signer::Ecdsa(pair),
                    PublicJwk::Ec { crv: "P-256", x, y },
                    decoding,
                )
            }
        };
        let header = serde_json::json!({
            "typ": "JWT",
            "alg": algorithm.as_str(),
            "kid": stored.id.as_str(),
        });
        Ok(LoadedKey {
            kid: stored.id.clone(),
            algorithm,
            public_key_der: stored.public_key_der.clone(),
            jwk,
            created_at: stored.created_at,
            encoded_header: URL_SAFE_NO_PAD.encode(header.to_string()),
            signer,
            decoding,
        })
    }
}

fn seal_context(tenant: &TenantId, kid: &SigningKeyId) -> Vec<u8> {
    format!("signing-key:{tenant}:{kid}").into_bytes()
}
