//! Switchyard's protocol: the canonical request/response/stream model every front door and
//! provider translates through, the OpenAI and Anthropic wire types, SSE framing and error
//! bodies. Pure data and conversions: this crate never does I/O.
#![forbid(unsafe_code)]

pub mod anthropic;
pub mod body;
pub mod canonical;
pub mod error;
mod excerpt;
pub mod json;
pub mod openai;
pub mod responses;
pub mod sse;
pub mod vector;

pub use canonical::*;
pub use error::{ErrorKind, ProviderError};
pub use excerpt::{EXCERPT_CHARS, excerpt, visible};
