//! Starts a gateway and a mock upstream in-process on loopback ports for integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod otlp;

use std::sync::Arc;
use switchyard_evidence::{EventLog, Store};
use switchyard_gateway::{config, server, state};
use switchyard_mock::{Mock, MockConfig, Scenario};

pub const KEY: &str = "test-key";

/// A running mock upstream.
pub struct Upstream {
    pub root: String,
    pub mock: Arc<Mock>,
}

/// Loads the tokenizer's tables (a quarter of a second in a dev build, more on a loaded
/// machine) before the mock's first answer counts tokens, so that answer is as quick as the
/// rest and tests with short upstream timeouts do not time out on it.
async fn warm_tokenizer() {
    tokio::task::spawn_blocking(|| switchyard_mock::synth::count_tokens("warm"))
        .await
        .unwrap();
}

pub async fn mock_upstream(scenarios: &[(&str, &str)]) -> Upstream {
    warm_tokenizer().await;
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

/// A mock upstream that holds every request at its door until the test lets it through, so
/// a test keeps a request in flight without sleeping: [`Gated::arrived`] counts the requests
/// that reached it, [`Gated::release`] lets that many more go on to the mock.
pub struct Gated {
    pub upstream: Upstream,
    arrived: Arc<std::sync::atomic::AtomicUsize>,
    gate: Arc<tokio::sync::Semaphore>,
}

impl Gated {
    /// Requests that have reached the upstream so far, held or let through.
    pub fn arrived(&self) -> usize {
        self.arrived.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Lets `n` more held (or future) requests through to the mock.
    pub fn release(&self, n: usize) {
        self.gate.add_permits(n);
    }
}

/// A mock upstream (every model on its default scenario) behind a closed gate.
pub async fn gated_upstream() -> Gated {
    warm_tokenizer().await;
    let mock = Mock::new(MockConfig {
        api_key: Some(KEY.into()),
        ..MockConfig::default()
    });
    let arrived = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let (count, wait) = (arrived.clone(), gate.clone());
    let app = switchyard_mock::router(mock.clone()).layer(axum::middleware::from_fn(
        move |req: axum::extract::Request, next: axum::middleware::Next| {
            let (count, wait) = (count.clone(), wait.clone());
            async move {
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                wait.acquire()
                    .await
                    .expect("the gate is never closed")
                    .forget();
                next.run(req).await
            }
        },
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let root = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Gated {
        upstream: Upstream { root, mock },
        arrived,
        gate,
    }
}

/// A gateway running in-process, with its own SQLite event store.
pub struct Gateway {
    pub root: String,
    pub store: Arc<dyn Store>,
    pub events: EventLog,
    pub node: String,
    pub admission: Arc<switchyard_gateway::admission::Admission>,
    /// The SQLite file holding the store.
    pub db: std::path::PathBuf,
    /// The server's state, for tests that swap its live config.
    pub state: Arc<state::AppState>,
}

/// How long a test waits for something that happens in a moment, before it fails: ample on a
/// loaded two-core machine, and spent only by a test that fails.
const PATIENCE: std::time::Duration = std::time::Duration::from_secs(20);

/// Waits for `what` to happen: polls `probe` (itself an await on the store, the mock or the
/// gateway) until it gives a value, handing the runtime back between probes instead of
/// sleeping, and fails the test after [`PATIENCE`].
pub async fn eventually<T>(what: &str, mut probe: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Some(found) = probe().await {
            return found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "waited {PATIENCE:?} for {what}"
        );
        tokio::task::yield_now().await;
    }
}

impl Gateway {
    /// Every event of this gateway's chain queued so far (the writer keeps their order).
    pub async fn events(&self) -> Vec<switchyard_evidence::Event> {
        // One durable marker flushes everything queued before it.
        self.events
            .record_durable(switchyard_evidence::Draft::new(
                switchyard_evidence::EventKind::Lifecycle,
                None,
                serde_json::json!({"event": "test-flush"}),
            ))
            .await
            .unwrap();
        self.store.read(&self.node, 0, 100_000).await.unwrap()
    }
}

/// Starts a gateway with `config_text` (over the embedded completion).
pub async fn gateway(config_text: &str) -> Gateway {
    gateway_env(config_text, &|_: &str| None).await
}

/// Starts a gateway whose `${ENV}` references resolve with `env`.
pub async fn gateway_env(config_text: &str, env: &dyn Fn(&str) -> Option<String>) -> Gateway {
    gateway_over(config_text, env, |store| store).await
}

/// Starts a gateway whose SQLite store is seen through `wrap` (to make it fail on cue).
pub async fn gateway_over(
    config_text: &str,
    env: &dyn Fn(&str) -> Option<String>,
    wrap: impl FnOnce(Arc<dyn Store>) -> Arc<dyn Store>,
) -> Gateway {
    let mut config = config::parse("test.toml", config_text, env).unwrap();
    config::complete(&mut config, env).unwrap();
    let dir = std::env::temp_dir().join(switchyard_gateway::ids::new_id("gw"));
    std::fs::create_dir_all(&dir).unwrap();
    let store = switchyard_evidence::open(&format!("sqlite://{}", dir.join("events.db").display()))
        .await
        .unwrap();
    let store = wrap(store);
    let node = config.node.clone();
    let (events, _writer) = EventLog::start(store.clone(), &node, 4096).await.unwrap();
    let edge = switchyard_gateway::listen::Edge::new(&config.limits);
    let state = state::AppState::new(
        config,
        switchyard_providers::http::client().unwrap(),
        events.clone(),
        store.clone(),
        switchyard_evidence::telemetry::install().unwrap(),
    )
    .unwrap();
    let admission = state.admission.clone();
    let shared = state.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let root = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(switchyard_gateway::listen::serve(
        listener,
        server::router(state),
        edge,
        std::future::pending(),
    ));
    Gateway {
        root,
        store,
        events,
        node,
        admission,
        db: dir.join("events.db"),
        state: shared,
    }
}

/// A gateway whose provider `up` (OpenAI family) points at `upstream`.
pub async fn gateway_to(upstream: &Upstream, extra: &str) -> Gateway {
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

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts the real binary, `switchyard serve --config CONFIG`, on a free loopback port (stdout
/// and stderr discarded unless `tune` says otherwise), and waits until `/healthz` answers.
/// Returns the process and its root URL.
pub async fn serve_binary(
    config: &std::path::Path,
    tune: impl FnOnce(&mut std::process::Command),
) -> (std::process::Child, String) {
    let port = free_port();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_switchyard"));
    command
        .args(["serve", "--config"])
        .arg(config)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    tune(&mut command);
    let mut child = command.spawn().unwrap();
    let root = format!("http://127.0.0.1:{port}");
    let http = client();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while tokio::time::Instant::now() < deadline {
        if http.get(format!("{root}/healthz")).send().await.is_ok() {
            return (child, root);
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the server did not come up within {PATIENCE:?}");
}
