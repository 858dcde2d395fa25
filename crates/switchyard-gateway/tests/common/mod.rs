//! Starts a gateway and a mock upstream in-process on loopback ports for integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use switchyard_gateway::{config, registry::Registry, server};
use switchyard_mock::{Mock, MockConfig, Scenario};

pub const KEY: &str = "test-key";

/// A running mock upstream.
pub struct Upstream {
    pub root: String,
    pub mock: Arc<Mock>,
}

pub async fn mock_upstream(scenarios: &[(&str, &str)]) -> Upstream {
    let mut config = MockConfig {
        api_key: Some(KEY.into()),
        ..MockConfig::default()
    };
    for (model, spec) in scenarios {
        let mut s = Scenario::default();
        s.apply(spec).unwrap();
        config.models.insert((*model).to_owned(), s);
    }
    let mock = Mock::new(config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let root = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(switchyard_mock::serve(listener, mock.clone()));
    Upstream { root, mock }
}

/// Starts a gateway with `config_text` (over the embedded completion); returns its root URL.
pub async fn gateway(config_text: &str) -> String {
    let env = |_: &str| None;
    let mut config = config::parse("test.toml", config_text, &env).unwrap();
    config::complete(&mut config, &env).unwrap();
    let registry = Arc::new(Registry::build(Arc::new(config)));
    let state = Arc::new(server::AppState {
        registry,
        http: switchyard_providers::http::client().unwrap(),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let root = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, server::router(state)).await });
    root
}

/// A gateway whose provider `up` (OpenAI family) points at `upstream`.
pub async fn gateway_to(upstream: &Upstream, extra: &str) -> String {
    gateway(&format!(
        "[providers.mock]\nfamily = \"mock\"\n\n[providers.up]\nfamily = \"openai\"\nbase_url = \"{}/v1\"\napi_key = \"{KEY}\"\ntimeout_ms = 500\n\n{extra}",
        upstream.root
    ))
    .await
}

pub fn client() -> reqwest::Client {
    switchyard_providers::http::client().unwrap()
}

pub fn chat_body(model: &str) -> serde_json::Value {
    serde_json::json!({"model": model, "messages": [{"role": "user", "content": "Hello"}]})
}
