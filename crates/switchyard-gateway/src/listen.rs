//! The HTTP server loop: the router served over hyper's HTTP/1 and HTTP/2 connection builder,
//! one task per connection, with a graceful stop that waits for open requests (streams
//! included) as `axum::serve` would. It exists because `axum::serve` cannot bound a
//! connection's read buffer, and hyper's default let each HTTP/1 connection grow it to 16 KiB
//! as soon as a client sent its head and its body in two writes (most HTTP libraries do): with
//! thousands of idle streams that was an eighth of the gateway's memory.

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::time::Duration;
use tokio::net::TcpListener;
use tower::ServiceExt;

/// The read buffer of an HTTP/1 connection (hyper's smallest), and so the largest request
/// head accepted: a larger one is answered 431.
pub const READ_BUFFER: usize = 8192;

/// Serves `router` on `listener` until `stop` resolves, then stops accepting and waits for the
/// open connections' requests to finish.
pub async fn serve(listener: TcpListener, router: Router, stop: impl Future<Output = ()>) {
    let mut builder = Builder::new(TokioExecutor::new());
    builder.http1().max_buf_size(READ_BUFFER);
    let graceful = GracefulShutdown::new();
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
        // Small SSE frames must leave at once, not wait for Nagle's algorithm.
        let _ = tcp.set_nodelay(true);
        let service = router
            .clone()
            .map_request(move |mut req: hyper::Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                req
            });
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(tcp), TowerToHyperService::new(service))
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, client = %peer, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    )
}
