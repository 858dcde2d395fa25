//! Every request leaves its admission, decision, attempts and outcome in the hash-chained log,
//! linked by the request id the client got, and nothing personal or secret lands in the store.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use futures::StreamExt;
use serde_json::{Value, json};
use switchyard_evidence::verify::verify_stream;

fn of_request<'a>(events: &'a [switchyard_evidence::Event], id: &str) -> Vec<(&'a str, Value)> {
    events
        .iter()
        .filter(|e| e.request_id.as_deref() == Some(id))
        .map(|e| (e.kind.as_str(), serde_json::from_str(&e.payload).unwrap()))
        .collect()
}

#[tokio::test]
async fn a_served_request_is_recorded_step_by_step() {
    let up = mock_upstream(&[("down", "status=503")]).await;
    let gw = gateway_to(&up, "[models.\"up/fine\"]\ninput_usd_per_mtok = 1.0\noutput_usd_per_mtok = 2.0\n[aliases]\nsafe = [\"up/down\", \"up/fine\"]").await;
    let resp = client()
        .post(format!("{}/v1/chat/completions", gw.root))
        .json(&chat_body("safe"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let id = resp.headers()["x-switchyard-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let decision = resp.headers()["x-switchyard-decision-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let cost: f64 = resp.headers()["x-switchyard-cost-usd"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let events = gw.events().await;
    let steps = of_request(&events, &id);
    let kinds: Vec<&str> = steps.iter().map(|(k, _)| *k).collect();
    assert_eq!(
        kinds,
        ["admission", "decision", "attempt", "attempt", "outcome"]
    );
    assert_eq!(steps[1].1["decision_id"], decision);
    let plan = &steps[1].1["decision"]["plan"]["steps"];
    assert_eq!(plan.as_array().unwrap().len(), 2, "{plan}");
    assert_eq!(steps[1].1["route_class"], "standard");
    assert_eq!(steps[1].1["profile"], "default@1");
    let reasons = steps[1].1["decision"]["reasons"].as_array().unwrap();
    assert!(reasons.iter().all(|r| r["included"] == true), "{reasons:?}");
    assert_eq!(steps[2].1["error_kind"], "Overloaded");
    assert_eq!(steps[3].1["ok"], true);
    let outcome = &steps[4].1;
    assert_eq!(outcome["status"], 200);
    assert_eq!(outcome["model"], "up/fine");
    assert_eq!(outcome["attempts"], 2);
    assert!((outcome["cost_usd"].as_f64().unwrap() - cost).abs() < 1e-8);
    assert!(outcome["usage"]["output_tokens"].as_u64().unwrap() > 0);
    assert!(
        verify_stream(gw.store.as_ref(), &gw.node)
            .await
            .unwrap()
            .is_ok()
    );
}

#[tokio::test]
async fn a_stream_outcome_has_ttft_and_usage() {
    let gw =
        gateway("[providers.mock]\nfamily = \"mock\"\n[aliases]\nfast = [\"mock/fast\"]").await;
    let mut req = chat_body("fast");
    req["stream"] = json!(true);
    let resp = client()
        .post(format!("{}/v1/chat/completions", gw.root))
        .json(&req)
        .send()
        .await
        .unwrap();
    let id = resp.headers()["x-switchyard-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let text = resp.text().await.unwrap();
    assert!(text.ends_with("data: [DONE]\n\n"));
    let events = gw.events().await;
    let steps = of_request(&events, &id);
    let outcome = &steps.last().unwrap().1;
    assert_eq!(steps.last().unwrap().0, "outcome");
    assert_eq!(outcome["abandoned"], false);
    assert!(outcome["ttft_ms"].as_f64().is_some());
    assert!(outcome["usage"]["output_tokens"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn a_client_that_goes_away_is_recorded_as_abandoned() {
    let up = mock_upstream(&[("slow", "chunks=50,tokens_per_sec=20")]).await;
    let gw = gateway_to(&up, "[aliases]\nfast = [\"mock/fast\"]").await;
    let mut req = chat_body("up/slow");
    req["stream"] = json!(true);
    let resp = client()
        .post(format!("{}/v1/chat/completions", gw.root))
        .json(&req)
        .send()
        .await
        .unwrap();
    let id = resp.headers()["x-switchyard-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let mut body = resp.bytes_stream();
    let _first = body.next().await;
    drop(body);
    let outcome = eventually("an outcome for the abandoned stream", async || {
        let events = gw.events().await;
        of_request(&events, &id)
            .into_iter()
            .find_map(|(k, o)| (k == "outcome").then_some(o))
    })
    .await;
    assert_eq!(outcome["abandoned"], true);
}

#[tokio::test]
async fn failures_record_codes_not_messages() {
    let gw =
        gateway("[providers.mock]\nfamily = \"mock\"\n[aliases]\nfast = [\"mock/fast\"]").await;
    let resp = client()
        .post(format!("{}/v1/chat/completions", gw.root))
        .json(&json!({"model": "fast", "messages": [{"role": "wizard-jane.doe@example.com", "content": "x"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let id = resp.headers()["x-switchyard-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let events = gw.events().await;
    let steps = of_request(&events, &id);
    assert_eq!(steps.len(), 1);
    assert_eq!(steps[0].1["param"], "messages[0].role");
    assert!(!events.iter().any(|e| e.payload.contains("jane.doe")));
}

#[tokio::test]
async fn no_prompt_text_or_secret_reaches_the_store() {
    let gw =
        gateway("[providers.mock]\nfamily = \"mock\"\n[aliases]\nfast = [\"mock/fast\"]").await;
    let secret = "sk-proj-ABCDEFGHIJKLMNOPQRSTUVWX0123456789";
    let pii = "jane.roe@example.org";
    let card = "4111 1111 1111 1111";
    let req = json!({"model": "fast", "user": pii, "messages": [{"role": "user", "content": format!("mail {pii} card {card} key {secret}")}]});
    for stream in [false, true] {
        let mut r = req.clone();
        r["stream"] = json!(stream);
        let resp = client()
            .post(format!("{}/v1/chat/completions", gw.root))
            .bearer_auth(secret)
            .json(&r)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        let _ = resp.bytes().await.unwrap();
    }
    let events = gw.events().await;
    assert!(events.len() >= 8);
    for e in &events {
        let row = serde_json::to_string(e).unwrap();
        for needle in [secret, pii, card, "mail "] {
            assert!(!row.contains(needle), "{needle} found in {row}");
        }
    }
}

#[tokio::test]
async fn classification_happens_before_routing_and_only_raises_classes() {
    let gw =
        gateway("[providers.mock]\nfamily = \"mock\"\n[aliases]\nfast = [\"mock/fast\"]").await;
    let body = json!({"model": "fast", "messages": [{"role": "user", "content": "write to ann@example.com, card 4111-1111-1111-1111"}]});
    let resp = client()
        .post(format!("{}/v1/chat/completions", gw.root))
        .header("x-switchyard-data-class", "secret")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let id = resp.headers()["x-switchyard-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let events = gw.events().await;
    let steps = of_request(&events, &id);
    let admission = &steps[0].1;
    let classes: Vec<&str> = admission["data_classes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        classes.contains(&"pii") && classes.contains(&"financial") && classes.contains(&"secret"),
        "{classes:?}"
    );
    assert_eq!(admission["declared_classes"], json!(["secret"]));
    let detectors: Vec<&str> = admission["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["detector"].as_str())
        .collect();
    assert!(
        detectors.contains(&"email") && detectors.contains(&"payment_card"),
        "{detectors:?}"
    );
    let decision = &steps[1].1;
    let raised = &decision["raised_by_classification"];
    assert!(
        raised["detectors"].to_string().contains("email")
            && raised["classes"].to_string().contains("pii"),
        "{decision}"
    );
    assert!(
        !events
            .iter()
            .any(|e| e.payload.contains("ann@example.com") || e.payload.contains("4111"))
    );

    let resp = client()
        .post(format!("{}/v1/chat/completions", gw.root))
        .header("x-switchyard-data-class", "pii,topsecret")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["error"]["param"], "x-switchyard-data-class");
    assert!(
        err["error"]["message"].as_str().unwrap().contains("known:"),
        "{err}"
    );
}

#[tokio::test]
async fn attribution_metadata_is_recorded_redacted_and_malformed_metadata_is_a_400() {
    let gw =
        gateway("[providers.mock]\nfamily = \"mock\"\n[aliases]\nfast = [\"mock/fast\"]").await;
    let resp = client()
        .post(format!("{}/v1/chat/completions", gw.root))
        .header(
            "x-switchyard-metadata",
            r#"{"team": "search", "user": "carol@example.com", "run": 7}"#,
        )
        .json(&chat_body("fast"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let id = resp.headers()["x-switchyard-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let events = gw.events().await;
    let admission = &of_request(&events, &id)[0].1;
    assert_eq!(admission["attribution"]["team"], "search");
    assert_eq!(admission["attribution"]["run"], "7");
    assert_eq!(admission["attribution"]["user"], "[REDACTED:email]");
    assert!(!events.iter().any(|e| e.payload.contains("carol@")));
    for bad in [
        r#"["not", "an object"]"#,
        "{broken",
        r#"{"nested": {"a": 1}}"#,
    ] {
        let resp = client()
            .post(format!("{}/v1/chat/completions", gw.root))
            .header("x-switchyard-metadata", bad)
            .json(&chat_body("fast"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 400, "{bad}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["param"], "x-switchyard-metadata", "{bad}");
    }
}
