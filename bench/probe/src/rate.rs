//! Open-loop load at a fixed request rate, for the soak: a request is started every `1/rate`
//! seconds whether or not the earlier ones have finished, up to `max_in_flight` at once (past
//! that a tick is counted as skipped, which is an error of the system under test).

use crate::request::{self, Failure, Sample, Target};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::time::MissedTickBehavior;

/// What a fixed-rate run saw.
pub struct RateOutcome {
    pub samples: Vec<Sample>,
    pub failures: Vec<Failure>,
    pub skipped: u64,
    pub elapsed: Duration,
}

/// Runs `rate` requests per second for `length`, then waits for those in flight (each bounded
/// by `limit`).
pub async fn fixed_rate(
    target: Target,
    rate: f64,
    length: Duration,
    max_in_flight: usize,
    limit: Duration,
) -> RateOutcome {
    let client = request::client(max_in_flight);
    let results: Arc<Mutex<(Vec<Sample>, Vec<Failure>)>> = Arc::default();
    let gate = Arc::new(tokio::sync::Semaphore::new(max_in_flight.max(1)));
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate.max(0.001)));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let begin = Instant::now();
    let mut skipped = 0u64;
    let mut tasks = tokio::task::JoinSet::new();
    while begin.elapsed() < length {
        ticker.tick().await;
        let Ok(permit) = gate.clone().try_acquire_owned() else {
            skipped += 1;
            continue;
        };
        let (client, target, results) = (client.clone(), target.clone(), results.clone());
        tasks.spawn(async move {
            let result = request::timed(&client, &target, limit).await;
            drop(permit);
            if let Ok(mut r) = results.lock() {
                match result {
                    Ok(sample) => r.0.push(sample),
                    Err(failure) => r.1.push(failure),
                }
            }
        });
        // Reap finished tasks so the set does not grow over a long soak.
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
    let elapsed = begin.elapsed();
    let (samples, failures) = match Arc::try_unwrap(results) {
        Ok(m) => m.into_inner().unwrap_or_default(),
        Err(shared) => shared.lock().map(|r| r.clone()).unwrap_or_default(),
    };
    RateOutcome {
        samples,
        failures,
        skipped,
        elapsed,
    }
}
