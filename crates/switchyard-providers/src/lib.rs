//! Provider adapters: one module per wire family translates the canonical model to that
//! family's HTTP API and back, parses its streams and maps its failures to typed
//! [`ProviderError`]s. Adapters own no client and no secret: both arrive with each [`Call`].
//! Providers never see policy, and never compute cost (that is the pricing table's job).
#![forbid(unsafe_code)]

pub mod anthropic;
pub mod bedrock;
pub mod gemini;
pub mod http;
pub mod model_id;
pub mod openai;
pub mod url;
pub mod workers_ai;

use async_trait::async_trait;
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use switchyard_protocol::{
    ChatRequest, ChatResponse, EmbedRequest, EmbedResponse, ProviderError, StreamEvent,
};

/// A stream of canonical events from one upstream call. It ends after the last event, or
/// with one `Err` if the upstream broke off.
pub type EventStream = BoxStream<'static, Result<StreamEvent, ProviderError>>;

/// The wire families Switchyard speaks upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    Openai,
    Anthropic,
    Gemini,
    WorkersAi,
    Bedrock,
    /// The gateway's built-in in-process provider; it has no HTTP adapter here.
    Mock,
}

impl Family {
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Openai => "openai",
            Family::Anthropic => "anthropic",
            Family::Gemini => "gemini",
            Family::WorkersAi => "workers-ai",
            Family::Bedrock => "bedrock",
            Family::Mock => "mock",
        }
    }

    /// The adapter for an HTTP family; `None` for [`Family::Mock`], which the gateway provides.
    pub fn adapter(self) -> Option<Arc<dyn Provider>> {
        match self {
            Family::Openai => Some(Arc::new(openai::OpenAi)),
            Family::Anthropic => Some(Arc::new(anthropic::Anthropic)),
            Family::Gemini => Some(Arc::new(gemini::Gemini)),
            Family::WorkersAi => Some(Arc::new(workers_ai::WorkersAi)),
            Family::Bedrock => Some(Arc::new(bedrock::Bedrock)),
            Family::Mock => None,
        }
    }
}

/// Secrets for one provider, resolved from config and the environment.
#[derive(Clone, Default)]
pub enum Credentials {
    #[default]
    None,
    ApiKey(String),
    Aws {
        access_key_id: String,
        secret_access_key: String,
        session_token: Option<String>,
    },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print a secret, not even in debug output.
        match self {
            Credentials::None => f.write_str("None"),
            Credentials::ApiKey(_) => f.write_str("ApiKey(<redacted>)"),
            Credentials::Aws { .. } => f.write_str("Aws(<redacted>)"),
        }
    }
}

/// Per-provider deviations from the family's defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Quirks {
    /// Azure OpenAI: the `api-version` query parameter; turns on deployment URLs and the
    /// `api-key` header.
    pub azure_api_version: Option<String>,
    /// Send `max_tokens` instead of `max_completion_tokens` (older OpenAI-compatible servers).
    pub legacy_max_tokens: bool,
    /// The server rejects `stream_options`; usage then comes only if it sends it anyway.
    pub no_stream_options: bool,
    /// Workers AI: the Cloudflare account id.
    pub account_id: Option<String>,
    /// Workers AI: use the OpenAI-compatible endpoint instead of `/ai/run/{model}`.
    pub openai_compatible: bool,
    /// Anthropic: the `anthropic-version` header (default 2023-06-01).
    pub anthropic_version: Option<String>,
    /// `max_tokens` when the client sent none: Anthropic requires one (default 4096); Bedrock
    /// and Workers AI send it only when set here (otherwise the upstream default applies).
    pub default_max_tokens: Option<u32>,
}

/// One configured upstream: where it is, how to authenticate, and its quirks.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The provider's name in model ids (`openai` in `openai/gpt-4o-mini`).
    pub name: String,
    pub family: Family,
    /// No trailing slash.
    pub base_url: String,
    pub credentials: Credentials,
    pub region: Option<String>,
    pub quirks: Quirks,
}

/// Everything one upstream call needs besides the request: the pooled client, the endpoint
/// (with its credentials) and the upstream model id.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    pub http: &'a reqwest::Client,
    pub endpoint: &'a Endpoint,
    /// The model id as the upstream knows it (`gpt-4o-mini`, without the provider prefix).
    pub model: &'a str,
    /// Bounds the whole call for non-streaming requests, and the wait for the response head of
    /// streaming ones.
    pub timeout: Duration,
}

/// One wire family. Implementations translate and call; they keep no per-request state.
#[async_trait]
pub trait Provider: Send + Sync {
    /// Whether `model` is an id this family could name at `endpoint`, by its grammar
    /// ([`model_id`]); a refusal is the client's bad request (400). Every call checks its model
    /// this way before any I/O; config loading may check configured upstream ids with it too.
    fn check_model(&self, endpoint: &Endpoint, model: &str) -> Result<(), ProviderError> {
        let _ = (endpoint, model);
        Ok(())
    }

    /// A complete answer.
    async fn chat(&self, call: Call<'_>, req: &ChatRequest) -> Result<ChatResponse, ProviderError>;

    /// A streamed answer. Errors before the first event come back as `Err`; later ones as the
    /// stream's last item.
    async fn chat_stream(
        &self,
        call: Call<'_>,
        req: &ChatRequest,
    ) -> Result<EventStream, ProviderError>;

    /// Embedding vectors. Families without embeddings answer `BadRequest`.
    async fn embed(
        &self,
        call: Call<'_>,
        req: &EmbedRequest,
    ) -> Result<EmbedResponse, ProviderError>;
}

/// Seconds since the Unix epoch, for `created` fields upstreams leave out.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
