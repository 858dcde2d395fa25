//! From a classified request to its `Decision`: reads the route class (`x-switchyard-class`,
//! then `metadata.route_class`, then the tenant's key default, then the alias's or profile's
//! default) and the region (`x-switchyard-region`), gathers breaker health and the clock, and
//! calls the pure `decide`. The request's context learns its class, profile and deadline.

use crate::error::ApiError;
use crate::health::now_ms;
use crate::pipeline::RequestCtx;
use crate::server::{AppState, Live};
use std::time::Duration;
use switchyard_policy::{
    DataClasses, Decision, DecisionInput, Refusal, RequestSummary, RouteClassError,
};

/// What the client asked of routing besides the model and headers.
#[derive(Debug, Default)]
pub struct Asked<'a> {
    /// `metadata.route_class` of the body.
    pub metadata_class: Option<&'a str>,
}

/// Why no decision was made: a malformed header or a key's limit (no refusal of the profile
/// to record), or a policy refusal.
pub enum NotDecided {
    Malformed(ApiError),
    Refused(Refusal),
}

impl NotDecided {
    pub fn into_error(self) -> ApiError {
        match self {
            NotDecided::Malformed(e) => e,
            NotDecided::Refused(r) => r.into(),
        }
    }
}

/// Decides where the request goes, under the profile `live` pins.
pub fn decide(
    state: &AppState,
    live: &Live,
    ctx: &mut RequestCtx,
    request: RequestSummary,
    data_classes: DataClasses,
    asked: &Asked<'_>,
) -> Result<Decision, NotDecided> {
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
        budget: state.budgets.state_for(ctx, now),
        health: state.breakers.snapshot(now),
        now_ms: now,
    };
    let decision = switchyard_policy::decide(&input).map_err(NotDecided::Refused)?;
    let budget = ctx.started + Duration::from_millis(decision.timeouts.total_ms);
    ctx.deadline = ctx.deadline.min(budget);
    Ok(decision)
}
