//! Configuration: `switchyard.toml` parsed in two stages (raw with spans, then validated into
//! [`Config`]), `${ENV}` secrets, the embedded defaults (the built-in mock provider, providers
//! whose keys are in the environment, the shipped price table). Validation collects every
//! error with its file, line and key; a config that fails never replaces a running one.

mod admin_key;
mod aws_credentials;
mod budgets;
mod checker;
mod defaults;
mod models;
mod payloads;
pub mod prices;
mod provider;
mod raw;
mod responses;
mod routing;
mod telemetry;
mod validate;

pub use admin_key::AdminKey;
pub use budgets::{BudgetScope, BudgetSpec};
pub use defaults::{complete, embedded};
pub use responses::ResponsesConfig;
pub use routing::Routing;
pub use telemetry::Telemetry;
pub use validate::validate;

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use switchyard_evidence::pricing::Price;
use switchyard_providers::Endpoint;

/// A validated configuration, the only kind the server runs with.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it came from; `None` for the embedded defaults.
    pub source: Option<PathBuf>,
    pub listen: SocketAddr,
    pub store: String,
    /// This gateway node's name: its events form their own chain (stream) in the store.
    pub node: String,
    pub limits: Limits,
    pub providers: BTreeMap<String, ProviderConfig>,
    /// Keyed by `provider/model`.
    pub models: BTreeMap<String, ModelConfig>,
    /// Alias → ordered targets (`provider/model`).
    pub aliases: BTreeMap<String, Vec<String>>,
    /// The compiled classification detectors.
    pub detectors: std::sync::Arc<switchyard_policy::Detectors>,
    pub payloads: Payloads,
    pub retention: Retention,
    /// Profiles as written, then (after [`complete`]) validated against the model table.
    pub routing: Routing,
    /// The key that guards `/admin/*` (config `admin_key`, else env `SWITCHYARD_ADMIN_KEY`);
    /// `None` leaves the admin API disabled.
    pub admin_key: Option<AdminKey>,
    /// Spending limits, each with its scope, window and lease size.
    pub budgets: Vec<BudgetSpec>,
    /// Trace export (OTLP/HTTP), fixed at start.
    pub telemetry: Telemetry,
    /// The OpenAI Responses door (`[responses]`), off unless turned on.
    pub responses: ResponsesConfig,
}

/// Payload logging: off by default; when on, prompts, completions and tool results are
/// redacted and stored as artifacts, sealed when `encrypt` is set.
#[derive(Debug, Clone, Default)]
pub struct Payloads {
    pub enabled: bool,
    pub encrypt: bool,
    /// The keys, when `encrypt` is set and the environment holds them; `None` makes requests
    /// that must be sealed fail closed.
    pub keyring: Option<switchyard_evidence::artifact::Keyring>,
    /// Why the keyring is missing, for the error those requests get.
    pub keyring_problem: Option<String>,
}

/// How long each kind of artifact is kept.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Retention {
    pub prompt: Duration,
    pub completion: Duration,
    pub tool_result: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        let days = |d: u64| Duration::from_secs(d * 86_400);
        Self {
            prompt: days(30),
            completion: days(30),
            tool_result: days(7),
        }
    }
}

impl Retention {
    pub fn of(&self, kind: switchyard_evidence::artifact::ArtifactKind) -> Duration {
        use switchyard_evidence::artifact::ArtifactKind;
        match kind {
            ArtifactKind::Prompt => self.prompt,
            ArtifactKind::Completion => self.completion,
            ArtifactKind::ToolResult => self.tool_result,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Limits {
    pub max_body_bytes: usize,
    /// Total time for one client request, all attempts included.
    pub request_timeout: Duration,
    /// Default time for one upstream attempt (response head, or whole answer when not
    /// streaming); a provider's `timeout_ms` overrides it.
    pub attempt_timeout: Duration,
    /// Longest silence between two stream chunks.
    pub stream_idle_timeout: Duration,
    /// Heavy-context requests running at once.
    pub heavy_concurrency: usize,
    /// Heavy-context requests waiting for a slot; past it they are refused (503).
    pub heavy_queue: usize,
    /// From a request head's first byte to its last; past it the client gets a 408.
    pub header_timeout: Duration,
    /// Longest silence inside a request body the gateway is reading; past it, a 408.
    pub body_idle_timeout: Duration,
    /// Client connections open at once; more are answered 503 and closed.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 8 * 1024 * 1024,
            request_timeout: Duration::from_secs(300),
            attempt_timeout: Duration::from_secs(120),
            stream_idle_timeout: Duration::from_secs(60),
            heavy_concurrency: 4,
            heavy_queue: 16,
            // nginx's client_header_timeout is 60 s; a head is a few hundred bytes, sent in
            // one write by every real client: 10 s is generous and frees slots 6x sooner.
            header_timeout: Duration::from_secs(10),
            // As nginx's client_body_timeout: a silence, not the whole upload.
            body_idle_timeout: Duration::from_secs(30),
            // Above the ~10k descriptors a default process may open; an operator who raises
            // the descriptor limit sets this with it.
            max_connections: 16_384,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ProviderConfig {
    pub endpoint: Endpoint,
    pub timeout: Option<Duration>,
    /// Clients may name models the config does not list (`provider/any-id`); otherwise only
    /// `[models]` entries and alias targets resolve. Off by default for Azure OpenAI (a
    /// deployment nobody configured stays unreachable), on for every other provider.
    pub passthrough: bool,
    /// The price of this provider's models that neither the config nor the shipped table
    /// prices (`default_input_usd_per_mtok`, `default_output_usd_per_mtok`).
    pub default_price: Option<Price>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    Chat,
    Embedding,
}

#[derive(Debug, Clone)]
pub struct ModelConfig {
    pub provider: String,
    /// The id sent upstream.
    pub upstream: String,
    pub kind: ModelKind,
    pub context_window: Option<u64>,
    pub size_rank: Option<u32>,
    pub price: Price,
    /// Where the price comes from; `None` when nothing prices the model (then `price` is zero
    /// for ranking only, and its requests are recorded as unpriced, never as free).
    pub priced_by: Option<PricedBy>,
}

/// Where a model's price comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PricedBy {
    /// The config file that prices it.
    Config(String),
    /// The table shipped with the gateway.
    Shipped,
}

/// One problem found in a config file.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    pub file: String,
    pub line: usize,
    /// Dotted path of the offending key (`providers.openai.family`).
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}:{}: {}", self.file, self.line, self.message)
        } else {
            write!(
                f,
                "{}:{}: {}: {}",
                self.file, self.line, self.key, self.message
            )
        }
    }
}

/// Every problem of a config, in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Reads and validates a config file, over the embedded defaults for whatever it leaves out.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![ConfigError {
            file: name.clone(),
            line: 0,
            key: String::new(),
            message: format!("cannot read the config file: {e}"),
        }])
    })?;
    let env = |k: &str| std::env::var(k).ok();
    let mut config = parse(&name, &text, &env)?;
    complete(&mut config, &env)?;
    config.source = Some(path.to_owned());
    Ok(config)
}

/// Parses config text; `env` resolves `${VAR}` references (a parameter so tests control it).
pub fn parse(
    file: &str,
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigErrors> {
    let raw: raw::RawConfig = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(0);
        ConfigErrors(vec![ConfigError {
            file: file.to_owned(),
            line,
            key: String::new(),
            message: e.message().trim().to_owned(),
        }])
    })?;
    validate(file, text, raw, env)
}

/// The 1-based line of a byte offset.
pub fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset.min(text.len()))
        .map(|prefix| prefix.matches('\n').count() + 1)
        .unwrap_or(1)
}
