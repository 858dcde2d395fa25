//! Bedrock Runtime: `POST /model/{modelId}/converse`, `/converse-stream` (an
//! `application/vnd.amazon.eventstream` body, one JSON event per frame) and `/invoke` for Titan
//! Text Embeddings. Requests must carry a SigV4 signature that verifies against the configured
//! key pair (or a Bedrock API key as a bearer token); errors are Bedrock's: a status, the
//! `x-amzn-ErrorType` header and `{"message"}`.

mod sigv4;
mod wire;

use crate::embedding::Dimensions;
use crate::reply::{self, Frame};
use crate::{Mock, offload, synth};
use aws_smithy_eventstream::frame::write_message_to;
use aws_smithy_types::event_stream::{Header, HeaderValue as FrameValue, Message};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::time::SystemTime;
use switchyard_protocol::{EmbedEncoding, EmbedRequest, StreamEvent};

const EVENTSTREAM: &str = "application/vnd.amazon.eventstream";
/// Titan Text Embeddings V2's default vector size.
const TITAN_DIMENSIONS: u32 = 1024;

/// An error as Bedrock sends it.
fn exception(status: StatusCode, name: &str, message: &str) -> Response {
    let mut resp = (status, axum::Json(json!({ "message": message }))).into_response();
    let namespace = if status == StatusCode::FORBIDDEN {
        "com.amazon.coral.service"
    } else {
        "com.amazon.bedrock"
    };
    let kind = format!("{name}:http://internal.amazon.com/coral/{namespace}/");
    if let Ok(v) = HeaderValue::from_str(&kind) {
        resp.headers_mut().insert("x-amzn-errortype", v);
    }
    with_request_id(resp, message)
}

/// The exception Bedrock answers with for a status (scripted failures name only a status).
pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    let name = match status.as_u16() {
        403 => "AccessDeniedException",
        404 => "ResourceNotFoundException",
        408 => "ModelTimeoutException",
        424 => "ModelErrorException",
        429 => "ThrottlingException",
        503 => "ServiceUnavailableException",
        500..=599 => "InternalServerException",
        _ => "ValidationException",
    };
    exception(status, name, message)
}

fn with_request_id(mut resp: Response, seed: &str) -> Response {
    let mut h = DefaultHasher::new();
    seed.hash(&mut h);
    SystemTime::now().hash(&mut h);
    let n = h.finish();
    let id = format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        n >> 32,
        (n >> 16) & 0xffff,
        n & 0xfff,
        (n >> 20) & 0xfff,
        n & 0xffff_ffff_ffff
    );
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert("x-amzn-requestid", v);
    }
    resp
}

/// Checks the request's credentials (a SigV4 signature, or a Bedrock API key); `Some` is the
/// refusal to answer with.
fn refusal(
    mock: &Mock,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Option<Response> {
    let forbidden = StatusCode::FORBIDDEN;
    let unrecognized = || {
        exception(
            forbidden,
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        )
    };
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Some(exception(
            forbidden,
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        ));
    };
    if let Some(token) = value.strip_prefix("Bearer ") {
        return (!reply::accepted(mock, Some(token.trim()))).then(unrecognized);
    }
    let received = sigv4::Received {
        method: method.as_str(),
        path: uri.path(),
        query: uri.query(),
        authority: uri.authority().map(|a| a.as_str()),
        headers,
        body,
    };
    let config = &mock.config;
    sigv4::verify(
        &received,
        value,
        config.api_key.as_deref(),
        config.aws_secret_access_key.as_deref(),
        SystemTime::now(),
    )
    .err()
    .map(|rejection| match rejection {
        sigv4::Rejection::UnknownKey => unrecognized(),
        sigv4::Rejection::Incomplete(m) => exception(forbidden, "IncompleteSignatureException", &m),
        sigv4::Rejection::Invalid(m) => exception(forbidden, "InvalidSignatureException", &m),
    })
}

pub(crate) async fn converse(
    State(mock): State<Arc<Mock>>,
    Path(model): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    answer(&mock, model, &method, &uri, &headers, &body, false).await
}

pub(crate) async fn converse_stream(
    State(mock): State<Arc<Mock>>,
    Path(model): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    answer(&mock, model, &method, &uri, &headers, &body, true).await
}

async fn answer(
    mock: &Mock,
    model: String,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    stream: bool,
) -> Response {
    if let Some(resp) = refusal(mock, method, uri, headers, body) {
        return resp;
    }
    let bad = |m: &str| error(StatusCode::BAD_REQUEST, m);
    let input: wire::ConverseInput = match serde_json::from_slice(body) {
        Ok(i) => i,
        Err(e) => return bad(&format!("Malformed request body: {e}")),
    };
    let req = match wire::to_canonical(input, &model, stream) {
        Ok(r) => r,
        Err(m) => return bad(&m),
    };
    let started = std::time::Instant::now();
    let scenario = match reply::prelude(mock, &model, headers, uri.query(), error).await {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    if scenario.malformed && !stream {
        return reply::malformed("application/json");
    }
    let shape = synth::Shape::of(&scenario);
    let resp = match offload::chat(&req, &model, shape).await {
        Ok(resp) => resp,
        Err(stop) => return reply::stopped(&stop, error),
    };
    let latency_ms = started.elapsed().as_millis() as u64;
    if !stream {
        let out = wire::converse_output(&resp, latency_ms);
        return with_request_id(reply::json(&out, &scenario), &resp.id);
    }
    let frames = stream_frames(
        &synth::stream_events(&resp, scenario.chunks),
        &resp,
        latency_ms,
    );
    with_request_id(reply::stream(frames, &scenario, EVENTSTREAM), &resp.id)
}

/// One event frame: `:event-type`, `:content-type`, `:message-type` headers and a JSON
/// payload padded with the `p` member Bedrock adds so that sizes do not leak content.
fn event_frame(kind: &'static str, mut payload: Value, content: bool) -> Frame {
    const PAD: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let pad_len = 1 + payload.to_string().len() % (PAD.len() - 1);
    if let Some(obj) = payload.as_object_mut() {
        obj.insert("p".into(), Value::String(PAD[..pad_len].to_owned()));
    }
    let headers = vec![
        Header::new(":event-type", FrameValue::String(kind.into())),
        Header::new(
            ":content-type",
            FrameValue::String("application/json".into()),
        ),
        Header::new(":message-type", FrameValue::String("event".into())),
    ];
    let message = Message::new_from_parts(headers, payload.to_string().into_bytes());
    let mut bytes = Vec::new();
    if let Err(e) = write_message_to(&message, &mut bytes) {
        tracing::error!("cannot encode an event stream frame: {e}");
    }
    if content {
        Frame::content(bytes)
    } else {
        Frame::meta(bytes)
    }
}

/// The ConverseStream frames that deliver an answer. Text blocks open with their first delta
/// (Bedrock sends `contentBlockStart` only for tool use); every block ends with
/// `contentBlockStop`; `messageStop` and `metadata` close the stream.
fn stream_frames(
    events: &[StreamEvent],
    resp: &switchyard_protocol::ChatResponse,
    latency_ms: u64,
) -> Vec<Frame> {
    let mut frames = Vec::new();
    // (contentBlockIndex, is text) of the open block.
    let mut open: Option<(u32, bool)> = None;
    let mut next_index = 0u32;
    let close = |open: &mut Option<(u32, bool)>, frames: &mut Vec<Frame>| {
        if let Some((index, _)) = open.take() {
            frames.push(event_frame(
                "contentBlockStop",
                json!({ "contentBlockIndex": index }),
                false,
            ));
        }
    };
    for event in events {
        match event {
            StreamEvent::Start { .. } => {
                frames.push(event_frame(
                    "messageStart",
                    json!({"role": "assistant"}),
                    false,
                ));
            }
            StreamEvent::Text { text, .. } => {
                let index = match open {
                    Some((index, true)) => index,
                    _ => {
                        close(&mut open, &mut frames);
                        next_index += 1;
                        open = Some((next_index - 1, true));
                        next_index - 1
                    }
                };
                let delta = json!({"contentBlockIndex": index, "delta": {"text": text}});
                frames.push(event_frame("contentBlockDelta", delta, true));
            }
            StreamEvent::ToolCallStart { id, name, .. } => {
                close(&mut open, &mut frames);
                let index = next_index;
                next_index += 1;
                open = Some((index, false));
                let start = json!({
                    "contentBlockIndex": index,
                    "start": {"toolUse": {"toolUseId": id, "name": name}},
                });
                frames.push(event_frame("contentBlockStart", start, true));
            }
            StreamEvent::ToolCallArguments { arguments, .. } => {
                let index = open.map(|(i, _)| i).unwrap_or(next_index);
                let delta = json!({
                    "contentBlockIndex": index,
                    "delta": {"toolUse": {"input": arguments}},
                });
                frames.push(event_frame("contentBlockDelta", delta, true));
            }
            StreamEvent::Finish { reason, .. } => {
                close(&mut open, &mut frames);
                let stop = json!({"stopReason": wire::stop_reason(*reason)});
                frames.push(event_frame("messageStop", stop, false));
            }
            StreamEvent::Usage(_) => {
                let metadata = json!({
                    "usage": wire::usage(resp),
                    "metrics": {"latencyMs": latency_ms},
                });
                frames.push(event_frame("metadata", metadata, false));
            }
        }
    }
    frames
}

/// `InvokeModel`, for Titan Text Embeddings models (ids containing `embed`).
pub(crate) async fn invoke(
    State(mock): State<Arc<Mock>>,
    Path(model): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(resp) = refusal(&mock, &method, &uri, &headers, &body) {
        return resp;
    }
    let bad = |m: &str| error(StatusCode::BAD_REQUEST, m);
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    if !content_type.starts_with("application/json") {
        return bad(&format!(
            "Unsupported content type {content_type}; use application/json."
        ));
    }
    if !model.contains("embed") {
        return bad("The mock serves InvokeModel only for Titan Text Embeddings models.");
    }
    let input: wire::TitanEmbedIn = match serde_json::from_slice(&body) {
        Ok(i) => i,
        Err(e) => {
            return bad(&format!(
                "Malformed input request: {e}, please reformat your input and try again."
            ));
        }
    };
    if let Err(m) = wire::check_titan(&input) {
        return bad(&m);
    }
    let scenario = match reply::prelude(&mock, &model, &headers, uri.query(), error).await {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    if scenario.malformed {
        return reply::malformed("application/json");
    }
    let req = EmbedRequest {
        model: model.clone(),
        input: vec![input.input_text],
        dimensions: input.dimensions,
        user: None,
        encoding: EmbedEncoding::Float,
    };
    let dims = Dimensions::of(
        &model,
        mock.config.embedding_dims.unwrap_or(TITAN_DIMENSIONS),
    );
    let out = match offload::embed(&req, &model, dims).await {
        Ok(out) => out,
        Err(stop) => return reply::stopped(&stop, error),
    };
    let embedding = out.data.into_iter().next().unwrap_or_default();
    let mut by_type = std::collections::BTreeMap::new();
    let types = input
        .embedding_types
        .unwrap_or_else(|| vec!["float".into()]);
    if types.iter().any(|t| t == "float") {
        by_type.insert("float", wire::Vector::Float(embedding.clone()));
    }
    if types.iter().any(|t| t == "binary") {
        let bits: Vec<u8> = embedding.iter().map(|x| u8::from(*x > 0.0)).collect();
        by_type.insert("binary", wire::Vector::Binary(bits));
    }
    let body = wire::TitanEmbedOut {
        embedding,
        input_text_token_count: out.usage.input_tokens,
        embeddings_by_type: by_type,
    };
    with_request_id(reply::json(&body, &scenario), &model)
}
