//! The marker scan: a marker secret and a marker e-mail address in every client-supplied field
//! and header of every door (the model, roles, tool names, `user`, body metadata, wrong-typed
//! values, `x-switchyard-*` headers, the path and the query), and model names built to forge a
//! log line or drive a terminal. The real binary serves them with debug logs and trace export;
//! afterwards none of the markers is in the store, the logs, the exported spans, `/metrics` or
//! any error body, and no forged line or raw escape is in the logs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::otlp::{collector, database_files};
use serde_json::{Value, json};

const SECRET: &str = "sk-proj-MARKERSECRET0123456789abcdefXYZ";
const EMAIL: &str = "marker.person@example.com";
/// A model name whose raw newline would start a log line of its own.
const FORGED: &str = "FORGED-LOG-LINE";
/// A terminal escape (set the window title) that must never reach a log raw.
const TERMINAL: &str = "\u{1b}]0;PWNED\u{7}";

fn config(db: &std::path::Path, collector: &str) -> String {
    format!(
        r#"store = "sqlite://{db}"
node = "markers"

[telemetry]
otlp_endpoint = "{collector}"
service_name = "switchyard-markers"

[providers.mock]
family = "mock"

[aliases]
fast = ["mock/fast"]
embed = ["mock/embed"]
"#,
        db = db.display()
    )
}

fn user(text: &str) -> Value {
    json!([{"role": "user", "content": text}])
}

/// One request of the scan: what it tries, its path, its headers, its body.
type Probe = (&'static str, String, Vec<(&'static str, String)>, Value);

/// Every request of the scan.
fn requests() -> Vec<Probe> {
    let marked = format!("{SECRET} {EMAIL}");
    let chat = "/v1/chat/completions".to_owned();
    let messages = "/v1/messages".to_owned();
    let embeddings = "/v1/embeddings".to_owned();
    let none = Vec::new;
    let tool = |name: &str| json!([{"type": "function", "function": {"name": name, "parameters": {"type": "object"}}}]);
    vec![
        (
            "model is a secret",
            chat.clone(),
            none(),
            json!({"model": SECRET, "messages": user("hi")}),
        ),
        (
            "provider/secret",
            chat.clone(),
            none(),
            json!({"model": format!("mock/{SECRET}"), "messages": user("hi")}),
        ),
        (
            "model is an address",
            chat.clone(),
            none(),
            json!({"model": EMAIL, "messages": user("hi")}),
        ),
        (
            "model forges a line",
            chat.clone(),
            none(),
            json!({"model": format!("fast\n{FORGED}"), "messages": user("hi")}),
        ),
        (
            "model drives a terminal",
            chat.clone(),
            none(),
            json!({"model": format!("fast{TERMINAL}"), "messages": user("hi")}),
        ),
        (
            "a megabyte model",
            chat.clone(),
            none(),
            json!({"model": format!("{}{SECRET}", "m".repeat(1 << 20)), "messages": user("hi")}),
        ),
        (
            "role",
            chat.clone(),
            none(),
            json!({"model": "fast", "messages": [{"role": marked, "content": "x"}]}),
        ),
        (
            "tool name",
            chat.clone(),
            none(),
            json!({"model": "fast", "messages": user("hi"), "tools": tool(&marked)}),
        ),
        (
            "tool choice",
            chat.clone(),
            none(),
            json!({"model": "fast", "messages": user("hi"), "tools": tool("f"), "tool_choice": {"type": "function", "function": {"name": marked}}}),
        ),
        (
            "wrong type",
            chat.clone(),
            none(),
            json!({"model": "fast", "messages": user("hi"), "max_tokens": marked}),
        ),
        (
            "user and metadata",
            chat.clone(),
            none(),
            json!({"model": "fast", "messages": user("hi"), "user": marked, "metadata": {"team": marked}}),
        ),
        (
            "route class in metadata",
            chat.clone(),
            none(),
            json!({"model": "fast", "messages": user("hi"), "metadata": {"route_class": marked}}),
        ),
        (
            "headers",
            chat.clone(),
            vec![
                (
                    "x-switchyard-metadata",
                    json!({"team": marked, SECRET: EMAIL}).to_string(),
                ),
                ("x-switchyard-session", marked.clone()),
                ("traceparent", marked.clone()),
                ("authorization", format!("Bearer {SECRET}")),
            ],
            json!({"model": "fast", "messages": user("hi")}),
        ),
        (
            "class header",
            chat.clone(),
            vec![("x-switchyard-class", marked.clone())],
            json!({"model": "fast", "messages": user("hi")}),
        ),
        (
            "region header",
            chat.clone(),
            vec![("x-switchyard-region", marked.clone())],
            json!({"model": "fast", "messages": user("hi")}),
        ),
        (
            "data class header",
            chat.clone(),
            vec![("x-switchyard-data-class", marked.clone())],
            json!({"model": "fast", "messages": user("hi")}),
        ),
        (
            "query",
            format!("{chat}?key={SECRET}&to={EMAIL}"),
            none(),
            json!({"model": "fast", "messages": user("hi")}),
        ),
        ("path", format!("/v1/{SECRET}/{EMAIL}"), none(), json!({})),
        (
            "messages: model",
            messages.clone(),
            none(),
            json!({"model": SECRET, "max_tokens": 16, "messages": user("hi")}),
        ),
        (
            "messages: role",
            messages.clone(),
            none(),
            json!({"model": "fast", "max_tokens": 16, "messages": [{"role": marked, "content": "x"}]}),
        ),
        (
            "messages: tool",
            messages.clone(),
            none(),
            json!({"model": "fast", "max_tokens": 16, "messages": user("hi"), "tools": [{"name": marked, "input_schema": {"type": "object"}}]}),
        ),
        (
            "messages: wrong type",
            messages.clone(),
            none(),
            json!({"model": "fast", "max_tokens": marked, "messages": user("hi")}),
        ),
        (
            "messages: metadata",
            messages.clone(),
            none(),
            json!({"model": "fast", "max_tokens": 16, "messages": user("hi"), "metadata": {"user_id": marked}}),
        ),
        (
            "embeddings: model",
            embeddings.clone(),
            none(),
            json!({"model": SECRET, "input": "hi"}),
        ),
        (
            "embeddings: user",
            embeddings.clone(),
            none(),
            json!({"model": "embed", "input": "hi", "user": marked}),
        ),
        (
            "embeddings: wrong type",
            embeddings.clone(),
            none(),
            json!({"model": "embed", "input": "hi", "dimensions": marked}),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_marker_reaches_the_store_logs_spans_metrics_or_error_bodies() {
    let dir = std::env::temp_dir().join(switchyard_gateway::ids::new_id("markers"));
    std::fs::create_dir_all(&dir).unwrap();
    let (otlp, exported) = collector().await;
    let config_path = dir.join("switchyard.toml");
    std::fs::write(&config_path, config(&dir.join("events.db"), &otlp)).unwrap();
    let log_path = dir.join("stderr.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let (server, root) = common::serve_binary(&config_path, |c| {
        c.env("RUST_LOG", "debug")
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            .stderr(log);
    })
    .await;
    let http = common::client();
    let mut places: Vec<(String, Vec<u8>)> = Vec::new();
    let mut refused = 0;
    for (what, path, headers, body) in requests() {
        let mut req = http.post(format!("{root}{path}")).json(&body);
        for (name, value) in headers {
            req = req.header(name, value);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        refused += usize::from(status >= 400);
        assert!(status < 500, "{what}: {status} {text}");
        if status >= 400 {
            let body: Value =
                serde_json::from_str(&text).unwrap_or_else(|_| panic!("{what}: not JSON: {text}"));
            let message = body["error"]["message"].as_str().unwrap_or_default();
            assert!(!message.is_empty(), "{what}: {body}");
            assert!(message.len() <= 4096, "{what}: {} bytes", message.len());
        }
        // A served answer may hold what the client sent (the mock echoes a forced tool's
        // name): that is the client's own text, in its own answer. Errors are ours.
        if status >= 400 {
            places.push((
                format!("error answer to {what} ({status})"),
                text.into_bytes(),
            ));
        }
    }
    // Most of them are refused; a few (the markers in `user`, the headers that are only read
    // for what they name) are served: both must hold no marker.
    assert!(refused >= 15, "{refused} refused");
    let metrics = http.get(format!("{root}/metrics")).send().await.unwrap();
    places.push(("/metrics".into(), metrics.bytes().await.unwrap().to_vec()));
    places.extend(database_files(&dir, "while serving"));

    let logs = common::otlp::stop(server, &log_path).await;
    places.extend(database_files(&dir, "after the stop"));
    for (i, b) in exported.lock().unwrap().iter().enumerate() {
        places.push((format!("trace export #{i}"), b.to_vec()));
    }
    assert!(
        places.iter().any(|(n, _)| n.starts_with("trace export")),
        "no trace was exported"
    );
    // The logs hold the requests (the scan reads real content), each on a line of its own.
    let log_text = String::from_utf8_lossy(&logs).into_owned();
    assert!(log_text.contains("switchyard is serving"), "{log_text}");
    assert!(
        !log_text.lines().any(|l| l.starts_with(FORGED)),
        "a model name forged a log line:\n{log_text}"
    );
    places.push(("stderr (RUST_LOG=debug)".into(), logs));

    let leaks = common::otlp::leaks(&places, &[SECRET, EMAIL, TERMINAL]);
    assert!(leaks.is_empty(), "leaked: {leaks:#?}");
}
