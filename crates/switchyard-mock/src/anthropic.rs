//! Anthropic's Messages endpoint: a key (`x-api-key` or bearer) and `anthropic-version` required,
//! `max_tokens` required, errors as `{"type":"error","error":{...}}`, streams as named SSE
//! events from `message_start` to `message_stop` with a `ping` after the start.

use crate::reply::{self, Frame};
use crate::{Mock, offload, synth};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use switchyard_protocol::anthropic::{self as wire, EventEncoder, StreamEventWire};
use switchyard_protocol::error::AnthropicErrorBody;
use switchyard_protocol::sse;

pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    let body = AnthropicErrorBody::new(
        AnthropicErrorBody::type_for_status(status.as_u16()),
        message,
    );
    (status, axum::Json(body)).into_response()
}

pub(crate) async fn messages(
    State(mock): State<Arc<Mock>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    // The API takes the key in `x-api-key`, or as a bearer token (what the current official
    // SDK sends).
    let presented = reply::credential(&headers, "x-api-key")
        .or_else(|| reply::credential(&headers, "authorization"));
    if !reply::accepted(&mock, presented) {
        return error(StatusCode::UNAUTHORIZED, "invalid x-api-key");
    }
    if headers.get("anthropic-version").is_none() {
        return error(
            StatusCode::BAD_REQUEST,
            "anthropic-version: header is required",
        );
    }
    let parsed: wire::MessagesRequest = match serde_json::from_slice(&body) {
        Ok(p) => p,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("invalid request body: {e}"),
            );
        }
    };
    if let Some(unknown) = parsed
        .extra
        .keys()
        .find(|k| !["thinking", "service_tier", "container", "mcp_servers"].contains(&k.as_str()))
    {
        return error(
            StatusCode::BAD_REQUEST,
            &format!("{unknown}: Extra inputs are not permitted"),
        );
    }
    let req = match wire::request_to_canonical(parsed) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e.message),
    };
    let model = req.model.clone();
    let scenario = match reply::prelude(&mock, &model, &headers, query.as_deref(), error).await {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    if scenario.malformed && !req.stream {
        return reply::malformed("application/json");
    }
    let shape = synth::Shape::of(&scenario);
    let resp = match offload::chat(&req, &model, shape).await {
        Ok(resp) => resp,
        Err(stop) => return reply::stopped(&stop, error),
    };
    if !req.stream {
        return reply::json(&wire::response_from_canonical(&resp, &model), &scenario);
    }
    let mut encoder = EventEncoder::new(&model);
    let mut frames = Vec::new();
    let push = |frames: &mut Vec<Frame>, event: &StreamEventWire, content: bool| {
        let data = serde_json::to_string(event).unwrap_or_default();
        let bytes = sse::frame(Some(event.name()), &data);
        frames.push(if content {
            Frame::content(bytes)
        } else {
            Frame::meta(bytes)
        });
    };
    for event in synth::stream_events(&resp, scenario.chunks) {
        let content =
            matches!(event, switchyard_protocol::StreamEvent::Text { .. }) || event.is_content();
        let is_start = matches!(event, switchyard_protocol::StreamEvent::Start { .. });
        for wire_event in encoder.encode(&event) {
            let mut wire_event = wire_event;
            if let StreamEventWire::MessageStart { message } = &mut wire_event {
                // The real API reports the input tokens at the start.
                message.usage = wire::usage_to_wire(&resp.usage);
                message.usage.output_tokens = 1;
            }
            push(&mut frames, &wire_event, content);
        }
        if is_start {
            push(&mut frames, &StreamEventWire::Ping, false);
        }
    }
    for wire_event in encoder.finish() {
        push(&mut frames, &wire_event, false);
    }
    reply::stream(frames, &scenario, "text/event-stream")
}
