//! Unit tests of profile parsing and validation, one per contradiction.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::test_fixtures::{models, profile, profile_json, snapshot};
use crate::{BaseClass, DataClass, DataClasses, Node, Profile, ProfileError, RouteClass};
use serde_json::json;
use switchyard_protocol::ErrorKind;

fn errors_of(value: serde_json::Value) -> Vec<ProfileError> {
    let p: Profile = serde_json::from_value(value).unwrap();
    p.validate(&models()).unwrap_err().0
}

fn has(errors: &[ProfileError], path: &str, needle: &str) -> bool {
    errors
        .iter()
        .any(|e| e.path == path && e.message.contains(needle))
}

#[test]
fn the_example_profile_validates() {
    let s = snapshot();
    assert_eq!(s.id(), "default@3");
    assert!(s.digest().starts_with("fnv1a64:"));
    let eu = s.classes().parse("eu-strict").unwrap();
    assert_eq!(eu.base, BaseClass::ComplianceConstrained);
    let lc = s.classes().parse("latency-critical").unwrap();
    assert_eq!(s.classes().settings(&lc).unwrap().total_timeout_ms, 3_000);
    assert_eq!(s.slo()["latency-critical"].ttft_p95_ms, Some(800));
}

#[test]
fn routes_fall_back_to_the_base_class_then_default() {
    let s = snapshot();
    let eu = s.classes().parse("eu-strict").unwrap();
    assert_eq!(s.route("smart", &eu).unwrap().0, "eu-strict");
    let custom = RouteClass {
        name: "other".into(),
        base: BaseClass::ReasoningHeavy,
    };
    assert_eq!(s.route("smart", &custom).unwrap().0, "reasoning-heavy");
    let rh = RouteClass::builtin(BaseClass::ReasoningHeavy);
    let (key, route) = s.route("fast", &rh).unwrap();
    assert_eq!(key, "default");
    assert_eq!(route.nodes, [Node::Try("openai/gpt-4o-mini".into())]);
    assert!(route.fallback_on.contains(&ErrorKind::Timeout));
    assert!(!route.fallback_on.contains(&ErrorKind::BadRequest));
    assert!(s.route("nope", &rh).is_none());
}

#[test]
fn unknown_fields_are_refused() {
    let mut v = profile_json();
    v["colour"] = json!("blue");
    assert!(serde_json::from_value::<Profile>(v).is_err());
    let mut v = profile_json();
    v["aliases"]["fast"]["default"]["nodes"][0]["weight"] = json!(3);
    assert!(serde_json::from_value::<Profile>(v).is_err());
    let mut v = profile_json();
    v["classes"]["eu-strict"]["regoin"] = json!("eu");
    assert!(serde_json::from_value::<Profile>(v).is_err());
}

#[test]
fn an_alias_pointing_at_an_unknown_model_names_the_key() {
    let mut v = profile_json();
    v["aliases"]["fast"]["latency-critical"]["nodes"][1] = json!({"try": "openai/gpt-9"});
    let errs = errors_of(v);
    assert!(
        has(
            &errs,
            "aliases.fast.latency-critical.nodes[1].try",
            "unknown model \"openai/gpt-9\""
        ),
        "{errs:?}"
    );
}

#[test]
fn a_race_needs_two_candidates() {
    let mut v = profile_json();
    v["aliases"]["smart"]["reasoning-heavy"]["nodes"][0] = json!({"race": ["openai/gpt-4o"]});
    let errs = errors_of(v);
    assert!(
        has(
            &errs,
            "aliases.smart.reasoning-heavy.nodes[0].race",
            "at least 2 candidates, found 1"
        ),
        "{errs:?}"
    );
}

#[test]
fn a_fallback_cycle_is_refused() {
    let mut v = profile_json();
    v["aliases"]["fast"]["default"]["nodes"] =
        json!([{"try": "openai/gpt-4o-mini"}, {"alias": "smart"}]);
    let errs = errors_of(v);
    assert!(
        has(
            &errs,
            "aliases.fast.default.nodes[1].alias",
            "fallback cycle smart -> fast -> smart"
        ),
        "{errs:?}"
    );
    let mut v = profile_json();
    v["aliases"]["fast"]["default"]["nodes"] = json!([{"alias": "fast"}]);
    assert!(has(
        &errors_of(v),
        "aliases.fast.default.nodes[0].alias",
        "fallback cycle fast -> fast"
    ));
}

#[test]
fn a_compliance_class_needs_an_allowlisted_provider_in_its_region() {
    let mut v = profile_json();
    v["classes"]["eu-strict"]["region"] = json!("ap");
    let errs = errors_of(v);
    assert!(
        has(
            &errs,
            "classes.eu-strict.region",
            "no allowlisted provider in region \"ap\""
        ),
        "{errs:?}"
    );
    assert!(has(
        &errs,
        "aliases.smart.eu-strict",
        "no target of this route is allowlisted in region \"ap\""
    ));

    let mut v = profile_json();
    v["aliases"]["smart"]["compliance-constrained"]["nodes"] =
        json!([{"try": "anthropic/claude-haiku-4-5"}]);
    let errs = errors_of(v);
    assert!(
        has(
            &errs,
            "aliases.smart.compliance-constrained",
            "no target of this route is allowlisted"
        ),
        "{errs:?}"
    );
}

#[test]
fn a_compliance_class_cannot_drop_its_guarantees() {
    let mut v = profile_json();
    v["classes"]["eu-strict"]["allowlist_required"] = json!(false);
    assert!(has(
        &errors_of(v),
        "classes.eu-strict.allowlist_required",
        "always requires"
    ));
}

#[test]
fn class_settings_are_checked() {
    let mut v = profile_json();
    v["classes"]["latency-critical"]["attempt_timeout_ms"] = json!(5000);
    v["classes"]["fastest"] = json!({"hedge": {"mode": "race", "n": 1}});
    v["classes"]["Bad Name"] = json!({"inherits": "latency-critical"});
    v["classes"]["reasoning-heavy"] = json!({"inherits": "latency-critical"});
    v["classes"]["compliance-constrained"] = json!({"backoff": {"base_ms": 500, "cap_ms": 100}});
    let errs = errors_of(v);
    assert!(
        has(
            &errs,
            "classes.compliance-constrained.backoff.cap_ms",
            "at least base_ms (500)"
        ),
        "{errs:?}"
    );
    assert!(
        has(
            &errs,
            "classes.latency-critical.attempt_timeout_ms",
            "at most total_timeout_ms (3000)"
        ),
        "{errs:?}"
    );
    assert!(has(
        &errs,
        "classes.fastest.inherits",
        "must inherit one of"
    ));
    assert!(has(&errs, "classes.Bad Name", "lowercase"));
    assert!(has(
        &errs,
        "classes.reasoning-heavy.inherits",
        "cannot inherit"
    ));
}

#[test]
fn route_keys_nodes_allow_rules_and_slos_are_checked() {
    let mut v = profile_json();
    v["aliases"]["fast"]["fastest"] = json!({"nodes": [{"try": "openai/gpt-4o-mini"}]});
    v["aliases"]["fast"]["default"]["nodes"] = json!([{"try": "openai/gpt-4o-mini", "alias": "smart"}, {"try": "openai/o3", "hedge_ms": 5}]);
    v["aliases"]["openai/x"] = json!({"default": {"nodes": []}});
    v["allow"][0]["region"] = json!("us");
    v["allow"][1]["provider"] = json!("acme");
    v["slo"]["latency-critical"]["success_ratio"] = json!(99.5);
    v["slo"]["fastest"] = json!({});
    let errs = errors_of(v);
    assert!(
        has(
            &errs,
            "aliases.fast.fastest",
            "unknown route class \"fastest\""
        ),
        "{errs:?}"
    );
    assert!(has(
        &errs,
        "aliases.fast.default.nodes[0]",
        "exactly one of"
    ));
    assert!(has(&errs, "aliases.fast.default.nodes[1].hedge_ms", "race"));
    assert!(has(&errs, "aliases.openai/x", "no '/'"));
    assert!(has(
        &errs,
        "aliases.openai/x.default.nodes",
        "at least one node"
    ));
    assert!(has(
        &errs,
        "allow[0].region",
        "serves region(s) [eu], not \"us\""
    ));
    assert!(has(&errs, "allow[1].provider", "unknown provider \"acme\""));
    assert!(has(&errs, "slo.latency-critical.success_ratio", "(0, 1]"));
    assert!(has(&errs, "slo.fastest", "unknown route class"));
}

#[test]
fn allowlist_checks_every_data_class() {
    let s = snapshot();
    let eu = models()
        .get("anthropic-eu/claude-sonnet-4-5")
        .unwrap()
        .target
        .clone();
    assert_eq!(
        s.allowlist_refusal(&eu, DataClasses::only(DataClass::Pii)),
        None
    );
    assert_eq!(s.allowlist_refusal(&eu, DataClasses::EMPTY), None);
    let why = s
        .allowlist_refusal(
            &eu,
            DataClasses::only(DataClass::Pii).with(DataClass::Financial),
        )
        .unwrap();
    assert_eq!(
        why,
        "data class financial not allowed for provider anthropic-eu in region eu"
    );
}

#[test]
fn the_digest_follows_the_content() {
    let mut other = profile();
    other.version = 4;
    let a = snapshot();
    let b = other.validate(&models()).unwrap();
    assert_eq!(a.digest(), snapshot().digest());
    assert_ne!(a.digest(), b.digest());
}

#[test]
fn undeclared_requests_get_the_alias_then_profile_then_standard_class() {
    assert_eq!(snapshot().default_class("fast").name, "standard");
    let mut p = profile();
    p.default_class = Some("reasoning-heavy".into());
    p.alias_classes
        .insert("fast".into(), "latency-critical".into());
    let s = p.validate(&models()).unwrap();
    assert_eq!(s.default_class("fast").base, BaseClass::LatencyCritical);
    assert_eq!(s.default_class("smart").base, BaseClass::ReasoningHeavy);
    assert_eq!(s.default_class("openai/gpt-4o").name, "reasoning-heavy");

    p.default_class = Some("warp".into());
    p.alias_classes
        .insert("nope".into(), "latency-critical".into());
    let errs = p.validate(&models()).unwrap_err().0;
    assert!(has(&errs, "default_class", "unknown route class \"warp\""));
    assert!(has(&errs, "alias_classes.nope", "unknown alias"));
}

#[test]
fn the_standard_class_can_be_tuned_without_naming_a_base() {
    let mut v = profile_json();
    v["classes"]["standard"] = json!({ "total_timeout_ms": 90000, "attempt_timeout_ms": 60000 });
    let p: Profile = serde_json::from_value(v).unwrap();
    let s = p.validate(&models()).unwrap();
    let standard = s.classes().parse("standard").unwrap();
    let settings = s.classes().settings(&standard).unwrap();
    assert_eq!(settings.total_timeout_ms, 90_000);
    assert_eq!(settings.attempt_timeout_ms, 60_000);
    assert!(!settings.smallest_fallback);
}
