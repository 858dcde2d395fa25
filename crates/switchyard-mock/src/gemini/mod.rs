//! Google's Gemini API (v1beta): `POST /v1beta/models/{model}:generateContent`,
//! `:streamGenerateContent` (SSE with `alt=sse`, else one JSON array) and
//! `:batchEmbedContents`. The key comes in the `x-goog-api-key` header or the `key` query
//! parameter; a wrong key is a 400 `API_KEY_INVALID`, a missing one a 403, as Google answers.
//! Errors are Google RPC statuses; a scripted `Retry-After` travels as `RetryInfo` in the body.

mod answer;
mod request;
mod schema;
mod wire;

use crate::embedding::{self, Dimensions};
use crate::limits::Limits;
use crate::reply::{self, Frame};
use crate::{Mock, offload, synth};
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::Arc;
use switchyard_protocol::{EmbedEncoding, EmbedRequest};

/// Google's canonical status name for an HTTP status.
fn rpc_status(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        412 => "FAILED_PRECONDITION",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        501 => "NOT_IMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ if status.is_client_error() => "FAILED_PRECONDITION",
        _ => "INTERNAL",
    }
}

fn rpc_error(status: StatusCode, message: &str, details: Vec<Value>) -> Response {
    let mut error =
        json!({"code": status.as_u16(), "message": message, "status": rpc_status(status)});
    if !details.is_empty() {
        error["details"] = Value::Array(details);
    }
    (status, axum::Json(json!({ "error": error }))).into_response()
}

/// An error in Gemini's format (the mock's `ErrorFn`).
pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    let details = if status == StatusCode::TOO_MANY_REQUESTS {
        vec![
            json!({"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{
                "quotaMetric": "generativelanguage.googleapis.com/generate_content_requests",
                "quotaId": "GenerateRequestsPerMinutePerProjectPerModel"}]}),
            json!({"@type": "type.googleapis.com/google.rpc.Help", "links": [{
                "description": "Learn more about Gemini API quotas",
                "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}]}),
        ]
    } else {
        Vec::new()
    };
    rpc_error(status, message, details)
}

fn query_param<'a>(query: Option<&'a str>, name: &str) -> Option<&'a str> {
    query?
        .split('&')
        .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
}

/// The refusal for a request without an accepted key, if it has none.
fn refusal(mock: &Mock, headers: &HeaderMap, query: Option<&str>) -> Option<Response> {
    let presented = reply::credential(headers, "x-goog-api-key")
        .or_else(|| query_param(query, "key").filter(|k| !k.is_empty()));
    if presented.is_none() {
        return Some(error(
            StatusCode::FORBIDDEN,
            "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
        ));
    }
    if reply::accepted(mock, presented) {
        return None;
    }
    Some(rpc_error(
        StatusCode::BAD_REQUEST,
        "API key not valid. Please pass a valid API key.",
        vec![
            json!({"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
            "domain": "googleapis.com", "metadata": {"service": "generativelanguage.googleapis.com"}}),
        ],
    ))
}

/// Google sends no `Retry-After` header: the wait is a `RetryInfo` detail in the body.
async fn retry_info(resp: Response) -> Response {
    let Some(secs) = resp
        .headers()
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
    else {
        return resp;
    };
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal error encountered.",
        );
    };
    let mut value: Value = serde_json::from_slice(&bytes).unwrap_or_else(|_| json!({"error": {}}));
    if let Some(error) = value.get_mut("error").and_then(Value::as_object_mut) {
        let details = error.entry("details").or_insert_with(|| json!([]));
        if let Some(list) = details.as_array_mut() {
            list.push(json!({"@type": "type.googleapis.com/google.rpc.RetryInfo",
                "retryDelay": format!("{secs}s")}));
        }
    }
    parts.headers.remove(header::RETRY_AFTER);
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(
        parts,
        Body::from(serde_json::to_vec(&value).unwrap_or_default()),
    )
}

/// `POST /v1beta/models/{model}:{action}`.
pub(crate) async fn model_action(
    State(mock): State<Arc<Mock>>,
    Path(model_action): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let Some((model, action)) = model_action.split_once(':') else {
        return error(StatusCode::NOT_FOUND, "Method not found.");
    };
    if let Some(resp) = refusal(&mock, &headers, query.as_deref()) {
        return resp;
    }
    let query = query.as_deref();
    match action {
        "generateContent" => generate(&mock, model, &headers, query, &body, None).await,
        "streamGenerateContent" => {
            let sse = query_param(query, "alt") == Some("sse");
            generate(&mock, model, &headers, query, &body, Some(sse)).await
        }
        "batchEmbedContents" => embed(&mock, model, &headers, query, &body).await,
        _ => error(
            StatusCode::NOT_FOUND,
            &format!("models/{model} does not support the method {action}"),
        ),
    }
}

/// `stream`: `None` for `generateContent`, `Some(sse)` for `streamGenerateContent`.
async fn generate(
    mock: &Mock,
    model: &str,
    headers: &HeaderMap,
    query: Option<&str>,
    body: &[u8],
    stream: Option<bool>,
) -> Response {
    let parsed: wire::GenerateContentRequest = match serde_json::from_slice(body) {
        Ok(p) => p,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("Invalid JSON payload received. {e}"),
            );
        }
    };
    let checked = match request::check(model, parsed, stream.is_some()) {
        Ok(c) => c,
        Err(message) => return error(StatusCode::BAD_REQUEST, &message),
    };
    let scenario = match reply::prelude(mock, model, headers, query, error).await {
        Ok(s) => s,
        Err(resp) => return retry_info(resp).await,
    };
    if scenario.malformed && stream.is_none() {
        return reply::malformed("application/json");
    }
    let shape = synth::Shape::of(&scenario);
    let mut resp = match offload::chat(&checked.req, model, shape).await {
        Ok(resp) => resp,
        Err(stop) => return reply::stopped(&stop, error),
    };
    if checked.enum_mode {
        answer::unquote_enum(&mut resp);
    }
    let Some(sse) = stream else {
        return reply::json(&answer::whole(&resp), &scenario);
    };
    let chunks = answer::chunks(&resp, scenario.chunks);
    let last = chunks.len().saturating_sub(1);
    let mut frames = Vec::with_capacity(chunks.len() + 1);
    for (i, (chunk, content)) in chunks.iter().enumerate() {
        let data = serde_json::to_string(chunk).unwrap_or_default();
        let bytes = match (sse, i) {
            (true, _) => format!("data: {data}\r\n\r\n"),
            (false, 0) => format!("[{data}"),
            (false, _) => format!(",\r\n{data}"),
        };
        let close = !sse && i == last;
        frames.push(if *content {
            Frame::content(bytes)
        } else {
            Frame::meta(bytes)
        });
        if close {
            frames.push(Frame::meta("]"));
        }
    }
    let content_type = if sse {
        "text/event-stream"
    } else {
        "application/json"
    };
    reply::stream(frames, &scenario, content_type)
}

async fn embed(
    mock: &Mock,
    model: &str,
    headers: &HeaderMap,
    query: Option<&str>,
    body: &[u8],
) -> Response {
    let parsed: wire::BatchEmbedContentsRequest = match serde_json::from_slice(body) {
        Ok(p) => p,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("Invalid JSON payload received. {e}"),
            );
        }
    };
    let dims = Dimensions::of(model, mock.config.embedding_dims.unwrap_or(768));
    let mut texts = Vec::new();
    for (i, req) in parsed.requests.iter().enumerate() {
        if let Err(message) = check_embed(model, i, req, dims.max) {
            return error(StatusCode::BAD_REQUEST, &message);
        }
        let text: String = req
            .content
            .parts
            .iter()
            .filter_map(|p| p.text.as_deref())
            .collect();
        let size = req.output_dimensionality.map(|d| d as u32);
        texts.push((text, size));
    }
    if texts.is_empty() || texts.len() > 100 {
        return error(
            StatusCode::BAD_REQUEST,
            "* BatchEmbedContentsRequest.requests: between 1 and 100 requests can be in one batch",
        );
    }
    let scenario = match reply::prelude(mock, model, headers, query, error).await {
        Ok(s) => s,
        Err(resp) => return retry_info(resp).await,
    };
    if scenario.malformed {
        return reply::malformed("application/json");
    }
    let text_bytes = texts.iter().map(|(text, _)| text.len()).sum();
    let values = texts
        .iter()
        .map(|(_, size)| u64::from(size.unwrap_or(dims.default)))
        .sum();
    let model = model.to_owned();
    let written = offload::run(
        offload::embedding_is_light(text_bytes, values),
        move |cancel| {
            let mut embeddings = Vec::with_capacity(texts.len());
            for (text, size) in texts {
                let req = EmbedRequest {
                    model: model.clone(),
                    input: vec![text],
                    dimensions: size,
                    user: None,
                    encoding: EmbedEncoding::Float,
                };
                let out = embedding::embed(&req, &model, dims, &Limits::DEFAULT, cancel)?;
                let values = out.data.into_iter().next().unwrap_or_default();
                embeddings.push(wire::ContentEmbedding { values });
            }
            reply::to_json(&wire::BatchEmbedContentsResponse { embeddings })
        },
    )
    .await;
    match written {
        Ok(body) => reply::json_text(body, &scenario),
        Err(stop) => reply::stopped(&stop, error),
    }
}

const TASK_TYPES: &[&str] = &[
    "TASK_TYPE_UNSPECIFIED",
    "RETRIEVAL_QUERY",
    "RETRIEVAL_DOCUMENT",
    "SEMANTIC_SIMILARITY",
    "CLASSIFICATION",
    "CLUSTERING",
    "QUESTION_ANSWERING",
    "FACT_VERIFICATION",
    "CODE_RETRIEVAL_QUERY",
];

fn check_embed(
    model: &str,
    i: usize,
    req: &wire::EmbedContentRequest,
    max_dims: u32,
) -> Result<(), String> {
    let at = format!("* BatchEmbedContentsRequest.requests[{i}]");
    let expected = format!("models/{model}");
    if req.model != expected {
        return Err(format!(
            "{at}.model: the model in the request ({}) does not match the model in the URL ({expected})",
            req.model
        ));
    }
    if req.content.parts.is_empty() {
        return Err(format!(
            "{at}.content.parts: contents.parts must not be empty."
        ));
    }
    if req
        .content
        .parts
        .iter()
        .any(|p| p.text.is_none() || p.data_fields() != 1)
    {
        return Err(format!(
            "{at}.content.parts: only text parts can be embedded by this model"
        ));
    }
    if let Some(task) = &req.task_type
        && !TASK_TYPES.contains(&task.as_str())
    {
        return Err(format!(
            "Invalid value at 'requests[{i}].task_type' (type.googleapis.com/google.ai.generativelanguage.v1beta.TaskType), \"{task}\""
        ));
    }
    if req.title.is_some() && req.task_type.as_deref() != Some("RETRIEVAL_DOCUMENT") {
        return Err(format!(
            "{at}.title: a title is only allowed with task_type RETRIEVAL_DOCUMENT"
        ));
    }
    if let Some(dims) = req.output_dimensionality
        && !(1..=i64::from(max_dims)).contains(&i64::from(dims))
    {
        return Err(format!(
            "{at}.output_dimensionality: must be between 1 and {max_dims} for {model}, got {dims}"
        ));
    }
    Ok(())
}
