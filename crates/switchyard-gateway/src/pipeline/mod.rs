//! The request path every door shares, as pingora's `ProxyHttp` lists its phases: one [`run`]
//! that reads top to bottom, one file per phase, in this order:
//!
//! 1. [`admit`]: the key to a tenant and its rates, the Switchyard headers into [`Directives`],
//!    the config snapshot the request pins ([`RequestCtx::live`]), and the body (413, 415);
//! 2. [`parse`]: the door's wire body into the canonical [`Request`]; the model named;
//! 3. [`classify`]: data classes, declared and found, and the admission event;
//! 4. [`decide`]: the key's checks, the route class, the profile's `Decision` and its event;
//! 5. [`prepare`]: durable evidence, payload policy, budget hold, upstream redaction, the
//!    heavy-context slot;
//! 6. [`execute`]: the plan's attempts;
//! 7. [`record`]: payloads kept, attempts and outcome as evidence, then each of its own steps:
//!    the key's rate and the budget hold settled, metrics and the span published (a stream
//!    runs the same steps when it ends);
//! 8. [`respond`]: the door's wire format and the `x-switchyard-*` answer headers.
//!
//! A door ([`Door`]) only turns its wire format into a [`Request`] and renders an [`Answer`]
//! or an error; everything between is here, the same for every door. A request that fails at
//! any phase ends as a [`Failure`] and is recorded once.
//!
//! Never reads a request header after admission, never reads the live config again after the
//! request pinned its own, and never lets a phase import a later one.

pub mod admit;
pub mod classify;
pub mod decide;
mod directives;
mod door;
pub mod execute;
pub mod parse;
pub mod prepare;
pub mod record;
pub mod respond;
pub mod spans;

pub use directives::Directives;
pub use door::Door;
pub use execute::AttemptRecord;

use self::record::stream::Recorder;
use crate::error::ApiError;
use crate::state::{AppState, Live};
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{Extensions, HeaderMap};
use axum::response::Response;
use std::sync::Arc;
use std::time::Instant;
use switchyard_policy::RequestSummary;
use switchyard_protocol::{ChatRequest, ChatResponse, EmbedRequest, EmbedResponse, StreamEvent};
use switchyard_providers::EventStream;
use tracing::Instrument;

/// Which door a request came through: names it in events, spans and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DoorKind {
    /// `POST /v1/chat/completions`.
    Chat,
    /// `POST /v1/messages`.
    Messages,
    /// `POST /v1/embeddings`.
    Embeddings,
    /// `POST /v1/responses`.
    Responses,
}

impl DoorKind {
    /// Its name in records: `chat`, `messages`, `embeddings`, `responses`.
    pub fn as_str(self) -> &'static str {
        match self {
            DoorKind::Chat => "chat",
            DoorKind::Messages => "messages",
            DoorKind::Embeddings => "embeddings",
            DoorKind::Responses => "responses",
        }
    }

    /// The GenAI operation it performs (`gen_ai.operation.name`).
    pub fn operation(self) -> &'static str {
        match self {
            DoorKind::Chat | DoorKind::Messages | DoorKind::Responses => "chat",
            DoorKind::Embeddings => "embeddings",
        }
    }
}

impl serde::Serialize for DoorKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// What one request carries through the pipeline.
#[derive(Debug, Clone)]
pub struct RequestCtx {
    /// The front door it came through.
    pub door: DoorKind,
    pub request_id: String,
    pub decision_id: String,
    pub started: Instant,
    /// When the whole request must be done (all attempts included).
    pub deadline: Instant,
    /// The model name as the client sent it.
    pub requested_model: String,
    /// The route class it runs under (`none` until decided).
    pub route_class: String,
    /// `name@version` of the profile its decision used (empty until decided).
    pub profile: String,
    /// The tenant it was admitted for (`none` until admitted).
    pub tenant: String,
    /// Who it was admitted as, and what their key allows.
    pub principal: Option<Arc<crate::admission::Principal>>,
    /// Tokens charged to the key's rate at admission, settled with the real usage.
    pub charged_tokens: u64,
    /// Its class demands durable evidence: the answer waits until its outcome is committed.
    pub durable: bool,
    /// Whether its payloads are kept as artifacts, and how (decided after routing).
    pub payloads: Option<crate::artifacts::Keep>,
    /// The request's hold on its budgets, settled with its real cost when it ends.
    pub budget: Option<Arc<crate::budgets::Hold>>,
    /// Its trace span (see [`spans`]); disabled when no exporter runs.
    pub span: tracing::Span,
    /// The config and profile it pinned when it arrived: every phase reads these, so a reload
    /// mid-request changes nothing of it.
    pub live: Arc<Live>,
    /// Its Switchyard headers, parsed at admission.
    pub directives: Directives,
}

/// The canonical request a door parsed. One per request, never in a collection: its variants'
/// sizes differ, and boxing the larger would cost an allocation for nothing.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)]
pub enum Request {
    /// A chat, whole or streamed (`stream` says which).
    Chat(ChatRequest),
    Embed(EmbedRequest),
}

impl Request {
    /// The model the client named.
    pub fn model(&self) -> &str {
        match self {
            Request::Chat(r) => &r.model,
            Request::Embed(r) => &r.model,
        }
    }

    /// What routing sees of it: model, size, shape.
    pub fn summary(&self) -> RequestSummary {
        match self {
            Request::Chat(r) => RequestSummary::of_chat(r),
            Request::Embed(r) => {
                RequestSummary::of_embeddings(&r.model, r.input.iter().map(String::len).sum())
            }
        }
    }
}

/// What served a request, for its door to render.
pub enum Answer {
    Chat(ChatResponse),
    /// The first event, the rest (idle-bounded) and the recorder that learns how it ends.
    Stream(StreamEvent, EventStream, Box<Recorder>),
    Embed(EmbedResponse),
}

impl Answer {
    /// What a door answers when handed an answer of another kind than its request: the
    /// executor answers each operation with its own kind, so this is a bug, said as one.
    pub fn mismatch(door: DoorKind) -> ApiError {
        ApiError::Internal(format!(
            "the {} door was handed an answer of another kind",
            door.as_str()
        ))
    }
}

/// A failed request: the error for the client and every upstream attempt made.
#[derive(Debug)]
pub struct Failure {
    pub error: ApiError,
    pub attempts: Vec<AttemptRecord>,
    /// Its outcome is already recorded (an answer withheld when its durable commit failed):
    /// nothing more is recorded for it.
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

/// The handler of door `D`: runs the request through every phase and answers in the door's
/// format, a failure included.
pub async fn serve<D: Door>(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    extensions: Extensions,
    raw: Result<Bytes, BytesRejection>,
) -> Response {
    let door = D::default();
    let mut ctx = admit::arrive(&state, D::KIND);
    let span = ctx.span.clone();
    let ran = run(&door, &state, &mut ctx, &headers, &extensions, raw)
        .instrument(span)
        .await;
    match ran {
        Ok(answer) => answer,
        Err(failure) => {
            record::failure(&state, &ctx, &failure).await;
            respond::failed(door.error(failure.error), &ctx, &failure.attempts)
        }
    }
}

/// The phases, in order.
async fn run<D: Door>(
    door: &D,
    state: &AppState,
    ctx: &mut RequestCtx,
    headers: &HeaderMap,
    extensions: &Extensions,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, Failure> {
    admit::admit(state, ctx, headers, extensions).await?;
    let body = admit::body(ctx, headers, raw)?;
    let (request, kept) = parse::parse(door, ctx, &body)?;
    let request = Arc::new(request);
    let classification = classify::classify(state, ctx, &request).await;
    let mut decided = decide::decide(state, ctx, &request, &classification).await?;
    let attempted = prepare_and_execute(state, ctx, &request, &mut decided).await;
    // The prompt is kept once its payload policy is decided, whether the request is served,
    // refused while it was prepared, or failed upstream.
    record::payloads(state, ctx, &request).await;
    let (prepared, executed) = attempted?;
    let (served, usage) = record::served(state, ctx, executed?, prepared).await?;
    Ok(respond::answer(door, ctx, (&request, &kept), served, usage))
}

/// Phases 5 and 6: what the decision asks before anything leaves the gateway, then the
/// attempts. A refusal while preparing is the error; the attempts' own result is handed on.
async fn prepare_and_execute(
    state: &AppState,
    ctx: &mut RequestCtx,
    request: &Arc<Request>,
    decided: &mut decide::Decided,
) -> Result<(prepare::Prepared, Result<execute::Served, Failure>), Failure> {
    let prepared = prepare::prepare(state, ctx, request, &mut decided.decision).await?;
    let executed = execute::run(&execute::Exec {
        registry: &ctx.live.registry,
        http: &state.http,
        breakers: &state.breakers,
        ctx,
        decision: &decided.decision,
        op: prepared.operation(),
        profile: &ctx.live.profile,
        input_tokens: decided.input_tokens,
    })
    .await;
    Ok((prepared, executed))
}
