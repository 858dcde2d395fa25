//! Artifacts in SQLite.

use super::SqliteStore;
use crate::artifact::{Artifact, ArtifactKind, ArtifactRef};
use crate::store::{ArtifactStore, StoreError, row_artifact};
use async_trait::async_trait;
use sqlx::Row;

#[async_trait]
impl ArtifactStore for SqliteStore {
    async fn put_artifact(&self, a: &Artifact) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO artifacts (id, request_id, kind, created_ms, expires_ms, key_id, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
            .bind(&a.id)
            .bind(&a.request_id)
            .bind(a.kind.as_str())
            .bind(a.created_ms)
            .bind(a.expires_ms)
            .bind(&a.key_id)
            .bind(&a.body)
            .execute(&self.pool)
            .await
            .map_err(|e| self.fail(e))?;
        Ok(())
    }

    async fn get_artifact(&self, id: &str) -> Result<Option<Artifact>, StoreError> {
        let row = sqlx::query("SELECT * FROM artifacts WHERE id = ?1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.fail(e))?;
        row.map(|r| {
            row_artifact(
                r.try_get("id")?,
                r.try_get("request_id")?,
                r.try_get::<&str, _>("kind")?,
                r.try_get("created_ms")?,
                r.try_get("expires_ms")?,
                r.try_get("key_id")?,
                r.try_get("body")?,
            )
        })
        .transpose()
    }

    async fn delete_expired(
        &self,
        now_ms: i64,
        limit: u32,
    ) -> Result<Vec<ArtifactRef>, StoreError> {
        let rows = sqlx::query("DELETE FROM artifacts WHERE id IN (SELECT id FROM artifacts WHERE expires_ms <= ?1 ORDER BY expires_ms LIMIT ?2) RETURNING id, request_id, kind")
            .bind(now_ms)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.fail(e))?;
        rows.iter()
            .map(|r| {
                let id: String = r.try_get("id")?;
                let kind: &str = r.try_get("kind")?;
                let kind = ArtifactKind::parse(kind)
                    .ok_or_else(|| StoreError::Corrupt(format!("artifact {id}: unknown kind")))?;
                Ok(ArtifactRef {
                    request_id: r.try_get("request_id")?,
                    id,
                    kind,
                })
            })
            .collect()
    }
}
