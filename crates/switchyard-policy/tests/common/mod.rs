//! Shared fixtures: a model table and an example profile covering all three classes, written
//! as the JSON twin of its TOML. Used by unit tests (through `#[path]`) and integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};
use switchyard_policy::{ModelFacts, ModelTable, Profile, ProfileSnapshot, Target};

/// `provider/model` in `region` as a target.
pub fn target(model: &str, region: &str) -> Target {
    let (provider, upstream) = Target::parse(model).unwrap();
    Target {
        provider: provider.to_owned(),
        model: model.to_owned(),
        upstream_model: upstream.to_owned(),
        region: Some(region.to_owned()),
    }
}

/// The model facts every fixture profile is validated against.
pub fn models() -> ModelTable {
    [
        ("openai/gpt-4o-mini", "us", 128_000, (0.15, 0.60), 1),
        ("openai/gpt-4o", "us", 128_000, (2.5, 10.0), 3),
        ("openai/o3", "us", 200_000, (10.0, 40.0), 5),
        ("anthropic/claude-haiku-4-5", "us", 200_000, (1.0, 5.0), 2),
        ("anthropic/claude-sonnet-4-5", "us", 200_000, (3.0, 15.0), 4),
        (
            "anthropic-eu/claude-sonnet-4-5",
            "eu",
            200_000,
            (3.0, 15.0),
            4,
        ),
        ("mistral/mistral-large", "eu", 128_000, (2.0, 6.0), 3),
        ("mistral/mistral-small", "eu", 32_000, (0.2, 0.6), 1),
    ]
    .into_iter()
    .map(|(m, r, ctx, price, rank)| ModelFacts::new(target(m, r), ctx, price, rank))
    .collect()
}

/// The example profile, as the JSON twin of the TOML in the crate's docs.
pub fn profile_json() -> Value {
    json!({
        "name": "default",
        "version": 3,
        "classes": {
            "latency-critical": { "total_timeout_ms": 3000, "attempt_timeout_ms": 1400 },
            "eu-strict": { "inherits": "compliance-constrained", "region": "eu" }
        },
        "aliases": {
            "fast": {
                "latency-critical": { "nodes": [
                    { "try": "openai/gpt-4o-mini" },
                    { "try": "anthropic/claude-haiku-4-5" },
                    { "try": "mistral/mistral-small" }
                ]},
                "default": { "nodes": [ { "try": "openai/gpt-4o-mini" } ] }
            },
            "smart": {
                "reasoning-heavy": {
                    "fallback_on": ["Timeout", "RateLimited", "Overloaded", "Upstream5xx", "ContextTooLong"],
                    "nodes": [
                        { "race": ["openai/gpt-4o", "anthropic/claude-sonnet-4-5"], "hedge_ms": 2000 },
                        { "cost_guard": ["openai/o3", "mistral/mistral-large"] },
                        { "alias": "fast" }
                    ]
                },
                "compliance-constrained": { "nodes": [
                    { "try": "anthropic-eu/claude-sonnet-4-5" },
                    { "try": "mistral/mistral-large" },
                    { "try": "openai/gpt-4o" }
                ]},
                "eu-strict": { "nodes": [
                    { "race": ["anthropic-eu/claude-sonnet-4-5", "mistral/mistral-large"] }
                ]}
            }
        },
        "allow": [
            { "provider": "anthropic-eu", "region": "eu", "classes": ["public", "internal", "pii"] },
            { "provider": "mistral", "region": "eu", "classes": ["public", "internal", "pii", "financial"] },
            { "provider": "openai", "region": "us", "classes": ["public", "internal"] }
        ],
        "slo": {
            "latency-critical": { "ttft_p95_ms": 800, "success_ratio": 0.995 },
            "reasoning-heavy": { "latency_p95_ms": 60000, "success_ratio": 0.99 },
            "compliance-constrained": { "success_ratio": 0.999 }
        }
    })
}

/// `profile_json()` parsed.
pub fn profile() -> Profile {
    serde_json::from_value(profile_json()).unwrap()
}

/// `profile()` validated against `models()`.
pub fn snapshot() -> ProfileSnapshot {
    profile().validate(&models()).unwrap()
}
