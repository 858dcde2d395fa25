//! Phase 3, classify: the request's data classes before any provider is chosen (the classes
//! the client declared, raised by what the detectors find in every message, tool call, tool
//! result and embeddings input), and the admission event. The event holds the request's shape
//! and classes, never its content: no prompt, no input, no header; attribution is scrubbed.

use super::{Request, RequestCtx, spans};
use crate::state::AppState;
use serde::Serialize;
use std::collections::BTreeMap;
use switchyard_evidence::{Draft, EventKind};
use switchyard_policy::{Classification, DataClasses, Finding};

/// Classifies the request and records that it was admitted.
pub async fn classify(state: &AppState, ctx: &RequestCtx, request: &Request) -> Classification {
    let detectors = &ctx.live.registry.config.detectors;
    let declared = ctx.directives.data_classes;
    let classification = match request {
        Request::Chat(req) => switchyard_policy::classify(req, declared, detectors),
        Request::Embed(req) => Classification {
            declared,
            classes: req.input.iter().fold(declared, |classes, input| {
                classes.union(detectors.classes_in(input))
            }),
            findings: Vec::new(),
        },
    };
    spans::admitted(ctx, &ctx.requested_model, classification.classes);
    let attribution = attribution(ctx);
    let draft = match request {
        Request::Chat(req) => Draft::of(
            EventKind::Admission,
            Some(&ctx.request_id),
            &AdmittedChat {
                attribution: &attribution,
                data_classes: classification.classes,
                declared_classes: classification.declared,
                door: ctx.door.as_str(),
                findings: &classification.findings,
                max_tokens: req.max_tokens,
                messages: req.messages.len(),
                model: &ctx.requested_model,
                n: req.n,
                stream: req.stream,
                tools: req.tools.len(),
            },
        ),
        Request::Embed(req) => Draft::of(
            EventKind::Admission,
            Some(&ctx.request_id),
            &AdmittedEmbeddings {
                attribution: &attribution,
                data_classes: classification.classes,
                door: ctx.door.as_str(),
                inputs: req.input.len(),
                model: &ctx.requested_model,
            },
        ),
    };
    state.events.record(draft).await;
    classification
}

/// The attribution a client attached in `x-switchyard-metadata` (team, user, workflow), as
/// records keep it: keys and values scrubbed by the request's detectors.
fn attribution(ctx: &RequestCtx) -> BTreeMap<String, String> {
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

// The admission events, serialised straight to JSON text. Fields are in alphabetical order, so
// the text is what a sorted JSON object of the same facts would be.

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
struct AdmittedEmbeddings<'a> {
    attribution: &'a BTreeMap<String, String>,
    data_classes: DataClasses,
    door: &'a str,
    inputs: usize,
    model: &'a str,
}
