//! Test support, not part of the API: a store that passes every call to another store, except
//! event appends, which go through a hook that decides what an append does (fail it, hold it
//! until a test lets it go, or commit it and then report a failure). The writer's and the
//! gateway's failure tests use it, so a new store method is delegated once, here.

use crate::artifact::{Artifact, ArtifactRef};
use crate::budget_ledger::{LeaseAsk, LeaseGrant};
use crate::event::{Event, EventKind};
use crate::keys::KeyRecord;
use crate::store::{
    ArtifactStore, Claim, CounterStore, EventStore, Head, IdempotencyAnswer, IdempotencyClaim,
    IdempotencyStore, KeyStore, LeaseStore, LockOutcome, Position, SessionLock, SessionQuery,
    SessionRecord, SessionRef, SessionStore, SessionWrite, Store, StoreError,
};
use async_trait::async_trait;
use std::sync::Arc;

/// What an intercepted store does with an event append.
#[async_trait]
pub trait AppendHook: Send + Sync {
    /// Appends `events` to `store`, or not: the hook decides.
    async fn append(&self, store: &dyn EventStore, events: Vec<Event>) -> Result<(), StoreError>;
}

/// A store whose event appends go through `hook`; every other call goes to `inner` as it is.
pub struct Intercepted<H> {
    inner: Arc<dyn Store>,
    hook: H,
}

impl<H: AppendHook> Intercepted<H> {
    pub fn new(inner: Arc<dyn Store>, hook: H) -> Self {
        Self { inner, hook }
    }

    /// The hook, for a test to steer.
    pub fn hook(&self) -> &H {
        &self.hook
    }

    /// The store underneath, reached without the hook.
    pub fn inner(&self) -> &Arc<dyn Store> {
        &self.inner
    }
}

#[async_trait]
impl<H: AppendHook> EventStore for Intercepted<H> {
    async fn head(&self, stream: &str) -> Result<Option<Head>, StoreError> {
        self.inner.head(stream).await
    }

    async fn append(&self, events: Vec<Event>) -> Result<(), StoreError> {
        self.hook.append(self.inner.as_ref(), events).await
    }

    async fn read(&self, stream: &str, after: u64, limit: u32) -> Result<Vec<Event>, StoreError> {
        self.inner.read(stream, after, limit).await
    }

    async fn streams(&self) -> Result<Vec<String>, StoreError> {
        self.inner.streams().await
    }

    async fn for_request(&self, request_id: &str) -> Result<Vec<Event>, StoreError> {
        self.inner.for_request(request_id).await
    }

    async fn by_kind(
        &self,
        kind: EventKind,
        since_ms: i64,
        until_ms: i64,
        after: Option<&Position>,
        limit: u32,
    ) -> Result<Vec<Event>, StoreError> {
        self.inner
            .by_kind(kind, since_ms, until_ms, after, limit)
            .await
    }
}

#[async_trait]
impl<H: AppendHook> ArtifactStore for Intercepted<H> {
    async fn put_artifact(&self, artifact: &Artifact) -> Result<(), StoreError> {
        self.inner.put_artifact(artifact).await
    }

    async fn get_artifact(&self, id: &str) -> Result<Option<Artifact>, StoreError> {
        self.inner.get_artifact(id).await
    }

    async fn delete_expired(
        &self,
        now_ms: i64,
        limit: u32,
    ) -> Result<Vec<ArtifactRef>, StoreError> {
        self.inner.delete_expired(now_ms, limit).await
    }
}

#[async_trait]
impl<H: AppendHook> KeyStore for Intercepted<H> {
    async fn put_key(&self, key: &KeyRecord) -> Result<(), StoreError> {
        self.inner.put_key(key).await
    }

    async fn list_keys(&self, tenant: Option<&str>) -> Result<Vec<KeyRecord>, StoreError> {
        self.inner.list_keys(tenant).await
    }

    async fn find_key_by_hash(&self, hash: &str) -> Result<Option<KeyRecord>, StoreError> {
        self.inner.find_key_by_hash(hash).await
    }

    async fn revoke_key(&self, id: &str, now_ms: i64) -> Result<Option<KeyRecord>, StoreError> {
        self.inner.revoke_key(id, now_ms).await
    }

    async fn count_active_keys(&self) -> Result<u64, StoreError> {
        self.inner.count_active_keys().await
    }
}

#[async_trait]
impl<H: AppendHook> LeaseStore for Intercepted<H> {
    async fn take_lease(&self, ask: &LeaseAsk<'_>) -> Result<LeaseGrant, StoreError> {
        self.inner.take_lease(ask).await
    }

    async fn return_lease(
        &self,
        scope: &str,
        bucket_ms: i64,
        amount: u64,
    ) -> Result<(), StoreError> {
        self.inner.return_lease(scope, bucket_ms, amount).await
    }
}

#[async_trait]
impl<H: AppendHook> SessionStore for Intercepted<H> {
    async fn get_session(
        &self,
        tenant: &str,
        id: &str,
        now_ms: i64,
    ) -> Result<Option<SessionRecord>, StoreError> {
        self.inner.get_session(tenant, id, now_ms).await
    }

    async fn put_session(&self, record: &SessionRecord) -> Result<SessionWrite, StoreError> {
        self.inner.put_session(record).await
    }

    async fn list_sessions(
        &self,
        query: &SessionQuery<'_>,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        self.inner.list_sessions(query).await
    }

    async fn delete_session(&self, tenant: &str, id: &str) -> Result<u64, StoreError> {
        self.inner.delete_session(tenant, id).await
    }

    async fn expire_sessions(
        &self,
        now_ms: i64,
        limit: u32,
    ) -> Result<Vec<SessionRef>, StoreError> {
        self.inner.expire_sessions(now_ms, limit).await
    }

    async fn lock_session(&self, lock: &SessionLock<'_>) -> Result<LockOutcome, StoreError> {
        self.inner.lock_session(lock).await
    }

    async fn unlock_session(
        &self,
        tenant: &str,
        session: &str,
        holder: &str,
    ) -> Result<bool, StoreError> {
        self.inner.unlock_session(tenant, session, holder).await
    }
}

#[async_trait]
impl<H: AppendHook> IdempotencyStore for Intercepted<H> {
    async fn claim_idempotency(&self, claim: &IdempotencyClaim<'_>) -> Result<Claim, StoreError> {
        self.inner.claim_idempotency(claim).await
    }

    async fn complete_idempotency(
        &self,
        answer: &IdempotencyAnswer<'_>,
    ) -> Result<bool, StoreError> {
        self.inner.complete_idempotency(answer).await
    }

    async fn release_idempotency(
        &self,
        tenant: &str,
        key: &str,
        holder: &str,
    ) -> Result<bool, StoreError> {
        self.inner.release_idempotency(tenant, key, holder).await
    }

    async fn expire_idempotency(&self, now_ms: i64, limit: u32) -> Result<u64, StoreError> {
        self.inner.expire_idempotency(now_ms, limit).await
    }
}

#[async_trait]
impl<H: AppendHook> CounterStore for Intercepted<H> {
    async fn add_to_counter(&self, name: &str, window_ms: i64, by: u64) -> Result<u64, StoreError> {
        self.inner.add_to_counter(name, window_ms, by).await
    }

    async fn read_counter(&self, name: &str, window_ms: i64) -> Result<u64, StoreError> {
        self.inner.read_counter(name, window_ms).await
    }

    async fn prune_counters(&self, before_ms: i64) -> Result<u64, StoreError> {
        self.inner.prune_counters(before_ms).await
    }
}
