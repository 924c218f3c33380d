//! Time-based one-time passwords (RFC 6238) and recovery codes: the rules only. Which
//! time step was last accepted, which recovery codes are spent and the sealed secret
//! live in the store; the clock is passed in, so tests move time instead of sleeping.
//!
//! Parameters are the ones every authenticator app understands: HMAC-SHA-1, 6 digits,
//! 30-second steps. A code is accepted for the step before and after the current one
//! (clock drift between phone and server), and [`verify_code`] returns the step it
//! matched so the caller can refuse a step that was already used (RFC 6238 §5.2).

use base64::Engine as _;
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;
use totp_rs::{Algorithm, Secret, TOTP};

use crate::secret::{SecretString, constant_time_eq};

/// Seconds per time step.
pub const STEP_SECONDS: u64 = 30;
/// Digits of a code.
pub const DIGITS: usize = 6;
/// Steps accepted on either side of the current one.
pub const SKEW_STEPS: u8 = 1;
/// 160 bits, the length RFC 4226 §4 recommends.
pub const SECRET_BYTES: usize = 20;
/// Recovery codes handed out with an enrolment.
pub const RECOVERY_CODE_COUNT: usize = 10;
/// Characters of a recovery code without its separators: 16 from a 32-letter alphabet
/// are 80 random bits, enough that a fast hash suffices to store them.
const RECOVERY_CODE_CHARS: usize = 16;
/// Crockford's base32 in lower case: digits and letters without i, l, o and u, so no
/// two symbols are easily mistaken for each other.
const RECOVERY_ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TotpError {
    #[error("a TOTP secret must be {SECRET_BYTES} bytes")]
    BadSecret,
}

/// The shared secret of an authenticator. Never printed; sealed before it is stored.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(Vec<u8>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(<redacted>)")
    }
}

impl TotpSecret {
    /// A fresh random secret from the operating system's generator.
    pub fn generate() -> Self {
        let mut bytes = vec![0u8; SECRET_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// A secret read back from storage.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, TotpError> {
        if bytes.len() == SECRET_BYTES {
            Ok(Self(bytes))
        } else {
            Err(TotpError::BadSecret)
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Base32 (RFC 4648, no padding): what people type into an authenticator app.
    pub fn to_base32(&self) -> SecretString {
        match Secret::Raw(self.0.clone()).to_encoded() {
            Secret::Encoded(text) => SecretString::new(text),
            // `to_encoded` of a raw secret is always encoded.
            Secret::Raw(_) => SecretString::default(),
        }
    }

    fn generator(&self) -> TOTP {
        // The length is checked on construction; `new_unchecked` avoids a second check
        // that could only fail for a secret this type never holds.
        TOTP::new_unchecked(
            Algorithm::SHA1,
            DIGITS,
            SKEW_STEPS,
            STEP_SECONDS,
            self.0.clone(),
        )
    }

    /// The code of one time step.
    pub fn code_at_step(&self, step: u64) -> String {
        self.generator().generate(step.saturating_mul(STEP_SECONDS))
    }
}

/// The time step `now` falls in (seconds since the epoch / 30); instants before the
/// epoch count as step 0.
pub fn time_step(now: OffsetDateTime) -> u64 {
    u64::try_from(now.unix_timestamp()).unwrap_or(0) / STEP_SECONDS
}

/// Does `code` look like a TOTP code (six ASCII digits, spaces ignored)? Anything else
/// offered as a second factor is treated as a recovery code.
pub fn is_code_shaped(code: &str) -> bool {
    let digits: Vec<char> = code.chars().filter(|c| !c.is_whitespace()).collect();
    digits.len() == DIGITS && digits.iter().all(char::is_ascii_digit)
}

/// Checks `code` against the steps around `now` and returns the step it matched, or
/// `None`. Every step of the window is compared, in constant time, whatever matched, so
/// the answer time does not tell which step was hit.
pub fn verify_code(secret: &TotpSecret, code: &str, now: OffsetDateTime) -> Option<u64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if !is_code_shaped(&code) {
        return None;
    }
    let current = time_step(now);
    let first = current.saturating_sub(u64::from(SKEW_STEPS));
    let last = current.saturating_add(u64::from(SKEW_STEPS));
    let mut matched = None;
    for step in first..=last {
        let expected = secret.code_at_step(step);
        if constant_time_eq(expected.as_bytes(), code.as_bytes()) && matched.is_none() {
            matched = Some(step);
        }
    }
    matched
}

/// The `otpauth://` URI authenticator apps import (Key Uri Format, as written down by
/// Google Authenticator): label `issuer:account`, secret, issuer and the parameters.
pub fn otpauth_uri(secret: &TotpSecret, issuer: &str, account: &str) -> SecretString {
    let issuer = percent_encode(issuer);
    SecretString::new(format!(
        "otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}\
         &algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        account = percent_encode(account),
        secret = secret.to_base32().expose(),
    ))
}

/// Percent-encodes everything but RFC 3986 unreserved characters (so `:`, `@`, spaces
/// and `&` cannot break the label or the query).
fn percent_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// Fresh single-use recovery codes, shown once as `xxxx-xxxx-xxxx-xxxx`.
pub fn generate_recovery_codes() -> Vec<SecretString> {
    (0..RECOVERY_CODE_COUNT)
        .map(|_| {
            let mut bytes = [0u8; RECOVERY_CODE_CHARS];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            let chars: Vec<char> = bytes
                .iter()
                .map(|b| char::from(RECOVERY_ALPHABET[usize::from(b & 31)]))
                .collect();
            let groups: Vec<String> = chars.chunks(4).map(|g| g.iter().collect()).collect();
            SecretString::new(groups.join("-"))
        })
        .collect()
}

/// The hash a recovery code is stored and compared under: SHA-256 of the code without
/// separators or case, base64url. The codes carry 80 random bits, so a fast hash leaves
/// nothing to guess offline.
pub fn hash_recovery_code(code: &str) -> String {
    let normalised: String = code
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .flat_map(char::to_lowercase)
        .collect();
    let digest = Sha256::digest(normalised.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
}

/// Which of `stored` hashes (if any) `code` is, comparing each in constant time.
pub fn find_recovery_code<'a>(code: &str, stored: &'a [String]) -> Option<&'a str> {
    let presented = hash_recovery_code(code);
    let mut found = None;
    for hash in stored {
        if constant_time_eq(hash.as_bytes(), presented.as_bytes()) && found.is_none() {
            found = Some(hash.as_str());
        }
    }
    found
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::clock::{Clock as _, ManualClock};
    use time::Duration;

    /// RFC 6238 Appendix B's SHA-1 secret, "12345678901234567890".
    fn rfc_secret() -> TotpSecret {
        TotpSecret::from_bytes(b"12345678901234567890".to_vec()).unwrap()
    }

    fn at(seconds: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(seconds).unwrap()
    }

    #[test]
    fn codes_match_the_rfc_test_vectors() {
        // Appendix B gives 8 digits; the last 6 are the 6-digit code.
        for (seconds, eight) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
        ] {
            let step = time_step(at(seconds));
            assert_eq!(rfc_secret().code_at_step(step), eight[2..]);
        }
    }

    #[test]
    fn one_step_either_side_is_accepted_and_the_matched_step_returned() {
        let secret = TotpSecret::generate();
        let clock = ManualClock::new(at(1_700_000_000));
        let now_step = time_step(clock.now());
        let code = secret.code_at_step(now_step);
        assert_eq!(verify_code(&secret, &code, clock.now()), Some(now_step));
        clock.advance(Duration::seconds(30));
        assert_eq!(verify_code(&secret, &code, clock.now()), Some(now_step));
        clock.advance(Duration::seconds(30));
        assert_eq!(
            verify_code(&secret, &code, clock.now()),
            None,
            "two steps late"
        );
        let early = secret.code_at_step(time_step(clock.now()) + 1);
        assert_eq!(
            verify_code(&secret, &early, clock.now()),
            Some(time_step(clock.now()) + 1)
        );
        let too_early = secret.code_at_step(time_step(clock.now()) + 2);
        assert_eq!(verify_code(&secret, &too_early, clock.now()), None);
    }

    #[test]
    fn malformed_codes_never_match() {
        let secret = rfc_secret();
        let now = at(59);
        assert_eq!(verify_code(&secret, "287082", now), Some(1));
        assert_eq!(verify_code(&secret, "287 082", now), Some(1));
        for bad in ["", "28708", "2870822", "28708a", "２８７０８２"] {
            assert_eq!(verify_code(&secret, bad, now), None, "{bad:?}");
        }
        assert!(is_code_shaped("123456"));
        assert!(!is_code_shaped("abcd-efgh"));
    }

    #[test]
    fn secrets_have_160_bits_and_print_nothing() {
        let secret = TotpSecret::generate();
        assert_eq!(secret.as_bytes().len(), SECRET_BYTES);
        assert_eq!(secret.to_base32().expose().len(), 32);
        assert!(!format!("{secret:?}").contains(secret.to_base32().expose()));
        assert_eq!(
            TotpSecret::from_bytes(vec![1; 10]),
            Err(TotpError::BadSecret)
        );
    }

    #[test]
    fn otpauth_uri_names_issuer_account_and_parameters() {
        let uri = otpauth_uri(&rfc_secret(), "Latchkey default", "ada@example.com");
        assert_eq!(
            uri.expose(),
            "otpauth://totp/Latchkey%20default:ada%40example.com\
             ?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Latchkey%20default\
             &algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn recovery_codes_are_distinct_and_match_only_their_hash() {
        let codes = generate_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODE_COUNT);
        let hashes: Vec<String> = codes
            .iter()
            .map(|c| hash_recovery_code(c.expose()))
            .collect();
        let unique: std::collections::HashSet<_> = hashes.iter().collect();
        assert_eq!(unique.len(), RECOVERY_CODE_COUNT);
        let code = codes[3].expose();
        assert_eq!(code.len(), 19);
        assert_eq!(find_recovery_code(code, &hashes), Some(hashes[3].as_str()));
        // Typed without dashes, in capitals or with spaces, it is the same code.
        let retyped = code.replace('-', " ").to_uppercase();
        assert_eq!(
            find_recovery_code(&retyped, &hashes),
            Some(hashes[3].as_str())
        );
        assert_eq!(find_recovery_code("aaaa-bbbb-cccc-dddd", &hashes), None);
    }
}
