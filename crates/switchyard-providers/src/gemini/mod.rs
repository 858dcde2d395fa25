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
use crate::url::{self, Base, Piece};
use crate::{Call, Credentials, Endpoint, EventStream, Provider, model_id};
use async_trait::async_trait;
use futures::StreamExt;
use reqwest::Url;
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
/// `tunedModels/…` (the grammar is [`model_id::gemini`]).
pub fn model_resource(model: &str) -> Result<String, ProviderError> {
    model_id::gemini(model).map(|path| path.resource())
}

/// The URL of `{model}:{verb}` under `{base}/v1beta/` (a base that already ends in `/v1beta`
/// is accepted), with `query`.
pub(crate) fn method_url(
    call: Call<'_>,
    verb: &'static str,
    query: &[(&str, &str)],
) -> Result<Url, ProviderError> {
    let model = model_id::gemini(call.model)?;
    let base = Base::of(call.endpoint)?;
    let version = (!base.ends_with_segment("v1beta")).then_some(Piece::Fixed("v1beta"));
    url::build(
        &base,
        version
            .into_iter()
            .chain([Piece::Model(model), Piece::Verb(verb)]),
        query,
    )
}

fn post<T: serde::Serialize>(call: Call<'_>, url: Url, body: &T) -> reqwest::RequestBuilder {
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
    decode_sse_bytes(http::body_bytes(resp), model, candidates, crate::unix_now())
}

/// Decodes a streamed answer from any stream of byte chunks; `created` stamps it.
pub fn decode_sse_bytes<S>(bytes: S, model: &str, candidates: u32, created: u64) -> EventStream
where
    S: futures::Stream<Item = Result<bytes::Bytes, ProviderError>> + Send + 'static,
{
    enum Item {
        Event(switchyard_protocol::sse::Event),
        End,
    }
    let mut decoder = StreamDecoder::new(model, candidates, created);
    // The body's clean end is an item of its own: Gemini's streams have no end marker.
    let items = http::sse_events(bytes)
        .map(|item| item.map(Item::Event))
        .chain(futures::stream::once(async { Ok(Item::End) }));
    http::decode_stream(items, move |item| match item {
        Item::Event(event) => decoder.data(&event.data),
        Item::End => decoder.end(),
    })
}

#[async_trait]
impl Provider for Gemini {
    fn check_model(&self, _endpoint: &Endpoint, model: &str) -> Result<(), ProviderError> {
        model_id::gemini(model).map(drop)
    }

    async fn chat(&self, call: Call<'_>, req: &ChatRequest) -> Result<ChatResponse, ProviderError> {
        let body = request_from_canonical(req)?;
        let url = method_url(call, "generateContent", &[])?;
        let resp = send(call, post(call, url, &body)).await?;
        let parsed: GenerateContentResponse = http::read_json(call, resp).await?;
        response_to_canonical(parsed, call.model)
    }

    async fn chat_stream(
        &self,
        call: Call<'_>,
        req: &ChatRequest,
    ) -> Result<EventStream, ProviderError> {
        let body = request_from_canonical(req)?;
        let url = method_url(call, "streamGenerateContent", &[("alt", "sse")])?;
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
        let url = method_url(call, "batchEmbedContents", &[])?;
        let resp = send(call, post(call, url, &body)).await?;
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
