//! Model ids on their way to upstream URLs, end to end: an Azure OpenAI provider serves only the
//! deployments the config names unless its `passthrough` is on, proven by what the mock
//! upstream saw.
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
}
