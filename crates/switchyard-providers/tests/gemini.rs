//! The Gemini family against the mock: the shared conformance suite, what is particular to
//! Gemini (ids for id-less calls, several candidates, JSON Schema output, the key in a header),
//! and raw requests that pin the mock to Google's wire behaviour.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod conformance;

use conformance::{Fixture, Harness, hello};
use serde_json::json;
use switchyard_protocol::{FinishReason, ResponseFormat, StreamEvent};
use switchyard_providers::gemini::{DEFAULT_BASE_URL, SYNTHETIC_ID_PREFIX};
use switchyard_providers::{Credentials, Endpoint, Family, Quirks};

fn endpoint(root: &str, key: &str) -> Endpoint {
    Endpoint {
        name: "gemini".into(),
        family: Family::Gemini,
        base_url: root.to_owned(),
        credentials: Credentials::ApiKey(key.into()),
        region: None,
        quirks: Quirks::default(),
    }
}

fn fixture() -> Fixture {
    Fixture {
        family: Family::Gemini,
        endpoint,
        model: |name| format!("gemini-{name}"),
        embeddings: true,
    }
}

conformance_suite!(fixture());

#[test]
fn default_base_url_is_google() {
    assert_eq!(
        DEFAULT_BASE_URL,
        "https://generativelanguage.googleapis.com"
    );
}

#[tokio::test]
async fn id_less_calls_get_stable_synthetic_ids() {
    let h = Harness::start(fixture()).await;
    let a = h
        .chat("chat-model", &conformance::forced_tool())
        .await
        .unwrap();
    let b = h
        .chat("chat-model", &conformance::forced_tool())
        .await
        .unwrap();
    let id = &a.choices[0].message.tool_calls[0].id;
    assert!(id.starts_with(SYNTHETIC_ID_PREFIX), "{id}");
    assert_eq!(id, &b.choices[0].message.tool_calls[0].id);
    let mut req = conformance::forced_tool();
    req.stream = true;
    let (streamed, _, _) = h.stream("chat-model", &req).await.unwrap();
    assert_eq!(
        &streamed.choices[0].message.tool_calls[0].id, id,
        "stream and plain agree"
    );
}

#[tokio::test]
async fn several_candidates_plain_and_streamed() {
    let h = Harness::start(fixture()).await;
    let mut req = hello();
    req.n = 3;
    let plain = h.chat("chat-model", &req).await.unwrap();
    assert_eq!(plain.choices.len(), 3);
    assert_eq!(
        plain.choices.iter().map(|c| c.index).collect::<Vec<_>>(),
        [0, 1, 2]
    );
    req.stream = true;
    let (streamed, events, failure) = h.stream("chat-model", &req).await.unwrap();
    assert!(failure.is_none(), "{failure:?}");
    assert_eq!(streamed.choices.len(), 3);
    for (s, p) in streamed.choices.iter().zip(&plain.choices) {
        assert_eq!(s.message.joined_text(), p.message.joined_text());
    }
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, StreamEvent::Finish { .. }))
            .count(),
        3
    );
    assert!(matches!(events.last(), Some(StreamEvent::Usage(_))));
}

#[tokio::test]
async fn json_schema_is_followed() {
    let h = Harness::start(fixture()).await;
    let mut req = hello();
    req.response_format = Some(ResponseFormat::JsonSchema {
        name: "person".into(),
        schema: json!({"type": "object", "additionalProperties": false,
            "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0, "maximum": 120}},
            "required": ["name", "age"]}),
        strict: Some(true),
    });
    let resp = h.chat("chat-model", &req).await.unwrap();
    let value: serde_json::Value =
        serde_json::from_str(&resp.choices[0].message.joined_text()).unwrap();
    assert!(value["name"].is_string());
    assert!((0..=120).contains(&value["age"].as_i64().unwrap()));
}

#[tokio::test]
async fn stop_sequences_and_seed_are_accepted() {
    let h = Harness::start(fixture()).await;
    let mut req = hello();
    req.stop = vec!["zzz".into()];
    req.seed = Some(42);
    req.temperature = Some(0.2);
    req.top_p = Some(0.5);
    let resp = h.chat("chat-model", &req).await.unwrap();
    assert_eq!(resp.choices[0].finish_reason, FinishReason::Stop);
}

#[tokio::test]
async fn the_key_travels_in_a_header_not_the_url() {
    let h = Harness::start(fixture()).await;
    // A base URL ending in /v1beta is accepted as well.
    let endpoint = endpoint(&format!("{}/v1beta", h.root), conformance::KEY);
    let model = "gemini-chat-model";
    let resp = h
        .adapter
        .chat(h.call(&endpoint, model), &hello())
        .await
        .unwrap();
    assert!(!resp.choices[0].message.joined_text().is_empty());
    // Without credentials the mock refuses with 403, as Google does.
    let mut anonymous = endpoint.clone();
    anonymous.credentials = Credentials::None;
    let err = h
        .adapter
        .chat(h.call(&anonymous, model), &hello())
        .await
        .unwrap_err();
    assert_eq!(err.kind, switchyard_protocol::ErrorKind::Auth);
    assert_eq!(err.status, Some(403));
}

/// Raw requests to the mock, checking it answers as Google's API does.
mod wire {
    use super::*;

    async fn post(
        h: &Harness,
        path_and_query: &str,
        key: Option<&str>,
        body: serde_json::Value,
    ) -> (u16, reqwest::header::HeaderMap, String) {
        let mut req = h
            .http
            .post(format!("{}/v1beta/models/{path_and_query}", h.root))
            .json(&body);
        if let Some(key) = key {
            req = req.header("x-goog-api-key", key);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        (status, headers, resp.text().await.unwrap())
    }

    fn hi() -> serde_json::Value {
        json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]})
    }

    fn rpc(body: &str) -> serde_json::Value {
        serde_json::from_str::<serde_json::Value>(body).unwrap()["error"].clone()
    }

    #[tokio::test]
    async fn rate_limits_carry_retry_info_not_retry_after() {
        let h = Harness::start(fixture()).await;
        let (status, headers, body) = post(
            &h,
            "gemini-rate-limited:generateContent",
            Some(conformance::KEY),
            hi(),
        )
        .await;
        assert_eq!(status, 429);
        assert!(headers.get("retry-after").is_none());
        let error = rpc(&body);
        assert_eq!(error["status"], "RESOURCE_EXHAUSTED");
        assert_eq!(error["code"], 429);
        let details = error["details"].as_array().unwrap();
        assert!(
            details
                .iter()
                .any(|d| d["@type"] == "type.googleapis.com/google.rpc.RetryInfo"
                    && d["retryDelay"] == "3s")
        );
    }

    #[tokio::test]
    async fn keys_by_header_or_query_and_googles_refusals() {
        let h = Harness::start(fixture()).await;
        let (status, _, body) = post(&h, "gemini-x:generateContent", Some("nope"), hi()).await;
        assert_eq!(status, 400);
        assert_eq!(rpc(&body)["details"][0]["reason"], "API_KEY_INVALID");
        assert!(!body.contains("nope"), "the key is not echoed");
        let (status, _, body) = post(&h, "gemini-x:generateContent", None, hi()).await;
        assert_eq!(
            (status, rpc(&body)["status"].clone()),
            (403, json!("PERMISSION_DENIED"))
        );
        let path = format!("gemini-x:generateContent?key={}", conformance::KEY);
        let (status, _, _) = post(&h, &path, None, hi()).await;
        assert_eq!(status, 200);
        let (status, _, body) =
            post(&h, "gemini-x:countEverything", Some(conformance::KEY), hi()).await;
        assert_eq!(
            (status, rpc(&body)["status"].clone()),
            (404, json!("NOT_FOUND"))
        );
    }

    #[tokio::test]
    async fn strict_like_the_real_api() {
        let h = Harness::start(fixture()).await;
        let key = Some(conformance::KEY);
        let refused = [
            json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}], "temperature": 1}),
            json!({"contents": [{"role": "assistant", "parts": [{"text": "hi"}]}]}),
            json!({"contents": [{"role": "user", "parts": [{"text": ""}]}]}),
            json!({"contents": [{"role": "user", "parts": [{}]}]}),
            json!({"contents": []}),
            json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}],
                   "tools": [{"functionDeclarations": [{"name": "f", "parameters":
                      {"type": "OBJECT", "properties": {"a": {"type": "STRING"}}, "additionalProperties": false}}]}]}),
            json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}],
                   "toolConfig": {"functionCallingConfig": {"mode": "SOMETIMES"}}}),
            json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}],
                   "generationConfig": {"responseMimeType": "text/html"}}),
            json!({"contents": [
                {"role": "user", "parts": [{"text": "hi"}]},
                {"role": "model", "parts": [{"functionCall": {"name": "f", "args": {}}},
                                            {"functionCall": {"name": "f", "args": {}}}]},
                {"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {}}}]}]}),
        ];
        for body in refused {
            let (status, _, text) = post(&h, "gemini-x:generateContent", key, body.clone()).await;
            assert_eq!(status, 400, "{body} was accepted: {text}");
            assert_eq!(rpc(&text)["status"], "INVALID_ARGUMENT");
        }
    }

    #[tokio::test]
    async fn streams_as_sse_or_as_one_json_array() {
        let h = Harness::start(fixture()).await;
        let key = Some(conformance::KEY);
        let (status, headers, body) =
            post(&h, "gemini-x:streamGenerateContent?alt=sse", key, hi()).await;
        assert_eq!(status, 200);
        assert_eq!(headers["content-type"], "text/event-stream");
        assert!(body.starts_with("data: {") && body.ends_with("\r\n\r\n"));
        assert!(!body.contains("[DONE]"));
        let (status, _, body) = post(&h, "gemini-x:streamGenerateContent", key, hi()).await;
        assert_eq!(status, 200);
        let chunks: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
        assert!(chunks.len() > 1);
        assert_eq!(
            chunks.last().unwrap()["candidates"][0]["finishReason"],
            "STOP"
        );
        assert!(chunks.last().unwrap()["usageMetadata"]["candidatesTokenCount"].as_u64() > Some(0));
    }
}
