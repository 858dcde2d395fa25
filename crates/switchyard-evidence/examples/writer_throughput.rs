//! Measures the batching writer's sustained rate: `cargo run --release -p switchyard-evidence
//! --example writer_throughput -- [EVENTS] [STORE_URL]` (default 200000 events into a temporary
//! SQLite file). Prints events/s and verifies the chain it wrote.
#![allow(clippy::print_stdout)] // a measuring tool: its result is its output

use serde_json::json;
use std::time::Instant;
use switchyard_evidence::verify::verify_stream;
use switchyard_evidence::{Draft, EventKind, EventLog, open};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let n: usize = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(200_000);
    let dir = std::env::temp_dir().join(format!("switchyard-throughput-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let url = args
        .next()
        .unwrap_or_else(|| format!("sqlite://{}", dir.join("events.db").display()));
    let store = open(&url).await?;
    let stream = format!("bench-{}", std::process::id());
    let (log, writer) = EventLog::start(store.clone(), &stream, 65_536).await?;
    // A payload the size of a real outcome event.
    let payload = json!({
        "decision_id": "dec_0123456789abcdef0123456789abcdef", "door": "chat", "route": "fast",
        "status": 200, "model": "openai/gpt-4o-mini", "provider": "openai", "attempts": 1,
        "latency_ms": 412.5, "ttft_ms": 88.1, "cost_usd": 0.000123, "abandoned": false,
        "usage": {"input_tokens": 812, "output_tokens": 96, "cached_input_tokens": 0}
    });
    let started = Instant::now();
    for i in 0..n {
        log.record(Draft::new(
            EventKind::Outcome,
            Some(&format!("req_{i}")),
            payload.clone(),
        ))
        .await;
    }
    let queued = started.elapsed();
    drop(log);
    writer.flushed().await;
    let total = started.elapsed();
    let verified = verify_stream(store.as_ref(), &stream).await?;
    let verify_time = started.elapsed() - total;
    println!(
        "{n} events: queued in {:.2}s, committed in {:.2}s = {:.0} events/s; chain {} ({} events verified in {:.2}s)",
        queued.as_secs_f64(),
        total.as_secs_f64(),
        n as f64 / total.as_secs_f64(),
        if verified.is_ok() { "intact" } else { "BROKEN" },
        verified.as_ref().map(|v| v.events).unwrap_or(0),
        verify_time.as_secs_f64(),
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
