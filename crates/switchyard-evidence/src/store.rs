//! The `Store` trait: where events live. SQLite is the embedded default; PostgreSQL serves
//! several gateway nodes. Both pass the same contract tests.

use crate::artifact::{Artifact, ArtifactKind, ArtifactRef};
use crate::budget_ledger::{LeaseAsk, LeaseGrant};
use crate::event::{Digest, Event, EventKind};
use crate::keys::KeyRecord;
use async_trait::async_trait;
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

/// The last event of a stream: its sequence number and hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    pub seq: u64,
    pub hash: Digest,
}

/// Where events are appended and read back.
#[async_trait]
pub trait Store: Send + Sync {
    /// The last event of `stream`, or `None` when it is empty.
    async fn head(&self, stream: &str) -> Result<Option<Head>, StoreError>;

    /// Appends events (already chained) in one transaction: all or none. The events are
    /// given, not lent, so a store can bind their text without copying it.
    async fn append(&self, events: Vec<Event>) -> Result<(), StoreError>;

    /// Up to `limit` events of `stream` with `seq > after`, in order.
    async fn read(&self, stream: &str, after: u64, limit: u32) -> Result<Vec<Event>, StoreError>;

    /// Every stream in the store.
    async fn streams(&self) -> Result<Vec<String>, StoreError>;

    /// Events of one request, across streams, in order.
    async fn for_request(&self, request_id: &str) -> Result<Vec<Event>, StoreError>;

    /// Stores an artifact.
    async fn put_artifact(&self, artifact: &Artifact) -> Result<(), StoreError>;

    /// One artifact, if it exists (and has not expired and been deleted).
    async fn get_artifact(&self, id: &str) -> Result<Option<Artifact>, StoreError>;

    /// Deletes up to `limit` artifacts whose `expires_ms` is at or before `now_ms`.
    async fn delete_expired(&self, now_ms: i64, limit: u32)
    -> Result<Vec<ArtifactRef>, StoreError>;
    /// Up to `limit` events of `kind` with `since_ms <= ts_ms < until_ms`, across streams, in
    /// [`Position`] order, starting just after `after` (from the first when `None`).
    async fn by_kind(
        &self,
        kind: EventKind,
        since_ms: i64,
        until_ms: i64,
        after: Option<&Position>,
        limit: u32,
    ) -> Result<Vec<Event>, StoreError>;

    /// Stores a new key (its hash, never its secret).
    async fn put_key(&self, key: &KeyRecord) -> Result<(), StoreError>;

    /// Every key, revoked ones included, of one tenant or of all, oldest first.
    async fn list_keys(&self, tenant: Option<&str>) -> Result<Vec<KeyRecord>, StoreError>;

    /// The active key whose secret hashes to `hash`; `None` for unknown and revoked keys.
    async fn find_key_by_hash(&self, hash: &str) -> Result<Option<KeyRecord>, StoreError>;

    /// Revokes the active key `id` at `now_ms` and returns it as revoked; `None` when there is
    /// no such key or it was already revoked.
    async fn revoke_key(&self, id: &str, now_ms: i64) -> Result<Option<KeyRecord>, StoreError>;

    /// How many keys are active (not revoked).
    async fn count_active_keys(&self) -> Result<u64, StoreError>;

    /// Takes a lease on a budget from the shared ledger, atomically with every other node:
    /// grants `min(want, limit - leased)` when that is at least `at_least`, else nothing.
    async fn take_lease(&self, ask: &LeaseAsk<'_>) -> Result<LeaseGrant, StoreError>;

    /// Gives back `amount` of a lease taken in bucket `bucket_ms` that was not spent.
    async fn return_lease(
        &self,
        scope: &str,
        bucket_ms: i64,
        amount: u64,
    ) -> Result<(), StoreError>;
}

/// Where an event sits in the log read across streams: events sort by time, then stream, then
/// sequence, so paging with [`Store::by_kind`] neither skips nor repeats one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub ts_ms: i64,
    pub stream: String,
    pub seq: u64,
}

impl Position {
    /// The position of `event`.
    pub fn of(event: &Event) -> Position {
        Position {
            ts_ms: event.ts_ms,
            stream: event.stream.clone(),
            seq: event.seq,
        }
    }

    /// The key bound in SQL: before every event when there is no position.
    pub(crate) fn bounds(after: Option<&Position>) -> (i64, &str, i64) {
        match after {
            Some(p) => (p.ts_ms, &p.stream, i64::try_from(p.seq).unwrap_or(i64::MAX)),
            None => (i64::MIN, "", -1),
        }
    }
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

/// Builds an event from a row's columns, refusing rows whose hashes are not hex.
/// A hash column as a store keeps it: 64 hex digits (PostgreSQL) or 32 bytes (SQLite).
pub(crate) enum StoredHash<'a> {
    Hex(&'a str),
    Raw(&'a [u8]),
}

impl StoredHash<'_> {
    fn digest(&self) -> Option<Digest> {
        match self {
            StoredHash::Hex(h) => Digest::from_hex(h),
            StoredHash::Raw(b) => <[u8; 32]>::try_from(*b).ok().map(Digest),
        }
    }

    fn describe(&self) -> String {
        match self {
            StoredHash::Hex(h) => format!("\"{h}\" is not 64 hex digits"),
            StoredHash::Raw(b) => format!("has {} bytes, not 32", b.len()),
        }
    }
}

/// Builds an event from a row's columns.
#[allow(clippy::too_many_arguments)]
pub(crate) fn row_event(
    stream: String,
    seq: i64,
    ts_ms: i64,
    kind: String,
    request_id: Option<String>,
    payload: String,
    prev_hash: StoredHash<'_>,
    hash: StoredHash<'_>,
) -> Result<Event, StoreError> {
    let parse = |h: &StoredHash<'_>| {
        h.digest()
            .ok_or_else(|| StoreError::Corrupt(format!("{stream}#{seq}: hash {}", h.describe())))
    };
    Ok(Event {
        seq: u64::try_from(seq)
            .map_err(|_| StoreError::Corrupt(format!("{stream}: negative seq {seq}")))?,
        prev_hash: parse(&prev_hash)?,
        hash: parse(&hash)?,
        stream,
        ts_ms,
        kind,
        request_id,
        payload,
    })
}

/// Builds an artifact from a row's columns.
pub(crate) fn row_artifact(
    id: String,
    request_id: String,
    kind: &str,
    created_ms: i64,
    expires_ms: i64,
    key_id: Option<String>,
    body: Vec<u8>,
) -> Result<Artifact, StoreError> {
    let kind = ArtifactKind::parse(kind)
        .ok_or_else(|| StoreError::Corrupt(format!("artifact {id}: unknown kind \"{kind}\"")))?;
    Ok(Artifact {
        id,
        request_id,
        kind,
        created_ms,
        expires_ms,
        key_id,
        body,
    })
}

/// Builds a key from a row's columns, refusing a policy that is not JSON.
#[allow(clippy::too_many_arguments)]
pub(crate) fn row_key(
    id: String,
    tenant: String,
    name: Option<String>,
    hash: String,
    prefix: String,
    created_ms: i64,
    revoked_ms: Option<i64>,
    policy: &str,
) -> Result<KeyRecord, StoreError> {
    let policy = serde_json::from_str(policy)
        .map_err(|e| StoreError::Corrupt(format!("key {id}: policy is not JSON: {e}")))?;
    Ok(KeyRecord {
        id,
        tenant,
        name,
        hash,
        prefix,
        created_ms,
        revoked_ms,
        policy,
    })
}
