//! The HTTP server: shared state, the router with its edge layers (body limit, panic
//! catching, sensitive-header masking, tracing), and graceful shutdown.

use crate::error::ApiError;
use crate::registry::Registry;
use crate::routes;
use arc_swap::ArcSwap;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use std::sync::Arc;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::TraceLayer;

/// What a request pins when it starts: the config's providers and the active profile. Swapped
/// whole by a reload or a profile activation; requests in flight keep the one they pinned.
pub struct Live {
    pub registry: Arc<Registry>,
    pub profile: Arc<switchyard_policy::ProfileSnapshot>,
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Live")
            .field("profile", &self.profile.id())
            .finish_non_exhaustive()
    }
}

/// What every handler shares.
pub struct AppState {
    live: ArcSwap<Live>,
    /// Previously active profiles (`name@version`), the last one on top, for rollback.
    pub profile_history: std::sync::Mutex<Vec<String>>,
    /// Circuit breakers per target.
    pub breakers: Arc<crate::health::Breakers>,
    /// The heavy-context pool.
    pub heavy: crate::pools::HeavyPool,
    /// The one pooled upstream client.
    pub http: reqwest::Client,
    /// Where this node's evidence goes.
    pub events: switchyard_evidence::EventLog,
    /// The store behind the event log (artifacts, retention).
    pub store: Arc<dyn switchyard_evidence::Store>,
    /// Where payload artifacts go, for the requests that keep them.
    pub artifacts: crate::artifacts::ArtifactSink,
    /// Renders `/metrics`.
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
    /// API keys → principals, their rates, and the admin key.
    pub admission: Arc<crate::admission::Admission>,
    /// Spending limits, spent from leases on the store's shared ledger.
    pub budgets: Arc<crate::budgets::Budgets>,
}

impl AppState {
    /// The state for `config`, with its active profile live.
    pub fn new(
        config: crate::config::Config,
        http: reqwest::Client,
        events: switchyard_evidence::EventLog,
        store: Arc<dyn switchyard_evidence::Store>,
        metrics: metrics_exporter_prometheus::PrometheusHandle,
    ) -> Result<Arc<Self>, String> {
        let profile = config.routing.active_snapshot().ok_or_else(|| {
            format!(
                "the active profile {:?} is not defined",
                config.routing.active
            )
        })?;
        let artifacts = crate::artifacts::ArtifactSink::new(&config, store.clone(), events.clone());
        let breakers = crate::health::Breakers::new(config.routing.breaker);
        let heavy = crate::pools::HeavyPool::new(
            config.limits.heavy_concurrency,
            config.limits.heavy_queue,
        );
        let admission = Arc::new(crate::admission::Admission::new(
            store.clone(),
            events.clone(),
            config.admin_key.clone(),
        ));
        let budgets =
            crate::budgets::Budgets::new(config.budgets.clone(), store.clone(), events.clone());
        let registry = Arc::new(Registry::build(Arc::new(config)));
        Ok(Arc::new(AppState {
            admission,
            budgets,
            live: ArcSwap::from_pointee(Live { registry, profile }),
            profile_history: std::sync::Mutex::new(Vec::new()),
            breakers,
            heavy,
            http,
            events,
            store,
            artifacts,
            metrics,
        }))
    }

    /// The registry and profile a request starting now pins.
    pub fn live(&self) -> Arc<Live> {
        self.live.load_full()
    }

    /// Makes `live` what requests starting from now pin.
    pub fn swap(&self, live: Live) {
        self.live.store(Arc::new(live));
    }
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    ApiError::Internal("the gateway failed while handling this request; it has been logged".into())
        .into_response()
}

/// A 404 in the shape of the door the path is under (an Anthropic client's
/// `/v1/messages/count_tokens` reads Anthropic's shape, as the edge and the 405 answer it).
async fn not_found(uri: axum::http::Uri) -> Response {
    ApiError::NotFound(
        "no such route; see /v1/chat/completions, /v1/messages, /v1/embeddings, /v1/models".into(),
    )
    .into_shaped_response(crate::error::ErrorShape::of_path(uri.path()))
}

async fn method_not_allowed(uri: axum::http::Uri) -> Response {
    ApiError::Refused {
        status: 405,
        code: "method_not_allowed",
        message: "method not allowed on this route".into(),
        retry_after: None,
    }
    .into_shaped_response(crate::error::ErrorShape::of_path(uri.path()))
}

/// Prometheus text format: request metrics plus the event writer's counters.
async fn metrics(axum::extract::State(state): axum::extract::State<Arc<AppState>>) -> Response {
    switchyard_evidence::telemetry::observe_event_log(state.events.stats());
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

/// The router with every endpoint and edge layer. Serve it with
/// `into_make_service_with_connect_info::<SocketAddr>()` so admission sees the client's address
/// (see [`peer`]).
pub fn router(state: Arc<AppState>) -> Router {
    let limit = state.live().registry.config.limits.max_body_bytes;
    Router::new()
        .route("/v1/chat/completions", post(routes::chat::completions))
        .route("/v1/messages", post(routes::messages::messages))
        .route("/v1/embeddings", post(routes::embeddings::embeddings))
        .route("/v1/models", get(routes::models::list))
        .route("/healthz", get(routes::models::healthz))
        .route("/readyz", get(routes::models::readyz))
        .route("/metrics", get(metrics))
        .route(
            "/admin/keys",
            post(crate::admin::create_key).get(crate::admin::list_keys),
        )
        .route("/admin/keys/{id}", delete(crate::admin::revoke_key))
        .route("/admin/profiles", get(crate::profiles::admin::list))
        .route(
            "/admin/profiles/activate",
            post(crate::profiles::admin::activate),
        )
        .route(
            "/admin/profiles/rollback",
            post(crate::profiles::admin::rollback),
        )
        .route("/admin/reload", post(crate::profiles::admin::reload))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limit))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(TraceLayer::new_for_http().make_span_with(http_span))
        .layer(SetSensitiveRequestHeadersLayer::new([
            header::AUTHORIZATION,
            header::HeaderName::from_static("x-api-key"),
            header::PROXY_AUTHORIZATION,
        ]))
        .with_state(state)
}

/// The span of one HTTP exchange: the route it matched and a standard method, never the URI
/// or a method as the client spelled it (a path or query can hold anything).
fn http_span<B>(req: &axum::http::Request<B>) -> tracing::Span {
    use axum::http::Method;
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or("unmatched", |p| p.as_str());
    let method = match *req.method() {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::DELETE => "DELETE",
        Method::PUT => "PUT",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        _ => "other",
    };
    tracing::debug_span!("request", method, route)
}

/// The client's address, when the router is served with connect info; admission treats `None`
/// as not loopback.
pub fn peer(extensions: &axum::http::Extensions) -> Option<std::net::SocketAddr> {
    extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0)
}

/// Resolves when the process is asked to stop (Ctrl-C or SIGTERM).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
