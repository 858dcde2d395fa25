//! One timed request: the POST the benchmarks send, and what it measured (status, time to the
//! first body byte, time to the last). Never retries and never reads more than it must.

use bytes::Bytes;
use http::{Request, Uri, header};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use std::time::{Duration, Instant};

pub type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// Where and what to send.
#[derive(Clone)]
pub struct Target {
    pub uri: Uri,
    pub body: Bytes,
    pub bearer: String,
}

/// What one request measured.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub started: Instant,
    /// Time to the first byte of the response body.
    pub ttfb: Duration,
    /// Time to the end of the response body.
    pub total: Duration,
}

/// Why a request did not count as a success.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    Status(u16),
    Transport,
    Timeout,
}

/// A pooled HTTP/1.1 client with `TCP_NODELAY`, sized for `connections` at once.
pub fn client(connections: usize) -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    Client::builder(TokioExecutor::new())
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(Duration::from_secs(90))
        .pool_max_idle_per_host(connections.max(1))
        .build(connector)
}

fn build(target: &Target) -> Result<Request<Full<Bytes>>, Failure> {
    Request::post(target.uri.clone())
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {}", target.bearer))
        .body(Full::new(target.body.clone()))
        .map_err(|_| Failure::Transport)
}

/// Sends one request and reads its whole body, within `limit`.
pub async fn timed(
    client: &HttpClient,
    target: &Target,
    limit: Duration,
) -> Result<Sample, Failure> {
    let started = Instant::now();
    let req = build(target)?;
    let work = async {
        let resp = client.request(req).await.map_err(|_| Failure::Transport)?;
        if resp.status() != http::StatusCode::OK {
            return Err(Failure::Status(resp.status().as_u16()));
        }
        let mut body = resp.into_body();
        let mut ttfb = None;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|_| Failure::Transport)?;
            if ttfb.is_none() && frame.data_ref().is_some_and(|d| !d.is_empty()) {
                ttfb = Some(started.elapsed());
            }
        }
        let total = started.elapsed();
        Ok(Sample {
            started,
            ttfb: ttfb.unwrap_or(total),
            total,
        })
    };
    tokio::time::timeout(limit, work)
        .await
        .unwrap_or(Err(Failure::Timeout))
}

/// Sends one request and returns its body once the first body byte has arrived, so the caller
/// can keep the stream open.
pub async fn opened(
    client: &HttpClient,
    target: &Target,
    limit: Duration,
) -> Result<hyper::body::Incoming, Failure> {
    let req = build(target)?;
    let work = async {
        let resp = client.request(req).await.map_err(|_| Failure::Transport)?;
        if resp.status() != http::StatusCode::OK {
            return Err(Failure::Status(resp.status().as_u16()));
        }
        let mut body = resp.into_body();
        loop {
            match body.frame().await {
                Some(Ok(frame)) if frame.data_ref().is_some_and(|d| !d.is_empty()) => {
                    return Ok(body);
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Err(Failure::Transport),
            }
        }
    };
    tokio::time::timeout(limit, work)
        .await
        .unwrap_or(Err(Failure::Timeout))
}
