//! The chat pipeline both chat doors share: classify, resolve, decide, record, keep payloads,
//! execute, and hand back either a whole answer or a stream with its recorder. Each door only
//! parses its wire format before and renders its own after.

use super::{attribution, classify_chat, record_served, stream, stream_recorder};
use crate::config::ModelKind;
use crate::error::ApiError;
use crate::evidence;
use crate::execute::{self, AttemptRecord, Operation, Output, RequestCtx};
use crate::server::AppState;
use axum::http::HeaderMap;
use switchyard_policy::Target;
use switchyard_protocol::{ChatRequest, ChatResponse, StreamEvent};
use switchyard_providers::EventStream;

/// A failed request: the error for the client and the attempts made.
pub type Failure = (ApiError, Vec<AttemptRecord>);

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

/// Runs a parsed chat request through admission, classification, routing and execution.
pub async fn run_chat(
    state: &AppState,
    ctx: &mut RequestCtx,
    headers: &HeaderMap,
    req: &ChatRequest,
) -> Result<Chat, Failure> {
    let early = |e: ApiError| (e, Vec::new());
    ctx.requested_model.clone_from(&req.model);
    let classification = classify_chat(state, headers, req).map_err(early)?;
    let attribution = attribution(state, headers).map_err(early)?;
    evidence::admitted_chat(&state.events, ctx, req, &classification, &attribution).await;
    let targets = state
        .registry
        .resolve(&req.model, ModelKind::Chat)
        .map_err(early)?;
    evidence::decided(&state.events, ctx, &targets, &classification).await;
    if let Some(sink) = &state.artifacts {
        sink.admit().map_err(early)?;
        sink.keep_request(ctx, req).await;
    }
    let op = if req.stream {
        Operation::Stream(req)
    } else {
        Operation::Chat(req)
    };
    let done = execute::run(&state.registry, &state.http, ctx, &targets, op)
        .await
        .map_err(|f| (f.error, f.attempts))?;
    let answer = match done.output {
        Output::Chat(resp) => {
            record_served(state, ctx, &done.target, &done.attempts, resp.usage).await;
            if let Some(sink) = &state.artifacts {
                sink.keep_completion(ctx, &resp).await;
            }
            Answer::Whole(resp)
        }
        Output::Stream(first, rest) => {
            let idle = state.registry.config.limits.stream_idle_timeout;
            let rest = execute::with_idle_timeout(rest, idle);
            let recorder = stream_recorder(state, ctx, &done.target, &done.attempts).await;
            Answer::Stream(first, rest, Box::new(recorder))
        }
        Output::Embed(_) => {
            return Err((
                ApiError::Internal("the executor answered a chat with embeddings".into()),
                done.attempts,
            ));
        }
    };
    Ok(Chat {
        answer,
        target: done.target,
        attempts: done.attempts,
    })
}
