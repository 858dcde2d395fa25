//! Fixtures for the report tests: a store seeded with known events, and accessors.
#![allow(dead_code)]

pub use serde_json::{Value, json};
pub use std::collections::BTreeMap;
pub use std::sync::Arc;
pub use std::sync::atomic::{AtomicU32, Ordering};
pub use switchyard_evidence::event::{Digest, Draft, Event, EventKind};
pub use switchyard_evidence::report::{
    self, Figures, Objective, Percentiles, Presence, Report, ReportQuery, Slo, SloError, Verdict,
};
pub use switchyard_evidence::store::{Store, open};

pub const T: i64 = 1_000_000;

/// A fresh SQLite store; tests run in parallel, so each gets its own directory.
pub async fn store() -> Arc<dyn Store> {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "switchyard-report-{}-{}-{}",
        std::process::id(),
        switchyard_evidence::event::now_ms(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    open(&format!("sqlite://{}", dir.join("events.db").display()))
        .await
        .unwrap()
}

/// Appends chained events to one stream.
pub async fn append(store: &Arc<dyn Store>, stream: &str, rows: &[(i64, EventKind, &str, Value)]) {
    let mut prev = Digest::GENESIS;
    let mut events = Vec::new();
    for (i, (ts, kind, request, payload)) in rows.iter().enumerate() {
        let mut draft = Draft::new(*kind, Some(request), payload.clone());
        draft.ts_ms = *ts;
        let e = Event::chain(stream, i as u64 + 1, prev, draft);
        prev = e.hash;
        events.push(e);
    }
    store.append(events).await.unwrap();
}

pub fn attempt(model: &str, error: Option<&str>) -> Value {
    json!({"model": model, "provider": model.split('/').next(), "ok": error.is_none(),
           "error_kind": error, "latency_ms": 10.0})
}

pub const OPENAI: &str = "openai/gpt-4o-mini";
pub const GROQ: &str = "groq/llama-3.1-8b";
pub const HAIKU: &str = "anthropic/claude-haiku-4-5";
pub const LC: &str = "latency-critical";

/// The known data set, across two streams; the window `[T+50, T+1000)` holds r1…r9.
pub async fn seeded() -> Arc<dyn Store> {
    let s = store().await;
    let (o, a) = (EventKind::Outcome, EventKind::Attempt);
    let lc = |extra: Value| {
        let mut v = json!({"route_class": LC, "route": "fast", "model": OPENAI, "provider": "openai",
                           "status": 200, "attempts": 1, "abandoned": false});
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        v
    };
    append(
        &s,
        "node-a",
        &[
            // Before the window, with its attempt: counted only without a window.
            (T, a, "r0", attempt(OPENAI, None)),
            (T, o, "r0", lc(json!({"latency_ms": 5.0}))),
            // r1's attempt is before `since`, but r1 started then: it counts.
            (T + 5, a, "r1", attempt(OPENAI, None)),
            (
                T + 100,
                o,
                "r1",
                lc(json!({"latency_ms": 100.0, "ttft_ms": 40.0,
                "usage": {"input_tokens": 10, "output_tokens": 20}, "cost_usd": 0.125})),
            ),
            (T + 190, a, "r2", attempt(GROQ, Some("RateLimited"))),
            (T + 190, a, "r2", attempt(OPENAI, None)),
            (
                T + 200,
                o,
                "r2",
                lc(json!({"attempts": 2, "latency_ms": 300.0, "ttft_ms": 80.0,
                "usage": {"input_tokens": 30, "output_tokens": 40}, "cost_usd": 0.25})),
            ),
            // A stream that failed before its first token.
            (T + 290, a, "r3", attempt(OPENAI, Some("Upstream5xx"))),
            (T + 290, a, "r3", attempt(OPENAI, Some("Upstream5xx"))),
            (
                T + 300,
                o,
                "r3",
                lc(json!({"status": 502, "attempts": 2, "latency_ms": 500.0,
                "error_kind": "Upstream5xx", "usage": null, "cost_usd": null})),
            ),
        ],
    )
    .await;
    append(
        &s,
        "node-b",
        &[
            // The client left after the first token.
            (T + 390, a, "r4", attempt(OPENAI, None)),
            (
                T + 400,
                o,
                "r4",
                lc(json!({"latency_ms": 50.0, "ttft_ms": 20.0, "abandoned": true})),
            ),
            // A stream that broke after its 200, before its usage came: counted by the gateway.
            (T + 440, a, "r5", attempt(HAIKU, None)),
            (
                T + 450,
                o,
                "r5",
                lc(json!({"model": HAIKU, "provider": "anthropic",
                "latency_ms": 700.0, "ttft_ms": 60.0, "error_kind": "Transport",
                "usage": {"input_tokens": 5, "output_tokens": 6}, "cost_usd": 0.0625,
                "usage_source": "estimated", "tokenizer": "o200k_base (approximate)"})),
            ),
            // No route class: `default`. Refused before routing, then served, then rate limited.
            (
                T + 500,
                o,
                "r6",
                json!({"status": 404, "model": null, "attempts": 0,
                "latency_ms": 1.5, "code": "model_not_found", "abandoned": false}),
            ),
            (T + 590, a, "r7", attempt(OPENAI, None)),
            (
                T + 600,
                o,
                "r7",
                json!({"status": 200, "model": OPENAI, "attempts": 1,
                "latency_ms": 250.0, "ttft_ms": null, "cost_usd": 0.5,
                "usage": {"input_tokens": 100, "output_tokens": 50}, "abandoned": false}),
            ),
            (
                T + 700,
                o,
                "r8",
                json!({"status": 429, "attempts": 0, "latency_ms": 0.5}),
            ),
            // Abandoned before the first token: no TTFT, no success, no error.
            (T + 800, a, "r9", attempt(OPENAI, None)),
            (
                T + 900,
                o,
                "r9",
                json!({"route_class": "reasoning-heavy", "status": 200,
                "model": OPENAI, "attempts": 1, "latency_ms": 900.0, "abandoned": true,
                "unpriced": "openai/gpt-4o-mini has no price"}),
            ),
            // At `until`: outside.
            (T + 1000, o, "r10", lc(json!({"latency_ms": 1.0}))),
        ],
    )
    .await;
    s
}

pub fn slos() -> Vec<Slo> {
    vec![
        "latency-critical:ttft_p95_ms=800,success_rate=99.5%"
            .parse()
            .unwrap(),
        "latency-critical:ttft_p95_ms=800,latency_p95_ms=301"
            .parse()
            .unwrap(),
        "default:latency_p95_ms=250,success_rate=0.3"
            .parse()
            .unwrap(),
        "reasoning-heavy:ttft_p95_ms=1000".parse().unwrap(),
        "compliance-constrained:success_rate=0.99".parse().unwrap(),
    ]
}

pub fn window(until: i64) -> ReportQuery {
    ReportQuery {
        since_ms: Some(T + 50),
        until_ms: Some(until),
        slos: slos(),
    }
}

pub fn kinds(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, n)| ((*k).to_owned(), *n)).collect()
}

pub fn pct(samples: u64, p50: f64, p95: f64, p99: f64) -> Percentiles {
    Percentiles {
        samples,
        p50: Some(p50),
        p95: Some(p95),
        p99: Some(p99),
    }
}

pub fn class<'a>(r: &'a Report, name: &str) -> &'a report::ClassReport {
    r.classes.iter().find(|c| c.class == name).unwrap()
}

pub fn target<'a>(r: &'a Report, class_name: &str, t: &str) -> &'a Figures {
    &class(r, class_name)
        .targets
        .iter()
        .find(|x| x.target == t)
        .unwrap()
        .figures
}
