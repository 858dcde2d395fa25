//! One budget scope as this node keeps it: a [`Ledger`] of this node's own reservations and
//! charges under the budget's limit, and the lease it currently spends from. Pure arithmetic
//! behind the node's lock: no I/O, time is an argument.
//!
//! Leases are taken per time bucket: the window itself for a fixed window, a tenth of it for a
//! sliding one. A lease is spent only within its bucket; what is left of it goes back to the
//! shared ledger when the bucket ends. The shared ledger counts every lease of the buckets that
//! can overlap the window, so the leases of all nodes stay within the limit.

use crate::config::BudgetSpec;
use switchyard_policy::{Ledger, MicroUsd, OverBudget, Reservation, Window};

/// The length (ms) of the buckets leases are taken in.
pub fn bucket_len(window: Window) -> u64 {
    match window {
        Window::Fixed { length_ms } => length_ms.max(1),
        Window::Sliding { length_ms } => (length_ms / 10).max(1),
    }
}

/// The bucket (its start, epoch ms) that `now_ms` falls in.
pub fn bucket_of(window: Window, now_ms: u64) -> u64 {
    now_ms - now_ms % bucket_len(window)
}

/// The first bucket start whose leases count against the limit at `now_ms`: the current
/// bucket for a fixed window; for a sliding one, every bucket that ends inside the window, so
/// a charge made anywhere in a bucket is counted at least as long as the window lasts.
pub fn counted_since(window: Window, now_ms: u64) -> u64 {
    match window {
        Window::Fixed { .. } => bucket_of(window, now_ms),
        Window::Sliding { length_ms } => {
            (now_ms + 1).saturating_sub(length_ms.saturating_add(bucket_len(window)))
        }
    }
}

/// The lease a node spends from in one bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Lease {
    pub bucket_ms: u64,
    /// Taken from the shared ledger in this bucket.
    pub granted: MicroUsd,
    /// Held by open reservations plus charged by settled ones, in this bucket.
    pub used: MicroUsd,
}

/// One scope on this node.
#[derive(Debug, Clone)]
pub struct Book {
    pub spec: BudgetSpec,
    ledger: Ledger,
    pub lease: Lease,
    /// What the shared ledger had left after this node's last lease in the current bucket.
    pub shared_left: Option<MicroUsd>,
}

impl Book {
    /// A fresh book for `spec`.
    pub fn new(spec: BudgetSpec) -> Self {
        Book {
            ledger: Ledger::new(spec.limit),
            spec,
            lease: Lease::default(),
            shared_left: None,
        }
    }

    /// Starts the bucket of `now_ms` when the lease's bucket has ended; returns the old bucket
    /// and the unspent part of its lease, to give back to the shared ledger.
    pub fn roll(&mut self, now_ms: u64) -> Option<(u64, MicroUsd)> {
        let bucket = bucket_of(self.spec.limit.window, now_ms);
        if bucket == self.lease.bucket_ms {
            return None;
        }
        let old = self.lease;
        self.lease = Lease {
            bucket_ms: bucket,
            granted: 0,
            used: 0,
        };
        self.shared_left = None;
        self.ledger.prune(now_ms);
        let unused = old.granted.saturating_sub(old.used);
        (unused > 0).then_some((old.bucket_ms, unused))
    }

    /// What the current lease still covers.
    pub fn room(&self) -> MicroUsd {
        self.lease.granted.saturating_sub(self.lease.used)
    }

    /// What may still be spent at `now_ms`, as far as this node knows: its own spending under
    /// the limit, and its lease plus what the shared ledger had left at the last lease.
    pub fn remaining(&self, now_ms: u64) -> MicroUsd {
        let shared = self.shared_left.unwrap_or(self.spec.limit.limit);
        self.ledger
            .remaining(now_ms)
            .min(self.room().saturating_add(shared))
    }

    /// Checks the node's own spending under the limit (a lease is checked by the caller).
    pub fn check(&self, amount: MicroUsd, now_ms: u64) -> Result<(), OverBudget> {
        let remaining = self.ledger.remaining(now_ms);
        if amount > remaining {
            return Err(OverBudget {
                estimate: amount,
                remaining,
            });
        }
        Ok(())
    }

    /// Holds `amount` in the ledger and the current lease.
    pub fn reserve(&mut self, amount: MicroUsd, now_ms: u64) -> Result<Reservation, OverBudget> {
        let r = self.ledger.reserve(amount, now_ms)?;
        self.lease.used = self.lease.used.saturating_add(amount);
        Ok(r)
    }

    /// Replaces a reservation made in bucket `bucket_ms` with the real cost. In the same
    /// bucket the lease is charged the difference; a sliding window also charges a cost over
    /// the estimate to the current lease (the old bucket's lease was already given back).
    pub fn settle(&mut self, r: Reservation, bucket_ms: u64, actual: MicroUsd) {
        let held = r.amount();
        if self.ledger.settle(r, actual) {
            if bucket_ms == self.lease.bucket_ms {
                self.lease.used = self.lease.used.saturating_sub(held).saturating_add(actual);
            } else if matches!(self.spec.limit.window, Window::Sliding { .. }) && actual > held {
                self.lease.used = self.lease.used.saturating_add(actual - held);
            }
        }
    }

    /// Adds a grant from the shared ledger to the lease of `bucket_ms`; false when that bucket
    /// has ended meanwhile (the caller gives the grant back).
    pub fn add_grant(&mut self, bucket_ms: u64, granted: MicroUsd, leased: MicroUsd) -> bool {
        if bucket_ms != self.lease.bucket_ms {
            return false;
        }
        self.lease.granted = self.lease.granted.saturating_add(granted);
        self.shared_left = Some(self.spec.limit.limit.saturating_sub(leased));
        true
    }

    /// Gives up the unspent part of the lease (at shutdown): returns its bucket and amount.
    pub fn surrender(&mut self) -> Option<(u64, MicroUsd)> {
        let unused = self.room();
        self.lease.granted = self.lease.granted.saturating_sub(unused);
        (unused > 0).then_some((self.lease.bucket_ms, unused))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::config::BudgetScope;
    use switchyard_policy::BudgetLimit;

    fn book(window: Window) -> Book {
        Book::new(BudgetSpec {
            scope: BudgetScope::Tenant("t".into()),
            limit: BudgetLimit {
                limit: 1_000,
                window,
            },
            lease: 100,
        })
    }

    #[test]
    fn buckets_cover_the_window() {
        let fixed = Window::Fixed { length_ms: 1_000 };
        assert_eq!(bucket_of(fixed, 2_500), 2_000);
        assert_eq!(counted_since(fixed, 2_500), 2_000);
        let sliding = Window::Sliding { length_ms: 1_000 };
        assert_eq!(bucket_of(sliding, 2_550), 2_500);
        // A charge at 1_551 still counts at 2_550; its bucket (1_500..1_600) must be counted.
        assert!(counted_since(sliding, 2_550) <= 1_500);
        assert!(counted_since(sliding, 2_550) > 1_400);
    }

    #[test]
    fn leases_roll_settle_and_surrender() {
        let mut b = book(Window::Fixed { length_ms: 1_000 });
        assert_eq!(b.roll(10), None);
        assert!(b.add_grant(0, 100, 100));
        assert_eq!(b.shared_left, Some(900));
        let r = b.reserve(60, 10).unwrap();
        assert_eq!(b.room(), 40);
        b.settle(r, 0, 30);
        assert_eq!((b.room(), b.remaining(20)), (70, 970));
        assert_eq!(b.roll(1_005), Some((0, 70)));
        assert_eq!((b.lease.granted, b.lease.used, b.shared_left), (0, 0, None));
        assert!(
            !b.add_grant(0, 5, 5),
            "a grant for an ended bucket is refused"
        );
        assert!(b.add_grant(1_000, 100, 100));
        let _open = b.reserve(30, 1_010).unwrap();
        assert_eq!(b.surrender(), Some((1_000, 70)));
        assert_eq!(b.room(), 0);
        assert!(b.check(1_001, 1_010).is_err());
    }
}
