//! The compliance class's durability contract on the real binary: `kill -9` in the middle of
//! load, then every answer a client received complete (a 2xx body, or a stream that reached
//! `[DONE]`) has its decision and outcome in the store, and every chain still verifies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
