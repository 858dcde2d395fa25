//! `POST /v1/chat/completions`: the OpenAI door, plain and streaming (`chat.completion.chunk`
//! events ending in `data: [DONE]`; a stream that fails part-way ends with an error event and
//! no `[DONE]`: never a silent success).

use crate::error::ApiError;
use crate::pipeline::respond::{frames, json_answer, sse};
use crate::pipeline::{Answer, Door, DoorKind, Request};
use axum::response::{IntoResponse, Response};
use switchyard_protocol::openai::{self, ChatCompletionRequest, ChunkEncoder};
use switchyard_protocol::{StreamEvent, sse};

/// The OpenAI chat completions door.
#[derive(Debug, Default)]
pub struct Chat;

impl Door for Chat {
    const KIND: DoorKind = DoorKind::Chat;

    type Kept = ();

    fn parse(&self, body: &[u8]) -> Result<(Request, ()), ApiError> {
        let wire: ChatCompletionRequest = switchyard_protocol::body::parse(body)?;
        Ok((Request::Chat(openai::request_to_canonical(wire)?), ()))
    }

    fn render(&self, request: &Request, _: &(), answer: Answer) -> Response {
        let Request::Chat(req) = request else {
            return self.error(Answer::mismatch(Self::KIND));
        };
        match answer {
            Answer::Chat(resp) => json_answer(&openai::response_from_canonical(&resp, &req.model)),
            Answer::Stream(first, rest, recorder) => {
                let mut encoder = ChunkEncoder::new(&req.model, req.include_usage);
                let n = req.n;
                let encode =
                    move |event: &StreamEvent, out: &mut Vec<u8>| encoder.write(event, n, out);
                let on_error = |e: ApiError| {
                    let body = e.openai_body();
                    sse::frame(None, &serde_json::to_string(&body).unwrap_or_default())
                };
                let on_end = || sse::DONE.to_owned();
                sse(frames(first, rest, encode, on_error, on_end, recorder))
            }
            Answer::Embed(_) => self.error(Answer::mismatch(Self::KIND)),
        }
    }

    fn error(&self, error: ApiError) -> Response {
        error.into_response()
    }
}
