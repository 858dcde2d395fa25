//! Micro-benchmarks of the policy plane on the request path: `decide()` per call (a 3-node
//! latency-critical tree, and a compliance decision with region and allowlist), and
//! classification throughput on a 32 KB prompt (clean, and with a few findings). Run with
//! `cargo bench -p switchyard-policy` (or `bench/run --micro`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/mod.rs"]
mod common;

use switchyard_policy::{
    BudgetState, DataClass, DataClasses, DecisionInput, Detectors, DetectorsConfig, HealthSnapshot,
    RequestSummary, classify, decide,
};
use switchyard_protocol::{ChatRequest, Message, Role};

fn main() {
    divan::main();
}

fn summary(model: &str) -> RequestSummary {
    RequestSummary {
        model: model.into(),
        estimated_input_tokens: 300,
        max_output_tokens: Some(256),
        stream: false,
        tools: false,
    }
}

#[divan::bench]
fn decide_latency_critical_3_nodes(bencher: divan::Bencher) {
    let profile = common::snapshot();
    let class = profile.classes().parse("latency-critical").unwrap();
    bencher.bench(|| {
        let input = DecisionInput {
            request: summary("fast"),
            route_class: class.clone(),
            data_classes: DataClasses::EMPTY,
            request_region: None,
            key_region: None,
            profile: &profile,
            budget: BudgetState::default(),
            health: HealthSnapshot::default(),
            now_ms: 1_700_000_000_000,
        };
        decide(divan::black_box(&input))
    });
}

#[divan::bench]
fn decide_compliance_eu(bencher: divan::Bencher) {
    let profile = common::snapshot();
    let class = profile.classes().parse("compliance-constrained").unwrap();
    bencher.bench(|| {
        let input = DecisionInput {
            request: summary("smart"),
            route_class: class.clone(),
            data_classes: DataClasses::only(DataClass::Pii),
            request_region: Some("eu".into()),
            key_region: None,
            profile: &profile,
            budget: BudgetState::default(),
            health: HealthSnapshot::default(),
            now_ms: 1_700_000_000_000,
        };
        decide(divan::black_box(&input))
    });
}

fn prompt_32k(seeded: bool) -> ChatRequest {
    let words = "route the request to the cheapest model that meets the latency budget ";
    let mut text = words.repeat(32 * 1024 / words.len() + 1);
    text.truncate(32 * 1024);
    if seeded {
        text.replace_range(
            0..60,
            "mail ann.lee@example.com, card 4111 1111 1111 1111 now ..",
        );
    }
    ChatRequest {
        model: "fast".into(),
        messages: vec![Message::text(Role::User, text)],
        ..serde_json::from_value(serde_json::json!({"model": "fast", "messages": []})).unwrap()
    }
}

#[divan::bench(args = [false, true])]
fn classify_32kb(bencher: divan::Bencher, seeded: bool) {
    let detectors = Detectors::new(&DetectorsConfig::default()).unwrap();
    let req = prompt_32k(seeded);
    bencher
        .counter(divan::counter::BytesCount::new(32 * 1024usize))
        .bench(|| classify(divan::black_box(&req), DataClasses::EMPTY, &detectors));
}
