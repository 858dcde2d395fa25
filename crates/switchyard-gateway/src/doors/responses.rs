//! `POST /v1/responses`: OpenAI's Responses API, stateless, plain and streaming, over every
//! provider family. A whole answer is a `Response` object; a stream is the numbered Responses
//! events (`event: response.created` … `response.completed`), and one that fails part-way
//! ends with `response.failed` and no `response.completed`: never a silent success.
//!
//! Never stores a response: the answer says `store: false`, and state the API keeps
//! (`previous_response_id`, `conversation`, `background`) is refused as not supported yet.

use crate::error::ApiError;
use crate::pipeline::respond::{frames, json_answer, sse};
use crate::pipeline::{Answer, Door, DoorKind, Request};
use axum::response::{IntoResponse, Response};
use std::sync::{Arc, Mutex};
use switchyard_protocol::responses::{
    self, CreateResponse, EventEncoder, ResponseIds, ResponseParams, StreamEventWire,
};
use switchyard_protocol::{StreamEvent, sse};

/// The OpenAI Responses door. What the answer repeats of the request (its parameters) is what
/// the door keeps from parse to render.
#[derive(Debug, Default)]
pub struct Responses;

impl Door for Responses {
    const KIND: DoorKind = DoorKind::Responses;

    type Kept = ResponseParams;

    fn parse(&self, body: &[u8]) -> Result<(Request, ResponseParams), ApiError> {
        let wire: CreateResponse = switchyard_protocol::body::parse(body)?;
        let (request, params) = responses::request_to_canonical(wire)?;
        Ok((Request::Chat(request), params))
    }

    fn render(&self, request: &Request, params: &ResponseParams, answer: Answer) -> Response {
        let Request::Chat(_) = request else {
            return self.error(Answer::mismatch(Self::KIND));
        };
        let ids = new_ids();
        match answer {
            Answer::Chat(resp) => {
                json_answer(&responses::response_from_canonical(&resp, params, &ids))
            }
            Answer::Stream(first, rest, recorder) => {
                let encoder = Arc::new(Mutex::new(EventEncoder::new(params.clone(), ids)));
                let (enc, failing) = (encoder.clone(), encoder.clone());
                let encode = move |event: &StreamEvent, out: &mut Vec<u8>| {
                    if let Ok(mut e) = enc.lock() {
                        out.extend_from_slice(frames_of(&e.encode(event)).as_bytes());
                    }
                };
                let on_error = move |e: ApiError| {
                    let code = match e.status().as_u16() {
                        429 => "rate_limit_exceeded",
                        _ => "server_error",
                    };
                    match failing.lock() {
                        Ok(mut enc) => frames_of(&enc.fail(code, &e.message())),
                        Err(_) => String::new(),
                    }
                };
                let on_end = move || match encoder.lock() {
                    Ok(mut e) => frames_of(&e.finish()),
                    Err(_) => String::new(),
                };
                sse(frames(first, rest, encode, on_error, on_end, recorder))
            }
            Answer::Embed(_) => self.error(Answer::mismatch(Self::KIND)),
        }
    }

    fn error(&self, error: ApiError) -> Response {
        error.into_response()
    }
}

/// A fresh response id (`resp_` and the gateway's unique id text) and the time it is made.
fn new_ids() -> ResponseIds {
    let id = crate::ids::new_id("resp");
    let created_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    ResponseIds::new(id.strip_prefix("resp_").unwrap_or(&id), created_at)
}

/// Responses events as SSE frames, each named by its type.
fn frames_of(events: &[StreamEventWire]) -> String {
    events
        .iter()
        .map(|e| {
            sse::frame(
                Some(e.name()),
                &serde_json::to_string(e).unwrap_or_default(),
            )
        })
        .collect()
}
