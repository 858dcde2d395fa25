//! The Cloudflare Workers AI family: Bearer-token calls under `{base}/accounts/{account_id}`,
//! either to the native `/ai/run/{model}` API (the default) or, with
//! `Quirks::openai_compatible`, to the OpenAI-compatible `/ai/v1/...` endpoints through the
//! OpenAI adapter's request building and decoding. It never logs the token or the account id.

mod stream;
pub mod wire;

#[cfg(test)]
mod tests;

pub use stream::NativeStreamDecoder;

use crate::http::{self, JsonBody};
use crate::url::{self, Base, Piece};
use crate::{Call, Credentials, Endpoint, EventStream, Provider, model_id, openai};
use async_trait::async_trait;
use futures::StreamExt;
use reqwest::Url;
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use switchyard_protocol::openai::{self as oai, ChatCompletion, EmbeddingResponse};
use switchyard_protocol::{
    ChatRequest, ChatResponse, EmbedRequest, EmbedResponse, ErrorKind, ProviderError,
    ResponseFormat, StreamEvent, Usage,
};
use wire::{EmbedRunRequest, EmbedRunResult, Envelope};

/// Cloudflare's API root; the account and operation paths are appended to it.
pub const DEFAULT_BASE_URL: &str = "https://api.cloudflare.com/client/v4";

/// The `max_tokens` Workers AI's text-generation schemas apply when a request sets none.
pub const UPSTREAM_DEFAULT_MAX_TOKENS: u32 = 256;

/// The Workers AI adapter.
pub struct WorkersAi;

fn bad_request(message: impl Into<String>) -> ProviderError {
    ProviderError::new(ErrorKind::BadRequest, message)
}

/// The configured account id, checked so it cannot reshape the URL.
fn account_id<'a>(call: Call<'a>) -> Result<&'a str, ProviderError> {
    let account = call
        .endpoint
        .quirks
        .account_id
        .as_deref()
        .filter(|a| !a.is_empty())
        .ok_or_else(|| {
            bad_request(format!(
                "provider \"{}\" (workers-ai) has no quirks.account_id; set the Cloudflare \
                 account id in its config",
                call.endpoint.name
            ))
        })?;
    if !account
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(bad_request(format!(
            "provider \"{}\" has a quirks.account_id with characters other than letters, \
             digits, '-' and '_'",
            call.endpoint.name
        )));
    }
    Ok(account)
}

/// `{base}/accounts/{account}/ai/run/{model}`, each `/` of the model id a segment
/// ([`model_id::workers_ai`]).
pub(crate) fn run_url(call: Call<'_>) -> Result<Url, ProviderError> {
    let model = model_id::workers_ai(call.model)?;
    let account = account_id(call)?;
    url::build(
        &Base::of(call.endpoint)?,
        [
            Piece::Fixed("accounts"),
            Piece::Value(account),
            Piece::Fixed("ai/run"),
            Piece::Model(model),
        ],
        &[],
    )
}

/// `{base}/accounts/{account}/ai/v1/{operation}`; the model, checked all the same, travels in
/// the body.
pub(crate) fn compat_url(call: Call<'_>, operation: &'static str) -> Result<Url, ProviderError> {
    model_id::workers_ai(call.model)?;
    let account = account_id(call)?;
    url::build(
        &Base::of(call.endpoint)?,
        [
            Piece::Fixed("accounts"),
            Piece::Value(account),
            Piece::Fixed("ai/v1"),
            Piece::Fixed(operation),
        ],
        &[],
    )
}

fn post(call: Call<'_>, url: Url) -> reqwest::RequestBuilder {
    let builder = call.http.post(url);
    match &call.endpoint.credentials {
        Credentials::ApiKey(token) => builder.bearer_auth(token),
        _ => builder,
    }
}

/// An id for answers the native API leaves unnamed, unique within this process.
fn fresh_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("wai-{:x}-{n:x}", crate::unix_now())
}

/// The `max_tokens` to send (the request's, else the endpoint's default) and the one in force
/// upstream (which falls back to the schema default of 256).
fn token_budget(call: Call<'_>, req: &ChatRequest) -> (Option<u32>, u32) {
    let send = req.max_tokens.or(call.endpoint.quirks.default_max_tokens);
    (send, send.unwrap_or(UPSTREAM_DEFAULT_MAX_TOKENS))
}

async fn native_chat(call: Call<'_>, req: &ChatRequest) -> Result<ChatResponse, ProviderError> {
    let (send, limit) = token_budget(call, req);
    let body = wire::request_from_canonical(req, send, false)?;
    let resp = http::send(call, post(call, run_url(call)?).json_body(&body)).await?;
    let envelope: Envelope<Value> = http::read_json(call, resp).await?;
    wire::response_to_canonical(
        envelope.into_result()?,
        call.model,
        fresh_id(),
        crate::unix_now(),
        limit,
    )
}

async fn native_stream(call: Call<'_>, req: &ChatRequest) -> Result<EventStream, ProviderError> {
    if matches!(
        req.response_format,
        Some(ResponseFormat::JsonObject | ResponseFormat::JsonSchema { .. })
    ) {
        // JSON mode does not stream on Workers AI: answer whole, then replay it as events.
        let resp = native_chat(call, req).await?;
        return Ok(futures::stream::iter(replay(&resp).into_iter().map(Ok)).boxed());
    }
    let (send, limit) = token_budget(call, req);
    let body = wire::request_from_canonical(req, send, true)?;
    let resp = http::send(call, post(call, run_url(call)?).json_body(&body)).await?;
    let decoder = NativeStreamDecoder::new(fresh_id(), call.model, crate::unix_now(), limit);
    Ok(decode_native_sse(http::body_bytes(resp), decoder))
}

/// Decodes a native SSE body from any stream of byte chunks, however they split the events.
pub fn decode_native_sse<S>(bytes: S, mut decoder: NativeStreamDecoder) -> EventStream
where
    S: futures::Stream<Item = Result<bytes::Bytes, ProviderError>> + Send + 'static,
{
    http::decode_stream(http::sse_events(bytes), move |event| {
        decoder.decode(&event.data)
    })
}

/// The events that deliver a complete answer.
pub fn replay(resp: &ChatResponse) -> Vec<StreamEvent> {
    let mut out = vec![StreamEvent::Start {
        id: resp.id.clone(),
        model: resp.model.clone(),
        created: resp.created,
    }];
    for choice in &resp.choices {
        let text = choice.message.joined_text();
        if !text.is_empty() {
            out.push(StreamEvent::Text {
                choice: choice.index,
                text,
            });
        }
        for (i, call) in choice.message.tool_calls.iter().enumerate() {
            out.push(StreamEvent::ToolCallStart {
                choice: choice.index,
                index: i as u32,
                id: call.id.clone(),
                name: call.name.clone(),
            });
            out.push(StreamEvent::ToolCallArguments {
                choice: choice.index,
                index: i as u32,
                arguments: call.arguments.clone(),
            });
        }
        out.push(StreamEvent::Finish {
            choice: choice.index,
            reason: choice.finish_reason,
        });
    }
    out.push(StreamEvent::Usage(resp.usage));
    out
}

/// The OpenAI-compatible body: the OpenAI adapter's, with `max_tokens` (the field Workers AI
/// documents) instead of `max_completion_tokens`.
fn compat_body(call: Call<'_>, req: &ChatRequest, stream: bool) -> oai::ChatCompletionRequest {
    let mut body = openai::upstream_request(call, req, stream);
    if let Some(max) = body.max_completion_tokens.take() {
        body.max_tokens = Some(max);
    }
    body
}

async fn compat_chat(call: Call<'_>, req: &ChatRequest) -> Result<ChatResponse, ProviderError> {
    let body = compat_body(call, req, false);
    let url = compat_url(call, "chat/completions")?;
    let resp = http::send(call, post(call, url).json_body(&body)).await?;
    let completion: ChatCompletion = http::read_json(call, resp).await?;
    if completion.choices.is_empty() {
        return Err(ProviderError::malformed(
            "upstream answered with no choices",
        ));
    }
    Ok(oai::response_to_canonical(completion))
}

async fn compat_stream(call: Call<'_>, req: &ChatRequest) -> Result<EventStream, ProviderError> {
    let body = compat_body(call, req, true);
    let url = compat_url(call, "chat/completions")?;
    let resp = http::send(call, post(call, url).json_body(&body)).await?;
    Ok(openai::decode_sse(resp))
}

async fn native_embed(call: Call<'_>, req: &EmbedRequest) -> Result<EmbedResponse, ProviderError> {
    if req.dimensions.is_some() {
        return Err(bad_request(
            "Workers AI embedding models have a fixed vector size; `dimensions` is not supported",
        ));
    }
    let body = EmbedRunRequest { text: &req.input };
    let resp = http::send(call, post(call, run_url(call)?).json_body(&body)).await?;
    let envelope: Envelope<EmbedRunResult> = http::read_json(call, resp).await?;
    let result = envelope.into_result()?;
    if result.data.len() != req.input.len() || result.data.iter().any(Vec::is_empty) {
        return Err(ProviderError::malformed(format!(
            "Workers AI returned {} embeddings (shape {:?}) for {} inputs",
            result.data.len(),
            result.shape,
            req.input.len()
        )));
    }
    Ok(EmbedResponse {
        model: call.model.to_owned(),
        data: result.data,
        // The native embeddings result reports no token counts.
        usage: Usage::default(),
    })
}

async fn compat_embed(call: Call<'_>, req: &EmbedRequest) -> Result<EmbedResponse, ProviderError> {
    let body = oai::EmbeddingRequest {
        model: call.model.to_owned(),
        input: oai::EmbeddingInput::Many(req.input.clone()),
        encoding_format: Some(oai::encoding_format(req.encoding).into()),
        dimensions: req.dimensions,
        user: req.user.clone(),
    };
    let url = compat_url(call, "embeddings")?;
    let resp = http::send(call, post(call, url).json_body(&body)).await?;
    let parsed: EmbeddingResponse = http::read_json(call, resp).await?;
    openai::embeddings_to_canonical(parsed, req.input.len())
}

#[async_trait]
impl Provider for WorkersAi {
    fn check_model(&self, _endpoint: &Endpoint, model: &str) -> Result<(), ProviderError> {
        model_id::workers_ai(model).map(drop)
    }

    async fn chat(&self, call: Call<'_>, req: &ChatRequest) -> Result<ChatResponse, ProviderError> {
        if call.endpoint.quirks.openai_compatible {
            compat_chat(call, req).await
        } else {
            native_chat(call, req).await
        }
    }

    async fn chat_stream(
        &self,
        call: Call<'_>,
        req: &ChatRequest,
    ) -> Result<EventStream, ProviderError> {
        if call.endpoint.quirks.openai_compatible {
            compat_stream(call, req).await
        } else {
            native_stream(call, req).await
        }
    }

    async fn embed(
        &self,
        call: Call<'_>,
        req: &EmbedRequest,
    ) -> Result<EmbedResponse, ProviderError> {
        if call.endpoint.quirks.openai_compatible {
            compat_embed(call, req).await
        } else {
            native_embed(call, req).await
        }
    }
}
