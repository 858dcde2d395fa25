//! The Google Gemini family (Generative Language API, v1beta): `{model}:generateContent`,
//! `{model}:streamGenerateContent?alt=sse` and `{model}:batchEmbedContents` under
//! `{base}/v1beta/models/`, authenticated with the `x-goog-api-key` header. The key never goes
//! in the URL, so no error or log line can carry it.

mod convert;
mod error;
mod stream;
pub mod wire;

#[cfg(test)]
mod tests;

pub use convert::{
    SKIP_SIGNATURE, SYNTHETIC_ID_PREFIX, request_from_canonical, response_to_canonical, usage,
};
pub use error::classify;
pub use stream::StreamDecoder;

use crate::http::{self, JsonBody};
use crate::{Call, Credentials, EventStream, Provider};
use async_trait::async_trait;
use futures::StreamExt;
use switchyard_protocol::{
    ChatRequest, ChatResponse, EmbedRequest, EmbedResponse, ErrorKind, ProviderError, Usage,
};
use wire::{
    BatchEmbedContentsRequest, BatchEmbedContentsResponse, Content, EmbedContentRequest,
    GenerateContentResponse, Part,
};

/// Where the Gemini API lives; the gateway's default `base_url` for the family.
pub const DEFAULT_BASE_URL: &str = "https://generativelanguage.googleapis.com";

/// The Gemini adapter.
pub struct Gemini;

/// The resource name of a model: `models/{id}` for a bare id, as given for `models/…` and
/// `tunedModels/…`. Anything that could escape the path is refused.
pub fn model_resource(model: &str) -> Result<String, ProviderError> {
    let safe = |s: &str| {
        !s.is_empty()
            && s != "."
            && s != ".."
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'))
    };
    match model.split_once('/') {
        None if safe(model) => Ok(format!("models/{model}")),
        Some((collection @ ("models" | "tunedModels"), id)) if safe(id) => {
            Ok(format!("{collection}/{id}"))
        }
        _ => Err(ProviderError::new(
            ErrorKind::BadRequest,
            format!("\"{model}\" is not a Gemini model id"),
        )),
    }
}

/// The URL of `{model}:{action}`. A base URL that already ends in `/v1beta` is accepted.
fn url(call: Call<'_>, action: &str) -> Result<String, ProviderError> {
    let base = call.endpoint.base_url.trim_end_matches('/');
    let base = base.strip_suffix("/v1beta").unwrap_or(base);
    Ok(format!(
        "{base}/v1beta/{}:{action}",
        model_resource(call.model)?
    ))
}

fn post<T: serde::Serialize>(call: Call<'_>, url: String, body: &T) -> reqwest::RequestBuilder {
    let builder = call.http.post(url).json_body(body);
    match &call.endpoint.credentials {
        Credentials::ApiKey(key) => builder.header("x-goog-api-key", key),
        _ => builder,
    }
}

/// Sends and waits for the head within the call's timeout; error answers are classified from
/// Google's RPC status body.
async fn send(
    call: Call<'_>,
    builder: reqwest::RequestBuilder,
) -> Result<reqwest::Response, ProviderError> {
    let resp = match tokio::time::timeout(call.timeout, builder.send()).await {
        Err(_) => return Err(ProviderError::timeout(call.timeout)),
        Ok(Err(e)) => return Err(http::transport_error(e, call.timeout)),
        Ok(Ok(resp)) => resp,
    };
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let retry_after = http::retry_after(resp.headers());
    let body = tokio::time::timeout(call.timeout, http::read_limited(resp, 64 * 1024))
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    Err(error::classify(status.as_u16(), &body, retry_after))
}

/// Decodes a streamed answer; `candidates` is how many choices must finish.
pub fn decode_sse(resp: reqwest::Response, model: &str, candidates: u32) -> EventStream {
    enum Item {
        Event(switchyard_protocol::sse::Event),
        End,
    }
    let mut decoder = StreamDecoder::new(model, candidates, crate::unix_now());
    // The body's clean end is an item of its own: Gemini's streams have no end marker.
    let items = http::sse(resp)
        .map(|item| item.map(Item::Event))
        .chain(futures::stream::once(async { Ok(Item::End) }));
    http::decode_stream(items, move |item| match item {
        Item::Event(event) => decoder.data(&event.data),
        Item::End => decoder.end(),
    })
}

#[async_trait]
impl Provider for Gemini {
    async fn chat(&self, call: Call<'_>, req: &ChatRequest) -> Result<ChatResponse, ProviderError> {
        let body = request_from_canonical(req)?;
        let resp = send(call, post(call, url(call, "generateContent")?, &body)).await?;
        let parsed: GenerateContentResponse = http::read_json(call, resp).await?;
        response_to_canonical(parsed, call.model)
    }

    async fn chat_stream(
        &self,
        call: Call<'_>,
        req: &ChatRequest,
    ) -> Result<EventStream, ProviderError> {
        let body = request_from_canonical(req)?;
        let url = url(call, "streamGenerateContent")? + "?alt=sse";
        let resp = send(call, post(call, url, &body)).await?;
        Ok(decode_sse(resp, call.model, req.n))
    }

    async fn embed(
        &self,
        call: Call<'_>,
        req: &EmbedRequest,
    ) -> Result<EmbedResponse, ProviderError> {
        if req.input.is_empty() {
            return Err(ProviderError::new(
                ErrorKind::BadRequest,
                "embeddings need at least one input",
            ));
        }
        let model = model_resource(call.model)?;
        let body = BatchEmbedContentsRequest {
            requests: req
                .input
                .iter()
                .map(|text| EmbedContentRequest {
                    model: model.clone(),
                    content: Content {
                        role: None,
                        parts: vec![Part::text(text.clone())],
                    },
                    output_dimensionality: req.dimensions,
                })
                .collect(),
        };
        let resp = send(call, post(call, url(call, "batchEmbedContents")?, &body)).await?;
        let parsed: BatchEmbedContentsResponse = http::read_json(call, resp).await?;
        embeddings_to_canonical(parsed, call.model, req.input.len())
    }
}

/// Checks one non-empty vector per input, in input order.
pub fn embeddings_to_canonical(
    parsed: BatchEmbedContentsResponse,
    model: &str,
    inputs: usize,
) -> Result<EmbedResponse, ProviderError> {
    if parsed.embeddings.len() != inputs {
        return Err(ProviderError::malformed(format!(
            "Gemini returned {} embeddings for {inputs} inputs",
            parsed.embeddings.len()
        )));
    }
    if parsed.embeddings.iter().any(|e| e.values.is_empty()) {
        return Err(ProviderError::malformed(
            "Gemini returned an empty embedding",
        ));
    }
    Ok(EmbedResponse {
        model: model.to_owned(),
        data: parsed.embeddings.into_iter().map(|e| e.values).collect(),
        usage: Usage {
            input_tokens: parsed
                .usage_metadata
                .map(|u| u.prompt_token_count)
                .unwrap_or(0),
            ..Usage::default()
        },
    })
}
