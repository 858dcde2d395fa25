//! The embedded defaults: the built-in mock provider and its models, providers whose keys are
//! in the environment, and the shipped price table.

use super::models::add_shipped_models;
use super::provider::default_base_url;
use super::{Config, ConfigErrors, ProviderConfig, parse};
use switchyard_providers::{Credentials, Endpoint, Family, Quirks};

const DEFAULTS: &str = include_str!("defaults.toml");
const PRICES: &str = include_str!("prices.toml");

/// The config `switchyard serve` runs with when given no file.
pub fn embedded(env: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigErrors> {
    let mut config = parse("<embedded defaults>", DEFAULTS, env)?;
    complete(&mut config, env)?;
    Ok(config)
}

/// Adds what every config gets: providers whose keys are in the environment (unless the config
/// names a provider the same) and shipped prices for configured providers.
pub fn complete(
    config: &mut Config,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), ConfigErrors> {
    for (name, provider) in env_providers(env) {
        config.providers.entry(name).or_insert(provider);
    }
    add_shipped_models(config, PRICES)?;
    super::routing::compile(config)
}

fn endpoint(
    name: &str,
    family: Family,
    base_url: Option<String>,
    credentials: Credentials,
) -> ProviderConfig {
    ProviderConfig {
        endpoint: Endpoint {
            name: name.to_owned(),
            family,
            base_url: base_url.unwrap_or_else(|| default_base_url(family, None)),
            credentials,
            region: None,
            quirks: Quirks::default(),
        },
        timeout: None,
        passthrough: true,
        default_price: None,
    }
}

/// Providers configured by the usual environment variables.
fn env_providers(env: &dyn Fn(&str) -> Option<String>) -> Vec<(String, ProviderConfig)> {
    let get = |k: &str| env(k).filter(|v| !v.trim().is_empty());
    let mut out = Vec::new();
    if let Some(key) = get("OPENAI_API_KEY") {
        let base = get("OPENAI_BASE_URL").map(|u| u.trim_end_matches('/').to_owned());
        out.push((
            "openai".into(),
            endpoint("openai", Family::Openai, base, Credentials::ApiKey(key)),
        ));
    }
    if let Some(key) = get("ANTHROPIC_API_KEY") {
        let base = get("ANTHROPIC_BASE_URL")
            .map(|u| format!("{}/v1", u.trim_end_matches('/').trim_end_matches("/v1")));
        out.push((
            "anthropic".into(),
            endpoint(
                "anthropic",
                Family::Anthropic,
                base,
                Credentials::ApiKey(key),
            ),
        ));
    }
    if let Some(key) = get("GEMINI_API_KEY") {
        out.push((
            "gemini".into(),
            endpoint("gemini", Family::Gemini, None, Credentials::ApiKey(key)),
        ));
    }
    if let (Some(token), Some(account)) =
        (get("CLOUDFLARE_API_TOKEN"), get("CLOUDFLARE_ACCOUNT_ID"))
    {
        let mut p = endpoint(
            "workers-ai",
            Family::WorkersAi,
            None,
            Credentials::ApiKey(token),
        );
        p.endpoint.quirks.account_id = Some(account);
        out.push(("workers-ai".into(), p));
    }
    if let (Some(id), Some(secret)) = (get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY")) {
        let region = get("AWS_REGION")
            .or_else(|| get("AWS_DEFAULT_REGION"))
            .unwrap_or_else(|| "us-east-1".into());
        let mut p = endpoint(
            "bedrock",
            Family::Bedrock,
            Some(default_base_url(Family::Bedrock, Some(&region))),
            Credentials::Aws {
                access_key_id: id,
                secret_access_key: secret,
                session_token: get("AWS_SESSION_TOKEN"),
            },
        );
        p.endpoint.region = Some(region);
        out.push(("bedrock".into(), p));
    } else if let Some(token) = get("AWS_BEARER_TOKEN_BEDROCK") {
        let region = get("AWS_REGION")
            .or_else(|| get("AWS_DEFAULT_REGION"))
            .unwrap_or_else(|| "us-east-1".into());
        let mut p = endpoint(
            "bedrock",
            Family::Bedrock,
            Some(default_base_url(Family::Bedrock, Some(&region))),
            Credentials::ApiKey(token),
        );
        p.endpoint.region = Some(region);
        out.push(("bedrock".into(), p));
    }
    out
}
