//! Storage by concern. Each concern has its own trait, its own tables and its own contract
//! suite, run on both backends (SQLite, the embedded default; PostgreSQL, shared by several
//! gateway nodes):
//!
//! | trait | holds |
//! | --- | --- |
//! | [`EventStore`] | the hash-chained event log, one stream per node |
//! | [`ArtifactStore`] | prompts, completions and tool results, with retention |
//! | [`KeyStore`] | virtual API keys (the hash of each secret, never the secret) |
//! | [`LeaseStore`] | the shared budget ledger that nodes lease from |
//! | [`SessionStore`] | session records (versioned, compare-and-swap) and session locks |
//! | [`IdempotencyStore`] | idempotency records: claimed, completed, replayed, expired |
//! | [`CounterStore`] | counters per time window, shared by every node |
//!
//! [`Store`] is all of them at once: what [`open`] returns and what the gateway holds. Code
//! that needs one concern takes that trait (the writer takes an [`EventStore`]), and an
//! `Arc<dyn Store>` converts to it where it is passed.
//!
//! Every time a store compares against is given by the caller (`now_ms`), never read from the
//! store's own clock, so tests drive it and every backend agrees. Nodes sharing a store judge
//! leases and expiry by their own clocks, so those clocks must agree to well within a lease.

mod artifacts;
mod counters;
mod events;
mod idempotency;
mod keys;
mod leases;
mod sessions;

pub use artifacts::ArtifactStore;
pub(crate) use artifacts::row_artifact;
pub use counters::CounterStore;
pub use events::{EventStore, Head, Position};
pub(crate) use events::{StoredHash, row_event};
pub use idempotency::{
    Claim, IdempotencyAnswer, IdempotencyClaim, IdempotencyRecord, IdempotencyStore,
};
pub(crate) use idempotency::{DONE, IN_FLIGHT, Step, Stored, decide, row_stored};
pub use keys::KeyStore;
pub(crate) use keys::row_key;
pub use leases::LeaseStore;
pub use sessions::{
    LockOutcome, SessionLock, SessionQuery, SessionRecord, SessionRef, SessionStore, SessionWrite,
};
pub(crate) use sessions::{list_query, replaced_version, row_session};

use std::sync::Arc;

/// A store failure, with what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the store {url}: {message}")]
    Open { url: String, message: String },
    /// The SQLite file is not a database, is truncated, or has damaged pages.
    #[error(
        "the store file {path} {problem}. Switchyard will not write into it: restore it from a backup, or move it aside (keep it for inspection) to start a new event log"
    )]
    Damaged { path: String, problem: String },
    /// The disk (or the store's size limit) is full.
    #[error(
        "the store is full ({0}): free disk space or raise the store's size limit; nothing was written"
    )]
    Full(String),
    #[error("store query failed: {0}")]
    Query(String),
    #[error("the store holds a row that cannot be read: {0}")]
    Corrupt(String),
    #[error("unknown store URL \"{0}\": use sqlite://FILE or postgres://…")]
    UnknownScheme(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        let disk_full =
            matches!(&e, sqlx::Error::Database(db) if db.code().as_deref() == Some(PG_DISK_FULL));
        if disk_full {
            StoreError::Full(e.to_string())
        } else {
            StoreError::Query(e.to_string())
        }
    }
}

/// PostgreSQL's SQLSTATE for "disk full" (`53100`).
const PG_DISK_FULL: &str = "53100";

impl StoreError {
    /// Whether the store ran out of space (the write may succeed once space returns).
    pub fn is_full(&self) -> bool {
        matches!(self, StoreError::Full(_))
    }
}

/// Every concern at once: what the gateway holds. Implemented for every type that implements
/// each concern's trait, so a store (or a test's wrapper around one) never names it.
pub trait Store:
    EventStore + ArtifactStore + KeyStore + LeaseStore + SessionStore + IdempotencyStore + CounterStore
{
}

impl<T> Store for T where
    T: EventStore
        + ArtifactStore
        + KeyStore
        + LeaseStore
        + SessionStore
        + IdempotencyStore
        + CounterStore
        + ?Sized
{
}

/// Opens the store a URL names, creating and migrating it as needed.
pub async fn open(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(crate::sqlite::SqliteStore::open(url).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(crate::postgres::PostgresStore::open(url).await?))
    } else {
        Err(StoreError::UnknownScheme(url.to_owned()))
    }
}

/// `now + span`, saturating: a time far in the future, never one wrapped into the past.
pub(crate) fn later(now_ms: i64, span_ms: i64) -> i64 {
    now_ms.saturating_add(span_ms.max(0))
}

/// An amount (micro-USD, a count) as a SQL integer, saturating.
pub(crate) fn sql_amount(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// A SQL integer as an amount (negative reads as 0).
pub(crate) fn amount_of(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}
