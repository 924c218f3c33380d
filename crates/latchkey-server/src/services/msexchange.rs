//! Sign-in with a Microsoft Exchange identity token (Outlook add-ins): the token is a
//! JWT of a trusted issuer whose `msexchuid` claim names the mailbox; an external
//! authentication with service `msexchange` and that `service_user` maps it to an
//! account. Trusted issuers come from configuration, each with a JWKS file and the
//! audience its tokens must carry; without any, the operation is not configured.

use std::collections::HashMap;
use std::path::PathBuf;

use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use latchkey_core::Tenant;
use latchkey_core::grant::MSEXCHANGE_SERVICE;
use serde::Deserialize;

use super::{ClientContext, IssuedTokens, ServiceError, Services};
use crate::config::ConfigError;

/// A trusted issuer as configured.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct MsExchangeIssuerConfig {
    /// The `iss` its tokens carry.
    pub issuer: String,
    /// A JSON Web Key Set file with its public keys.
    pub jwks_file: PathBuf,
    /// The `aud` its tokens must carry (the add-in's URL).
    pub audience: String,
}

/// A trusted issuer with its keys loaded.
pub struct TrustedIssuer {
    audience: String,
    /// Keys by `kid` (keys without one under ""), each with the algorithm it is for.
    keys: Vec<(String, Algorithm, DecodingKey)>,
}

/// The configured issuers, by `iss`.
#[derive(Default)]
pub struct MsExchangeTrust {
    issuers: HashMap<String, TrustedIssuer>,
}

impl std::fmt::Debug for MsExchangeTrust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.issuers.keys()).finish()
    }
}

/// Why a Microsoft Exchange token sign-in was refused.
#[derive(Debug, thiserror::Error)]
pub enum MsExchangeError {
    #[error("Microsoft Exchange token sign-in is not configured on this server")]
    NotConfigured,
    #[error("the Microsoft Exchange token is invalid: {0}")]
    InvalidToken(&'static str),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

fn key_algorithm(jwk: &jsonwebtoken::jwk::Jwk) -> Option<Algorithm> {
    if let Some(alg) = jwk.common.key_algorithm {
        let alg: Algorithm = format!("{alg:?}").parse().ok()?;
        return matches!(
            alg,
            Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::PS256
                | Algorithm::PS384
                | Algorithm::PS512
                | Algorithm::ES256
                | Algorithm::ES384
        )
        .then_some(alg);
    }
    match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Some(Algorithm::RS256),
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            jsonwebtoken::jwk::EllipticCurve::P256 => Some(Algorithm::ES256),
            jsonwebtoken::jwk::EllipticCurve::P384 => Some(Algorithm::ES384),
            _ => None,
        },
        _ => None,
    }
}

impl MsExchangeTrust {
    /// Reads every issuer's JWKS file; a missing or unusable file stops the start-up.
    pub fn load(configs: &[MsExchangeIssuerConfig]) -> Result<Self, ConfigError> {
        let mut issuers = HashMap::new();
        for config in configs {
            let invalid = |message: String| ConfigError {
                setting: "msexchange.issuers",
                message,
            };
            let text = std::fs::read_to_string(&config.jwks_file)
                .map_err(|e| invalid(format!("cannot read {}: {e}", config.jwks_file.display())))?;
            let set: JwkSet = serde_json::from_str(&text).map_err(|e| {
                invalid(format!("{} is not a JWKS: {e}", config.jwks_file.display()))
            })?;
            let mut keys = Vec::new();
            for jwk in &set.keys {
                let Some(alg) = key_algorithm(jwk) else {
                    continue;
                };
                let key = DecodingKey::from_jwk(jwk).map_err(|e| {
                    invalid(format!("{}: unusable key: {e}", config.jwks_file.display()))
                })?;
                keys.push((jwk.common.key_id.clone().unwrap_or_default(), alg, key));
            }
            if keys.is_empty() {
                return Err(invalid(format!(
                    "{} holds no RSA or EC signing key",
                    config.jwks_file.display()
                )));
            }
            if config.audience.is_empty() || config.issuer.is_empty() {
                return Err(invalid("issuer and audience must not be empty".into()));
            }
            issuers.insert(
                config.issuer.clone(),
                TrustedIssuer {
                    audience: config.audience.clone(),
                    keys,
                },
            );
        }
        Ok(Self { issuers })
    }

    pub fn is_configured(&self) -> bool {
        !self.issuers.is_empty()
    }
}

#[derive(Deserialize)]
struct IssuerOnly {
    iss: String,
}

#[derive(Deserialize)]
struct ExchangeClaims {
    exp: i64,
    msexchuid: String,
}

impl Services {
    /// Verifies a Microsoft Exchange identity token (signature with the key of its
    /// issuer, the algorithm the key is for, audience, expiry against the server clock,
    /// a configured issuer) and returns its `msexchuid` claim.
    pub fn verify_msexchange_token(&self, token: &str) -> Result<String, MsExchangeError> {
        if !self.msexchange.is_configured() {
            return Err(MsExchangeError::NotConfigured);
        }
        use base64::Engine as _;
        let payload = token
            .split('.')
            .nth(1)
            .and_then(|p| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(p)
                    .ok()
            })
            .ok_or(MsExchangeError::InvalidToken("not a JWT"))?;
        let iss: IssuerOnly = serde_json::from_slice(&payload)
            .map_err(|_| MsExchangeError::InvalidToken("no issuer"))?;
        let issuer = self
            .msexchange
            .issuers
            .get(&iss.iss)
            .ok_or(MsExchangeError::InvalidToken("untrusted issuer"))?;
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| MsExchangeError::InvalidToken("not a JWT"))?;
        let candidates = issuer.keys.iter().filter(|(kid, alg, _)| {
            *alg == header.alg && header.kid.as_ref().is_none_or(|wanted| wanted == kid)
        });
        for (_, alg, key) in candidates {
            let mut validation = Validation::new(*alg);
            validation.set_audience(&[issuer.audience.as_str()]);
            validation.set_issuer(&[iss.iss.as_str()]);
            // Expiry is checked below against the server's clock.
            validation.validate_exp = false;
            validation.required_spec_claims = ["exp", "aud", "iss"]
                .into_iter()
                .map(str::to_owned)
                .collect();
            match jsonwebtoken::decode::<ExchangeClaims>(token, key, &validation) {
                Ok(data) => {
                    if data.claims.exp <= self.clock.now().unix_timestamp() {
                        return Err(MsExchangeError::InvalidToken("expired"));
                    }
                    if data.claims.msexchuid.is_empty() {
                        return Err(MsExchangeError::InvalidToken("empty msexchuid"));
                    }
                    return Ok(data.claims.msexchuid);
                }
                Err(error) => match error.kind() {
                    jsonwebtoken::errors::ErrorKind::InvalidSignature => {}
                    jsonwebtoken::errors::ErrorKind::InvalidAudience => {
                        return Err(MsExchangeError::InvalidToken("wrong audience"));
                    }
                    _ => return Err(MsExchangeError::InvalidToken("malformed or unverifiable")),
                },
            }
        }
        Err(MsExchangeError::InvalidToken("bad signature"))
    }

    /// Verifies the token and signs in, for `client`, the account whose `msexchange`
    /// external authentication in `tenant` has the token's `msexchuid` as its
    /// `service_user`. Returns the tokens (the account is in their context).
    pub async fn sign_in_with_msexchange_token(
        &self,
        tenant: &Tenant,
        token: &str,
        client: ClientContext<'_>,
        ip_address: Option<String>,
    ) -> Result<IssuedTokens, MsExchangeError> {
        let msexchuid = self.verify_msexchange_token(token)?;
        Ok(self
            .sign_in_external(
                tenant,
                MSEXCHANGE_SERVICE,
                &msexchuid,
                client,
                ip_address,
                None,
            )
            .await?)
    }
}
