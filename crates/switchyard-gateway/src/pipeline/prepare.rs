//! Phase 5, prepare: what the decision asks before anything leaves the gateway, in this order:
//! durable evidence (a compliance request is refused while the log cannot commit), a plan of
//! the kind the door needs, payload policy (kept or not, sealed or not), a price for every
//! target when a budget applies, the budget hold, upstream redaction, and a slot in the
//! heavy-context pool. Never sends upstream what its class redacts, whatever the door.

use super::execute::Operation;
use super::{Request, RequestCtx, decide};
use crate::error::ApiError;
use crate::pools::Slot;
use crate::state::AppState;
use std::sync::Arc;
use switchyard_policy::{BaseClass, Decision, RedactionPolicy};

/// The request as it will be sent, and the heavy-context slot to hold until its answer is
/// complete.
pub struct Prepared {
    /// The request as sent, redacted when its class demands it.
    pub request: Arc<Request>,
    pub slot: Option<Slot>,
}

impl Prepared {
    /// The operation the executor performs.
    pub fn operation(&self) -> Operation<'_> {
        match self.request.as_ref() {
            Request::Chat(req) if req.stream => Operation::Stream(req),
            Request::Chat(req) => Operation::Chat(req),
            Request::Embed(req) => Operation::Embed(req),
        }
    }
}

/// Prepares a decided request; the budget hold it takes goes into `ctx`, and the decision's
/// cost cap becomes the amount held.
pub async fn prepare(
    state: &AppState,
    ctx: &mut RequestCtx,
    request: &Arc<Request>,
    decision: &mut Decision,
) -> Result<Prepared, ApiError> {
    if decision.route_class.base == BaseClass::ComplianceConstrained {
        ctx.durable = true;
        if !state.events.healthy() {
            return Err(ApiError::Unavailable(
                "the evidence log cannot be written right now; compliance-constrained requests are refused until it recovers".into(),
            ));
        }
    }
    ctx.live.registry.check_plan_kind(
        &decision.requested,
        &mut decision.plan.targets().map(|c| &c.target),
        decide::kind(request),
    )?;
    let key_asks = ctx.principal.as_ref().and_then(|p| p.policy.log_payloads);
    ctx.payloads = state
        .artifacts
        .decide(key_asks.or(decision.log_payloads), ctx.durable)?;
    let spender = decide::spender(ctx);
    if let Some(budget) = state.budgets.scopes(&spender).first() {
        unpriced_under(ctx, budget, decision)?;
    }
    let ids = crate::budgets::Ids {
        request: &ctx.request_id,
        decision: &ctx.decision_id,
    };
    let hold = crate::budgets::reserve(&state.budgets, ids, &spender, decision).await?;
    ctx.budget = hold.map(Arc::new);
    let request = redact(ctx, request, decision);
    let slot = if decision.heavy_queue {
        Some(state.heavy.enter(ctx.deadline).await?)
    } else {
        None
    };
    Ok(Prepared { request, slot })
}

/// A budget cannot hold what it cannot price: a request under `budget` that may reach a model
/// nothing prices is refused before any attempt, saying how to price it.
fn unpriced_under(ctx: &RequestCtx, budget: &str, decision: &Decision) -> Result<(), ApiError> {
    let registry = &ctx.live.registry;
    let Some(target) = decision
        .plan
        .targets()
        .map(|c| &c.target)
        .find(|t| registry.price(t).is_none())
    else {
        return Ok(());
    };
    Err(ApiError::BadRequest {
        message: format!(
            "{} has no price, and this request falls under budget {budget}, which cannot hold what it cannot price; price it under [models.\"{}\"] or give [providers.{}] default_input_usd_per_mtok and default_output_usd_per_mtok",
            target.model, target.model, target.provider
        ),
        param: Some("model".into()),
    })
}

/// The request with what its class keeps from providers redacted (by the request's detectors).
fn redact(ctx: &RequestCtx, request: &Arc<Request>, decision: &Decision) -> Arc<Request> {
    if decision.redact_upstream.is_empty() {
        return request.clone();
    }
    let policy = RedactionPolicy::only(decision.redact_upstream);
    let detectors = &ctx.live.registry.config.detectors;
    Arc::new(match request.as_ref() {
        Request::Chat(req) => {
            Request::Chat(switchyard_policy::redact_request(req, detectors, &policy))
        }
        Request::Embed(req) => Request::Embed(switchyard_policy::redact_embed_request(
            req, detectors, &policy,
        )),
    })
}
