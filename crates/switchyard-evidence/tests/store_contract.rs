//! The store contract, run against SQLite and against the real PostgreSQL server: chains
//! verify, continue across restarts, and every kind of tampering is found at the right event.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::json;
use std::sync::Arc;
use switchyard_evidence::artifact::{Artifact, ArtifactKind};
use switchyard_evidence::event::{Digest, Event};
use switchyard_evidence::keys::{KeyRecord, hash_secret};
use switchyard_evidence::store::{Position, Store, open};
use switchyard_evidence::verify::verify_stream;
use switchyard_evidence::{Draft, EventKind, EventLog};

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        switchyard_evidence::event::now_ms()
    )
}

async fn sqlite() -> (Arc<dyn Store>, String) {
    let dir = std::env::temp_dir().join(unique("switchyard-store"));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("events.db").display());
    (open(&url).await.unwrap(), url)
}

fn postgres_url() -> String {
    std::env::var("SWITCHYARD_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A fresh database on the PostgreSQL server for this run, so migrations from other checkouts
/// sharing the server cannot interfere; dropped by [`drop_postgres`].
async fn postgres() -> (Arc<dyn Store>, String) {
    let admin = postgres_url();
    let name = unique("switchyard_contract").replace('-', "_");
    let pool = sqlx::PgPool::connect(&admin).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let base = &admin[..admin.rfind('/').unwrap()];
    let url = format!("{base}/{name}");
    (open(&url).await.unwrap(), url)
}

async fn drop_postgres(url: &str) {
    let name = &url[url.rfind('/').unwrap() + 1..];
    let pool = sqlx::PgPool::connect(&postgres_url()).await.unwrap();
    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&pool)
    .await;
}

async fn write(store: &Arc<dyn Store>, stream: &str, n: usize) {
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

/// Runs raw SQL against the store's database to tamper with it.
async fn tamper(url: &str, sql: &str) {
    if url.starts_with("sqlite") {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(&pool)
            .await
            .unwrap();
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(&pool)
            .await
            .unwrap();
    }
}

/// The shared budget ledger: grants what fits under the limit across the counted buckets,
/// nothing below the floor, and takes back what is returned.
async fn leases(store: &Arc<dyn Store>) {
    use switchyard_evidence::budget_ledger::LeaseAsk;
    let scope = unique("tenant:lease");
    let ask = |bucket_ms, since_ms, want, at_least| LeaseAsk {
        scope: &scope,
        bucket_ms,
        since_ms,
        want,
        at_least,
        limit: 1_000,
    };
    let g = store.take_lease(&ask(0, 0, 600, 10)).await.unwrap();
    assert_eq!((g.granted, g.leased), (600, 600));
    let g = store.take_lease(&ask(100, 0, 600, 10)).await.unwrap();
    assert_eq!((g.granted, g.leased), (400, 1_000), "both buckets count");
    let g = store.take_lease(&ask(100, 0, 600, 1)).await.unwrap();
    assert_eq!(g.granted, 0, "nothing left");
    let g = store.take_lease(&ask(100, 100, 700, 700)).await.unwrap();
    assert_eq!(
        g.granted, 0,
        "600 left once bucket 0 stops counting: under the floor"
    );
    store.return_lease(&scope, 100, 300).await.unwrap();
    let g = store.take_lease(&ask(100, 100, 900, 900)).await.unwrap();
    assert_eq!((g.granted, g.leased), (900, 1_000));
}

async fn contract(store: Arc<dyn Store>, url: &str) {
    leases(&store).await;
    // A chain verifies and continues across restarts of the writer.
    let stream = unique("node");
    write(&store, &stream, 300).await;
    write(&store, &stream, 200).await;
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

    // Artifacts: stored, read back, and deleted once expired (and only then).
    let now = switchyard_evidence::event::now_ms();
    let art = |id: &str, expires_ms: i64| Artifact {
        id: format!("{stream}-{id}"),
        request_id: "req_a".into(),
        kind: ArtifactKind::Prompt,
        created_ms: now,
        expires_ms,
        key_id: Some("k1".into()),
        body: vec![0, 159, 146, 150, 255],
    };
    store.put_artifact(&art("old", now - 1)).await.unwrap();
    store.put_artifact(&art("new", now + 60_000)).await.unwrap();
    assert_eq!(
        store.get_artifact(&format!("{stream}-old")).await.unwrap(),
        Some(art("old", now - 1))
    );
    let deleted = store.delete_expired(now, 10_000).await.unwrap();
    assert!(deleted.iter().any(|d| d.id == format!("{stream}-old")));
    assert!(!deleted.iter().any(|d| d.id == format!("{stream}-new")));
    assert_eq!(
        store.get_artifact(&format!("{stream}-old")).await.unwrap(),
        None
    );
    assert!(
        store
            .get_artifact(&format!("{stream}-new"))
            .await
            .unwrap()
            .is_some()
    );
    by_kind_pages_in_time_order(&store).await;
    keys(&store).await;

    // Each kind of tampering is found at the event it touched.
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
            "UPDATE events SET seq = CASE seq WHEN 44 THEN 45 ELSE 44 END WHERE stream = '{s}' AND seq IN (44, 45)",
            44,
        ),
    ];
    for (what, sql, at) in cases {
        let stream = unique("tamper");
        write(&store, &stream, 60).await;
        assert!(
            verify_stream(store.as_ref(), &stream)
                .await
                .unwrap()
                .is_ok()
        );
        // Reordering needs a free slot while the primary key holds both rows.
        if what == "reorder two rows" {
            tamper(
                url,
                &format!("UPDATE events SET seq = -1 WHERE stream = '{stream}' AND seq = 44"),
            )
            .await;
            tamper(
                url,
                &format!("UPDATE events SET seq = 44 WHERE stream = '{stream}' AND seq = 45"),
            )
            .await;
            tamper(
                url,
                &format!("UPDATE events SET seq = 45 WHERE stream = '{stream}' AND seq = -1"),
            )
            .await;
        } else {
            tamper(url, &sql.replace("{s}", &stream)).await;
        }
        let broken = verify_stream(store.as_ref(), &stream)
            .await
            .unwrap()
            .expect_err(what);
        assert_eq!(broken.seq, at, "{what}: {broken}");
    }
}

/// Keys: stored by hash, found only while active, listed by tenant, revoked once.
async fn keys(store: &Arc<dyn Store>) {
    // Unique tenants per run, so a shared database cannot interfere.
    let (acme, other) = (unique("acme"), unique("other"));
    let before = store.count_active_keys().await.unwrap();
    let policy = json!({"models": ["fast"], "rpm": 60});
    let (a, secret_a) = KeyRecord::mint(&acme, Some("ci"), policy.clone(), 1_000).unwrap();
    let (b, secret_b) = KeyRecord::mint(&acme, None, json!({}), 2_000).unwrap();
    let (c, _) = KeyRecord::mint(&other, Some("x"), json!({}), 3_000).unwrap();
    for k in [&a, &b, &c] {
        store.put_key(k).await.unwrap();
    }
    assert_eq!(store.count_active_keys().await.unwrap(), before + 3);

    // Found by the hash of the secret, with every column intact; never by the secret itself.
    let found = store
        .find_key_by_hash(&hash_secret(&secret_a))
        .await
        .unwrap();
    assert_eq!(found.as_ref(), Some(&a));
    assert_eq!(found.unwrap().policy, policy);
    assert_eq!(store.find_key_by_hash(&secret_a).await.unwrap(), None);
    assert_eq!(
        store
            .find_key_by_hash(&hash_secret("sy-unknown"))
            .await
            .unwrap(),
        None
    );

    // Listed per tenant, oldest first; all tenants without a filter.
    assert_eq!(
        store.list_keys(Some(&acme)).await.unwrap(),
        vec![a.clone(), b.clone()]
    );
    let all = store.list_keys(None).await.unwrap();
    assert!(all.contains(&a) && all.contains(&b) && all.contains(&c));

    // A hash is unique: the same secret cannot be stored twice.
    let mut twin = c.clone();
    twin.id = format!("{}x", c.id);
    assert!(store.put_key(&twin).await.is_err());

    // Revoked once: no longer found, still listed with its time, not revoked twice.
    let revoked = store.revoke_key(&b.id, 5_000).await.unwrap().unwrap();
    assert_eq!(revoked.revoked_ms, Some(5_000));
    assert_eq!(revoked.hash, b.hash);
    assert!(!revoked.is_active());
    assert_eq!(
        store
            .find_key_by_hash(&hash_secret(&secret_b))
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.revoke_key(&b.id, 6_000).await.unwrap(), None);
    assert_eq!(store.revoke_key("key_missing", 6_000).await.unwrap(), None);
    let listed = store.list_keys(Some(&acme)).await.unwrap();
    assert_eq!(listed[1].revoked_ms, Some(5_000));
    assert_eq!(store.count_active_keys().await.unwrap(), before + 2);
    store.revoke_key(&a.id, 7_000).await.unwrap().unwrap();
    store.revoke_key(&c.id, 7_000).await.unwrap().unwrap();
    assert_eq!(store.count_active_keys().await.unwrap(), before);
}

/// Reading one kind in a time window, across streams, page by page.
async fn by_kind_pages_in_time_order(store: &Arc<dyn Store>) {
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

#[tokio::test]
async fn sqlite_store_contract() {
    let (store, url) = sqlite().await;
    contract(store, &url).await;
}

#[tokio::test]
async fn postgres_store_contract() {
    let (store, url) = postgres().await;
    contract(store, &url).await;
    drop_postgres(&url).await;
}

#[tokio::test]
async fn a_chain_of_100k_events_verifies() {
    let (store, _) = sqlite().await;
    let stream = unique("big");
    write(&store, &stream, 100_000).await;
    let ok = verify_stream(store.as_ref(), &stream)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ok.events, 100_000);
}
