//! `POST /v1/messages`: the Anthropic door, plain and streaming, answering in Anthropic's
//! format (errors included) whatever provider serves the request.

use super::{body, failed, new_ctx, served, stream};
use crate::config::ModelKind;
use crate::error::{ApiError, json_error};
use crate::evidence;
use crate::execute::{self, Operation, Output, RequestCtx};
use crate::server::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use switchyard_protocol::anthropic::{self, MessagesRequest};

/// Answers a Messages request in Anthropic's format.
pub async fn messages(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Response {
    let mut ctx = new_ctx(&state, "messages");
    match handle(&state, &mut ctx, &headers, raw).await {
        Ok(resp) => resp,
        Err((error, attempts)) => {
            super::record_failure(&state, &ctx, &error, &attempts).await;
            failed(error.into_anthropic_response(), &ctx, &attempts)
        }
    }
}

type Failure = (ApiError, Vec<execute::AttemptRecord>);

async fn handle(
    state: &AppState,
    ctx: &mut RequestCtx,
    headers: &HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, Failure> {
    let early = |e: ApiError| (e, Vec::new());
    let bytes = body(state, raw).map_err(early)?;
    let wire: MessagesRequest =
        serde_json::from_slice(&bytes).map_err(|e| early(json_error(&e)))?;
    let req = anthropic::request_to_canonical(wire).map_err(|e| early(e.into()))?;
    ctx.requested_model.clone_from(&req.model);
    let classification = super::classify_chat(state, headers, &req).map_err(early)?;
    evidence::admitted_chat(&state.events, ctx, &req, &classification).await;
    let targets = state
        .registry
        .resolve(&req.model, ModelKind::Chat)
        .map_err(early)?;
    evidence::decided(&state.events, ctx, &targets, &classification).await;
    if let Some(sink) = &state.artifacts {
        sink.admit().map_err(early)?;
        sink.keep_request(ctx, &req).await;
    }
    let op = if req.stream {
        Operation::Stream(&req)
    } else {
        Operation::Chat(&req)
    };
    let done = execute::run(&state.registry, &state.http, ctx, &targets, op)
        .await
        .map_err(|f| (f.error, f.attempts))?;
    Ok(match done.output {
        Output::Chat(resp) => {
            super::record_served(state, ctx, &done.target, &done.attempts, resp.usage).await;
            if let Some(sink) = &state.artifacts {
                sink.keep_completion(ctx, &resp).await;
            }
            let body = anthropic::response_from_canonical(&resp, &req.model);
            let http = axum::Json(body).into_response();
            served(
                state,
                http,
                ctx,
                &done.target,
                &done.attempts,
                Some(&resp.usage),
            )
        }
        Output::Stream(first, rest) => {
            let idle = state.registry.config.limits.stream_idle_timeout;
            let rest = execute::with_idle_timeout(rest, idle);
            let recorder = super::stream_recorder(state, ctx, &done.target, &done.attempts).await;
            let http = stream::anthropic(first, rest, &req.model, recorder);
            served(state, http, ctx, &done.target, &done.attempts, None)
        }
        Output::Embed(_) => {
            return Err((
                ApiError::Internal("the executor answered a message with embeddings".into()),
                done.attempts,
            ));
        }
    })
}
