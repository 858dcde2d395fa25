//! Property tests of breakers and budgets over generated interleavings: a breaker never lets
//! two probes through at once, and a ledger never goes negative nor overspends its limit.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use switchyard_policy::{
    Breaker, BreakerConfig, BudgetLimit, Health, Ledger, Outcome, Permit, Reservation, Window,
};

#[derive(Debug, Clone)]
enum BreakerOp {
    Acquire,
    Finish(usize, Outcome),
    Trip,
    Wait(u64),
}

fn breaker_op() -> impl Strategy<Value = BreakerOp> {
    let outcome = prop_oneof![
        Just(Outcome::Success),
        Just(Outcome::Failure),
        Just(Outcome::Cancelled)
    ];
    prop_oneof![
        3 => Just(BreakerOp::Acquire),
        3 => (any::<usize>(), outcome).prop_map(|(i, o)| BreakerOp::Finish(i, o)),
        1 => Just(BreakerOp::Trip),
        2 => (0u64..400).prop_map(BreakerOp::Wait),
    ]
}

#[derive(Debug, Clone)]
enum BudgetOp {
    Reserve(u64),
    Settle(usize, u64),
    Release(usize),
    Wait(u64),
}

fn budget_op() -> impl Strategy<Value = BudgetOp> {
    prop_oneof![
        3 => (0u64..400).prop_map(BudgetOp::Reserve),
        3 => (any::<usize>(), 0u64..=100).prop_map(|(i, pct)| BudgetOp::Settle(i, pct)),
        1 => any::<usize>().prop_map(BudgetOp::Release),
        2 => (0u64..300).prop_map(BudgetOp::Wait),
    ]
}

fn window() -> impl Strategy<Value = Window> {
    prop_oneof![
        (1u64..2_000).prop_map(|length_ms| Window::Fixed { length_ms }),
        (0u64..2_000).prop_map(|length_ms| Window::Sliding { length_ms }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn a_breaker_never_lets_two_probes_through(
        threshold in 1u32..4,
        successes in 1u32..3,
        cool_down in 0u64..500,
        ops in prop::collection::vec(breaker_op(), 1..200),
    ) {
        let mut b = Breaker::new(BreakerConfig {
            failure_threshold: threshold,
            cool_down_ms: cool_down,
            success_threshold: successes,
        });
        let mut now = 0u64;
        let mut out: Vec<Permit> = Vec::new();
        for op in ops {
            match op {
                BreakerOp::Acquire => {
                    let health = b.health(now);
                    let got = b.acquire(now);
                    match health {
                        Health::Open { .. } | Health::HalfOpen { probe_in_flight: true } => {
                            prop_assert!(got.is_none(), "{:?} let a request through", health);
                        }
                        Health::Closed => prop_assert!(got.is_some_and(|p| !p.is_probe())),
                        Health::HalfOpen { probe_in_flight: false } => {
                            prop_assert!(got.is_some_and(Permit::is_probe));
                        }
                    }
                    out.extend(got);
                }
                BreakerOp::Finish(i, outcome) if !out.is_empty() => {
                    let p = out.remove(i % out.len());
                    b.record(p, outcome, now);
                }
                BreakerOp::Finish(..) => {}
                BreakerOp::Trip => b.trip(now),
                BreakerOp::Wait(ms) => now += ms,
            }
            prop_assert!(out.iter().filter(|p| p.is_probe()).count() <= 1);
        }
    }

    #[test]
    fn consecutive_failures_open_a_closed_breaker(threshold in 1u32..6, cool_down in 1u64..500) {
        let mut b = Breaker::new(BreakerConfig { failure_threshold: threshold, cool_down_ms: cool_down, success_threshold: 1 });
        for n in 0..threshold {
            prop_assert_eq!(b.health(n.into()), Health::Closed);
            let p = b.acquire(n.into()).unwrap();
            b.record(p, Outcome::Failure, n.into());
        }
        let at = u64::from(threshold - 1);
        prop_assert_eq!(b.health(at), Health::Open { retry_at_ms: at + cool_down });
    }

    #[test]
    fn interleaved_reservations_never_overspend_and_never_go_negative(
        limit in 0u64..2_000,
        window in window(),
        ops in prop::collection::vec(budget_op(), 1..300),
    ) {
        let mut ledger = Ledger::new(BudgetLimit { limit, window });
        let mut now = 0u64;
        let mut open: Vec<Reservation> = Vec::new();
        for op in ops {
            match op {
                BudgetOp::Reserve(estimate) => {
                    let before = ledger.remaining(now);
                    match ledger.reserve(estimate, now) {
                        Ok(r) => open.push(r),
                        Err(e) => prop_assert!(e.estimate > before && e.remaining == before),
                    }
                }
                // Real costs never exceed the estimate: estimates use max_tokens.
                BudgetOp::Settle(i, pct) if !open.is_empty() => {
                    let r = open.remove(i % open.len());
                    let actual = r.amount() * pct / 100;
                    prop_assert!(ledger.settle(r, actual));
                }
                BudgetOp::Release(i) if !open.is_empty() => {
                    let r = open.remove(i % open.len());
                    prop_assert!(ledger.release(r));
                }
                BudgetOp::Settle(..) | BudgetOp::Release(..) => {}
                BudgetOp::Wait(ms) => {
                    now += ms;
                    ledger.prune(now);
                }
            }
            let held: u64 = open.iter().map(Reservation::amount).sum();
            prop_assert_eq!(ledger.reserved(), held);
            prop_assert!(ledger.spent(now) + ledger.reserved() <= limit);
            prop_assert_eq!(ledger.remaining(now), limit - ledger.spent(now) - ledger.reserved());
        }
    }

    #[test]
    fn underestimates_overspend_by_at_most_their_excess(
        limit in 0u64..2_000,
        window in window(),
        ops in prop::collection::vec(budget_op(), 1..300),
    ) {
        let mut ledger = Ledger::new(BudgetLimit { limit, window });
        let mut now = 0u64;
        let mut open: Vec<Reservation> = Vec::new();
        let mut excess = 0u64;
        for op in ops {
            match op {
                BudgetOp::Reserve(estimate) => open.extend(ledger.reserve(estimate, now).ok()),
                // Real costs up to three times the estimate.
                BudgetOp::Settle(i, pct) if !open.is_empty() => {
                    let r = open.remove(i % open.len());
                    let actual = r.amount() * pct * 3 / 100;
                    excess += actual.saturating_sub(r.amount());
                    ledger.settle(r, actual);
                }
                BudgetOp::Release(i) if !open.is_empty() => {
                    ledger.release(open.remove(i % open.len()));
                }
                BudgetOp::Settle(..) | BudgetOp::Release(..) => {}
                BudgetOp::Wait(ms) => now += ms,
            }
            prop_assert!(ledger.spent(now) + ledger.reserved() <= limit + excess);
            prop_assert!(ledger.remaining(now) <= limit);
        }
    }
}
