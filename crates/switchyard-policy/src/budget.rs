//! Budget arithmetic in micro-dollars: reserve an estimated cost before a request goes out,
//! settle it with the real cost after, over a fixed or sliding window. Never negative. Pure:
//! the gateway stores and locks ledgers; time is an argument.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Money in millionths of a US dollar; a price per million tokens is micro-USD per token.
pub type MicroUsd = u64;

/// `usd` as micro-USD, rounded up; negative or not-a-number amounts are 0.
pub fn micro_usd(usd: f64) -> MicroUsd {
    let micros = (usd * 1_000_000.0).ceil();
    if micros.is_nan() || micros <= 0.0 {
        0
    } else if micros >= u64::MAX as f64 {
        u64::MAX
    } else {
        micros as u64
    }
}

/// The cost of `tokens` at `usd_per_mtok`, rounded up to the micro-dollar.
pub fn token_cost(tokens: u64, usd_per_mtok: f64) -> MicroUsd {
    micro_usd(tokens as f64 * usd_per_mtok / 1_000_000.0)
}

/// The span a budget's limit applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Window {
    /// Calendar-like buckets `[k·length, (k+1)·length)` of epoch milliseconds.
    Fixed {
        /// Bucket length (ms); 0 is read as 1.
        length_ms: u64,
    },
    /// The last `length_ms` milliseconds before now.
    Sliding {
        /// Window length (ms).
        length_ms: u64,
    },
}

impl Window {
    /// The first millisecond that counts at `now_ms`.
    pub fn start(self, now_ms: u64) -> u64 {
        match self {
            Window::Fixed { length_ms } => now_ms - now_ms % length_ms.max(1),
            Window::Sliding { length_ms } => match now_ms.checked_sub(length_ms) {
                Some(before) => before.saturating_add(1),
                None => 0,
            },
        }
    }
}

/// A budget: at most `limit` spent per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetLimit {
    /// Most that may be spent (and reserved) in one window.
    pub limit: MicroUsd,
    /// The window the limit applies to.
    pub window: Window,
}

/// A reserved amount, to be settled (or released) exactly once.
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservation {
    id: u64,
    amount: MicroUsd,
}

impl Reservation {
    /// The amount held.
    pub fn amount(&self) -> MicroUsd {
        self.amount
    }
}

/// A reservation refused: it would take the window past its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverBudget {
    /// What was asked.
    pub estimate: MicroUsd,
    /// What was left.
    pub remaining: MicroUsd,
}

impl fmt::Display for OverBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "budget exhausted: estimated cost {} micro-USD, {} remaining in this window",
            self.estimate, self.remaining
        )
    }
}

impl std::error::Error for OverBudget {}

/// One scope's spending: settled charges in the window and open reservations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ledger {
    limit: BudgetLimit,
    next_id: u64,
    /// Open reservations: id → (reserved at, amount). They count whatever their age.
    open: BTreeMap<u64, (u64, MicroUsd)>,
    /// Settled charges, (reserved at, real cost), oldest first.
    settled: Vec<(u64, MicroUsd)>,
}

impl Ledger {
    /// An empty ledger under `limit`.
    pub fn new(limit: BudgetLimit) -> Self {
        Ledger {
            limit,
            next_id: 0,
            open: BTreeMap::new(),
            settled: Vec::new(),
        }
    }

    /// The limit this ledger enforces.
    pub fn limit(&self) -> BudgetLimit {
        self.limit
    }

    /// Settled spending in the window at `now_ms`.
    pub fn spent(&self, now_ms: u64) -> MicroUsd {
        let start = self.limit.window.start(now_ms);
        self.settled
            .iter()
            .filter(|(at, _)| *at >= start)
            .fold(0, |sum, (_, amount)| sum.saturating_add(*amount))
    }

    /// Held by reservations not settled yet.
    pub fn reserved(&self) -> MicroUsd {
        self.open
            .values()
            .fold(0, |sum, (_, amount)| sum.saturating_add(*amount))
    }

    /// What may still be reserved at `now_ms`; never below zero.
    pub fn remaining(&self, now_ms: u64) -> MicroUsd {
        self.limit
            .limit
            .saturating_sub(self.spent(now_ms).saturating_add(self.reserved()))
    }

    /// Holds `estimate` at `now_ms` if spent + reserved + estimate stays within the limit.
    pub fn reserve(&mut self, estimate: MicroUsd, now_ms: u64) -> Result<Reservation, OverBudget> {
        let remaining = self.remaining(now_ms);
        if estimate > remaining {
            return Err(OverBudget {
                estimate,
                remaining,
            });
        }
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        self.open.insert(id, (now_ms, estimate));
        Ok(Reservation {
            id,
            amount: estimate,
        })
    }

    /// Replaces `reservation` with the real cost, charged to the window it was reserved in.
    /// A reservation settled before is ignored (returns false).
    pub fn settle(&mut self, reservation: Reservation, actual: MicroUsd) -> bool {
        match self.open.remove(&reservation.id) {
            Some((at, _)) => {
                let pos = self.settled.partition_point(|(t, _)| *t <= at);
                self.settled.insert(pos, (at, actual));
                true
            }
            None => false,
        }
    }

    /// Gives back a reservation whose request never reached an upstream.
    pub fn release(&mut self, reservation: Reservation) -> bool {
        self.open.remove(&reservation.id).is_some()
    }

    /// Forgets settled charges that no longer count at `now_ms` (or later).
    pub fn prune(&mut self, now_ms: u64) {
        let start = self.limit.window.start(now_ms);
        self.settled.retain(|(at, _)| *at >= start);
    }
}

/// What `decide` knows of budgets: the remaining amount per scope (`tenant:acme`, `key:k1`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BudgetState(pub BTreeMap<String, MicroUsd>);

impl BudgetState {
    /// The scope with the least left (first by name on a tie); `None` with no budgets.
    pub fn tightest(&self) -> Option<(&str, MicroUsd)> {
        self.0
            .iter()
            .min_by_key(|(_, left)| **left)
            .map(|(scope, left)| (scope.as_str(), *left))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn fixed(limit: MicroUsd) -> Ledger {
        Ledger::new(BudgetLimit {
            limit,
            window: Window::Fixed { length_ms: 1_000 },
        })
    }

    #[test]
    fn conversions_round_up_and_clamp() {
        assert_eq!(micro_usd(0.000_001_1), 2);
        assert_eq!(micro_usd(-3.0), 0);
        assert_eq!(micro_usd(f64::NAN), 0);
        assert_eq!(token_cost(1_000, 0.15), 150);
        assert_eq!(token_cost(1, 0.15), 1);
    }

    #[test]
    fn reservations_hold_and_settlements_replace() {
        let mut l = fixed(1_000);
        let a = l.reserve(600, 10).unwrap();
        assert_eq!(l.remaining(10), 400);
        assert_eq!(
            l.reserve(500, 11).unwrap_err(),
            OverBudget {
                estimate: 500,
                remaining: 400
            }
        );
        assert!(l.settle(a, 200));
        assert_eq!(l.spent(12), 200);
        assert_eq!(l.remaining(12), 800);
    }

    #[test]
    fn settling_over_the_estimate_never_makes_remaining_negative() {
        let mut l = fixed(100);
        let a = l.reserve(100, 0).unwrap();
        l.settle(a, 250);
        assert_eq!(l.remaining(1), 0);
        assert!(l.reserve(1, 1).is_err());
        assert_eq!(l.reserve(0, 2).map(|r| r.amount()), Ok(0));
    }

    #[test]
    fn fixed_windows_reset_at_the_boundary() {
        let mut l = fixed(100);
        let a = l.reserve(100, 999).unwrap();
        l.settle(a, 100);
        assert_eq!(l.remaining(999), 0);
        assert_eq!(l.remaining(1_000), 100);
        l.prune(1_000);
        assert_eq!(l.spent(999), 0);
    }

    #[test]
    fn sliding_windows_forget_gradually_and_open_reservations_always_count() {
        let mut l = Ledger::new(BudgetLimit {
            limit: 100,
            window: Window::Sliding { length_ms: 1_000 },
        });
        let a = l.reserve(40, 0).unwrap();
        l.settle(a, 40);
        let b = l.reserve(60, 500).unwrap();
        assert_eq!(l.remaining(999), 0);
        assert_eq!(l.remaining(1_000), 40);
        assert_eq!(l.remaining(5_000), 40);
        assert!(l.release(b));
        assert_eq!(l.remaining(5_000), 100);
    }

    #[test]
    fn a_reservation_settles_once() {
        let mut l = fixed(100);
        let a = l.reserve(10, 0).unwrap();
        let copy = Reservation {
            id: a.id,
            amount: a.amount,
        };
        assert!(l.settle(a, 10));
        assert!(!l.settle(copy, 10));
        assert_eq!(l.spent(0), 10);
    }

    #[test]
    fn tightest_scope() {
        let s = BudgetState(
            [("key:k".to_owned(), 5), ("tenant:t".to_owned(), 3)]
                .into_iter()
                .collect(),
        );
        assert_eq!(s.tightest(), Some(("tenant:t", 3)));
        assert_eq!(BudgetState::default().tightest(), None);
    }
}
