//! Virtual API keys as stored: who owns a key, what it may do (an opaque JSON policy the gateway
//! reads), and the SHA-256 of its secret. The secret itself is shown once when minted and never
//! stored, logged or recorded.

use chacha20poly1305::aead::Generate;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// What the secret of every key starts with, so a leaked one is recognisable in logs and scans.
pub const SECRET_PREFIX: &str = "sy-";

/// How many leading characters of a secret are kept for display (`sy-1a2b3`).
pub const DISPLAY_PREFIX_LEN: usize = 8;

/// One stored key. It has no secret: only the hash of it, and a short prefix for display.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyRecord {
    /// `key_` followed by 32 hex digits; what `revoke` and the events name.
    pub id: String,
    /// The tenant the key authenticates to.
    pub tenant: String,
    /// A label chosen by the operator.
    pub name: Option<String>,
    /// SHA-256 of the secret, 64 hex digits.
    pub hash: String,
    /// The secret's first [`DISPLAY_PREFIX_LEN`] characters, to tell keys apart in listings.
    pub prefix: String,
    pub created_ms: i64,
    /// When it was revoked; a revoked key never authenticates again.
    pub revoked_ms: Option<i64>,
    /// The key's limits (allowed models, classes, region, rates) as the gateway defines them.
    pub policy: serde_json::Value,
}

impl KeyRecord {
    /// A new key for `tenant` and its secret, which the caller shows once and then forgets.
    pub fn mint(
        tenant: &str,
        name: Option<&str>,
        policy: serde_json::Value,
        now_ms: i64,
    ) -> Result<(KeyRecord, String), RandomError> {
        let secret = format!("{SECRET_PREFIX}{}", hex(&random_bytes()?));
        let id = format!("key_{}", hex(&random_bytes()?[..16]));
        let record = KeyRecord {
            id,
            tenant: tenant.to_owned(),
            name: name.map(str::to_owned),
            hash: hash_secret(&secret),
            prefix: secret.chars().take(DISPLAY_PREFIX_LEN).collect(),
            created_ms: now_ms,
            revoked_ms: None,
            policy,
        };
        Ok((record, secret))
    }

    /// True while the key has not been revoked.
    pub fn is_active(&self) -> bool {
        self.revoked_ms.is_none()
    }
}

/// The system's random source failed, so no key could be minted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the system random source failed; no key was created")]
pub struct RandomError;

/// The hex SHA-256 of a presented secret: what [`crate::store::KeyStore::find_key_by_hash`] looks up.
pub fn hash_secret(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

fn random_bytes() -> Result<[u8; 32], RandomError> {
    // 32 bytes from the operating system's CSPRNG, drawn through the AEAD crate's key generator.
    let key = chacha20poly1305::Key::try_generate().map_err(|_| RandomError)?;
    let mut out = [0u8; 32];
    out.copy_from_slice(key.as_slice());
    Ok(out)
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn minted_keys_hold_only_the_hash_of_their_secret() {
        let (a, secret) = KeyRecord::mint("acme", Some("ci"), serde_json::json!({}), 1).unwrap();
        let (b, other) = KeyRecord::mint("acme", None, serde_json::json!({}), 1).unwrap();
        assert_ne!(secret, other);
        assert_ne!(a.id, b.id);
        assert!(secret.starts_with(SECRET_PREFIX) && secret.len() == 3 + 64);
        assert!(a.id.starts_with("key_") && a.id.len() == 36);
        assert_eq!(a.hash, hash_secret(&secret));
        assert_eq!(a.hash.len(), 64);
        assert_eq!(a.prefix, secret[..8]);
        assert!(!serde_json::to_string(&a).unwrap().contains(&secret));
        assert!(a.is_active());
    }

    #[test]
    fn hash_is_sha256_hex() {
        assert_eq!(
            hash_secret("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
