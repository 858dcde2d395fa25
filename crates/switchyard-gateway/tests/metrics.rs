//! `GET /metrics` speaks Prometheus text with the GenAI names, and its request counts agree
//! with the outcome events in the store.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::json;

fn sample(text: &str, name: &str, must_contain: &[&str]) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name) && must_contain.iter().all(|m| l.contains(m)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test]
async fn metrics_use_genai_names_and_agree_with_the_events() {
    let gw =
        gateway("[providers.mock]\nfamily = \"mock\"\n[models.\"mock/fast\"]\ninput_usd_per_mtok = 1.0\noutput_usd_per_mtok = 2.0\n[aliases]\nmetered = [\"mock/fast\"]").await;
    let http = client();
    for stream in [false, false, true] {
        let mut req = chat_body("metered");
        req["stream"] = json!(stream);
        let resp = http
            .post(format!("{}/v1/chat/completions", gw.root))
            .json(&req)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        let _ = resp.bytes().await.unwrap();
    }
    let resp = http
        .post(format!("{}/v1/chat/completions", gw.root))
        .json(&json!({"model": "metered", "messages": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let events = gw.events().await;
    let outcomes: Vec<serde_json::Value> = events
        .iter()
        .filter(|e| e.kind == "outcome")
        .map(|e| serde_json::from_str(&e.payload).unwrap())
        .collect();
    let resp = http
        .get(format!("{}/metrics", gw.root))
        .send()
        .await
        .unwrap();
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = resp.text().await.unwrap();
    let route = "gen_ai_request_model=\"metered\"";
    let served = sample(
        &text,
        "switchyard_requests",
        &[route, "http_response_status_code=\"200\""],
    );
    // A request refused before its model was read is labelled with model "none".
    let refused = sample(
        &text,
        "switchyard_requests",
        &[
            "gen_ai_request_model=\"none\"",
            "http_response_status_code=\"400\"",
        ],
    );
    assert_eq!(
        served as usize,
        outcomes.iter().filter(|o| o["status"] == 200).count()
    );
    assert_eq!(
        refused as usize,
        outcomes.iter().filter(|o| o["status"] == 400).count()
    );
    assert_eq!(
        sample(
            &text,
            "gen_ai_client_operation_duration_count",
            &[route, "gen_ai_provider_name=\"mock\""]
        ),
        3.0
    );
    assert_eq!(
        sample(&text, "gen_ai_server_time_to_first_token_count", &[route]),
        1.0,
        "{}",
        text.lines()
            .filter(|l| l.contains("first_token"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let output_tokens: u64 = outcomes
        .iter()
        .filter_map(|o| o["usage"]["output_tokens"].as_u64())
        .sum();
    assert_eq!(
        sample(
            &text,
            "gen_ai_client_token_usage_sum",
            &[route, "gen_ai_token_type=\"output\""]
        ) as u64,
        output_tokens
    );
    let cost: f64 = outcomes.iter().filter_map(|o| o["cost_usd"].as_f64()).sum();
    let metered = sample(&text, "switchyard_cost_microusd", &[route]);
    assert!(cost > 0.0);
    // Cost is labelled by tenant, key (none without one) and class.
    assert!(
        text.lines()
            .any(|l| l.starts_with("switchyard_cost_microusd")
                && l.contains("switchyard_key=\"none\"")
                && l.contains("switchyard_tenant=\"local\"")
                && l.contains("switchyard_route_class=")),
        "{text}"
    );
    assert!(
        (metered - cost * 1e6).abs() <= 3.0,
        "{metered} vs {}",
        cost * 1e6
    );
    assert!(text.contains("switchyard_event_queue_depth"));
    assert!(text.contains("switchyard_events_written"));
}

#[tokio::test]
async fn metrics_and_report_agree_on_requests_successes_and_retries() {
    let up = mock_upstream(&[
        ("flaky", "status=503, error_rate=0.5"),
        ("dead", "status=500"),
    ])
    .await;
    let gw = gateway_to(
        &up,
        "[aliases]\nagree = [\"up/flaky\", \"up/fine\"]\nbroken = [\"up/dead\"]\n",
    )
    .await;
    let http = client();
    for model in ["agree"; 10].into_iter().chain(["broken"; 3]) {
        let resp = http
            .post(format!("{}/v1/chat/completions", gw.root))
            .header("x-switchyard-class", "latency-critical")
            .json(&chat_body(model))
            .send()
            .await
            .unwrap();
        let _ = resp.bytes().await.unwrap();
    }
    let _ = gw.events().await;
    let report = switchyard_evidence::report::build(
        gw.store.as_ref(),
        &switchyard_evidence::report::ReportQuery::default(),
    )
    .await
    .unwrap();
    let class = report
        .classes
        .iter()
        .find(|c| c.class == "latency-critical")
        .unwrap();
    let t = &class.totals;
    let text = http
        .get(format!("{}/metrics", gw.root))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let lc = "switchyard_route_class=\"latency-critical\"";
    let requests = sample(&text, "switchyard_requests", &[lc]);
    let completions = sample(&text, "switchyard_completions", &[lc]);
    let retries = sample(&text, "switchyard_retries_on_success", &[lc]);
    assert_eq!(requests as u64, t.requests);
    assert_eq!(completions as u64, t.successes);
    assert_eq!(t.requests, 13);
    assert_eq!(t.successes, 10);
    let per_success = t.retries_per_success.unwrap();
    assert!(
        (retries / completions - per_success).abs() < 1e-9,
        "{retries} {completions} {per_success}"
    );
    assert!(per_success > 0.0, "the flaky target never failed");
}
