//! The event log in PostgreSQL: hashes as hex text, appended one array parameter per column.

use super::PostgresStore;
use crate::event::{Event, EventKind};
use crate::store::{EventStore, Head, Position, StoreError, StoredHash, row_event};
use async_trait::async_trait;
use sqlx::Row;

/// Rows per INSERT statement (one array parameter per column, so no parameter limit).
const ROWS_PER_INSERT: usize = 4096;

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

#[async_trait]
impl EventStore for PostgresStore {
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
}
