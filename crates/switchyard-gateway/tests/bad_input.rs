//! Malformed requests and misbehaving upstreams get precise statuses and OpenAI-shaped bodies,
//! and the server keeps serving afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{Value, json};

async fn post_raw(root: &str, path: &str, body: Vec<u8>) -> (u16, Value) {
    let resp = client()
        .post(format!("{root}{path}"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let body = resp.json::<Value>().await.unwrap_or(Value::Null);
    (status, body)
}

fn assert_openai_error(body: &Value) {
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert!(body["error"]["type"].is_string(), "{body}");
}

async fn still_serving(root: &str) {
    let (status, body) = post_raw(
        root,
        "/v1/chat/completions",
        chat_body("fast").to_string().into_bytes(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn malformed_requests_get_400s_that_say_why() {
    let gw =
        gateway("[providers.mock]\nfamily = \"mock\"\n[aliases]\nfast = [\"mock/fast\"]").await;
    let root = gw.root.clone();
    let cases: Vec<(&str, Vec<u8>, u16, Option<&str>)> = vec![
        ("invalid json", b"{\"model\": ".to_vec(), 400, None),
        ("non-utf8", b"{\"model\": \"fast\", \"messages\": [{\"role\": \"user\", \"content\": \"\xff\xfe\"}]}".to_vec(), 400, None),
        ("wrong type", json!({"model": "fast", "messages": "hi"}).to_string().into_bytes(), 400, None),
        ("missing model", json!({"messages": []}).to_string().into_bytes(), 400, None),
        ("empty messages", json!({"model": "fast", "messages": []}).to_string().into_bytes(), 400, Some("messages")),
        ("bad role", json!({"model": "fast", "messages": [{"role": "wizard", "content": "x"}]}).to_string().into_bytes(), 400, Some("messages[0].role")),
        ("tool without id", json!({"model": "fast", "messages": [{"role": "tool", "content": "x"}]}).to_string().into_bytes(), 400, Some("messages[0].tool_call_id")),
        ("unknown tool choice", json!({"model": "fast", "messages": [{"role": "user", "content": "x"}], "tools": [], "tool_choice": {"type": "function", "function": {"name": "f"}}}).to_string().into_bytes(), 400, Some("tool_choice")),
        ("temperature", json!({"model": "fast", "messages": [{"role": "user", "content": "x"}], "temperature": 9}).to_string().into_bytes(), 400, Some("temperature")),
        ("unknown model", chat_body("no-such-model").to_string().into_bytes(), 404, None),
        ("unknown provider", chat_body("nobody/model").to_string().into_bytes(), 404, None),
    ];
    for (name, body, status, param) in cases {
        let (got, body) = post_raw(&root, "/v1/chat/completions", body).await;
        assert_eq!(got, status, "{name}: {body}");
        assert_openai_error(&body);
        if let Some(param) = param {
            assert_eq!(body["error"]["param"], param, "{name}");
        }
    }
    still_serving(&root).await;
}

#[tokio::test]
async fn a_100_mb_body_is_refused_with_413() {
    let gw =
        gateway("[providers.mock]\nfamily = \"mock\"\n[aliases]\nfast = [\"mock/fast\"]").await;
    let root = gw.root.clone();
    let (status, body) =
        post_raw(&root, "/v1/chat/completions", vec![b' '; 100 * 1024 * 1024]).await;
    assert_eq!(status, 413);
    assert_eq!(body["error"]["code"], "request_too_large");
    still_serving(&root).await;
}

#[tokio::test]
async fn a_request_head_over_8_kib_is_refused_with_431_and_one_under_is_served() {
    let gw =
        gateway("[providers.mock]\nfamily = \"mock\"\n[aliases]\nfast = [\"mock/fast\"]").await;
    let send = |header_bytes: usize| {
        let url = format!("{}/v1/chat/completions", gw.root);
        async move {
            client()
                .post(url)
                .header("content-type", "application/json")
                .header("x-padding", "p".repeat(header_bytes))
                .body(chat_body("fast").to_string())
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(send(6 * 1024).await, 200);
    assert_eq!(send(9 * 1024).await, 431);
    still_serving(&gw.root).await;
}

#[tokio::test]
async fn unknown_routes_and_methods_are_json_errors() {
    let gw =
        gateway("[providers.mock]\nfamily = \"mock\"\n[aliases]\nfast = [\"mock/fast\"]").await;
    let root = gw.root.clone();
    let resp = client()
        .get(format!("{root}/v1/nothing"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    assert_openai_error(&resp.json().await.unwrap());
    let resp = client()
        .get(format!("{root}/v1/chat/completions"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 405);
    assert_openai_error(&resp.json().await.unwrap());
    // Under the Anthropic door, Anthropic's shape (the 404 was OpenAI's).
    let resp = client()
        .post(format!("{root}/v1/messages/count_tokens"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["type"], "error", "{body}");
    assert_eq!(body["error"]["type"], "not_found_error", "{body}");
}

#[tokio::test]
async fn an_upstream_that_never_answers_is_a_504() {
    let up = mock_upstream(&[("hang", "latency_ms=600000")]).await;
    let gw = gateway_to(&up, "[aliases]\nfast = [\"mock/fast\"]").await;
    let root = gw.root.clone();
    let (status, body) = post_raw(
        &root,
        "/v1/chat/completions",
        chat_body("up/hang").to_string().into_bytes(),
    )
    .await;
    assert_eq!(status, 504, "{body}");
    assert_eq!(body["error"]["code"], "upstream_timeout");
    still_serving(&root).await;
}

#[tokio::test]
async fn garbage_from_upstream_is_a_502_plain_or_streamed() {
    let up = mock_upstream(&[("junk", "malformed=true")]).await;
    let gw = gateway_to(&up, "[aliases]\nfast = [\"mock/fast\"]").await;
    let root = gw.root.clone();
    let (status, body) = post_raw(
        &root,
        "/v1/chat/completions",
        chat_body("up/junk").to_string().into_bytes(),
    )
    .await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"]["code"], "upstream_malformed_reply");
    let mut req = chat_body("up/junk");
    req["stream"] = json!(true);
    let resp = client()
        .post(format!("{root}/v1/chat/completions"))
        .json(&req)
        .send()
        .await
        .unwrap();
    // The first event never parsed, so the gateway could still answer with a status.
    assert_eq!(resp.status().as_u16(), 502);
    still_serving(&root).await;
}

#[tokio::test]
async fn a_stream_cut_midway_ends_with_an_error_event_not_done() {
    let up = mock_upstream(&[("cut", "cut_after=4")]).await;
    let gw = gateway_to(&up, "[aliases]\nfast = [\"mock/fast\"]").await;
    let root = gw.root.clone();
    let mut req = chat_body("up/cut");
    req["stream"] = json!(true);
    let resp = client()
        .post(format!("{root}/v1/chat/completions"))
        .json(&req)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let text = resp.text().await.unwrap();
    assert!(text.contains("\"error\""), "{text}");
    assert!(!text.contains("[DONE]"), "{text}");
    still_serving(&root).await;
}

#[tokio::test]
async fn rate_limits_keep_429_and_retry_after_and_5xx_falls_back() {
    let up = mock_upstream(&[
        ("limited", "status=429,retry_after=9"),
        ("down", "status=500"),
    ])
    .await;
    let gw = gateway_to(
        &up,
        "[aliases]\nfast = [\"mock/fast\"]\nresilient = [\"up/down\", \"up/fine\"]",
    )
    .await;
    let root = gw.root.clone();
    let resp = client()
        .post(format!("{root}/v1/chat/completions"))
        .json(&chat_body("up/limited"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 429);
    assert_eq!(resp.headers()["retry-after"], "9");
    let resp = client()
        .post(format!("{root}/v1/chat/completions"))
        .json(&chat_body("resilient"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["x-switchyard-attempts"], "2");
    assert_eq!(resp.headers()["x-switchyard-model"], "up/fine");
    assert_eq!(up.mock.hits("down"), 1);
    assert_eq!(up.mock.hits("fine"), 1);
}

#[tokio::test]
async fn anthropic_door_errors_are_anthropic_shaped() {
    let gw =
        gateway("[providers.mock]\nfamily = \"mock\"\n[aliases]\nfast = [\"mock/fast\"]").await;
    let root = gw.root.clone();
    let (status, body) = post_raw(
        &root,
        "/v1/messages",
        json!({"model": "fast", "messages": []})
            .to_string()
            .into_bytes(),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "invalid_request_error");
    let (status, body) = post_raw(
        &root,
        "/v1/messages",
        json!({"model": "nope", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]})
            .to_string()
            .into_bytes(),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["type"], "not_found_error");
}

#[tokio::test]
async fn a_body_declared_as_anything_but_json_is_refused_with_415() {
    let gw = gateway(
        "[providers.mock]\nfamily = \"mock\"\n[aliases]\nfast = [\"mock/fast\"]\nembed = [\"mock/embed\"]",
    )
    .await;
    let chat = chat_body("fast").to_string();
    let embed = json!({"model": "embed", "input": "hi"}).to_string();
    let messages =
        json!({"model": "fast", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]})
            .to_string();
    for (path, body) in [
        ("/v1/chat/completions", &chat),
        ("/v1/embeddings", &embed),
        ("/v1/messages", &messages),
    ] {
        for (content_type, want) in [
            ("text/plain", 415),
            ("application/x-www-form-urlencoded", 415),
            ("application/json; charset=utf-8", 200),
            ("APPLICATION/JSON", 200),
            ("application/vnd.api+json", 200),
        ] {
            let resp = client()
                .post(format!("{}{path}", gw.root))
                .header("content-type", content_type)
                .body(body.clone())
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status().as_u16(), want, "{path} {content_type}");
            let answer: Value = resp.json().await.unwrap();
            if want == 415 && path == "/v1/messages" {
                assert_eq!(answer["type"], "error", "{answer}");
            } else if want == 415 {
                assert_eq!(
                    answer["error"]["code"], "unsupported_media_type",
                    "{answer}"
                );
            }
        }
    }
}
