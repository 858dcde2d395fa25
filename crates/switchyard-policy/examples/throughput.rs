//! Measures classification and redaction throughput on a 32 KB prompt: clean, clean with one
//! line of PII, and full of PII (a finding every ~34 bytes).
//! Run with `cargo run --release -p switchyard-policy --example throughput`; a report, not a test.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};
use switchyard_policy::{DataClasses, Detectors, RedactionPolicy, classify, redact_text};
use switchyard_protocol::{ChatRequest, Message, Role};

const SIZE: usize = 32 * 1024;

const CLEAN: &[&str] = &[
    "Please review the following design notes and suggest improvements to the retry logic. ",
    "The service handles about 1,200 requests per second at p95 latency of 180 ms on 4 cores. ",
    "We upgraded from version 1.2.3 to 2.0.0-rc.1 on 2024-03-15 and saw fewer timeouts. ",
    "fn backoff(attempt: u32) -> Duration { Duration::from_millis(100 * 2u64.pow(attempt)) }\n",
    "Ticket ORD-2023-000123 tracks the migration; commit 3f9a2c4e fixed the race in the pool. ",
    "Le système traite les requêtes rapidement, même avec des caractères accentués. ",
    "Summarise the trade-offs between hedging and retries for reasoning-heavy workloads.\n",
];

const DIRTY: &[&str] = &[
    "Contact jane.doe@example.com or +44 20 7946 0958 about invoice 42. ",
    "Card 4111 1111 1111 1111, IBAN DE89 3704 0044 0532 0130 00, SSN 123-45-6789. ",
    "export OPENAI_API_KEY=sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z and AKIAIOSFODNN7EXAMPLE\n",
    "Authorization: Bearer abc123DEF456ghi789JKL0 then call 555-123-4567 tomorrow. ",
    "The weather is fine and the meeting moved to Thursday afternoon. ",
];

/// About 32 KB of `pieces` repeated, ending with `tail`.
fn prompt(pieces: &[&str], tail: &str) -> String {
    let mut out = String::with_capacity(SIZE + 256);
    for piece in pieces.iter().cycle() {
        if out.len() + piece.len() + tail.len() > SIZE {
            break;
        }
        out.push_str(piece);
    }
    out.push_str(tail);
    out
}

/// Runs `f` in 7 rounds of half a second and returns the median MB/s over `bytes` per call
/// (the machine is shared, so one round can be slowed by others).
fn rate(bytes: usize, mut f: impl FnMut()) -> f64 {
    for _ in 0..20 {
        f();
    }
    let mut rounds: Vec<f64> = (0..7)
        .map(|_| {
            let start = Instant::now();
            let mut runs = 0u32;
            while start.elapsed() < Duration::from_millis(500) {
                f();
                runs += 1;
            }
            (bytes as f64 * f64::from(runs)) / start.elapsed().as_secs_f64() / 1e6
        })
        .collect();
    rounds.sort_by(f64::total_cmp);
    rounds[rounds.len() / 2]
}

fn main() {
    let detectors = Detectors::builtin().expect("built-in detectors compile");
    let policy = RedactionPolicy::default();
    let cases = [
        ("clean", prompt(CLEAN, "")),
        ("a few", prompt(CLEAN, DIRTY[0])),
        ("pii", prompt(DIRTY, "")),
    ];
    for (name, text) in cases {
        let request = ChatRequest {
            model: "m".to_owned(),
            messages: vec![Message::text(Role::User, text.clone())],
            ..ChatRequest::default()
        };
        let findings = classify(&request, DataClasses::EMPTY, &detectors)
            .findings
            .len();
        let classify_rate = rate(text.len(), || {
            black_box(classify(
                black_box(&request),
                DataClasses::EMPTY,
                &detectors,
            ));
        });
        let redact_rate = rate(text.len(), || {
            black_box(redact_text(black_box(&text), &detectors, &policy));
        });
        println!(
            "{name:>5}: {} bytes, {findings} findings; classify {classify_rate:.0} MB/s, redact {redact_rate:.0} MB/s",
            text.len()
        );
    }
}
