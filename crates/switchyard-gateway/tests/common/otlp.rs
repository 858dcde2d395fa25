//! Test scaffolding for what the gateway writes outside its answers: an OTLP/HTTP receiver,
//! the decoded spans it received, and the SQLite files as bytes, for the secret scans.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use axum::body::Bytes;
use axum::extract::State;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use prost::Message;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// The OTLP/HTTP receiver: keeps every body POSTed to `/v1/traces`.
pub async fn collector() -> (String, Arc<Mutex<Vec<Bytes>>>) {
    let bodies: Arc<Mutex<Vec<Bytes>>> = Arc::default();
    let app = axum::Router::new()
        .route(
            "/v1/traces",
            axum::routing::post(
                |State(b): State<Arc<Mutex<Vec<Bytes>>>>, body: Bytes| async move {
                    b.lock().unwrap().push(body);
                    (
                        [("content-type", "application/x-protobuf")],
                        Vec::<u8>::new(),
                    )
                },
            ),
        )
        .with_state(bodies.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let root = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (root, bodies)
}

/// The bytes of the SQLite files (database, WAL, shared memory) as they are now.
pub fn database_files(dir: &std::path::Path, when: &str) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("events.db") {
            out.push((format!("{name} ({when})"), std::fs::read(&path).unwrap()));
        }
    }
    out
}

/// One exported span, flattened.
#[derive(Debug, Clone)]
pub struct Span {
    pub name: String,
    pub kind: i32,
    pub trace_id: Vec<u8>,
    pub span_id: Vec<u8>,
    pub parent: Vec<u8>,
    pub start: u64,
    pub end: u64,
    pub attrs: BTreeMap<String, String>,
}

impl Span {
    pub fn attr(&self, key: &str) -> &str {
        self.attrs.get(key).map(String::as_str).unwrap_or("")
    }
}

/// Decodes every export body; returns the spans and the resources' `service.name`s.
pub fn decode(bodies: &[Bytes]) -> (Vec<Span>, Vec<String>) {
    let text = |v: &Option<opentelemetry_proto::tonic::common::v1::AnyValue>| match v
        .as_ref()
        .and_then(|v| v.value.as_ref())
    {
        Some(Any::StringValue(s)) => s.clone(),
        Some(Any::IntValue(i)) => i.to_string(),
        Some(Any::BoolValue(b)) => b.to_string(),
        Some(Any::DoubleValue(d)) => d.to_string(),
        other => format!("{other:?}"),
    };
    let mut spans = Vec::new();
    let mut services = Vec::new();
    for body in bodies {
        let request = ExportTraceServiceRequest::decode(body.as_ref()).unwrap();
        for rs in request.resource_spans {
            for a in rs.resource.iter().flat_map(|r| &r.attributes) {
                if a.key == "service.name" {
                    services.push(text(&a.value));
                }
            }
            for s in rs.scope_spans.into_iter().flat_map(|s| s.spans) {
                spans.push(Span {
                    name: s.name,
                    kind: s.kind,
                    trace_id: s.trace_id,
                    span_id: s.span_id,
                    parent: s.parent_span_id,
                    start: s.start_time_unix_nano,
                    end: s.end_time_unix_nano,
                    attrs: s
                        .attributes
                        .iter()
                        .map(|a| (a.key.clone(), text(&a.value)))
                        .collect(),
                });
            }
        }
    }
    (spans, services)
}

/// Whether `needle` occurs in `hay`.
pub fn has(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Every `(marker, place)` where a marker occurs, as `"marker" in place`: a leak report.
pub fn leaks(places: &[(String, Vec<u8>)], markers: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for (place, bytes) in places {
        for marker in markers {
            if has(bytes, marker) {
                found.push(format!("{marker:?} in {place}"));
            }
        }
    }
    found
}

/// Stops a server started by `serve_binary` the way an operator does (SIGTERM), waits for it
/// to finish (flushing its events and spans), checks it exited 0, and returns its log.
pub async fn stop(mut server: std::process::Child, log: &std::path::Path) -> Vec<u8> {
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let exit = tokio::task::spawn_blocking(move || server.wait().unwrap())
        .await
        .unwrap();
    let logs = std::fs::read(log).unwrap();
    assert!(
        exit.success(),
        "graceful stop exits 0: {exit}\n{}",
        String::from_utf8_lossy(&logs)
    );
    logs
}
