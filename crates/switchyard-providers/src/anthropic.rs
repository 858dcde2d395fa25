//! The Anthropic Messages family: `POST {base}/messages` with `x-api-key` and
//! `anthropic-version`, `max_tokens` always set, SSE events from `message_start` to
//! `message_stop`. Anthropic has no embeddings API.

use crate::http::{self, Decoded, JsonBody};
use crate::{Call, Credentials, Endpoint, EventStream, Provider, model_id, url};
use async_trait::async_trait;
use switchyard_protocol::anthropic::{
    self as wire, EventDecoder, MessagesResponse, StreamEventWire,
};
use switchyard_protocol::{
    ChatRequest, ChatResponse, EmbedRequest, EmbedResponse, ErrorKind, ProviderError,
};

/// The Anthropic adapter.
pub struct Anthropic;

const DEFAULT_VERSION: &str = "2023-06-01";
const DEFAULT_MAX_TOKENS: u32 = 4096;

fn request(
    call: Call<'_>,
    req: &ChatRequest,
    stream: bool,
) -> Result<reqwest::RequestBuilder, ProviderError> {
    if req.n > 1 {
        return Err(ProviderError::new(
            ErrorKind::BadRequest,
            "Anthropic models return one choice; `n` must be 1",
        ));
    }
    let model = model_id::body(call.model)?;
    let url = url::fixed(call.endpoint, "messages")?;
    let quirks = &call.endpoint.quirks;
    let mut canonical = req.clone();
    canonical.stream = stream;
    let body = wire::request_from_canonical(
        &canonical,
        model,
        quirks.default_max_tokens.unwrap_or(DEFAULT_MAX_TOKENS),
    );
    let mut builder = call
        .http
        .post(url)
        .header(
            "anthropic-version",
            quirks
                .anthropic_version
                .as_deref()
                .unwrap_or(DEFAULT_VERSION),
        )
        .json_body(&body);
    if let Credentials::ApiKey(key) = &call.endpoint.credentials {
        builder = builder.header("x-api-key", key);
    }
    Ok(builder)
}

/// Decodes an Anthropic SSE body from any stream of byte chunks, from `message_start` to
/// `message_stop`; `created` stamps the answer (Anthropic's events carry no time).
pub fn decode_sse_bytes<S>(bytes: S, created: u64) -> EventStream
where
    S: futures::Stream<Item = Result<bytes::Bytes, ProviderError>> + Send + 'static,
{
    let mut decoder = EventDecoder::default();
    http::decode_stream(http::sse_events(bytes), move |event| {
        if event.data.trim().is_empty() {
            return Ok(Decoded::more(Vec::new()));
        }
        let parsed: StreamEventWire = http::parse_json_text(&event.data)?;
        let done = matches!(parsed, StreamEventWire::MessageStop);
        let mut events = decoder.decode(parsed)?;
        for e in &mut events {
            if let switchyard_protocol::StreamEvent::Start { created: c, .. } = e {
                *c = created;
            }
        }
        Ok(Decoded { events, done })
    })
}

#[async_trait]
impl Provider for Anthropic {
    fn check_model(&self, _endpoint: &Endpoint, model: &str) -> Result<(), ProviderError> {
        model_id::body(model).map(drop)
    }

    async fn chat(&self, call: Call<'_>, req: &ChatRequest) -> Result<ChatResponse, ProviderError> {
        let resp = http::send(call, request(call, req, false)?).await?;
        let message: MessagesResponse = http::read_json(call, resp).await?;
        let mut response = wire::response_to_canonical(message);
        response.created = crate::unix_now();
        Ok(response)
    }

    async fn chat_stream(
        &self,
        call: Call<'_>,
        req: &ChatRequest,
    ) -> Result<EventStream, ProviderError> {
        let resp = http::send(call, request(call, req, true)?).await?;
        Ok(decode_sse_bytes(http::body_bytes(resp), crate::unix_now()))
    }

    async fn embed(
        &self,
        _call: Call<'_>,
        _req: &EmbedRequest,
    ) -> Result<EmbedResponse, ProviderError> {
        Err(ProviderError::new(
            ErrorKind::BadRequest,
            "the Anthropic API has no embeddings endpoint",
        ))
    }
}
