//! OpenAI's Chat Completions, Embeddings and Models endpoints, plus Azure OpenAI's deployment
//! routes (`api-key` header, `api-version` query parameter). Follows the OpenAI API reference:
//! unknown body parameters are refused as the real API refuses them.

use crate::embedding::{self, Dimensions};
use crate::limits::{Exceeded, Limits};
use crate::reply::{self, Frame};
use crate::{Mock, Scenario, offload, synth};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use switchyard_protocol::openai::{self as wire, ChunkEncoder};
use switchyard_protocol::{EmbedEncoding, EmbedRequest, sse};

/// Body parameters the Chat Completions API accepts besides the ones the wire types name.
const KNOWN_CHAT_PARAMS: &[&str] = &[
    "frequency_penalty",
    "presence_penalty",
    "logit_bias",
    "logprobs",
    "top_logprobs",
    "store",
    "service_tier",
    "modalities",
    "audio",
    "prediction",
    "reasoning_effort",
    "web_search_options",
    "verbosity",
    "prompt_cache_key",
    "safety_identifier",
    "functions",
    "function_call",
];

pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    let (kind, code) = match status.as_u16() {
        401 => ("invalid_request_error", Some("invalid_api_key")),
        404 => ("invalid_request_error", Some("model_not_found")),
        429 => ("requests", Some("rate_limit_exceeded")),
        400..=499 => ("invalid_request_error", None),
        _ => ("server_error", None),
    };
    let body = serde_json::json!({
        "error": {"message": message, "type": kind, "param": null, "code": code}
    });
    (status, axum::Json(body)).into_response()
}

/// `dimensions` out of the model's range, worded as the API words its integer bounds.
fn dimensions_error(model: &str, e: &Exceeded) -> Response {
    let asked = e.requested.unwrap_or(0);
    let (message, code) = if asked == 0 {
        (
            "Invalid 'dimensions': integer below minimum value. Expected a value >= 1, but got 0 instead.".to_owned(),
            "integer_below_min_value",
        )
    } else {
        (
            format!(
                "Invalid 'dimensions': integer above maximum value. Expected a value <= {} (the most {model} gives), but got {asked} instead.",
                e.allowed
            ),
            "integer_above_max_value",
        )
    };
    let body = serde_json::json!({"error": {
        "message": message, "type": "invalid_request_error", "param": "dimensions", "code": code,
    }});
    (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
}

fn authorize(mock: &Mock, headers: &HeaderMap, azure: bool) -> Result<(), Response> {
    let presented = reply::credential(headers, if azure { "api-key" } else { "authorization" });
    if reply::accepted(mock, presented) {
        Ok(())
    } else {
        Err(error(
            StatusCode::UNAUTHORIZED,
            "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.",
        ))
    }
}

fn azure_version(query: Option<&str>) -> Result<(), Response> {
    let has_version = query.unwrap_or("").split('&').any(|p| {
        p.strip_prefix("api-version=")
            .is_some_and(|v| !v.is_empty())
    });
    if has_version {
        Ok(())
    } else {
        Err(error(
            StatusCode::NOT_FOUND,
            "Resource not found: the api-version query parameter is required",
        ))
    }
}

pub(crate) async fn chat(
    State(mock): State<Arc<Mock>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    if let Err(resp) = authorize(&mock, &headers, false) {
        return resp;
    }
    mock.keep_body(&body);
    answer_chat(&mock, None, &headers, query.as_deref(), &body).await
}

pub(crate) async fn azure_chat(
    State(mock): State<Arc<Mock>>,
    Path(deployment): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    if let Err(resp) = azure_version(query.as_deref()).and(authorize(&mock, &headers, true)) {
        return resp;
    }
    answer_chat(&mock, Some(deployment), &headers, query.as_deref(), &body).await
}

/// Answers a Chat Completions body. `model` overrides the body's model (Azure deployments,
/// Workers AI's compatible endpoint).
pub(crate) async fn answer_chat(
    mock: &Mock,
    model: Option<String>,
    headers: &HeaderMap,
    query: Option<&str>,
    body: &[u8],
) -> Response {
    let parsed: wire::ChatCompletionRequest = match serde_json::from_slice(body) {
        Ok(p) => p,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("We could not parse the JSON body of your request: {e}"),
            );
        }
    };
    if let Some(unknown) = parsed
        .extra
        .keys()
        .find(|k| !KNOWN_CHAT_PARAMS.contains(&k.as_str()))
    {
        return error(
            StatusCode::BAD_REQUEST,
            &format!("Unrecognized request argument supplied: {unknown}"),
        );
    }
    let req = match wire::request_to_canonical(parsed) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e.message),
    };
    let model = model.unwrap_or_else(|| req.model.clone());
    let scenario = match reply::prelude(mock, &model, headers, query, error).await {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    if scenario.malformed && !req.stream {
        return reply::malformed("application/json");
    }
    let shape = synth::Shape::of(&scenario);
    let resp = match offload::chat(&req, &model, shape).await {
        Ok(resp) => resp,
        Err(stop) => return reply::stopped(&stop, error),
    };
    if !req.stream {
        return reply::json(&wire::response_from_canonical(&resp, &model), &scenario);
    }
    // Without usage, no usage chunk at all, as OpenAI-compatible servers that ignore
    // `stream_options.include_usage` answer.
    let mut encoder = ChunkEncoder::new(&model, req.include_usage && !scenario.no_usage);
    let mut frames = Vec::new();
    for event in synth::stream_events(&resp, scenario.chunks) {
        let content =
            event.is_content() || matches!(event, switchyard_protocol::StreamEvent::Text { .. });
        let mut bytes = Vec::new();
        encoder.write(&event, req.n, &mut bytes);
        if bytes.is_empty() {
            continue;
        }
        frames.push(if content {
            Frame::content(bytes)
        } else {
            Frame::meta(bytes)
        });
    }
    frames.push(Frame::meta(sse::DONE));
    reply::stream(frames, &scenario, "text/event-stream")
}

pub(crate) async fn embeddings(
    State(mock): State<Arc<Mock>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    if let Err(resp) = authorize(&mock, &headers, false) {
        return resp;
    }
    mock.keep_body(&body);
    answer_embeddings(&mock, None, &headers, query.as_deref(), &body).await
}

pub(crate) async fn azure_embeddings(
    State(mock): State<Arc<Mock>>,
    Path(deployment): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    if let Err(resp) = azure_version(query.as_deref()).and(authorize(&mock, &headers, true)) {
        return resp;
    }
    answer_embeddings(&mock, Some(deployment), &headers, query.as_deref(), &body).await
}

async fn answer_embeddings(
    mock: &Mock,
    model: Option<String>,
    headers: &HeaderMap,
    query: Option<&str>,
    body: &[u8],
) -> Response {
    let parsed: wire::EmbeddingRequest = match serde_json::from_slice(body) {
        Ok(p) => p,
        Err(e) => return error(StatusCode::BAD_REQUEST, &format!("invalid body: {e}")),
    };
    let base64 = parsed.encoding_format.as_deref() == Some("base64");
    let req = match wire::embedding_request_to_canonical(parsed) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e.message),
    };
    let model = model.unwrap_or_else(|| req.model.clone());
    let dims = match dimensions(mock, &model, &req) {
        Ok(dims) => dims,
        Err(resp) => return resp,
    };
    let scenario = match reply::prelude(mock, &model, headers, query, error).await {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    if scenario.malformed {
        return reply::malformed("application/json");
    }
    embeddings_answer(req, model, dims, base64, &scenario).await
}

/// The model's embedding sizes, or the refusal of a `dimensions` it cannot give.
pub(crate) fn dimensions(
    mock: &Mock,
    model: &str,
    req: &EmbedRequest,
) -> Result<Dimensions, Response> {
    let dims = Dimensions::of(model, mock.config.embedding_dims.unwrap_or(256));
    match dims.resolve(req.dimensions, "dimensions") {
        Ok(_) => Ok(dims),
        Err(e) => Err(dimensions_error(model, &e)),
    }
}

/// The embeddings of a checked request in OpenAI's format (Workers AI's compatible route
/// shares it), built and written off the async workers unless light.
pub(crate) async fn embeddings_answer(
    req: EmbedRequest,
    model: String,
    dims: Dimensions,
    base64: bool,
    scenario: &Scenario,
) -> Response {
    let light = offload::embed_is_light(&req, dims);
    let written = offload::run(light, move |cancel| {
        let out = embedding::embed(&req, &model, dims, &Limits::DEFAULT, cancel)?;
        let encoding = if base64 {
            EmbedEncoding::Base64
        } else {
            EmbedEncoding::Float
        };
        reply::to_json(&wire::embeddings_from_canonical(out, model, encoding))
    })
    .await;
    match written {
        Ok(body) => reply::json_text(body, scenario),
        Err(stop) => reply::stopped(&stop, error),
    }
}

pub(crate) async fn models(State(mock): State<Arc<Mock>>, headers: HeaderMap) -> Response {
    if let Err(resp) = authorize(&mock, &headers, false) {
        return resp;
    }
    let mut ids: Vec<String> = mock.config.models.keys().cloned().collect();
    if ids.is_empty() {
        ids = vec![
            "gpt-4o-mini".into(),
            "gpt-4o".into(),
            "text-embedding-3-small".into(),
        ];
    }
    let list = wire::ModelList {
        object: "list".into(),
        data: ids
            .into_iter()
            .map(|id| wire::ModelObject {
                id,
                object: "model".into(),
                created: 1_700_000_000,
                owned_by: "switchyard-mock".into(),
            })
            .collect(),
    };
    axum::Json(list).into_response()
}
