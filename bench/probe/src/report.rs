//! Turns samples and failures into the JSON object each mode prints: counts, rate and
//! percentiles in microseconds.

use crate::request::{Failure, Sample};
use serde_json::{Value, json};
use std::time::Duration;

/// The value at quantile `q` of sorted microsecond figures (nearest rank).
fn quantile(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted.get(rank - 1).copied().unwrap_or(0)
}

fn distribution(mut us: Vec<u64>) -> Value {
    us.sort_unstable();
    json!({
        "p50": quantile(&us, 0.50),
        "p90": quantile(&us, 0.90),
        "p99": quantile(&us, 0.99),
        "max": us.last().copied().unwrap_or(0),
    })
}

/// The summary of a load phase that ran for `elapsed`.
pub fn summary(samples: &[Sample], failures: &[Failure], elapsed: Duration) -> Value {
    let secs = elapsed.as_secs_f64().max(1e-9);
    let micros = |f: fn(&Sample) -> Duration| {
        samples
            .iter()
            .map(|s| f(s).as_micros() as u64)
            .collect::<Vec<_>>()
    };
    let count = |want: fn(&Failure) -> bool| failures.iter().filter(|f| want(f)).count();
    json!({
        "requests": samples.len(),
        "errors": failures.len(),
        "errors_status": count(|f| matches!(f, Failure::Status(_))),
        "errors_transport": count(|f| matches!(f, Failure::Transport)),
        "errors_timeout": count(|f| matches!(f, Failure::Timeout)),
        "seconds": secs,
        "rps": samples.len() as f64 / secs,
        "ttfb_us": distribution(micros(|s| s.ttfb)),
        "latency_us": distribution(micros(|s| s.total)),
    })
}
