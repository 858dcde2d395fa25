//! Phase 6, execute: carries out a `Decision`. It walks the plan's steps in order (a step is one
//! attempt or a race of parallel candidates), within the class's total time budget and each
//! attempt's own timeout, waits between attempts with jittered backoff that honours
//! `Retry-After`, moves on only on the error kinds the plan names, never starts an attempt the
//! cost cap cannot pay for, and takes a circuit-breaker permit for every attempt. Streams can
//! fall back until their first event has been received; after that they are committed.

mod race;

use super::spans::AttemptSpan;
use super::{Failure, RequestCtx};
use crate::error::ApiError;
use crate::health::{Breakers, now_ms};
use crate::registry::Registry;
use futures::StreamExt;
use std::time::{Duration, Instant};
use switchyard_policy::{Candidate, Decision, MicroUsd, Step, Target};
use switchyard_protocol::{
    ChatRequest, ChatResponse, EmbedRequest, EmbedResponse, ErrorKind, ProviderError, StreamEvent,
};
use switchyard_providers::{Call, EventStream};
use tracing::Instrument;

/// One upstream attempt, as the evidence plane records it.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    pub target: Target,
    pub error: Option<ErrorKind>,
    pub latency: Duration,
    /// A race candidate stopped because another won (or the race ended): its upstream call
    /// was cancelled, and what it may have cost is `estimated_cost`.
    pub cancelled: bool,
    /// The input-side cost the attempt may have run up before it was cancelled (micro-USD).
    pub estimated_cost: MicroUsd,
}

/// The operation an attempt performs.
#[derive(Clone, Copy)]
pub enum Operation<'r> {
    Chat(&'r ChatRequest),
    Stream(&'r ChatRequest),
    Embed(&'r EmbedRequest),
}

/// What a successful attempt produced.
pub enum Output {
    Chat(ChatResponse),
    /// The first event (already received) and the rest of the stream.
    Stream(StreamEvent, EventStream),
    Embed(EmbedResponse),
}

/// A successful request: the output (the executor's, then the answer the record phase made of
/// it), the target that served it, and every attempt made.
pub struct Served<O = Output> {
    pub output: O,
    pub target: Target,
    pub attempts: Vec<AttemptRecord>,
}

/// What an attempt needs besides its candidate.
pub struct Exec<'a> {
    pub registry: &'a Registry,
    pub http: &'a reqwest::Client,
    pub breakers: &'a std::sync::Arc<Breakers>,
    pub ctx: &'a RequestCtx,
    pub decision: &'a Decision,
    pub op: Operation<'a>,
    /// The pinned profile, for the facts of cancelled candidates.
    pub profile: &'a switchyard_policy::ProfileSnapshot,
    /// The request's estimated input tokens.
    pub input_tokens: u64,
}

impl Exec<'_> {
    /// What a cancelled attempt at `target` may have cost: its input, read in full.
    pub(crate) fn input_cost(&self, target: &Target) -> MicroUsd {
        self.profile
            .models()
            .facts(&target.model)
            .map_or(0, |f| f.estimate(self.input_tokens, Some(0)))
    }
}

/// How one step ended.
pub(crate) type StepResult = Result<(Output, Target), (ProviderError, Target)>;

/// A stable seed for backoff jitter from the request id.
fn seed_of(request_id: &str) -> u64 {
    let hash = blake3::hash(request_id.as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&hash.as_bytes()[..8]);
    u64::from_le_bytes(bytes)
}

/// Runs the decision's plan until an attempt succeeds, an error the plan does not fall back
/// on ends it, or its retries, time budget or cost cap are spent; a target whose model id its
/// family refuses ends it before the first attempt.
pub async fn run(exec: &Exec<'_>) -> Result<Served, Failure> {
    let decision = exec.decision;
    let ctx = exec.ctx;
    let seed = seed_of(&ctx.request_id);
    let mut attempts = Vec::new();
    let mut last: Option<(ProviderError, Target)> = None;
    let mut committed: MicroUsd = 0;
    // An id its family refuses is the client's bad request: the request ends before any
    // attempt, so nothing is sent, no breaker hears of it and no fallback stands in for it.
    for c in decision.plan.targets() {
        if let Err(error) = exec.registry.check_model(&c.target) {
            return Err(Failure::from(error));
        }
    }
    let mut n = 0usize;
    while let Some(step) = decision.step_for_attempt(n) {
        if n > 0 {
            // `Retry-After` binds only a retry of the target that sent it; one asking for a
            // longer wait than the class's backoff cap is answered to the client at once
            // (with its Retry-After) instead of holding the request.
            let retry_after = last
                .as_ref()
                .filter(|(_, t)| step.candidates().iter().any(|c| &c.target == t))
                .and_then(|(e, _)| e.retry_after)
                .map(|d| d.as_millis() as u64);
            if retry_after.is_some_and(|ms| ms > decision.backoff.cap_ms) {
                tracing::info!(request_id = %ctx.request_id, "the upstream asks to wait longer than the class allows: no retry");
                break;
            }
            let wait =
                Duration::from_millis(decision.backoff.delay_ms(n as u32, seed, retry_after));
            if Instant::now() + wait >= ctx.deadline {
                tracing::info!(request_id = %ctx.request_id, wait_ms = wait.as_millis() as u64, "no time left for another attempt");
                break;
            }
            tokio::time::sleep(wait).await;
        }
        let cost: MicroUsd = step.candidates().iter().map(|c| c.estimated_cost).sum();
        if n > 0
            && let Some(cap) = decision.cost_cap
            && committed.saturating_add(cost) > cap
        {
            tracing::info!(request_id = %ctx.request_id, cap, committed, "cost cap reached: no further attempt");
            break;
        }
        committed = committed.saturating_add(cost);
        n += 1;
        let (result, records) = match step {
            Step::Try(c) => {
                let (result, record) = attempt(exec, c, attempts.len() + 1).await;
                (result, record.into_iter().collect())
            }
            Step::Race {
                candidates,
                hedge_ms,
            } => race::run(exec, candidates, *hedge_ms, attempts.len()).await,
        };
        attempts.extend(records);
        match result {
            Ok((output, target)) => {
                return Ok(Served {
                    output,
                    target,
                    attempts,
                });
            }
            Err((error, target)) => {
                let fall_back = decision.plan.fallback_on.contains(&error.kind);
                last = Some((error, target));
                if !fall_back {
                    break;
                }
            }
        }
    }
    let error = match last {
        Some((error, target)) => ApiError::Upstream {
            provider: target.provider,
            error,
        },
        None => ApiError::Upstream {
            provider: decision
                .plan
                .targets()
                .next()
                .map(|c| c.target.provider.clone())
                .unwrap_or_default(),
            error: ProviderError::timeout(ctx.deadline.saturating_duration_since(ctx.started)),
        },
    };
    Err(Failure::after(error, attempts))
}

/// One attempt at one candidate: a breaker permit, the attempt timeout (within the request's
/// deadline), the call, and the outcome handed back to the breaker. No record when the circuit
/// was open (no request left the gateway). `n` numbers the attempt (1-based) in its trace span.
pub(crate) async fn attempt(
    exec: &Exec<'_>,
    c: &Candidate,
    n: usize,
) -> (StepResult, Option<AttemptRecord>) {
    let target = &c.target;
    let Some(upstream) = exec.registry.upstream(&target.provider) else {
        let e = ProviderError::new(
            ErrorKind::Transport,
            format!("provider {} has no adapter in this build", target.provider),
        );
        return (Err((e, target.clone())), None);
    };
    let Some(permit) = exec.breakers.acquire(&target.model, now_ms()) else {
        let e = ProviderError::new(
            ErrorKind::Overloaded,
            format!("the circuit of {} is open", target.model),
        );
        return (Err((e, target.clone())), None);
    };
    let started = Instant::now();
    let remaining = exec.ctx.deadline.saturating_duration_since(started);
    let timeout = Duration::from_millis(exec.decision.timeouts.attempt_ms)
        .min(upstream.timeout)
        .min(remaining);
    if timeout.is_zero() {
        drop(permit);
        return (
            Err((ProviderError::timeout(Duration::ZERO), target.clone())),
            None,
        );
    }
    let call = Call {
        http: exec.http,
        endpoint: &upstream.endpoint,
        model: &target.upstream_model,
        timeout,
    };
    // Dropped unfinished when a race is won by another candidate: the span says cancelled.
    let trace = AttemptSpan::start(exec.ctx, n, target);
    let result = match tokio::time::timeout(timeout, once(upstream, call, exec.op))
        .instrument(trace.span().clone())
        .await
    {
        Ok(r) => r,
        Err(_) => Err(ProviderError::timeout(timeout)),
    };
    let error = result.as_ref().err().map(|e| e.kind);
    permit.finish(error);
    if let Err(e) = &result {
        trace.span().in_scope(|| {
            tracing::warn!(
                request_id = %exec.ctx.request_id,
                target = %target.model,
                kind = e.kind.as_str(),
                status = e.status,
                "upstream attempt failed"
            );
        });
    }
    trace.finish(error);
    let record = AttemptRecord {
        target: target.clone(),
        error,
        latency: started.elapsed(),
        cancelled: false,
        estimated_cost: 0,
    };
    let result = match result {
        Ok(output) => Ok((output, target.clone())),
        Err(e) => Err((e, target.clone())),
    };
    (result, Some(record))
}

async fn once(
    upstream: &crate::registry::Upstream,
    call: Call<'_>,
    op: Operation<'_>,
) -> Result<Output, ProviderError> {
    match op {
        Operation::Chat(req) => upstream.adapter.chat(call, req).await.map(Output::Chat),
        Operation::Embed(req) => upstream.adapter.embed(call, req).await.map(Output::Embed),
        Operation::Stream(req) => {
            let mut stream = upstream.adapter.chat_stream(call, req).await?;
            match stream.next().await {
                Some(Ok(first)) => Ok(Output::Stream(first, stream)),
                Some(Err(e)) => Err(e),
                None => Err(ProviderError::new(
                    ErrorKind::MalformedReply,
                    "the upstream stream ended before its first event",
                )),
            }
        }
    }
}
