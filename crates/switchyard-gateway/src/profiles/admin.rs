//! `/admin/profiles` and `/admin/reload`: list, activate, roll back and reload on a running
//! gateway. Guarded by the admin key; with no keys configured at all (the embedded default),
//! loopback operators may use them, as they may use every other route.

use crate::error::{ApiError, json_error};
use crate::state::{AppState, peer};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{Extensions, HeaderMap};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::sync::Arc;

/// Lets the admin key through; without any key configured, loopback clients too.
pub async fn authorize(
    state: &AppState,
    headers: &HeaderMap,
    extensions: &Extensions,
) -> Result<(), ApiError> {
    match state.admission.check_admin(headers) {
        Ok(()) => Ok(()),
        Err(ApiError::Forbidden { .. })
            if peer(extensions).is_some_and(|p| p.ip().is_loopback())
                && !state.admission.keys_configured().await? =>
        {
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// `GET /admin/profiles`.
pub async fn list(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    extensions: Extensions,
) -> Result<Response, ApiError> {
    authorize(&state, &headers, &extensions).await?;
    let data = super::list(&state);
    Ok(Json(serde_json::json!({"object": "list", "data": data})).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActivateBody {
    profile: String,
}

/// `POST /admin/profiles/activate` with `{"profile": "name@version"}` (or a bare `"name"`).
pub async fn activate(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    extensions: Extensions,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    authorize(&state, &headers, &extensions).await?;
    let body = body.map_err(|e| ApiError::bad_request(format!("unreadable body: {e}")))?;
    let ActivateBody { profile } = serde_json::from_slice(&body).map_err(|e| json_error(&e))?;
    Ok(Json(super::activate(&state, &profile).await?).into_response())
}

/// `POST /admin/profiles/rollback`.
pub async fn rollback(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    extensions: Extensions,
) -> Result<Response, ApiError> {
    authorize(&state, &headers, &extensions).await?;
    Ok(Json(super::rollback(&state).await?).into_response())
}

/// `POST /admin/reload`: re-reads the config file the gateway was started with.
pub async fn reload(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    extensions: Extensions,
) -> Result<Response, ApiError> {
    authorize(&state, &headers, &extensions).await?;
    let Some(path) = state.live().registry.config.source.clone() else {
        return Err(ApiError::Refused {
            status: 409,
            code: "no_config_file",
            message: "the gateway runs on its embedded defaults: there is no config file to reload"
                .into(),
            retry_after: None,
        });
    };
    match super::reload(&state, &path).await {
        Ok(view) => Ok(Json(view).into_response()),
        Err(message) => Err(ApiError::BadRequest {
            message: format!("the config was rejected; the running one stays:\n{message}"),
            param: None,
        }),
    }
}
