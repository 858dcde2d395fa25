//! Unit tests of breaker transitions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;

fn breaker() -> Breaker {
    Breaker::new(BreakerConfig {
        failure_threshold: 3,
        cool_down_ms: 1_000,
        success_threshold: 2,
    })
}

fn fail(b: &mut Breaker, now: u64) {
    let p = b.acquire(now).unwrap();
    b.record(p, Outcome::Failure, now);
}

#[test]
fn opens_after_consecutive_failures_only() {
    let mut b = breaker();
    fail(&mut b, 0);
    fail(&mut b, 1);
    let p = b.acquire(2).unwrap();
    b.record(p, Outcome::Success, 2);
    fail(&mut b, 3);
    fail(&mut b, 4);
    assert_eq!(b.health(4), Health::Closed);
    fail(&mut b, 5);
    assert_eq!(b.health(5), Health::Open { retry_at_ms: 1_005 });
    assert!(b.acquire(1_004).is_none());
}

#[test]
fn half_open_lets_one_probe_through_and_closes_after_successes() {
    let mut b = breaker();
    b.trip(0);
    assert_eq!(
        b.health(1_000),
        Health::HalfOpen {
            probe_in_flight: false
        }
    );
    let probe = b.acquire(1_000).unwrap();
    assert!(probe.is_probe());
    assert!(b.acquire(1_001).is_none());
    assert_eq!(
        b.health(1_001),
        Health::HalfOpen {
            probe_in_flight: true
        }
    );
    b.record(probe, Outcome::Success, 1_002);
    let probe = b.acquire(1_003).unwrap();
    b.record(probe, Outcome::Success, 1_004);
    assert_eq!(b.health(1_004), Health::Closed);
    assert!(!b.acquire(1_005).unwrap().is_probe());
}

#[test]
fn a_failed_probe_reopens_and_a_cancelled_one_frees_the_slot() {
    let mut b = breaker();
    b.trip(0);
    let probe = b.acquire(1_000).unwrap();
    b.record(probe, Outcome::Cancelled, 1_001);
    let probe = b.acquire(1_002).unwrap();
    b.record(probe, Outcome::Failure, 1_003);
    assert_eq!(b.health(1_003), Health::Open { retry_at_ms: 2_003 });
}

#[test]
fn results_from_before_a_state_change_are_ignored() {
    let mut b = breaker();
    let old = b.acquire(0).unwrap();
    b.trip(1);
    let probe = b.acquire(1_001).unwrap();
    b.record(old, Outcome::Success, 1_002);
    assert_eq!(
        b.health(1_002),
        Health::HalfOpen {
            probe_in_flight: true
        }
    );
    b.record(probe, Outcome::Success, 1_003);
    assert_eq!(
        b.health(1_003),
        Health::HalfOpen {
            probe_in_flight: false
        }
    );
}

#[test]
fn a_probe_out_across_a_canary_trip_still_blocks_a_second_probe() {
    let mut b = breaker();
    b.trip(0);
    let probe = b.acquire(1_000).unwrap();
    b.trip(1_001);
    assert!(b.acquire(2_001).is_none());
    b.record(probe, Outcome::Success, 2_002);
    assert!(b.acquire(2_003).unwrap().is_probe());
}

#[test]
fn snapshot_defaults_to_closed() {
    let mut s = HealthSnapshot::default();
    s.0.insert("a/b".into(), Health::Open { retry_at_ms: 9 });
    assert_eq!(s.get("a/b"), Health::Open { retry_at_ms: 9 });
    assert_eq!(s.get("c/d"), Health::Closed);
}
