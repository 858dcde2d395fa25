//! Virtual API keys: the SHA-256 of each secret, its tenant and its policy. A store never
//! holds a secret, so a key is found by the hash of what a client presents.

use crate::keys::KeyRecord;
use crate::store::StoreError;
use async_trait::async_trait;

/// Where keys are stored, found and revoked.
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// Stores a new key (its hash, never its secret).
    async fn put_key(&self, key: &KeyRecord) -> Result<(), StoreError>;

    /// Every key, revoked ones included, of one tenant or of all, oldest first.
    async fn list_keys(&self, tenant: Option<&str>) -> Result<Vec<KeyRecord>, StoreError>;

    /// The active key whose secret hashes to `hash`; `None` for unknown and revoked keys.
    async fn find_key_by_hash(&self, hash: &str) -> Result<Option<KeyRecord>, StoreError>;

    /// Revokes the active key `id` at `now_ms` and returns it as revoked; `None` when there is
    /// no such key or it was already revoked.
    async fn revoke_key(&self, id: &str, now_ms: i64) -> Result<Option<KeyRecord>, StoreError>;

    /// How many keys are active (not revoked).
    async fn count_active_keys(&self) -> Result<u64, StoreError>;
}

/// Builds a key from a row's columns, refusing a policy that is not JSON.
#[allow(clippy::too_many_arguments)]
pub(crate) fn row_key(
    id: String,
    tenant: String,
    name: Option<String>,
    hash: String,
    prefix: String,
    created_ms: i64,
    revoked_ms: Option<i64>,
    policy: &str,
) -> Result<KeyRecord, StoreError> {
    let policy = serde_json::from_str(policy)
        .map_err(|e| StoreError::Corrupt(format!("key {id}: policy is not JSON: {e}")))?;
    Ok(KeyRecord {
        id,
        tenant,
        name,
        hash,
        prefix,
        created_ms,
        revoked_ms,
        policy,
    })
}
