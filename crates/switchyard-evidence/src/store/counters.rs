//! Counters per time window, shared by every node: how many requests or tokens a key, a
//! tenant or a target used in a window, so that a limit of R per minute holds across nodes
//! instead of becoming nodes × R. A counter is a name and a window's start; an add returns the
//! new total in one atomic step, so concurrent adds from any node sum exactly.
//!
//! The gateway chooses names (`rpm:key_…`, `tpm:tenant:acme`) and window starts (the time
//! rounded down to the window's length); a store never interprets them. Names carry ids, never
//! secrets or request content. Windows that ended are deleted by
//! [`CounterStore::prune_counters`].

use crate::store::StoreError;
use async_trait::async_trait;

/// Where shared counters live.
#[async_trait]
pub trait CounterStore: Send + Sync {
    /// Adds `by` to counter `name` in the window starting at `window_ms`, atomically with
    /// every other node, and returns the window's new total.
    async fn add_to_counter(&self, name: &str, window_ms: i64, by: u64) -> Result<u64, StoreError>;

    /// The total of counter `name` in the window starting at `window_ms` (0 when nothing was
    /// added, or the window was pruned).
    async fn read_counter(&self, name: &str, window_ms: i64) -> Result<u64, StoreError>;

    /// Deletes every window that starts before `before_ms`, of every counter; returns how
    /// many.
    async fn prune_counters(&self, before_ms: i64) -> Result<u64, StoreError>;
}
