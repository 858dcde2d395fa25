//! The front doors. Each handler parses its wire format into the canonical model, resolves
//! targets, runs the executor and answers in its own format. What they share lives here: the
//! request context, body reading, and the `x-switchyard-*` response headers.

pub mod chat;
pub mod embeddings;
pub mod messages;
pub mod models;
mod pipeline;
mod stream;

use self::pipeline::Failure;
use crate::error::ApiError;
use crate::evidence;
use crate::execute::AttemptRecord;
use crate::ids::new_id;
use crate::pipeline::Directives;
use crate::pipeline::RequestCtx;
use crate::pipeline::record::{self, Ending};
use crate::server::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::time::Instant;
use switchyard_policy::Target;
use switchyard_policy::{Classification, DataClasses};
use switchyard_protocol::{ChatRequest, Usage};

/// A whole answer as JSON, written into a buffer sized for a typical completion: axum's `Json`
/// starts at 128 bytes and regrows several times for every answer.
pub fn json_answer<T: serde::Serialize>(body: &T) -> Response {
    let mut buf = String::with_capacity(1024);
    match switchyard_protocol::json::append(&mut buf, body) {
        Ok(()) => (
            [(
                axum::http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            buf,
        )
            .into_response(),
        // The answer types hold only strings, numbers and string-keyed maps: never reached.
        Err(e) => {
            ApiError::Internal(format!("the answer could not be serialized: {e}")).into_response()
        }
    }
}

/// A fresh context for a request that has just arrived at `door`.
pub fn new_ctx(state: &AppState, door: &'static str) -> RequestCtx {
    let started = Instant::now();
    let live = state.live();
    let (request_id, decision_id) = (new_id("req"), new_id("dec"));
    RequestCtx {
        span: crate::traces::request_span(door, &request_id, &decision_id),
        door,
        request_id,
        decision_id,
        started,
        deadline: started + live.registry.config.limits.request_timeout,
        requested_model: String::new(),
        route_class: "none".into(),
        profile: String::new(),
        tenant: "none".into(),
        principal: None,
        charged_tokens: 0,
        durable: false,
        payloads: None,
        budget: None,
        live,
        directives: Directives::default(),
    }
}

/// Admits the request (key → tenant, rates) before its body is read, and reads its
/// Switchyard headers: the last time anything reads them.
pub async fn admit(
    state: &AppState,
    ctx: &mut RequestCtx,
    headers: &HeaderMap,
    extensions: &axum::http::Extensions,
) -> Result<(), ApiError> {
    let directives = Directives::parse(headers);
    if let Ok(directives) = &directives {
        crate::traces::continue_trace(ctx, directives);
    }
    let principal = state
        .admission
        .admit(headers, crate::server::peer(extensions))
        .await?;
    ctx.tenant.clone_from(&principal.tenant);
    ctx.principal = Some(principal);
    ctx.directives = directives?;
    Ok(())
}

/// Takes the model the client named as the request's, for everything that records it. A name
/// the scrubber would change (findings, control characters, over its bound) is no model id:
/// refused without quoting it, and recorded scrubbed, so no record holds the client's text.
pub fn requested_model(ctx: &mut RequestCtx, model: &str) -> Result<(), ApiError> {
    let live = ctx.live.clone();
    let detectors = &live.registry.config.detectors;
    let scrub = |text| crate::scrub::client_text(text, detectors, crate::scrub::NAME_CHARS);
    let whole = scrub(model);
    // Detectors want a token to stand alone; after `provider/` it does not.
    let recorded = match model.split_once('/') {
        Some((provider, upstream)) if whole == model && scrub(upstream) != upstream => {
            format!("{provider}/{}", scrub(upstream))
        }
        _ => whole.into_owned(),
    };
    let clean = recorded == model;
    ctx.requested_model = recorded;
    if clean {
        return Ok(());
    }
    Err(ApiError::BadRequest {
        message: "model is not a model id: it holds control characters, is longer than 256 characters, or holds what looks like personal data or a secret".into(),
        param: Some("model".into()),
    })
}

/// Checks what the caller's key allows of this request (model, data classes) and charges its
/// estimated input tokens to the key's rate.
pub fn key_allows(
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

/// The attribution a client attached in `x-switchyard-metadata` (team, user, workflow), as
/// records keep it: keys and values scrubbed by the request's detectors.
pub fn attribution(ctx: &RequestCtx) -> BTreeMap<String, String> {
    let detectors = &ctx.live.registry.config.detectors;
    ctx.directives
        .metadata
        .iter()
        .map(|(key, value)| {
            let key = crate::scrub::client_text(key, detectors, 64).into_owned();
            let value = crate::scrub::client_text(value, detectors, 256).into_owned();
            (key, value)
        })
        .collect()
}

/// Classifies a chat request before any provider is chosen: declared classes, raised by what
/// the detectors find in every message, tool call and tool result.
pub fn classify_chat(ctx: &RequestCtx, req: &ChatRequest) -> Classification {
    switchyard_policy::classify(
        req,
        ctx.directives.data_classes,
        &ctx.live.registry.config.detectors,
    )
}

/// The body, or the error that says why it could not be read (413 past the limit, 415 when
/// it is declared as anything but JSON; an undeclared body is read as JSON).
pub fn body(
    ctx: &RequestCtx,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Bytes, ApiError> {
    if let Some(declared) = headers.get(axum::http::header::CONTENT_TYPE)
        && !is_json(declared.as_bytes())
    {
        return Err(ApiError::Refused {
            status: 415,
            code: "unsupported_media_type",
            message: "the request body must be JSON: send Content-Type: application/json".into(),
            retry_after: None,
        });
    }
    body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge(ctx.live.registry.config.limits.max_body_bytes)
        } else {
            ApiError::bad_request(format!("the request body could not be read: {rejection}"))
        }
    })
}

/// `application/json` or a `+json` type, parameters (`; charset=utf-8`) allowed.
fn is_json(content_type: &[u8]) -> bool {
    let essence = content_type
        .split(|b| *b == b';')
        .next()
        .unwrap_or_default()
        .trim_ascii();
    essence.eq_ignore_ascii_case(b"application/json")
        || (essence.len() > 5
            && essence[essence.len() - 5..].eq_ignore_ascii_case(b"+json")
            && essence.contains(&b'/'))
}

// The answer's headers, validated once at compile time rather than on every answer.
static REQUEST_ID: HeaderName = HeaderName::from_static("x-switchyard-request-id");
static DECISION_ID: HeaderName = HeaderName::from_static("x-switchyard-decision-id");
static ROUTE_CLASS: HeaderName = HeaderName::from_static("x-switchyard-route-class");
static PROFILE: HeaderName = HeaderName::from_static("x-switchyard-profile");
static PROVIDER: HeaderName = HeaderName::from_static("x-switchyard-provider");
static MODEL: HeaderName = HeaderName::from_static("x-switchyard-model");
static ATTEMPTS: HeaderName = HeaderName::from_static("x-switchyard-attempts");
static COST_USD: HeaderName = HeaderName::from_static("x-switchyard-cost-usd");

fn set(resp: &mut Response, name: &HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().insert(name.clone(), v);
    }
}

/// Adds the headers every answer carries.
pub fn ids(mut resp: Response, ctx: &RequestCtx) -> Response {
    set(&mut resp, &REQUEST_ID, &ctx.request_id);
    set(&mut resp, &DECISION_ID, &ctx.decision_id);
    if !ctx.profile.is_empty() {
        set(&mut resp, &ROUTE_CLASS, &ctx.route_class);
        set(&mut resp, &PROFILE, &ctx.profile);
    }
    resp
}

/// Adds the headers of a served answer: who served it, after how many attempts, at what cost
/// (cost only when the usage is known when the head is sent).
pub fn served(
    mut resp: Response,
    ctx: &RequestCtx,
    target: &Target,
    attempts: &[AttemptRecord],
    usage: Option<&Usage>,
) -> Response {
    set(&mut resp, &PROVIDER, &target.provider);
    set(&mut resp, &MODEL, &target.model);
    set(&mut resp, &ATTEMPTS, &attempts.len().to_string());
    if let (Some(usage), Some(price)) = (usage, ctx.live.registry.price(target)) {
        let cost = price.cost(usage) + record::cancelled_cost(attempts);
        set(&mut resp, &COST_USD, &format!("{cost:.8}"));
    }
    ids(resp, ctx)
}

/// Records a failed request: its attempts and its one outcome. A failure whose outcome was
/// already recorded (an answer withheld for want of durable evidence) records nothing more.
pub async fn record_failure(state: &AppState, ctx: &RequestCtx, failure: &Failure) {
    if failure.recorded {
        return;
    }
    evidence::attempted(&state.events, ctx, &failure.attempts).await;
    let ending = Ending {
        extra_cost_usd: record::cancelled_cost(&failure.attempts),
        ..Ending::failed(&failure.error, failure.attempts.len())
    };
    record::failed(&state.events, &state.admission, ctx, &ending).await;
}

/// Records a request answered in one piece. When its class demands durable evidence and the
/// outcome could not be committed, the answer is withheld: that is the failure returned, its
/// outcome already recorded.
pub async fn record_served(
    state: &AppState,
    ctx: &RequestCtx,
    target: &Target,
    attempts: Vec<AttemptRecord>,
    usage: Usage,
) -> Result<Vec<AttemptRecord>, Failure> {
    evidence::attempted(&state.events, ctx, &attempts).await;
    let ending = Ending {
        usage: Some(usage),
        ..Ending::served(ctx, target, &attempts)
    };
    match record::served(&state.events, &state.admission, ctx, ending).await {
        Ok(()) => Ok(attempts),
        Err(record::Withheld(error)) => Err(Failure {
            error,
            attempts,
            recorded: true,
        }),
    }
}

/// The recorder a stream carries to its end: attempts are recorded now, the outcome when the
/// stream finishes, fails, or is abandoned by the client.
pub async fn stream_recorder(
    state: &AppState,
    ctx: &RequestCtx,
    target: &Target,
    attempts: &[AttemptRecord],
) -> stream::Recorder {
    evidence::attempted(&state.events, ctx, attempts).await;
    stream::Recorder::new(
        state.admission.clone(),
        state.events.clone(),
        ctx.payloads.is_some().then(|| state.artifacts.clone()),
        ctx.clone(),
        Ending::served(ctx, target, attempts),
    )
}

/// Adds the attempt count to a failed answer.
pub fn failed(mut resp: Response, ctx: &RequestCtx, attempts: &[AttemptRecord]) -> Response {
    set(&mut resp, &ATTEMPTS, &attempts.len().to_string());
    ids(resp, ctx)
}
