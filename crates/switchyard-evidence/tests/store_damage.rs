//! Bad input at the file level: a SQLite store whose file is garbage, truncated, or has
//! damaged pages is refused at open with an error that names the file, says what is wrong and
//! what to do; a row edited in place deep inside a 100k-event chain is found by `verify`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use switchyard_evidence::event::{Digest, Event};
use switchyard_evidence::sqlite::SqliteStore;
use switchyard_evidence::store::{EventStore, Store, StoreError, open};
use switchyard_evidence::verify::verify_stream;
use switchyard_evidence::{Draft, EventKind};

fn fresh_dir(prefix: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "switchyard-{prefix}-{}-{}",
        std::process::id(),
        switchyard_evidence::event::now_ms()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `n` chained events of one stream, written with the multi-row append in large batches.
async fn append_chain(store: &dyn EventStore, stream: &str, n: u64) {
    let mut prev = Digest::GENESIS;
    let mut batch = Vec::with_capacity(10_000);
    for seq in 1..=n {
        let draft = Draft::new(
            EventKind::Outcome,
            Some(&format!("req_{seq}")),
            json!({"i": seq, "status": 200, "model": "openai/gpt-4o-mini", "latency_ms": 412.5}),
        );
        let e = Event::chain(stream, seq, prev, draft);
        prev = e.hash;
        batch.push(e);
        if batch.len() == 10_000 || seq == n {
            store.append(std::mem::take(&mut batch)).await.unwrap();
        }
    }
}

/// A closed store file holding `n` events, its write-ahead log folded in.
async fn written_file(prefix: &str, n: u64) -> PathBuf {
    let path = fresh_dir(prefix).join("events.db");
    let store = SqliteStore::open(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    append_chain(&store, "node", n).await;
    store.close().await;
    path
}

/// Bytes that look like nothing: a fixed xorshift sequence.
fn noise(len: usize, mut state: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

async fn open_error(path: &Path) -> String {
    match open(&format!("sqlite://{}", path.display())).await {
        Ok(_) => panic!("{} opened", path.display()),
        Err(e) => {
            assert!(
                matches!(e, StoreError::Damaged { .. }),
                "a damaged-file error: {e:?}"
            );
            let text = e.to_string();
            assert!(
                text.contains(&path.display().to_string()),
                "names the file: {text}"
            );
            assert!(
                text.contains("restore it from a backup"),
                "says what to do: {text}"
            );
            text
        }
    }
}

#[tokio::test]
async fn a_file_of_random_bytes_is_not_a_database() {
    let path = fresh_dir("garbage").join("events.db");
    std::fs::write(&path, noise(64 * 1024, 0x9e37_79b9_7f4a_7c15)).unwrap();
    let text = open_error(&path).await;
    assert!(text.contains("is not a SQLite database"), "{text}");
    // Nothing was written into it: the bytes are what they were.
    assert_eq!(
        std::fs::read(&path).unwrap(),
        noise(64 * 1024, 0x9e37_79b9_7f4a_7c15)
    );
}

#[tokio::test]
async fn a_store_replaced_by_random_bytes_is_refused() {
    let path = written_file("replaced", 2_000).await;
    let len = std::fs::metadata(&path).unwrap().len() as usize;
    std::fs::write(&path, noise(len, 42)).unwrap();
    let text = open_error(&path).await;
    assert!(text.contains("is not a SQLite database"), "{text}");
}

#[tokio::test]
async fn a_store_truncated_mid_page_is_refused() {
    let path = written_file("midpage", 5_000).await;
    let len = std::fs::metadata(&path).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(len / 2 + 1000)
        .unwrap();
    let text = open_error(&path).await;
    assert!(text.contains("truncated mid-page"), "{text}");
}

#[tokio::test]
async fn a_store_truncated_at_a_page_boundary_is_refused() {
    let path = written_file("pagecut", 5_000).await;
    let len = std::fs::metadata(&path).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len((len / 2) / 4096 * 4096)
        .unwrap();
    let text = open_error(&path).await;
    assert!(text.contains("is truncated: its header says"), "{text}");
}

#[tokio::test]
async fn a_store_with_damaged_pages_in_the_middle_fails_quick_check() {
    let path = written_file("pages", 5_000).await;
    let mut bytes = std::fs::read(&path).unwrap();
    let middle = bytes.len() / 2 / 4096 * 4096;
    bytes[middle..middle + 8192].copy_from_slice(&noise(8192, 7));
    std::fs::write(&path, &bytes).unwrap();
    let text = open_error(&path).await;
    assert!(
        text.contains("is damaged") || text.contains("fails its integrity check"),
        "{text}"
    );
}

#[tokio::test]
async fn an_intact_store_reopens_and_the_check_is_cheap() {
    let path = written_file("intact", 100_000).await;
    let bytes = std::fs::metadata(&path).unwrap().len();
    let started = Instant::now();
    let store = SqliteStore::open(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let took = started.elapsed();
    // Reported, not asserted tightly: the machine may be busy. quick_check reads every page.
    eprintln!("open with quick_check: 100k events, {bytes} bytes, {took:?}");
    assert!(took.as_secs() < 10, "{took:?}");
    assert_eq!(
        store.head("node").await.unwrap().map(|h| h.seq),
        Some(100_000)
    );
}

#[tokio::test]
async fn one_byte_edited_in_a_100k_chain_is_the_first_broken_link() {
    let dir = fresh_dir("edit100k");
    let url = format!("sqlite://{}", dir.join("events.db").display());
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&url).await.unwrap());
    let started = Instant::now();
    append_chain(store.as_ref(), "node", 100_000).await;
    let written = started.elapsed();
    let raw = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query("UPDATE events SET payload = replace(payload, '\"status\":200', '\"status\":201') WHERE stream = 'node' AND seq = 73421")
        .execute(&raw)
        .await
        .unwrap();
    raw.close().await;
    let started = Instant::now();
    let broken = verify_stream(store.as_ref(), "node")
        .await
        .unwrap()
        .expect_err("the edit is found");
    eprintln!(
        "100k events written in {written:?}, verified up to the break in {:?}",
        started.elapsed()
    );
    assert_eq!(broken.seq, 73_421, "{broken}");
    assert!(broken.problem.contains("edited"), "{broken}");
}
