//! The front doors: one file each, a wire format on one route. A door parses its body into the
//! canonical request and renders answers, streams and errors in its own format; the pipeline
//! (`crate::pipeline`) does everything in between, the same for every door. Adding a door is a
//! file here that implements `pipeline::Door`, and a route in `crate::server`.

pub mod chat;
pub mod embeddings;
pub mod messages;
pub mod responses;

pub use chat::Chat;
pub use embeddings::Embeddings;
pub use messages::Messages;
pub use responses::Responses;
