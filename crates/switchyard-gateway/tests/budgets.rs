//! Budgets end to end: 200 concurrent requests cannot spend past the limit by more than one
//! request's estimate; a cost-guarded route falls back to the target the budget still pays
//! for; reservations and settlements are chained events; a tag budget binds only its tag.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{Value, json};
use switchyard_evidence::verify::verify_stream;

/// Output at $10 per million tokens, input free: `max_tokens = 50` estimates $0.0005.
const PRICED: &str = r#"
[models."up/priced"]
input_usd_per_mtok = 0.0
output_usd_per_mtok = 10.0

[models."up/expensive"]
input_usd_per_mtok = 0.0
output_usd_per_mtok = 1000.0

[models."up/cheap"]
input_usd_per_mtok = 0.0
output_usd_per_mtok = 1.0

[[profiles]]
name = "thrifty"
version = 1

[profiles.aliases.thrifty.default]
nodes = [{ cost_guard = ["up/expensive", "up/cheap"] }]
"#;

const ESTIMATE_USD: f64 = 0.0005;

async fn ask(gw: &Gateway, model: &str, metadata: Option<&str>) -> (u16, Value, String) {
    let mut req = client()
        .post(format!("{}/v1/chat/completions", gw.root))
        .json(&json!({
            "model": model,
            "max_tokens": 50,
            "messages": [{"role": "user", "content": "Tell me a story about trains."}],
        }));
    if let Some(m) = metadata {
        req = req.header("x-switchyard-metadata", m);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let model = resp
        .headers()
        .get("x-switchyard-model")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let id = resp
        .headers()
        .get("x-switchyard-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body: Value = resp.json().await.unwrap();
    (status, json!({"body": body, "model": model}), id)
}

/// A gateway whose provider `up` points at `upstream` with a timeout that 200 requests at once
/// on a busy machine cannot hit.
async fn gateway_with(upstream: &Upstream, extra: &str) -> Gateway {
    gateway(&format!(
        "[providers.up]\nfamily = \"openai\"\nbase_url = \"{}/v1\"\napi_key = \"{KEY}\"\ntimeout_ms = 30000\n\n{extra}",
        upstream.root
    ))
    .await
}

fn budget(scope: &str, usd: f64) -> String {
    format!("[[budgets]]\n{scope}\nlimit_usd = {usd}\nwindow_secs = 3600\n\n")
}

fn payload(e: &switchyard_evidence::Event) -> Value {
    serde_json::from_str(&e.payload).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_requests_cannot_overspend() {
    let up = mock_upstream(&[]).await;
    let limit = 0.01;
    let gw = gateway_with(&up, &(budget("tenant = \"local\"", limit) + PRICED)).await;
    let gw = std::sync::Arc::new(gw);
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let gw = gw.clone();
        tasks.push(tokio::spawn(
            async move { ask(&gw, "up/priced", None).await },
        ));
    }
    let (mut served, mut refused) = (0, 0);
    for t in tasks {
        let (status, out, _) = t.await.unwrap();
        match status {
            200 => served += 1,
            429 => {
                let message = out["body"]["error"]["message"].as_str().unwrap();
                assert!(message.contains("budget tenant:local"), "{message}");
                assert_eq!(out["body"]["error"]["code"], "budget_exhausted");
                refused += 1;
            }
            other => panic!("unexpected status {other}: {out}"),
        }
    }
    assert_eq!(served + refused, 200);
    assert!(
        served > 0 && refused > 0,
        "served {served}, refused {refused}"
    );

    // A hold's settlement is queued as it is released, a moment after its answer.
    let events = eventually("every served request's settlement", async || {
        let events = gw.events().await;
        let settled = events
            .iter()
            .filter(|e| e.kind == "budget" && payload(e)["action"] == "settle")
            .count();
        (settled >= served).then_some(events)
    })
    .await;
    let spent: f64 = events
        .iter()
        .filter(|e| e.kind == "outcome")
        .filter_map(|e| payload(e)["cost_usd"].as_f64())
        .sum();
    eprintln!("served {served}, refused {refused}, spent ${spent:.6} of ${limit}");
    assert!(
        spent <= limit + ESTIMATE_USD + 1e-9,
        "spent ${spent} of a ${limit} budget"
    );
    let outcomes_served = events
        .iter()
        .filter(|e| e.kind == "outcome" && payload(e)["status"] == 200)
        .count();
    assert_eq!(outcomes_served, served);
    // Every served request was reserved and settled, and the settlements add up to the spend.
    let budget_events: Vec<Value> = events
        .iter()
        .filter(|e| e.kind == "budget")
        .map(payload)
        .collect();
    let count = |action: &str| {
        budget_events
            .iter()
            .filter(|p| p["action"] == action)
            .count()
    };
    assert_eq!(count("reserve"), served);
    assert_eq!(count("settle"), served);
    assert!(count("lease") >= 1);
    let settled: u64 = budget_events
        .iter()
        .filter(|p| p["action"] == "settle")
        .map(|p| p["cost_microusd"].as_u64().unwrap())
        .sum();
    assert!(settled <= 10_000, "settled {settled} micro-USD");
    assert!((settled as f64 / 1e6 - spent).abs() < 1e-5 * served as f64);
    verify_stream(gw.store.as_ref(), &gw.node)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn a_cost_guard_falls_back_to_what_the_budget_still_pays_for() {
    let up = mock_upstream(&[]).await;
    // $0.01 pays for the cheap target ($0.00005) but not the expensive one ($0.05).
    let gw = gateway_with(&up, &(budget("tenant = \"local\"", 0.01) + PRICED)).await;
    let (status, out, id) = ask(&gw, "thrifty", None).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["model"], "up/cheap");

    // Asked for directly, the expensive target is refused before any upstream call.
    let (status, out, _) = ask(&gw, "up/expensive", None).await;
    assert_eq!(status, 429, "{out}");
    let message = out["body"]["error"]["message"].as_str().unwrap();
    assert!(
        message
            .contains("over budget tenant:local: this request may cost up to $0.050000 and $0.009"),
        "{message}"
    );

    // The served request's reservation and settlement are in its chain, in order.
    let events = eventually("the settlement", async || {
        gw.events().await;
        let events = gw.store.for_request(&id).await.unwrap();
        let settled = events
            .iter()
            .any(|e| e.kind == "budget" && payload(e)["action"] == "settle");
        settled.then_some(events)
    })
    .await;
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    let decision = kinds.iter().position(|k| *k == "decision").unwrap();
    let budget: Vec<Value> = events
        .iter()
        .filter(|e| e.kind == "budget")
        .map(payload)
        .collect();
    assert_eq!(budget.len(), 2, "{kinds:?}");
    assert!(kinds.iter().position(|k| *k == "budget").unwrap() > decision);
    let (reserve, settle) = (&budget[0], &budget[1]);
    assert_eq!(reserve["action"], "reserve");
    assert_eq!(reserve["amount_microusd"], 50);
    assert_eq!(reserve["budgets"][0]["scope"], "tenant:local");
    assert_eq!(reserve["budgets"][0]["limit_microusd"], 10_000);
    assert_eq!(settle["action"], "settle");
    assert_eq!(settle["held_microusd"], 50);
    let cost = settle["cost_microusd"].as_u64().unwrap();
    assert!(cost > 0 && cost <= 50, "{settle}");
    assert_eq!(settle["budgets"][0]["remaining_microusd"], 10_000 - cost);
    let decided = payload(&events[decision]);
    let reasons = decided["decision"]["reasons"].to_string();
    assert!(
        reasons.contains("exceeds the $0.010000 left in budget tenant:local"),
        "{reasons}"
    );
    verify_stream(gw.store.as_ref(), &gw.node)
        .await
        .unwrap()
        .unwrap();

    // The gauge shows what is left.
    let metrics = client()
        .get(format!("{}/metrics", gw.root))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("switchyard_budget_remaining_usd{scope=\"tenant:local\"}"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_tag_budget_binds_only_requests_with_its_tag() {
    let up = mock_upstream(&[]).await;
    // $0.0006 pays for one request at the $0.0005 estimate, not two at once.
    let gw = gateway_with(&up, &(budget("tag = \"team=search\"", 0.0006) + PRICED)).await;
    let search = Some(r#"{"team": "search"}"#);
    let (status, out, _) = ask(&gw, "up/priced", search).await;
    assert_eq!(status, 200, "{out}");
    let mut refused = false;
    for _ in 0..20 {
        let (status, out, _) = ask(&gw, "up/priced", search).await;
        if status == 429 {
            let message = out["body"]["error"]["message"].as_str().unwrap();
            assert!(message.contains("budget tag:team=search"), "{message}");
            refused = true;
            break;
        }
    }
    assert!(refused, "the tag budget never ran out");
    let (status, out, _) = ask(&gw, "up/priced", Some(r#"{"team": "ads"}"#)).await;
    assert_eq!(status, 200, "another team is not bound: {out}");
    let (status, out, _) = ask(&gw, "up/priced", None).await;
    assert_eq!(status, 200, "untagged requests are not bound: {out}");
}
