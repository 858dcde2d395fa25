//! The door table and what every phase test shares: one row per door with its body and error
//! shape, the gateway bench (upstream, keys, budgets, classes), and how a row is sent and read.

use super::common::*;
use serde_json::{Value, json};

pub(crate) const ADMIN: &str = "admin-key-0123456789abcdef";

/// An error as a door wrote it: its type, its code where the shape has one, its message.
#[derive(Debug)]
pub(crate) struct ErrorBody {
    pub(crate) kind: String,
    pub(crate) code: Option<String>,
    pub(crate) message: String,
}

/// One front door, plain or streamed.
pub(crate) struct Door {
    /// The row's name, in every assertion message.
    pub(crate) name: &'static str,
    /// What the door's events call it (`door` of admission and outcome).
    pub(crate) door: &'static str,
    pub(crate) stream: bool,
}

pub(crate) const fn row(name: &'static str, door: &'static str, stream: bool) -> Door {
    Door { name, door, stream }
}

impl Door {
    pub(crate) fn path(&self) -> String {
        match self.door {
            "chat" => "/v1/chat/completions".into(),
            door => format!("/v1/{door}"),
        }
    }

    /// The model asked for at this door.
    pub(crate) fn model(&self) -> &'static str {
        match self.door {
            "embeddings" => EMBED,
            _ => CHAT,
        }
    }

    /// A request body for an input text.
    pub(crate) fn body(&self, text: &str) -> Value {
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
    pub(crate) fn error(&self, body: &Value) -> Option<ErrorBody> {
        match self.door {
            "messages" => anthropic_error(body),
            _ => openai_error(body),
        }
    }

    /// Text every served answer of this door holds (a stream: its proper end).
    pub(crate) fn served(&self) -> &'static str {
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
pub(crate) fn openai_error(body: &Value) -> Option<ErrorBody> {
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
pub(crate) fn anthropic_error(body: &Value) -> Option<ErrorBody> {
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

pub(crate) const CHAT: &str = "up/chat";
pub(crate) const EMBED: &str = "up/embed";

pub(crate) static DOORS: [Door; 7] = [
    row("chat", "chat", false),
    row("chat-stream", "chat", true),
    row("messages", "messages", false),
    row("messages-stream", "messages", true),
    row("embeddings", "embeddings", false),
    row("responses", "responses", false),
    row("responses-stream", "responses", true),
];

/// The Anthropic error type of a refusal's status, as Anthropic's API names it.
pub(crate) fn anthropic_type(status: u16) -> &'static str {
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
pub(crate) struct Keys {
    pub(crate) good: String,
    pub(crate) other_model: String,
    pub(crate) public_only: String,
    pub(crate) broke: String,
}

pub(crate) async fn key(gw: &Gateway, body: Value) -> String {
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
pub(crate) async fn bench(upstream: &Upstream) -> (Gateway, Keys) {
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
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: reqwest::header::HeaderMap,
    pub(crate) text: String,
}

impl Reply {
    pub(crate) fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// Sends `text` through `door` with `key` (none: no credential) and the route class `class`.
pub(crate) async fn send(
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
pub(crate) struct At<'a> {
    pub(crate) gw: &'a Gateway,
    pub(crate) door: &'static Door,
    pub(crate) phase: &'static str,
}

impl At<'_> {
    pub(crate) fn what(&self, case: &str) -> String {
        format!("{} / {}, {case}", self.door.name, self.phase)
    }

    pub(crate) async fn send(&self, key: Option<&str>, class: Option<&str>, text: &str) -> Reply {
        send(&self.gw.root, self.door, key, class, text).await
    }

    /// The request id the answer names.
    pub(crate) fn id(&self, case: &str, reply: &Reply) -> String {
        let id = reply.header("x-switchyard-request-id");
        assert!(!id.is_empty(), "{}: no request id", self.what(case));
        id.to_owned()
    }

    /// The request's events, in the order the log keeps them: (kind, payload).
    pub(crate) async fn events(&self, request_id: &str) -> Vec<(String, Value)> {
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
    pub(crate) async fn outcome(&self, case: &str, request_id: &str) -> Value {
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
    pub(crate) async fn served(&self, case: &str, reply: &Reply) -> String {
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
    pub(crate) async fn refused(&self, case: &str, reply: &Reply, status: u16, code: &str) {
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
pub(crate) fn doors<'a>(gw: &'a Gateway, phase: &'static str) -> impl Iterator<Item = At<'a>> {
    DOORS.iter().map(move |door| At { gw, door, phase })
}
