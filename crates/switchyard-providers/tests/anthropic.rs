//! The Anthropic Messages family against the mock.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod conformance;

use conformance::Fixture;
use switchyard_providers::{Credentials, Endpoint, Family, Quirks};

fn endpoint(root: &str, key: &str) -> Endpoint {
    Endpoint {
        name: "anthropic".into(),
        family: Family::Anthropic,
        base_url: format!("{root}/v1"),
        credentials: Credentials::ApiKey(key.into()),
        region: None,
        quirks: Quirks::default(),
    }
}

fn fixture() -> Fixture {
    Fixture {
        family: Family::Anthropic,
        endpoint,
        model: |name| format!("claude-{name}"),
        embeddings: false,
    }
}

conformance_suite!(fixture());
