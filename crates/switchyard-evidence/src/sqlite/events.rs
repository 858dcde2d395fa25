//! The event log in SQLite: a rowid table with binary hashes (see migration 0005), appended
//! in batches of a few fixed statement shapes.

use super::SqliteStore;
use crate::event::{Event, EventKind};
use crate::store::{EventStore, Head, Position, StoreError, StoredHash, row_event};
use async_trait::async_trait;
use sqlx::Row;
use std::sync::Arc;

/// The row counts of the INSERT statements a batch is cut into, largest first: 8 parameters a
/// row keeps the largest well under SQLite's limit. A handful of fixed shapes means each is
/// prepared once per connection and then reused from the statement cache; a statement shaped
/// to each batch was parsed anew every time (6% of the gateway's instructions).
const INSERT_SHAPES: [usize; 5] = [256, 64, 16, 4, 1];

/// The INSERT statement for `rows` events.
fn insert_sql(rows: usize) -> &'static str {
    static SQL: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let texts = SQL.get_or_init(|| {
        INSERT_SHAPES
            .iter()
            .map(|&n| {
                let row = "(?, ?, ?, ?, ?, ?, ?, ?)";
                let mut sql = String::from(
                    "INSERT INTO events (stream, seq, ts_ms, kind, request_id, payload, prev_hash, hash) VALUES ",
                );
                sql.push_str(&vec![row; n].join(", "));
                sql
            })
            .collect()
    });
    let at = INSERT_SHAPES.iter().position(|&n| n == rows).unwrap_or(0);
    texts.get(at).map_or("", String::as_str)
}

/// An event kind's text, shared: the recorded kinds are a handful of fixed words.
fn kind_text(kind: String) -> Arc<str> {
    static KINDS: std::sync::LazyLock<Vec<Arc<str>>> = std::sync::LazyLock::new(|| {
        EventKind::ALL
            .iter()
            .map(|k| Arc::from(k.as_str()))
            .collect()
    });
    KINDS
        .iter()
        .find(|k| ***k == *kind)
        .cloned()
        .unwrap_or_else(|| Arc::from(kind))
}

fn event_of(row: &sqlx::sqlite::SqliteRow) -> Result<Event, StoreError> {
    row_event(
        row.try_get("stream")?,
        row.try_get("seq")?,
        row.try_get("ts_ms")?,
        row.try_get("kind")?,
        row.try_get("request_id")?,
        row.try_get("payload")?,
        StoredHash::Raw(row.try_get("prev_hash")?),
        StoredHash::Raw(row.try_get("hash")?),
    )
}

#[async_trait]
impl EventStore for SqliteStore {
    async fn head(&self, stream: &str) -> Result<Option<Head>, StoreError> {
        let row = sqlx::query("SELECT * FROM events WHERE stream = ?1 ORDER BY seq DESC LIMIT 1")
            .bind(stream)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.fail(e))?;
        row.map(|r| {
            event_of(&r).map(|e| Head {
                seq: e.seq,
                hash: e.hash,
            })
        })
        .transpose()
    }

    async fn append(&self, events: Vec<Event>) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(|e| self.fail(e))?;
        self.apply_page_limit(&mut tx).await?;
        // The driver copies every borrowed string it binds (twice); owned text it only wraps.
        // The stream name and kind repeat on every row: each is one shared text per batch.
        let mut stream: Option<Arc<str>> = None;
        let mut left = events.len();
        let mut events = events.into_iter();
        while left > 0 {
            let rows = INSERT_SHAPES.into_iter().find(|&n| n <= left).unwrap_or(1);
            left -= rows;
            let mut insert = sqlx::query(sqlx::AssertSqlSafe(insert_sql(rows)));
            for e in events.by_ref().take(rows) {
                let name = match &stream {
                    Some(name) if **name == *e.stream => Arc::clone(name),
                    _ => Arc::clone(stream.insert(Arc::from(e.stream))),
                };
                insert = insert
                    .bind(name)
                    .bind(i64::try_from(e.seq).unwrap_or(i64::MAX))
                    .bind(e.ts_ms)
                    .bind(kind_text(e.kind))
                    .bind(e.request_id)
                    .bind(e.payload)
                    .bind(e.prev_hash.0.to_vec())
                    .bind(e.hash.0.to_vec());
            }
            insert.execute(&mut *tx).await.map_err(|e| self.fail(e))?;
        }
        tx.commit().await.map_err(|e| self.fail(e))?;
        Ok(())
    }

    async fn read(&self, stream: &str, after: u64, limit: u32) -> Result<Vec<Event>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM events WHERE stream = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
        )
        .bind(stream)
        .bind(i64::try_from(after).unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.fail(e))?;
        rows.iter().map(event_of).collect()
    }

    async fn streams(&self) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query("SELECT DISTINCT stream FROM events ORDER BY stream")
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.fail(e))?;
        rows.iter()
            .map(|r| r.try_get("stream").map_err(StoreError::from))
            .collect()
    }

    async fn for_request(&self, request_id: &str) -> Result<Vec<Event>, StoreError> {
        let rows =
            sqlx::query("SELECT * FROM events WHERE request_id = ?1 ORDER BY ts_ms, stream, seq")
                .bind(request_id)
                .fetch_all(&self.pool)
                .await
                .map_err(|e| self.fail(e))?;
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
            "SELECT * FROM events WHERE kind = ?1 AND ts_ms >= ?2 AND ts_ms < ?3 AND (ts_ms, stream, seq) > (?4, ?5, ?6) ORDER BY ts_ms, stream, seq LIMIT ?7",
        )
        .bind(kind.as_str())
        .bind(since_ms)
        .bind(until_ms)
        .bind(ts_ms)
        .bind(stream)
        .bind(seq)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
            .map_err(|e| self.fail(e))?;
        rows.iter().map(event_of).collect()
    }
}
