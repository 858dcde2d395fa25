//! Tenants and API keys: the admin API over real HTTP, admission of keys (401 missing, unknown,
//! revoked; 429 over rate with Retry-After), loopback-only service without keys, secrets kept
//! only as hashes, and `switchyard keys` on the real binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use axum::http::{HeaderMap, HeaderValue};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;
use switchyard_gateway::admission::Admission;

const ADMIN: &str = "admin-key-0123456789abcdef";

fn loopback() -> Option<SocketAddr> {
    Some(SocketAddr::from(([127, 0, 0, 1], 40_000)))
}

fn remote() -> Option<SocketAddr> {
    Some(SocketAddr::from(([203, 0, 113, 7], 40_000)))
}

fn bearer(key: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {key}")).unwrap(),
    );
    h
}

async fn keyed_gateway() -> common::Gateway {
    common::gateway(&format!(
        "admin_key = \"{ADMIN}\"\n[providers.mock]\nfamily = \"mock\"\n"
    ))
    .await
}

async fn create(gw: &common::Gateway, body: Value) -> Value {
    let resp = common::client()
        .post(format!("{}/admin/keys", gw.root))
        .bearer_auth(ADMIN)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    resp.json().await.unwrap()
}

async fn assert_401(admission: &Admission, headers: &HeaderMap, why: &str) {
    let err = admission.admit(headers, loopback()).await.unwrap_err();
    assert_eq!(err.status().as_u16(), 401, "{why}: {err:?}");
    let body = serde_json::to_value(err.openai_body()).unwrap();
    assert_eq!(body["error"]["code"], "invalid_api_key", "{why}");
}

#[tokio::test]
async fn admin_api_creates_lists_and_revokes_keys() {
    let gw = keyed_gateway().await;
    let http = common::client();
    let created = create(
        &gw,
        json!({"tenant": "acme", "name": "ci", "policy": {"models": ["fast"], "region": "eu", "data_class_ceiling": "pii"}}),
    )
    .await;
    let secret = created["secret"].as_str().unwrap().to_owned();
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("sy-") && id.starts_with("key_"));
    assert_eq!(created["prefix"], secret[..8]);
    assert_eq!(created["policy"]["data_class_ceiling"], "pii");

    // The key authenticates to its tenant with its policy, by either header.
    let principal = gw
        .admission
        .admit(&bearer(&secret), remote())
        .await
        .unwrap();
    assert_eq!(principal.tenant, "acme");
    assert_eq!(principal.key_id.as_deref(), Some(id.as_str()));
    assert!(principal.policy.check_model("fast").is_ok());
    let refused = principal.policy.check_model("smart").unwrap_err();
    assert_eq!(refused.status().as_u16(), 403);
    assert!(refused.message().contains("\"smart\""));
    assert_eq!(
        principal
            .policy
            .check_region(Some("us"))
            .unwrap_err()
            .status()
            .as_u16(),
        403
    );
    let mut x_api_key = HeaderMap::new();
    x_api_key.insert("x-api-key", HeaderValue::from_str(&secret).unwrap());
    assert_eq!(
        gw.admission.admit(&x_api_key, None).await.unwrap().tenant,
        "acme"
    );

    // Missing and unknown keys are 401, from loopback too, once keys are configured.
    assert_401(&gw.admission, &HeaderMap::new(), "missing").await;
    assert_401(&gw.admission, &bearer("sy-not-a-key"), "unknown").await;
    assert_401(&gw.admission, &bearer(ADMIN), "the admin key is no API key").await;

    // Listing shows neither secrets nor hashes.
    create(&gw, json!({"tenant": "other"})).await;
    let list: Value = http
        .get(format!("{}/admin/keys?tenant=acme", gw.root))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let data = list["data"].as_array().unwrap();
    assert_eq!(data.len(), 1);
    assert_eq!(data[0]["id"], id.as_str());
    assert_eq!(data[0]["name"], "ci");
    let text = list.to_string();
    assert!(!text.contains(&secret) && !text.contains("hash"), "{text}");
    let all: Value = http
        .get(format!("{}/admin/keys", gw.root))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(all["data"].as_array().unwrap().len(), 2);

    // Revoked: it stops at once on this node, and cannot be revoked twice.
    let resp = http
        .delete(format!("{}/admin/keys/{id}", gw.root))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let revoked: Value = resp.json().await.unwrap();
    assert!(revoked["revoked_ms"].as_i64().is_some());
    assert_401(&gw.admission, &bearer(&secret), "revoked").await;
    let again = http
        .delete(format!("{}/admin/keys/{id}", gw.root))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status().as_u16(), 404);

    // Creation and revocation are evidence, and never carry the secret.
    let events = gw.events().await;
    let keyed: Vec<_> = events
        .iter()
        .filter(|e| e.payload.contains(&id))
        .map(|e| e.payload.clone())
        .collect();
    assert_eq!(keyed.len(), 2, "{keyed:?}");
    assert!(keyed[0].contains("key_created") && keyed[1].contains("key_revoked"));
    assert!(events.iter().all(|e| !e.payload.contains(&secret)));
}

#[tokio::test]
async fn the_admin_api_needs_the_admin_key() {
    let gw = keyed_gateway().await;
    let http = common::client();
    let body = json!({"tenant": "acme"});
    let wrong = http
        .post(format!("{}/admin/keys", gw.root))
        .bearer_auth("admin-key-0123456789abcdeX")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status().as_u16(), 401);
    let err: Value = wrong.json().await.unwrap();
    assert_eq!(err["error"]["code"], "invalid_api_key");
    let missing = http
        .get(format!("{}/admin/keys", gw.root))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status().as_u16(), 401);
    let revoke = http
        .delete(format!("{}/admin/keys/key_x", gw.root))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status().as_u16(), 401);

    // A bad policy is a 400 that names the field.
    let bad = http
        .post(format!("{}/admin/keys", gw.root))
        .bearer_auth(ADMIN)
        .json(&json!({"tenant": "acme", "policy": {"rpm": 0}}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);
    let unknown = http
        .post(format!("{}/admin/keys", gw.root))
        .bearer_auth(ADMIN)
        .json(&json!({"tenant": "acme", "policy": {"modles": ["fast"]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status().as_u16(), 400);
    let text = unknown.text().await.unwrap();
    assert!(text.contains("modles"), "{text}");

    // No admin key configured: the admin API says it is off.
    let open = common::gateway("[providers.mock]\nfamily = \"mock\"\n").await;
    let off = http
        .get(format!("{}/admin/keys", open.root))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(off.status().as_u16(), 403);
    let err: Value = off.json().await.unwrap();
    assert_eq!(err["error"]["code"], "admin_api_disabled");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("SWITCHYARD_ADMIN_KEY")
    );
}

#[tokio::test]
async fn without_keys_only_loopback_is_served_with_any_token() {
    let gw = common::gateway("[providers.mock]\nfamily = \"mock\"\n").await;
    // The gateway's admission, but trusting what it read from the store for 50 ms instead of
    // a second: the test waits for a change made elsewhere to be seen, not for a fixed second.
    let admission = Admission::with_key_ttl(
        gw.store.clone(),
        gw.events.clone(),
        None,
        Duration::from_millis(50),
    );
    let anonymous = admission
        .admit(&HeaderMap::new(), loopback())
        .await
        .unwrap();
    assert_eq!(anonymous.tenant, "local");
    assert_eq!(anonymous.key_id, None);
    let with_token = admission
        .admit(&bearer("anything"), loopback())
        .await
        .unwrap();
    assert_eq!(with_token.tenant, "local");
    for peer in [remote(), None] {
        let err = admission
            .admit(&bearer("anything"), peer)
            .await
            .unwrap_err();
        assert_eq!(err.status().as_u16(), 401);
        assert!(err.message().contains("loopback"));
    }

    // Once a key exists in the store (here written directly, as the CLI does), keys are
    // required once this node's cached answer expires, from loopback too.
    let (log, _writer) = switchyard_evidence::EventLog::start(gw.store.clone(), "test-cli", 16)
        .await
        .unwrap();
    let created = switchyard_gateway::admission::keys::create(
        gw.store.as_ref(),
        &log,
        serde_json::from_value(json!({"tenant": "acme"})).unwrap(),
        switchyard_evidence::event::now_ms(),
    )
    .await
    .unwrap();
    common::eventually("keys required", async || {
        let anonymous = admission.admit(&HeaderMap::new(), loopback()).await;
        anonymous.is_err().then_some(())
    })
    .await;
    assert_401(&admission, &HeaderMap::new(), "keys now configured").await;
    let p = admission
        .admit(&bearer(&created.secret), remote())
        .await
        .unwrap();
    assert_eq!(p.tenant, "acme");

    // Revoked elsewhere (not through this node): stops once the cached key expires.
    switchyard_gateway::admission::keys::revoke(
        gw.store.as_ref(),
        &log,
        &created.key.id,
        switchyard_evidence::event::now_ms(),
    )
    .await
    .unwrap();
    let back = common::eventually("the revoked key no longer admitted", async || {
        let p = admission.admit(&bearer(&created.secret), loopback()).await;
        p.ok().filter(|p| p.key_id.is_none())
    })
    .await;
    assert_eq!(
        back.tenant, "local",
        "no active key is left, so loopback is anonymous again"
    );
    assert!(
        admission
            .admit(&bearer(&created.secret), remote())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn over_its_rate_a_key_gets_429_with_retry_after() {
    let gw = keyed_gateway().await;
    let created = create(
        &gw,
        json!({"tenant": "acme", "policy": {"rpm": 2, "tpm": 1000}}),
    )
    .await;
    let headers = bearer(created["secret"].as_str().unwrap());
    let principal = gw.admission.admit(&headers, remote()).await.unwrap();
    gw.admission.admit(&headers, remote()).await.unwrap();
    let err = gw.admission.admit(&headers, remote()).await.unwrap_err();
    assert_eq!(err.status().as_u16(), 429);
    let secs = err.retry_after().unwrap().as_secs();
    assert!((1..=30).contains(&secs), "{secs}");
    let resp = axum::response::IntoResponse::into_response(err);
    let retry_after: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&retry_after));

    // Tokens: a key whose bucket is in debt is refused until it is paid back.
    let tokens = create(&gw, json!({"tenant": "acme", "policy": {"tpm": 600}})).await;
    let headers = bearer(tokens["secret"].as_str().unwrap());
    let p = gw.admission.admit(&headers, remote()).await.unwrap();
    gw.admission.charge_tokens(&p, 100);
    gw.admission.settle_tokens(&p, 100, 1_200);
    let err = gw.admission.admit(&headers, remote()).await.unwrap_err();
    assert_eq!(err.status().as_u16(), 429);
    assert!(err.message().contains("600 tokens per minute"));
    assert!(err.retry_after().unwrap().as_secs() >= 60);
    // Another key of the same tenant has its own rates.
    assert!(principal.key_id != p.key_id);
}

#[tokio::test]
async fn a_key_whose_default_class_the_profile_lacks_gets_a_400_that_says_how_to_proceed() {
    let gw = keyed_gateway().await;
    let created = create(
        &gw,
        json!({"tenant": "acme", "policy": {"default_class": "warp"}}),
    )
    .await;
    let secret = created["secret"].as_str().unwrap();
    let ask = |class: Option<&str>| {
        let mut req = common::client()
            .post(format!("{}/v1/chat/completions", gw.root))
            .bearer_auth(secret)
            .json(&common::chat_body("mock/fast"));
        if let Some(class) = class {
            req = req.header("x-switchyard-class", class);
        }
        req.send()
    };
    let resp = ask(None).await.unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let body: Value = resp.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("\"warp\""), "{message}");
    assert!(message.contains("x-switchyard-class"), "{message}");
    assert_eq!(body["error"]["param"], "x-switchyard-class");
    // Declaring a class the profile has serves the request.
    let resp = ask(Some("standard")).await.unwrap();
    assert_eq!(
        resp.status().as_u16(),
        200,
        "{}",
        resp.text().await.unwrap()
    );
}

#[tokio::test]
async fn secrets_are_stored_only_as_hashes() {
    let gw = keyed_gateway().await;
    let created = create(&gw, json!({"tenant": "acme", "name": "scan"})).await;
    let secret = created["secret"].as_str().unwrap().to_owned();
    gw.events().await;
    let hash = switchyard_evidence::keys::hash_secret(&secret);
    let mut hash_seen = false;
    for suffix in ["", "-wal", "-shm"] {
        let path = format!("{}{suffix}", gw.db.display());
        if let Ok(bytes) = std::fs::read(&path) {
            let hay = String::from_utf8_lossy(&bytes);
            assert!(!hay.contains(&secret), "{path} holds the secret");
            assert!(
                !hay.contains(&secret[3..]),
                "{path} holds the secret's body"
            );
            hash_seen |= hay.contains(&hash);
        }
    }
    // The scan did read the key's row: its hash is there.
    assert!(hash_seen);
    assert!(gw.store.find_key_by_hash(&hash).await.unwrap().is_some());
}

fn switchyard(config: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("SWITCHYARD_ADMIN_KEY")
        .output()
        .unwrap()
}

#[tokio::test]
async fn cli_creates_lists_and_revokes_keys() {
    let dir = std::env::temp_dir().join(switchyard_gateway::ids::new_id("keys-cli"));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("keys.db");
    let config = dir.join("switchyard.toml");
    std::fs::write(
        &config,
        format!(
            "store = \"sqlite://{}\"\nnode = \"keys-node\"\n[providers.mock]\nfamily = \"mock\"\n",
            db.display()
        ),
    )
    .unwrap();
    let ok = |out: &std::process::Output| {
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };

    let out = ok(&switchyard(
        &config,
        &[
            "keys",
            "create",
            "--tenant",
            "acme",
            "--name",
            "batch",
            "--models",
            "fast,mock/*",
            "--rpm",
            "30",
            "--data-class-ceiling",
            "pii",
            "--json",
        ],
    ));
    let created: Value = serde_json::from_str(out.trim()).unwrap();
    let secret = created["secret"].as_str().unwrap().to_owned();
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["policy"]["models"], json!(["fast", "mock/*"]));
    assert_eq!(created["policy"]["rpm"], 30);
    let human = ok(&switchyard(
        &config,
        &["keys", "create", "--tenant", "other"],
    ));
    assert!(human.contains("secret: sy-"), "{human}");

    let listed = ok(&switchyard(&config, &["keys", "list", "--tenant", "acme"]));
    assert!(
        listed.contains(&id) && listed.contains("active"),
        "{listed}"
    );
    assert!(!listed.contains(&secret));
    let all = ok(&switchyard(&config, &["keys", "list", "--json"]));
    assert_eq!(all.lines().count(), 2);

    // A bad flag value is refused before anything is stored.
    let bad = switchyard(
        &config,
        &[
            "keys",
            "create",
            "--tenant",
            "acme",
            "--data-class-ceiling",
            "top",
        ],
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown data class"));

    // The store the gateway will read knows the key by its hash only.
    let store = switchyard_evidence::open(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let hash = switchyard_evidence::keys::hash_secret(&secret);
    assert_eq!(store.find_key_by_hash(&hash).await.unwrap().unwrap().id, id);
    let bytes = std::fs::read(&db).unwrap();
    assert!(!String::from_utf8_lossy(&bytes).contains(&secret));

    let revoked = ok(&switchyard(&config, &["keys", "revoke", &id]));
    assert!(revoked.contains(&id));
    assert!(store.find_key_by_hash(&hash).await.unwrap().is_none());
    let again = switchyard(&config, &["keys", "revoke", &id]);
    assert!(!again.status.success());
    let listed = ok(&switchyard(&config, &["keys", "list", "--tenant", "acme"]));
    assert!(listed.contains("revoked at"), "{listed}");

    // Key events are in their own chain, which verifies.
    let verify = ok(&switchyard(&config, &["events", "verify"]));
    assert!(
        verify.contains("keys-node.cli: 3 events, chain intact"),
        "{verify}"
    );
}

#[tokio::test]
async fn serve_refuses_a_public_address_without_keys_and_accepts_it_with_one() {
    let dir = std::env::temp_dir().join(switchyard_gateway::ids::new_id("keys-serve"));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("switchyard.toml");
    std::fs::write(
        &config,
        format!(
            "store = \"sqlite://{}\"\n[providers.mock]\nfamily = \"mock\"\n",
            dir.join("serve.db").display()
        ),
    )
    .unwrap();
    let refused = switchyard(&config, &["serve", "--listen", "0.0.0.0:0"]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("no API keys are configured"), "{stderr}");

    // With a key in the store, the same address is served.
    let created = switchyard(&config, &["keys", "create", "--tenant", "acme"]);
    assert!(created.status.success());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .arg("--config")
        .arg(&config)
        .args(["serve", "--listen", &format!("0.0.0.0:{port}")])
        .env_remove("SWITCHYARD_ADMIN_KEY")
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the server to say it serves (its listener is bound by then), not for a time.
    let stderr = server.stderr.take().unwrap();
    let serving = tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .any(|line| line.contains("switchyard is serving"))
    })
    .await
    .unwrap();
    let up = serving
        && common::client()
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
    let _ = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status();
    let status = server.wait().unwrap();
    assert!(up, "the keyed gateway did not serve on 0.0.0.0");
    assert!(status.success(), "{status}");
}
