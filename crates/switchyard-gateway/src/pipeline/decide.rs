//! Phase 4, decide: the key's checks (model, data classes, the tokens charged to its rate),
//! then the route class (`x-switchyard-class`, then `metadata.route_class`, then the key's
//! default, then the alias's or profile's), the region (`x-switchyard-region`), breaker health
//! and the clock into the pure `decide`, and the decision (the whole `Decision`: plan, limits,
//! a reason per target, the input digest) or the refusal recorded with what classification
//! raised. The request's context learns its class, profile and deadline. The decision event
//! holds the policy's words and names, never the request's content.

use super::{Request, RequestCtx, spans};
use crate::budgets::Spender;
use crate::config::ModelKind;
use crate::error::ApiError;
use crate::health::now_ms;
use crate::state::AppState;
use serde::Serialize;
use std::time::Duration;
use switchyard_evidence::{Draft, EventKind, EventLog};
use switchyard_policy::{
    Classification, DataClasses, Decision, DecisionInput, Refusal, RequestSummary, RouteClassError,
};

/// A request decided: where it goes, and its estimated input tokens.
pub struct Decided {
    pub decision: Decision,
    pub input_tokens: u64,
}

/// The kind of model the request needs.
pub fn kind(request: &Request) -> ModelKind {
    match request {
        Request::Chat(_) => ModelKind::Chat,
        Request::Embed(_) => ModelKind::Embedding,
    }
}

/// Checks what the key allows, decides, and records the decision or the refusal.
pub async fn decide(
    state: &AppState,
    ctx: &mut RequestCtx,
    request: &Request,
    classification: &Classification,
) -> Result<Decided, ApiError> {
    let summary = request.summary();
    let input_tokens = summary.estimated_input_tokens;
    key_allows(
        state,
        ctx,
        request.model(),
        classification.classes,
        input_tokens,
    )?;
    let live = ctx.live.clone();
    live.registry.check_kind(&summary.model, kind(request))?;
    let asked = Asked {
        metadata_class: match request {
            Request::Chat(req) => req.metadata.get("route_class").map(String::as_str),
            Request::Embed(_) => None,
        },
    };
    let decided = route(state, ctx, summary, classification.classes, &asked);
    let decision = match decided {
        Ok(d) => {
            record(&state.events, ctx, Ok(&d), classification).await;
            d
        }
        Err(NotDecided::Refused(r)) => {
            record(&state.events, ctx, Err(&r), classification).await;
            return Err(r.into());
        }
        Err(NotDecided::Malformed(e)) => return Err(e),
    };
    Ok(Decided {
        decision,
        input_tokens,
    })
}

/// Checks what the caller's key allows of this request (model, data classes) and charges its
/// estimated input tokens to the key's rate.
fn key_allows(
    state: &AppState,
    ctx: &mut RequestCtx,
    model: &str,
    classes: DataClasses,
    estimated_tokens: u64,
) -> Result<(), ApiError> {
    let Some(principal) = ctx.principal.clone() else {
        return Ok(());
    };
    principal.policy.check_model(model)?;
    principal.policy.check_data_classes(classes)?;
    state.admission.charge_tokens(&principal, estimated_tokens);
    ctx.charged_tokens = estimated_tokens;
    Ok(())
}

/// Who pays for the request, as budgets see it.
pub fn spender(ctx: &RequestCtx) -> Spender<'_> {
    Spender {
        tenant: &ctx.tenant,
        key: ctx.principal.as_ref().and_then(|p| p.key_id.as_deref()),
        route_class: &ctx.route_class,
        tags: &ctx.directives.metadata,
    }
}

/// What the client asked of routing besides the model and headers.
#[derive(Debug, Default)]
struct Asked<'a> {
    /// `metadata.route_class` of the body.
    metadata_class: Option<&'a str>,
}

/// Why no decision was made: a malformed header or a key's limit (no refusal of the profile
/// to record), or a policy refusal.
enum NotDecided {
    Malformed(ApiError),
    Refused(Refusal),
}

/// Decides where the request goes, under the profile the request pinned.
fn route(
    state: &AppState,
    ctx: &mut RequestCtx,
    request: RequestSummary,
    data_classes: DataClasses,
    asked: &Asked<'_>,
) -> Result<Decision, NotDecided> {
    let live = ctx.live.clone();
    let profile = &live.profile;
    ctx.profile = profile.id();
    let malformed = NotDecided::Malformed;
    let class_header = ctx.directives.class.clone();
    let class_header = class_header.as_deref();
    let metadata = asked
        .metadata_class
        .map(|c| serde_json::json!({ "route_class": c }));
    let declared = profile
        .classes()
        .from_request(class_header, metadata.as_ref())
        .map_err(|e| {
            let param = if class_header.is_some() {
                "x-switchyard-class"
            } else {
                "metadata.route_class"
            };
            let message = match e {
                RouteClassError::Unknown(u) => u.to_string(),
                other => other.to_string(),
            };
            NotDecided::Malformed(ApiError::BadRequest {
                message,
                param: Some(param.into()),
            })
        })?;
    let key = ctx.principal.clone();
    let key = key.as_deref().map(|p| &p.policy);
    let key_class = key.and_then(|k| k.default_class.as_deref());
    let route_class = match (declared, key_class) {
        (Some(c), _) => c,
        // A key outlives profiles: its default class may be one the active profile lacks.
        // The client can still be served by declaring a class, so it is told how.
        (None, Some(k)) => profile.classes().parse(k).map_err(|e| {
            NotDecided::Malformed(ApiError::BadRequest {
                message: format!(
                    "this API key's default route class is not in profile {}: {e}; declare a class with x-switchyard-class, or have the key's policy changed",
                    profile.id()
                ),
                param: Some("x-switchyard-class".into()),
            })
        })?,
        (None, None) => profile.default_class(&request.model).clone(),
    };
    ctx.route_class.clone_from(&route_class.name);
    let region = ctx.directives.region.clone();
    let region = region.as_deref();
    if let Some(key) = key {
        key.check_class(&route_class.name).map_err(malformed)?;
        key.check_region(region).map_err(malformed)?;
    }
    let now = now_ms();
    let input = DecisionInput {
        request,
        route_class,
        data_classes,
        request_region: region.map(str::to_owned),
        key_region: key.and_then(|k| k.region.clone()),
        profile,
        budget: state.budgets.state_for(&spender(ctx), now),
        health: state.breakers.snapshot(now),
        now_ms: now,
    };
    let decision = switchyard_policy::decide(&input).map_err(NotDecided::Refused)?;
    let budget = ctx.started + Duration::from_millis(decision.timeouts.total_ms);
    ctx.deadline = ctx.deadline.min(budget);
    Ok(decision)
}

/// Records the routing decision (the whole `Decision`: plan, limits, a reason per target, the
/// input digest) or the refusal, with what classification raised.
async fn record(
    log: &EventLog,
    ctx: &RequestCtx,
    decision: Result<&Decision, &Refusal>,
    c: &Classification,
) {
    spans::decided(ctx, decision, c);
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
    let payload = DecisionFacts {
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

// The decision event, serialised straight to JSON text (fields in alphabetical order).

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
struct DecisionFacts<'a> {
    data_classes: DataClasses,
    decision: Routing<'a>,
    decision_id: &'a str,
    outcome: &'static str,
    profile: &'a str,
    raised_by_classification: Option<Raised<'a>>,
    requested: &'a str,
    route_class: &'a str,
}
