//! Artifacts: prompts, completions and tool results, stored apart from the event log. They
//! arrive redacted (and sealed where the class demands it); a store keeps their bytes as given,
//! never opens or reads them, and deletes them when their retention ends.

use crate::artifact::{Artifact, ArtifactKind, ArtifactRef};
use crate::store::StoreError;
use async_trait::async_trait;

/// Where artifacts are kept until they expire.
#[async_trait]
pub trait ArtifactStore: Send + Sync {
    /// Stores an artifact.
    async fn put_artifact(&self, artifact: &Artifact) -> Result<(), StoreError>;

    /// One artifact, if it exists (and has not expired and been deleted).
    async fn get_artifact(&self, id: &str) -> Result<Option<Artifact>, StoreError>;

    /// Deletes up to `limit` artifacts whose `expires_ms` is at or before `now_ms`.
    async fn delete_expired(&self, now_ms: i64, limit: u32)
    -> Result<Vec<ArtifactRef>, StoreError>;
}

/// Builds an artifact from a row's columns.
pub(crate) fn row_artifact(
    id: String,
    request_id: String,
    kind: &str,
    created_ms: i64,
    expires_ms: i64,
    key_id: Option<String>,
    body: Vec<u8>,
) -> Result<Artifact, StoreError> {
    let kind = ArtifactKind::parse(kind)
        .ok_or_else(|| StoreError::Corrupt(format!("artifact {id}: unknown kind \"{kind}\"")))?;
    Ok(Artifact {
        id,
        request_id,
        kind,
        created_ms,
        expires_ms,
        key_id,
        body,
    })
}
