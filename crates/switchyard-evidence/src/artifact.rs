//! Artifacts: prompts, completions and tool results, stored apart from the event chain (they
//! are redacted before they get here), each kind with its own retention, and sealed with
//! XChaCha20-Poly1305 when the request's class demands it. The AEAD's associated data is the
//! artifact id, so a sealed body cannot be moved to another row; keys carry ids so they rotate.

use chacha20poly1305::XChaCha20Poly1305;
use chacha20poly1305::aead::{Aead, Generate, KeyInit, Payload};
use serde::{Deserialize, Serialize};

/// What an artifact holds; each kind has its own retention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArtifactKind {
    Prompt,
    Completion,
    ToolResult,
}

impl ArtifactKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ArtifactKind::Prompt => "prompt",
            ArtifactKind::Completion => "completion",
            ArtifactKind::ToolResult => "tool_result",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "prompt" => Some(ArtifactKind::Prompt),
            "completion" => Some(ArtifactKind::Completion),
            "tool_result" => Some(ArtifactKind::ToolResult),
            _ => None,
        }
    }
}

/// A stored artifact. `body` is redacted JSON, or `nonce ‖ ciphertext` when `key_id` is set.
#[derive(Debug, Clone, PartialEq)]
pub struct Artifact {
    pub id: String,
    pub request_id: String,
    pub kind: ArtifactKind,
    pub created_ms: i64,
    pub expires_ms: i64,
    /// The key that sealed the body; `None` for plain bodies.
    pub key_id: Option<String>,
    pub body: Vec<u8>,
}

/// What retention removed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArtifactRef {
    pub id: String,
    pub request_id: String,
    pub kind: ArtifactKind,
}

/// Why sealing or opening failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("artifact key {0}: expected 64 hex digits (32 bytes)")]
    BadKey(String),
    #[error("no artifact key with id {0}: it was rotated out or never configured")]
    UnknownKey(String),
    #[error("the system random source failed")]
    Random,
    #[error("the artifact does not decrypt: wrong key, or the body or its id was altered")]
    Tampered,
}

/// One encryption key and its id.
#[derive(Clone)]
pub struct ArtifactKey {
    id: String,
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for ArtifactKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ArtifactKey({}, <secret>)", self.id)
    }
}

impl ArtifactKey {
    /// A key from 64 hex digits.
    pub fn from_hex(id: &str, hex: &str) -> Result<Self, SealError> {
        let hex = hex.trim();
        if hex.len() != 64 {
            return Err(SealError::BadKey(id.to_owned()));
        }
        let mut bytes = [0u8; 32];
        for (i, pair) in hex.as_bytes().chunks(2).enumerate() {
            let text = std::str::from_utf8(pair).map_err(|_| SealError::BadKey(id.to_owned()))?;
            bytes[i] =
                u8::from_str_radix(text, 16).map_err(|_| SealError::BadKey(id.to_owned()))?;
        }
        let cipher = XChaCha20Poly1305::new_from_slice(&bytes)
            .map_err(|_| SealError::BadKey(id.to_owned()))?;
        Ok(Self {
            id: id.to_owned(),
            cipher,
        })
    }

    pub fn id(&self) -> &str {
        &self.id
    }
}

/// The current key (seals) and older ones (still open what they sealed).
#[derive(Debug, Clone)]
pub struct Keyring {
    current: ArtifactKey,
    older: Vec<ArtifactKey>,
}

const NONCE_LEN: usize = 24;

impl Keyring {
    pub fn new(current: ArtifactKey, older: Vec<ArtifactKey>) -> Self {
        Self { current, older }
    }

    /// Seals `plain` for the artifact `artifact_id`; returns the key id and `nonce ‖ ciphertext`.
    pub fn seal(&self, artifact_id: &str, plain: &[u8]) -> Result<(String, Vec<u8>), SealError> {
        let nonce = chacha20poly1305::XNonce::try_generate().map_err(|_| SealError::Random)?;
        let sealed = self
            .current
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plain,
                    aad: artifact_id.as_bytes(),
                },
            )
            .map_err(|_| SealError::Random)?;
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok((self.current.id.clone(), out))
    }

    /// Opens a body sealed by the key `key_id` for `artifact_id`.
    pub fn open(&self, key_id: &str, artifact_id: &str, body: &[u8]) -> Result<Vec<u8>, SealError> {
        let key = std::iter::once(&self.current)
            .chain(&self.older)
            .find(|k| k.id == key_id)
            .ok_or_else(|| SealError::UnknownKey(key_id.to_owned()))?;
        if body.len() < NONCE_LEN {
            return Err(SealError::Tampered);
        }
        let (nonce, sealed) = body.split_at(NONCE_LEN);
        let nonce = chacha20poly1305::XNonce::try_from(nonce).map_err(|_| SealError::Tampered)?;
        key.cipher
            .decrypt(
                &nonce,
                Payload {
                    msg: sealed,
                    aad: artifact_id.as_bytes(),
                },
            )
            .map_err(|_| SealError::Tampered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str, byte: u8) -> ArtifactKey {
        ArtifactKey::from_hex(id, &format!("{byte:02x}").repeat(32)).unwrap()
    }

    #[test]
    fn seals_opens_and_rotates() {
        let old = Keyring::new(key("k1", 1), vec![]);
        let (id, body) = old.seal("art_1", b"secret prompt").unwrap();
        assert_eq!(id, "k1");
        assert!(!body.windows(6).any(|w| w == b"secret"));
        let rotated = Keyring::new(key("k2", 2), vec![key("k1", 1)]);
        assert_eq!(
            rotated.open("k1", "art_1", &body).unwrap(),
            b"secret prompt"
        );
        assert_eq!(
            rotated.open("k1", "art_2", &body),
            Err(SealError::Tampered),
            "bound to its id"
        );
        let mut flipped = body.clone();
        flipped[30] ^= 1;
        assert_eq!(
            rotated.open("k1", "art_1", &flipped),
            Err(SealError::Tampered)
        );
        let without_old = Keyring::new(key("k2", 2), vec![]);
        assert_eq!(
            without_old.open("k1", "art_1", &body),
            Err(SealError::UnknownKey("k1".into()))
        );
        assert!(ArtifactKey::from_hex("bad", "abc").is_err());
    }
}
