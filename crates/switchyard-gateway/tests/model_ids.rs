//! Model ids on their way to upstream URLs, end to end: an Azure OpenAI provider serves only the
//! deployments the config names unless its `passthrough` is on, and an id its family's grammar
//! refuses is the client's 400 `invalid_model_id`, answered before any attempt, proven by what
//! the mock upstream saw and what the event log holds.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{Value, json};

fn azure(up: &Upstream, passthrough: &str) -> String {
    format!(
        "[providers.az]\nfamily = \"openai\"\nbase_url = \"{}\"\napi_key = \"{KEY}\"\nquirks = {{ azure_api_version = \"2024-10-21\" }}\n{passthrough}\n\n[models.\"az/gpt-4o\"]\nupstream_model = \"my-deployment\"\n\n[aliases]\nchat = [\"az/aliased-deployment\"]\n",
        up.root
    )
}

/// Posts a chat for `model` on `door` (`chat/completions` or `messages`): status, body and
/// request id.
async fn ask(gw: &Gateway, door: &str, model: &str) -> (u16, Value, String) {
    let mut body = chat_body(model);
    if door == "messages" {
        body["max_tokens"] = json!(16);
    }
    let resp = client()
        .post(format!("{}/v1/{door}", gw.root))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let id = resp
        .headers()
        .get("x-switchyard-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, resp.json().await.unwrap(), id)
}

#[tokio::test]
async fn an_azure_provider_serves_only_the_deployments_the_config_names() {
    let up = mock_upstream(&[]).await;
    let gw = gateway(&azure(&up, "")).await;

    let (status, body, _) = ask(&gw, "chat/completions", "az/gpt-4o").await;
    assert_eq!(status, 200, "{body}");
    let (status, body, _) = ask(&gw, "chat/completions", "chat").await;
    assert_eq!(status, 200, "an alias target resolves: {body}");

    for unconfigured in ["az/other-deployment", "az/my-deployment"] {
        let (status, body, _) = ask(&gw, "chat/completions", unconfigured).await;
        assert_eq!(status, 404, "{unconfigured}: {body}");
        assert_eq!(body["error"]["code"], "model_not_found", "{body}");
    }

    assert_eq!(up.mock.hits("my-deployment"), 1);
    assert_eq!(up.mock.hits("aliased-deployment"), 1);
    assert_eq!(up.mock.hits("other-deployment"), 0);
}

#[tokio::test]
async fn passthrough_on_lets_clients_name_any_deployment_the_grammar_accepts() {
    let up = mock_upstream(&[]).await;
    let gw = gateway(&azure(&up, "passthrough = true")).await;

    let (status, body, _) = ask(&gw, "chat/completions", "az/other-deployment").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(up.mock.hits("other-deployment"), 1);

    // A path in the id would have reached a deployment nobody named.
    let sneaky = "az/x/../../../openai/deployments/my-deployment";
    let (status, body, _) = ask(&gw, "chat/completions", sneaky).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "invalid_model_id", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("provider \"az\"") && message.contains("Azure OpenAI deployment name"),
        "{message}"
    );
    assert_eq!(up.mock.hits("my-deployment"), 0, "nothing was sent");
}

#[tokio::test]
async fn an_id_its_family_refuses_is_the_clients_400_before_any_attempt() {
    let up = mock_upstream(&[]).await;
    let gw = gateway(&format!(
        "[providers.g]\nfamily = \"gemini\"\nbase_url = \"{}\"\napi_key = \"{KEY}\"\n",
        up.root
    ))
    .await;
    let (status, body, _) = ask(&gw, "chat/completions", "g/gemini-2.5-flash").await;
    assert_eq!(status, 200, "{body}");

    let refused = "g/tunedModels/../models/gemini-2.5-flash";
    let (status, body, id) = ask(&gw, "chat/completions", refused).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "invalid_model_id", "{body}");
    assert_eq!(body["error"]["type"], "invalid_request_error", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("is not a Gemini model id"),
        "{body}"
    );
    let (status, body, _) = ask(&gw, "messages", refused).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["type"], "invalid_request_error", "{body}");
    assert_eq!(up.mock.hits("gemini-2.5-flash"), 1, "nothing more was sent");

    // Not an upstream failure: no attempt, and the outcome names the client's error.
    let events = gw.events().await;
    let steps: Vec<(&str, Value)> = events
        .iter()
        .filter(|e| e.request_id.as_deref() == Some(id.as_str()))
        .map(|e| (e.kind.as_str(), serde_json::from_str(&e.payload).unwrap()))
        .collect();
    let kinds: Vec<&str> = steps.iter().map(|(k, _)| *k).collect();
    assert_eq!(kinds, ["admission", "decision", "outcome"]);
    let outcome = &steps[2].1;
    assert_eq!(outcome["attempts"], 0, "{outcome}");
    assert_eq!(outcome["code"], "invalid_model_id", "{outcome}");
    assert_eq!(outcome["error_kind"], Value::Null, "{outcome}");
}
