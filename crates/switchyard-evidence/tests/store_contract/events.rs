//! The event log: chains verify and continue across restarts of the writer, a durable record
//! is readable once it returns, reads by kind page in time order, and every kind of tampering
//! is found at the event it touched.

use crate::{Backend, raw, unique};
use serde_json::json;
use std::sync::Arc;
use switchyard_evidence::event::{Digest, Event};
use switchyard_evidence::store::{EventStore, Position};
use switchyard_evidence::verify::verify_stream;
use switchyard_evidence::{Draft, EventKind, EventLog};

on_both_backends!(contract);

async fn contract(backend: &Backend) {
    let store: Arc<dyn EventStore> = backend.store.clone();
    chains_verify_and_continue(&store).await;
    by_kind_pages_in_time_order(store.as_ref()).await;
    tampering_is_found(&store, &backend.url).await;
}

async fn write(store: &Arc<dyn EventStore>, stream: &str, n: usize) {
    let (log, writer) = EventLog::start(store.clone(), stream, 4096).await.unwrap();
    for i in 0..n {
        log.record(Draft::new(
            EventKind::Outcome,
            Some(&format!("req_{i}")),
            json!({"i": i, "status": 200}),
        ))
        .await;
    }
    drop(log);
    writer.flushed().await;
}

async fn chains_verify_and_continue(store: &Arc<dyn EventStore>) {
    // A chain verifies and continues across restarts of the writer.
    let stream = unique("node");
    write(store, &stream, 300).await;
    write(store, &stream, 200).await;
    let ok = verify_stream(store.as_ref(), &stream)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ok.events, 500);
    assert!(store.streams().await.unwrap().contains(&stream));
    assert_eq!(
        store
            .for_request("req_7")
            .await
            .unwrap()
            .iter()
            .filter(|e| e.stream == stream)
            .count(),
        2
    );

    // A durable record is readable as soon as it returns.
    let (log, writer) = EventLog::start(store.clone(), &stream, 16).await.unwrap();
    let seq = log
        .record_durable(Draft::new(
            EventKind::Decision,
            Some("req_d"),
            json!({"plan": ["a"]}),
        ))
        .await
        .unwrap();
    assert_eq!(seq, 501);
    assert_eq!(store.head(&stream).await.unwrap().map(|h| h.seq), Some(501));
    drop(log);
    writer.flushed().await;
}

/// Reading one kind in a time window, across streams, page by page.
async fn by_kind_pages_in_time_order(store: &dyn EventStore) {
    // Negative times no other test writes, unique per run, so a shared database cannot interfere.
    let base = -switchyard_evidence::event::now_ms() * 1000;
    let (a, b) = (unique("kind-a"), unique("kind-b"));
    let chain = |stream: &str, rows: &[(i64, EventKind)]| {
        let mut prev = Digest::GENESIS;
        let mut out = Vec::new();
        for (i, (ts, kind)) in rows.iter().enumerate() {
            let mut draft = Draft::new(*kind, None, json!({"at": ts}));
            draft.ts_ms = base + ts;
            let e = Event::chain(stream, i as u64 + 1, prev, draft);
            prev = e.hash;
            out.push(e);
        }
        out
    };
    let o = EventKind::Outcome;
    store
        .append(chain(
            &a,
            &[(10, o), (10, EventKind::Attempt), (20, o), (30, o)],
        ))
        .await
        .unwrap();
    store.append(chain(&b, &[(10, o), (20, o)])).await.unwrap();
    let mut seen = Vec::new();
    let mut after: Option<Position> = None;
    loop {
        let page = store
            .by_kind(o, base + 10, base + 30, after.as_ref(), 2)
            .await
            .unwrap();
        assert!(page.len() <= 2);
        let Some(last) = page.last() else { break };
        after = Some(Position::of(last));
        seen.extend(
            page.iter()
                .map(|e| (e.ts_ms - base, e.stream.clone(), e.seq)),
        );
    }
    assert_eq!(
        seen,
        [
            (10, a.clone(), 1),
            (10, b.clone(), 1),
            (20, a.clone(), 3),
            (20, b.clone(), 2)
        ],
        "outcomes only, until exclusive, ordered by time, stream, seq"
    );
    let attempts = store
        .by_kind(EventKind::Attempt, base, base + 100, None, 10)
        .await
        .unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(
        (attempts[0].stream.as_str(), attempts[0].seq),
        (a.as_str(), 2)
    );
}

/// Each kind of tampering is found at the event it touched.
async fn tampering_is_found(store: &Arc<dyn EventStore>, url: &str) {
    let cases = [
        (
            "edit one byte of a payload",
            "UPDATE events SET payload = replace(payload, '\"status\":200', '\"status\":201') WHERE stream = '{s}' AND seq = 40",
            40,
        ),
        (
            "edit a timestamp",
            "UPDATE events SET ts_ms = ts_ms + 1 WHERE stream = '{s}' AND seq = 41",
            41,
        ),
        (
            "edit a kind",
            "UPDATE events SET kind = 'attempt' WHERE stream = '{s}' AND seq = 42",
            42,
        ),
        (
            "delete a row",
            "DELETE FROM events WHERE stream = '{s}' AND seq = 43",
            43,
        ),
        (
            "reorder two rows",
            // Reordering needs a free slot while the primary key holds both rows.
            "UPDATE events SET seq = -1 WHERE stream = '{s}' AND seq = 44;\
             UPDATE events SET seq = 44 WHERE stream = '{s}' AND seq = 45;\
             UPDATE events SET seq = 45 WHERE stream = '{s}' AND seq = -1",
            44,
        ),
    ];
    for (what, sql, at) in cases {
        let stream = unique("tamper");
        write(store, &stream, 60).await;
        assert!(
            verify_stream(store.as_ref(), &stream)
                .await
                .unwrap()
                .is_ok()
        );
        for statement in sql.split(';') {
            raw(url, &statement.replace("{s}", &stream)).await;
        }
        let broken = verify_stream(store.as_ref(), &stream)
            .await
            .unwrap()
            .expect_err(what);
        assert_eq!(broken.seq, at, "{what}: {broken}");
    }
}

#[tokio::test]
async fn a_chain_of_100k_events_verifies() {
    let backend = Backend::sqlite().await;
    let store: Arc<dyn EventStore> = backend.store.clone();
    let stream = unique("big");
    write(&store, &stream, 100_000).await;
    let ok = verify_stream(store.as_ref(), &stream)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ok.events, 100_000);
}
