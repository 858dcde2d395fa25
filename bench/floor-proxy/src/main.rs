//! The floor proxy: the least a reverse proxy can do on this machine. It accepts HTTP/1.1,
//! forwards `/v1/*` to one upstream over a pooled keep-alive client and streams the answer back.
//! It never parses a body: the benchmarks divide every gateway figure by its figures, so it must
//! stay this small.
#![forbid(unsafe_code)]

use bytes::Bytes;
use clap::Parser;
use http::uri::{Authority, PathAndQuery};
use http::{HeaderValue, Request, Response, StatusCode, Uri, header};
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// What the proxy answers with: the upstream's body as it streams, or a short error of its own.
type Body = Either<Incoming, Full<Bytes>>;

#[derive(Parser)]
#[command(
    name = "floor-proxy",
    about = "Minimal pooled reverse proxy (benchmark floor)"
)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9300")]
    listen: SocketAddr,
    /// Upstream `host:port`, plain HTTP.
    #[arg(long)]
    upstream: Authority,
}

/// Shared by every connection: the pooled client and where it points.
struct Floor {
    client: Client<HttpConnector, Incoming>,
    upstream: Authority,
    host: HeaderValue,
}

fn status(code: StatusCode) -> Response<Body> {
    let mut resp = Response::new(Either::Right(Full::new(Bytes::new())));
    *resp.status_mut() = code;
    resp
}

/// Forwards one request as it came, with only its URI and `Host` pointed at the upstream.
async fn forward(floor: &Floor, mut req: Request<Incoming>) -> Response<Body> {
    if !req.uri().path().starts_with("/v1/") {
        return status(StatusCode::NOT_FOUND);
    }
    let path = req
        .uri()
        .path_and_query()
        .cloned()
        .unwrap_or_else(|| PathAndQuery::from_static("/"));
    let uri = Uri::builder()
        .scheme("http")
        .authority(floor.upstream.clone())
        .path_and_query(path)
        .build();
    match uri {
        Ok(uri) => *req.uri_mut() = uri,
        Err(_) => return status(StatusCode::BAD_REQUEST),
    }
    req.headers_mut().insert(header::HOST, floor.host.clone());
    match floor.client.request(req).await {
        Ok(resp) => resp.map(Either::Left),
        Err(e) => {
            eprintln!("floor-proxy: upstream error: {e}");
            status(StatusCode::BAD_GATEWAY)
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let host = HeaderValue::from_str(args.upstream.as_str())
        .map_err(|e| format!("bad upstream {}: {e}", args.upstream))?;
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client = Client::builder(TokioExecutor::new())
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(Duration::from_secs(90))
        .pool_max_idle_per_host(1024)
        .build(connector);
    let floor = Arc::new(Floor {
        client,
        upstream: args.upstream,
        host,
    });
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    eprintln!("floor-proxy: listening on {}", args.listen);
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                eprintln!("floor-proxy: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let floor = floor.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let floor = floor.clone();
                async move { Ok::<_, Infallible>(forward(&floor, req).await) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("floor-proxy: {message}");
            ExitCode::FAILURE
        }
    }
}
