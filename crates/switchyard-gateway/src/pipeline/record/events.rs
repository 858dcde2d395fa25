//! The record phase's evidence: the attempt and outcome events, drafted as structured facts.
//! Never a prompt, a completion, an upstream error message or a header: those can hold
//! personal data or secrets; error kinds, codes and parameters cannot.

use super::Ending;
use crate::pipeline::{AttemptRecord, RequestCtx};
use serde::Serialize;
use std::time::Duration;
use switchyard_evidence::{Draft, EventKind, EventLog};
use switchyard_protocol::{ErrorKind, Usage};

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
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
/// metrics and the span are the record phase's other steps ([`super::settle`], [`super::publish`]).
pub fn outcome(ctx: &RequestCtx, e: &Ending) -> Draft {
    let payload = Concluded {
        abandoned: e.abandoned,
        attempts: e.attempts,
        code: e.code.as_deref(),
        cost_usd: e.cost_usd(),
        decision_id: &ctx.decision_id,
        door: ctx.door.as_str(),
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
        unpriced: e.unpriced.then(|| unpriced(e)),
        tokenizer: e.usage_source.and_then(super::UsageSource::tokenizer),
        ttft_ms: e.ttft.map(ms),
        usage: e.usage.as_ref().map(UsageFacts::of),
        usage_source: e.usage_source.map(super::UsageSource::as_str),
    };
    Draft::of(EventKind::Outcome, Some(&ctx.request_id), &payload)
}

/// Why a served request has no cost.
fn unpriced(e: &Ending) -> String {
    let model = e.target.as_ref().map_or("the target", |t| t.model.as_str());
    format!(
        "{model} has no price: neither the config nor the shipped table prices it, and its provider has no default price"
    )
}

// Serialised straight to JSON text; fields in alphabetical order.

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
    /// The tokenizer of an estimated usage (absent when measured).
    #[serde(skip_serializing_if = "Option::is_none")]
    tokenizer: Option<String>,
    ttft_ms: Option<f64>,
    /// Why the request has no cost: the model that served it has no price (absent when priced).
    #[serde(skip_serializing_if = "Option::is_none")]
    unpriced: Option<String>,
    usage: Option<UsageFacts>,
    /// `measured` or `estimated`; absent when there is no usage.
    #[serde(skip_serializing_if = "Option::is_none")]
    usage_source: Option<&'static str>,
}
