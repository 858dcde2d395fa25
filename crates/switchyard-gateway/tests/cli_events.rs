//! The real binary end to end: serve, answer, stop gracefully with every event flushed, then
//! `switchyard events verify` passes on the file and fails once a row is edited.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Command;

#[tokio::test]
async fn serve_then_verify_then_detect_tampering() {
    let dir = std::env::temp_dir().join(switchyard_gateway::ids::new_id("cli"));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("events.db");
    let config = dir.join("switchyard.toml");
    std::fs::write(
        &config,
        format!("store = \"sqlite://{}\"\nnode = \"cli-node\"\n[providers.mock]\nfamily = \"mock\"\n[aliases]\nfast = [\"mock/fast\"]\n", db.display()),
    )
    .unwrap();
    let (mut server, root) = common::serve_binary(&config, |_| {}).await;
    let http = common::client();
    for _ in 0..20 {
        let resp = http
            .post(format!("{root}/v1/chat/completions"))
            .json(&serde_json::json!({"model": "fast", "messages": [{"role": "user", "content": "hi"}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200);
    }
    let killed = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = server.wait().unwrap();
    assert!(status.success(), "graceful stop exits 0: {status}");

    let verify = || {
        Command::new(env!("CARGO_BIN_EXE_switchyard"))
            .args(["events", "verify", "--config"])
            .arg(&config)
            .output()
            .unwrap()
    };
    let out = verify();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // 20 requests × (admission, decision, attempt, outcome) + started + stopped.
    assert!(
        stdout.contains("cli-node: 82 events, chain intact"),
        "{stdout}"
    );

    let report = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_switchyard"))
            .arg("report")
            .args(args)
            .arg("--config")
            .arg(&config)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let table = report(&["--slo", "standard:success_rate=99%"]);
    assert!(table.contains("mock/fast"), "{table}");
    let json = report(&["--json", "--since", "1h"]);
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed["classes"][0]["class"], "standard", "{json}");
    assert_eq!(parsed["classes"][0]["totals"]["requests"], 20, "{json}");
    let baseline = dir.join("baseline.json");
    std::fs::write(&baseline, &json).unwrap();
    let comparison = report(&["--baseline", baseline.to_str().unwrap()]);
    assert!(comparison.contains("standard"), "{comparison}");

    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    sqlx::query(r#"UPDATE events SET payload = replace(payload, '"door":"chat"', '"door":"chaT"') WHERE seq = 30"#)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let out = verify();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(stdout.contains("breaks at event 30"), "{stdout}");
}

#[test]
fn a_non_loopback_address_without_keys_is_refused() {
    let out = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(["serve", "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("refusing to listen on 0.0.0.0:0"),
        "{stderr}"
    );
}
