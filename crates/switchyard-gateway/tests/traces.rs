//! Traces from the real binary: `switchyard serve` with `[telemetry] otlp_endpoint` pointing at
//! a tiny OTLP/HTTP receiver in the test. After a graceful stop (which flushes the exporter)
//! the receiver holds one request span per request and one child span per attempt (a fallback
//! gives two, a lost hedge is marked cancelled, a stream's span lasts as long as the stream),
//! with the `gen_ai.*` and `switchyard.*` attributes. Then the secret scan: requests seeded with
//! an e-mail address, a card number, an API key and a bearer token, through a provider with a
//! recognizable key, and none of those appear in the database files, the debug logs or the
//! exported traces.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::otlp::{Span, collector, database_files, decode};
use serde_json::json;
use std::sync::Arc;

const PROVIDER_KEY: &str = "sk-provider-UPSTREAMKEY-9a8b7c6d5e";
const CLIENT_BEARER: &str = "client-bearer-SECRET-5bd1e0a7";
const EMAIL: &str = "jane.doe.trace@example.com";
const CARD: &str = "4111 1111 1111 1111";
const API_KEY: &str = "sk-live-TRACESECRET0123456789abcdefXYZ";

/// What must never be written anywhere but the upstream request.
const SECRETS: [&str; 6] = [
    PROVIDER_KEY,
    CLIENT_BEARER,
    EMAIL,
    CARD,
    "4111111111111111",
    API_KEY,
];

/// The client's own span, which the request span continues.
const CALLER: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

/// The mock upstream, which accepts only the provider's key.
async fn upstream() -> (String, Arc<switchyard_mock::Mock>) {
    let mut config = switchyard_mock::MockConfig {
        api_key: Some(PROVIDER_KEY.into()),
        ..switchyard_mock::MockConfig::default()
    };
    for (model, spec) in [
        ("down", "status=503"),
        ("slow", "latency_ms=1500"),
        ("drip", "tokens_per_sec=40,chunks=16"),
    ] {
        let mut s = switchyard_mock::Scenario::default();
        s.apply(spec).unwrap();
        config.models.insert(model.into(), s);
    }
    let mock = switchyard_mock::Mock::new(config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let root = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(switchyard_mock::serve(listener, mock.clone()));
    (root, mock)
}

fn config(db: &std::path::Path, upstream: &str, collector: &str) -> String {
    let mut s = format!(
        r#"store = "sqlite://{db}"
node = "traced"

[telemetry]
otlp_endpoint = "{collector}"
service_name = "switchyard-test"

[providers.up]
family = "openai"
base_url = "{upstream}/v1"
api_key = "{PROVIDER_KEY}"
region = "lab"

[[profiles]]
name = "traced"
version = 1

[[profiles.allow]]
provider = "up"
region = "lab"
classes = ["public", "internal", "pii", "financial", "secret"]

[profiles.aliases.steady.default]
nodes = [{{ try = "up/ok" }}]

[profiles.aliases.drip.default]
nodes = [{{ try = "up/drip" }}]

[profiles.aliases.flaky.default]
nodes = [{{ try = "up/down" }}, {{ try = "up/ok" }}]

[profiles.aliases.deep.default]
nodes = [{{ try = "up/ok" }}]

[profiles.aliases.deep.reasoning-heavy]
nodes = [{{ race = ["up/slow", "up/ok"], hedge_ms = 50 }}]

[models."up/embed"]
kind = "embedding"
input_usd_per_mtok = 0.1
"#,
        db = db.display()
    );
    for m in ["up/ok", "up/down", "up/slow", "up/drip"] {
        s.push_str(&format!(
            "[models.\"{m}\"]\ninput_usd_per_mtok = 1.0\noutput_usd_per_mtok = 2.0\n"
        ));
    }
    s
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The prompt every request carries: personal data and a secret.
fn prompt() -> String {
    format!("Mail {EMAIL} the receipt for card {CARD}; the deploy key is {API_KEY}.")
}

/// Sends one chat request; returns the status, the request id and the body.
async fn chat(
    http: &reqwest::Client,
    root: &str,
    model: &str,
    stream: bool,
    headers: &[(&str, &str)],
) -> (u16, String, String) {
    let mut body = json!({
        "model": model,
        "stream": stream,
        "messages": [{"role": "user", "content": prompt()}]
    });
    if stream {
        body["stream_options"] = json!({"include_usage": true});
    }
    let mut req = http
        .post(format!("{root}/v1/chat/completions"))
        .header("authorization", format!("Bearer {CLIENT_BEARER}"))
        .json(&body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let id = resp.headers()["x-switchyard-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    (status, id, resp.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_and_attempt_spans_are_exported_and_no_secret_is_written_anywhere() {
    let dir = std::env::temp_dir().join(switchyard_gateway::ids::new_id("traces"));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("events.db");
    let (otlp, bodies) = collector().await;
    let (up, mock) = upstream().await;
    let config_path = dir.join("switchyard.toml");
    std::fs::write(&config_path, config(&db, &up, &otlp)).unwrap();
    let log_path = dir.join("stderr.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let (server, root) = common::serve_binary(&config_path, |c| {
        c.env("RUST_LOG", "debug")
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            .env_remove("OTEL_SERVICE_NAME")
            .stderr(log);
    })
    .await;
    let http = switchyard_providers::http::client().unwrap();

    let (status, plain, answer) =
        chat(&http, &root, "steady", false, &[("traceparent", CALLER)]).await;
    assert_eq!(status, 200, "{answer}");
    let (status, streamed, body) = chat(&http, &root, "drip", true, &[]).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("data: [DONE]"), "{body}");
    let (status, fell_back, answer) = chat(&http, &root, "flaky", false, &[]).await;
    assert_eq!(status, 200, "{answer}");
    let (status, hedged, answer) = chat(
        &http,
        &root,
        "deep",
        false,
        &[("x-switchyard-class", "reasoning-heavy")],
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let resp = http
        .post(format!("{root}/v1/embeddings"))
        .header("authorization", format!("Bearer {CLIENT_BEARER}"))
        .json(&json!({"model": "up/embed", "input": [prompt()]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let embedded = resp.headers()["x-switchyard-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    // A malformed request whose parse error quotes the secrets back to the client only.
    let resp = http
        .post(format!("{root}/v1/chat/completions"))
        .header("authorization", format!("Bearer {CLIENT_BEARER}"))
        .json(&json!({"model": "steady", "messages": prompt()}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let malformed = resp.headers()["x-switchyard-request-id"]
        .to_str()
        .unwrap()
        .to_owned();

    // The secrets were in flight: the upstream saw them (this class does not redact).
    for seeded in [EMAIL, CARD, API_KEY] {
        assert!(mock.saw(seeded), "the upstream never saw {seeded}");
    }
    // The WAL as it is while serving; a graceful stop folds it into the database.
    let mut places = database_files(&dir, "while serving");
    assert!(
        places
            .iter()
            .any(|(n, b)| n.starts_with("events.db-wal") && !b.is_empty()),
        "no WAL to scan: {:?}",
        places.iter().map(|(n, _)| n).collect::<Vec<_>>()
    );

    // The receiver keeps running while the server flushes its last spans on the way out.
    let logs = common::otlp::stop(server, &log_path).await;

    let bodies = bodies.lock().unwrap().clone();
    assert!(!bodies.is_empty(), "no trace was exported");
    let (spans, services) = decode(&bodies);
    assert!(
        services.iter().all(|s| s == "switchyard-test"),
        "{services:?}"
    );
    let request = |id: &str| -> Span {
        let found: Vec<&Span> = spans
            .iter()
            .filter(|s| {
                s.attr("switchyard.request_id") == id && s.attrs.contains_key("switchyard.door")
            })
            .collect();
        assert_eq!(found.len(), 1, "one request span for {id}: {spans:#?}");
        found[0].clone()
    };
    let attempts = |parent: &Span| -> Vec<Span> {
        let mut a: Vec<Span> = spans
            .iter()
            .filter(|s| s.parent == parent.span_id && s.attrs.contains_key("switchyard.attempt"))
            .cloned()
            .collect();
        a.sort_by_key(|s| s.attr("switchyard.attempt").parse::<u32>().unwrap());
        for s in &a {
            assert_eq!(s.trace_id, parent.trace_id);
            assert_eq!(s.kind, 3, "attempt spans are client spans");
        }
        a
    };

    // A plain answer: the request span and its one attempt.
    let r = request(&plain);
    assert_eq!(r.name, "chat steady");
    assert_eq!(r.kind, 2, "the request span is a server span");
    // It continues the caller's trace (W3C traceparent).
    assert_eq!(hex(&r.trace_id), "0af7651916cd43dd8448eb211c80319c");
    assert_eq!(hex(&r.parent), "b7ad6b7169203331");
    for (key, want) in [
        ("gen_ai.operation.name", "chat"),
        ("gen_ai.request.model", "steady"),
        ("gen_ai.provider.name", "up"),
        ("gen_ai.response.model", "up/ok"),
        ("switchyard.profile", "traced@1"),
        ("switchyard.outcome", "routed"),
        ("switchyard.attempts", "1"),
        ("http.response.status_code", "200"),
    ] {
        assert_eq!(r.attr(key), want, "{key} in {r:#?}");
    }
    for key in [
        "switchyard.decision_id",
        "switchyard.route_class",
        "switchyard.tenant",
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.output_tokens",
    ] {
        assert!(!r.attr(key).is_empty(), "{key} in {r:#?}");
    }
    assert!(
        r.attr("switchyard.decision_id").starts_with("dec"),
        "{r:#?}"
    );
    assert!(r.attr("gen_ai.usage.output_tokens").parse::<u64>().unwrap() > 0);
    let classes = r.attr("switchyard.data_classes");
    assert!(
        classes.contains("pii") && classes.contains("secret"),
        "{classes}"
    );
    assert!(
        r.attr("switchyard.reasons")
            .starts_with("1 included, 0 excluded"),
        "{r:#?}"
    );
    assert!(!r.attrs.contains_key("error.type"), "{r:#?}");
    let a = attempts(&r);
    assert_eq!(a.len(), 1, "{a:#?}");
    assert_eq!(a[0].name, "chat ok");
    assert_eq!(a[0].attr("gen_ai.provider.name"), "up");
    assert_eq!(a[0].attr("gen_ai.request.model"), "ok");
    assert_eq!(a[0].attr("switchyard.attempt"), "1");
    assert!(a[0].start >= r.start && a[0].end <= r.end);

    // A stream: its request span ends when the stream does, well after the attempt (which
    // ends at the first event). Without a traceparent the request span is a root.
    let r = request(&streamed);
    assert!(r.parent.is_empty(), "{r:#?}");
    assert_eq!(r.name, "chat drip");
    assert_eq!(r.attr("http.response.status_code"), "200");
    assert!(!r.attr("switchyard.ttft_ms").is_empty(), "{r:#?}");
    let a = attempts(&r);
    assert_eq!(a.len(), 1, "{a:#?}");
    assert!(
        r.end >= a[0].end + 250_000_000,
        "the stream's span ended {} ms after its attempt: request {}..{} us, attempt {}..{} us {:?}",
        (r.end.saturating_sub(a[0].end)) / 1_000_000,
        0,
        (r.end - r.start) / 1000,
        (a[0].start - r.start) / 1000,
        (a[0].end - r.start) / 1000,
        r.attrs
    );

    // A fallback: two attempts, the first with its error type.
    let r = request(&fell_back);
    assert_eq!(r.attr("switchyard.attempts"), "2", "{r:#?}");
    let a = attempts(&r);
    assert_eq!(a.len(), 2, "{a:#?}");
    assert_eq!(a[0].attr("gen_ai.request.model"), "down");
    assert_eq!(a[0].attr("switchyard.attempt"), "1");
    assert!(!a[0].attr("error.type").is_empty(), "{:#?}", a[0]);
    assert_eq!(a[1].attr("gen_ai.request.model"), "ok");
    assert_eq!(a[1].attr("switchyard.attempt"), "2");
    assert!(!a[1].attrs.contains_key("error.type"), "{:#?}", a[1]);

    // A race: the slow candidate lost and was cancelled.
    let r = request(&hedged);
    assert_eq!(
        r.attr("switchyard.route_class"),
        "reasoning-heavy",
        "{r:#?}"
    );
    let a = attempts(&r);
    assert_eq!(a.len(), 2, "{a:#?}");
    let slow = a
        .iter()
        .find(|s| s.attr("gen_ai.request.model") == "slow")
        .unwrap();
    assert_eq!(slow.attr("switchyard.cancelled"), "true", "{slow:#?}");
    let won = a
        .iter()
        .find(|s| s.attr("gen_ai.request.model") == "ok")
        .unwrap();
    assert!(!won.attrs.contains_key("switchyard.cancelled"), "{won:#?}");

    // Embeddings: the span is named after its operation; a refused parse still has its span.
    let r = request(&embedded);
    assert_eq!(r.name, "embeddings up/embed");
    assert_eq!(r.attr("gen_ai.operation.name"), "embeddings");
    assert_eq!(attempts(&r).len(), 1);
    let r = request(&malformed);
    assert_eq!(r.attr("http.response.status_code"), "400");
    assert!(!r.attr("error.type").is_empty(), "{r:#?}");

    // The scan: the database (with its WAL), the debug logs and the exported traces.
    places.push(("stderr (RUST_LOG=debug)".into(), logs));
    places.extend(database_files(&dir, "after the stop"));
    for (i, b) in bodies.iter().enumerate() {
        places.push((format!("trace export #{i}"), b.to_vec()));
    }
    let has = common::otlp::has;
    // The scan looks at real content: the log, the events and the spans are there.
    let text = |name: &str| {
        places
            .iter()
            .filter(|(n, _)| n.starts_with(name))
            .map(|(_, b)| b.as_slice())
            .collect::<Vec<_>>()
    };
    assert!(
        text("stderr")
            .iter()
            .any(|b| has(b, "switchyard is serving"))
    );
    assert!(text("events.db").iter().any(|b| has(b, &plain)));
    assert!(text("trace export").iter().any(|b| has(b, &plain)));
    let leaks = common::otlp::leaks(&places, &SECRETS);
    assert!(leaks.is_empty(), "leaked: {leaks:#?}");
}
