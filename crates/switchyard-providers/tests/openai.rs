//! The OpenAI-compatible family against the mock, plain and as Azure OpenAI.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod conformance;

use conformance::Fixture;
use switchyard_providers::{Credentials, Endpoint, Family, Quirks};

fn endpoint(root: &str, key: &str) -> Endpoint {
    Endpoint {
        name: "openai".into(),
        family: Family::Openai,
        base_url: format!("{root}/v1"),
        credentials: Credentials::ApiKey(key.into()),
        region: None,
        quirks: Quirks::default(),
    }
}

fn fixture() -> Fixture {
    Fixture {
        family: Family::Openai,
        endpoint,
        model: |name| name.to_owned(),
        embeddings: true,
    }
}

conformance_suite!(fixture());

mod azure {
    use super::*;

    fn endpoint(root: &str, key: &str) -> Endpoint {
        Endpoint {
            name: "azure".into(),
            family: Family::Openai,
            base_url: root.to_owned(),
            credentials: Credentials::ApiKey(key.into()),
            region: Some("eu".into()),
            quirks: Quirks {
                azure_api_version: Some("2024-10-21".into()),
                ..Quirks::default()
            },
        }
    }

    fn fixture() -> Fixture {
        Fixture {
            family: Family::Openai,
            endpoint,
            model: |name| format!("deploy-{name}"),
            embeddings: true,
        }
    }

    conformance_suite!(fixture());
}
