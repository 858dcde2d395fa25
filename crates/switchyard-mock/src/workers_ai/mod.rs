//! Cloudflare Workers AI, written from its published REST reference: `Authorization: Bearer`
//! on every route; `POST /client/v4/accounts/{account}/ai/run/{model}` runs text generation or
//! (for `bge`/`embed` models) text embeddings in the native format; the OpenAI-compatible
//! `/ai/v1/chat/completions` and `/ai/v1/embeddings` answer in OpenAI's format with the model
//! named in the body. Errors use Cloudflare's envelope and Workers AI's internal codes.

mod input;
mod output;

use crate::embedding::{self, Dimensions};
use crate::limits::Limits;
use crate::reply::{self, Frame};
use crate::{Mock, offload, synth};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use output::{Envelope, StreamChunk};
use std::sync::Arc;
use switchyard_protocol::openai as oai;
use switchyard_protocol::{StreamEvent, sse};

/// The Workers AI code the mock reports with each HTTP status (from the published error table;
/// 5xx codes are not published, 3043 stands for them).
fn code_for(status: StatusCode) -> u32 {
    match status.as_u16() {
        400 => 5006,
        401 => 10000,
        403 => 3023,
        404 => 3042,
        405 => 5005,
        408 => 3007,
        413 => 3006,
        429 => 3040,
        _ => 3043,
    }
}

/// An error in Cloudflare's envelope.
pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    let body = Envelope::failed(code_for(status), message);
    (status, axum::Json(body)).into_response()
}

fn refused(refusal: input::Refusal) -> Response {
    let body = Envelope::failed(refusal.code, &refusal.message);
    (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
}

/// A Bearer API token, and an account id that is a plausible path segment.
fn authorize(mock: &Mock, headers: &HeaderMap, account: &str) -> Result<(), Response> {
    if !reply::accepted(mock, reply::credential(headers, "authorization")) {
        return Err(error(StatusCode::UNAUTHORIZED, "Authentication error"));
    }
    let plausible = !account.is_empty()
        && account
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !plausible {
        let body = Envelope::failed(
            7003,
            "Could not route to /client/v4/accounts, perhaps your object identifier is invalid?",
        );
        return Err((StatusCode::NOT_FOUND, axum::Json(body)).into_response());
    }
    Ok(())
}

/// `POST /client/v4/accounts/{account}/ai/run/{*model}`.
pub(crate) async fn run(
    State(mock): State<Arc<Mock>>,
    Path((account, model)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    if let Err(resp) = authorize(&mock, &headers, &account) {
        return resp;
    }
    let model = model.trim_start_matches('/').to_owned();
    if model.is_empty() {
        return error(StatusCode::NOT_FOUND, "The model name is invalid");
    }
    if input::is_embedding_model(&model) {
        embeddings(&mock, &model, &headers, query.as_deref(), &body).await
    } else {
        text_generation(&mock, &model, &headers, query.as_deref(), &body).await
    }
}

async fn text_generation(
    mock: &Mock,
    model: &str,
    headers: &HeaderMap,
    query: Option<&str>,
    body: &[u8],
) -> Response {
    let req = match input::chat_request(model, body) {
        Ok(r) => r,
        Err(refusal) => return refused(refusal),
    };
    let scenario = match reply::prelude(mock, model, headers, query, error).await {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    if scenario.malformed && !req.stream {
        return reply::malformed("application/json");
    }
    let shape = synth::Shape::of(&scenario);
    let resp = match offload::chat(&req, model, shape).await {
        Ok(resp) => resp,
        Err(stop) => return reply::stopped(&stop, error),
    };
    if !req.stream {
        let result = output::text_result(&resp, req.response_format.as_ref());
        return reply::json(&Envelope::ok(result), &scenario);
    }
    let frame =
        |chunk: &StreamChunk| sse::frame(None, &serde_json::to_string(chunk).unwrap_or_default());
    let mut frames = Vec::new();
    for event in synth::stream_events(&resp, scenario.chunks) {
        match event {
            StreamEvent::Text { text, .. } => {
                let p = Some(output::padding(&text));
                frames.push(Frame::content(frame(&StreamChunk {
                    response: text,
                    tool_calls: None,
                    usage: None,
                    p,
                })));
            }
            // Calls arrive whole, in the documented shape, when the answer is complete.
            StreamEvent::Finish { .. } if !output::tool_calls(&resp).is_empty() => {
                frames.push(Frame::content(frame(&StreamChunk {
                    response: String::new(),
                    tool_calls: Some(output::tool_calls(&resp)),
                    usage: None,
                    p: None,
                })));
            }
            StreamEvent::Usage(usage) => frames.push(Frame::meta(frame(&StreamChunk {
                response: String::new(),
                tool_calls: None,
                usage: Some(usage.into()),
                p: None,
            }))),
            _ => {}
        }
    }
    frames.push(Frame::meta(sse::DONE));
    reply::stream(frames, &scenario, "text/event-stream")
}

async fn embeddings(
    mock: &Mock,
    model: &str,
    headers: &HeaderMap,
    query: Option<&str>,
    body: &[u8],
) -> Response {
    let (req, pooling) = match input::embed_request(model, body) {
        Ok(r) => r,
        Err(refusal) => return refused(refusal),
    };
    let scenario = match reply::prelude(mock, model, headers, query, error).await {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    if scenario.malformed {
        return reply::malformed("application/json");
    }
    let dims = Dimensions::of(model, mock.config.embedding_dims.unwrap_or(256));
    let light = offload::embed_is_light(&req, dims);
    let model = model.to_owned();
    let written = offload::run(light, move |cancel| {
        let out = embedding::embed(&req, &model, dims, &Limits::DEFAULT, cancel)?;
        reply::to_json(&Envelope::ok(output::embed_result(out, pooling)))
    })
    .await;
    match written {
        Ok(body) => reply::json_text(body, &scenario),
        Err(stop) => reply::stopped(&stop, error),
    }
}

/// `POST /client/v4/accounts/{account}/ai/v1/chat/completions`: OpenAI's format, the model
/// from the body.
pub(crate) async fn compat_chat(
    State(mock): State<Arc<Mock>>,
    Path(account): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    if let Err(resp) = authorize(&mock, &headers, &account) {
        return resp;
    }
    crate::openai::answer_chat(&mock, None, &headers, query.as_deref(), &body).await
}

/// `POST /client/v4/accounts/{account}/ai/v1/embeddings`: OpenAI's format.
pub(crate) async fn compat_embeddings(
    State(mock): State<Arc<Mock>>,
    Path(account): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    if let Err(resp) = authorize(&mock, &headers, &account) {
        return resp;
    }
    let openai_error = crate::openai::error;
    let parsed: oai::EmbeddingRequest = match serde_json::from_slice(&body) {
        Ok(p) => p,
        Err(e) => return openai_error(StatusCode::BAD_REQUEST, &format!("invalid body: {e}")),
    };
    let base64 = match parsed.encoding_format.as_deref() {
        None | Some("float") => false,
        Some("base64") => true,
        Some(other) => {
            return openai_error(
                StatusCode::BAD_REQUEST,
                &format!("encoding_format \"{other}\" is not one of float, base64"),
            );
        }
    };
    let req = match oai::embedding_request_to_canonical(parsed) {
        Ok(r) => r,
        Err(e) => return openai_error(StatusCode::BAD_REQUEST, &e.message),
    };
    let model = req.model.clone();
    let dims = match crate::openai::dimensions(&mock, &model, &req) {
        Ok(dims) => dims,
        Err(resp) => return resp,
    };
    let scenario =
        match reply::prelude(&mock, &model, &headers, query.as_deref(), openai_error).await {
            Ok(s) => s,
            Err(resp) => return resp,
        };
    if scenario.malformed {
        return reply::malformed("application/json");
    }
    crate::openai::embeddings_answer(req, model, dims, base64, &scenario).await
}
