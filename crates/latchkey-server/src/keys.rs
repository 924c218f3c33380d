//! Per-tenant RS256 signing keys: generated on first use, stored sealed, cached briefly so
//! a rotation on another node is picked up within `CACHE_TTL`, and looked up again at
//! once when a token names a key this node has not seen.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use latchkey_core::{AuditEvent, Clock, SigningKeyId, TenantId};
use latchkey_store::{ConflictOn, SigningKeyStatus, Store, StoreError, StoredSigningKey};
use rsa::pkcs1::{DecodeRsaPrivateKey as _, EncodeRsaPrivateKey as _};
use rsa::pkcs8::{DecodePublicKey as _, EncodePublicKey as _};
use rsa::traits::PublicKeyParts as _;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::crypto::Sealer;

const CACHE_TTL: Duration = Duration::from_secs(30);
const MIN_RELOAD_INTERVAL: Duration = Duration::from_secs(2);
const RSA_BITS: usize = 2048;
const ALGORITHM: &str = "RS256";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("signing key material is unusable: {0}")]
    Material(String),
    #[error("token signature or format is invalid")]
    InvalidToken,
}

/// A key ready to sign or verify, with its public parts for JWKS.
pub struct LoadedKey {
    pub kid: SigningKeyId,
    pub algorithm: &'static str,
    pub public_key_der: Vec<u8>,
    /// Base64url modulus and exponent, as a JWK publishes them.
    pub n: String,
    pub e: String,
    pub created_at: time::OffsetDateTime,
    encoding: EncodingKey,
    decoding: DecodingKey,
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
    cache: RwLock<HashMap<TenantId, Arc<CachedKeys>>>,
}

impl KeyService {
    pub fn new(store: Arc<dyn Store>, sealer: Arc<Sealer>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            sealer,
            clock,
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
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(active.kid.to_string());
        header.typ = Some("JWT".into());
        jsonwebtoken::encode(&header, claims, &active.encoding)
            .map_err(|e| KeyError::Material(e.to_string()))
    }

    /// Verifies the signature of a token issued for `tenant` and returns its claims.
    /// Expiry is checked by the caller against the injected clock, not here.
    pub async fn verify<T: DeserializeOwned>(
        &self,
        tenant: &TenantId,
        token: &str,
    ) -> Result<T, KeyError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| KeyError::InvalidToken)?;
        if header.alg != Algorithm::RS256 {
            return Err(KeyError::InvalidToken);
        }
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
        let mut validation = Validation::new(Algorithm::RS256);
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        jsonwebtoken::decode::<T>(token, &key.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|_| KeyError::InvalidToken)
    }

    /// Replaces the active key with a new one; the old one stays published as previous.
    pub async fn rotate(
        &self,
        tenant: &TenantId,
        audit: &AuditEvent,
    ) -> Result<Arc<LoadedKey>, KeyError> {
        let stored = self.generate(tenant).await?;
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
            let first = self.generate(tenant).await?;
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

    async fn generate(&self, tenant: &TenantId) -> Result<StoredSigningKey, KeyError> {
        let id = SigningKeyId::generate();
        // RSA key generation takes tens of milliseconds: keep it off the async workers.
        let private = tokio::task::spawn_blocking(|| {
            rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, RSA_BITS)
        })
        .await
        .map_err(|e| KeyError::Material(e.to_string()))?
        .map_err(|e| KeyError::Material(e.to_string()))?;
        let private_der = private
            .to_pkcs1_der()
            .map_err(|e| KeyError::Material(e.to_string()))?;
        let public_der = private
            .to_public_key()
            .to_public_key_der()
            .map_err(|e| KeyError::Material(e.to_string()))?;
        Ok(StoredSigningKey {
            sealed_private_key: self
                .sealer
                .seal(private_der.as_bytes(), &seal_context(tenant, &id)),
            public_key_der: public_der.as_bytes().to_vec(),
            id,
            tenant_id: tenant.clone(),
            algorithm: ALGORITHM.to_owned(),
            status: SigningKeyStatus::Active,
            created_at: self.clock.now(),
        })
    }

    fn load(&self, stored: &StoredSigningKey) -> Result<LoadedKey, KeyError> {
        let material = |e: String| KeyError::Material(e);
        let private_der = self
            .sealer
            .open(
                &stored.sealed_private_key,
                &seal_context(&stored.tenant_id, &stored.id),
            )
            .map_err(|e| material(e.to_string()))?;
        // Parse once to be sure the sealed bytes are a real key before we sign with it.
        rsa::RsaPrivateKey::from_pkcs1_der(&private_der).map_err(|e| material(e.to_string()))?;
        let public = rsa::RsaPublicKey::from_public_key_der(&stored.public_key_der)
            .map_err(|e| material(e.to_string()))?;
        let n = URL_SAFE_NO_PAD.encode(public.n().to_bytes_be());
        let e = URL_SAFE_NO_PAD.encode(public.e().to_bytes_be());
        let decoding =
            DecodingKey::from_rsa_components(&n, &e).map_err(|e| material(e.to_string()))?;
        Ok(LoadedKey {
            kid: stored.id.clone(),
            algorithm: ALGORITHM,
            public_key_der: stored.public_key_der.clone(),
            n,
            e,
            created_at: stored.created_at,
            encoding: EncodingKey::from_rsa_der(&private_der),
            decoding,
        })
    }
}

fn seal_context(tenant: &TenantId, kid: &SigningKeyId) -> Vec<u8> {
    format!("signing-key:{tenant}:{kid}").into_bytes()
}
