//! Closed-loop load: `concurrency` workers, each sending its next request when the last one
//! ends, for a fixed time. Requests that started during the warm-up are not counted.

use crate::request::{self, Failure, Sample, Target};
use std::time::{Duration, Instant};

/// Runs the load and returns what the measured part saw, and how long it lasted.
pub async fn closed_loop(
    target: Target,
    concurrency: usize,
    warmup: Duration,
    measure: Duration,
    limit: Duration,
) -> (Vec<Sample>, Vec<Failure>, Duration) {
    let client = request::client(concurrency);
    let begin = Instant::now();
    let measured_from = begin + warmup;
    let deadline = measured_from + measure;
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let client = client.clone();
        let target = target.clone();
        workers.spawn(async move {
            let mut samples = Vec::new();
            let mut failures = Vec::new();
            while Instant::now() < deadline {
                let started = Instant::now();
                let result = request::timed(&client, &target, limit).await;
                if started < measured_from {
                    continue;
                }
                match result {
                    Ok(sample) => samples.push(sample),
                    Err(failure) => failures.push(failure),
                }
            }
            (samples, failures)
        });
    }
    let mut samples = Vec::new();
    let mut failures = Vec::new();
    while let Some(joined) = workers.join_next().await {
        if let Ok((s, f)) = joined {
            samples.extend(s);
            failures.extend(f);
        }
    }
    // Requests that were in flight at the deadline still count, so the denominator is the
    // measured window plus their tail: the last completion.
    let last = samples
        .iter()
        .map(|s| s.started + s.total)
        .max()
        .unwrap_or(deadline)
        .max(deadline);
    (
        samples,
        failures,
        last.saturating_duration_since(measured_from),
    )
}
