//! Idempotency records in SQLite: a claim reads and writes inside one write transaction.

use super::SqliteStore;
use crate::store::{
    Claim, DONE, IN_FLIGHT, IdempotencyAnswer, IdempotencyClaim, IdempotencyStore, Step,
    StoreError, Stored, decide, later, row_stored,
};
use async_trait::async_trait;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

fn stored_of(row: &SqliteRow) -> Result<Stored, StoreError> {
    row_stored(
        row.try_get("tenant")?,
        row.try_get("idempotency_key")?,
        row.try_get("fingerprint")?,
        row.try_get("holder")?,
        row.try_get::<&str, _>("state")?,
        row.try_get("created_ms")?,
        row.try_get("lease_until_ms")?,
        row.try_get("expires_ms")?,
        row.try_get("completed_ms")?,
        row.try_get("key_id")?,
        row.try_get("body")?,
    )
}

#[async_trait]
impl IdempotencyStore for SqliteStore {
    async fn claim_idempotency(&self, c: &IdempotencyClaim<'_>) -> Result<Claim, StoreError> {
        let (lease_until_ms, expires_ms) = (later(c.now_ms, c.lease_ms), later(c.now_ms, c.ttl_ms));
        // The insert comes first so the transaction holds SQLite's write lock from its start:
        // the row read next cannot change before this claim is decided and written.
        let mut tx = self.pool.begin().await.map_err(|e| self.fail(e))?;
        let inserted = sqlx::query(
            "INSERT INTO idempotency (tenant, idempotency_key, fingerprint, holder, state, created_ms, lease_until_ms, expires_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (tenant, idempotency_key) DO NOTHING",
        )
        .bind(c.tenant)
        .bind(c.key)
        .bind(c.fingerprint)
        .bind(c.holder)
        .bind(IN_FLIGHT)
        .bind(c.now_ms)
        .bind(lease_until_ms)
        .bind(expires_ms)
        .execute(&mut *tx)
        .await
        .map_err(|e| self.fail(e))?;
        if inserted.rows_affected() == 1 {
            tx.commit().await.map_err(|e| self.fail(e))?;
            return Ok(Claim::Claimed { took_over: false });
        }
        let row =
            sqlx::query("SELECT * FROM idempotency WHERE tenant = ?1 AND idempotency_key = ?2")
                .bind(c.tenant)
                .bind(c.key)
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| self.fail(e))?;
        let claim = match decide(c, stored_of(&row)?) {
            Step::Answer(claim) => claim,
            Step::Write(claim) => {
                sqlx::query(
                    "UPDATE idempotency SET fingerprint = ?3, holder = ?4, state = ?5, created_ms = ?6, \
                     lease_until_ms = ?7, expires_ms = ?8, completed_ms = NULL, key_id = NULL, body = NULL \
                     WHERE tenant = ?1 AND idempotency_key = ?2",
                )
                .bind(c.tenant)
                .bind(c.key)
                .bind(c.fingerprint)
                .bind(c.holder)
                .bind(IN_FLIGHT)
                .bind(c.now_ms)
                .bind(lease_until_ms)
                .bind(expires_ms)
                .execute(&mut *tx)
                .await
                .map_err(|e| self.fail(e))?;
                claim
            }
        };
        tx.commit().await.map_err(|e| self.fail(e))?;
        Ok(claim)
    }

    async fn complete_idempotency(&self, a: &IdempotencyAnswer<'_>) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE idempotency SET state = ?4, completed_ms = ?5, key_id = ?6, body = ?7 \
             WHERE tenant = ?1 AND idempotency_key = ?2 AND holder = ?3 AND state = ?8 AND expires_ms > ?5",
        )
        .bind(a.tenant)
        .bind(a.key)
        .bind(a.holder)
        .bind(DONE)
        .bind(a.now_ms)
        .bind(a.key_id)
        .bind(a.body)
        .bind(IN_FLIGHT)
        .execute(&self.pool)
        .await
        .map_err(|e| self.fail(e))?;
        Ok(done.rows_affected() == 1)
    }

    async fn release_idempotency(
        &self,
        tenant: &str,
        key: &str,
        holder: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "DELETE FROM idempotency WHERE tenant = ?1 AND idempotency_key = ?2 AND holder = ?3 AND state = ?4",
        )
        .bind(tenant)
        .bind(key)
        .bind(holder)
        .bind(IN_FLIGHT)
        .execute(&self.pool)
        .await
        .map_err(|e| self.fail(e))?;
        Ok(done.rows_affected() == 1)
    }

    async fn expire_idempotency(&self, now_ms: i64, limit: u32) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM idempotency WHERE (tenant, idempotency_key) IN \
             (SELECT tenant, idempotency_key FROM idempotency WHERE expires_ms <= ?1 ORDER BY expires_ms LIMIT ?2)",
        )
        .bind(now_ms)
        .bind(i64::from(limit))
        .execute(&self.pool)
        .await
        .map_err(|e| self.fail(e))?;
        Ok(done.rows_affected())
    }
}
