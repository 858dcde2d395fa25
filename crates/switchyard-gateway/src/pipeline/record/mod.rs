//! Phase 7, record: how a request's end is accounted for, in the same steps for a whole
//! answer, a failure and a stream's end. Its payloads are kept when its policy says so, its
//! attempts and its outcome become events ([`events`] only drafts them), [`settle`] gives back
//! what the request held (the key's token rate, settled with the real usage; the budget hold,
//! settled with the real cost) and [`publish`] reports it (metrics, the request span). A
//! request ends in exactly one outcome: an answer withheld because its durable commit failed
//! is recorded once, as what the log will hold.

pub mod estimate;
pub mod events;
pub mod stream;

pub use estimate::UsageSource;

use super::execute::{Output, Served};
use super::prepare::Prepared;
use super::{Answer, AttemptRecord, Failure, Request, RequestCtx};
use crate::admission::Admission;
use crate::artifacts::Owner;
use crate::error::ApiError;
use crate::state::AppState;
use crate::traces::attr;
use std::time::Duration;
use switchyard_evidence::EventLog;
use switchyard_evidence::pricing::Price;
use switchyard_evidence::telemetry::{self, Observation};
use switchyard_policy::Target;
use switchyard_protocol::{ErrorKind, Usage};

/// How a request ended, for its outcome event, its settlement and its metrics.
#[derive(Debug, Clone, Default)]
pub struct Ending {
    pub status: u16,
    pub target: Option<Target>,
    pub attempts: usize,
    pub usage: Option<Usage>,
    /// Whether the provider reported the usage or the gateway counted it.
    pub usage_source: Option<UsageSource>,
    pub price: Option<Price>,
    pub ttft: Option<Duration>,
    pub error: Option<ErrorKind>,
    /// The client's error code (`model_not_found`, …) and parameter, never its message.
    pub code: Option<String>,
    pub param: Option<String>,
    /// The client went away before the answer was complete.
    pub abandoned: bool,
    /// Cost beyond the serving attempt's usage: cancelled hedges (USD).
    pub extra_cost_usd: f64,
    /// It was served by a model nothing prices: its cost is unknown, never zero.
    pub unpriced: bool,
}

impl Ending {
    /// The ending of a request that failed with `error` after `attempts` attempts.
    pub fn failed(error: &ApiError, attempts: usize) -> Self {
        let body = error.openai_body();
        Ending {
            status: error.status().as_u16(),
            attempts,
            error: match error {
                ApiError::Upstream { error, .. } => Some(error.kind),
                _ => None,
            },
            code: body.error.code.or(Some(body.error.kind)),
            param: body.error.param,
            ..Ending::default()
        }
    }

    /// The ending of a request served by `target` after `attempts`, before its usage is known.
    pub fn served(ctx: &RequestCtx, target: &Target, attempts: &[AttemptRecord]) -> Self {
        let price = ctx.live.registry.price(target);
        Ending {
            status: 200,
            target: Some(target.clone()),
            attempts: attempts.len(),
            unpriced: price.is_none(),
            price,
            extra_cost_usd: cancelled_cost(attempts),
            ..Ending::default()
        }
    }

    /// This ending with its usage, and where that usage comes from.
    pub fn with_usage(self, usage: Usage, source: UsageSource) -> Self {
        Ending {
            usage: Some(usage),
            usage_source: Some(source),
            ..self
        }
    }

    /// What the request cost in USD, when its usage and price are known (cancelled hedges
    /// included).
    pub fn cost_usd(&self) -> Option<f64> {
        match (&self.usage, &self.price) {
            (Some(u), Some(p)) => Some(p.cost(u) + self.extra_cost_usd),
            _ if self.extra_cost_usd > 0.0 => Some(self.extra_cost_usd),
            _ => None,
        }
    }
}

/// What the cancelled attempts (hedges that lost) may have cost, in USD.
pub fn cancelled_cost(attempts: &[AttemptRecord]) -> f64 {
    attempts
        .iter()
        .filter(|a| a.cancelled)
        .map(|a| a.estimated_cost as f64 / 1_000_000.0)
        .sum()
}

/// Gives back what the request held: the tokens charged to its key at admission are settled
/// with the real usage, and its budget hold with the real cost (a served answer of unknown
/// cost is charged its whole hold; a failure, what it cost).
pub fn settle(ctx: &RequestCtx, admission: &Admission, ending: &Ending) {
    if let (Some(principal), Some(usage)) = (&ctx.principal, &ending.usage) {
        let used = usage.input_tokens + usage.output_tokens;
        admission.settle_tokens(principal, ctx.charged_tokens, used);
    }
    if let Some(hold) = &ctx.budget {
        let known = ending.cost_usd().map(switchyard_policy::budget::micro_usd);
        hold.settle(known.or((ending.status >= 400).then_some(0)));
    }
}

/// Reports the end: the request's metrics and its span's closing attributes.
pub fn publish(ctx: &RequestCtx, ending: &Ending) {
    end_span(&ctx.span, ending);
    telemetry::observe(&Observation {
        operation: ctx.door.operation(),
        route_class: &ctx.route_class,
        tenant: &ctx.tenant,
        key: ctx
            .principal
            .as_ref()
            .and_then(|p| p.key_id.as_deref())
            .unwrap_or("none"),
        request_model: if ctx.requested_model.is_empty() {
            "none"
        } else {
            &ctx.requested_model
        },
        provider: ending.target.as_ref().map(|t| t.provider.as_str()),
        response_model: ending.target.as_ref().map(|t| t.model.as_str()),
        status: ending.status,
        error_type: ending
            .error
            .map(ErrorKind::as_str)
            .or(ending.code.as_deref()),
        duration: ctx.started.elapsed(),
        ttft: ending.ttft,
        usage: ending.usage,
        cost_usd: ending.cost_usd(),
        attempts: ending.attempts,
        abandoned: ending.abandoned,
        unpriced: ending.unpriced,
    });
}

/// Every step of the end, for a request that is not waiting on a durable commit: settled,
/// published, and its outcome queued. Usable from `Drop` (nothing is awaited but the queue).
pub fn close(
    ctx: &RequestCtx,
    admission: &Admission,
    ending: &Ending,
) -> switchyard_evidence::Draft {
    settle(ctx, admission, ending);
    publish(ctx, ending);
    events::outcome(ctx, ending)
}

/// An answer withheld because its evidence could not be committed; its outcome is recorded.
#[derive(Debug)]
pub struct Withheld(pub ApiError);

/// Ends a served request: its outcome is recorded (and, when its class demands it, committed
/// before this returns), then settled and published. When the durable commit fails the answer
/// is withheld, and the request still ends in one outcome: the served one if the log keeps it
/// (it is held and written once the store recovers), else a failed one in its place.
pub async fn finish_served(
    log: &EventLog,
    admission: &Admission,
    ctx: &RequestCtx,
    ending: Ending,
) -> Result<(), Withheld> {
    if !ctx.durable {
        log.record(close(ctx, admission, &ending)).await;
        return Ok(());
    }
    let committed = log.record_durable(events::outcome(ctx, &ending)).await;
    let Err(not_recorded) = committed else {
        settle(ctx, admission, &ending);
        publish(ctx, &ending);
        return Ok(());
    };
    let withheld = ApiError::Unavailable(format!(
        "the answer is ready but its evidence could not be committed ({}); compliance-constrained answers are withheld",
        not_recorded.reason
    ));
    if not_recorded.kept {
        settle(ctx, admission, &ending);
        publish(ctx, &ending);
    } else {
        let failed = Ending {
            target: ending.target.clone(),
            usage: ending.usage,
            usage_source: ending.usage_source,
            unpriced: ending.unpriced,
            price: ending.price,
            extra_cost_usd: ending.extra_cost_usd,
            ..Ending::failed(&withheld, ending.attempts)
        };
        log.record(close(ctx, admission, &failed)).await;
    }
    Err(Withheld(withheld))
}

/// Ends a failed request: settled, published, and its outcome recorded (committed before the
/// error is answered when its class demands durable evidence). An outcome the store refused
/// is queued instead, to be written once it recovers: the request still ends in one outcome.
pub async fn finish_failed(
    log: &EventLog,
    admission: &Admission,
    ctx: &RequestCtx,
    ending: &Ending,
) {
    let draft = close(ctx, admission, ending);
    if !ctx.durable {
        log.record(draft).await;
        return;
    }
    match log.record_durable(draft.clone()).await {
        Ok(_) => {}
        Err(e) if e.kept => {
            tracing::warn!(request_id = %ctx.request_id, error = %e, "a failed request's outcome is held until the store recovers");
        }
        Err(e) => {
            tracing::warn!(request_id = %ctx.request_id, error = %e, "a failed request's outcome is queued until the store recovers");
            log.record(draft).await;
        }
    }
}

/// Keeps the request's prompt and tool results, when its payload policy says so: once the
/// decision has said whether (and how), served or not.
pub async fn payloads(state: &AppState, ctx: &RequestCtx, request: &Request) {
    if let (Some(keep), Request::Chat(req)) = (ctx.payloads, request) {
        let owner = Owner {
            request_id: &ctx.request_id,
            keep,
        };
        state.artifacts.keep_request(owner, req).await;
    }
}

/// Records a served request. A whole answer's outcome is recorded now (and withheld, as a
/// failure already recorded, when its class demands durable evidence that could not be
/// committed), with the usage the provider reported or, when it reported none, the gateway's
/// count; that usage is returned for the answer's cost header. A stream's attempts are recorded
/// now and its outcome when it ends, by the recorder it carries, which also holds the
/// heavy-context slot until then and counts the usage itself if none came.
pub async fn served(
    state: &AppState,
    ctx: &RequestCtx,
    served: Served,
    prepared: Prepared,
) -> Result<(Served<Answer>, Option<Usage>), Failure> {
    let Served {
        output,
        target,
        attempts,
    } = served;
    let Prepared {
        request: sent,
        slot,
    } = prepared;
    events::attempted(&state.events, ctx, &attempts).await;
    let ending = Ending::served(ctx, &target, &attempts);
    let (answer, usage) = match (output, sent.as_ref()) {
        (Output::Stream(first, rest), _) => {
            let idle = ctx.live.registry.config.limits.stream_idle_timeout;
            let rest = crate::idle::with_idle_timeout(rest, idle);
            let sink = ctx.payloads.is_some().then(|| state.artifacts.clone());
            let mut recorder = stream::Recorder::new(
                state.admission.clone(),
                state.events.clone(),
                sink,
                ctx.clone(),
                (ending, sent.clone()),
            );
            recorder.hold(slot);
            let output = Answer::Stream(first, rest, Box::new(recorder));
            let served = Served {
                output,
                target,
                attempts,
            };
            return Ok((served, None));
        }
        (Output::Chat(resp), _) => {
            let counted = if estimate::missing(&resp) {
                let model = target.upstream_model.clone();
                estimate::chat_off_thread(sent.clone(), resp.clone(), model).await
            } else {
                None
            };
            let usage = counted.unwrap_or((resp.usage, UsageSource::Measured));
            (Answer::Chat(resp), Some(usage))
        }
        (Output::Embed(resp), sent_now) => {
            let missing = matches!(sent_now, Request::Embed(req) if !req.input.is_empty())
                && resp.usage.input_tokens == 0;
            let counted = if missing {
                let model = target.upstream_model.clone();
                estimate::embed_off_thread(sent.clone(), model).await
            } else {
                None
            };
            let usage = counted.unwrap_or((resp.usage, UsageSource::Measured));
            (Answer::Embed(resp), Some(usage))
        }
    };
    // A whole answer ends here: its outcome first (withheld if its commit fails), then its
    // completion kept.
    if let Some((usage, source)) = usage {
        let ending = ending.with_usage(usage, source);
        if let Err(Withheld(error)) =
            finish_served(&state.events, &state.admission, ctx, ending).await
        {
            return Err(Failure {
                error,
                attempts,
                recorded: true,
            });
        }
    }
    if let (Answer::Chat(resp), Some(keep)) = (&answer, ctx.payloads) {
        let owner = Owner {
            request_id: &ctx.request_id,
            keep,
        };
        state.artifacts.keep_completion(owner, resp).await;
    }
    let usage = usage.map(|(usage, _)| usage);
    let served = Served {
        output: answer,
        target,
        attempts,
    };
    Ok((served, usage))
}

/// Records a failed request: its attempts and its one outcome. A failure whose outcome was
/// already recorded (an answer withheld for want of durable evidence) records nothing more.
pub async fn failure(state: &AppState, ctx: &RequestCtx, failure: &Failure) {
    if failure.recorded {
        return;
    }
    events::attempted(&state.events, ctx, &failure.attempts).await;
    let ending = Ending {
        extra_cost_usd: cancelled_cost(&failure.attempts),
        ..Ending::failed(&failure.error, failure.attempts.len())
    };
    finish_failed(&state.events, &state.admission, ctx, &ending).await;
}

/// Closes the request's span with how it ended: who served it, the usage, the status and the
/// error type.
fn end_span(span: &tracing::Span, e: &Ending) {
    if span.is_disabled() {
        return;
    }
    if let Some(t) = &e.target {
        span.record(attr::PROVIDER, t.provider.as_str());
        span.record(attr::RESPONSE_MODEL, t.model.as_str());
    }
    if let Some(u) = &e.usage {
        span.record(attr::INPUT_TOKENS, u.input_tokens);
        span.record(attr::OUTPUT_TOKENS, u.output_tokens);
    }
    if let Some(ttft) = e.ttft {
        span.record(attr::TTFT_MS, ttft.as_secs_f64() * 1000.0);
    }
    span.record(attr::ATTEMPTS, e.attempts as u64);
    span.record(attr::HTTP_STATUS, u64::from(e.status));
    if e.abandoned {
        span.record(attr::ABANDONED, true);
    }
    if let Some(kind) = e.error.map(ErrorKind::as_str).or(e.code.as_deref()) {
        span.record(attr::ERROR_TYPE, kind);
    }
    if e.status >= 500 || e.error.is_some() {
        span.record(attr::SPAN_STATUS, "error");
    }
}
