//! Phase 2, parse: the door's wire body into the canonical [`Request`], and the model it names
//! taken as the request's for every record. Never records a model name the scrubber would
//! change: such a name is refused without quoting it.

use super::{Door, Request, RequestCtx};
use crate::error::ApiError;

/// The canonical request, its model checked and noted in `ctx`, and what the door keeps of it.
pub fn parse<D: Door>(
    door: &D,
    ctx: &mut RequestCtx,
    body: &[u8],
) -> Result<(Request, D::Kept), ApiError> {
    let (request, kept) = door.parse(body)?;
    requested_model(ctx, request.model())?;
    Ok((request, kept))
}

/// Takes the model the client named as the request's, for everything that records it. A name
/// the scrubber would change (findings, control characters, over its bound) is no model id:
/// refused without quoting it, and recorded scrubbed, so no record holds the client's text.
fn requested_model(ctx: &mut RequestCtx, model: &str) -> Result<(), ApiError> {
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
