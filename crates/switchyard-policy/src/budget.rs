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
mod tests;
