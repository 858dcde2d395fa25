//! The AWS Bedrock family over the Converse API: `POST {base}/model/{modelId}/converse` and
//! `/converse-stream` (an `application/vnd.amazon.eventstream` body), SigV4-signed for the
//! `bedrock` service (or a Bedrock API key as a bearer token), and Titan Text Embeddings via
//! `/model/{modelId}/invoke`, one call per input. Converse has no JSON mode: a JSON response
//! format becomes a system instruction (the schema quoted), as for Anthropic.
//! Never logs or echoes a credential.

pub mod error;
pub mod sign;
pub mod stream;
pub mod wire;

use crate::http;
use crate::url::{self, Base, Piece};
use crate::{Call, Credentials, Endpoint, EventStream, Provider, model_id};
use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};
use reqwest::Url;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderValue};
use std::time::{Duration, SystemTime};
use switchyard_protocol::{
    ChatRequest, ChatResponse, EmbedRequest, EmbedResponse, ErrorKind, ProviderError, Usage,
};

pub use sign::default_base_url;

/// The Bedrock adapter.
pub struct Bedrock;

/// Embedding calls in flight at once for one request.
const EMBED_CONCURRENCY: usize = 4;
const EVENTSTREAM: &str = "application/vnd.amazon.eventstream";

/// The region to sign for: the endpoint's, or the one its URL names.
fn region<'a>(call: &Call<'a>) -> Result<&'a str, ProviderError> {
    call.endpoint
        .region
        .as_deref()
        .filter(|r| !r.is_empty())
        .or_else(|| sign::region_from_url(&call.endpoint.base_url))
        .ok_or_else(|| {
            ProviderError::new(
                ErrorKind::Auth,
                format!(
                    "provider {}: Bedrock needs a region to sign requests; set `region`",
                    call.endpoint.name
                ),
            )
        })
}

/// `{base}/model/{modelId}/{action}`, the model id one segment encoded as the AWS SDKs encode
/// a URI label; the signature covers exactly this URL's text.
pub(crate) fn action_url(call: Call<'_>, action: &'static str) -> Result<Url, ProviderError> {
    let model = model_id::bedrock(call.model)?;
    url::build(
        &Base::of(call.endpoint)?,
        [
            Piece::Fixed("model"),
            Piece::Model(model),
            Piece::Fixed(action),
        ],
        &[],
    )
}

/// Signs and sends `POST {base}/model/{model}/{action}`. Non-2xx answers become typed errors.
async fn post(
    call: Call<'_>,
    action: &'static str,
    body: Vec<u8>,
    accept: &str,
) -> Result<reqwest::Response, ProviderError> {
    let url = action_url(call, action)?;
    let auth: Vec<(&'static str, HeaderValue)> = match &call.endpoint.credentials {
        Credentials::Aws {
            access_key_id,
            secret_access_key,
            session_token,
        } => {
            let keys = sign::AwsKeys {
                access_key_id,
                secret_access_key,
                session_token: session_token.as_deref(),
            };
            let unsigned = sign::Unsigned {
                method: "POST",
                url: url.as_str(),
                headers: &[("content-type", "application/json"), ("accept", accept)],
                body: &body,
            };
            sign::signature_headers(&unsigned, keys, region(&call)?, SystemTime::now())?
                .into_iter()
                .map(|h| Ok((h.name, sensitive(&h.value, h.sensitive)?)))
                .collect::<Result<_, ProviderError>>()?
        }
        Credentials::ApiKey(key) => {
            vec![("authorization", sensitive(&format!("Bearer {key}"), true)?)]
        }
        Credentials::None => {
            return Err(ProviderError::new(
                ErrorKind::Auth,
                format!(
                    "provider {}: Bedrock needs AWS credentials or a Bedrock API key",
                    call.endpoint.name
                ),
            ));
        }
    };
    let mut builder = call
        .http
        .post(url)
        .header(CONTENT_TYPE, "application/json")
        .header(ACCEPT, accept);
    for (name, value) in auth {
        builder = builder.header(name, value);
    }
    send(call, builder.body(body)).await
}

fn sensitive(value: &str, is_sensitive: bool) -> Result<HeaderValue, ProviderError> {
    let mut v = HeaderValue::from_str(value).map_err(|_| {
        ProviderError::new(
            ErrorKind::Auth,
            "a Bedrock credential holds characters not allowed in an HTTP header",
        )
    })?;
    v.set_sensitive(is_sensitive);
    Ok(v)
}

/// Sends within the call's timeout; errors are typed by Bedrock's `x-amzn-ErrorType`.
async fn send(
    call: Call<'_>,
    req: reqwest::RequestBuilder,
) -> Result<reqwest::Response, ProviderError> {
    let resp = match tokio::time::timeout(call.timeout, req.send()).await {
        Err(_) => return Err(ProviderError::timeout(call.timeout)),
        Ok(Err(e)) => return Err(http::transport_error(e, call.timeout)),
        Ok(Ok(resp)) => resp,
    };
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let retry_after = http::retry_after(resp.headers());
    let mut error_type = resp
        .headers()
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = http::read_limited(resp, 64 * 1024)
        .await
        .unwrap_or_default();
    if error_type.is_none() {
        error_type = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| {
                ["__type", "code"]
                    .iter()
                    .find_map(|k| v.get(*k).and_then(|t| t.as_str()).map(str::to_owned))
            });
    }
    let message = http::upstream_message(&body)
        .unwrap_or_else(|| format!("upstream answered {status} with no error message"));
    Err(error::error_for_type(
        error_type.as_deref().unwrap_or_default(),
        Some(status.as_u16()),
        message,
        retry_after,
    ))
}

/// Bedrock's id for the request, which stands in for the response id Converse lacks.
fn request_id(resp: &reqwest::Response) -> String {
    resp.headers()
        .get("x-amzn-requestid")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(|| format!("bedrock-{}", crate::unix_now()))
}

fn converse_body(call: &Call<'_>, req: &ChatRequest) -> Result<Vec<u8>, ProviderError> {
    let options = wire::Options {
        default_max_tokens: call.endpoint.quirks.default_max_tokens,
    };
    let body = wire::request_from_canonical(req, options)?;
    switchyard_protocol::json::to_string(&body)
        .map(String::into_bytes)
        .map_err(|e| ProviderError::new(ErrorKind::BadRequest, format!("cannot encode: {e}")))
}

/// One Titan embeddings call.
async fn embed_one(
    call: Call<'_>,
    text: String,
    dimensions: Option<u32>,
) -> Result<wire::TitanEmbedResponse, ProviderError> {
    let body = wire::TitanEmbedRequest {
        input_text: &text,
        dimensions,
    };
    let body = switchyard_protocol::json::to_string(&body)
        .map(String::into_bytes)
        .map_err(|e| ProviderError::new(ErrorKind::BadRequest, format!("cannot encode: {e}")))?;
    let resp = post(call, "invoke", body, "application/json").await?;
    http::read_json(call, resp).await
}

#[async_trait]
impl Provider for Bedrock {
    fn check_model(&self, _endpoint: &Endpoint, model: &str) -> Result<(), ProviderError> {
        model_id::bedrock(model).map(drop)
    }

    async fn chat(&self, call: Call<'_>, req: &ChatRequest) -> Result<ChatResponse, ProviderError> {
        let body = converse_body(&call, req)?;
        let resp = post(call, "converse", body, "application/json").await?;
        let id = request_id(&resp);
        let parsed: wire::ConverseResponse = http::read_json(call, resp).await?;
        wire::response_to_canonical(parsed, id, call.model, crate::unix_now())
    }

    async fn chat_stream(
        &self,
        call: Call<'_>,
        req: &ChatRequest,
    ) -> Result<EventStream, ProviderError> {
        let body = converse_body(&call, req)?;
        let resp = post(call, "converse-stream", body, EVENTSTREAM).await?;
        let content_type = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or(EVENTSTREAM);
        if !content_type.starts_with(EVENTSTREAM) {
            return Err(ProviderError::malformed(format!(
                "upstream stream has content type {content_type}, not {EVENTSTREAM}"
            )));
        }
        let mut decoder =
            stream::StreamDecoder::new(request_id(&resp), call.model.to_owned(), crate::unix_now());
        let chunks = resp
            .bytes_stream()
            .map_err(|e| http::transport_error(e, Duration::ZERO));
        Ok(http::decode_stream(chunks, move |chunk: bytes::Bytes| {
            decoder.push(&chunk)
        }))
    }

    async fn embed(
        &self,
        call: Call<'_>,
        req: &EmbedRequest,
    ) -> Result<EmbedResponse, ProviderError> {
        let dimensions = req.dimensions;
        let vectors: Vec<wire::TitanEmbedResponse> = futures::stream::iter(req.input.clone())
            .map(|text| embed_one(call, text, dimensions))
            .buffered(EMBED_CONCURRENCY)
            .try_collect()
            .await?;
        let input_tokens = vectors.iter().map(|v| v.input_text_token_count).sum();
        Ok(EmbedResponse {
            model: call.model.to_owned(),
            data: vectors.into_iter().map(|v| v.embedding).collect(),
            usage: Usage {
                input_tokens,
                ..Usage::default()
            },
        })
    }
}
