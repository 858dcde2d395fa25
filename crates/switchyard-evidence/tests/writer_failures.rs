//! The batching writer when the store misbehaves: a full disk (SQLite's page cap) makes it
//! hold events, count the failures and report itself unhealthy, durable records fail instead
//! of hanging, and once space returns the held events are written and the chain holds. A
//! full queue is counted, never a silent drop; a commit whose reply was lost is not written
//! twice. And the writer works on its own thread, never on the workers serving requests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use async_trait::async_trait;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use switchyard_evidence::event::{Digest, Event};
use switchyard_evidence::sqlite::SqliteStore;
use switchyard_evidence::store::{EventStore, StoreError};
use switchyard_evidence::testing::{AppendHook, Intercepted};
use switchyard_evidence::verify::verify_stream;
use switchyard_evidence::writer::Limits;
use switchyard_evidence::{Draft, EventKind, EventLog};
use tokio::sync::Semaphore;

async fn sqlite(prefix: &str) -> Arc<SqliteStore> {
    let dir = std::env::temp_dir().join(format!(
        "switchyard-{prefix}-{}-{}",
        std::process::id(),
        switchyard_evidence::event::now_ms()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("events.db").display());
    Arc::new(SqliteStore::open(&url).await.unwrap())
}

/// An event too big to fit in pages the file already has.
fn big(i: usize) -> Draft {
    Draft::new(
        EventKind::Outcome,
        Some(&format!("req_{i}")),
        json!({"i": i, "filler": "x".repeat(64_000)}),
    )
}

/// How long a test waits for the writer before it fails: ample on a loaded two-core machine,
/// and spent only by a test that fails.
const PATIENCE: Duration = Duration::from_secs(30);

/// Waits for `what`: polls `cond` every 10 ms, failing after [`PATIENCE`].
async fn eventually(what: &str, cond: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "waited {PATIENCE:?} for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_full_disk_is_a_full_error() {
    let store = sqlite("full").await;
    store.limit_pages(Some(1));
    let e = Event::chain("n", 1, Digest::GENESIS, big(0));
    let err = store.append(vec![e]).await.unwrap_err();
    assert!(err.is_full(), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("the store is full"), "{text}");
    assert!(text.contains("free disk space"), "{text}");
}

#[tokio::test]
async fn the_writer_holds_events_through_a_full_disk_and_recovers() {
    let store = sqlite("writer-full").await;
    let limits = Limits {
        queue: 64,
        backlog: 50,
    };
    let (log, writer) = EventLog::start_with(store.clone(), "node", limits)
        .await
        .unwrap();
    for i in 0..10 {
        log.record(big(i)).await;
    }
    let stats = || log.stats();
    eventually("the first events written", || {
        stats().written.load(Ordering::Relaxed) == 10
    })
    .await;
    assert!(log.healthy());

    // The disk fills: events are held, failures counted, the log turns unhealthy.
    store.limit_pages(Some(1));
    for i in 10..30 {
        log.record(big(i)).await;
    }
    eventually("the writer reports the store failing", || !log.healthy()).await;
    assert!(stats().write_errors.load(Ordering::Relaxed) >= 3);
    eventually("20 events held", || {
        stats().held.load(Ordering::Relaxed) == 20
    })
    .await;
    assert_eq!(
        stats().failed.load(Ordering::Relaxed),
        0,
        "nothing lost yet"
    );

    // A durable record fails at once rather than waiting for the disk (which would be until
    // the end of the test): the real clock is what is tested, with ample room for a loaded
    // machine.
    let durable = tokio::time::timeout(Duration::from_secs(10), log.record_durable(big(30)))
        .await
        .expect("record_durable returns while the store is failing");
    let message = durable.unwrap_err().to_string();
    assert!(message.contains("the store is full"), "{message}");
    assert!(message.contains("not recorded"), "{message}");

    // Past the backlog, events are dropped and counted.
    for i in 31..70 {
        log.record(big(i)).await;
    }
    eventually("the backlog full and the rest counted", || {
        stats().held.load(Ordering::Relaxed) == 50 && stats().failed.load(Ordering::Relaxed) == 9
    })
    .await;

    // Space returns: the held events are written, in order, and the chain holds.
    store.limit_pages(None);
    eventually("the backlog written", || {
        log.healthy() && stats().held.load(Ordering::Relaxed) == 0
    })
    .await;
    assert_eq!(stats().written.load(Ordering::Relaxed), 60);
    let seq = log.record_durable(big(99)).await.unwrap();
    assert_eq!(seq, 61);
    drop(log);
    writer.flushed().await;
    let ok = verify_stream(store.as_ref(), "node")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ok.events, 61);
    let held = store.read("node", 10, 100).await.unwrap();
    let order: Vec<u64> = held
        .iter()
        .map(|e| {
            serde_json::from_str::<serde_json::Value>(&e.payload).unwrap()["i"]
                .as_u64()
                .unwrap()
        })
        .collect();
    let mut expected: Vec<u64> = (10..30).chain(31..61).collect();
    expected.push(99);
    assert_eq!(order, expected, "held events keep their order");
}

#[tokio::test]
async fn a_writer_stopping_on_a_full_disk_counts_what_it_loses() {
    let store = sqlite("stop-full").await;
    let (log, writer) = EventLog::start(store.clone(), "node", 64).await.unwrap();
    store.limit_pages(Some(1));
    for i in 0..5 {
        log.record(big(i)).await;
    }
    eventually("the store failing", || !log.healthy()).await;
    let stats = writer.stats();
    drop(log);
    tokio::time::timeout(Duration::from_secs(15), writer.flushed())
        .await
        .expect("the writer gives up within a few attempts once the queue closes");
    assert_eq!(
        stats.failed.load(Ordering::Relaxed),
        5,
        "the lost events are counted"
    );
    assert_eq!(stats.held.load(Ordering::Relaxed), 0);
}

/// A hook whose appends wait for a permit, and whose next append can be made to commit and
/// then report failure (a lost reply).
struct Gate {
    permits: Semaphore,
    lose_reply: AtomicBool,
    /// The name of the thread each append ran on.
    appended_on: std::sync::Mutex<Vec<String>>,
}

#[async_trait]
impl AppendHook for Gate {
    async fn append(&self, store: &dyn EventStore, events: Vec<Event>) -> Result<(), StoreError> {
        self.permits.acquire().await.unwrap().forget();
        let thread = std::thread::current()
            .name()
            .unwrap_or("unnamed")
            .to_owned();
        self.appended_on.lock().unwrap().push(thread);
        store.append(events).await?;
        if self.lose_reply.swap(false, Ordering::SeqCst) {
            return Err(StoreError::Query("connection reset during COMMIT".into()));
        }
        Ok(())
    }
}

/// A gated SQLite store under a fresh file named after `prefix`.
async fn gated(prefix: &str, permits: usize, lose_reply: bool) -> Arc<Intercepted<Gate>> {
    let gate = Gate {
        permits: Semaphore::new(permits),
        lose_reply: AtomicBool::new(lose_reply),
        appended_on: Default::default(),
    };
    Arc::new(Intercepted::new(sqlite(prefix).await, gate))
}

#[tokio::test]
async fn a_full_queue_is_counted_and_waited_on_never_dropped() {
    let gated = gated("queue-full", 0, false).await;
    let (log, writer) = EventLog::start(gated.clone(), "node", 4).await.unwrap();
    // The writer is stuck in its first append; the queue (4) fills and submitters wait.
    let mut submitters = Vec::new();
    for i in 0..40 {
        let log = log.clone();
        submitters.push(tokio::spawn(async move { log.record(big(i)).await }));
    }
    eventually("the queue full", || {
        log.stats().queue_full.load(Ordering::Relaxed) > 0
    })
    .await;
    gated.hook().permits.add_permits(1_000);
    for s in submitters {
        s.await.unwrap();
    }
    let stats = log.stats();
    eventually("all written", || {
        stats.written.load(Ordering::Relaxed) == 40
    })
    .await;
    assert_eq!(stats.failed.load(Ordering::Relaxed), 0, "none dropped");
    drop(log);
    writer.flushed().await;
    let ok = verify_stream(gated.as_ref(), "node")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ok.events, 40);
}

#[tokio::test]
async fn a_commit_whose_reply_was_lost_is_not_written_twice() {
    let gated = gated("lost-reply", 1_000, true).await;
    let (log, writer) = EventLog::start(gated.clone(), "node", 64).await.unwrap();
    let first = log.record_durable(big(0)).await.unwrap();
    assert_eq!(first, 1, "the lost reply is found committed on the retry");
    log.record(big(1)).await;
    drop(log);
    writer.flushed().await;
    let ok = verify_stream(gated.as_ref(), "node")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ok.events, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_written_from_the_writer_thread_not_the_request_workers() {
    let gated = gated("thread", 1_000, false).await;
    let (log, writer) = EventLog::start(gated.clone(), "node", 64).await.unwrap();
    let recorded = tokio::spawn(async move {
        log.record_durable(big(0)).await.unwrap();
        log.record(big(1)).await;
    });
    recorded.await.unwrap();
    writer.flushed().await;
    let threads = gated.hook().appended_on.lock().unwrap().clone();
    assert!(!threads.is_empty());
    assert!(
        threads.iter().all(|t| t == "evidence-writer"),
        "appends ran on {threads:?}"
    );
}
