//! A SQLite store written before the event log became a rowid table with binary hashes
//! (migration 0005) is carried over whole: the same events, the same chain, `verify` passes,
//! new events continue the chain; a hash column that was edited into something that is not
//! hex survives the migration as bytes, and `verify` still reports that row.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::json;
use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use std::path::PathBuf;
use std::str::FromStr;
use switchyard_evidence::event::{Digest, Event};
use switchyard_evidence::sqlite::SqliteStore;
use switchyard_evidence::store::{EventStore, StoreError};
use switchyard_evidence::verify::verify_stream;
use switchyard_evidence::{Draft, EventKind};

/// The event table as migration 0001 created it, before 0005.
const OLD_SCHEMA: &str = "
CREATE TABLE events (
    stream TEXT NOT NULL, seq INTEGER NOT NULL, ts_ms INTEGER NOT NULL, kind TEXT NOT NULL,
    request_id TEXT, payload TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL,
    PRIMARY KEY (stream, seq)
) WITHOUT ROWID;
CREATE INDEX events_request ON events (request_id);
CREATE INDEX events_kind_ts ON events (kind, ts_ms);";

fn chain(stream: &str, n: u64) -> Vec<Event> {
    let mut prev = Digest::GENESIS;
    (1..=n)
        .map(|seq| {
            let kind = [
                EventKind::Admission,
                EventKind::Decision,
                EventKind::Outcome,
            ][(seq % 3) as usize];
            let draft = Draft::new(kind, Some(&format!("req_{}", seq / 3)), json!({"i": seq}));
            let e = Event::chain(stream, seq, prev, draft);
            prev = e.hash;
            e
        })
        .collect()
}

/// A file holding `events` in the old table, hashes as hex text.
async fn old_store(name: &str, events: &[Event]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "switchyard-migrate-{name}-{}-{}",
        std::process::id(),
        switchyard_evidence::event::now_ms()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("events.db");
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
        .unwrap()
        .create_if_missing(true);
    let mut conn = SqliteConnection::connect_with(&options).await.unwrap();
    sqlx::raw_sql(OLD_SCHEMA).execute(&mut conn).await.unwrap();
    for e in events {
        sqlx::query("INSERT INTO events VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")
            .bind(&e.stream)
            .bind(e.seq as i64)
            .bind(e.ts_ms)
            .bind(&e.kind)
            .bind(&e.request_id)
            .bind(&e.payload)
            .bind(e.prev_hash.to_hex())
            .bind(e.hash.to_hex())
            .execute(&mut conn)
            .await
            .unwrap();
    }
    conn.close().await.unwrap();
    path
}

#[tokio::test]
async fn an_old_store_keeps_its_events_and_its_chain() {
    let events = chain("node", 500);
    let path = old_store("whole", &events).await;
    let store = SqliteStore::open(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    assert_eq!(store.read("node", 0, 1000).await.unwrap(), events);
    let verified = verify_stream(&store, "node").await.unwrap().unwrap();
    assert_eq!(verified.events, 500);
    let head = store.head("node").await.unwrap().unwrap();
    assert_eq!((head.seq, head.hash), (500, events[499].hash));
    // Reads by request and by kind over a time window still find their rows.
    assert_eq!(
        store.for_request("req_7").await.unwrap(),
        events[20..23].to_vec()
    );
    let decisions = store
        .by_kind(EventKind::Decision, 0, i64::MAX, None, 1000)
        .await
        .unwrap();
    assert_eq!(decisions.len(), 167);
    assert!(decisions.iter().all(|e| e.kind == "decision"));
    // The chain goes on where it stopped.
    let next = Event::chain(
        "node",
        501,
        head.hash,
        Draft::new(EventKind::Outcome, None, json!({"after": "migration"})),
    );
    store.append(vec![next]).await.unwrap();
    assert_eq!(
        verify_stream(&store, "node").await.unwrap().unwrap().events,
        501
    );
}

#[tokio::test]
async fn an_edited_hash_survives_the_migration_and_is_reported() {
    // Edited to another well-formed hash: carried over as it is, found by verify.
    let mut events = chain("node", 50);
    events[29].hash = Digest([7; 32]);
    let path = old_store("edited", &events).await;
    let store = SqliteStore::open(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let broken = verify_stream(&store, "node")
        .await
        .unwrap()
        .expect_err("the edited hash is found");
    assert_eq!(broken.seq, 30, "{broken}");

    // Edited into something that is not hex: the migration keeps the text's bytes, and
    // reading the row says which one it is and what is wrong with it.
    let path = old_store("not-hex", &chain("node", 50)).await;
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display())).unwrap();
    let mut conn = SqliteConnection::connect_with(&options).await.unwrap();
    sqlx::query("UPDATE events SET hash = 'not a hash' WHERE seq = 40")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let store = SqliteStore::open(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    match verify_stream(&store, "node").await {
        Err(StoreError::Corrupt(message)) => {
            assert!(message.contains("node#40"), "{message}");
            assert!(message.contains("10 bytes, not 32"), "{message}");
        }
        other => panic!("expected the unreadable hash to be reported, got {other:?}"),
    }
}
