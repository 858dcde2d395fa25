//! Routing profiles at run time: which `name@version` is live, activation and one-step
//! rollback without a restart, and config hot reload (SIGHUP or the file changing). Each swap
//! replaces the whole [`Live`] snapshot atomically: requests in flight keep the registry and
//! profile they pinned; a config that fails validation never replaces the running one. Every
//! activation, reload and rejected reload is an event.

pub mod admin;
pub mod cli;
pub mod watch;

use crate::error::ApiError;
use crate::registry::Registry;
use crate::state::{AppState, Live};
use serde::Serialize;
use serde_json::json;
use std::path::Path;
use std::sync::{Arc, PoisonError};
use switchyard_evidence::{Draft, EventKind};
use switchyard_policy::ProfileSnapshot;

/// A profile as the admin API and CLI list it.
#[derive(Debug, Clone, Serialize)]
pub struct ProfileView {
    pub id: String,
    pub name: String,
    pub version: u32,
    pub digest: String,
    pub active: bool,
    pub classes: Vec<String>,
    pub aliases: Vec<String>,
}

fn view(p: &ProfileSnapshot, active: &str) -> ProfileView {
    ProfileView {
        id: p.id(),
        name: p.name().to_owned(),
        version: p.version(),
        digest: p.digest().to_owned(),
        active: p.id() == active,
        classes: p.classes().names(),
        aliases: p.alias_names().map(str::to_owned).collect(),
    }
}

/// Every profile the running config defines, by id; the active one marked.
pub fn list(state: &AppState) -> Vec<ProfileView> {
    let live = state.live();
    let active = live.profile.id();
    live.registry
        .config
        .routing
        .profiles
        .values()
        .map(|p| view(p, &active))
        .collect()
}

/// Logs and records that `next` replaced `previous` (`reason`: activate, rollback).
async fn announce(
    state: &AppState,
    previous: &str,
    next: &ProfileSnapshot,
    reason: &str,
) -> ProfileView {
    tracing::info!(profile = %next.id(), previous = %previous, reason, "routing profile activated");
    record(
        state,
        json!({"event": "profile_activated", "profile": next.id(), "digest": next.digest(), "previous": previous, "reason": reason}),
    )
    .await;
    view(next, &next.id())
}

async fn record(state: &AppState, payload: serde_json::Value) {
    if let Err(e) = state
        .events
        .record_durable(Draft::new(EventKind::Lifecycle, None, payload))
        .await
    {
        tracing::error!(error = %e, "cannot record a profile event");
    }
}

/// Makes `id` (`name@version`, or a bare `name` for its highest version) the live profile; the
/// one it replaces goes on the rollback stack. 404 listing the defined ones when there is no such profile.
pub async fn activate(state: &AppState, id: &str) -> Result<ProfileView, ApiError> {
    let (previous, next) = {
        let mut history = state
            .profile_history
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let live = state.live();
        let Some(next) = live.registry.config.routing.profile(id).cloned() else {
            let known: Vec<&str> = live
                .registry
                .config
                .routing
                .profiles
                .keys()
                .map(String::as_str)
                .collect();
            return Err(ApiError::NotFound(format!(
                "no profile {id:?}; defined: {}",
                known.join(", ")
            )));
        };
        let previous = live.profile.id();
        if previous != next.id() {
            history.push(previous.clone());
        }
        state.swap(Live {
            registry: live.registry.clone(),
            profile: next.clone(),
        });
        (previous, next)
    };
    Ok(announce(state, &previous, &next, "activate").await)
}

/// Re-activates the profile that was live before the current one, in one step. 409 when there
/// is nothing to roll back to.
pub async fn rollback(state: &AppState) -> Result<ProfileView, ApiError> {
    let (previous, next) = {
        let mut history = state
            .profile_history
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let live = state.live();
        let routing = &live.registry.config.routing;
        let mut found = None;
        while let Some(id) = history.pop() {
            if let Some(p) = routing.profiles.get(&id) {
                found = Some(p.clone());
                break;
            }
            tracing::warn!(profile = %id, "skipping a rollback target the config no longer defines");
        }
        let Some(next) = found else {
            return Err(ApiError::Refused {
                status: 409,
                code: "nothing_to_roll_back",
                message: format!(
                    "profile {} has been live since start: there is no earlier profile to roll back to",
                    live.profile.id()
                ),
                retry_after: None,
            });
        };
        let previous = live.profile.id();
        state.swap(Live {
            registry: live.registry.clone(),
            profile: next.clone(),
        });
        (previous, next)
    };
    Ok(announce(state, &previous, &next, "rollback").await)
}

/// Reloads the config file: validated in full first; on success providers and profiles are
/// replaced (the live profile id is kept when the new config still defines it, else the new
/// config's active one), on failure the running config stays and the errors are returned.
/// Listen address, store, payload, pool and telemetry settings need a restart.
pub async fn reload(state: &AppState, path: &Path) -> Result<ProfileView, String> {
    let config = match crate::config::load(path) {
        Ok(c) => c,
        Err(errors) => {
            let message = errors.to_string();
            tracing::error!("config reload rejected; the running config stays:\n{message}");
            record(
                state,
                json!({"event": "config_rejected", "source": path.display().to_string(), "errors": errors.0.len()}),
            )
            .await;
            return Err(message);
        }
    };
    let (previous, next) = {
        let mut history = state
            .profile_history
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let live = state.live();
        let current = live.profile.id();
        if live.registry.config.telemetry != config.telemetry {
            tracing::warn!("[telemetry] changed: trace export keeps its settings until a restart");
        }
        let routing = &config.routing;
        let next = routing
            .profiles
            .get(&current)
            .or_else(|| routing.profiles.get(&routing.active))
            .cloned();
        let Some(next) = next else {
            return Err(format!(
                "the new config defines no profile {:?}",
                routing.active
            ));
        };
        if next.id() != current {
            history.push(current.clone());
        }
        let registry = Arc::new(Registry::build(Arc::new(config)));
        state.swap(Live {
            registry,
            profile: next.clone(),
        });
        (current, next)
    };
    tracing::info!(profile = %next.id(), digest = next.digest(), "config reloaded");
    record(
        state,
        json!({"event": "config_reloaded", "source": path.display().to_string(), "profile": next.id(), "digest": next.digest(), "previous": previous}),
    )
    .await;
    Ok(view(&next, &next.id()))
}
