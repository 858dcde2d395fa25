//! Payload artifacts: when payload logging is on, the prompt, each tool result and the
//! completion of a request are redacted (the same detectors as classification), sealed when
//! required, stored with their own retention, and announced by an `artifact` event holding the
//! stored body's digest. Nothing unredacted is ever written; sealing never falls back to plain.

use crate::config::{Config, Retention};
use crate::error::ApiError;
use serde_json::{Value, json};
use std::sync::Arc;
use switchyard_evidence::artifact::{Artifact, ArtifactKind, Keyring};
use switchyard_evidence::event::now_ms;
use switchyard_evidence::{Draft, EventKind, EventLog, Store};
use switchyard_policy::{Detectors, RedactionPolicy};
use switchyard_protocol::{ChatRequest, ChatResponse, Role};

/// Where requests' artifacts go. Whether one request's payloads are kept is decided per
/// request ([`ArtifactSink::decide`]): its key's setting, else its class's, else the config's
/// `[payloads] enabled`.
#[derive(Clone)]
pub struct ArtifactSink {
    store: Arc<dyn Store>,
    log: EventLog,
    detectors: Arc<Detectors>,
    /// The keys, or why there are none.
    keyring: Result<Keyring, String>,
    /// `[payloads] enabled`: the default when neither key nor class says.
    enabled: bool,
    /// `[payloads] encrypt`: seal every artifact (compliance ones are sealed regardless).
    encrypt: bool,
    retention: Retention,
}

/// What happens to one request's payloads, carried in its context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Kept in plain (redacted) form.
    Plain,
    /// Kept sealed with the current key.
    Sealed,
}

/// The request whose payloads are kept, and how.
#[derive(Debug, Clone, Copy)]
pub struct Owner<'a> {
    pub request_id: &'a str,
    pub keep: Keep,
}

impl ArtifactSink {
    /// The sink for a config.
    pub fn new(config: &Config, store: Arc<dyn Store>, log: EventLog) -> Self {
        let p = &config.payloads;
        let keyring = match (&p.keyring, &p.keyring_problem) {
            (Some(k), _) => Ok(k.clone()),
            (None, problem) => Err(problem
                .clone()
                .unwrap_or_else(|| "no artifact key is configured ([payloads] key_env)".into())),
        };
        Self {
            store,
            log,
            detectors: config.detectors.clone(),
            keyring,
            enabled: p.enabled,
            encrypt: p.encrypt,
            retention: config.retention,
        }
    }

    /// Whether this request's payloads are kept, and sealed: `asked` is the key's setting,
    /// else the class's; a compliance-constrained request's are always sealed. Refuses, before
    /// any upstream call, a request whose payloads must be kept sealed and cannot be.
    pub fn decide(&self, asked: Option<bool>, compliance: bool) -> Result<Option<Keep>, ApiError> {
        if !asked.unwrap_or(self.enabled) {
            return Ok(None);
        }
        if !(compliance || self.encrypt) {
            return Ok(Some(Keep::Plain));
        }
        match &self.keyring {
            Ok(_) => Ok(Some(Keep::Sealed)),
            Err(problem) => Err(ApiError::Unavailable(format!(
                "this request's payloads must be stored encrypted and cannot be: {problem}"
            ))),
        }
    }

    /// Stores the prompt (messages other than tool results, tools and parameters) and each
    /// tool result as separate artifacts.
    pub async fn keep_request(&self, owner: Owner<'_>, req: &ChatRequest) {
        let mut prompt = req.clone();
        prompt.messages.retain(|m| m.role != Role::Tool);
        if let Ok(value) = serde_json::to_value(&prompt) {
            self.keep(owner, ArtifactKind::Prompt, value).await;
        }
        for (i, m) in req
            .messages
            .iter()
            .enumerate()
            .filter(|(_, m)| m.role == Role::Tool)
        {
            let value =
                json!({"message": i, "tool_call_id": m.tool_call_id, "content": m.joined_text()});
            self.keep(owner, ArtifactKind::ToolResult, value).await;
        }
    }

    /// Stores the completion.
    pub async fn keep_completion(&self, owner: Owner<'_>, resp: &ChatResponse) {
        if let Ok(value) = serde_json::to_value(resp) {
            self.keep(owner, ArtifactKind::Completion, value).await;
        }
    }

    async fn keep(&self, owner: Owner<'_>, kind: ArtifactKind, value: Value) {
        let redacted =
            switchyard_policy::redact_json(&value, &self.detectors, &RedactionPolicy::default());
        let plain = redacted.to_string().into_bytes();
        let id = crate::ids::new_id("art");
        let (key_id, body) = match (owner.keep, &self.keyring) {
            (Keep::Plain, _) => (None, plain),
            (Keep::Sealed, Ok(keyring)) => match keyring.seal(&id, &plain) {
                Ok((key_id, sealed)) => (Some(key_id), sealed),
                Err(e) => {
                    tracing::error!(error = %e, "artifact not sealed, so not stored");
                    return;
                }
            },
            (Keep::Sealed, Err(_)) => return,
        };
        let created_ms = now_ms();
        let keep_for = i64::try_from(self.retention.of(kind).as_millis()).unwrap_or(i64::MAX);
        let artifact = Artifact {
            id: id.clone(),
            request_id: owner.request_id.to_owned(),
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
                Some(owner.request_id),
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
