//! Sessions: what the gateway keeps of an agent's conversation between its requests (the
//! session itself, its stored responses, its conversation items), and the lock that lets one
//! request of a session run at a time, on any node.
//!
//! - **Records** are grouped by session and scoped by tenant: a read names its tenant, and a
//!   record of another tenant is never returned, exactly as if it did not exist.
//! - **Versions**: every write names the version it replaces (compare-and-swap), so two nodes
//!   that read the same version cannot both advance it; the loser reads again.
//! - **Bodies** are the gateway's: it decides what it keeps and seals what the client asked to
//!   store (`key_id` names the key). A store never reads, opens or logs a body; `kind` and
//!   `state` are short words the gateway names (`response`, `in_progress`), never content.
//! - **Expiry**: a record lives until `expires_ms`; after that it reads as absent, a create may
//!   replace it, and [`SessionStore::expire_sessions`] deletes it.
//! - **Locks** are lease rows, not locks held by a connection: one holder per session until
//!   `until_ms`, extended by taking it again, so a holder that dies lets go when its lease ends.

use crate::store::StoreError;
use async_trait::async_trait;

/// One record of a session: the session itself or something it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// The tenant the record belongs to; every read is scoped by it.
    pub tenant: String,
    /// The record's id, unique within its tenant: a session key, a response id, an item id.
    pub id: String,
    /// The session the record belongs to: the session record's own id for the session itself.
    pub session: String,
    /// What the record is, as the gateway names it (`session`, `response`, `item`).
    pub kind: String,
    /// Where the record is in its life, as the gateway names it (`in_progress`), or empty.
    pub state: String,
    /// 1 when created, one more at every write.
    pub version: u64,
    pub created_ms: i64,
    /// When the record was last written; a write compares expiry against it.
    pub updated_ms: i64,
    /// When the record stops being readable and may be deleted.
    pub expires_ms: i64,
    /// The key that sealed `body`; `None` for a body that is not sealed.
    pub key_id: Option<String>,
    pub body: Vec<u8>,
}

/// What [`SessionStore::put_session`] did.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionWrite {
    /// The record was written at its version.
    Written,
    /// The record's version does not follow the stored one (another write came first, or a
    /// create found a live record): nothing was written. `current` is the stored version
    /// (`None` when there is no live record).
    Conflict { current: Option<u64> },
}

/// A record [`SessionStore::expire_sessions`] deleted, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRef {
    pub tenant: String,
    pub id: String,
    pub session: String,
    pub kind: String,
}

/// Which records [`SessionStore::list_sessions`] reads: live ones matching every filter given,
/// ordered by creation time, then tenant, then id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionQuery<'a> {
    /// One tenant's records; `None` reads every tenant's (an operator's sweep, such as marking
    /// the responses a dead node left in progress; never a client's read).
    pub tenant: Option<&'a str>,
    /// The records of one session.
    pub session: Option<&'a str>,
    pub kind: Option<&'a str>,
    pub state: Option<&'a str>,
    /// Records that expire at or before this time are not read.
    pub now_ms: i64,
    /// Starts just after the record at `(created_ms, tenant, id)`, the last of the previous
    /// page ([`SessionQuery::next_page`] sets it); from the first record when `None`.
    pub after: Option<(i64, &'a str, &'a str)>,
    pub limit: u32,
}

impl<'a> SessionQuery<'a> {
    /// The same query for the page after `last`.
    pub fn next_page(self, last: &'a SessionRecord) -> Self {
        Self {
            after: Some((last.created_ms, &last.tenant, &last.id)),
            ..self
        }
    }
}

/// A request for a session's lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLock<'a> {
    pub tenant: &'a str,
    pub session: &'a str,
    /// Who asks (a request id): the holder may take the lock again to extend it, and only the
    /// holder releases it.
    pub holder: &'a str,
    pub now_ms: i64,
    /// How long the lock holds unless taken again: past `now_ms + ttl_ms`, another holder may
    /// take it.
    pub ttl_ms: i64,
}

/// What [`SessionStore::lock_session`] found.
#[must_use]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockOutcome {
    /// The asker holds the lock until `until_ms`.
    Acquired { until_ms: i64 },
    /// Another holder has it until `until_ms`: wait, then ask again.
    Busy { holder: String, until_ms: i64 },
}

/// Where session records and session locks live, shared by every node.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// The live record `id` of `tenant`; `None` when there is none, it expired, or it belongs
    /// to another tenant.
    async fn get_session(
        &self,
        tenant: &str,
        id: &str,
        now_ms: i64,
    ) -> Result<Option<SessionRecord>, StoreError>;

    /// Writes `record` if its version follows the stored one, atomically with every other
    /// node: version 1 creates it (replacing an expired record, never a live one); version `n`
    /// replaces version `n - 1` while it is live. The stored `created_ms` is kept on a replace;
    /// expiry is judged at the record's `updated_ms`.
    async fn put_session(&self, record: &SessionRecord) -> Result<SessionWrite, StoreError>;

    /// Up to `query.limit` live records matching `query`, in its order.
    async fn list_sessions(
        &self,
        query: &SessionQuery<'_>,
    ) -> Result<Vec<SessionRecord>, StoreError>;

    /// Deletes record `id` of `tenant` and every record of the session it names (a session's
    /// responses and items go with it); returns how many records were deleted.
    async fn delete_session(&self, tenant: &str, id: &str) -> Result<u64, StoreError>;

    /// Deletes up to `limit` records that expired at or before `now_ms`, and the locks whose
    /// lease ended by then; returns the records deleted.
    async fn expire_sessions(&self, now_ms: i64, limit: u32)
    -> Result<Vec<SessionRef>, StoreError>;

    /// Takes (or extends) a session's lock, atomically with every other node: granted when no
    /// one holds it, when its lease ended, or when the asker already holds it.
    async fn lock_session(&self, lock: &SessionLock<'_>) -> Result<LockOutcome, StoreError>;

    /// Releases the session's lock if `holder` holds it; returns whether it did.
    async fn unlock_session(
        &self,
        tenant: &str,
        session: &str,
        holder: &str,
    ) -> Result<bool, StoreError>;
}

/// Builds a record from a row's columns, refusing a negative version.
#[allow(clippy::too_many_arguments)]
pub(crate) fn row_session(
    tenant: String,
    id: String,
    session: String,
    kind: String,
    state: String,
    version: i64,
    created_ms: i64,
    updated_ms: i64,
    expires_ms: i64,
    key_id: Option<String>,
    body: Vec<u8>,
) -> Result<SessionRecord, StoreError> {
    let version = u64::try_from(version)
        .map_err(|_| StoreError::Corrupt(format!("session {id}: negative version {version}")))?;
    Ok(SessionRecord {
        tenant,
        id,
        session,
        kind,
        state,
        version,
        created_ms,
        updated_ms,
        expires_ms,
        key_id,
        body,
    })
}

/// The stored version a write of `version` replaces (`0` for a create: no stored version is
/// 0, and version `0` itself replaces nothing).
pub(crate) fn replaced_version(version: u64) -> i64 {
    i64::try_from(version).map_or(-1, |v| v - 1)
}

/// The SELECT for `query`, with only the filters it gives, so each shape can use its index.
pub(crate) fn list_query<DB>(query: &SessionQuery<'_>) -> sqlx::QueryBuilder<DB>
where
    DB: sqlx::Database,
    DB::Arguments: Default,
    String: for<'t> sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    i64: for<'t> sqlx::Encode<'t, DB> + sqlx::Type<DB>,
{
    let mut sql = sqlx::QueryBuilder::new("SELECT * FROM sessions WHERE expires_ms > ");
    sql.push_bind(query.now_ms);
    let filters = [
        ("tenant", query.tenant),
        ("session", query.session),
        ("kind", query.kind),
        ("state", query.state),
    ];
    for (column, value) in filters {
        if let Some(value) = value {
            sql.push(format_args!(" AND {column} = "));
            sql.push_bind(value.to_owned());
        }
    }
    if let Some((created_ms, tenant, id)) = query.after {
        sql.push(" AND (created_ms, tenant, id) > (");
        sql.push_bind(created_ms);
        sql.push(", ");
        sql.push_bind(tenant.to_owned());
        sql.push(", ");
        sql.push_bind(id.to_owned());
        sql.push(")");
    }
    sql.push(" ORDER BY created_ms, tenant, id LIMIT ");
    sql.push_bind(i64::from(query.limit));
    sql
}
