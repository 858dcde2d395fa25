//! Micro-benchmarks of evidence on the request path: chaining one outcome-sized event
//! (canonical encoding + BLAKE3 over it and the previous hash). Run with
//! `cargo bench -p switchyard-evidence` (or `bench/run --micro`).

use switchyard_evidence::event::{Digest, Draft, Event, EventKind};

fn main() {
    divan::main();
}

fn outcome() -> serde_json::Value {
    serde_json::json!({
        "decision_id": "dec_0123456789abcdef0123456789abcdef",
        "door": "chat", "route": "fast", "route_class": "latency-critical",
        "profile": "prod@3", "tenant": "acme", "status": 200,
        "model": "openai/gpt-4o-mini", "provider": "openai", "attempts": 1,
        "latency_ms": 412.25, "ttft_ms": 180.5,
        "usage": {"input_tokens": 312, "output_tokens": 128, "cached_input_tokens": 0,
                  "cache_write_tokens": 0, "reasoning_tokens": 0},
        "cost_usd": 0.0001236, "error_kind": null, "code": null, "param": null,
        "abandoned": false
    })
}

#[divan::bench]
fn chain_outcome_event(bencher: divan::Bencher) {
    let payload = outcome();
    bencher
        .with_inputs(|| {
            Draft::new(
                EventKind::Outcome,
                Some("req_0123456789abcdef"),
                payload.clone(),
            )
        })
        .bench_values(|draft| Event::chain("node-a", 42, Digest::GENESIS, draft));
}
