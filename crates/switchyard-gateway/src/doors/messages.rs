//! `POST /v1/messages`: the Anthropic door, plain and streaming, answering in Anthropic's
//! format (errors included) whatever provider serves the request. A stream ends in
//! `message_stop`; one that fails part-way ends with an `error` event and no `message_stop`.

use crate::error::ApiError;
use crate::pipeline::respond::{frames, json_answer, sse};
use crate::pipeline::{Answer, Door, DoorKind, Request};
use axum::response::Response;
use std::sync::{Arc, Mutex};
use switchyard_protocol::anthropic::{self, EventEncoder, MessagesRequest, StreamEventWire};
use switchyard_protocol::{StreamEvent, sse};

/// The Anthropic Messages door.
#[derive(Debug, Default)]
pub struct Messages;

impl Door for Messages {
    const KIND: DoorKind = DoorKind::Messages;

    type Kept = ();

    fn parse(&self, body: &[u8]) -> Result<(Request, ()), ApiError> {
        let wire: MessagesRequest = switchyard_protocol::body::parse(body)?;
        Ok((Request::Chat(anthropic::request_to_canonical(wire)?), ()))
    }

    fn render(&self, request: &Request, _: &(), answer: Answer) -> Response {
        let Request::Chat(req) = request else {
            return self.error(Answer::mismatch(Self::KIND));
        };
        match answer {
            Answer::Chat(resp) => {
                json_answer(&anthropic::response_from_canonical(&resp, &req.model))
            }
            Answer::Stream(first, rest, recorder) => {
                let encoder = Arc::new(Mutex::new(EventEncoder::new(&req.model)));
                let enc = encoder.clone();
                let encode = move |event: &StreamEvent, out: &mut Vec<u8>| {
                    if let Ok(mut e) = enc.lock() {
                        out.extend_from_slice(render(e.encode(event)).as_bytes());
                    }
                    if matches!(event, StreamEvent::Start { .. }) {
                        out.extend_from_slice(render(vec![StreamEventWire::Ping]).as_bytes());
                    }
                };
                let on_error = |e: ApiError| {
                    let body = e.anthropic_body();
                    sse::frame(
                        Some("error"),
                        &serde_json::to_string(&body).unwrap_or_default(),
                    )
                };
                let on_end = move || match encoder.lock() {
                    Ok(mut e) => render(e.finish()),
                    Err(_) => String::new(),
                };
                sse(frames(first, rest, encode, on_error, on_end, recorder))
            }
            Answer::Embed(_) => self.error(Answer::mismatch(Self::KIND)),
        }
    }

    fn error(&self, error: ApiError) -> Response {
        error.into_anthropic_response()
    }
}

/// Anthropic events as SSE frames, each named by its type.
fn render(events: Vec<StreamEventWire>) -> String {
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
