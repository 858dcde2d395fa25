//! Every upstream call has a cost: for each provider family behind the mock, a stream whose
//! upstream sends no usage, a stream cut mid-way, a stream the client abandons and a whole
//! answer without usage each record an estimated usage and a cost (never null), which the
//! budget hold is settled with; and the estimate of an answer is compared with the usage the
//! same upstream measures for the same answer (the reconciliation, printed per family).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Gateway, KEY, Upstream, client, eventually, gateway, mock_upstream};
use futures::StreamExt;
use serde_json::{Value, json};
use switchyard_evidence::EventKind;

/// A family behind the mock: its provider block and the model it is asked for.
struct Family {
    name: &'static str,
    provider: &'static str,
    model: &'static str,
}

const FAMILIES: &[Family] = &[
    Family {
        name: "openai",
        provider: "family = \"openai\"\nbase_url = \"{root}/v1\"",
        model: "gpt-4o-mini",
    },
    Family {
        name: "anthropic",
        provider: "family = \"anthropic\"\nbase_url = \"{root}/v1\"",
        model: "claude-haiku-4-5",
    },
    Family {
        name: "gemini",
        provider: "family = \"gemini\"\nbase_url = \"{root}\"",
        model: "gemini-2.5-flash",
    },
    Family {
        name: "bedrock",
        provider: "family = \"bedrock\"\nbase_url = \"{root}\"\nregion = \"us-east-1\"\naws_access_key_id = \"test-key\"\naws_secret_access_key = \"test-secret-access-key\"",
        model: "amazon.nova-lite-v1:0",
    },
    Family {
        name: "workers-ai",
        provider: "family = \"workers-ai\"\nbase_url = \"{root}/client/v4\"\naccount_id = \"acct123\"",
        model: "@cf/meta/llama-3.1-8b-instruct",
    },
];

/// How the mock answers each variant of a family's model: with usage, without, cut after a few
/// frames, and slowly (for a client to abandon). The same seed gives the same answer.
const VARIANTS: &[(&str, &str)] = &[
    ("", "seed=7,words=60"),
    ("-nousage", "seed=7,words=60,no_usage=true"),
    ("-cut", "seed=7,words=60,cut_after=6"),
    ("-slow", "seed=7,words=400,tokens_per_sec=40"),
];

async fn upstream() -> Upstream {
    let mut scenarios = Vec::new();
    for f in FAMILIES {
        for (suffix, spec) in VARIANTS {
            scenarios.push((format!("{}{suffix}", f.model), *spec));
        }
    }
    let refs: Vec<(&str, &str)> = scenarios.iter().map(|(m, s)| (m.as_str(), *s)).collect();
    mock_upstream(&refs).await
}

/// One provider per family, every variant priced, and a tenant budget that every request
/// falls under (so each settles a hold).
async fn gateway_to(upstream: &Upstream) -> Gateway {
    let mut config =
        String::from("[[budgets]]\ntenant = \"local\"\nlimit_usd = 100\nwindow_secs = 3600\n\n");
    for (i, f) in FAMILIES.iter().enumerate() {
        let provider = f.provider.replace("{root}", &upstream.root);
        config.push_str(&format!(
            "[providers.p{i}]\n{provider}\napi_key = \"{KEY}\"\n\n"
        ));
        for (suffix, _) in VARIANTS {
            config.push_str(&format!(
                "[models.\"p{i}/{}{suffix}\"]\ninput_usd_per_mtok = 1.0\noutput_usd_per_mtok = 4.0\n\n",
                f.model
            ));
        }
    }
    gateway(&config).await
}

fn body(model: String, stream: bool) -> Value {
    json!({
        "model": model,
        "stream": stream,
        "messages": [
            {"role": "system", "content": "You count what you cannot see."},
            {"role": "user", "content": "Tell me about the switchyard at dawn, in plain words."}
        ]
    })
}

/// Sends a request and reads its answer whole (a stream to its end); the request id.
async fn send(gw: &Gateway, model: String, stream: bool) -> (String, reqwest::Response) {
    let resp = client()
        .post(format!("{}/v1/chat/completions", gw.root))
        .json(&body(model, stream))
        .send()
        .await
        .unwrap();
    let id = resp.headers()["x-switchyard-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    (id, resp)
}

/// The request's event of `kind` (of budget `action`), once it is recorded.
async fn event(gw: &Gateway, id: &str, kind: EventKind, action: Option<&str>) -> Value {
    eventually(
        &format!("the {} event of {id}", kind.as_str()),
        async || {
            gw.events()
                .await
                .iter()
                .filter(|e| e.kind == kind.as_str() && e.request_id.as_deref() == Some(id))
                .map(|e| serde_json::from_str::<Value>(&e.payload).unwrap())
                .find(|p| action.is_none_or(|a| p["action"] == a))
        },
    )
    .await
}

/// The request's outcome event and its budget settlement, once both are recorded.
async fn ended(gw: &Gateway, id: &str) -> (Value, Value) {
    let outcome = event(gw, id, EventKind::Outcome, None).await;
    (
        outcome,
        event(gw, id, EventKind::Budget, Some("settle")).await,
    )
}

/// An outcome whose usage the gateway counted: estimated, priced, and settled as known.
fn assert_estimated(what: &str, outcome: &Value, settle: &Value) {
    assert_eq!(outcome["usage_source"], "estimated", "{what}: {outcome}");
    assert!(
        outcome["tokenizer"]
            .as_str()
            .is_some_and(|t| t.starts_with("o200k_base")),
        "{what}: {outcome}"
    );
    assert!(
        outcome["usage"]["input_tokens"].as_u64() > Some(0),
        "{what}: {outcome}"
    );
    let cost = outcome["cost_usd"].as_f64().unwrap_or_default();
    assert!(cost > 0.0, "{what}: cost {outcome}");
    assert_eq!(settle["cost_known"], true, "{what}: {settle}");
    let charged = settle["cost_microusd"].as_f64().unwrap_or_default();
    assert!(
        (charged - cost * 1e6).abs() <= 1.0,
        "{what}: {charged} vs {cost}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_and_answers_without_usage_are_estimated_priced_and_charged() {
    let up = upstream().await;
    let gw = gateway_to(&up).await;
    for (i, f) in FAMILIES.iter().enumerate() {
        let model = |suffix: &str| format!("p{i}/{}{suffix}", f.model);

        let (id, resp) = send(&gw, model("-nousage"), true).await;
        assert_eq!(resp.status(), 200, "{}", f.name);
        let text = resp.text().await.unwrap();
        assert!(text.contains("[DONE]"), "{}: {text}", f.name);
        let (outcome, settle) = ended(&gw, &id).await;
        assert_estimated(
            &format!("{} stream without usage", f.name),
            &outcome,
            &settle,
        );
        assert!(
            outcome["usage"]["output_tokens"].as_u64() > Some(0),
            "{outcome}"
        );

        let (id, resp) = send(&gw, model("-cut"), true).await;
        let _ = resp.text().await;
        let (outcome, settle) = ended(&gw, &id).await;
        assert_estimated(&format!("{} cut stream", f.name), &outcome, &settle);

        let (id, resp) = send(&gw, model("-slow"), true).await;
        let mut chunks = resp.bytes_stream();
        for _ in 0..3 {
            chunks.next().await.unwrap().unwrap();
        }
        drop(chunks);
        let (outcome, settle) = ended(&gw, &id).await;
        assert_eq!(outcome["abandoned"], true, "{}: {outcome}", f.name);
        assert_estimated(&format!("{} abandoned stream", f.name), &outcome, &settle);

        let (id, resp) = send(&gw, model("-nousage"), false).await;
        assert_eq!(resp.status(), 200, "{}", f.name);
        let header = resp.headers()["x-switchyard-cost-usd"]
            .to_str()
            .unwrap()
            .to_owned();
        let (outcome, settle) = ended(&gw, &id).await;
        assert_estimated(
            &format!("{} answer without usage", f.name),
            &outcome,
            &settle,
        );
        let cost = outcome["cost_usd"].as_f64().unwrap();
        assert!(
            (header.parse::<f64>().unwrap() - cost).abs() < 1e-8,
            "{header} vs {cost}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_measured_usage_wins_and_the_estimate_is_reconciled_against_it() {
    let up = upstream().await;
    let gw = gateway_to(&up).await;
    for (i, f) in FAMILIES.iter().enumerate() {
        let model = |suffix: &str| format!("p{i}/{}{suffix}", f.model);
        let (id, resp) = send(&gw, model(""), true).await;
        let _ = resp.text().await;
        let (measured, _) = ended(&gw, &id).await;
        assert_eq!(
            measured["usage_source"], "measured",
            "{}: {measured}",
            f.name
        );
        assert!(measured.get("tokenizer").is_none(), "{measured}");

        let (id, resp) = send(&gw, model("-nousage"), true).await;
        let _ = resp.text().await;
        let (estimated, _) = ended(&gw, &id).await;
        let error = |side: &str| {
            let m = measured["usage"][side].as_f64().unwrap();
            let e = estimated["usage"][side].as_f64().unwrap();
            (e - m).abs() / m
        };
        let (input, output) = (error("input_tokens"), error("output_tokens"));
        eprintln!(
            "reconciliation {}: input {:.2}% ({} measured, {} estimated), output {:.2}% ({} measured, {} estimated)",
            f.name,
            input * 100.0,
            measured["usage"]["input_tokens"],
            estimated["usage"]["input_tokens"],
            output * 100.0,
            measured["usage"]["output_tokens"],
            estimated["usage"]["output_tokens"],
        );
        assert!(
            output <= 0.02,
            "{}: output off by {:.2}%",
            f.name,
            output * 100.0
        );
        assert!(
            input <= 0.05,
            "{}: input off by {:.2}%",
            f.name,
            input * 100.0
        );
    }
}

/// A gateway whose provider `up` prices nothing (a passthrough model), plus `extra`.
async fn unpriced_gateway(upstream: &Upstream, provider_extra: &str, extra: &str) -> Gateway {
    gateway(&format!(
        "[providers.up]\nfamily = \"openai\"\nbase_url = \"{}/v1\"\napi_key = \"{KEY}\"\n{provider_extra}\n\n{extra}",
        upstream.root
    ))
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_nothing_prices_is_recorded_unpriced_never_free() {
    let up = mock_upstream(&[]).await;
    let gw = unpriced_gateway(&up, "", "").await;
    let (id, resp) = send(&gw, "up/some-model-1".into(), false).await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().get("x-switchyard-cost-usd").is_none());
    let outcome = event(&gw, &id, EventKind::Outcome, None).await;
    assert_eq!(outcome["cost_usd"], Value::Null, "{outcome}");
    let why = outcome["unpriced"].as_str().unwrap_or_default();
    assert!(why.starts_with("up/some-model-1 has no price"), "{outcome}");
    let metrics = client()
        .get(format!("{}/metrics", gw.root))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("switchyard_unpriced_requests")
                && l.contains("gen_ai_response_model=\"up/some-model-1\"")),
        "{metrics}"
    );
    let config = gw.state.live().registry.config.clone();
    let table = switchyard_gateway::config::prices::table(&config);
    assert!(table.contains("other up/ models: unpriced"), "{table}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_budget_refuses_what_it_cannot_price_unless_the_provider_has_a_default() {
    let up = mock_upstream(&[]).await;
    let budget = "[[budgets]]\ntenant = \"local\"\nlimit_usd = 10\nwindow_secs = 3600\n";
    let gw = unpriced_gateway(&up, "", budget).await;
    let (_, resp) = send(&gw, "up/some-model-2".into(), false).await;
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("up/some-model-2 has no price, and this request falls under budget"),
        "{body}"
    );
    assert!(
        message.contains("[providers.up] default_input_usd_per_mtok"),
        "{body}"
    );
    assert_eq!(
        up.mock.hits("some-model-2"),
        0,
        "refused before any attempt"
    );

    let defaults = "default_input_usd_per_mtok = 2.0\ndefault_output_usd_per_mtok = 8.0";
    let gw = unpriced_gateway(&up, defaults, budget).await;
    let (id, resp) = send(&gw, "up/some-model-2".into(), false).await;
    assert_eq!(resp.status(), 200);
    // The hold is what routing estimates at the provider's default price, not zero.
    let held = event(&gw, &id, EventKind::Budget, Some("reserve")).await;
    assert!(held["amount_microusd"].as_u64() > Some(0), "{held}");
    let cost: f64 = resp.headers()["x-switchyard-cost-usd"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(cost > 0.0, "{cost}");
    let table = switchyard_gateway::config::prices::table(&gw.state.live().registry.config.clone());
    assert!(
        table.contains("other up/ models: 2.0000 in, 8.0000 out"),
        "{table}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gemini_embeddings_which_report_no_tokens_are_counted() {
    let up = mock_upstream(&[]).await;
    let gw = gateway(&format!(
        "[providers.g]\nfamily = \"gemini\"\nbase_url = \"{}\"\napi_key = \"{KEY}\"\n\n[models.\"g/text-embedding-004\"]\nkind = \"embedding\"\ninput_usd_per_mtok = 1.0\n",
        up.root
    ))
    .await;
    let resp = client()
        .post(format!("{}/v1/embeddings", gw.root))
        .json(&json!({"model": "g/text-embedding-004", "input": ["the switchyard at dawn", "plain words"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let id = resp.headers()["x-switchyard-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let header: f64 = resp.headers()["x-switchyard-cost-usd"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let outcome = event(&gw, &id, EventKind::Outcome, None).await;
    assert_eq!(outcome["usage_source"], "estimated", "{outcome}");
    let t = switchyard_tokens::Tokenizer::for_model("text-embedding-004");
    let counted = t.count("the switchyard at dawn") + t.count("plain words");
    assert_eq!(
        outcome["usage"]["input_tokens"].as_u64(),
        Some(counted),
        "{outcome}"
    );
    assert!((header - counted as f64 / 1e6).abs() < 1e-9, "{header}");
}

#[tokio::test]
async fn a_listed_model_without_a_price_takes_the_shipped_one() {
    let up = mock_upstream(&[]).await;
    let gw = gateway(&format!(
        "[providers.openai]\nfamily = \"openai\"\nbase_url = \"{}/v1\"\napi_key = \"{KEY}\"\n\n[models.\"openai/gpt-4o-mini\"]\ncontext_window = 1000\n",
        up.root
    ))
    .await;
    let table = switchyard_gateway::config::prices::table(&gw.state.live().registry.config.clone());
    let line = table
        .lines()
        .find(|l| l.starts_with("openai/gpt-4o-mini "))
        .unwrap_or_default();
    assert!(
        line.ends_with("<shipped prices>") && line.contains("0.1500"),
        "{table}"
    );
}
