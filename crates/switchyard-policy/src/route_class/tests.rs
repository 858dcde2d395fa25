//! Unit tests of route classes: shipped settings, overrides and parsing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use serde_json::json;

#[test]
fn latency_critical_leaves_room_for_one_fallback() {
    let s = BaseClass::LatencyCritical.defaults();
    assert!(s.total_timeout_ms <= 5_000);
    assert!(2 * s.attempt_timeout_ms <= s.total_timeout_ms);
    assert!(s.max_retries <= 1);
    assert!(s.smallest_fallback);
    assert_eq!(s.hedge, Hedge::Off);
}

#[test]
fn compliance_requires_region_and_allowlist() {
    let s = BaseClass::ComplianceConstrained.defaults();
    assert!(s.region_required && s.allowlist_required);
    let r = BaseClass::ReasoningHeavy.defaults();
    assert!(r.heavy_queue && r.hedge.width() >= 2 && r.cost_guard_usd.is_some());
}

#[test]
fn unknown_class_lists_the_known_ones() {
    let mut classes = RouteClasses::builtin();
    let eu = ClassOverrides {
        region: Some("eu".into()),
        ..ClassOverrides::default()
    };
    classes.insert(
        "eu-strict",
        BaseClass::ComplianceConstrained,
        eu.apply(BaseClass::ComplianceConstrained.defaults()),
    );
    let err = classes.parse("fastest").unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown route class \"fastest\"; known: latency-critical, reasoning-heavy, \
         compliance-constrained, eu-strict, standard"
    );
    let eu = classes.parse(" eu-strict ").unwrap();
    assert_eq!(eu.base, BaseClass::ComplianceConstrained);
    assert_eq!(classes.settings(&eu).unwrap().region.as_deref(), Some("eu"));
}

#[test]
fn header_wins_over_metadata() {
    let classes = RouteClasses::builtin();
    let meta = json!({"route_class": "reasoning-heavy"});
    let got = classes
        .from_request(Some("latency-critical"), Some(&meta))
        .unwrap();
    assert_eq!(got.unwrap().base, BaseClass::LatencyCritical);
    let got = classes.from_request(None, Some(&meta)).unwrap();
    assert_eq!(got.unwrap().base, BaseClass::ReasoningHeavy);
    assert_eq!(classes.from_request(Some(" "), None).unwrap(), None);
    assert_eq!(
        classes.from_request(None, Some(&json!({"route_class": 3}))),
        Err(RouteClassError::NotAString)
    );
    assert!(matches!(
        classes.from_request(None, Some(&json!({"route_class": "nope"}))),
        Err(RouteClassError::Unknown(_))
    ));
}

#[test]
fn overrides_replace_only_what_they_hold() {
    let o = ClassOverrides {
        total_timeout_ms: Some(2_500),
        hedge: Some(Hedge::Race { n: 3 }),
        ..ClassOverrides::default()
    };
    let s = o.apply(BaseClass::LatencyCritical.defaults());
    assert_eq!(s.total_timeout_ms, 2_500);
    assert_eq!(s.hedge.width(), 3);
    assert_eq!(s.attempt_timeout_ms, 1_800);
}

#[test]
fn hedge_serialises_with_a_mode_tag() {
    let h: Hedge = serde_json::from_value(json!({"mode": "delay", "after_ms": 300})).unwrap();
    assert_eq!(h, Hedge::Delay { after_ms: 300 });
    assert!(serde_json::from_value::<Hedge>(json!({"mode": "sometimes"})).is_err());
}
