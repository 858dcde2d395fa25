//! The admin API (`/admin/*`, admin key only): tenants' API keys. A created key's secret is in
//! the one response that creates it, marked not to be cached; nothing else ever shows it.

use crate::admission::NewKey;
use crate::error::{ApiError, json_error};
use crate::state::AppState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::sync::Arc;

/// `GET /admin/keys` filters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub tenant: Option<String>,
}

/// `POST /admin/keys`: creates a key from `{"tenant", "name"?, "policy"?}` and answers 201 with
/// the key and its secret, shown this once.
pub async fn create_key(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    state.admission.check_admin(&headers)?;
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge(state.live().registry.config.limits.max_body_bytes)
        } else {
            ApiError::bad_request(format!("the request body could not be read: {rejection}"))
        }
    })?;
    let new: NewKey = serde_json::from_slice(&body).map_err(|e| json_error(&e))?;
    let created = state.admission.create_key(new).await?;
    tracing::info!(key_id = %created.key.id, tenant = %created.key.tenant, "API key created");
    let mut resp = (StatusCode::CREATED, Json(created)).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

/// `GET /admin/keys[?tenant=T]`: every key, revoked ones included, without secrets or hashes.
pub async fn list_keys(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    state.admission.check_admin(&headers)?;
    let Query(query) = query.map_err(|e| ApiError::BadRequest {
        message: format!("bad query: {e}; the only filter is ?tenant=NAME"),
        param: None,
    })?;
    let keys = state.admission.list_keys(query.tenant.as_deref()).await?;
    Ok(Json(serde_json::json!({"object": "list", "data": keys})).into_response())
}

/// `DELETE /admin/keys/{id}`: revokes a key (404 when there is no active key of that id).
pub async fn revoke_key(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    state.admission.check_admin(&headers)?;
    let revoked = state.admission.revoke_key(&id).await?;
    tracing::info!(key_id = %revoked.id, tenant = %revoked.tenant, "API key revoked");
    Ok(Json(revoked).into_response())
}
