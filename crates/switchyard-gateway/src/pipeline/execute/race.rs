//! A race step: candidates started together, or each `hedge_ms` after the previous (and at
//! once when every running one has failed); the first good answer wins and the others are
//! cancelled: their futures are dropped, which closes their upstream connections and hands
//! their breaker permits back as cancelled. Each cancelled attempt is recorded with the input
//! cost it may have run up.

use super::{AttemptRecord, Exec, StepResult, attempt};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};
use switchyard_policy::Candidate;

type Running<'a> = FuturesUnordered<Pin<Box<dyn Future<Output = (usize, Outcome)> + Send + 'a>>>;
type Outcome = (StepResult, Option<AttemptRecord>);

/// Starts candidate `i`, numbered `before + i + 1` among the request's attempts.
fn start<'a>(
    exec: &'a Exec<'a>,
    candidates: &'a [Candidate],
    (i, before): (usize, usize),
    running: &mut Running<'a>,
    started: &mut [Option<Instant>],
) {
    started[i] = Some(Instant::now());
    let c = &candidates[i];
    running.push(Box::pin(async move {
        (i, attempt(exec, c, before + i + 1).await)
    }));
}

/// Runs one race step after `before` attempts; returns the winner (or the last error) and
/// every attempt's record.
pub(super) async fn run<'a>(
    exec: &'a Exec<'a>,
    candidates: &'a [Candidate],
    hedge_ms: Option<u64>,
    before: usize,
) -> (StepResult, Vec<AttemptRecord>) {
    let mut running: Running<'a> = FuturesUnordered::new();
    let mut started: Vec<Option<Instant>> = vec![None; candidates.len()];
    let mut done = vec![false; candidates.len()];
    let mut records = Vec::new();
    let mut last = None;
    let mut next = 0;
    let mut next_at = Instant::now();
    loop {
        let due = match hedge_ms {
            None => true,
            Some(_) => running.is_empty() || Instant::now() >= next_at,
        };
        if next < candidates.len() && due {
            start(exec, candidates, (next, before), &mut running, &mut started);
            next += 1;
            next_at = Instant::now() + Duration::from_millis(hedge_ms.unwrap_or(0));
            continue;
        }
        let more = next < candidates.len();
        let hedge = async {
            if more {
                tokio::time::sleep_until(next_at.into()).await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            finished = running.next() => {
                let Some((i, (result, record))) = finished else {
                    break;
                };
                done[i] = true;
                records.extend(record);
                match result {
                    Ok(win) => {
                        drop(running);
                        for (j, at) in started.iter().enumerate() {
                            if let (Some(at), false) = (at, done[j]) {
                                let target = candidates[j].target.clone();
                                records.push(AttemptRecord {
                                    estimated_cost: exec.input_cost(&target),
                                    target,
                                    error: None,
                                    latency: at.elapsed(),
                                    cancelled: true,
                                });
                            }
                        }
                        tracing::debug!(request_id = %exec.ctx.request_id, winner = %win.1.model, "race won");
                        return (Ok(win), records);
                    }
                    Err(e) => {
                        last = Some(e);
                        if running.is_empty() && !more {
                            break;
                        }
                    }
                }
            }
            () = hedge => {}
        }
    }
    let error = last.unwrap_or_else(|| {
        let target = candidates
            .first()
            .map(|c| c.target.clone())
            .unwrap_or_else(|| switchyard_policy::Target {
                provider: String::new(),
                model: String::new(),
                upstream_model: String::new(),
                region: None,
            });
        (
            switchyard_protocol::ProviderError::new(
                switchyard_protocol::ErrorKind::Transport,
                "the race had no candidate",
            ),
            target,
        )
    });
    (Err(error), records)
}
