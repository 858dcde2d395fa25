//! Phase 1, admit: the request's context as it arrives (ids, span, the config snapshot it pins,
//! its deadline), its key admitted (tenant, rates) and its Switchyard headers parsed before the
//! body is read, then the body itself. Never reads a header after this phase.

use super::{Directives, DoorKind, RequestCtx, spans};
use crate::error::ApiError;
use crate::ids::new_id;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{Extensions, HeaderMap, StatusCode};
use std::time::Instant;

/// A fresh context for a request that has just arrived at `door`: the one place it pins the
/// live config.
pub fn arrive(state: &AppState, door: DoorKind) -> RequestCtx {
    let started = Instant::now();
    let live = state.live();
    let (request_id, decision_id) = (new_id("req"), new_id("dec"));
    RequestCtx {
        span: spans::request_span(door, &request_id, &decision_id),
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
    extensions: &Extensions,
) -> Result<(), ApiError> {
    let directives = Directives::parse(headers);
    if let Ok(directives) = &directives {
        spans::continue_trace(ctx, directives);
    }
    let principal = state
        .admission
        .admit(headers, crate::state::peer(extensions))
        .await?;
    ctx.tenant.clone_from(&principal.tenant);
    ctx.principal = Some(principal);
    ctx.directives = directives?;
    Ok(())
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
