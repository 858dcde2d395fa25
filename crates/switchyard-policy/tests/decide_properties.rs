//! Property tests of `decide` over generated requests, classes, data classes, regions, health,
//! budgets and allowlists: determinism, compliance never leaves its region or allowlist, and
//! every candidate has exactly one reason that matches the plan.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use proptest::prelude::*;
use std::collections::BTreeSet;
use switchyard_policy::{
    BudgetState, DataClass, DataClasses, DecisionInput, Health, HealthSnapshot, ProfileSnapshot,
    RequestSummary, decide,
};

const MODELS: [&str; 8] = [
    "openai/gpt-4o-mini",
    "openai/gpt-4o",
    "openai/o3",
    "anthropic/claude-haiku-4-5",
    "anthropic/claude-sonnet-4-5",
    "anthropic-eu/claude-sonnet-4-5",
    "mistral/mistral-large",
    "mistral/mistral-small",
];
const ASKED: [&str; 5] = [
    "fast",
    "smart",
    "openai/o3",
    "mistral/mistral-large",
    "nope",
];
const CLASSES: [&str; 4] = [
    "latency-critical",
    "reasoning-heavy",
    "compliance-constrained",
    "eu-strict",
];
const NOW: u64 = 1_000_000;

fn classes(bits: u8) -> DataClasses {
    DataClass::ALL
        .into_iter()
        .enumerate()
        .filter(|(i, _)| bits & (1 << i) != 0)
        .map(|(_, c)| c)
        .collect()
}

fn region() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        3 => Just(None),
        3 => Just(Some("eu".to_owned())),
        1 => Just(Some("us".to_owned())),
        1 => Just(Some("ap".to_owned())),
    ]
}

fn health() -> impl Strategy<Value = HealthSnapshot> {
    let one = prop_oneof![
        Just(Health::Closed),
        (NOW - 10..NOW + 10).prop_map(|t| Health::Open { retry_at_ms: t }),
        any::<bool>().prop_map(|b| Health::HalfOpen { probe_in_flight: b }),
    ];
    prop::collection::vec(prop::option::weighted(0.3, one), MODELS.len()).prop_map(|hs| {
        HealthSnapshot(
            MODELS
                .iter()
                .zip(hs)
                .filter_map(|(m, h)| h.map(|h| ((*m).to_owned(), h)))
                .collect(),
        )
    })
}

/// The example profile with each allow rule's data classes generated (never empty).
fn profile() -> impl Strategy<Value = ProfileSnapshot> {
    prop::collection::vec(1u8..32, 3).prop_map(|bits| {
        let mut p = common::profile();
        for (rule, b) in p.allow.iter_mut().zip(bits) {
            rule.classes = classes(b);
        }
        p.validate(&common::models()).unwrap()
    })
}

#[derive(Debug, Clone)]
struct Case {
    asked: &'static str,
    class: &'static str,
    data: u8,
    request_region: Option<String>,
    key_region: Option<String>,
    tokens: u64,
    max_output: Option<u64>,
    tools: bool,
    budget: Option<u64>,
    health: HealthSnapshot,
}

fn case() -> impl Strategy<Value = Case> {
    (
        (
            prop_oneof![8 => prop::sample::select(ASKED[..4].to_vec()), 1 => Just(ASKED[4])],
            prop::sample::select(CLASSES.to_vec()),
            prop_oneof![3 => 0u8..8, 1 => 0u8..32],
            region(),
            prop_oneof![2 => Just(None), 1 => region()],
        ),
        (
            prop_oneof![4 => 0u64..30_000, 1 => 0u64..60_000],
            prop::option::of(0u64..8_000),
            any::<bool>(),
            prop::option::of(0u64..400_000),
            health(),
        ),
    )
        .prop_map(
            |(
                (asked, class, data, request_region, key_region),
                (tokens, max_output, tools, budget, health),
            )| Case {
                asked,
                class,
                data,
                request_region,
                key_region,
                tokens,
                max_output,
                tools,
                budget,
                health,
            },
        )
}

fn input<'p>(p: &'p ProfileSnapshot, c: &Case) -> DecisionInput<'p> {
    DecisionInput {
        request: RequestSummary {
            model: c.asked.to_owned(),
            estimated_input_tokens: c.tokens,
            max_output_tokens: c.max_output,
            stream: false,
            tools: c.tools,
        },
        route_class: p.classes().parse(c.class).unwrap(),
        data_classes: classes(c.data),
        request_region: c.request_region.clone(),
        key_region: c.key_region.clone(),
        profile: p,
        budget: BudgetState(
            c.budget
                .map(|b| ("tenant:t".to_owned(), b))
                .into_iter()
                .collect(),
        ),
        health: c.health.clone(),
        now_ms: NOW,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn same_input_same_decision(p in profile(), c in case()) {
        let i = input(&p, &c);
        let again = input(&p, &c);
        prop_assert_eq!(i.digest(), again.digest());
        let a = decide(&i);
        let b = decide(&again);
        prop_assert_eq!(&a, &b);
        let json_a = serde_json::to_string(&a.as_ref().map_err(|r| r.message.clone())).unwrap();
        let json_b = serde_json::to_string(&b.as_ref().map_err(|r| r.message.clone())).unwrap();
        prop_assert_eq!(json_a, json_b);
    }

    #[test]
    fn compliance_never_leaves_the_region_or_the_allowlist(p in profile(), c in case(), pick in 0usize..8) {
        // Mostly the compliance classes on the alias that has compliance routes.
        let c = match pick {
            0..=2 => Case { class: "compliance-constrained", asked: "smart", ..c },
            3..=5 => Case { class: "eu-strict", asked: "smart", ..c },
            _ => c,
        };
        let i = input(&p, &c);
        let settings = p.classes().settings(&i.route_class).unwrap().clone();
        if let Ok(d) = decide(&i) {
            for cand in d.plan.targets() {
                if let Some(region) = &d.region {
                    prop_assert_eq!(cand.target.region.as_ref(), Some(region));
                }
                if settings.allowlist_required {
                    prop_assert!(d.region.is_some());
                    prop_assert_eq!(p.allowlist_refusal(&cand.target, i.data_classes), None);
                }
            }
        }
    }

    #[test]
    fn every_candidate_has_one_reason_that_matches_the_plan(p in profile(), c in case()) {
        let i = input(&p, &c);
        let (reasons, planned) = match decide(&i) {
            Ok(d) => {
                prop_assert!(d.plan.steps.len() <= 1 + d.max_retries as usize);
                prop_assert!(!d.plan.steps.is_empty());
                let planned: Vec<String> = d.plan.targets().map(|c| c.target.model.clone()).collect();
                (d.reasons, planned)
            }
            Err(r) => (r.reasons, Vec::new()),
        };
        let named: BTreeSet<&str> = reasons.iter().map(|r| r.model.as_str()).collect();
        prop_assert_eq!(named.len(), reasons.len(), "one reason per candidate");
        let unique: BTreeSet<&str> = planned.iter().map(String::as_str).collect();
        prop_assert_eq!(unique.len(), planned.len(), "no target twice in a plan");
        for r in &reasons {
            prop_assert!(!r.why.is_empty());
            prop_assert_eq!(r.included, unique.contains(r.model.as_str()), "{}", r);
        }
        prop_assert!(unique.iter().all(|m| named.contains(m)));
    }

    #[test]
    fn open_circuits_are_never_planned(p in profile(), c in case()) {
        let i = input(&p, &c);
        if let Ok(d) = decide(&i) {
            for cand in d.plan.targets() {
                match i.health.get(&cand.target.model) {
                    Health::Open { retry_at_ms } => prop_assert!(retry_at_ms <= NOW && cand.probe),
                    Health::HalfOpen { probe_in_flight } => prop_assert!(!probe_in_flight && cand.probe),
                    Health::Closed => prop_assert!(!cand.probe),
                }
            }
        }
    }
}
