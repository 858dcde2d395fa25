//! Route classes end to end, proven by what the mock upstream saw: compliance traffic never
//! leaves its region or allowlist (fallback included), latency-critical traffic falls back
//! within its budget when the primary hangs, hedged reasoning-heavy traffic takes the faster
//! candidate and cancels the other, and the heavy-context pool cannot slow interactive traffic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn providers(up: &Upstream) -> String {
    let p = |name: &str, region: &str| {
        format!(
            "[providers.{name}]\nfamily = \"openai\"\nbase_url = \"{}/v1\"\napi_key = \"{KEY}\"\nregion = \"{region}\"\n\n",
            up.root
        )
    };
    let mut s = p("eu", "eu") + &p("us", "us") + &p("up", "lab");
    for m in [
        "eu/eu-main",
        "eu/eu-down",
        "us/us-main",
        "up/hang",
        "up/quick",
        "up/slow",
        "up/heavy",
    ] {
        s.push_str(&format!(
            "[models.\"{m}\"]\ninput_usd_per_mtok = 1.0\noutput_usd_per_mtok = 2.0\n"
        ));
    }
    s
}

const PROFILE: &str = r#"
[[profiles]]
name = "prod"
version = 1

[[profiles.allow]]
provider = "eu"
region = "eu"
classes = ["public", "pii"]

[[profiles.allow]]
provider = "us"
region = "us"
classes = ["public"]

[profiles.classes.latency-critical]
total_timeout_ms = 2500
attempt_timeout_ms = 800

[profiles.classes.heavy]
inherits = "reasoning-heavy"
hedge = { mode = "off" }

[profiles.classes.scrubbed]
inherits = "latency-critical"
redact_upstream = ["pii"]

[profiles.aliases.smart.default]
nodes = [{ try = "us/us-main" }]

[profiles.aliases.smart.compliance-constrained]
nodes = [{ try = "eu/eu-down" }, { try = "us/us-main" }, { try = "eu/eu-main" }]

[profiles.aliases.strict.default]
nodes = [{ try = "us/us-main" }]

[profiles.aliases.strict.compliance-constrained]
nodes = [{ try = "eu/eu-down" }, { try = "us/us-main" }]

[profiles.aliases.fast.latency-critical]
nodes = [{ try = "up/hang" }, { try = "up/quick" }]

[profiles.aliases.fast.default]
nodes = [{ try = "up/quick" }]

[profiles.aliases.deep.reasoning-heavy]
nodes = [{ race = ["up/slow", "up/quick"], hedge_ms = 100 }]

[profiles.aliases.deep.default]
nodes = [{ try = "up/quick" }]

[profiles.aliases.ping.latency-critical]
nodes = [{ try = "up/quick" }]

[profiles.aliases.bulk.default]
nodes = [{ try = "up/heavy" }]
"#;

async fn setup(extra: &str) -> (Upstream, Gateway) {
    let up = mock_upstream(&[
        ("eu-down", "status=503"),
        ("hang", "latency_ms=30000"),
        ("slow", "latency_ms=1500"),
        ("heavy", "latency_ms=1500"),
    ])
    .await;
    let gw = gateway(&format!("{}{extra}{PROFILE}", providers(&up))).await;
    (up, gw)
}

async fn ask(
    gw: &Gateway,
    model: &str,
    headers: &[(&str, &str)],
    text: &str,
) -> (u16, Value, reqwest::header::HeaderMap) {
    let mut req = client()
        .post(format!("{}/v1/chat/completions", gw.root))
        .json(&json!({"model": model, "messages": [{"role": "user", "content": text}]}));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let head = resp.headers().clone();
    (status, resp.json().await.unwrap(), head)
}

fn header<'h>(h: &'h reqwest::header::HeaderMap, name: &str) -> &'h str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

const PII: &str = "Please draft a reply to ann.lee@example.com about her account.";
const COMPLIANCE: (&str, &str) = ("x-switchyard-class", "compliance-constrained");

#[tokio::test]
async fn compliance_traffic_never_leaves_its_region_or_allowlist() {
    let (up, gw) = setup("").await;

    // Pinned to eu: the eu primary fails, the fallback skips the us target and takes eu-main.
    let (status, body, h) = ask(
        &gw,
        "smart",
        &[COMPLIANCE, ("x-switchyard-region", "eu")],
        PII,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(header(&h, "x-switchyard-model"), "eu/eu-main");
    assert_eq!(header(&h, "x-switchyard-attempts"), "2");
    assert_eq!(
        header(&h, "x-switchyard-route-class"),
        "compliance-constrained"
    );
    assert_eq!(header(&h, "x-switchyard-profile"), "prod@1");

    // Every eu target down: fail closed rather than fall back out of the region.
    let (status, body, _) = ask(
        &gw,
        "strict",
        &[COMPLIANCE, ("x-switchyard-region", "eu")],
        PII,
    )
    .await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("eu"),
        "{body}"
    );

    // No region: the class demands one.
    let (status, body, _) = ask(&gw, "smart", &[COMPLIANCE], PII).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "region_required");

    // In us the only provider may not see personal data.
    let (status, body, _) = ask(
        &gw,
        "smart",
        &[COMPLIANCE, ("x-switchyard-region", "us")],
        PII,
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "not_allowlisted");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("pii"),
        "{body}"
    );

    // A declared class is raised by classification, never lowered: "public" does not help.
    let (status, _, _) = ask(
        &gw,
        "smart",
        &[
            COMPLIANCE,
            ("x-switchyard-region", "us"),
            ("x-switchyard-data-class", "public"),
        ],
        PII,
    )
    .await;
    assert_eq!(status, 403);

    assert_eq!(
        up.mock.hits("us-main"),
        0,
        "a compliance request reached the us provider"
    );
    // smart: once, then eu-main; strict: once and its one retry (the plan's last step again).
    assert_eq!(up.mock.hits("eu-down"), 3);
    assert_eq!(up.mock.hits("eu-main"), 1);

    // The same alias without the class routes by its default tree, to us.
    let (status, _, h) = ask(&gw, "smart", &[], "What is the capital of France?").await;
    assert_eq!(status, 200);
    assert_eq!(header(&h, "x-switchyard-model"), "us/us-main");
    assert_eq!(header(&h, "x-switchyard-route-class"), "standard");
}

#[tokio::test]
async fn refusals_and_bad_class_headers_are_precise() {
    let (_up, gw) = setup("").await;
    let (status, body, _) = ask(&gw, "smart", &[("x-switchyard-class", "warp-speed")], "hi").await;
    assert_eq!(status, 400, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("latency-critical") && message.contains("heavy"),
        "{message}"
    );
    assert_eq!(body["error"]["param"], "x-switchyard-class");

    let resp = client()
        .post(format!("{}/v1/chat/completions", gw.root))
        .json(&json!({"model": "smart", "metadata": {"route_class": "nope"}, "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["param"], "metadata.route_class");

    // metadata.route_class declares the class too.
    let resp = client()
        .post(format!("{}/v1/chat/completions", gw.root))
        .json(&json!({"model": "fast", "metadata": {"route_class": "heavy"}, "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(header(resp.headers(), "x-switchyard-route-class"), "heavy");

    // The refusal is recorded as a decision with its reasons.
    let _ = ask(
        &gw,
        "smart",
        &[COMPLIANCE, ("x-switchyard-region", "us")],
        PII,
    )
    .await;
    let events = gw.events().await;
    let refused = events
        .iter()
        .filter(|e| e.kind.as_str() == "decision")
        .map(|e| serde_json::from_str::<Value>(&e.payload).unwrap())
        .find(|p| p["outcome"] == "refused")
        .expect("a refused decision event");
    assert_eq!(refused["decision"]["kind"], "not_allowlisted");
    let reasons = refused["decision"]["reasons"].to_string();
    assert!(
        reasons.contains("us/us-main") && reasons.contains("outside region"),
        "{reasons}"
    );
    assert!(
        !events
            .iter()
            .any(|e| e.payload.contains("ann.lee@example.com"))
    );
}

#[tokio::test]
async fn latency_critical_falls_back_within_its_budget_when_the_primary_hangs() {
    let (up, gw) = setup("").await;
    let started = Instant::now();
    let (status, body, h) = ask(
        &gw,
        "fast",
        &[("x-switchyard-class", "latency-critical")],
        "hi",
    )
    .await;
    let took = started.elapsed();
    eprintln!("latency-critical with a hung primary: served by the fallback in {took:?}");
    assert_eq!(status, 200, "{body}");
    assert_eq!(header(&h, "x-switchyard-model"), "up/quick");
    assert_eq!(header(&h, "x-switchyard-attempts"), "2");
    // The real clock is what is tested: the 800 ms attempt timeout fires against an upstream
    // that really hangs. About 0.8 s is expected; the bound is the class's total budget (2.5 s),
    // 1.7 s of slack for a loaded machine, and far from the hung upstream's 30 s.
    assert!(took < Duration::from_millis(2500), "took {took:?}");
    assert_eq!(up.mock.hits("hang"), 1);
    // The hung call was given up, not left running.
    eventually("the hung call dropped", async || {
        (up.mock.abandoned("hang") == 1).then_some(())
    })
    .await;
    assert_eq!(up.mock.waited("hang"), 0);
}

#[tokio::test]
async fn a_hedged_request_returns_the_faster_candidate_and_cancels_the_other() {
    let (up, gw) = setup("").await;
    let started = Instant::now();
    let (status, body, h) = ask(
        &gw,
        "deep",
        &[("x-switchyard-class", "reasoning-heavy")],
        "think",
    )
    .await;
    eprintln!(
        "hedged request (slow candidate 1.5 s, hedge after 100 ms): {:?}",
        started.elapsed()
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(header(&h, "x-switchyard-model"), "up/quick");
    assert_eq!(header(&h, "x-switchyard-attempts"), "2");
    let request_id = header(&h, "x-switchyard-request-id").to_owned();
    // Both candidates reached the upstream, and the slow one's caller went away before its
    // answer: its call was cancelled.
    eventually("the slow candidate's call cancelled", async || {
        (up.mock.abandoned("slow") == 1).then_some(())
    })
    .await;
    assert_eq!(up.mock.hits("slow"), 1);
    assert_eq!(up.mock.waited("slow"), 0);
    assert_eq!(up.mock.hits("quick"), 1);

    let events = gw.events().await;
    let attempts: Vec<Value> = events
        .iter()
        .filter(|e| e.request_id.as_deref() == Some(&request_id) && e.kind.as_str() == "attempt")
        .map(|e| serde_json::from_str(&e.payload).unwrap())
        .collect();
    let loser = attempts.iter().find(|a| a["model"] == "up/slow").unwrap();
    assert_eq!(loser["cancelled"], true);
    assert!(loser["estimated_cost_usd"].as_f64().unwrap() > 0.0);
    let winner = attempts.iter().find(|a| a["model"] == "up/quick").unwrap();
    assert_eq!(winner["ok"], true);
}

#[tokio::test]
async fn the_heavy_pool_saturating_does_not_slow_latency_critical_traffic() {
    let (up, gw) = setup("[limits]\nheavy_concurrency = 2\nheavy_queue = 2\n").await;
    // Six slow heavy requests: two run, two wait, two are refused at once.
    let heavy: Vec<_> = (0..6)
        .map(|_| {
            let root = gw.root.clone();
            tokio::spawn(async move {
                let resp = client()
                    .post(format!("{root}/v1/chat/completions"))
                    .header("x-switchyard-class", "heavy")
                    .json(&json!({"model": "bulk", "messages": [{"role": "user", "content": "summarise"}]}))
                    .send()
                    .await
                    .unwrap();
                (resp.status().as_u16(), resp.headers().get("retry-after").is_some())
            })
        })
        .collect();
    eventually("two heavy requests upstream", async || {
        (up.mock.hits("heavy") >= 2).then_some(())
    })
    .await;
    // While the pool is full, interactive requests are served at once. The real clock is what
    // is tested (latency under load): a few ms are expected, and a request queued behind the
    // heavy pool would wait for a 1.5 s heavy answer; 1 s leaves room for a loaded machine.
    let mut slowest = Duration::ZERO;
    for _ in 0..5 {
        let started = Instant::now();
        let (status, _, h) = ask(
            &gw,
            "ping",
            &[("x-switchyard-class", "latency-critical")],
            "ping",
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(header(&h, "x-switchyard-model"), "up/quick");
        assert_eq!(header(&h, "x-switchyard-route-class"), "latency-critical");
        slowest = slowest.max(started.elapsed());
    }
    eprintln!("interactive requests while the heavy pool is saturated: slowest {slowest:?}");
    assert!(slowest < Duration::from_millis(1000), "{slowest:?}");
    let mut ok = 0;
    let mut refused = 0;
    for h in heavy {
        match h.await.unwrap() {
            (200, _) => ok += 1,
            (503, true) => refused += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((ok, refused), (4, 2));
}

#[tokio::test]
async fn a_class_can_redact_data_classes_before_they_go_upstream() {
    let (up, gw) = setup("").await;
    let (status, body, _) = ask(&gw, "fast", &[("x-switchyard-class", "scrubbed")], PII).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        !up.mock.saw("ann.lee@example.com"),
        "the e-mail address reached the upstream"
    );
    assert!(up.mock.saw("Please draft a reply to"));
    // Without the class the request goes as written.
    let (status, _, _) = ask(&gw, "fast", &[], PII).await;
    assert_eq!(status, 200);
    assert!(up.mock.saw("ann.lee@example.com"));
}

#[tokio::test]
async fn a_class_redacts_embeddings_inputs_too() {
    let (up, gw) = setup("[models.\"up/embed\"]\nkind = \"embedding\"\n").await;
    let input = "mail jane.doe@example.com now";
    let resp = client()
        .post(format!("{}/v1/embeddings", gw.root))
        .header("x-switchyard-class", "scrubbed")
        .json(&json!({"model": "up/embed", "input": [input]}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status().as_u16(),
        200,
        "{}",
        resp.text().await.unwrap()
    );
    assert!(
        !up.mock.saw("jane.doe@example.com"),
        "the e-mail address reached the upstream"
    );
    assert!(up.mock.saw("mail [REDACTED:email] now"));
}

#[tokio::test]
async fn an_open_circuit_takes_a_failing_target_out_of_the_plan() {
    let (up, gw) =
        setup("[breaker]\nfailure_threshold = 2\ncool_down_ms = 60000\nsuccess_threshold = 1\n")
            .await;
    // smart/compliance tries eu-down (503) then eu-main; two failures open eu-down's circuit.
    let headers = [COMPLIANCE, ("x-switchyard-region", "eu")];
    for _ in 0..2 {
        let (status, _, h) = ask(&gw, "smart", &headers, "hello").await;
        assert_eq!(status, 200);
        assert_eq!(header(&h, "x-switchyard-attempts"), "2");
    }
    assert_eq!(up.mock.hits("eu-down"), 2);
    // Now the decision leaves it out: one attempt, straight to eu-main, and the reason says why.
    let (status, _, h) = ask(&gw, "smart", &headers, "hello").await;
    assert_eq!(status, 200);
    assert_eq!(header(&h, "x-switchyard-attempts"), "1");
    assert_eq!(header(&h, "x-switchyard-model"), "eu/eu-main");
    assert_eq!(up.mock.hits("eu-down"), 2);
    let request_id = header(&h, "x-switchyard-request-id").to_owned();
    let events = gw.events().await;
    let decision = events
        .iter()
        .find(|e| e.request_id.as_deref() == Some(&request_id) && e.kind.as_str() == "decision")
        .unwrap();
    assert!(
        decision.payload.contains("circuit open"),
        "{}",
        decision.payload
    );
}
