//! The request's trace spans: one per request, one child per upstream attempt, filled as the
//! phases learn the request (admitted, decided, ended). A span never holds a prompt, a
//! completion, a header, a key or an upstream error message: only names, ids, counts, kinds
//! and the policy's own words. Without an exporter the spans are disabled at their callsites.

use super::{DoorKind, RequestCtx};
use crate::traces::{TARGET, attr};
use switchyard_policy::{Classification, Decision, Refusal, Target};
use switchyard_protocol::ErrorKind;
use tracing::Span;
use tracing::field::Empty;

/// Longest `switchyard.reasons` summary, in bytes.
const REASONS_MAX: usize = 512;

/// The span of a request that has just arrived at `door`; its other attributes are recorded
/// as the pipeline learns them. It ends when the last handle to it is dropped: with the
/// handler for a whole answer, with the stream's recorder for a stream.
pub fn request_span(door: DoorKind, request_id: &str, decision_id: &str) -> Span {
    let op = door.operation();
    tracing::info_span!(
        target: TARGET,
        "request",
        { attr::SPAN_NAME } = op,
        { attr::SPAN_KIND } = "server",
        { attr::SPAN_STATUS } = Empty,
        { attr::OPERATION } = op,
        { attr::DOOR } = door.as_str(),
        { attr::REQUEST_ID } = request_id,
        { attr::DECISION_ID } = decision_id,
        { attr::REQUEST_MODEL } = Empty,
        { attr::TENANT } = Empty,
        { attr::DATA_CLASSES } = Empty,
        { attr::ROUTE_CLASS } = Empty,
        { attr::PROFILE } = Empty,
        { attr::OUTCOME } = Empty,
        { attr::REASONS } = Empty,
        { attr::PROVIDER } = Empty,
        { attr::RESPONSE_MODEL } = Empty,
        { attr::INPUT_TOKENS } = Empty,
        { attr::OUTPUT_TOKENS } = Empty,
        { attr::ATTEMPTS } = Empty,
        { attr::TTFT_MS } = Empty,
        { attr::ABANDONED } = Empty,
        { attr::HTTP_STATUS } = Empty,
        { attr::ERROR_TYPE } = Empty,
    )
}

/// Continues the caller's trace when the request carries a valid W3C `traceparent`: the
/// request span becomes a child of the caller's span. Only the ids and flags are taken (never
/// `tracestate`, which a client may fill with anything). Runs before the span starts, that is
/// before its first attempt.
pub fn continue_trace(ctx: &RequestCtx, directives: &super::Directives) {
    use opentelemetry::propagation::TextMapPropagator;
    use opentelemetry::trace::{SpanContext, TraceContextExt, TraceState};
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    if ctx.span.is_disabled() || directives.traceparent.is_none() {
        return;
    }
    let propagator = opentelemetry_sdk::propagation::TraceContextPropagator::new();
    let extracted = propagator.extract(directives);
    let caller = extracted.span().span_context().clone();
    if !caller.is_valid() {
        return;
    }
    let parent = SpanContext::new(
        caller.trace_id(),
        caller.span_id(),
        caller.trace_flags(),
        true,
        TraceState::default(),
    );
    let _ = ctx
        .span
        .set_parent(opentelemetry::Context::new().with_remote_span_context(parent));
}

/// Records what admission learnt: the model asked (which names the span `chat {model}`), the
/// tenant and the data classes found so far.
pub fn admitted(ctx: &RequestCtx, model: &str, classes: switchyard_policy::DataClasses) {
    let span = &ctx.span;
    if span.is_disabled() {
        return;
    }
    span.record(
        attr::SPAN_NAME,
        format!("{} {model}", ctx.door.operation()).as_str(),
    );
    span.record(attr::REQUEST_MODEL, model);
    span.record(attr::TENANT, ctx.tenant.as_str());
    span.record(attr::DATA_CLASSES, classes.to_string().as_str());
}

/// Records the decision's metadata (route class, profile, data classes, a summary of the
/// reasons), or the refusal's.
pub fn decided(ctx: &RequestCtx, decision: Result<&Decision, &Refusal>, c: &Classification) {
    let span = &ctx.span;
    if span.is_disabled() {
        return;
    }
    span.record(attr::ROUTE_CLASS, ctx.route_class.as_str());
    span.record(attr::PROFILE, ctx.profile.as_str());
    span.record(attr::DATA_CLASSES, c.classes.to_string().as_str());
    let summary = match decision {
        Ok(d) => {
            span.record(attr::OUTCOME, "routed");
            reasons_summary(&d.reasons, &d.notes)
        }
        Err(r) => {
            span.record(attr::OUTCOME, "refused");
            let kind = serde_json::to_value(r.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            format!("refused {kind}; {}", reasons_summary(&r.reasons, &[]))
        }
    };
    span.record(attr::REASONS, summary.as_str());
}

/// `"2 included, 1 excluded; note; note"`, cut at [`REASONS_MAX`] bytes. The reasons and notes
/// are the policy's words about targets and config, never request content.
pub fn reasons_summary(reasons: &[switchyard_policy::Reason], notes: &[String]) -> String {
    let included = reasons.iter().filter(|r| r.included).count();
    let mut out = format!("{included} included, {} excluded", reasons.len() - included);
    for note in notes {
        out.push_str("; ");
        out.push_str(note);
    }
    if out.len() > REASONS_MAX {
        let mut end = REASONS_MAX - 3;
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        out.truncate(end);
        out.push_str("...");
    }
    out
}

/// The span of one upstream attempt, a child of its request's. An attempt dropped before it
/// finished (a parallel candidate that lost its race) is marked `switchyard.cancelled`.
pub struct AttemptSpan {
    span: Span,
    finished: bool,
}

impl AttemptSpan {
    /// Starts the span of attempt `n` (1-based, in the order attempts start) at `target`.
    pub fn start(ctx: &RequestCtx, n: usize, target: &Target) -> Self {
        let op = ctx.door.operation();
        let name = format!("{op} {}", target.upstream_model);
        let span = tracing::info_span!(
            target: TARGET,
            parent: &ctx.span,
            "attempt",
            { attr::SPAN_NAME } = name.as_str(),
            { attr::SPAN_KIND } = "client",
            { attr::SPAN_STATUS } = Empty,
            { attr::OPERATION } = op,
            { attr::PROVIDER } = target.provider.as_str(),
            { attr::REQUEST_MODEL } = target.upstream_model.as_str(),
            { attr::TARGET_MODEL } = target.model.as_str(),
            { attr::ATTEMPT } = n as u64,
            { attr::REQUEST_ID } = ctx.request_id.as_str(),
            { attr::ERROR_TYPE } = Empty,
            { attr::CANCELLED } = Empty,
        );
        Self {
            span,
            finished: false,
        }
    }

    /// The span, to instrument the attempt's future with.
    pub fn span(&self) -> &Span {
        &self.span
    }

    /// Records how the attempt ended.
    pub fn finish(mut self, error: Option<ErrorKind>) {
        self.finished = true;
        if let Some(kind) = error {
            self.span.record(attr::ERROR_TYPE, kind.as_str());
            self.span.record(attr::SPAN_STATUS, "error");
        }
    }
}

impl Drop for AttemptSpan {
    fn drop(&mut self) {
        if !self.finished {
            self.span.record(attr::CANCELLED, true);
            // An exported span ends when it was last exited: a cancelled attempt's last poll
            // may be long past, so it is entered once more as it is cancelled.
            self.span.in_scope(|| {});
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_policy::Reason;

    fn reason(included: bool) -> Reason {
        Reason {
            model: "p/m".into(),
            region: None,
            included,
            why: "because".into(),
        }
    }

    #[test]
    fn reasons_are_counted_with_the_notes_and_bounded() {
        let reasons = [reason(true), reason(false), reason(true)];
        assert_eq!(
            reasons_summary(&reasons, &["region from the key".into()]),
            "2 included, 1 excluded; region from the key"
        );
        let long = vec!["é".repeat(400)];
        let s = reasons_summary(&reasons, &long);
        assert!(s.len() <= REASONS_MAX && s.ends_with("..."), "{}", s.len());
    }
}
