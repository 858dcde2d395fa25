//! Paced load at a fixed request rate, for the soak: `workers` connections, each sending one
//! request every `workers / rate` seconds on its own schedule (staggered so the whole is even).
//! A worker whose request outlasted its slot starts the next at once and counts the slots it
//! missed, so an overloaded system shows as missed slots instead of a silently lower rate.

use crate::request::{self, Failure, Sample, Target};
use std::time::{Duration, Instant};

/// What a fixed-rate run saw.
pub struct RateOutcome {
    pub samples: Vec<Sample>,
    pub failures: Vec<Failure>,
    pub missed: u64,
    pub elapsed: Duration,
}

/// Runs `rate` requests per second for `length` over `workers` connections.
pub async fn fixed_rate(
    target: Target,
    rate: f64,
    length: Duration,
    workers: usize,
    limit: Duration,
) -> RateOutcome {
    let workers = workers.max(1);
    let client = request::client(workers);
    let period = Duration::from_secs_f64(workers as f64 / rate.max(0.001));
    let begin = Instant::now();
    let deadline = begin + length;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..workers {
        let (client, target) = (client.clone(), target.clone());
        let mut next = begin + period.mul_f64(i as f64 / workers as f64);
        tasks.spawn(async move {
            let (mut samples, mut failures, mut missed) = (Vec::new(), Vec::new(), 0u64);
            while next < deadline {
                tokio::time::sleep_until(next.into()).await;
                match request::timed(&client, &target, limit).await {
                    Ok(sample) => samples.push(sample),
                    Err(failure) => failures.push(failure),
                }
                next += period;
                let now = Instant::now();
                if now > next {
                    let behind = (now - next).as_secs_f64() / period.as_secs_f64();
                    missed += behind.ceil() as u64;
                    next = now;
                }
            }
            (samples, failures, missed)
        });
    }
    let mut out = RateOutcome {
        samples: Vec::new(),
        failures: Vec::new(),
        missed: 0,
        elapsed: Duration::ZERO,
    };
    while let Some(joined) = tasks.join_next().await {
        if let Ok((s, f, m)) = joined {
            out.samples.extend(s);
            out.failures.extend(f);
            out.missed += m;
        }
    }
    out.elapsed = begin.elapsed();
    out
}
