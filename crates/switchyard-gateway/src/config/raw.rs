//! The first stage of config loading: the TOML file as written, with spans for error messages
//! and `deny_unknown_fields` everywhere so a typo is an error, not a silently ignored key.

use serde::Deserialize;
use std::collections::BTreeMap;
use switchyard_providers::Quirks;
use toml::Spanned;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub listen: Option<Spanned<String>>,
    pub store: Option<Spanned<String>>,
    pub node: Option<Spanned<String>>,
    /// The key that guards `/admin/*`, usually `"${SWITCHYARD_ADMIN_KEY}"`.
    pub admin_key: Option<Spanned<String>>,
    #[serde(default)]
    pub limits: RawLimits,
    #[serde(default)]
    pub providers: BTreeMap<String, Spanned<RawProvider>>,
    #[serde(default)]
    pub models: BTreeMap<String, Spanned<RawModel>>,
    #[serde(default)]
    pub aliases: BTreeMap<String, Spanned<Vec<Spanned<String>>>>,
    /// Classification: custom detectors and built-ins switched off.
    pub detectors: Option<Spanned<switchyard_policy::DetectorsConfig>>,
    #[serde(default)]
    pub payloads: RawPayloads,
    #[serde(default)]
    pub retention: RawRetention,
    /// Routing profiles, each `name@version`; several versions of one name may be listed.
    #[serde(default)]
    pub profiles: Vec<Spanned<switchyard_policy::Profile>>,
    /// The profile active at start: `name@version`, or a bare `name` for its highest version;
    /// the last listed when absent.
    pub active_profile: Option<Spanned<String>>,
    /// When a target's circuit opens and closes again.
    pub breaker: Option<Spanned<switchyard_policy::BreakerConfig>>,
    /// Trace export.
    #[serde(default)]
    pub telemetry: RawTelemetry,
    /// Spending limits per tenant, key, route class or metadata tag.
    #[serde(default)]
    pub budgets: Vec<Spanned<RawBudget>>,
    /// The OpenAI Responses door.
    #[serde(default)]
    pub responses: RawResponses,
}

/// `[responses]` as written; `enabled` is checked to be a boolean by validation, so a wrong
/// value is named with its key.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawResponses {
    pub enabled: Option<Spanned<toml::Value>>,
}

/// `[telemetry]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTelemetry {
    /// Base URL of an OTLP/HTTP collector (`http://collector:4318`); traces are sent to
    /// `/v1/traces` under it. `${ENV}` references are expanded.
    pub otlp_endpoint: Option<Spanned<String>>,
    /// `service.name` of the exported spans (default `switchyard`).
    pub service_name: Option<Spanned<String>>,
}

/// One `[[budgets]]` entry: exactly one scope, a limit and a window.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBudget {
    pub tenant: Option<Spanned<String>>,
    pub key: Option<Spanned<String>>,
    pub route_class: Option<Spanned<String>>,
    /// `name=value` of `x-switchyard-metadata`.
    pub tag: Option<Spanned<String>>,
    pub limit_usd: Option<Spanned<f64>>,
    /// `fixed` (default) or `sliding`.
    pub window: Option<Spanned<String>>,
    pub window_secs: Option<Spanned<u64>>,
    /// How much a node takes from the shared ledger at a time; a tenth of the limit by default.
    pub lease_usd: Option<Spanned<f64>>,
}

/// Whether prompts and completions are kept (redacted) as artifacts, and how they are sealed.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPayloads {
    pub enabled: Option<bool>,
    pub encrypt: Option<bool>,
    /// Environment variable holding the current key (64 hex digits).
    pub key_env: Option<Spanned<String>>,
    pub key_id: Option<Spanned<String>>,
    /// Older keys still needed to open what they sealed: key id → environment variable.
    #[serde(default)]
    pub previous_keys: BTreeMap<String, Spanned<String>>,
}

/// Days each kind of artifact is kept.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRetention {
    pub prompt_days: Option<Spanned<i64>>,
    pub completion_days: Option<Spanned<i64>>,
    pub tool_result_days: Option<Spanned<i64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    pub max_body_bytes: Option<Spanned<u64>>,
    pub request_timeout_ms: Option<Spanned<u64>>,
    pub attempt_timeout_ms: Option<Spanned<u64>>,
    pub stream_idle_timeout_ms: Option<Spanned<u64>>,
    /// Heavy-context requests run at most this many at once…
    pub heavy_concurrency: Option<Spanned<u64>>,
    /// …with at most this many waiting; more get 503 with Retry-After.
    pub heavy_queue: Option<Spanned<u64>>,
    pub header_timeout_ms: Option<Spanned<u64>>,
    pub body_idle_timeout_ms: Option<Spanned<u64>>,
    pub max_connections: Option<Spanned<u64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProvider {
    pub family: Spanned<String>,
    pub base_url: Option<Spanned<String>>,
    pub api_key: Option<Spanned<String>>,
    pub region: Option<Spanned<String>>,
    pub timeout_ms: Option<Spanned<u64>>,
    /// Bedrock keys; when the file names none, the AWS credential chain is followed.
    pub aws_access_key_id: Option<Spanned<String>>,
    pub aws_secret_access_key: Option<Spanned<String>>,
    pub aws_session_token: Option<Spanned<String>>,
    /// Workers AI: the Cloudflare account id (also accepted as `quirks.account_id`).
    pub account_id: Option<Spanned<String>>,
    /// Whether clients may name models the config does not list (`provider/any-id`).
    pub passthrough: Option<Spanned<bool>>,
    /// The price of the provider's models that nothing else prices.
    pub default_input_usd_per_mtok: Option<Spanned<f64>>,
    pub default_output_usd_per_mtok: Option<Spanned<f64>>,
    #[serde(default)]
    pub quirks: Quirks,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawModel {
    /// The id the upstream knows (an Azure deployment, a Bedrock model id) when it differs
    /// from the part after `provider/`.
    pub upstream_model: Option<String>,
    /// `chat` (default) or `embedding`.
    pub kind: Option<Spanned<String>>,
    pub context_window: Option<u64>,
    /// Relative size for "smallest acceptable model" fallback; from the output price when absent.
    pub size_rank: Option<u32>,
    pub input_usd_per_mtok: Option<Spanned<f64>>,
    pub output_usd_per_mtok: Option<Spanned<f64>>,
    pub cached_input_usd_per_mtok: Option<Spanned<f64>>,
    pub cache_write_usd_per_mtok: Option<Spanned<f64>>,
}
