//! `POST /v1/messages`: the Anthropic door, plain and streaming, answering in Anthropic's
//! format (errors included) whatever provider serves the request.

use super::pipeline::{Answer, Failure, run_chat};
use super::{body, failed, new_ctx, served, stream};
use crate::pipeline::RequestCtx;
use crate::server::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::HeaderMap;
use axum::response::Response;
use std::sync::Arc;
use switchyard_protocol::anthropic::{self, MessagesRequest};
use tracing::Instrument;

/// Answers a Messages request in Anthropic's format.
pub async fn messages(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    raw: Result<Bytes, BytesRejection>,
) -> Response {
    let mut ctx = new_ctx(&state, "messages");
    let span = ctx.span.clone();
    match handle(&state, &mut ctx, &headers, &extensions, raw)
        .instrument(span)
        .await
    {
        Ok(resp) => resp,
        Err(failure) => {
            super::record_failure(&state, &ctx, &failure).await;
            let super::pipeline::Failure {
                error, attempts, ..
            } = failure;
            failed(error.into_anthropic_response(), &ctx, &attempts)
        }
    }
}

async fn handle(
    state: &AppState,
    ctx: &mut RequestCtx,
    headers: &HeaderMap,
    extensions: &axum::http::Extensions,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, Failure> {
    let early = Failure::from;
    super::admit(state, ctx, headers, extensions)
        .await
        .map_err(early)?;
    let bytes = body(ctx, headers, raw).map_err(early)?;
    let wire: MessagesRequest =
        switchyard_protocol::body::parse(&bytes).map_err(|e| early(e.into()))?;
    let req = anthropic::request_to_canonical(wire).map_err(|e| early(e.into()))?;
    let chat = run_chat(state, ctx, &req).await?;
    Ok(match chat.answer {
        Answer::Whole(resp) => {
            let body = anthropic::response_from_canonical(&resp, &req.model);
            let http = super::json_answer(&body);
            served(http, ctx, &chat.target, &chat.attempts, Some(&resp.usage))
        }
        Answer::Stream(first, rest, recorder) => {
            let http = stream::anthropic(first, rest, &req.model, recorder);
            served(http, ctx, &chat.target, &chat.attempts, None)
        }
    })
}
