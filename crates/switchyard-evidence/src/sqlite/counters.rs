//! Shared counters in SQLite: one upsert adds and returns the new total.

use super::SqliteStore;
use crate::store::{CounterStore, StoreError, amount_of, sql_amount};
use async_trait::async_trait;

#[async_trait]
impl CounterStore for SqliteStore {
    async fn add_to_counter(&self, name: &str, window_ms: i64, by: u64) -> Result<u64, StoreError> {
        let total: i64 = sqlx::query_scalar(
            "INSERT INTO counters (name, window_ms, total) VALUES (?1, ?2, ?3) \
             ON CONFLICT (name, window_ms) DO UPDATE SET total = counters.total + excluded.total \
             RETURNING total",
        )
        .bind(name)
        .bind(window_ms)
        .bind(sql_amount(by))
        .fetch_one(&self.pool)
        .await
        .map_err(|e| self.fail(e))?;
        Ok(amount_of(total))
    }

    async fn read_counter(&self, name: &str, window_ms: i64) -> Result<u64, StoreError> {
        let total: Option<i64> =
            sqlx::query_scalar("SELECT total FROM counters WHERE name = ?1 AND window_ms = ?2")
                .bind(name)
                .bind(window_ms)
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| self.fail(e))?;
        Ok(total.map_or(0, amount_of))
    }

    async fn prune_counters(&self, before_ms: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM counters WHERE window_ms < ?1")
            .bind(before_ms)
            .execute(&self.pool)
            .await
            .map_err(|e| self.fail(e))?;
        Ok(done.rows_affected())
    }
}
