//! The event log: append-only, hash-chained, one stream per gateway node. A store appends
//! chained events as given and reads them back; it never chains, edits or deletes one (the
//! writer chains, `verify` checks). Events carry structured facts, never request content.

use crate::event::{Digest, Event, EventKind};
use crate::store::StoreError;
use async_trait::async_trait;

/// The last event of a stream: its sequence number and hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    pub seq: u64,
    pub hash: Digest,
}

/// Where events are appended and read back.
#[async_trait]
pub trait EventStore: Send + Sync {
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
}

/// Where an event sits in the log read across streams: events sort by time, then stream, then
/// sequence, so paging with [`EventStore::by_kind`] neither skips nor repeats one.
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
