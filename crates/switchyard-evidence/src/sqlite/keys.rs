//! API keys in SQLite.

use super::SqliteStore;
use crate::keys::KeyRecord;
use crate::store::{KeyStore, StoreError, row_key};
use async_trait::async_trait;
use sqlx::Row;

fn key_of(row: &sqlx::sqlite::SqliteRow) -> Result<KeyRecord, StoreError> {
    row_key(
        row.try_get("id")?,
        row.try_get("tenant")?,
        row.try_get("name")?,
        row.try_get("hash")?,
        row.try_get("prefix")?,
        row.try_get("created_ms")?,
        row.try_get("revoked_ms")?,
        row.try_get::<&str, _>("policy")?,
    )
}

#[async_trait]
impl KeyStore for SqliteStore {
    async fn put_key(&self, k: &KeyRecord) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO keys (id, tenant, name, hash, prefix, created_ms, revoked_ms, policy) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")
            .bind(&k.id)
            .bind(&k.tenant)
            .bind(&k.name)
            .bind(&k.hash)
            .bind(&k.prefix)
            .bind(k.created_ms)
            .bind(k.revoked_ms)
            .bind(k.policy.to_string())
            .execute(&self.pool)
            .await
            .map_err(|e| self.fail(e))?;
        Ok(())
    }

    async fn list_keys(&self, tenant: Option<&str>) -> Result<Vec<KeyRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM keys WHERE (?1 IS NULL OR tenant = ?1) ORDER BY created_ms, id",
        )
        .bind(tenant)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.fail(e))?;
        rows.iter().map(key_of).collect()
    }

    async fn find_key_by_hash(&self, hash: &str) -> Result<Option<KeyRecord>, StoreError> {
        let row = sqlx::query("SELECT * FROM keys WHERE hash = ?1 AND revoked_ms IS NULL")
            .bind(hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.fail(e))?;
        row.as_ref().map(key_of).transpose()
    }

    async fn revoke_key(&self, id: &str, now_ms: i64) -> Result<Option<KeyRecord>, StoreError> {
        let row = sqlx::query(
            "UPDATE keys SET revoked_ms = ?2 WHERE id = ?1 AND revoked_ms IS NULL RETURNING *",
        )
        .bind(id)
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| self.fail(e))?;
        row.as_ref().map(key_of).transpose()
    }

    async fn count_active_keys(&self) -> Result<u64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM keys WHERE revoked_ms IS NULL")
            .fetch_one(&self.pool)
            .await
            .map_err(|e| self.fail(e))?;
        let n: i64 = row.try_get("n")?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
