//! The OpenAI-compatible family: OpenAI, Azure OpenAI (deployment URLs, `api-version`,
//! `api-key`), Groq, Mistral, Together, vLLM and Ollama, told apart only by base URL, key and
//! [`Quirks`](crate::Quirks).

use crate::http::{self, Decoded, JsonBody};
use crate::model_id;
use crate::url::{self, Base, Piece};
use crate::{Call, Credentials, Endpoint, EventStream, Provider};
use async_trait::async_trait;
use futures::StreamExt;
use reqwest::Url;
use switchyard_protocol::openai::{
    self as wire, ChatCompletion, ChatCompletionChunk, ChunkDecoder, EmbeddingResponse,
};
use switchyard_protocol::{
    ChatRequest, ChatResponse, EmbedRequest, EmbedResponse, ProviderError, Usage,
};

/// The OpenAI-compatible adapter.
pub struct OpenAi;

/// The grammar of this endpoint's model ids: Azure deployment names, which fill a URL
/// segment, or the free ids of servers that read the model from the body only.
fn check_model(endpoint: &Endpoint, model: &str) -> Result<(), ProviderError> {
    match endpoint.quirks.azure_api_version {
        Some(_) => model_id::azure_deployment(model).map(drop),
        None => model_id::body(model).map(drop),
    }
}

/// The URL of an operation (`chat/completions`, `embeddings`): `{base}/{operation}`, or for
/// Azure `{base}/openai/deployments/{deployment}/{operation}?api-version={version}`.
pub(crate) fn operation_url(call: Call<'_>, operation: &'static str) -> Result<Url, ProviderError> {
    let Some(version) = &call.endpoint.quirks.azure_api_version else {
        model_id::body(call.model)?;
        return url::fixed(call.endpoint, operation);
    };
    let deployment = model_id::azure_deployment(call.model)?;
    url::build(
        &Base::of(call.endpoint)?,
        [
            Piece::Fixed("openai/deployments"),
            Piece::Model(deployment),
            Piece::Fixed(operation),
        ],
        &[("api-version", version)],
    )
}

/// A POST to an operation of this endpoint and model, authorized.
fn post(call: Call<'_>, operation: &'static str) -> Result<reqwest::RequestBuilder, ProviderError> {
    Ok(authorize(
        call,
        call.http.post(operation_url(call, operation)?),
    ))
}

fn authorize(call: Call<'_>, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    match (
        &call.endpoint.credentials,
        &call.endpoint.quirks.azure_api_version,
    ) {
        (Credentials::ApiKey(key), Some(_)) => req.header("api-key", key),
        (Credentials::ApiKey(key), None) => req.bearer_auth(key),
        _ => req,
    }
}

/// The upstream body for a canonical request, with the endpoint's quirks applied.
pub fn upstream_request(
    call: Call<'_>,
    req: &ChatRequest,
    stream: bool,
) -> wire::ChatCompletionRequest {
    let mut body = wire::request_from_canonical(req, call.model);
    // Whether to stream is the call's to say, whatever the canonical request asked.
    body.stream = stream.then_some(true);
    body.stream_options = stream.then_some(wire::StreamOptions {
        include_usage: Some(true),
    });
    let quirks = &call.endpoint.quirks;
    if quirks.legacy_max_tokens {
        body.max_tokens = body.max_completion_tokens.take();
    }
    if quirks.no_stream_options {
        body.stream_options = None;
    }
    body
}

#[async_trait]
impl Provider for OpenAi {
    fn check_model(&self, endpoint: &Endpoint, model: &str) -> Result<(), ProviderError> {
        check_model(endpoint, model)
    }

    async fn chat(&self, call: Call<'_>, req: &ChatRequest) -> Result<ChatResponse, ProviderError> {
        let body = upstream_request(call, req, false);
        let builder = post(call, "chat/completions")?.json_body(&body);
        let resp = http::send(call, builder).await?;
        let completion: ChatCompletion = http::read_json(call, resp).await?;
        if completion.choices.is_empty() {
            return Err(ProviderError::malformed(
                "upstream answered with no choices",
            ));
        }
        Ok(wire::response_to_canonical(completion))
    }

    async fn chat_stream(
        &self,
        call: Call<'_>,
        req: &ChatRequest,
    ) -> Result<EventStream, ProviderError> {
        let body = upstream_request(call, req, true);
        let builder = post(call, "chat/completions")?.json_body(&body);
        let resp = http::send(call, builder).await?;
        Ok(decode_sse(resp))
    }

    async fn embed(
        &self,
        call: Call<'_>,
        req: &EmbedRequest,
    ) -> Result<EmbedResponse, ProviderError> {
        let body = wire::EmbeddingRequest {
            model: call.model.to_owned(),
            input: wire::EmbeddingInput::Many(req.input.clone()),
            encoding_format: Some(wire::encoding_format(req.encoding).into()),
            dimensions: req.dimensions,
            user: req.user.clone(),
        };
        let builder = post(call, "embeddings")?.json_body(&body);
        let resp = http::send(call, builder).await?;
        let parsed: EmbeddingResponse = http::read_json(call, resp).await?;
        embeddings_to_canonical(parsed, req.input.len())
    }
}

/// Decodes an OpenAI-format SSE body (also used by Workers AI's compatible endpoint).
pub fn decode_sse(resp: reqwest::Response) -> EventStream {
    decode_sse_bytes(http::body_bytes(resp))
}

/// Decodes OpenAI-format SSE from any stream of byte chunks.
pub fn decode_sse_bytes<S>(bytes: S) -> EventStream
where
    S: futures::Stream<Item = Result<bytes::Bytes, ProviderError>> + Send + 'static,
{
    let mut decoder = ChunkDecoder::default();
    http::decode_stream(http::sse_events(bytes), move |event| {
        let data = event.data.trim();
        if data == "[DONE]" {
            return Ok(Decoded::done(Vec::new()));
        }
        if data.is_empty() {
            return Ok(Decoded::more(Vec::new()));
        }
        // A chunk is the common case; only data that is not one is read as an error body.
        let chunk: ChatCompletionChunk = match http::parse_json_text(data) {
            Ok(chunk) => chunk,
            Err(malformed) => {
                return Err(
                    match serde_json::from_str::<switchyard_protocol::error::OpenAiErrorBody>(data)
                    {
                        Ok(err) => ProviderError::new(
                            switchyard_protocol::ErrorKind::Upstream5xx,
                            format!("upstream stream reported an error: {}", err.error.message),
                        ),
                        Err(_) => malformed,
                    },
                );
            }
        };
        Ok(Decoded::more(decoder.decode(chunk)))
    })
    .boxed()
}

/// Checks an embeddings answer (one vector per input, f32 numbers or base64 of f32s, whichever
/// the upstream sent) and orders it by index.
pub fn embeddings_to_canonical(
    parsed: EmbeddingResponse,
    inputs: usize,
) -> Result<EmbedResponse, ProviderError> {
    if parsed.data.len() != inputs {
        return Err(ProviderError::malformed(format!(
            "upstream returned {} embeddings for {inputs} inputs",
            parsed.data.len()
        )));
    }
    let mut data = vec![Vec::new(); inputs];
    for item in parsed.data {
        let slot = data.get_mut(item.index as usize).ok_or_else(|| {
            ProviderError::malformed(format!("embedding index {} out of range", item.index))
        })?;
        *slot = item.embedding.into_f32s().ok_or_else(|| {
            ProviderError::malformed("embedding is base64 that does not decode to f32s")
        })?;
    }
    Ok(EmbedResponse {
        model: parsed.model,
        data,
        usage: Usage {
            input_tokens: parsed.usage.prompt_tokens,
            ..Usage::default()
        },
    })
}
