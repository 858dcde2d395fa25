//! The embedded store: one SQLite file in WAL mode.

use crate::artifact::{Artifact, ArtifactKind, ArtifactRef};
use crate::budget_ledger::{LeaseAsk, LeaseGrant, amount_of, sql_amount};
use crate::event::{Event, EventKind};
use crate::integrity;
use crate::keys::KeyRecord;
use crate::store::{
    Head, Position, Store, StoreError, StoredHash, row_artifact, row_event, row_key,
};
use async_trait::async_trait;
use sqlx::Row;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

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

/// Events in a SQLite file.
pub struct SqliteStore {
    pool: SqlitePool,
    /// The file, for error messages (`:memory:` for an in-memory store).
    path: PathBuf,
    /// A cap on the file's pages set by [`SqliteStore::limit_pages`]: 0 when never set.
    max_pages: AtomicU32,
}

/// Each connection's page cache (KiB); see `open`.
const CACHE_KIB: u32 = 8192;

/// The largest `max_page_count` SQLite accepts: no cap.
const NO_PAGE_LIMIT: u32 = 4_294_967_294;

impl SqliteStore {
    /// Opens (creating if needed) and migrates `sqlite://PATH` (or `sqlite::memory:`). An
    /// existing file is checked first: one that is not a SQLite database, is truncated, or
    /// fails `PRAGMA quick_check` is refused with [`StoreError::Damaged`], never written to.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let fail = |e: &dyn std::fmt::Display| StoreError::Open {
            url: url.to_owned(),
            message: e.to_string(),
        };
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| fail(&e))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // In WAL mode, NORMAL syncs at checkpoints, not at every commit: a crash of the
            // process loses nothing and the file stays consistent, but a power loss or OS
            // crash may lose the last commits (never reorder them: the chain stays valid,
            // it just ends earlier). FULL would fsync every group commit.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5))
            // Checkpoints every ~40 MiB of WAL (default ~4 MiB) and an 8 MiB page cache
            // (default 2 MiB) cut the append path's CPU (store_append example). Request ids are
            // time-ordered, so their index takes new keys at its end and needs few cached
            // pages; a larger cache (32 MiB was measured) costs RSS per connection for little.
            .pragma("cache_size", format!("-{CACHE_KIB}"))
            .pragma("wal_autocheckpoint", "10000");
        let path = options.get_filename().to_owned();
        let on_disk = !url.contains(":memory:") && !options.get_filename().as_os_str().is_empty();
        if on_disk {
            integrity::check_header(&path)?;
        }
        let opened =
            |e: sqlx::Error| match integrity::sqlite_code(&e).and_then(integrity::damage_of) {
                Some(problem) => integrity::damaged(&path, problem),
                None => fail(&e),
            };
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(opened)?;
        if on_disk {
            integrity::quick_check(&pool, &path, CACHE_KIB).await?;
        }
        sqlx::migrate!("migrations/sqlite")
            .run(&pool)
            .await
            .map_err(|e| match &e {
                sqlx::migrate::MigrateError::Execute(inner) => integrity::sqlite_code(inner)
                    .and_then(integrity::damage_of)
                    .map(|problem| integrity::damaged(&path, problem))
                    .unwrap_or_else(|| fail(&e)),
                _ => fail(&e),
            })?;
        Ok(Self {
            pool,
            path,
            max_pages: AtomicU32::new(0),
        })
    }

    /// Caps the file at `max` pages (of 4 KiB by default), or lifts the cap with `None`. Past
    /// the cap, event appends fail with [`StoreError::Full`] exactly as on a full disk: a quota for
    /// a shared volume, and how tests simulate one.
    pub fn limit_pages(&self, max: Option<u32>) {
        self.max_pages
            .store(max.unwrap_or(NO_PAGE_LIMIT).max(1), Ordering::Relaxed);
    }

    /// Closes every connection; the last one checkpoints the write-ahead log into the file.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Turns a driver error into a store error that names the file when the file is at fault.
    fn fail(&self, e: sqlx::Error) -> StoreError {
        match integrity::sqlite_code(&e) {
            Some(code) if code & 0xff == SQLITE_FULL => StoreError::Full(format!(
                "{}: {}",
                self.path.display(),
                integrity::sqlite_message(&e)
            )),
            Some(code) => match integrity::damage_of(code) {
                Some(problem) => integrity::damaged(&self.path, problem),
                None => StoreError::from(e),
            },
            None => StoreError::from(e),
        }
    }

    /// Applies the page cap, if one was ever set, to the connection about to write.
    async fn apply_page_limit(&self, conn: &mut sqlx::SqliteConnection) -> Result<(), StoreError> {
        let max = self.max_pages.load(Ordering::Relaxed);
        if max > 0 {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "PRAGMA max_page_count = {max}"
            )))
            .execute(conn)
            .await
            .map_err(|e| self.fail(e))?;
        }
        Ok(())
    }
}

/// SQLite's primary result code for "database or disk is full".
const SQLITE_FULL: i32 = 13;

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
impl Store for SqliteStore {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The open-time integrity check reads every page through a small cache and gives the
    /// connection its own cache back, so the pool serves with the configured size.
    #[tokio::test]
    async fn the_integrity_check_leaves_the_configured_page_cache() {
        let dir = std::env::temp_dir().join(format!(
            "switchyard-cache-{}-{}",
            std::process::id(),
            crate::event::now_ms()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}", dir.join("events.db").display());
        SqliteStore::open(&url).await.unwrap().close().await;
        let store = SqliteStore::open(&url).await.unwrap();
        let mut conns = Vec::new();
        for _ in 0..2 {
            let mut conn = store.pool.acquire().await.unwrap();
            let size: i64 = sqlx::query_scalar("PRAGMA cache_size")
                .fetch_one(&mut *conn)
                .await
                .unwrap();
            assert_eq!(size, -i64::from(CACHE_KIB));
            conns.push(conn);
        }
        drop(conns);
        store.close().await;
        let _ = std::fs::remove_dir_all(dir);
    }
}
