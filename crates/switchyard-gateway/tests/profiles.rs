//! Profiles on the real binary: activation and a one-command rollback change routing with no
//! restart (proven by which upstream model served), hot reload on file change and on SIGHUP,
//! and a config that fails validation leaves the running one in place.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{KEY, mock_upstream, serve_binary};
use std::path::Path;
use std::process::{Child, Command};

fn config_text(upstream: &str, db: &Path, fast_v2: &str) -> String {
    format!(
        r#"store = "sqlite://{db}"
active_profile = "prod@1"

[providers.up]
family = "openai"
base_url = "{upstream}/v1"
api_key = "{KEY}"

[models."up/blue"]
[models."up/green"]
[models."up/red"]

[[profiles]]
name = "prod"
version = 1
[profiles.aliases.fast.default]
nodes = [{{ try = "up/blue" }}]

[[profiles]]
name = "prod"
version = 2
[profiles.aliases.fast.default]
nodes = [{{ try = "{fast_v2}" }}]
"#,
        db = db.display()
    )
}

struct Server {
    child: Child,
    root: String,
    config: std::path::PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn cli(&self, args: &[&str]) -> (bool, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_switchyard"))
            .args(args)
            .args(["--url", &self.root])
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }

    async fn served_by(&self) -> String {
        let resp = common::client()
            .post(format!("{}/v1/chat/completions", self.root))
            .json(&common::chat_body("fast"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        resp.headers()["x-switchyard-model"]
            .to_str()
            .unwrap()
            .to_owned()
    }

    /// Waits until `model` serves: `what` (a reload) has happened.
    async fn wait_for(&self, model: &str, what: &str) {
        common::eventually(what, async || {
            (self.served_by().await == model).then_some(())
        })
        .await;
    }
}

async fn start(fast_v2: &str) -> (common::Upstream, Server) {
    let up = mock_upstream(&[]).await;
    let dir = std::env::temp_dir().join(switchyard_gateway::ids::new_id("prof"));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("switchyard.toml");
    std::fs::write(&config, config_text(&up.root, &dir.join("e.db"), fast_v2)).unwrap();
    let (child, root) = serve_binary(&config, |_| {}).await;
    (
        up,
        Server {
            child,
            root,
            config,
        },
    )
}

#[tokio::test]
async fn activate_then_roll_back_in_one_command_without_a_restart() {
    let (up, server) = start("up/green").await;
    assert_eq!(server.served_by().await, "up/blue");

    let (ok, out) = server.cli(&["profile", "list"]);
    assert!(ok, "{out}");
    assert!(out.contains("* prod@1") && out.contains("prod@2"), "{out}");

    let (ok, out) = server.cli(&["profile", "activate", "prod@2"]);
    assert!(ok, "{out}");
    assert_eq!(server.served_by().await, "up/green");

    let (ok, out) = server.cli(&["profile", "activate", "prod@9"]);
    assert!(!ok && out.contains("no profile \"prod@9\""), "{out}");

    let (ok, out) = server.cli(&["profile", "rollback"]);
    assert!(ok && out.contains("prod@1"), "{out}");
    assert_eq!(server.served_by().await, "up/blue");
    let (ok, out) = server.cli(&["profile", "rollback"]);
    assert!(!ok && out.contains("no earlier profile"), "{out}");

    // A name without a version is its highest version.
    let (ok, out) = server.cli(&["profile", "activate", "prod"]);
    assert!(ok && out.contains("activated prod@2"), "{out}");
    assert_eq!(server.served_by().await, "up/green");

    // What the upstream saw: blue, then green, then blue again, then green.
    assert_eq!(up.mock.hits("blue"), 2);
    assert_eq!(up.mock.hits("green"), 2);
}

#[tokio::test]
async fn config_changes_reload_live_and_bad_ones_are_rejected() {
    let (up, server) = start("up/green").await;
    server.cli(&["profile", "activate", "prod@2"]);
    assert_eq!(server.served_by().await, "up/green");

    // Editing the file reloads it: prod@2 stays live with its new content.
    let db = server.config.with_file_name("e.db");
    std::fs::write(&server.config, config_text(&up.root, &db, "up/red")).unwrap();
    server.wait_for("up/red", "the file change picked up").await;

    // An invalid config is rejected with a precise message; the running one keeps serving.
    let broken = config_text(&up.root, &db, "up/nowhere");
    std::fs::write(&server.config, &broken).unwrap();
    let (ok, out) = server.cli(&["reload"]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("profiles[1].aliases.fast.default.nodes[0].try"),
        "{out}"
    );
    assert!(out.contains("unknown model \"up/nowhere\""), "{out}");
    assert_eq!(server.served_by().await, "up/red");

    // SIGHUP reloads too.
    std::fs::write(&server.config, config_text(&up.root, &db, "up/green")).unwrap();
    let hup = Command::new("kill")
        .args(["-HUP", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    server.wait_for("up/green", "the reload on SIGHUP").await;

    // An editor that writes a new file and renames it over the old one is followed, twice: the
    // watch is on the path, renewed after each change, not on the first file.
    for model in ["up/red", "up/green"] {
        let fresh = server.config.with_extension("toml.swp");
        std::fs::write(&fresh, config_text(&up.root, &db, model)).unwrap();
        std::fs::rename(&fresh, &server.config).unwrap();
        server
            .wait_for(
                model,
                &format!("the replaced config file picked up ({model})"),
            )
            .await;
    }
}

/// A config whose `up/slow` model has `price` per million tokens, under profile `p@version`.
fn priced(upstream: &str, version: u32, price: f64) -> String {
    format!(
        r#"[providers.up]
family = "openai"
base_url = "{upstream}/v1"
api_key = "{KEY}"

[models."up/slow"]
input_usd_per_mtok = {price}
output_usd_per_mtok = {price}

[[profiles]]
name = "p"
version = {version}

[profiles.aliases.fast.default]
nodes = [{{ try = "up/slow" }}]
"#,
        KEY = common::KEY
    )
}

#[tokio::test]
async fn a_reload_mid_request_changes_nothing_of_that_request() {
    let up = common::mock_upstream(&[("slow", "latency_ms=1500")]).await;
    let gw = common::gateway(&priced(&up.root, 1, 1.0)).await;
    let http = common::client();
    let request = tokio::spawn({
        let url = format!("{}/v1/chat/completions", gw.root);
        let http = http.clone();
        async move {
            http.post(url)
                .json(&common::chat_body("fast"))
                .send()
                .await
                .unwrap()
        }
    });
    // The request has been decided and is upstream: now the config changes under it.
    while up.mock.hits("slow") == 0 {
        tokio::task::yield_now().await;
    }
    let mut next = switchyard_gateway::config::parse(
        "reloaded.toml",
        &priced(&up.root, 2, 1000.0),
        &|_: &str| None,
    )
    .unwrap();
    switchyard_gateway::config::complete(&mut next, &|_: &str| None).unwrap();
    let profile = next.routing.active_snapshot().unwrap();
    gw.state.swap(switchyard_gateway::state::Live {
        registry: std::sync::Arc::new(switchyard_gateway::registry::Registry::build(
            std::sync::Arc::new(next),
        )),
        profile,
    });
    assert_eq!(
        up.mock.waited("slow"),
        0,
        "the reload came after the answer"
    );

    let resp = request.await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["x-switchyard-profile"], "p@1");
    let cost: f64 = resp.headers()["x-switchyard-cost-usd"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let id = resp.headers()["x-switchyard-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let events = gw.events().await;
    let of = |kind: &str| -> serde_json::Value {
        let e = events
            .iter()
            .find(|e| e.request_id.as_deref() == Some(id.as_str()) && e.kind.as_str() == kind)
            .unwrap();
        serde_json::from_str(&e.payload).unwrap()
    };
    assert_eq!(of("decision")["profile"], "p@1");
    let outcome = of("outcome");
    assert_eq!(outcome["profile"], "p@1");
    // Priced at version 1's $1 per million tokens, not the reloaded $1,000.
    let tokens = outcome["usage"]["input_tokens"].as_f64().unwrap()
        + outcome["usage"]["output_tokens"].as_f64().unwrap();
    assert!(
        (cost - tokens / 1e6).abs() < 1e-9,
        "{cost} for {tokens} tokens"
    );
    assert!((outcome["cost_usd"].as_f64().unwrap() - cost).abs() < 1e-9);

    // The next request pins the new config.
    let resp = http
        .post(format!("{}/v1/chat/completions", gw.root))
        .json(&common::chat_body("fast"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-switchyard-profile"], "p@2");
}
