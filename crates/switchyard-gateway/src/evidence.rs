//! What the gateway records about each request: admission, decision, attempts and outcome, as
//! structured facts. Never a prompt, a completion, an upstream error message or a header:
//! those can hold personal data or secrets; error kinds, codes and parameters cannot.

use crate::execute::AttemptRecord;
use crate::pipeline::RequestCtx;
use crate::pipeline::record::Ending;
use crate::traces;
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;
use switchyard_evidence::{Draft, EventKind, EventLog};
use switchyard_policy::{Classification, DataClasses, Decision, Finding, Refusal};
use switchyard_protocol::{ChatRequest, ErrorKind, Usage};

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

/// Records that a chat request was admitted, with its shape and data classes but none of its
/// content.
pub async fn admitted_chat(
    log: &EventLog,
    ctx: &RequestCtx,
    req: &ChatRequest,
    c: &Classification,
    attribution: &BTreeMap<String, String>,
) {
    traces::admitted(ctx, &ctx.requested_model, c.classes);
    let payload = AdmittedChat {
        attribution,
        data_classes: c.classes,
        declared_classes: c.declared,
        door: ctx.door,
        findings: &c.findings,
        max_tokens: req.max_tokens,
        messages: req.messages.len(),
        model: &ctx.requested_model,
        n: req.n,
        stream: req.stream,
        tools: req.tools.len(),
    };
    log.record(Draft::of(
        EventKind::Admission,
        Some(&ctx.request_id),
        &payload,
    ))
    .await;
}

/// Records an admitted embeddings request.
pub async fn admitted_embeddings(
    log: &EventLog,
    ctx: &RequestCtx,
    inputs: usize,
    classes: DataClasses,
    attribution: &BTreeMap<String, String>,
) {
    traces::admitted(ctx, &ctx.requested_model, classes);
    let payload = json!({
        "door": ctx.door,
        "model": ctx.requested_model,
        "inputs": inputs,
        "data_classes": classes,
        "attribution": attribution,
    });
    log.record(Draft::new(
        EventKind::Admission,
        Some(&ctx.request_id),
        payload,
    ))
    .await;
}

/// Records the routing decision (the whole `Decision`: plan, limits, a reason per target, the
/// input digest) or the refusal, with what classification raised.
pub async fn decided(
    log: &EventLog,
    ctx: &RequestCtx,
    decision: Result<&Decision, &Refusal>,
    c: &Classification,
) {
    traces::decided(ctx, decision, c);
    let raised = (!c.raised().is_empty()).then(|| {
        let mut detectors: Vec<&str> = c.findings.iter().map(|f| f.detector.as_str()).collect();
        detectors.sort_unstable();
        detectors.dedup();
        Raised {
            classes: c.raised(),
            detectors,
        }
    });
    let (outcome, body) = match decision {
        Ok(d) => ("routed", Routing::Routed(d)),
        Err(r) => ("refused", Routing::Refused(r)),
    };
    let payload = Decided {
        data_classes: c.classes,
        decision: body,
        decision_id: &ctx.decision_id,
        outcome,
        profile: &ctx.profile,
        raised_by_classification: raised,
        requested: &ctx.requested_model,
        route_class: &ctx.route_class,
    };
    log.record(Draft::of(
        EventKind::Decision,
        Some(&ctx.request_id),
        &payload,
    ))
    .await;
}

/// Records each upstream attempt.
pub async fn attempted(log: &EventLog, ctx: &RequestCtx, attempts: &[AttemptRecord]) {
    for (i, a) in attempts.iter().enumerate() {
        let payload = Attempted {
            cancelled: a.cancelled,
            decision_id: &ctx.decision_id,
            error_kind: a.error.map(ErrorKind::as_str),
            estimated_cost_usd: a.cancelled.then(|| a.estimated_cost as f64 / 1_000_000.0),
            latency_ms: ms(a.latency),
            model: &a.target.model,
            n: i + 1,
            ok: a.error.is_none() && !a.cancelled,
            provider: &a.target.provider,
        };
        log.record(Draft::of(
            EventKind::Attempt,
            Some(&ctx.request_id),
            &payload,
        ))
        .await;
    }
}

/// The outcome event of a request that ended as `e` says. Only drafts it: settling,
/// metrics and the span are the record phase's other steps ([`crate::pipeline::record`]).
pub fn outcome(ctx: &RequestCtx, e: &Ending) -> Draft {
    let payload = Concluded {
        abandoned: e.abandoned,
        attempts: e.attempts,
        code: e.code.as_deref(),
        cost_usd: e.cost_usd(),
        decision_id: &ctx.decision_id,
        door: ctx.door,
        error_kind: e.error.map(ErrorKind::as_str),
        latency_ms: ms(ctx.started.elapsed()),
        model: e.target.as_ref().map(|t| t.model.as_str()),
        param: e.param.as_deref(),
        profile: &ctx.profile,
        provider: e.target.as_ref().map(|t| t.provider.as_str()),
        route: &ctx.requested_model,
        route_class: &ctx.route_class,
        status: e.status,
        tenant: &ctx.tenant,
        ttft_ms: e.ttft.map(ms),
        usage: e.usage.as_ref().map(UsageFacts::of),
    };
    Draft::of(EventKind::Outcome, Some(&ctx.request_id), &payload)
}

// The payloads recorded on every request, serialised straight to JSON text. Fields are in
// alphabetical order, so the text is what a sorted JSON object of the same facts would be.

#[derive(Serialize)]
struct AdmittedChat<'a> {
    attribution: &'a BTreeMap<String, String>,
    data_classes: DataClasses,
    declared_classes: DataClasses,
    door: &'a str,
    findings: &'a [Finding],
    max_tokens: Option<u32>,
    messages: usize,
    model: &'a str,
    n: u32,
    stream: bool,
    tools: usize,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Routing<'a> {
    Routed(&'a Decision),
    Refused(&'a Refusal),
}

#[derive(Serialize)]
struct Raised<'a> {
    classes: DataClasses,
    detectors: Vec<&'a str>,
}

#[derive(Serialize)]
struct Decided<'a> {
    data_classes: DataClasses,
    decision: Routing<'a>,
    decision_id: &'a str,
    outcome: &'static str,
    profile: &'a str,
    raised_by_classification: Option<Raised<'a>>,
    requested: &'a str,
    route_class: &'a str,
}

#[derive(Serialize)]
struct Attempted<'a> {
    cancelled: bool,
    decision_id: &'a str,
    error_kind: Option<&'static str>,
    estimated_cost_usd: Option<f64>,
    latency_ms: f64,
    model: &'a str,
    n: usize,
    ok: bool,
    provider: &'a str,
}

#[derive(Serialize)]
struct UsageFacts {
    cache_write_tokens: u64,
    cached_input_tokens: u64,
    input_tokens: u64,
    output_tokens: u64,
    reasoning_tokens: u64,
}

impl UsageFacts {
    fn of(u: &Usage) -> Self {
        UsageFacts {
            cache_write_tokens: u.cache_write_tokens,
            cached_input_tokens: u.cached_input_tokens,
            input_tokens: u.input_tokens,
            output_tokens: u.output_tokens,
            reasoning_tokens: u.reasoning_tokens,
        }
    }
}

#[derive(Serialize)]
struct Concluded<'a> {
    abandoned: bool,
    attempts: usize,
    code: Option<&'a str>,
    cost_usd: Option<f64>,
    decision_id: &'a str,
    door: &'static str,
    error_kind: Option<&'static str>,
    latency_ms: f64,
    model: Option<&'a str>,
    param: Option<&'a str>,
    profile: &'a str,
    provider: Option<&'a str>,
    route: &'a str,
    route_class: &'a str,
    status: u16,
    tenant: &'a str,
    ttft_ms: Option<f64>,
    usage: Option<UsageFacts>,
}
