//! Cloudflare Workers AI against the mock, through the native `/ai/run/{model}` API and through
//! the OpenAI-compatible endpoints, plus what the native wire format adds (JSON-mode objects,
//! schema refusals, streamed JSON mode, the envelope's errors).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod conformance;

use conformance::Fixture;
use switchyard_providers::{Credentials, Endpoint, Family, Quirks};

const ACCOUNT: &str = "0123456789abcdef0123456789abcdef";

fn endpoint(root: &str, key: &str) -> Endpoint {
    Endpoint {
        name: "workers".into(),
        family: Family::WorkersAi,
        base_url: format!("{root}/client/v4"),
        credentials: Credentials::ApiKey(key.into()),
        region: None,
        quirks: Quirks {
            account_id: Some(ACCOUNT.into()),
            ..Quirks::default()
        },
    }
}

fn fixture() -> Fixture {
    Fixture {
        family: Family::WorkersAi,
        endpoint,
        model: |name| format!("@cf/mock/{name}"),
        embeddings: true,
    }
}

conformance_suite!(fixture());

mod compatible {
    use super::*;

    fn endpoint(root: &str, key: &str) -> Endpoint {
        let mut endpoint = super::endpoint(root, key);
        endpoint.quirks.openai_compatible = true;
        endpoint
    }

    fn fixture() -> Fixture {
        Fixture {
            family: Family::WorkersAi,
            endpoint,
            model: |name| format!("@cf/mock/{name}"),
            embeddings: true,
        }
    }

    conformance_suite!(fixture());
}

mod native {
    use super::*;
    use conformance::{Harness, hello};
    use futures::StreamExt;
    use serde_json::{Value, json};
    use switchyard_protocol::{ErrorKind, FinishReason, ResponseFormat, StreamEvent};

    async fn raw_run(h: &Harness, model: &str, body: Value) -> (u16, Value) {
        let resp = h
            .http
            .post(format!(
                "{}/client/v4/accounts/{ACCOUNT}/ai/run/{model}",
                h.root
            ))
            .bearer_auth(conformance::KEY)
            .json(&body)
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap())
    }

    #[tokio::test]
    async fn json_schema_mode_answers_an_object_that_becomes_text() {
        let h = Harness::start(fixture()).await;
        let schema = json!({"type": "object", "properties": {"city": {"type": "string"}},
                            "required": ["city"]});
        let (status, body) = raw_run(
            &h,
            "@cf/mock/chat-model",
            json!({"messages": [{"role": "user", "content": "Where?"}],
                   "response_format": {"type": "json_schema", "json_schema": schema}}),
        )
        .await;
        assert_eq!(status, 200);
        assert!(body["result"]["response"]["city"].is_string(), "{body}");
        let mut req = hello();
        req.response_format = Some(ResponseFormat::JsonSchema {
            name: "place".into(),
            schema,
            strict: None,
        });
        let resp = h.chat("chat-model", &req).await.unwrap();
        let value: Value = serde_json::from_str(&resp.choices[0].message.joined_text()).unwrap();
        assert!(value["city"].is_string());
    }

    #[tokio::test]
    async fn streamed_json_mode_is_replayed_from_a_complete_answer() {
        let h = Harness::start(fixture()).await;
        let mut req = hello();
        req.stream = true;
        req.response_format = Some(ResponseFormat::JsonObject);
        let (resp, events, failure) = h.stream("chat-model", &req).await.unwrap();
        assert!(failure.is_none(), "{failure:?}");
        assert!(matches!(events.last(), Some(StreamEvent::Usage(_))));
        let value: Value = serde_json::from_str(&resp.choices[0].message.joined_text()).unwrap();
        assert!(value.is_object());
        assert_eq!(resp.choices[0].finish_reason, FinishReason::Stop);
    }

    #[tokio::test]
    async fn the_mock_refuses_what_the_schema_refuses() {
        let h = Harness::start(fixture()).await;
        let m = "@cf/mock/chat-model";
        let cases = [
            json!({"prompt": "hi", "messages": [{"role": "user", "content": "hi"}]}),
            json!({"max_tokens": 5}),
            json!({"messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]}),
            json!({"messages": [{"role": "user", "content": "hi"}], "temperature": 9}),
            json!({"messages": [{"role": "user", "content": "hi"}], "seed": 0}),
            json!({"messages": [{"role": "user", "content": "hi"}],
                   "tools": [{"name": "f", "description": "d",
                              "parameters": {"type": "object", "properties": {"a": {"type": "string"}}}}]}),
            json!({"messages": [{"role": "user", "content": "hi"}], "tool_choice": "any",
                   "tools": [{"name": "f", "description": "d",
                              "parameters": {"type": "object", "properties": {}}}]}),
            json!({"messages": [{"role": "user", "content": "hi"}], "stream": true,
                   "response_format": {"type": "json_object"}}),
        ];
        for case in cases {
            let (status, body) = raw_run(&h, m, case.clone()).await;
            assert_eq!(status, 400, "{case} -> {body}");
            assert_eq!(body["success"], json!(false));
            assert!(body["errors"][0]["code"].is_number(), "{body}");
        }
        assert_eq!(h.mock.hits(m), 0, "refused requests never reach the model");
        // Fields the schema does not name are ignored, as by the real API.
        let (status, body) = raw_run(
            &h,
            m,
            json!({"prompt": "hi", "unknown_field": 1, "max_tokens": 3}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["result"]["usage"]["completion_tokens"], json!(3));
    }

    #[tokio::test]
    async fn scripted_errors_come_in_the_cloudflare_envelope() {
        let h = Harness::start(fixture()).await;
        let (status, body) = raw_run(&h, "@cf/mock/rate-limited", json!({"prompt": "hi"})).await;
        assert_eq!(status, 429);
        assert_eq!(body["errors"][0]["code"], json!(3040));
        let err = h.chat("overloaded", &hello()).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::Overloaded);
        assert!(err.message.contains("scripted failure"), "{err}");
    }

    #[tokio::test]
    async fn native_streams_carry_padding_and_end_with_usage() {
        let h = Harness::start(fixture()).await;
        let resp = h
            .http
            .post(format!(
                "{}/client/v4/accounts/{ACCOUNT}/ai/run/@cf/mock/chat-model",
                h.root
            ))
            .bearer_auth(conformance::KEY)
            .json(&json!({"messages": [{"role": "user", "content": "hi"}], "stream": true}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let body: Vec<u8> = resp
            .bytes_stream()
            .map(|b| b.unwrap().to_vec())
            .concat()
            .await;
        let text = String::from_utf8(body).unwrap();
        let datas: Vec<&str> = text
            .split("\n\n")
            .filter_map(|f| f.strip_prefix("data: "))
            .collect();
        assert_eq!(datas.last(), Some(&"[DONE]"));
        let first: Value = serde_json::from_str(datas[0]).unwrap();
        assert!(
            first["response"].is_string() && first["p"].is_string(),
            "{first}"
        );
        let usage: Value = serde_json::from_str(datas[datas.len() - 2]).unwrap();
        assert!(usage["usage"]["completion_tokens"].as_u64().unwrap() > 0);
    }

    #[tokio::test]
    async fn native_embeddings_answer_shape_and_data() {
        let h = Harness::start(fixture()).await;
        let (status, body) = raw_run(
            &h,
            "@cf/baai/bge-base-en-v1.5",
            json!({"text": ["a", "b", "c"]}),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(body["result"]["shape"][0], json!(3));
        assert_eq!(
            body["result"]["data"][0].as_array().unwrap().len() as u64,
            body["result"]["shape"][1].as_u64().unwrap()
        );
        let (status, _) = raw_run(&h, "@cf/baai/bge-base-en-v1.5", json!({"text": []})).await;
        assert_eq!(status, 400);
    }
}
