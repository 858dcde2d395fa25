//! `POST /v1/embeddings`: the OpenAI embeddings door, floats or base64.

use super::pipeline::{Failure, decide_and_run};
use super::{body, failed, new_ctx, served};
use crate::error::ApiError;
use crate::evidence;
use crate::execute::{Operation, Output};
use crate::pipeline::RequestCtx;
use crate::routing::Asked;
use crate::server::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use switchyard_policy::{Classification, RequestSummary};
use switchyard_protocol::openai::{self, EmbeddingRequest};
use tracing::Instrument;

/// Answers an embeddings request in OpenAI's format.
pub async fn embeddings(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    raw: Result<Bytes, BytesRejection>,
) -> Response {
    let mut ctx = new_ctx(&state, "embeddings");
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
            failed(error.into_response(), &ctx, &attempts)
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
    let wire: EmbeddingRequest =
        switchyard_protocol::body::parse(&bytes).map_err(|e| early(e.into()))?;
    let req = openai::embedding_request_to_canonical(wire).map_err(|e| early(e.into()))?;
    super::requested_model(ctx, &req.model).map_err(early)?;
    let live = ctx.live.clone();
    let declared = ctx.directives.data_classes;
    let mut classes = declared;
    let mut bytes = 0;
    for input in &req.input {
        bytes += input.len();
        classes = classes.union(live.registry.config.detectors.classes_in(input));
    }
    let attribution = super::attribution(ctx);
    evidence::admitted_embeddings(&state.events, ctx, req.input.len(), classes, &attribution).await;
    let classification = Classification {
        declared,
        classes,
        findings: Vec::new(),
    };
    let summary = RequestSummary::of_embeddings(&req.model, bytes);
    super::key_allows(
        state,
        ctx,
        &req.model,
        classes,
        summary.estimated_input_tokens,
    )
    .map_err(early)?;
    let done = decide_and_run(
        state,
        ctx,
        summary,
        &classification,
        &Asked::default(),
        Operation::Embed(&req),
    )
    .await?
    .served;
    let Output::Embed(resp) = done.output else {
        return Err(Failure::after(
            ApiError::Internal("the executor answered embeddings with a chat".into()),
            done.attempts,
        ));
    };
    let attempts =
        super::record_served(state, ctx, &done.target, done.attempts, resp.usage).await?;
    let usage = resp.usage;
    let body = openai::embeddings_from_canonical(resp, req.model, req.encoding);
    let http = super::json_answer(&body);
    Ok(served(http, ctx, &done.target, &attempts, Some(&usage)))
}
