//! `POST /v1/embeddings`: the OpenAI embeddings door, floats or base64.

use crate::error::ApiError;
use crate::pipeline::respond::json_answer;
use crate::pipeline::{Answer, Door, DoorKind, Request};
use axum::response::{IntoResponse, Response};
use switchyard_protocol::openai::{self, EmbeddingRequest};

/// The OpenAI embeddings door.
#[derive(Debug, Default)]
pub struct Embeddings;

impl Door for Embeddings {
    const KIND: DoorKind = DoorKind::Embeddings;

    type Kept = ();

    fn parse(&self, body: &[u8]) -> Result<(Request, ()), ApiError> {
        let wire: EmbeddingRequest = switchyard_protocol::body::parse(body)?;
        Ok((
            Request::Embed(openai::embedding_request_to_canonical(wire)?),
            (),
        ))
    }

    fn render(&self, request: &Request, _: &(), answer: Answer) -> Response {
        match (request, answer) {
            (Request::Embed(req), Answer::Embed(resp)) => json_answer(
                &openai::embeddings_from_canonical(resp, req.model.clone(), req.encoding),
            ),
            _ => self.error(Answer::mismatch(Self::KIND)),
        }
    }

    fn error(&self, error: ApiError) -> Response {
        error.into_response()
    }
}
