//! Parameters outside the ranges the real APIs accept get a 400 naming the parameter, in the
//! door's error shape; error bodies never echo what was sent (a secret in a wrongly typed
//! field, a megabyte-long role). Requests the official SDKs send are still served.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{Map, Value, json};

const SECRET: &str = "sk-secret-MARKER-9b2e";

async fn post(root: &str, path: &str, body: String) -> (u16, Value) {
    let resp = client()
        .post(format!("{root}{path}"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json::<Value>().await.unwrap_or(Value::Null))
}

async fn mock_gateway() -> Gateway {
    gateway("[providers.mock]\nfamily = \"mock\"\n[aliases]\nfast = [\"mock/fast\"]").await
}

/// A chat body with `extra` spliced in as JSON text (so numbers past u64 stay as written).
fn chat_with(extra: &str) -> String {
    format!(r#"{{"model": "fast", "messages": [{{"role": "user", "content": "Hello"}}], {extra}}}"#)
}

fn messages_with(extra: &str) -> String {
    messages_of(r#"[{"role": "user", "content": "Hello"}]"#, extra)
}

fn messages_of(messages: &str, extra: &str) -> String {
    format!(r#"{{"model": "fast", "max_tokens": 2048, "messages": {messages}, {extra}}}"#)
}

/// A 400 in OpenAI's shape whose `param` is `param`.
fn assert_openai_400(status: u16, body: &Value, param: &str) {
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["type"], "invalid_request_error", "{body}");
    assert_eq!(body["error"]["param"], param, "{body}");
}

/// A 400 in Anthropic's shape whose message starts with `param`.
fn assert_anthropic_400(status: u16, body: &Value, param: &str) {
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["type"], "error", "{body}");
    assert_eq!(body["error"]["type"], "invalid_request_error", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.starts_with(param), "{body}");
}

#[tokio::test]
async fn chat_parameters_out_of_openais_ranges_are_400s_naming_the_parameter() {
    let gw = mock_gateway().await;
    let metadata: Map<String, Value> = (0..10_000).map(|i| (format!("k{i}"), json!("v"))).collect();
    let metadata = format!(r#""metadata": {}"#, Value::Object(metadata));
    let cases = [
        (r#""max_tokens": 0"#, "max_tokens"),
        (r#""max_completion_tokens": 0"#, "max_completion_tokens"),
        (r#""logprobs": "yes""#, "logprobs"),
        (r#""top_logprobs": 18446744073709551616"#, "top_logprobs"),
        (r#""presence_penalty": 1e308"#, "presence_penalty"),
        (r#""frequency_penalty": 1e308"#, "frequency_penalty"),
        (metadata.as_str(), "metadata"),
        (r#""temperature": 5"#, "temperature"),
        (r#""n": 129"#, "n"),
        (r#""logit_bias": {"50256": 101}"#, "logit_bias"),
    ];
    for (extra, param) in cases {
        let (status, body) = post(&gw.root, "/v1/chat/completions", chat_with(extra)).await;
        assert_openai_400(status, &body, param);
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(param), "{body}");
        assert!(
            !message.contains("yes") && !message.contains("1e308"),
            "{body}"
        );
    }
    let (status, body) = post(
        &gw.root,
        "/v1/chat/completions",
        chat_body("fast").to_string(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn messages_parameters_out_of_anthropics_ranges_are_400s_in_anthropics_shape() {
    let gw = mock_gateway().await;
    let cases = [
        (r#""temperature": 5"#, "temperature"),
        (r#""top_k": 2147483648"#, "top_k"),
        (
            r#""thinking": {"type": "enabled", "budget_tokens": -1}"#,
            "thinking.budget_tokens",
        ),
    ];
    for (extra, param) in cases {
        let (status, body) = post(&gw.root, "/v1/messages", messages_with(extra)).await;
        assert_anthropic_400(status, &body, param);
    }
    for content in [r#""""#, "[]", r#"[{"type": "text", "text": ""}]"#] {
        let messages = format!(r#"[{{"role": "user", "content": {content}}}]"#);
        let (status, body) = post(
            &gw.root,
            "/v1/messages",
            messages_of(&messages, r#""stream": false"#),
        )
        .await;
        assert_anthropic_400(status, &body, "messages.0.content");
    }
    let (status, body) = post(
        &gw.root,
        "/v1/messages",
        messages_with(r#""temperature": 1, "top_k": 40"#),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_secret_in_a_wrongly_typed_field_is_not_echoed() {
    let gw = mock_gateway().await;
    let typed = format!(r#""max_tokens": "{SECRET}""#);
    let (status, body) = post(&gw.root, "/v1/chat/completions", chat_with(&typed)).await;
    assert_eq!(status, 400, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("max_tokens") && !message.contains("MARKER"),
        "{body}"
    );
    let (status, body) = post(
        &gw.root,
        "/v1/messages",
        messages_with(&format!(r#""top_k": "{SECRET}""#)),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["type"], "error", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("top_k") && !message.contains("MARKER"),
        "{body}"
    );
    let embed = json!({"model": "fast", "input": "x", "dimensions": SECRET}).to_string();
    let (status, body) = post(&gw.root, "/v1/embeddings", embed).await;
    assert_eq!(status, 400, "{body}");
    assert!(!body.to_string().contains("MARKER"), "{body}");
}

#[tokio::test]
async fn a_megabyte_long_role_or_function_name_gives_a_short_error() {
    let gw = mock_gateway().await;
    let long = format!("{SECRET}{}", "x".repeat(1 << 20));
    let role = json!({"model": "fast", "messages": [{"role": long, "content": "x"}]});
    let function = json!({"model": "fast", "messages": [{"role": "user", "content": "x"}],
        "tools": [{"type": "function", "function": {"name": long}}]});
    for (body, param) in [
        (role, "messages[0].role"),
        (function, "tools[0].function.name"),
    ] {
        let (status, body) = post(&gw.root, "/v1/chat/completions", body.to_string()).await;
        assert_openai_400(status, &body, param);
        assert!(
            body.to_string().len() < 600,
            "{} bytes",
            body.to_string().len()
        );
    }
    let role =
        json!({"model": "fast", "max_tokens": 5, "messages": [{"role": long, "content": "x"}]});
    let (status, body) = post(&gw.root, "/v1/messages", role.to_string()).await;
    assert_anthropic_400(status, &body, "messages.0.role");
    assert!(
        body.to_string().len() < 600,
        "{} bytes",
        body.to_string().len()
    );
}

#[tokio::test]
async fn requests_the_official_sdks_send_are_served() {
    let gw = mock_gateway().await;
    let chat = json!({
        "model": "fast",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
        "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}}}],
        "response_format": {"type": "json_object"}, "temperature": 0.2, "top_p": 1, "n": 1,
        "stop": ["END"], "seed": 7, "max_tokens": 64, "presence_penalty": 0, "frequency_penalty": 0,
        "logprobs": false, "metadata": {"team": "search"}, "user": "u-1",
        "stream": true, "stream_options": {"include_usage": true}
    });
    let (status, _) = post(&gw.root, "/v1/chat/completions", chat.to_string()).await;
    assert_eq!(status, 200);
    let embed = json!({"model": "mock/text-embed", "input": ["a", "b"],
        "encoding_format": "base64", "dimensions": 8});
    let (status, body) = post(&gw.root, "/v1/embeddings", embed.to_string()).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["data"][0]["embedding"].is_string(), "{body}");
}
