//! The HTTP server loop: the router served over hyper's HTTP/1 and HTTP/2 connection builder,
//! one task per connection, with a graceful stop that waits for open requests (streams
//! included) as `axum::serve` would. It exists because `axum::serve` cannot bound a
//! connection's read buffer, and hyper's default let each HTTP/1 connection grow it to 16 KiB
//! as soon as a client sent its head and its body in two writes (most HTTP libraries do): with
//! thousands of idle streams that was an eighth of the gateway's memory.
//!
//! Each connection is [`guard::Guarded`]: heads and bodies are bounded in size and time, and
//! what hyper would refuse with an empty body is refused in the door's error shape. Open
//! connections are bounded too: past the bound a connection is answered 503 and closed, never
//! queued where it would hold a descriptor unseen.

mod framing;
mod guard;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// The read buffer of an HTTP/1 connection (hyper's smallest), and so the largest request
/// head accepted: a larger one is answered 431.
pub const READ_BUFFER: usize = 8192;

/// What the server bounds at the edge, before the router: read from `[limits]`.
#[derive(Debug, Clone, Copy)]
pub struct Edge {
    /// A body declared larger is refused (413) before any of it is read.
    pub max_body_bytes: usize,
    pub timeouts: guard::Timeouts,
    /// Connections open at once; more are answered 503 and closed.
    pub max_connections: usize,
}

impl Edge {
    pub fn new(limits: &crate::config::Limits) -> Self {
        Self {
            max_body_bytes: limits.max_body_bytes,
            timeouts: guard::Timeouts {
                head: limits.header_timeout,
                body_idle: limits.body_idle_timeout,
            },
            max_connections: limits.max_connections,
        }
    }
}

/// Serves `router` on `listener` until `stop` resolves, then stops accepting and waits for the
/// open connections' requests to finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    edge: Edge,
    stop: impl Future<Output = ()>,
) {
    let mut builder = Builder::new(TokioExecutor::new());
    builder.http1().max_buf_size(READ_BUFFER);
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(edge.max_connections));
    tokio::pin!(stop);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors or memory: back off rather than spin. A connection
                    // that failed before it was accepted concerns only its client.
                    if !is_connection_error(&e) {
                        tracing::error!(error = %e, "cannot accept connections; retrying in 1 s");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tokio::spawn(turn_away(tcp, edge.max_connections));
            continue;
        };
        // Small SSE frames must leave at once, not wait for Nagle's algorithm.
        let _ = tcp.set_nodelay(true);
        let service = router
            .clone()
            .map_request(move |mut req: hyper::Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                req
            });
        let io = guard::Guarded::new(
            tcp,
            framing::Framing::new(READ_BUFFER, edge.max_body_bytes),
            edge.timeouts,
        );
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(io), TowerToHyperService::new(service))
            .into_owned();
        let conn = graceful.watch(conn);
        metrics::gauge!("switchyard_http_connections_open").increment(1.0);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, client = %peer, "connection ended with an error");
            }
            metrics::gauge!("switchyard_http_connections_open").decrement(1.0);
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Answers a connection over the bound with a 503 and closes it.
async fn turn_away(mut tcp: tokio::net::TcpStream, bound: usize) {
    metrics::counter!("switchyard_http_refused_total", "reason" => "connections").increment(1);
    let error = crate::error::ApiError::Refused {
        status: 503,
        code: "too_many_connections",
        message: format!("the gateway holds its limit of {bound} open connections; retry shortly"),
        retry_after: Some(Duration::from_secs(1)),
    };
    let answer = guard::http1_answer(&error, crate::error::ErrorShape::OpenAi);
    let write = async {
        tcp.write_all(&answer).await?;
        tcp.shutdown().await
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), write).await;
}

fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    )
}
