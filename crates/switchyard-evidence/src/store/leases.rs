//! The shared budget ledger (see [`crate::budget_ledger`]): nodes take leases on a budget and
//! give back what they did not spend, so together they never lease more than its limit. It
//! holds amounts per scope and time bucket, never requests.

use crate::budget_ledger::{LeaseAsk, LeaseGrant};
use crate::store::StoreError;
use async_trait::async_trait;

/// Where budget leases are taken and returned, atomically across nodes.
#[async_trait]
pub trait LeaseStore: Send + Sync {
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
