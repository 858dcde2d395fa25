//! The request pipeline the doors share: classify, decide (recording the decision or the
//! refusal), take a heavy-context slot when the decision says so, keep payloads, execute, and
//! hand back either a whole answer or a stream with its recorder. Each door only parses its
//! wire format before and renders its own after.

use super::{attribution, classify_chat, record_served, stream, stream_recorder};
use crate::config::ModelKind;
use crate::error::ApiError;
use crate::evidence;
use crate::execute::{self, AttemptRecord, Exec, Operation, Output, Served};
use crate::pipeline::RequestCtx;
use crate::pools::Slot;
use crate::routing::{self, Asked, NotDecided};
use crate::server::AppState;
use switchyard_policy::{BaseClass, Classification, Decision, RequestSummary, Target};
use switchyard_protocol::{ChatRequest, ChatResponse, StreamEvent};
use switchyard_providers::EventStream;

/// A failed request: the error for the client and the attempts made.
#[derive(Debug)]
pub struct Failure {
    pub error: ApiError,
    pub attempts: Vec<AttemptRecord>,
    /// Its outcome is already recorded (an answer withheld when its durable commit failed):
    /// the door records nothing more.
    pub recorded: bool,
}

impl Failure {
    /// A failure after `attempts`.
    pub fn after(error: ApiError, attempts: Vec<AttemptRecord>) -> Self {
        Failure {
            error,
            attempts,
            recorded: false,
        }
    }
}

impl From<ApiError> for Failure {
    /// A failure before any attempt.
    fn from(error: ApiError) -> Self {
        Failure::after(error, Vec::new())
    }
}

/// What the pipeline produced for the door to render.
pub enum Answer {
    Whole(ChatResponse),
    /// The first event, the rest (idle-bounded) and the recorder that learns how it ends.
    Stream(StreamEvent, EventStream, Box<stream::Recorder>),
}

/// A served chat: the answer, who served it, and every attempt.
pub struct Chat {
    pub answer: Answer,
    pub target: Target,
    pub attempts: Vec<AttemptRecord>,
}

fn early(e: ApiError) -> Failure {
    e.into()
}

/// A request routed and run: what served it, and the heavy-context slot to hold until the
/// answer is complete.
pub struct Done {
    pub served: Served,
    pub slot: Option<Slot>,
}

/// Decides, records the decision, waits for a heavy-context slot if the decision asks for
/// one, and runs the plan. Shared by the chat and embeddings doors.
#[allow(clippy::too_many_arguments)]
pub async fn decide_and_run(
    state: &AppState,
    ctx: &mut RequestCtx,
    summary: RequestSummary,
    classification: &Classification,
    asked: &Asked<'_>,
    op: Operation<'_>,
) -> Result<Done, Failure> {
    let live = ctx.live.clone();
    let kind = match op {
        Operation::Embed(_) => ModelKind::Embedding,
        Operation::Chat(_) | Operation::Stream(_) => ModelKind::Chat,
    };
    live.registry
        .check_kind(&summary.model, kind)
        .map_err(early)?;
    let input_tokens = summary.estimated_input_tokens;
    let decided = routing::decide(state, &live, ctx, summary, classification.classes, asked);
    let mut decision: Decision = match decided {
        Ok(d) => {
            evidence::decided(&state.events, ctx, Ok(&d), classification).await;
            d
        }
        Err(NotDecided::Refused(r)) => {
            evidence::decided(&state.events, ctx, Err(&r), classification).await;
            return Err(early(r.into()));
        }
        Err(e @ NotDecided::Malformed(_)) => return Err(early(e.into_error())),
    };
    // Compliance traffic waits for its evidence, and is refused while it cannot be kept.
    if decision.route_class.base == BaseClass::ComplianceConstrained {
        ctx.durable = true;
        if !state.events.healthy() {
            return Err(early(ApiError::Unavailable(
                "the evidence log cannot be written right now; compliance-constrained requests are refused until it recovers".into(),
            )));
        }
    }
    live.registry
        .check_plan_kind(
            &decision.requested,
            &mut decision.plan.targets().map(|c| &c.target),
            kind,
        )
        .map_err(early)?;
    let key_asks = ctx.principal.as_ref().and_then(|p| p.policy.log_payloads);
    ctx.payloads = state
        .artifacts
        .decide(key_asks.or(decision.log_payloads), ctx.durable)
        .map_err(early)?;
    crate::budgets::reserve(&state.budgets, ctx, &mut decision)
        .await
        .map_err(early)?;
    // The class may demand that some data classes never reach the provider, whatever the door.
    let (redacted_chat, redacted_embed);
    let policy = switchyard_policy::RedactionPolicy::only(decision.redact_upstream);
    let detectors = &live.registry.config.detectors;
    let op = match op {
        _ if decision.redact_upstream.is_empty() => op,
        Operation::Chat(req) | Operation::Stream(req) => {
            redacted_chat = switchyard_policy::redact_request(req, detectors, &policy);
            match op {
                Operation::Stream(_) => Operation::Stream(&redacted_chat),
                _ => Operation::Chat(&redacted_chat),
            }
        }
        Operation::Embed(req) => {
            redacted_embed = switchyard_policy::redact_embed_request(req, detectors, &policy);
            Operation::Embed(&redacted_embed)
        }
    };
    let slot = if decision.heavy_queue {
        Some(state.heavy.enter(ctx.deadline).await.map_err(early)?)
    } else {
        None
    };
    let exec = Exec {
        registry: &live.registry,
        http: &state.http,
        breakers: &state.breakers,
        ctx,
        decision: &decision,
        op,
        profile: &live.profile,
        input_tokens,
    };
    let served = execute::run(&exec)
        .await
        .map_err(|f| Failure::after(f.error, f.attempts))?;
    Ok(Done { served, slot })
}

/// Runs a parsed chat request through classification, routing and execution.
pub async fn run_chat(
    state: &AppState,
    ctx: &mut RequestCtx,
    req: &ChatRequest,
) -> Result<Chat, Failure> {
    let live = ctx.live.clone();
    super::requested_model(ctx, &req.model).map_err(early)?;
    let classification = classify_chat(ctx, req);
    let attribution = attribution(ctx);
    evidence::admitted_chat(&state.events, ctx, req, &classification, &attribution).await;
    let op = if req.stream {
        Operation::Stream(req)
    } else {
        Operation::Chat(req)
    };
    let asked = Asked {
        metadata_class: req.metadata.get("route_class").map(String::as_str),
    };
    let summary = RequestSummary::of_chat(req);
    super::key_allows(
        state,
        ctx,
        &req.model,
        classification.classes,
        summary.estimated_input_tokens,
    )
    .map_err(early)?;
    let done = decide_and_run(state, ctx, summary, &classification, &asked, op).await;
    // The prompt is kept once routing has decided whether (and how) this request's payloads
    // are kept, served or not.
    if ctx.payloads.is_some() {
        state.artifacts.keep_request(ctx, req).await;
    }
    let Done { served, slot } = done?;
    let Served {
        output,
        target,
        attempts,
    } = served;
    let (answer, attempts) = match output {
        Output::Chat(resp) => {
            let attempts = record_served(state, ctx, &target, attempts, resp.usage).await?;
            state.artifacts.keep_completion(ctx, &resp).await;
            (Answer::Whole(resp), attempts)
        }
        Output::Stream(first, rest) => {
            let idle = live.registry.config.limits.stream_idle_timeout;
            let rest = crate::idle::with_idle_timeout(rest, idle);
            let mut recorder = stream_recorder(state, ctx, &target, &attempts).await;
            recorder.hold(slot);
            (Answer::Stream(first, rest, Box::new(recorder)), attempts)
        }
        Output::Embed(_) => {
            return Err(Failure::after(
                ApiError::Internal("the executor answered a chat with embeddings".into()),
                attempts,
            ));
        }
    };
    Ok(Chat {
        answer,
        target,
        attempts,
    })
}
