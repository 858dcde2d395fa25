//! Payload artifacts: when payload logging is on, the prompt, each tool result and the
//! completion of a request are redacted (the same detectors as classification), sealed when
//! required, stored with their own retention, and announced by an `artifact` event holding the
//! stored body's digest. Nothing unredacted is ever written; sealing never falls back to plain.

use crate::config::{Config, Retention};
use crate::error::ApiError;
use crate::execute::RequestCtx;
use serde_json::{Value, json};
use std::sync::Arc;
use switchyard_evidence::artifact::{Artifact, ArtifactKind, Keyring};
use switchyard_evidence::event::now_ms;
use switchyard_evidence::{Draft, EventKind, EventLog, Store};
use switchyard_policy::{Detectors, RedactionPolicy};
use switchyard_protocol::{ChatRequest, ChatResponse, Role};

/// Where a request's artifacts go; present only when payload logging is on.
#[derive(Clone)]
pub struct ArtifactSink {
    store: Arc<dyn Store>,
    log: EventLog,
    detectors: Arc<Detectors>,
    /// `Some` when artifacts are sealed; `Err` when they must be but cannot be.
    seal: Option<Result<Keyring, String>>,
    retention: Retention,
}

impl ArtifactSink {
    /// The sink for a config, or `None` when payload logging is off.
    pub fn new(config: &Config, store: Arc<dyn Store>, log: EventLog) -> Option<Self> {
        let p = &config.payloads;
        if !p.enabled {
            return None;
        }
        let seal = p.encrypt.then(|| match (&p.keyring, &p.keyring_problem) {
            (Some(k), _) => Ok(k.clone()),
            (None, problem) => Err(problem.clone().unwrap_or_else(|| "no artifact key".into())),
        });
        Some(Self {
            store,
            log,
            detectors: config.detectors.clone(),
            seal,
            retention: config.retention,
        })
    }

    /// Refuses, before any upstream call, a request whose artifacts could not be sealed.
    pub fn admit(&self) -> Result<(), ApiError> {
        match &self.seal {
            Some(Err(problem)) => Err(ApiError::Unavailable(format!(
                "this request's payloads must be stored encrypted and cannot be: {problem}"
            ))),
            _ => Ok(()),
        }
    }

    /// Stores the prompt (messages other than tool results, tools and parameters) and each
    /// tool result as separate artifacts.
    pub async fn keep_request(&self, ctx: &RequestCtx, req: &ChatRequest) {
        let mut prompt = req.clone();
        prompt.messages.retain(|m| m.role != Role::Tool);
        if let Ok(value) = serde_json::to_value(&prompt) {
            self.keep(ctx, ArtifactKind::Prompt, value).await;
        }
        for (i, m) in req
            .messages
            .iter()
            .enumerate()
            .filter(|(_, m)| m.role == Role::Tool)
        {
            let value =
                json!({"message": i, "tool_call_id": m.tool_call_id, "content": m.joined_text()});
            self.keep(ctx, ArtifactKind::ToolResult, value).await;
        }
    }

    /// Stores the completion.
    pub async fn keep_completion(&self, ctx: &RequestCtx, resp: &ChatResponse) {
        if let Ok(value) = serde_json::to_value(resp) {
            self.keep(ctx, ArtifactKind::Completion, value).await;
        }
    }

    async fn keep(&self, ctx: &RequestCtx, kind: ArtifactKind, value: Value) {
        let redacted =
            switchyard_policy::redact_json(&value, &self.detectors, &RedactionPolicy::default());
        let plain = redacted.to_string().into_bytes();
        let id = crate::ids::new_id("art");
        let (key_id, body) = match &self.seal {
            None => (None, plain),
            Some(Ok(keyring)) => match keyring.seal(&id, &plain) {
                Ok((key_id, sealed)) => (Some(key_id), sealed),
                Err(e) => {
                    tracing::error!(error = %e, "artifact not sealed, so not stored");
                    return;
                }
            },
            Some(Err(_)) => return,
        };
        let created_ms = now_ms();
        let keep_for = i64::try_from(self.retention.of(kind).as_millis()).unwrap_or(i64::MAX);
        let artifact = Artifact {
            id: id.clone(),
            request_id: ctx.request_id.clone(),
            kind,
            created_ms,
            expires_ms: created_ms.saturating_add(keep_for),
            key_id: key_id.clone(),
            body,
        };
        if let Err(e) = self.store.put_artifact(&artifact).await {
            tracing::error!(error = %e, kind = kind.as_str(), "artifact not stored");
            return;
        }
        let payload = json!({
            "artifact_id": id,
            "kind": kind.as_str(),
            "bytes": artifact.body.len(),
            "digest": blake3::hash(&artifact.body).to_hex().to_string(),
            "expires_ms": artifact.expires_ms,
            "key_id": key_id,
        });
        self.log
            .record(Draft::new(
                EventKind::Artifact,
                Some(&ctx.request_id),
                payload,
            ))
            .await;
    }
}

/// Deletes expired artifacts and records each batch as a `retention` event; returns how many
/// were deleted. The chain is untouched: artifacts are not in it, their events stay.
pub async fn run_retention(store: &dyn Store, log: &EventLog, now: i64) -> Result<usize, String> {
    let mut total = 0;
    loop {
        let deleted = store
            .delete_expired(now, 1000)
            .await
            .map_err(|e| e.to_string())?;
        if deleted.is_empty() {
            return Ok(total);
        }
        total += deleted.len();
        log.record(Draft::new(
            EventKind::Retention,
            None,
            json!({"deleted": deleted, "before_ms": now}),
        ))
        .await;
    }
}
