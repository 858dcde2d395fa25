//! The embedded store: one SQLite file in WAL mode, every concern in its own tables (one
//! module per concern). SQLite runs one write transaction at a time, so a write that reads
//! before it decides (a lease, a claim, a lock) starts with its write: the transaction holds
//! the file's write lock from its first statement.

mod artifacts;
mod counters;
mod events;
mod idempotency;
mod keys;
mod leases;
mod sessions;

use crate::integrity;
use crate::store::StoreError;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// Every concern in one SQLite file.
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
