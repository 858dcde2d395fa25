//! Every front door goes through the same request path. One table row per door (OpenAI chat,
//! Anthropic Messages and OpenAI Responses, each plain and streamed; OpenAI embeddings), and one
//! test per phase of the path run over every row: admission, classification, the key's checks, the
//! decision, budgets, upstream redaction, the heavy-context pool, and the evidence left behind.
//! Written against the HTTP surface, what the upstream received and the recorded events only.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{Value, json};

const ADMIN: &str = "admin-key-0123456789abcdef";

/// An error as a door wrote it: its type, its code where the shape has one, its message.
#[derive(Debug)]
struct ErrorBody {
    kind: String,
    code: Option<String>,
    message: String,
}

/// One front door, plain or streamed.
struct Door {
    /// The row's name, in every assertion message.
    name: &'static str,
    /// What the door's events call it (`door` of admission and outcome).
    door: &'static str,
    stream: bool,
}

const fn row(name: &'static str, door: &'static str, stream: bool) -> Door {
    Door { name, door, stream }
}

impl Door {
    fn path(&self) -> String {
        match self.door {
            "chat" => "/v1/chat/completions".into(),
            door => format!("/v1/{door}"),
        }
    }

    /// The model asked for at this door.
    fn model(&self) -> &'static str {
        match self.door {
            "embeddings" => EMBED,
            _ => CHAT,
        }
    }

    /// A request body for an input text.
    fn body(&self, text: &str) -> Value {
        let model = self.model();
        let user = json!([{"role": "user", "content": text}]);
        let mut body = match self.door {
            "chat" => json!({"model": model, "messages": user}),
            "messages" => json!({"model": model, "max_tokens": 64, "messages": user}),
            "embeddings" => json!({"model": model, "input": [text]}),
            "responses" => json!({"model": model, "input": text}),
            other => panic!("no door {other}"),
        };
        if self.stream {
            body["stream"] = json!(true);
        }
        body
    }

    /// Reads an error body in the door's shape; `None` when it is not in that shape.
    fn error(&self, body: &Value) -> Option<ErrorBody> {
        match self.door {
            "messages" => anthropic_error(body),
            _ => openai_error(body),
        }
    }

    /// Text every served answer of this door holds (a stream: its proper end).
    fn served(&self) -> &'static str {
        match (self.door, self.stream) {
            ("chat", false) => "\"choices\"",
            ("chat", true) => "data: [DONE]",
            ("messages", false) => "\"type\":\"message\"",
            ("messages", true) => "event: message_stop",
            ("embeddings", _) => "\"embedding\"",
            ("responses", false) => "\"object\":\"response\"",
            ("responses", true) => "event: response.completed",
            (other, _) => panic!("no door {other}"),
        }
    }
}

/// `{"error": {"message", "type", "param", "code"}}`.
fn openai_error(body: &Value) -> Option<ErrorBody> {
    let e = body.get("error")?;
    if body.get("type").is_some() {
        return None;
    }
    Some(ErrorBody {
        kind: e.get("type")?.as_str()?.to_owned(),
        code: Some(e.get("code")?.as_str()?.to_owned()),
        message: e.get("message")?.as_str()?.to_owned(),
    })
}

/// `{"type": "error", "error": {"type", "message"}}`: no code in this shape.
fn anthropic_error(body: &Value) -> Option<ErrorBody> {
    if body.get("type")?.as_str()? != "error" {
        return None;
    }
    let e = body.get("error")?;
    if e.get("code").is_some() {
        return None;
    }
    Some(ErrorBody {
        kind: e.get("type")?.as_str()?.to_owned(),
        code: None,
        message: e.get("message")?.as_str()?.to_owned(),
    })
}

const CHAT: &str = "up/chat";
const EMBED: &str = "up/embed";

static DOORS: [Door; 7] = [
    row("chat", "chat", false),
    row("chat-stream", "chat", true),
    row("messages", "messages", false),
    row("messages-stream", "messages", true),
    row("embeddings", "embeddings", false),
    row("responses", "responses", false),
    row("responses-stream", "responses", true),
];

/// The Anthropic error type of a refusal's status, as Anthropic's API names it.
fn anthropic_type(status: u16) -> &'static str {
    match status {
        401 => "authentication_error",
        403 => "permission_error",
        429 => "rate_limit_error",
        503 => "overloaded_error",
        other => panic!("no Anthropic type expected for {other}"),
    }
}

/// Keys on the gateway: one that may do anything, one for another model only, one whose
/// ceiling is public data, and one of a tenant whose budget is already spent.
struct Keys {
    good: String,
    other_model: String,
    public_only: String,
    broke: String,
}

async fn key(gw: &Gateway, body: Value) -> String {
    let resp = client()
        .post(format!("{}/admin/keys", gw.root))
        .bearer_auth(ADMIN)
        .json(&body)
        .send()
        .await
        .expect("the admin API answers");
    assert_eq!(resp.status().as_u16(), 201, "creating key {body}");
    let created: Value = resp.json().await.expect("a created key is JSON");
    created["secret"]
        .as_str()
        .expect("a created key shows its secret")
        .to_owned()
}

/// A gateway in front of `upstream` (provider `up`) with API keys, the Responses door on, priced
/// models (a request costs more than a microdollar, at most cents), a one-microdollar budget for
/// tenant `broke`, a heavy-context pool of one slot and no queue, and profile `doors@1`: class
/// `scrubbed` redacts personal data upstream, class `heavy` runs in the heavy-context pool.
async fn bench(upstream: &Upstream) -> (Gateway, Keys) {
    let gw = gateway(&format!(
        r#"admin_key = "{ADMIN}"
responses = {{ enabled = true }}

[limits]
heavy_concurrency = 1
heavy_queue = 0

[providers.up]
family = "openai"
base_url = "{root}/v1"
api_key = "{KEY}"
timeout_ms = 30000

[models."{CHAT}"]
input_usd_per_mtok = 100.0
output_usd_per_mtok = 2.0

[models."{EMBED}"]
kind = "embedding"
input_usd_per_mtok = 1000.0

[[budgets]]
tenant = "broke"
limit_usd = 0.000001
window_secs = 3600

[[profiles]]
name = "doors"
version = 1

[profiles.classes.scrubbed]
inherits = "latency-critical"
total_timeout_ms = 30000
attempt_timeout_ms = 30000
redact_upstream = ["pii"]

[profiles.classes.heavy]
inherits = "reasoning-heavy"
hedge = {{ mode = "off" }}
"#,
        root = upstream.root
    ))
    .await;
    let acme = |policy: Value| json!({"tenant": "acme", "policy": policy});
    let keys = Keys {
        good: key(&gw, json!({"tenant": "acme"})).await,
        other_model: key(&gw, acme(json!({"models": ["up/other"]}))).await,
        public_only: key(&gw, acme(json!({"data_class_ceiling": "public"}))).await,
        broke: key(&gw, json!({"tenant": "broke"})).await,
    };
    (gw, keys)
}

/// An answer, read whole.
struct Reply {
    status: u16,
    headers: reqwest::header::HeaderMap,
    text: String,
}

impl Reply {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// Sends `text` through `door` with `key` (none: no credential) and the route class `class`.
async fn send(
    root: &str,
    door: &Door,
    key: Option<&str>,
    class: Option<&str>,
    text: &str,
) -> Reply {
    let mut req = client()
        .post(format!("{root}{}", door.path()))
        .json(&door.body(text));
    if let Some(key) = key {
        req = req.bearer_auth(key);
    }
    if let Some(class) = class {
        req = req.header("x-switchyard-class", class);
    }
    let resp = req.send().await.expect("the gateway answers");
    let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
    let text = resp.text().await.expect("the answer can be read whole");
    Reply {
        status,
        headers,
        text,
    }
}

/// One door under one phase: every assertion message names the door, the phase and the case.
struct At<'a> {
    gw: &'a Gateway,
    door: &'static Door,
    phase: &'static str,
}

impl At<'_> {
    fn what(&self, case: &str) -> String {
        format!("{} / {}, {case}", self.door.name, self.phase)
    }

    async fn send(&self, key: Option<&str>, class: Option<&str>, text: &str) -> Reply {
        send(&self.gw.root, self.door, key, class, text).await
    }

    /// The request id the answer names.
    fn id(&self, case: &str, reply: &Reply) -> String {
        let id = reply.header("x-switchyard-request-id");
        assert!(!id.is_empty(), "{}: no request id", self.what(case));
        id.to_owned()
    }

    /// The request's events, in the order the log keeps them: (kind, payload).
    async fn events(&self, request_id: &str) -> Vec<(String, Value)> {
        let events = self.gw.events().await;
        events
            .iter()
            .filter(|e| e.request_id.as_deref() == Some(request_id))
            .map(|e| {
                (
                    e.kind.as_str().to_owned(),
                    serde_json::from_str(&e.payload).expect("JSON"),
                )
            })
            .collect()
    }

    /// The request's outcome event (a stream's is recorded when it ends): exactly one, and it
    /// names the door.
    async fn outcome(&self, case: &str, request_id: &str) -> Value {
        let what = self.what(case);
        let events = eventually(&format!("{what}: an outcome event"), async || {
            let events = self.events(request_id).await;
            events.iter().any(|(k, _)| k == "outcome").then_some(events)
        })
        .await;
        let outcomes: Vec<&Value> = events
            .iter()
            .filter(|(k, _)| k == "outcome")
            .map(|(_, p)| p)
            .collect();
        assert_eq!(outcomes.len(), 1, "{what}: one outcome, got {outcomes:?}");
        assert_eq!(
            outcomes[0]["door"], self.door.door,
            "{what}: the outcome's door"
        );
        outcomes[0].clone()
    }

    /// Asserts a served answer (200, in the door's own format, one outcome); returns its id.
    async fn served(&self, case: &str, reply: &Reply) -> String {
        let what = self.what(case);
        assert_eq!(reply.status, 200, "{what}: {}", reply.text);
        let marker = self.door.served();
        assert!(
            reply.text.contains(marker),
            "{what}: no {marker:?} in {}",
            reply.text
        );
        let id = self.id(case, reply);
        let outcome = self.outcome(case, &id).await;
        assert_eq!(outcome["status"], 200, "{what}: {outcome}");
        id
    }

    /// Asserts a refusal: its status, its body in the door's shape (the code where the shape
    /// has one, else the type Anthropic gives the status), one outcome recording the code.
    async fn refused(&self, case: &str, reply: &Reply, status: u16, code: &str) {
        let what = self.what(case);
        assert_eq!(reply.status, status, "{what}: {}", reply.text);
        let body: Value = serde_json::from_str(&reply.text)
            .unwrap_or_else(|e| panic!("{what}: the error is not JSON ({e}): {}", reply.text));
        let error = self
            .door
            .error(&body)
            .unwrap_or_else(|| panic!("{what}: the error is not in the door's shape: {body}"));
        match &error.code {
            Some(got) => assert_eq!(got, code, "{what}: the code in {body}"),
            None => assert_eq!(
                error.kind,
                anthropic_type(status),
                "{what}: the type in {body}"
            ),
        }
        assert!(!error.message.is_empty(), "{what}: no message: {error:?}");
        let outcome = self.outcome(case, &self.id(case, reply)).await;
        assert_eq!(outcome["status"], status, "{what}: {outcome}");
        assert_eq!(outcome["code"], code, "{what}: {outcome}");
    }
}

/// Each door under `phase` on `gw`.
fn doors<'a>(gw: &'a Gateway, phase: &'static str) -> impl Iterator<Item = At<'a>> {
    DOORS.iter().map(move |door| At { gw, door, phase })
}

#[tokio::test]
async fn admission_needs_a_key_at_every_door() {
    let up = mock_upstream(&[]).await;
    let (gw, keys) = bench(&up).await;
    for at in doors(&gw, "admission") {
        let none = at.send(None, None, "hello").await;
        at.refused("no key", &none, 401, "invalid_api_key").await;
        let unknown = at.send(Some("sy-not-a-key"), None, "hello").await;
        at.refused("bad key", &unknown, 401, "invalid_api_key")
            .await;
        let good = at.send(Some(&keys.good), None, "hello").await;
        at.served("good key", &good).await;
    }
}

#[tokio::test]
async fn classification_raises_pii_at_every_door() {
    let up = mock_upstream(&[]).await;
    let (gw, keys) = bench(&up).await;
    for at in doors(&gw, "classification") {
        let what = at.what("an e-mail address");
        let text = format!("please write to {}@example.com today", at.door.name);
        let reply = at.send(Some(&keys.good), None, &text).await;
        let id = at.served("an e-mail address", &reply).await;
        let events = at.events(&id).await;
        let (_, admission) = events
            .iter()
            .find(|(k, _)| k == "admission")
            .unwrap_or_else(|| panic!("{what}: no admission event in {events:?}"));
        assert_eq!(admission["door"], at.door.door, "{what}: {admission}");
        let classes = admission["data_classes"].as_array();
        assert!(
            classes.is_some_and(|c| c.contains(&json!("pii"))),
            "{what}: pii not raised: {admission}"
        );
        let leaked = events
            .iter()
            .any(|(_, p)| p.to_string().contains("@example.com"));
        assert!(!leaked, "{what}: address in {events:?}");
    }
}

#[tokio::test]
async fn the_keys_policy_is_checked_at_every_door() {
    let up = mock_upstream(&[]).await;
    let (gw, keys) = bench(&up).await;
    for at in doors(&gw, "key checks") {
        let other = at.send(Some(&keys.other_model), None, "hello").await;
        at.refused("other model", &other, 403, "model_not_allowed")
            .await;
        let text = format!("mail {}@example.com", at.door.name);
        let pii = at.send(Some(&keys.public_only), None, &text).await;
        let code = "data_class_not_allowed";
        at.refused("pii over a public ceiling", &pii, 403, code)
            .await;
        // The same key is served what its ceiling allows.
        let public = at.send(Some(&keys.public_only), None, "hello").await;
        at.served("public data", &public).await;
    }
    let leaked = up.mock.saw("@example.com");
    assert!(!leaked, "key checks: refused yet sent upstream");
}

#[tokio::test]
async fn every_door_is_decided_and_says_so() {
    let up = mock_upstream(&[]).await;
    let (gw, keys) = bench(&up).await;
    for at in doors(&gw, "decision") {
        let what = at.what("served");
        let reply = at.send(Some(&keys.good), None, "hello").await;
        let events = at.events(&at.served("served", &reply).await).await;
        let class = reply.header("x-switchyard-route-class");
        assert_eq!(class, "standard", "{what}");
        assert_eq!(reply.header("x-switchyard-profile"), "doors@1", "{what}");
        let decision_id = reply.header("x-switchyard-decision-id");
        assert!(!decision_id.is_empty(), "{what}: no decision id");
        let decisions: Vec<&Value> = events
            .iter()
            .filter(|(k, _)| k == "decision")
            .map(|(_, p)| p)
            .collect();
        assert_eq!(decisions.len(), 1, "{what}: one decision in {events:?}");
        let decision = decisions[0];
        assert_eq!(decision["outcome"], "routed", "{what}: {decision}");
        assert_eq!(decision["decision_id"], decision_id, "{what}: {decision}");
        assert_eq!(decision["route_class"], "standard", "{what}: {decision}");
        assert_eq!(decision["profile"], "doors@1", "{what}: {decision}");
        assert_eq!(decision["requested"], at.door.model(), "{what}: {decision}");
    }
}

#[tokio::test]
async fn an_exhausted_budget_is_refused_at_every_door() {
    let up = mock_upstream(&[]).await;
    let (gw, keys) = bench(&up).await;
    for at in doors(&gw, "budgets") {
        let upstream_model = at.door.model().trim_start_matches("up/");
        let before = up.mock.hits(upstream_model);
        let reply = at.send(Some(&keys.broke), None, "hello").await;
        at.refused("spent", &reply, 429, "budget_exhausted").await;
        let (after, what) = (up.mock.hits(upstream_model), at.what("spent"));
        assert_eq!(after, before, "{what}: it went upstream");
    }
}

#[tokio::test]
async fn a_redacting_class_keeps_personal_data_from_the_upstream_at_every_door() {
    let up = mock_upstream(&[]).await;
    let (gw, keys) = bench(&up).await;
    for at in doors(&gw, "upstream redaction") {
        let what = at.what("class scrubbed");
        let (name, address) = (at.door.name, format!("{}@example.com", at.door.name));
        let text = format!("ticket {name} mail {address} now");
        let reply = at.send(Some(&keys.good), Some("scrubbed"), &text).await;
        at.served("class scrubbed", &reply).await;
        let class = reply.header("x-switchyard-route-class");
        assert_eq!(class, "scrubbed", "{what}");
        let sent = format!("ticket {name} mail [REDACTED:email] now");
        assert!(up.mock.saw(&sent), "{what}: upstream lacks {sent:?}");
        assert!(!up.mock.saw(&address), "{what}: upstream got {address}");
    }
}

#[tokio::test]
async fn the_heavy_pool_refuses_past_its_size_at_every_door() {
    for door in &DOORS {
        // A gateway of its own per door: the pool starts empty, whatever the last door left.
        let up = gated_upstream().await;
        let (gw, keys) = bench(&up.upstream).await;
        let at = At {
            gw: &gw,
            door,
            phase: "pools",
        };
        let heavy = |text: &'static str| {
            let (root, key) = (gw.root.clone(), keys.good.clone());
            tokio::spawn(async move { send(&root, door, Some(&key), Some("heavy"), text).await })
        };
        // The first request holds the pool's one slot while the upstream holds its answer.
        let first = heavy("summarise this");
        eventually(&at.what("the first request upstream"), async || {
            (up.arrived() == 1).then_some(())
        })
        .await;
        // The second is refused at once; reaching the upstream instead fails, never hangs.
        let second = heavy("and this");
        eventually(&at.what("the second request answered"), async || {
            let what = at.what("second");
            let arrived = up.arrived();
            assert_eq!(arrived, 1, "{what}: went upstream, the slot taken");
            second.is_finished().then_some(())
        })
        .await;
        let second = second.await.expect("the second request's task");
        at.refused("second", &second, 503, "heavy_queue_full").await;
        let retry = second.header("retry-after");
        assert!(!retry.is_empty(), "{}: no Retry-After", at.what("second"));
        up.release(1);
        let first = first.await.expect("the first request's task");
        at.served("first", &first).await;
        let (class, what) = (first.header("x-switchyard-route-class"), at.what("first"));
        assert_eq!(class, "heavy", "{what}");
    }
}

/// The request's path through the log: its admission, decision, attempt and outcome events.
fn path(events: &[(String, Value)]) -> Vec<&str> {
    let steps = ["admission", "decision", "attempt", "outcome"];
    events
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| steps.contains(k))
        .collect()
}

#[tokio::test]
async fn every_door_leaves_the_same_evidence() {
    let up = mock_upstream(&[]).await;
    let (gw, keys) = bench(&up).await;
    let mut ids = Vec::new();
    for at in doors(&gw, "evidence") {
        let what = at.what("served");
        let reply = at.send(Some(&keys.good), None, "hello").await;
        let id = at.served("served", &reply).await;
        let events = at.events(&id).await;
        let want = ["admission", "decision", "attempt", "outcome"];
        assert_eq!(path(&events), want, "{what}: {events:?}");
        let decision_id = reply.header("x-switchyard-decision-id");
        for (kind, payload) in events.iter().filter(|(k, _)| k != "admission") {
            let id = &payload["decision_id"];
            assert_eq!(id, decision_id, "{what}: {kind} {payload}");
        }
        let (_, attempt) = &events[2];
        assert_eq!(attempt["ok"], true, "{what}: {attempt}");
        assert_eq!(attempt["model"], at.door.model(), "{what}: {attempt}");
        ids.push((what, id));

        // Refused before the body is read: the outcome is all there is; refused by the key
        // after admission: no decision; refused by the budget after the decision: no attempt.
        let (other, broke) = (Some(keys.other_model.as_str()), Some(keys.broke.as_str()));
        let refusals: [(&str, Option<&str>, &[&str]); 3] = [
            ("no key", None, &["outcome"]),
            ("key refused", other, &["admission", "outcome"]),
            ("over budget", broke, &["admission", "decision", "outcome"]),
        ];
        for (case, key, want) in refusals {
            let reply = at.send(key, None, "hello").await;
            let id = at.id(case, &reply);
            at.outcome(case, &id).await;
            let events = at.events(&id).await;
            assert_eq!(path(&events), want, "{}: {events:?}", at.what(case));
            ids.push((at.what(case), id));
        }
    }
    // Still one outcome each once every request has long ended.
    let events = gw.events().await;
    for (what, id) in ids {
        let outcomes = events
            .iter()
            .filter(|e| e.request_id.as_deref() == Some(&id) && e.kind.as_str() == "outcome")
            .count();
        assert_eq!(outcomes, 1, "{what}: outcome events at the end");
    }
}
