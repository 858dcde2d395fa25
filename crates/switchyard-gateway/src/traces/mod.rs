//! Traces: one span per request and one child span per upstream attempt, with the
//! OpenTelemetry GenAI attributes (`gen_ai.*`) and the decision's metadata (`switchyard.*`),
//! exported over OTLP when an endpoint is configured ([`export`]). The pipeline makes and fills
//! the spans (`pipeline::spans`); this module names their attributes and exports them. A span never holds a prompt,
//! a completion, a header, a key or an upstream error message: only names, ids, counts, kinds
//! and the policy's own words. Without an exporter the spans are disabled at their callsites.

pub mod export;

/// The target of every span made here: the exporter selects on it, the log output leaves it out.
pub const TARGET: &str = "switchyard::traces";

/// Span attribute names. The `gen_ai.*` ones follow the OpenTelemetry GenAI conventions (our
/// own constants: the crate's are deprecated), shared with the metrics where both have them.
pub mod attr {
    pub use switchyard_evidence::telemetry::names::{
        ERROR_TYPE, OPERATION, PROVIDER, REQUEST_MODEL, RESPONSE_MODEL, ROUTE_CLASS,
        STATUS as HTTP_STATUS, TENANT,
    };
    /// Read by the OpenTelemetry layer: the span's name, kind and status.
    pub const SPAN_NAME: &str = "otel.name";
    pub const SPAN_KIND: &str = "otel.kind";
    pub const SPAN_STATUS: &str = "otel.status_code";
    pub const INPUT_TOKENS: &str = "gen_ai.usage.input_tokens";
    pub const OUTPUT_TOKENS: &str = "gen_ai.usage.output_tokens";
    pub const REQUEST_ID: &str = "switchyard.request_id";
    pub const DECISION_ID: &str = "switchyard.decision_id";
    pub const DOOR: &str = "switchyard.door";
    pub const PROFILE: &str = "switchyard.profile";
    pub const DATA_CLASSES: &str = "switchyard.data_classes";
    pub const REASONS: &str = "switchyard.reasons";
    pub const OUTCOME: &str = "switchyard.outcome";
    pub const ATTEMPTS: &str = "switchyard.attempts";
    pub const ATTEMPT: &str = "switchyard.attempt";
    pub const TARGET_MODEL: &str = "switchyard.target";
    pub const CANCELLED: &str = "switchyard.cancelled";
    pub const ABANDONED: &str = "switchyard.abandoned";
    pub const TTFT_MS: &str = "switchyard.ttft_ms";
}
