//! Profiles on the real binary: activation and a one-command rollback change routing with no
//! restart (proven by which upstream model served), hot reload on file change and on SIGHUP,
//! and a config that fails validation leaves the running one in place.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{KEY, mock_upstream, serve_binary};
use std::path::Path;
use std::process::{Child, Command};
use std::time::Duration;

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

    async fn wait_for(&self, model: &str) -> bool {
        for _ in 0..100 {
            if self.served_by().await == model {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
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

    // What the upstream saw: blue, then green, then blue again.
    assert_eq!(up.mock.hits("blue"), 2);
    assert_eq!(up.mock.hits("green"), 1);
}

#[tokio::test]
async fn config_changes_reload_live_and_bad_ones_are_rejected() {
    let (up, server) = start("up/green").await;
    server.cli(&["profile", "activate", "prod@2"]);
    assert_eq!(server.served_by().await, "up/green");

    // Editing the file reloads it: prod@2 stays live with its new content.
    let db = server.config.with_file_name("e.db");
    std::fs::write(&server.config, config_text(&up.root, &db, "up/red")).unwrap();
    assert!(
        server.wait_for("up/red").await,
        "the file change was not picked up"
    );

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
    assert!(server.wait_for("up/green").await, "SIGHUP did not reload");

    // An editor that writes a new file and renames it over the old one is followed, twice: the
    // watch is on the path, renewed after each change, not on the first file.
    for model in ["up/red", "up/green"] {
        let fresh = server.config.with_extension("toml.swp");
        std::fs::write(&fresh, config_text(&up.root, &db, model)).unwrap();
        std::fs::rename(&fresh, &server.config).unwrap();
        assert!(
            server.wait_for(model).await,
            "a replaced config file was not picked up ({model})"
        );
    }
}
