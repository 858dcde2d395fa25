//! The HTTP server: the router (the doors, the status and admin endpoints) with its edge
//! layers (body limit, panic catching, sensitive-header masking, tracing), and graceful
//! shutdown.

mod status;

use crate::doors::{Chat, Embeddings, Messages, Responses};
use crate::error::ApiError;
use crate::pipeline::serve;
use crate::state::AppState;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use std::sync::Arc;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::TraceLayer;

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

/// The `[responses] enabled` switch in front of the Responses door, read from the live config
/// so a reload turns it on or off: while off, the route answers 404 in OpenAI's shape saying
/// how to turn it on, before admission (nothing is recorded for a door that is not there).
async fn responses_switch(
    axum::extract::State(state): axum::extract::State<Arc<AppState>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if state.live().registry.config.responses.enabled {
        return next.run(request).await;
    }
    ApiError::Refused {
        status: 404,
        code: "door_disabled",
        message: "the Responses API (/v1/responses) is off on this gateway; \
                  turn it on with `[responses] enabled = true` in its config"
            .into(),
        retry_after: None,
    }
    .into_response()
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
        .route("/v1/chat/completions", post(serve::<Chat>))
        .route("/v1/messages", post(serve::<Messages>))
        .route("/v1/embeddings", post(serve::<Embeddings>))
        .route(
            "/v1/responses",
            post(serve::<Responses>).route_layer(axum::middleware::from_fn_with_state(
                state.clone(),
                responses_switch,
            )),
        )
        .route("/v1/models", get(status::models))
        .route("/healthz", get(status::healthz))
        .route("/readyz", get(status::readyz))
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
