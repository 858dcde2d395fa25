//! The JSON writer against serde_json's, on the two kinds of text the gateway writes on every
//! request: an upstream body (one long prompt) and an evidence payload (many short keys and
//! values, nested structs, options, numbers). Run with `cargo bench -p switchyard-protocol
//! --bench json`.

use serde::Serialize;
use std::collections::BTreeMap;
use switchyard_protocol::openai::ChatCompletionRequest;

fn main() {
    divan::main();
}

#[derive(Serialize)]
struct Target<'a> {
    provider: &'a str,
    model: &'a str,
    upstream_model: &'a str,
}

#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Step<'a> {
    Try {
        target: Target<'a>,
        estimated_cost: u64,
        probe: bool,
    },
}

#[derive(Serialize)]
struct Reason<'a> {
    model: &'a str,
    region: Option<&'a str>,
    included: bool,
    why: String,
}

#[derive(Serialize)]
struct Decision<'a> {
    profile: &'a str,
    route_class: BTreeMap<&'a str, &'a str>,
    requested: &'a str,
    route: Option<&'a str>,
    steps: Vec<Step<'a>>,
    fallback_on: Vec<&'a str>,
    total_ms: u64,
    attempt_ms: u64,
    deadline_ms: u64,
    max_retries: u32,
    region: Option<&'a str>,
    cost_cap: Option<u64>,
    heavy_queue: bool,
    redact_upstream: Vec<&'a str>,
    reasons: Vec<Reason<'a>>,
    notes: Vec<String>,
    input_digest: &'a str,
    decided_at_ms: u64,
}

#[derive(Serialize)]
struct Decided<'a> {
    data_classes: Vec<&'a str>,
    decision: Decision<'a>,
    decision_id: &'a str,
    outcome: &'a str,
    profile: &'a str,
    raised_by_classification: Option<u8>,
    requested: &'a str,
    route_class: &'a str,
    latency_ms: f64,
}

fn decided() -> Decided<'static> {
    let target = || Target {
        provider: "bench",
        model: "bench/nonstream",
        upstream_model: "bench/nonstream",
    };
    Decided {
        data_classes: vec![],
        decision: Decision {
            profile: "default@1",
            route_class: [("name", "standard"), ("base", "latency-critical")]
                .into_iter()
                .collect(),
            requested: "bench/nonstream",
            route: None,
            steps: vec![Step::Try {
                target: target(),
                estimated_cost: 0,
                probe: false,
            }],
            fallback_on: vec!["Timeout", "RateLimited", "Overloaded", "Upstream5xx"],
            total_ms: 300_000,
            attempt_ms: 120_000,
            deadline_ms: 1_796_587_159_143,
            max_retries: 1,
            region: None,
            cost_cap: None,
            heavy_queue: false,
            redact_upstream: vec![],
            reasons: vec![Reason {
                model: "bench/nonstream",
                region: None,
                included: true,
                why: "step 1 of 1, estimated cost at most $0.000000".to_owned(),
            }],
            notes: vec![],
            input_digest: "fnv1a64:15db17394c472d3f",
            decided_at_ms: 1_796_586_859_143,
        },
        decision_id: "dec_01a24cebea86f86104980987f9467a1a",
        outcome: "routed",
        profile: "default@1",
        raised_by_classification: None,
        requested: "bench/nonstream",
        route_class: "standard",
        latency_ms: 26.862,
    }
}

fn upstream_body() -> ChatCompletionRequest {
    let words = "route the request to the cheapest model that meets the latency budget ";
    let prompt: String = words.repeat(16).chars().take(1024).collect();
    let body = serde_json::json!({
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": prompt},
        ],
        "max_tokens": 256,
    });
    match serde_json::from_value(body) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("bench fixture does not parse: {e}");
            std::process::exit(1)
        }
    }
}

#[divan::bench]
fn evidence_payload_serde_json(bencher: divan::Bencher) {
    let v = decided();
    bencher.bench(|| serde_json::to_string(divan::black_box(&v)));
}

#[divan::bench]
fn evidence_payload_ours(bencher: divan::Bencher) {
    let v = decided();
    bencher.bench(|| switchyard_protocol::json::to_string(divan::black_box(&v)));
}

#[divan::bench]
fn upstream_body_serde_json(bencher: divan::Bencher) {
    let v = upstream_body();
    bencher.bench(|| serde_json::to_vec(divan::black_box(&v)));
}

#[divan::bench]
fn upstream_body_ours(bencher: divan::Bencher) {
    let v = upstream_body();
    bencher.bench(|| switchyard_protocol::json::to_string(divan::black_box(&v)));
}
