//! Session records and session locks in PostgreSQL.

use super::PostgresStore;
use crate::store::{
    LockOutcome, SessionLock, SessionQuery, SessionRecord, SessionRef, SessionStore, SessionWrite,
    StoreError, later, list_query, replaced_version, row_session,
};
use async_trait::async_trait;
use sqlx::Row;
use sqlx::postgres::PgRow;

fn session_of(row: &PgRow) -> Result<SessionRecord, StoreError> {
    row_session(
        row.try_get("tenant")?,
        row.try_get("id")?,
        row.try_get("session")?,
        row.try_get("kind")?,
        row.try_get("state")?,
        row.try_get("version")?,
        row.try_get("created_ms")?,
        row.try_get("updated_ms")?,
        row.try_get("expires_ms")?,
        row.try_get("key_id")?,
        row.try_get("body")?,
    )
}

#[async_trait]
impl SessionStore for PostgresStore {
    async fn get_session(
        &self,
        tenant: &str,
        id: &str,
        now_ms: i64,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let row =
            sqlx::query("SELECT * FROM sessions WHERE tenant = $1 AND id = $2 AND expires_ms > $3")
                .bind(tenant)
                .bind(id)
                .bind(now_ms)
                .fetch_optional(&self.pool)
                .await?;
        row.as_ref().map(session_of).transpose()
    }

    async fn put_session(&self, r: &SessionRecord) -> Result<SessionWrite, StoreError> {
        let replaced = replaced_version(r.version);
        let written = if replaced == 0 {
            // A create, or the replacement of a record that expired.
            sqlx::query(
                "INSERT INTO sessions (tenant, id, session, kind, state, version, created_ms, updated_ms, expires_ms, key_id, body) \
                 VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $8, $9, $10) \
                 ON CONFLICT (tenant, id) DO UPDATE SET session = excluded.session, kind = excluded.kind, \
                 state = excluded.state, version = 1, created_ms = excluded.created_ms, \
                 updated_ms = excluded.updated_ms, expires_ms = excluded.expires_ms, \
                 key_id = excluded.key_id, body = excluded.body \
                 WHERE sessions.expires_ms <= excluded.updated_ms",
            )
            .bind(&r.tenant)
            .bind(&r.id)
            .bind(&r.session)
            .bind(&r.kind)
            .bind(&r.state)
            .bind(r.created_ms)
            .bind(r.updated_ms)
            .bind(r.expires_ms)
            .bind(&r.key_id)
            .bind(&r.body)
            .execute(&self.pool)
            .await
        } else {
            sqlx::query(
                "UPDATE sessions SET session = $3, kind = $4, state = $5, version = $6, updated_ms = $7, \
                 expires_ms = $8, key_id = $9, body = $10 \
                 WHERE tenant = $1 AND id = $2 AND version = $11 AND expires_ms > $7",
            )
            .bind(&r.tenant)
            .bind(&r.id)
            .bind(&r.session)
            .bind(&r.kind)
            .bind(&r.state)
            .bind(replaced.saturating_add(1))
            .bind(r.updated_ms)
            .bind(r.expires_ms)
            .bind(&r.key_id)
            .bind(&r.body)
            .bind(replaced)
            .execute(&self.pool)
            .await
        }?;
        if written.rows_affected() == 1 {
            return Ok(SessionWrite::Written);
        }
        let current: Option<i64> = sqlx::query_scalar(
            "SELECT version FROM sessions WHERE tenant = $1 AND id = $2 AND expires_ms > $3",
        )
        .bind(&r.tenant)
        .bind(&r.id)
        .bind(r.updated_ms)
        .fetch_optional(&self.pool)
        .await?;
        Ok(SessionWrite::Conflict {
            current: current.and_then(|v| u64::try_from(v).ok()),
        })
    }

    async fn list_sessions(
        &self,
        query: &SessionQuery<'_>,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        let rows = list_query::<sqlx::Postgres>(query)
            .build()
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(session_of).collect()
    }

    async fn delete_session(&self, tenant: &str, id: &str) -> Result<u64, StoreError> {
        let done =
            sqlx::query("DELETE FROM sessions WHERE tenant = $1 AND (id = $2 OR session = $2)")
                .bind(tenant)
                .bind(id)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected())
    }

    async fn expire_sessions(
        &self,
        now_ms: i64,
        limit: u32,
    ) -> Result<Vec<SessionRef>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let rows = sqlx::query(
            "DELETE FROM sessions WHERE (tenant, id) IN \
             (SELECT tenant, id FROM sessions WHERE expires_ms <= $1 ORDER BY expires_ms LIMIT $2) \
             RETURNING tenant, id, session, kind",
        )
        .bind(now_ms)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM session_locks WHERE until_ms <= $1")
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        rows.iter()
            .map(|r| {
                Ok(SessionRef {
                    tenant: r.try_get("tenant")?,
                    id: r.try_get("id")?,
                    session: r.try_get("session")?,
                    kind: r.try_get("kind")?,
                })
            })
            .collect()
    }

    async fn lock_session(&self, lock: &SessionLock<'_>) -> Result<LockOutcome, StoreError> {
        let until_ms = later(lock.now_ms, lock.ttl_ms);
        // A conflicting insert locks the row even when it does not update it, so the holder
        // read next is the one that kept the lock.
        let mut tx = self.pool.begin().await?;
        let taken = sqlx::query(
            "INSERT INTO session_locks (tenant, session, holder, until_ms) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (tenant, session) DO UPDATE SET holder = excluded.holder, until_ms = excluded.until_ms \
             WHERE session_locks.holder = excluded.holder OR session_locks.until_ms <= $5",
        )
        .bind(lock.tenant)
        .bind(lock.session)
        .bind(lock.holder)
        .bind(until_ms)
        .bind(lock.now_ms)
        .execute(&mut *tx)
        .await
        ?;
        let outcome = if taken.rows_affected() == 1 {
            LockOutcome::Acquired { until_ms }
        } else {
            let row = sqlx::query(
                "SELECT holder, until_ms FROM session_locks WHERE tenant = $1 AND session = $2",
            )
            .bind(lock.tenant)
            .bind(lock.session)
            .fetch_one(&mut *tx)
            .await?;
            LockOutcome::Busy {
                holder: row.try_get("holder")?,
                until_ms: row.try_get("until_ms")?,
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }

    async fn unlock_session(
        &self,
        tenant: &str,
        session: &str,
        holder: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "DELETE FROM session_locks WHERE tenant = $1 AND session = $2 AND holder = $3",
        )
        .bind(tenant)
        .bind(session)
        .bind(holder)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
