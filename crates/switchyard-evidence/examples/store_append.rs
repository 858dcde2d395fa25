//! Measures the store's append path alone, without the writer, the queue or the producer:
//! `cargo run --release -p switchyard-evidence --example store_append -- [EVENTS] [STORE_URL]`
//! (default 200000 events into a temporary SQLite file). Events are chained up front, then
//! appended in batches of 300 (what the writer commits at a time under 32 concurrent
//! requests); prints events/s and the process CPU time the appends took (Linux), which is
//! steadier than wall time on a busy machine. The events are shaped like the gateway's: four
//! per request (admission, decision, attempt, outcome) with payloads of their usual sizes, and
//! time-ordered request ids.
#![allow(clippy::print_stdout)] // a measuring tool: its result is its output

use serde_json::json;
use std::time::Instant;
use switchyard_evidence::event::{Digest, Event};
use switchyard_evidence::{Draft, EventKind, open};

/// User + system CPU seconds of this process so far, from /proc (0 elsewhere).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // Fields after the command name: utime is the 12th, stime the 13th (clock ticks, 100/s).
    (ticks(11) + ticks(12)) / 100.0
}

/// splitmix64: well-spread bits from a counter.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let n: u64 = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(200_000);
    let dir = std::env::temp_dir().join(format!("switchyard-append-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let url = args
        .next()
        .unwrap_or_else(|| format!("sqlite://{}", dir.join("events.db").display()));
    let store = open(&url).await?;
    let stream = format!("append-{}", std::process::id());
    // The gateway's per-request events, at their usual sizes on the benchmark's plain path:
    // ~170, ~1,050, ~200 and ~450 bytes of JSON.
    let pad = |n: usize| json!({ "facts": "x".repeat(n) });
    let shapes = [
        (EventKind::Admission, pad(160)),
        (EventKind::Decision, pad(1040)),
        (EventKind::Attempt, pad(185)),
        (EventKind::Outcome, pad(445)),
    ];
    let started_ms = 1_790_000_000_000u64;
    let mut prev = Digest::GENESIS;
    let events: Vec<Event> = (1..=n)
        .map(|seq| {
            // Like the gateway's: 12 hex digits of milliseconds, then 20 random ones; about
            // 20 requests a millisecond.
            let request = seq / 4;
            let id = format!(
                "req_{:012x}{:020x}",
                started_ms + request / 20,
                mix(request) >> 16
            );
            let (kind, payload) = &shapes[(seq % 4) as usize];
            let draft = Draft::new(*kind, Some(&id), payload.clone());
            let e = Event::chain(&stream, seq, prev, draft);
            prev = e.hash;
            e
        })
        .collect();
    let (cpu, started) = (cpu_seconds(), Instant::now());
    for batch in events.chunks(300) {
        store.append(batch.to_vec()).await?;
    }
    let (wall, cpu) = (started.elapsed().as_secs_f64(), cpu_seconds() - cpu);
    println!(
        "{n} events appended in {wall:.2}s = {:.0} events/s, {cpu:.2} CPU s in this process ({:.1} µs/event)",
        n as f64 / wall,
        cpu * 1e6 / n as f64
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
