//! Payload artifacts: prompts, tool results and completions are stored redacted, sealed when
//! encryption is on, refused (fail closed) when they must be sealed and cannot, and deleted by
//! retention with a recorded event that leaves the chain intact.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{Value, json};
use switchyard_evidence::artifact::{ArtifactKey, Keyring};
use switchyard_evidence::verify::verify_stream;

const KEY_HEX: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

fn request() -> Value {
    json!({"model": "fast", "messages": [
        {"role": "user", "content": "mail bob@example.com please"},
        {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "phone +44 20 7946 0958 found"}
    ]})
}

async fn artifacts_of(
    gw: &Gateway,
    id: &str,
) -> Vec<(Value, switchyard_evidence::artifact::Artifact)> {
    let events = gw.events().await;
    let mut out = Vec::new();
    for e in events
        .iter()
        .filter(|e| e.kind == "artifact" && e.request_id.as_deref() == Some(id))
    {
        let payload: Value = serde_json::from_str(&e.payload).unwrap();
        let art = gw
            .store
            .get_artifact(payload["artifact_id"].as_str().unwrap())
            .await
            .unwrap()
            .unwrap();
        out.push((payload, art));
    }
    out
}

async fn send(gw: &Gateway, body: &Value) -> (u16, String) {
    let resp = client()
        .post(format!("{}/v1/chat/completions", gw.root))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let id = resp.headers()["x-switchyard-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let _ = resp.bytes().await.unwrap();
    (status, id)
}

#[tokio::test]
async fn payloads_are_stored_redacted_as_separate_artifacts() {
    let gw = gateway("[payloads]\nenabled = true\n[providers.mock]\nfamily = \"mock\"\n[aliases]\nfast = [\"mock/fast\"]").await;
    for stream in [false, true] {
        let mut body = request();
        body["stream"] = json!(stream);
        let (status, id) = send(&gw, &body).await;
        assert_eq!(status, 200);
        let arts = eventually("the request's three artifacts", async || {
            let arts = artifacts_of(&gw, &id).await;
            (arts.len() >= 3).then_some(arts)
        })
        .await;
        let kinds: Vec<&str> = arts
            .iter()
            .map(|(p, _)| p["kind"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds,
            ["prompt", "tool_result", "completion"],
            "stream={stream}"
        );
        for (payload, art) in &arts {
            let text = String::from_utf8(art.body.clone()).unwrap();
            assert!(
                !text.contains("bob@example.com") && !text.contains("7946"),
                "{text}"
            );
            assert_eq!(
                payload["digest"],
                blake3::hash(&art.body).to_hex().to_string()
            );
            assert!(art.key_id.is_none());
        }
        let prompt = String::from_utf8(arts[0].1.body.clone()).unwrap();
        assert!(prompt.contains("[REDACTED:email]"), "{prompt}");
        assert!(
            !prompt.contains("found"),
            "tool results are their own artifact"
        );
        let days = (arts[2].1.expires_ms - arts[2].1.created_ms) / 86_400_000;
        assert_eq!(days, 30);
    }
}

#[tokio::test]
async fn encrypted_payloads_are_unreadable_without_the_key() {
    let env = |k: &str| (k == "SWITCHYARD_ARTIFACT_KEY").then(|| KEY_HEX.to_owned());
    let gw = gateway_env(
        "[payloads]\nenabled = true\nencrypt = true\nkey_id = \"k7\"\n[retention]\ntool_result_days = 2\n[providers.mock]\nfamily = \"mock\"\n[aliases]\nfast = [\"mock/fast\"]",
        &env,
    )
    .await;
    let (status, id) = send(&gw, &request()).await;
    assert_eq!(status, 200);
    let arts = artifacts_of(&gw, &id).await;
    assert_eq!(arts.len(), 3);
    let keyring = Keyring::new(ArtifactKey::from_hex("k7", KEY_HEX).unwrap(), vec![]);
    for (_, art) in &arts {
        assert_eq!(art.key_id.as_deref(), Some("k7"));
        assert!(
            serde_json::from_slice::<Value>(&art.body).is_err(),
            "sealed bodies are not JSON"
        );
        let plain = keyring.open("k7", &art.id, &art.body).unwrap();
        let text = String::from_utf8(plain).unwrap();
        assert!(!text.contains("bob@example.com"));
        serde_json::from_str::<Value>(&text).unwrap();
    }
    let tool = arts
        .iter()
        .find(|(p, _)| p["kind"] == "tool_result")
        .unwrap();
    assert_eq!((tool.1.expires_ms - tool.1.created_ms) / 86_400_000, 2);
    let wrong = Keyring::new(
        ArtifactKey::from_hex("k7", &"ab".repeat(32)).unwrap(),
        vec![],
    );
    assert!(wrong.open("k7", &arts[0].1.id, &arts[0].1.body).is_err());
}

#[tokio::test]
async fn a_missing_key_fails_closed_before_any_upstream_call() {
    let up = mock_upstream(&[]).await;
    let gw = gateway_to(
        &up,
        "[payloads]\nenabled = true\nencrypt = true\n[aliases]\nfast = [\"up/model\"]",
    )
    .await;
    let resp = client()
        .post(format!("{}/v1/chat/completions", gw.root))
        .json(&chat_body("fast"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 503);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "evidence_unavailable");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("SWITCHYARD_ARTIFACT_KEY"),
        "{body}"
    );
    assert_eq!(up.mock.hits("model"), 0);
}

#[tokio::test]
async fn retention_deletes_what_expired_and_records_it_without_breaking_the_chain() {
    let gw = gateway("[payloads]\nenabled = true\n[providers.mock]\nfamily = \"mock\"\n[aliases]\nfast = [\"mock/fast\"]").await;
    let (_, id) = send(&gw, &request()).await;
    let arts = artifacts_of(&gw, &id).await;
    assert_eq!(arts.len(), 3);
    let tool_expiry = arts[1].1.expires_ms;
    // At the tool result's expiry only it is due (7 days, before prompts and completions).
    let deleted =
        switchyard_gateway::artifacts::run_retention(gw.store.as_ref(), &gw.events, tool_expiry)
            .await
            .unwrap();
    assert_eq!(deleted, 1);
    assert!(
        gw.store
            .get_artifact(&arts[1].1.id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        gw.store
            .get_artifact(&arts[0].1.id)
            .await
            .unwrap()
            .is_some()
    );
    let events = gw.events().await;
    let retention = events
        .iter()
        .find(|e| e.kind == "retention")
        .expect("a retention event");
    assert!(retention.payload.contains(&arts[1].1.id));
    assert!(
        verify_stream(gw.store.as_ref(), &gw.node)
            .await
            .unwrap()
            .is_ok()
    );
}

#[tokio::test]
async fn payload_logging_follows_the_class_and_compliance_payloads_are_always_sealed() {
    // Payload logging is off in config; one class turns it on, the compliance class keeps
    // sealed artifacts (the key is in the environment), the default class keeps nothing.
    let config = r#"
[providers.mock]
family = "mock"
region = "eu"

[models."mock/fast"]

[payloads]
key_env = "SWITCHYARD_TEST_ARTIFACT_KEY"

[[profiles]]
name = "p"
version = 1

[profiles.classes.audited]
inherits = "latency-critical"
log_payloads = true

[profiles.classes.compliance-constrained]
log_payloads = true

[[profiles.allow]]
provider = "mock"
region = "eu"
classes = ["public", "pii"]

[profiles.aliases.fast.default]
nodes = [{ try = "mock/fast" }]
"#;
    let gw = gateway_env(config, &|k: &str| {
        (k == "SWITCHYARD_TEST_ARTIFACT_KEY").then(|| KEY_HEX.to_owned())
    })
    .await;
    let ask = |class: Option<&'static str>| {
        let root = gw.root.clone();
        async move {
            let mut req = client()
                .post(format!("{root}/v1/chat/completions"))
                .header("x-switchyard-region", "eu")
                .json(&request());
            if let Some(c) = class {
                req = req.header("x-switchyard-class", c);
            }
            let resp = req.send().await.unwrap();
            assert_eq!(resp.status().as_u16(), 200);
            resp.headers()["x-switchyard-request-id"]
                .to_str()
                .unwrap()
                .to_owned()
        }
    };
    let plain = ask(None).await;
    let audited = ask(Some("audited")).await;
    let regulated = ask(Some("compliance-constrained")).await;
    assert!(artifacts_of(&gw, &plain).await.is_empty());
    let kept = artifacts_of(&gw, &audited).await;
    assert!(!kept.is_empty());
    assert!(
        kept.iter()
            .all(|(p, a)| p["key_id"].is_null() && a.key_id.is_none())
    );
    let sealed = artifacts_of(&gw, &regulated).await;
    assert!(!sealed.is_empty());
    for (_, art) in &sealed {
        assert!(
            art.key_id.is_some(),
            "a compliance artifact was stored unsealed"
        );
        assert!(!String::from_utf8_lossy(&art.body).contains("[REDACTED"));
    }
}

#[tokio::test]
async fn the_prompt_is_kept_for_a_request_refused_after_its_payload_policy_was_decided() {
    // A budget too small for any request: refused by the budget hold, after payload policy.
    let gw = gateway("[payloads]\nenabled = true\n[providers.mock]\nfamily = \"mock\"\n[models.\"mock/fast\"]\ninput_usd_per_mtok = 1.0\noutput_usd_per_mtok = 1.0\n[aliases]\nfast = [\"mock/fast\"]\n[[budgets]]\ntenant = \"local\"\nlimit_usd = 0.0000001\nwindow_secs = 3600\n").await;
    let (status, id) = send(&gw, &request()).await;
    assert_eq!(status, 429);
    let arts = eventually("the refused request's prompt", async || {
        let arts = artifacts_of(&gw, &id).await;
        arts.iter()
            .any(|(p, _)| p["kind"] == "prompt")
            .then_some(arts)
    })
    .await;
    assert!(arts.iter().all(|(p, _)| p["kind"] != "completion"));
}
