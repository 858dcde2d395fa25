//! What a door is: a wire format on one route. It turns its body into the canonical
//! [`Request`] and renders a served [`Answer`] (whole or streamed) and an error in its own
//! format; it never admits, classifies, decides, redacts, executes or records (the pipeline
//! does, the same for every door). A new door is one file that implements [`Door`], and a route.

use super::{Answer, DoorKind, Request};
use crate::error::ApiError;
use axum::response::Response;

/// A front door of the gateway.
pub trait Door: Default + Send + Sync + 'static {
    /// Which door this is, for records, spans and metrics.
    const KIND: DoorKind;

    /// What the door keeps of its wire request, beyond the canonical one, to render the answer
    /// (the Responses API repeats the request's parameters in its answer); `()` for most.
    type Kept: Send + Sync;

    /// The wire body as the canonical request and what the door keeps of it; a bad body is a
    /// 400 naming what is wrong.
    fn parse(&self, body: &[u8]) -> Result<(Request, Self::Kept), ApiError>;

    /// A served answer in the door's wire format (the pipeline adds the headers).
    fn render(&self, request: &Request, kept: &Self::Kept, answer: Answer) -> Response;

    /// An error in the door's wire format.
    fn error(&self, error: ApiError) -> Response;
}
