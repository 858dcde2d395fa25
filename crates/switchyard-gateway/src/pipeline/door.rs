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

    /// The wire body as the canonical request; a bad body is a 400 naming what is wrong.
    fn parse(&self, body: &[u8]) -> Result<Request, ApiError>;

    /// A served answer in the door's wire format (the pipeline adds the headers).
    fn render(&self, request: &Request, answer: Answer) -> Response;

    /// An error in the door's wire format.
    fn error(&self, error: ApiError) -> Response;
}
