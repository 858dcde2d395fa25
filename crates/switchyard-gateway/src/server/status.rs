//! `GET /v1/models` (aliases and configured models), `GET /healthz` and `GET /readyz`.

use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use switchyard_protocol::openai::{ModelList, ModelObject};

/// Aliases first, then every configured `provider/model`.
pub async fn models(State(state): State<Arc<AppState>>) -> Json<ModelList> {
    let live = state.live();
    let config = &live.registry.config;
    let aliases = live.profile.alias_names().map(|alias| ModelObject {
        id: alias.to_owned(),
        object: "model".into(),
        created: 0,
        owned_by: "switchyard".into(),
    });
    let models = config
        .models
        .iter()
        .filter(|(_, m)| live.registry.upstream(&m.provider).is_some())
        .map(|(id, m)| ModelObject {
            id: id.clone(),
            object: "model".into(),
            created: 0,
            owned_by: m.provider.clone(),
        });
    Json(ModelList {
        object: "list".into(),
        data: aliases.chain(models).collect(),
    })
}

/// The process is up.
pub async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

/// The gateway can serve: at least one provider is usable.
pub async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    let live = state.live();
    let unavailable = live.registry.unavailable_providers();
    let usable = live.registry.config.providers.len() - unavailable.len();
    let body = serde_json::json!({
        "status": if usable > 0 { "ready" } else { "not ready" },
        "providers": usable,
        "unavailable": unavailable,
    });
    let status = if usable > 0 {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}
