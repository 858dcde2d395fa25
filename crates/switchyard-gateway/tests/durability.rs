//! The compliance class's durability contract on the real binary: `kill -9` in the middle of
//! load, then every answer a client received complete (a 2xx body, or a stream that reached
//! `[DONE]`) has its decision and outcome in the store, and every chain still verifies. And an
//! answer withheld because its commit failed ends in one outcome, whatever the store does.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use async_trait::async_trait;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use switchyard_evidence::store::EventStore;
use switchyard_evidence::testing::{AppendHook, Intercepted};
use switchyard_evidence::{Event, Store, StoreError};

const CONFIG: &str = r#"
node = "durable"

[providers.mock]
family = "mock"
region = "eu"

[models."mock/fast"]
input_usd_per_mtok = 0.1
output_usd_per_mtok = 0.4

[[profiles]]
name = "regulated"
version = 1
default_class = "compliance-constrained"

[[profiles.allow]]
provider = "mock"
region = "eu"
classes = ["public", "internal", "pii", "financial", "secret"]

[profiles.aliases.fast.default]
nodes = [{ try = "mock/fast" }]

[profiles.slo.compliance-constrained]
success_ratio = 0.5
"#;

async fn one(http: &reqwest::Client, root: &str, stream: bool) -> Option<String> {
    let resp = http
        .post(format!("{root}/v1/chat/completions"))
        .header("x-switchyard-region", "eu")
        .json(&serde_json::json!({
            "model": "fast",
            "stream": stream,
            "messages": [{"role": "user", "content": "Summarise the account of ann@example.com"}]
        }))
        .send()
        .await
        .ok()?;
    if !resp.status().is_success() {
        return None;
    }
    let id = resp.headers()["x-switchyard-request-id"]
        .to_str()
        .ok()?
        .to_owned();
    let body = resp.text().await.ok()?;
    let complete = if stream {
        body.contains("data: [DONE]")
    } else {
        serde_json::from_str::<serde_json::Value>(&body).is_ok()
    };
    complete.then_some(id)
}

#[tokio::test]
async fn after_kill_9_every_received_compliance_answer_has_its_evidence() {
    let dir = std::env::temp_dir().join(switchyard_gateway::ids::new_id("dur"));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("events.db");
    let config = dir.join("switchyard.toml");
    std::fs::write(
        &config,
        format!("store = \"sqlite://{}\"\n{CONFIG}", db.display()),
    )
    .unwrap();
    let (mut server, root) = common::serve_binary(&config, |_| {}).await;
    let http = common::client();

    let received = Arc::new(Mutex::new(Vec::new()));
    let stop = Instant::now() + Duration::from_secs(4);
    let clients: Vec<_> = (0..8)
        .map(|i| {
            let (http, root, received) = (http.clone(), root.clone(), received.clone());
            tokio::spawn(async move {
                let mut n = 0;
                while Instant::now() < stop {
                    if let Some(id) = one(&http, &root, (i + n) % 3 == 0).await {
                        received.lock().unwrap().push(id);
                    }
                    n += 1;
                }
            })
        })
        .collect();
    // Kill mid-load, once a fair number of answers are out.
    while received.lock().unwrap().len() < 150 && Instant::now() < stop {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let killed = Command::new("kill")
        .args(["-KILL", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let _ = server.wait();
    for c in clients {
        c.await.unwrap();
    }
    let received = received.lock().unwrap().clone();
    assert!(
        received.len() >= 50,
        "only {} answers before the kill",
        received.len()
    );

    let store = switchyard_evidence::open(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    for id in &received {
        let events = store.for_request(id).await.unwrap();
        let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
        assert!(
            kinds.contains(&"decision") && kinds.contains(&"outcome"),
            "request {id} was answered but its evidence is {kinds:?}"
        );
        assert!(!events.iter().any(|e| e.payload.contains("ann@example.com")));
    }
    drop(store);
    let verify = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(["events", "verify", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
    // Without --slo, the report judges the objectives the profile declares.
    let report = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(["report", "--json", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(report.status.success());
    let parsed: serde_json::Value = serde_json::from_slice(&report.stdout).unwrap();
    assert_eq!(
        parsed["slos"][0]["class"], "compliance-constrained",
        "{parsed}"
    );
    assert_eq!(
        parsed["slos"][0]["objectives"][0]["target"], 0.5,
        "{parsed}"
    );
}

/// Event appends fail while the flag is set; everything else goes through.
struct FailWhile(Arc<AtomicBool>);

#[async_trait]
impl AppendHook for FailWhile {
    async fn append(&self, store: &dyn EventStore, events: Vec<Event>) -> Result<(), StoreError> {
        if self.0.load(Ordering::SeqCst) {
            return Err(StoreError::Query("the disk is gone (test)".into()));
        }
        store.append(events).await
    }
}

/// One compliance chat; its status, error code and request id.
async fn compliance(root: &str) -> (u16, String, String) {
    let resp = common::client()
        .post(format!("{root}/v1/chat/completions"))
        .header("x-switchyard-region", "eu")
        .json(&common::chat_body("fast"))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let id = resp.headers()["x-switchyard-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: serde_json::Value = resp.json().await.unwrap();
    let code = body["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    (status, code, id)
}

#[tokio::test]
async fn an_answer_withheld_for_want_of_evidence_ends_in_one_outcome() {
    let failing = Arc::new(AtomicBool::new(false));
    let gw = common::gateway_over(CONFIG, &|_: &str| None, {
        let failing = failing.clone();
        move |inner| Arc::new(Intercepted::new(inner, FailWhile(failing))) as Arc<dyn Store>
    })
    .await;
    let (status, _, served) = compliance(&gw.root).await;
    assert_eq!(status, 200);
    // The store fails under the next answer's commit: the answer is withheld.
    failing.store(true, Ordering::SeqCst);
    let (status, code, withheld) = compliance(&gw.root).await;
    assert_eq!((status, code.as_str()), (503, "evidence_unavailable"));
    // While the log cannot be written, compliance requests are refused before any attempt.
    let (status, _, refused) = compliance(&gw.root).await;
    assert_eq!(status, 503);
    failing.store(false, Ordering::SeqCst);
    // The writer retries on its own; wait for it to catch up.
    common::eventually("the writer healthy again", async || {
        gw.events.healthy().then_some(())
    })
    .await;
    let events = gw.events().await;
    for (id, attempts) in [(&served, 1), (&withheld, 1), (&refused, 0)] {
        let of = |kind: &str| {
            events
                .iter()
                .filter(|e| e.request_id.as_deref() == Some(id.as_str()) && e.kind.as_str() == kind)
                .count()
        };
        assert_eq!(of("outcome"), 1, "{id}: {events:#?}");
        assert_eq!(of("attempt"), attempts, "{id}");
    }
}
