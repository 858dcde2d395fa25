//! Every front door goes through the same request path. One table row per door (OpenAI chat,
//! Anthropic Messages and OpenAI Responses, each plain and streamed; OpenAI embeddings), and one
//! test per phase of the path run over every row: admission, classification, the key's checks, the
//! decision, budgets, upstream redaction, the heavy-context pool, and the evidence left behind.
//! Written against the HTTP surface, what the upstream received and the recorded events only.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../common/mod.rs"]
mod common;
mod table;

use common::*;
use serde_json::{Value, json};
use table::*;

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
