//! Unit tests of `decide`, one per rule, against the example profile of the shared fixtures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::test_fixtures::snapshot;
use crate::{
    BaseClass, BudgetState, DataClass, DataClasses, Decision, DecisionInput, Health,
    HealthSnapshot, ProfileSnapshot, RefusalKind, RequestSummary, RouteClass, Step, decide,
};

fn input<'p>(p: &'p ProfileSnapshot, model: &str, class: &str) -> DecisionInput<'p> {
    DecisionInput {
        request: RequestSummary {
            model: model.to_owned(),
            estimated_input_tokens: 10_000,
            max_output_tokens: Some(1_000),
            stream: true,
            tools: false,
        },
        route_class: p.classes().parse(class).unwrap(),
        data_classes: DataClasses::EMPTY,
        request_region: None,
        key_region: None,
        profile: p,
        budget: BudgetState::default(),
        health: HealthSnapshot::default(),
        now_ms: 1_000_000,
    }
}

fn models(d: &Decision) -> Vec<Vec<&str>> {
    d.plan
        .steps
        .iter()
        .map(|s| {
            s.candidates()
                .iter()
                .map(|c| c.target.model.as_str())
                .collect()
        })
        .collect()
}

fn reason<'d>(reasons: &'d [crate::Reason], model: &str) -> &'d crate::Reason {
    reasons.iter().find(|r| r.model == model).unwrap()
}

fn open(models: &[&str]) -> HealthSnapshot {
    HealthSnapshot(
        models
            .iter()
            .map(|m| {
                (
                    (*m).to_owned(),
                    Health::Open {
                        retry_at_ms: 2_000_000,
                    },
                )
            })
            .collect(),
    )
}

#[test]
fn latency_critical_is_one_target_then_the_smallest_acceptable_fallback() {
    let p = snapshot();
    let d = decide(&input(&p, "fast", "latency-critical")).unwrap();
    assert_eq!(
        models(&d),
        [vec!["openai/gpt-4o-mini"], vec!["mistral/mistral-small"]]
    );
    assert_eq!((d.timeouts.total_ms, d.timeouts.attempt_ms), (3_000, 1_400));
    assert_eq!(d.timeouts.deadline_ms, 1_003_000);
    assert_eq!(d.max_retries, 1);
    assert_eq!(d.route.as_deref(), Some("fast.latency-critical"));
    assert!(!d.heavy_queue);
    let haiku = reason(&d.reasons, "anthropic/claude-haiku-4-5");
    assert!(!haiku.included);
    assert!(haiku.why.contains("beyond the retry cap"), "{}", haiku.why);
    assert_eq!(d.reasons.len(), 3);
    assert!(d.notes.iter().any(|n| n.contains("smallest model first")));
}

#[test]
fn an_open_primary_is_excluded_with_its_reason() {
    let p = snapshot();
    let mut i = input(&p, "fast", "latency-critical");
    i.health = open(&["openai/gpt-4o-mini"]);
    let d = decide(&i).unwrap();
    assert_eq!(models(&d)[0], ["anthropic/claude-haiku-4-5"]);
    assert_eq!(
        reason(&d.reasons, "openai/gpt-4o-mini").to_string(),
        "openai/gpt-4o-mini (us) excluded: circuit open until 2000000 ms"
    );
}

#[test]
fn half_open_targets_take_the_probe_unless_it_is_out() {
    let p = snapshot();
    let mut i = input(&p, "fast", "latency-critical");
    i.health.0.insert(
        "openai/gpt-4o-mini".into(),
        Health::HalfOpen {
            probe_in_flight: false,
        },
    );
    let d = decide(&i).unwrap();
    assert!(d.plan.steps[0].candidates()[0].probe);
    i.health.0.insert(
        "openai/gpt-4o-mini".into(),
        Health::HalfOpen {
            probe_in_flight: true,
        },
    );
    let d = decide(&i).unwrap();
    assert!(!reason(&d.reasons, "openai/gpt-4o-mini").included);
    i.health.0.insert(
        "openai/gpt-4o-mini".into(),
        Health::Open {
            retry_at_ms: 1_000_000,
        },
    );
    let d = decide(&i).unwrap();
    assert!(
        d.plan.steps[0].candidates()[0].probe,
        "cool-down over: probe"
    );
}

#[test]
fn reasoning_heavy_races_then_guards_cost_then_follows_the_alias() {
    let p = snapshot();
    let mut i = input(&p, "smart", "reasoning-heavy");
    i.budget.0.insert("tenant:acme".into(), 100_000);
    let d = decide(&i).unwrap();
    assert_eq!(
        d.plan.steps[0],
        Step::Race {
            candidates: d.plan.steps[0].candidates().to_vec(),
            hedge_ms: Some(2_000)
        }
    );
    assert_eq!(
        models(&d),
        [
            vec!["openai/gpt-4o", "anthropic/claude-sonnet-4-5"],
            vec!["mistral/mistral-large"],
            vec!["openai/gpt-4o-mini"]
        ]
    );
    assert_eq!(
        reason(&d.reasons, "openai/o3").why,
        "estimated cost $0.140000 exceeds the $0.100000 left in budget tenant:acme"
    );
    assert!(d.heavy_queue);
    assert_eq!(d.cost_cap, Some(100_000));
    assert!(
        d.plan
            .fallback_on
            .contains(&switchyard_protocol::ErrorKind::ContextTooLong)
    );
}

#[test]
fn compliance_stays_in_the_pinned_region_and_the_allowlist() {
    let p = snapshot();
    let mut i = input(&p, "smart", "compliance-constrained");
    i.data_classes = DataClasses::only(DataClass::Pii);
    i.key_region = Some("eu".into());
    let d = decide(&i).unwrap();
    assert_eq!(
        models(&d),
        [
            vec!["anthropic-eu/claude-sonnet-4-5"],
            vec!["mistral/mistral-large"]
        ]
    );
    assert_eq!(d.region.as_deref(), Some("eu"));
    assert_eq!(
        reason(&d.reasons, "openai/gpt-4o").to_string(),
        "openai/gpt-4o (us) excluded: outside region eu (serves us)"
    );
    assert!(d.notes.contains(&"region eu pinned by the key".to_owned()));

    i.data_classes = i.data_classes.with(DataClass::Financial);
    let d = decide(&i).unwrap();
    assert_eq!(models(&d), [vec!["mistral/mistral-large"]]);
    assert_eq!(
        reason(&d.reasons, "anthropic-eu/claude-sonnet-4-5").to_string(),
        "anthropic-eu/claude-sonnet-4-5 (eu) excluded: data class financial not allowed for \
         provider anthropic-eu in region eu"
    );
}

#[test]
fn compliance_fails_closed_403_when_nothing_is_allowlisted() {
    let p = snapshot();
    let mut i = input(&p, "smart", "compliance-constrained");
    i.data_classes = DataClasses::only(DataClass::Secret);
    i.request_region = Some("eu".into());
    let r = decide(&i).unwrap_err();
    assert_eq!((r.kind, r.status()), (RefusalKind::NotAllowlisted, 403));
    assert_eq!(
        r.message,
        "no provider for smart is allowlisted for data classes secret in region eu"
    );
    assert_eq!(r.reasons.len(), 3);
    assert!(r.reasons.iter().all(|r| !r.included));
}

#[test]
fn compliance_fails_closed_503_when_nothing_allowlisted_is_healthy() {
    let p = snapshot();
    let mut i = input(&p, "smart", "compliance-constrained");
    i.data_classes = DataClasses::only(DataClass::Pii);
    i.request_region = Some("eu".into());
    i.health = open(&["anthropic-eu/claude-sonnet-4-5", "mistral/mistral-large"]);
    let r = decide(&i).unwrap_err();
    assert_eq!((r.kind, r.status()), (RefusalKind::NoHealthyTarget, 503));
    assert!(r.message.contains("in region eu"), "{}", r.message);
}

#[test]
fn compliance_needs_a_region_and_regions_must_agree() {
    let p = snapshot();
    let i = input(&p, "smart", "compliance-constrained");
    assert_eq!(decide(&i).unwrap_err().status(), 400);
    let mut i = input(&p, "smart", "eu-strict");
    i.request_region = Some("us".into());
    let r = decide(&i).unwrap_err();
    assert_eq!(r.kind, RefusalKind::RegionConflict);
    assert_eq!(
        r.message,
        "the request asks for region us but the route class pins eu"
    );
}

#[test]
fn a_class_that_does_not_hedge_runs_a_race_one_at_a_time() {
    let p = snapshot();
    let mut i = input(&p, "smart", "eu-strict");
    i.data_classes = DataClasses::only(DataClass::Pii);
    let d = decide(&i).unwrap();
    assert_eq!(
        models(&d),
        [
            vec!["anthropic-eu/claude-sonnet-4-5"],
            vec!["mistral/mistral-large"]
        ]
    );
    assert!(
        d.notes.iter().any(|n| n.contains("runs 1 at a time")),
        "{:?}",
        d.notes
    );
    assert_eq!(d.region.as_deref(), Some("eu"));
}

#[test]
fn context_limits_of_class_and_model() {
    let p = snapshot();
    let mut i = input(&p, "fast", "latency-critical");
    i.request.estimated_input_tokens = 40_000;
    assert_eq!(decide(&i).unwrap_err().status(), 413);
    i.request.estimated_input_tokens = 30_000;
    i.request.max_output_tokens = Some(4_000);
    let d = decide(&i).unwrap();
    assert_eq!(
        reason(&d.reasons, "mistral/mistral-small").why,
        "context window 32000 < 34000 tokens needed"
    );
    assert_eq!(models(&d)[1], ["anthropic/claude-haiku-4-5"]);
}

#[test]
fn models_and_classes_must_be_known() {
    let p = snapshot();
    let r = decide(&input(&p, "fastest", "latency-critical")).unwrap_err();
    assert_eq!(r.status(), 404);
    assert!(r.message.contains("aliases: fast, smart"), "{}", r.message);
    let d = decide(&input(&p, "openai/o3", "reasoning-heavy")).unwrap();
    assert_eq!(models(&d), [vec!["openai/o3"]]);
    assert_eq!(d.route, None);
    let mut i = input(&p, "fast", "latency-critical");
    i.route_class = RouteClass {
        name: "fastest".into(),
        base: BaseClass::LatencyCritical,
    };
    let r = decide(&i).unwrap_err();
    assert_eq!(r.status(), 400);
    assert!(
        r.message.contains("known: latency-critical"),
        "{}",
        r.message
    );
}

#[test]
fn an_exhausted_budget_is_a_429_and_the_guardrail_excludes_dear_targets() {
    let p = snapshot();
    let mut i = input(&p, "fast", "latency-critical");
    i.budget.0.insert("key:k1".into(), 0);
    let r = decide(&i).unwrap_err();
    assert_eq!((r.kind, r.status()), (RefusalKind::BudgetExhausted, 429));
    let mut i = input(&p, "openai/o3", "reasoning-heavy");
    i.request.estimated_input_tokens = 190_000;
    i.request.max_output_tokens = Some(10_000);
    let r = decide(&i).unwrap_err();
    assert_eq!(r.kind, RefusalKind::BudgetExhausted);
    assert!(
        r.reasons[0].why.contains("class guardrail $2.000000"),
        "{}",
        r.reasons[0].why
    );
}

#[test]
fn same_input_same_decision_and_the_digest_tracks_the_input() {
    let p = snapshot();
    let i = input(&p, "smart", "reasoning-heavy");
    let a = decide(&i).unwrap();
    assert_eq!(a, decide(&i).unwrap());
    let mut later = i.clone();
    later.now_ms += 1;
    assert_ne!(a.input_digest, decide(&later).unwrap().input_digest);
    let json = serde_json::to_value(&a).unwrap();
    assert_eq!(json["profile"], "default@3");
    assert_eq!(json["plan"]["steps"][0]["kind"], "race");
}

#[test]
fn large_compliance_requests_go_to_the_heavy_pool() {
    let p = snapshot();
    let mut i = input(&p, "smart", "compliance-constrained");
    i.request_region = Some("eu".into());
    assert!(!decide(&i).unwrap().heavy_queue);
    i.request.estimated_input_tokens = 70_000;
    let d = decide(&i).unwrap();
    assert!(d.heavy_queue);
    assert!(d.notes.iter().any(|n| n.starts_with("heavy-context pool")));
    assert_eq!(d.backoff.cap_ms, 2_000);
}

#[test]
fn attempts_walk_the_steps_then_retry_the_last_within_the_cap() {
    let p = snapshot();
    let d = decide(&input(&p, "openai/o3", "reasoning-heavy")).unwrap();
    assert_eq!(d.max_retries, 2);
    let o3 = |n| {
        d.step_for_attempt(n)
            .map(|s| s.candidates()[0].target.model.as_str())
    };
    assert_eq!(
        (o3(0), o3(1), o3(2), o3(3)),
        (
            Some("openai/o3"),
            Some("openai/o3"),
            Some("openai/o3"),
            None
        )
    );
    let d = decide(&input(&p, "fast", "latency-critical")).unwrap();
    let at = |n| {
        d.step_for_attempt(n)
            .map(|s| s.candidates()[0].target.model.as_str())
    };
    assert_eq!(
        (at(0), at(1), at(2)),
        (
            Some("openai/gpt-4o-mini"),
            Some("mistral/mistral-small"),
            None
        )
    );
}
