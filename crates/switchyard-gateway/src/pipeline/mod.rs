//! The request path every door shares. Today its phases are spread over `routes` (doors and
//! their prelude), `routing` (decide), `execute` and `evidence`; they move here one by one. In
//! order:
//!
//! 1. **admit**: the key to a tenant and its rates, the Switchyard headers into
//!    [`Directives`], and the config snapshot the request pins ([`RequestCtx::live`]);
//! 2. **parse**: the door's wire body into the canonical operation;
//! 3. **classify**: data classes, declared and found;
//! 4. **decide**: the route class, the key's checks, the profile's `Decision`;
//! 5. **prepare**: payload policy, budget hold, upstream redaction, heavy-context slot;
//! 6. **execute**: the plan's attempts;
//! 7. **record**: attempts and outcome as evidence, budgets settled, metrics and spans;
//! 8. **respond**: the door's wire format and the `x-switchyard-*` answer headers.
//!
//! Never reads a request header after admission, and never reads the live config again after
//! the request pinned its own.

mod directives;
pub mod record;

pub use directives::Directives;

use crate::server::Live;
use std::sync::Arc;
use std::time::Instant;

/// What one request carries through the pipeline.
#[derive(Debug, Clone)]
pub struct RequestCtx {
    /// The front door: `chat`, `messages` or `embeddings`.
    pub door: &'static str,
    pub request_id: String,
    pub decision_id: String,
    pub started: Instant,
    /// When the whole request must be done (all attempts included).
    pub deadline: Instant,
    /// The model name as the client sent it.
    pub requested_model: String,
    /// The route class it runs under (`none` until decided).
    pub route_class: String,
    /// `name@version` of the profile its decision used (empty until decided).
    pub profile: String,
    /// The tenant it was admitted for (`none` until admitted).
    pub tenant: String,
    /// Who it was admitted as, and what their key allows.
    pub principal: Option<Arc<crate::admission::Principal>>,
    /// Tokens charged to the key's rate at admission, settled with the real usage.
    pub charged_tokens: u64,
    /// Its class demands durable evidence: the answer waits until its outcome is committed.
    pub durable: bool,
    /// Whether its payloads are kept as artifacts, and how (decided after routing).
    pub payloads: Option<crate::artifacts::Keep>,
    /// The request's hold on its budgets, settled with its real cost when it ends.
    pub budget: Option<Arc<crate::budgets::Hold>>,
    /// Its trace span (see [`crate::traces`]); disabled when no exporter runs.
    pub span: tracing::Span,
    /// The config and profile it pinned when it arrived: every phase reads these, so a reload
    /// mid-request changes nothing of it.
    pub live: Arc<Live>,
    /// Its Switchyard headers, parsed at admission.
    pub directives: Directives,
}
