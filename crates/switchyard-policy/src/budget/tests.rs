//! Unit tests of budget arithmetic over fixed and sliding windows.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

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
