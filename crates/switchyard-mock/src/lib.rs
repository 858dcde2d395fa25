//! The mock upstream: one HTTP server that speaks every provider family's wire format (OpenAI
//! and Azure OpenAI, Anthropic, Gemini, Workers AI, Bedrock) with deterministic content and
//! scripted misbehaviour. It is the upstream of every test and benchmark; each family's module
//! is written from that provider's published API reference, not from our adapters. Whatever a
//! request asks for is bounded by [`Limits`], and heavy answers are generated off the async
//! workers ([`offload`]): no request can make the mock run out of memory or stop answering.
#![forbid(unsafe_code)]
// Handlers return early with a finished `Response`; boxing it would buy nothing.
#![allow(clippy::result_large_err)]

mod anthropic;
mod bedrock;
pub mod budget;
pub mod embedding;
mod gemini;
pub mod limits;
pub mod offload;
mod openai;
mod reply;
pub mod scenario;
pub mod schema;
pub mod synth;
pub mod tokens;
mod workers_ai;

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use reply::Hits;
use std::sync::Arc;

pub use limits::{Limit, Limits, Stop};
pub use scenario::{MockConfig, Scenario};

/// Shared state of a running mock.
#[derive(Debug, Default)]
pub struct Mock {
    pub config: MockConfig,
    clock: scenario::ErrorClock,
    hits: Hits,
    waited: Hits,
    abandoned: Hits,
    /// The last request bodies received on the OpenAI-format routes.
    bodies: std::sync::Mutex<Kept>,
}

/// Recent request bodies, newest last: at most 256 of them and [`KEPT_BYTES`] in all.
#[derive(Debug, Default)]
struct Kept {
    bodies: std::collections::VecDeque<String>,
    bytes: usize,
}

/// Bytes of recent bodies kept for [`Mock::saw`]: 256 bodies at the 2 MB body limit would
/// otherwise hold 512 MB.
const KEPT_BYTES: usize = 16 * 1024 * 1024;

impl Mock {
    pub fn new(config: MockConfig) -> Arc<Self> {
        Arc::new(Self {
            config,
            ..Self::default()
        })
    }

    /// Requests seen per model id, for tests that assert what the upstream saw.
    pub fn hits(&self, model: &str) -> u64 {
        self.hits.get(model)
    }

    /// Keeps a request body for [`Mock::saw`] (the last 256, at most 16 MiB in all).
    pub(crate) fn keep_body(&self, body: &[u8]) {
        if let Ok(mut kept) = self.bodies.lock() {
            let body = String::from_utf8_lossy(body).into_owned();
            kept.bytes += body.len();
            kept.bodies.push_back(body);
            while kept.bodies.len() > 256 || (kept.bytes > KEPT_BYTES && kept.bodies.len() > 1) {
                if let Some(old) = kept.bodies.pop_front() {
                    kept.bytes -= old.len();
                }
            }
        }
    }

    /// Whether any recent OpenAI-format request body contained `needle`: what the upstream saw.
    pub fn saw(&self, needle: &str) -> bool {
        self.bodies
            .lock()
            .map(|k| k.bodies.iter().any(|body| body.contains(needle)))
            .unwrap_or(false)
    }

    /// Requests per model whose caller stayed connected through the scripted latency: a call
    /// the gateway cancelled (a lost hedge) is counted in `hits` but not here.
    pub fn waited(&self, model: &str) -> u64 {
        self.waited.get(model)
    }

    /// Requests per model whose caller went away during the scripted latency (a lost hedge, an
    /// attempt timed out): the moment a test waiting for a cancellation waits for.
    pub fn abandoned(&self, model: &str) -> u64 {
        self.abandoned.get(model)
    }
}

/// The mock's routes, all families on one router.
pub fn router(mock: Arc<Mock>) -> Router {
    Router::new()
        .route("/v1/chat/completions", post(openai::chat))
        .route("/v1/embeddings", post(openai::embeddings))
        .route("/v1/models", get(openai::models))
        .route(
            "/openai/deployments/{deployment}/chat/completions",
            post(openai::azure_chat),
        )
        .route(
            "/openai/deployments/{deployment}/embeddings",
            post(openai::azure_embeddings),
        )
        .route("/v1/messages", post(anthropic::messages))
        .route("/model/{model}/converse", post(bedrock::converse))
        .route(
            "/model/{model}/converse-stream",
            post(bedrock::converse_stream),
        )
        .route("/model/{model}/invoke", post(bedrock::invoke))
        .route("/v1beta/models/{model_action}", post(gemini::model_action))
        .route(
            "/client/v4/accounts/{account}/ai/run/{*model}",
            post(workers_ai::run),
        )
        .route(
            "/client/v4/accounts/{account}/ai/v1/chat/completions",
            post(workers_ai::compat_chat),
        )
        .route(
            "/client/v4/accounts/{account}/ai/v1/embeddings",
            post(workers_ai::compat_embeddings),
        )
        .route("/mock/hits", get(hits))
        .with_state(mock)
}

async fn hits(State(mock): State<Arc<Mock>>) -> axum::Json<serde_json::Value> {
    axum::Json(mock.hits.snapshot())
}

/// Serves the mock on a bound listener until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, mock: Arc<Mock>) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, router(mock)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(mock: &Mock) -> (usize, usize) {
        mock.bodies
            .lock()
            .map(|k| (k.bodies.len(), k.bytes))
            .unwrap_or_default()
    }

    #[test]
    fn kept_bodies_are_bounded_in_count_and_bytes() {
        let mock = Mock::new(MockConfig::default());
        let big = vec![b'a'; 1024 * 1024];
        for _ in 0..40 {
            mock.keep_body(&big);
        }
        mock.keep_body(b"newest");
        let (count, bytes) = kept(&mock);
        assert!(
            bytes <= KEPT_BYTES && count == 16,
            "{count} bodies, {bytes} bytes"
        );
        assert!(mock.saw("newest"));
        for i in 0..300 {
            mock.keep_body(format!("body {i}").as_bytes());
        }
        assert_eq!(kept(&mock).0, 256);
        assert!(!mock.saw("newest") && mock.saw("body 299"));
    }
}
