//! The budget ledger in SQLite: a lease is decided inside one write transaction.

use super::SqliteStore;
use crate::budget_ledger::{LeaseAsk, LeaseGrant};
use crate::store::{LeaseStore, StoreError, amount_of, sql_amount};
use async_trait::async_trait;
use sqlx::Row;

#[async_trait]
impl LeaseStore for SqliteStore {
    async fn take_lease(&self, ask: &LeaseAsk<'_>) -> Result<LeaseGrant, StoreError> {
        let mut tx = self.pool.begin().await?;
        // The insert comes first so the transaction holds SQLite's write lock from its start.
        sqlx::query(
            "INSERT INTO budget_ledger (scope, bucket_ms, granted) VALUES (?1, ?2, 0) ON CONFLICT (scope, bucket_ms) DO NOTHING",
        )
        .bind(ask.scope)
        .bind(ask.bucket_ms)
        .execute(&mut *tx)
        .await?;
        let row = sqlx::query(
            "SELECT CAST(COALESCE(SUM(granted), 0) AS BIGINT) AS leased FROM budget_ledger WHERE scope = ?1 AND bucket_ms >= ?2",
        )
        .bind(ask.scope)
        .bind(ask.since_ms)
        .fetch_one(&mut *tx)
        .await?;
        let grant = LeaseGrant::decide(ask, amount_of(row.try_get("leased")?));
        if grant.granted > 0 {
            sqlx::query(
                "UPDATE budget_ledger SET granted = granted + ?3 WHERE scope = ?1 AND bucket_ms = ?2",
            )
            .bind(ask.scope)
            .bind(ask.bucket_ms)
            .bind(sql_amount(grant.granted))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(grant)
    }

    async fn return_lease(
        &self,
        scope: &str,
        bucket_ms: i64,
        amount: u64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE budget_ledger SET granted = MAX(granted - ?3, 0) WHERE scope = ?1 AND bucket_ms = ?2",
        )
        .bind(scope)
        .bind(bucket_ms)
        .bind(sql_amount(amount))
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
