//! The mock (the embedded default provider, and `switchyard mock-upstream`) cannot be made to do
//! work sized by a hostile request: huge embedding dimensions, `minItems` 1e9, `$ref` fan-out
//! and `minLength` 1.4M are each refused with a 400 naming the limit, in each family's shape,
//! while liveness stays fast and the process's memory stays bounded.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{Map, Value, json};
use std::time::{Duration, Instant};

/// A line of `/proc/self/status` in KiB (`VmRSS`, `VmHWM`).
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

fn fan_out() -> Value {
    let props: Map<String, Value> = (0..40)
        .map(|i| (format!("p{i}"), json!({"$ref": "#"})))
        .collect();
    json!({"type": "object", "properties": props})
}

fn min_items() -> Value {
    json!({"type": "object", "properties": {"xs": {"type": "array", "minItems": 1_000_000_000u64}}})
}

fn min_length() -> Value {
    json!({"type": "object", "properties": {"s": {"type": "string", "minLength": 1_400_000}}})
}

fn with_schema(model: &str, schema: Value) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": "hi"}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "r", "schema": schema}}})
}

fn with_tool(model: &str, schema: Value) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": "hi"}],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": schema}}],
        "tool_choice": {"type": "function", "function": {"name": "f"}}})
}

/// One request and what its answer must say.
struct Case {
    name: &'static str,
    path: String,
    headers: Vec<(&'static str, &'static str)>,
    body: Value,
    status: u16,
    /// Text the error message must hold (the keyword and the limit).
    says: Vec<&'static str>,
    /// The family's error shape.
    shape: fn(&reqwest::header::HeaderMap, &Value) -> Option<String>,
}

async fn send(root: &str, case: &Case) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = client()
        .post(format!("{root}{}", case.path))
        .json(&case.body);
    for (k, v) in &case.headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.json().await.unwrap_or(Value::Null))
}

/// The two tests take turns: each measures liveness under its own load, not the other's.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Fires every case three times at once and probes `probe` until they have all answered: the
/// probes answer within 100 ms (nine in ten of them, and all within a second: the machine is
/// shared, and a probe may wait for a core behind other processes, never behind the mock), and
/// every case as it must.
async fn hostile_load(root: &str, cases: Vec<Case>, probe: reqwest::RequestBuilder) {
    let _turn = ONE_AT_A_TIME.lock().await;
    let cases = std::sync::Arc::new(cases);
    let mut tasks = Vec::new();
    for _ in 0..3 {
        for i in 0..cases.len() {
            let (root, cases) = (root.to_owned(), cases.clone());
            tasks.push(tokio::spawn(
                async move { (i, send(&root, &cases[i]).await) },
            ));
        }
    }
    let mut latencies = Vec::new();
    // Probes are paced so that they measure the server instead of loading it.
    let mut pace = tokio::time::interval(Duration::from_millis(5));
    let probing = async {
        while latencies.len() < 20 || tasks.iter().any(|t| !t.is_finished()) {
            pace.tick().await;
            let started = Instant::now();
            let status = probe.try_clone().unwrap().send().await.unwrap().status();
            latencies.push(started.elapsed());
            assert!(status.is_success(), "probe answered {status}");
        }
    };
    // A bound on the test, not on the code: generations used to run for minutes.
    tokio::time::timeout(Duration::from_secs(120), probing)
        .await
        .expect("the hostile requests were still running after two minutes");
    latencies.sort();
    let p90 = latencies[latencies.len() * 9 / 10];
    let slowest = latencies[latencies.len() - 1];
    assert!(
        p90 < Duration::from_millis(100) && slowest < Duration::from_secs(1),
        "while hostile requests ran, 90% of {} probes answered within {p90:?}, all within {slowest:?}",
        latencies.len()
    );
    for task in tasks {
        let (i, (status, headers, body)) = task.await.unwrap();
        let case = &cases[i];
        assert_eq!(status, case.status, "{}: {body}", case.name);
        if case.status == 200 {
            continue;
        }
        let message = (case.shape)(&headers, &body)
            .unwrap_or_else(|| panic!("{}: not the family's error shape: {body}", case.name));
        for needle in &case.says {
            assert!(message.contains(needle), "{}: {message}", case.name);
        }
    }
}

fn openai_shape(_: &reqwest::header::HeaderMap, body: &Value) -> Option<String> {
    (body["error"]["type"] == "invalid_request_error")
        .then(|| body["error"]["message"].as_str().map(str::to_owned))
        .flatten()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_builtin_mock_refuses_what_a_request_cannot_have_and_healthz_stays_fast() {
    // What `switchyard serve` runs with no config: the built-in mock and its models.
    let gw = gateway(include_str!("../src/config/defaults.toml")).await;
    let root = gw.root.clone();
    // Warm up: the tokenizer's tables load once per process.
    let warm = client()
        .post(format!("{root}/v1/chat/completions"))
        .json(&chat_body("fast"))
        .send()
        .await
        .unwrap();
    assert_eq!(warm.status(), 200);
    let high_water_before = status_kib("VmHWM");
    let chat = "/v1/chat/completions".to_owned();
    let case = |name, path: &String, body, says| Case {
        name,
        path: path.clone(),
        headers: Vec::new(),
        body,
        status: 400,
        says,
        shape: openai_shape,
    };
    let mut stream = with_schema("fast", min_items());
    stream["stream"] = json!(true);
    let big_but_valid = json!({"type": "object", "properties": {"xs": {"type": "array",
        "minItems": 2000, "maxItems": 2000, "items": {"type": "string", "minLength": 200}}}});
    let mut valid = case(
        "within the limits",
        &chat,
        with_schema("fast", big_but_valid),
        vec![],
    );
    valid.status = 200;
    let cases = vec![
        case(
            "dimensions 2^31",
            &"/v1/embeddings".to_owned(),
            json!({"model": "embed", "input": "hello", "dimensions": 2_147_483_648u64}),
            vec!["dimensions", "3072"],
        ),
        case(
            "minItems 1e9",
            &chat,
            with_schema("fast", min_items()),
            vec!["minItems", "max_items"],
        ),
        case(
            "minItems 1e9, streamed",
            &chat,
            stream,
            vec!["minItems", "max_items"],
        ),
        case(
            "forced tool, minItems 1e9",
            &chat,
            with_tool("smart", min_items()),
            vec!["tool \"f\"", "max_items"],
        ),
        case(
            "$ref fan-out",
            &chat,
            with_schema("fast", fan_out()),
            vec!["$ref", "max_output_"],
        ),
        case(
            "minLength 1.4M",
            &chat,
            with_schema("fast", min_length()),
            vec!["minLength", "max_string_chars"],
        ),
        valid,
    ];
    let probe = client().get(format!("{root}/healthz"));
    hostile_load(&root, cases, probe).await;
    let grown_mib = status_kib("VmHWM").saturating_sub(high_water_before) / 1024;
    // Before the limits one such request grew RSS by gigabytes or aborted the process.
    assert!(grown_mib < 256, "peak RSS grew {grown_mib} MiB");
}

fn anthropic_shape(_: &reqwest::header::HeaderMap, body: &Value) -> Option<String> {
    (body["type"] == "error" && body["error"]["type"] == "invalid_request_error")
        .then(|| body["error"]["message"].as_str().map(str::to_owned))
        .flatten()
}

fn gemini_shape(_: &reqwest::header::HeaderMap, body: &Value) -> Option<String> {
    (body["error"]["status"] == "INVALID_ARGUMENT" && body["error"]["code"] == 400)
        .then(|| body["error"]["message"].as_str().map(str::to_owned))
        .flatten()
}

fn bedrock_shape(headers: &reqwest::header::HeaderMap, body: &Value) -> Option<String> {
    let kind = headers.get("x-amzn-errortype")?.to_str().ok()?;
    kind.starts_with("ValidationException:")
        .then(|| body["message"].as_str().map(str::to_owned))
        .flatten()
}

fn workers_shape(_: &reqwest::header::HeaderMap, body: &Value) -> Option<String> {
    (body["success"] == false && body["errors"][0]["code"] == 5006)
        .then(|| body["errors"][0]["message"].as_str().map(str::to_owned))
        .flatten()
}

fn openai_dimensions_shape(headers: &reqwest::header::HeaderMap, body: &Value) -> Option<String> {
    (body["error"]["param"] == "dimensions" && body["error"]["code"] == "integer_above_max_value")
        .then(|| openai_shape(headers, body))
        .flatten()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mock_upstream_refuses_them_in_each_familys_shape_and_keeps_answering() {
    let up = mock_upstream(&[]).await;
    let bearer = ("authorization", "Bearer test-key");
    let hi = json!([{"role": "user", "content": "hi"}]);
    let claude = json!({"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": hi,
        "tools": [{"name": "f", "input_schema": min_length()}],
        "tool_choice": {"type": "tool", "name": "f"}});
    let gemini_config =
        json!({"responseMimeType": "application/json", "responseJsonSchema": min_items()});
    let converse = json!({"messages": [{"role": "user", "content": [{"text": "hi"}]}],
        "toolConfig": {"tools": [{"toolSpec": {"name": "f", "inputSchema": {"json": fan_out()}}}],
            "toolChoice": {"tool": {"name": "f"}}}});
    let workers_chat = json!({"messages": hi,
        "response_format": {"type": "json_schema", "json_schema": min_items()}});
    let texts = vec!["a"; 24_577];
    let cases = vec![
        Case {
            name: "openai dimensions",
            path: "/v1/embeddings".into(),
            headers: vec![bearer],
            body: json!({"model": "text-embedding-3-small", "input": "x", "dimensions": 2_147_483_648u64}),
            status: 400,
            says: vec!["dimensions", "1536"],
            shape: openai_dimensions_shape,
        },
        Case {
            name: "azure dimensions",
            path: "/openai/deployments/text-embedding-3-large/embeddings?api-version=2024-10-21"
                .into(),
            headers: vec![("api-key", "test-key")],
            body: json!({"model": "text-embedding-3-large", "input": "x", "dimensions": 5000}),
            status: 400,
            says: vec!["dimensions", "3072"],
            shape: openai_dimensions_shape,
        },
        Case {
            name: "openai minItems",
            path: "/v1/chat/completions".into(),
            headers: vec![bearer],
            body: with_schema("gpt-4o-mini", min_items()),
            status: 400,
            says: vec!["minItems", "max_items"],
            shape: openai_shape,
        },
        Case {
            name: "anthropic minLength",
            path: "/v1/messages".into(),
            headers: vec![
                ("x-api-key", "test-key"),
                ("anthropic-version", "2023-06-01"),
            ],
            body: claude,
            status: 400,
            says: vec!["minLength", "max_string_chars"],
            shape: anthropic_shape,
        },
        Case {
            name: "gemini minItems",
            path: "/v1beta/models/gemini-2.5-flash:generateContent".into(),
            headers: vec![("x-goog-api-key", "test-key")],
            body: json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}],
                "generationConfig": gemini_config}),
            status: 400,
            says: vec!["minItems", "max_items"],
            shape: gemini_shape,
        },
        Case {
            name: "gemini outputDimensionality",
            path: "/v1beta/models/text-embedding-004:batchEmbedContents".into(),
            headers: vec![("x-goog-api-key", "test-key")],
            body: json!({"requests": [{"model": "models/text-embedding-004",
                "content": {"parts": [{"text": "x"}]}, "outputDimensionality": 3072}]}),
            status: 400,
            says: vec!["output_dimensionality", "768"],
            shape: gemini_shape,
        },
        Case {
            name: "bedrock $ref fan-out",
            path: "/model/anthropic.claude-3-haiku/converse".into(),
            headers: vec![bearer],
            body: converse,
            status: 400,
            says: vec!["$ref", "max_output_"],
            shape: bedrock_shape,
        },
        Case {
            name: "workers ai minItems",
            path: "/client/v4/accounts/acct/ai/run/@cf/meta/llama-3.1-8b-instruct".into(),
            headers: vec![bearer],
            body: workers_chat,
            status: 400,
            says: vec!["minItems", "max_items"],
            shape: workers_shape,
        },
        Case {
            name: "workers ai embeddings past the value limit",
            path: "/client/v4/accounts/acct/ai/run/@cf/baai/bge-base-en-v1.5".into(),
            headers: vec![bearer],
            body: json!({"text": texts}),
            status: 400,
            says: vec!["max_embedding_values"],
            shape: workers_shape,
        },
    ];
    // Each family still answers what is within the limits.
    let valid = |name, path: &str, headers: Vec<(&'static str, &'static str)>, body| Case {
        name,
        path: path.to_owned(),
        headers,
        body,
        status: 200,
        says: Vec::new(),
        shape: openai_shape,
    };
    let small = json!({"type": "object", "properties": {"xs": {"type": "array", "minItems": 3,
        "items": {"type": "string", "minLength": 5}}}, "required": ["xs"]});
    let mut cases = cases;
    cases.extend([
        valid(
            "openai embeddings",
            "/v1/embeddings",
            vec![bearer],
            json!({"model": "text-embedding-3-small", "input": ["a", "b"], "dimensions": 1536}),
        ),
        valid(
            "openai schema",
            "/v1/chat/completions",
            vec![bearer],
            with_schema("gpt-4o-mini", small.clone()),
        ),
        valid(
            "anthropic tool",
            "/v1/messages",
            vec![
                ("x-api-key", "test-key"),
                ("anthropic-version", "2023-06-01"),
            ],
            json!({"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": hi,
                "tools": [{"name": "f", "input_schema": small.clone()}],
                "tool_choice": {"type": "tool", "name": "f"}}),
        ),
        valid(
            "gemini schema",
            "/v1beta/models/gemini-2.5-flash:generateContent",
            vec![("x-goog-api-key", "test-key")],
            json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}], "generationConfig":
                {"responseMimeType": "application/json", "responseJsonSchema": small.clone()}}),
        ),
        valid(
            "gemini embeddings",
            "/v1beta/models/gemini-embedding-001:batchEmbedContents",
            vec![("x-goog-api-key", "test-key")],
            json!({"requests": [{"model": "models/gemini-embedding-001",
                "content": {"parts": [{"text": "x"}]}, "outputDimensionality": 3072}]}),
        ),
        valid(
            "bedrock converse",
            "/model/anthropic.claude-3-haiku/converse",
            vec![bearer],
            json!({"messages": [{"role": "user", "content": [{"text": "hi"}]}]}),
        ),
        valid(
            "titan embeddings",
            "/model/amazon.titan-embed-text-v2:0/invoke",
            vec![bearer],
            json!({"inputText": "x", "dimensions": 256}),
        ),
        valid(
            "workers ai embeddings",
            "/client/v4/accounts/acct/ai/run/@cf/baai/bge-base-en-v1.5",
            vec![bearer],
            json!({"text": ["a", "b"]}),
        ),
    ]);
    let probe = client()
        .get(format!("{}/v1/models", up.root))
        .header("authorization", "Bearer test-key");
    hostile_load(&up.root, cases, probe).await;
}
