//! The shared store: PostgreSQL, for several gateway nodes writing their own streams.

use crate::artifact::{Artifact, ArtifactKind, ArtifactRef};
use crate::budget_ledger::{LeaseAsk, LeaseGrant, amount_of, sql_amount};
use crate::event::{Event, EventKind};
use crate::keys::KeyRecord;
use crate::store::{
    Head, Position, Store, StoreError, StoredHash, row_artifact, row_event, row_key,
};
use async_trait::async_trait;
use sqlx::Row;
use sqlx::postgres::{PgPool, PgPoolOptions};
use std::time::Duration;

/// Rows per INSERT statement (one array parameter per column, so no parameter limit).
const ROWS_PER_INSERT: usize = 4096;

/// Events in PostgreSQL.
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to `postgres://…` and migrates.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let fail = |e: &dyn std::fmt::Display| StoreError::Open {
            url: redact_password(url),
            message: e.to_string(),
        };
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(5))
            .connect(url)
            .await
            .map_err(|e| fail(&e))?;
        sqlx::migrate!("migrations/postgres")
            .run(&pool)
            .await
            .map_err(|e| fail(&e))?;
        Ok(Self { pool })
    }
}

/// A batch of events, column by column, for UNNEST.
struct Columns {
    stream: Vec<String>,
    seq: Vec<i64>,
    ts_ms: Vec<i64>,
    kind: Vec<String>,
    request_id: Vec<Option<String>>,
    payload: Vec<String>,
    prev_hash: Vec<String>,
    hash: Vec<String>,
}

impl Columns {
    fn with_capacity(n: usize) -> Self {
        Self {
            stream: Vec::with_capacity(n),
            seq: Vec::with_capacity(n),
            ts_ms: Vec::with_capacity(n),
            kind: Vec::with_capacity(n),
            request_id: Vec::with_capacity(n),
            payload: Vec::with_capacity(n),
            prev_hash: Vec::with_capacity(n),
            hash: Vec::with_capacity(n),
        }
    }

    /// Takes the event's text into the columns (moved, not copied).
    fn push(&mut self, e: Event) {
        self.stream.push(e.stream);
        self.seq.push(i64::try_from(e.seq).unwrap_or(i64::MAX));
        self.ts_ms.push(e.ts_ms);
        self.kind.push(e.kind);
        self.request_id.push(e.request_id);
        self.payload.push(e.payload);
        self.prev_hash.push(e.prev_hash.to_hex());
        self.hash.push(e.hash.to_hex());
    }
}

/// A URL fit for an error message: the password replaced.
fn redact_password(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

fn event_of(row: &sqlx::postgres::PgRow) -> Result<Event, StoreError> {
    row_event(
        row.try_get("stream")?,
        row.try_get("seq")?,
        row.try_get("ts_ms")?,
        row.try_get("kind")?,
        row.try_get("request_id")?,
        row.try_get("payload")?,
        StoredHash::Hex(row.try_get("prev_hash")?),
        StoredHash::Hex(row.try_get("hash")?),
    )
}

fn key_of(row: &sqlx::postgres::PgRow) -> Result<KeyRecord, StoreError> {
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
impl Store for PostgresStore {
    async fn head(&self, stream: &str) -> Result<Option<Head>, StoreError> {
        let row = sqlx::query("SELECT * FROM events WHERE stream = $1 ORDER BY seq DESC LIMIT 1")
            .bind(stream)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            event_of(&r).map(|e| Head {
                seq: e.seq,
                hash: e.hash,
            })
        })
        .transpose()
    }

    async fn append(&self, events: Vec<Event>) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        // One statement per batch: each column travels as one array parameter, and UNNEST
        // turns the arrays back into rows. Far fewer parameters to bind and parse than a
        // multi-row VALUES list.
        let mut events = events.into_iter().peekable();
        while events.peek().is_some() {
            let mut cols = Columns::with_capacity(events.len().min(ROWS_PER_INSERT));
            for e in events.by_ref().take(ROWS_PER_INSERT) {
                cols.push(e);
            }
            sqlx::query(
                "INSERT INTO events (stream, seq, ts_ms, kind, request_id, payload, prev_hash, hash) \
                 SELECT * FROM UNNEST($1::text[], $2::int8[], $3::int8[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])",
            )
            .bind(cols.stream)
            .bind(cols.seq)
            .bind(cols.ts_ms)
            .bind(cols.kind)
            .bind(cols.request_id)
            .bind(cols.payload)
            .bind(cols.prev_hash)
            .bind(cols.hash)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn read(&self, stream: &str, after: u64, limit: u32) -> Result<Vec<Event>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM events WHERE stream = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        )
        .bind(stream)
        .bind(i64::try_from(after).unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(event_of).collect()
    }

    async fn streams(&self) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query("SELECT DISTINCT stream FROM events ORDER BY stream")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| r.try_get("stream").map_err(StoreError::from))
            .collect()
    }

    async fn for_request(&self, request_id: &str) -> Result<Vec<Event>, StoreError> {
        let rows =
            sqlx::query("SELECT * FROM events WHERE request_id = $1 ORDER BY ts_ms, stream, seq")
                .bind(request_id)
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(event_of).collect()
    }

    async fn put_artifact(&self, a: &Artifact) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO artifacts (id, request_id, kind, created_ms, expires_ms, key_id, body) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(&a.id)
            .bind(&a.request_id)
            .bind(a.kind.as_str())
            .bind(a.created_ms)
            .bind(a.expires_ms)
            .bind(&a.key_id)
            .bind(&a.body)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn get_artifact(&self, id: &str) -> Result<Option<Artifact>, StoreError> {
        let row = sqlx::query("SELECT * FROM artifacts WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
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
        let rows = sqlx::query("DELETE FROM artifacts WHERE id IN (SELECT id FROM artifacts WHERE expires_ms <= $1 ORDER BY expires_ms LIMIT $2) RETURNING id, request_id, kind")
            .bind(now_ms)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
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

    async fn by_kind(
        &self,
        kind: EventKind,
        since_ms: i64,
        until_ms: i64,
        after: Option<&Position>,
        limit: u32,
    ) -> Result<Vec<Event>, StoreError> {
        let (ts_ms, stream, seq) = Position::bounds(after);
        let rows = sqlx::query(
            "SELECT * FROM events WHERE kind = $1 AND ts_ms >= $2 AND ts_ms < $3 AND (ts_ms, stream, seq) > ($4, $5, $6) ORDER BY ts_ms, stream, seq LIMIT $7",
        )
        .bind(kind.as_str())
        .bind(since_ms)
        .bind(until_ms)
        .bind(ts_ms)
        .bind(stream)
        .bind(seq)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(event_of).collect()
    }

    async fn put_key(&self, k: &KeyRecord) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO keys (id, tenant, name, hash, prefix, created_ms, revoked_ms, policy) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(&k.id)
            .bind(&k.tenant)
            .bind(&k.name)
            .bind(&k.hash)
            .bind(&k.prefix)
            .bind(k.created_ms)
            .bind(k.revoked_ms)
            .bind(k.policy.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn list_keys(&self, tenant: Option<&str>) -> Result<Vec<KeyRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM keys WHERE ($1 IS NULL OR tenant = $1) ORDER BY created_ms, id",
        )
        .bind(tenant)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(key_of).collect()
    }

    async fn find_key_by_hash(&self, hash: &str) -> Result<Option<KeyRecord>, StoreError> {
        let row = sqlx::query("SELECT * FROM keys WHERE hash = $1 AND revoked_ms IS NULL")
            .bind(hash)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(key_of).transpose()
    }

    async fn revoke_key(&self, id: &str, now_ms: i64) -> Result<Option<KeyRecord>, StoreError> {
        let row = sqlx::query(
            "UPDATE keys SET revoked_ms = $2 WHERE id = $1 AND revoked_ms IS NULL RETURNING *",
        )
        .bind(id)
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(key_of).transpose()
    }

    async fn count_active_keys(&self) -> Result<u64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM keys WHERE revoked_ms IS NULL")
            .fetch_one(&self.pool)
            .await?;
        let n: i64 = row.try_get("n")?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn take_lease(&self, ask: &LeaseAsk<'_>) -> Result<LeaseGrant, StoreError> {
        let mut tx = self.pool.begin().await?;
        // One grant at a time per scope, across nodes: the sum below must not go stale.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(ask.scope)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO budget_ledger (scope, bucket_ms, granted) VALUES ($1, $2, 0) ON CONFLICT (scope, bucket_ms) DO NOTHING",
        )
        .bind(ask.scope)
        .bind(ask.bucket_ms)
        .execute(&mut *tx)
        .await?;
        let row = sqlx::query(
            "SELECT CAST(COALESCE(SUM(granted), 0) AS BIGINT) AS leased FROM budget_ledger WHERE scope = $1 AND bucket_ms >= $2",
        )
        .bind(ask.scope)
        .bind(ask.since_ms)
        .fetch_one(&mut *tx)
        .await?;
        let grant = LeaseGrant::decide(ask, amount_of(row.try_get("leased")?));
        if grant.granted > 0 {
            sqlx::query(
                "UPDATE budget_ledger SET granted = granted + $3 WHERE scope = $1 AND bucket_ms = $2",
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
            "UPDATE budget_ledger SET granted = GREATEST(granted - $3, 0) WHERE scope = $1 AND bucket_ms = $2",
        )
        .bind(scope)
        .bind(bucket_ms)
        .bind(sql_amount(amount))
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
