//! The real binary against a damaged store file: `switchyard serve` and `switchyard events
//! verify` refuse it, exit non-zero, and say which file, what is wrong and what to do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A config whose store is `db`, in a fresh directory.
fn config_for(dir: &Path, db: &Path) -> PathBuf {
    let config = dir.join("switchyard.toml");
    std::fs::write(
        &config,
        format!(
            "store = \"sqlite://{}\"\nnode = \"cli-node\"\n[providers.mock]\nfamily = \"mock\"\n[aliases]\nfast = [\"mock/fast\"]\n",
            db.display()
        ),
    )
    .unwrap();
    config
}

fn fresh_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(switchyard_gateway::ids::new_id("cli-store"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs the binary with `args`, failing the test if it has not exited within 20 s.
fn run(args: &[&str], config: &Path) -> (bool, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(args)
        .arg("--config")
        .arg(config)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
            return (status.success(), stderr);
        }
        if started.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("switchyard {args:?} did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn assert_refused(config: &Path, db: &Path, problem: &str) {
    for args in [
        &["serve", "--listen", "127.0.0.1:0"][..],
        &["events", "verify"][..],
    ] {
        let (ok, stderr) = run(args, config);
        assert!(!ok, "{args:?} must fail: {stderr}");
        assert!(
            stderr.contains(&db.display().to_string()),
            "{args:?}: {stderr}"
        );
        assert!(stderr.contains(problem), "{args:?}: {stderr}");
        assert!(
            stderr.contains("restore it from a backup"),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[test]
fn a_file_that_is_not_a_database_is_refused() {
    let dir = fresh_dir();
    let db = dir.join("events.db");
    std::fs::write(&db, "this is a text file, not an event log\n".repeat(200)).unwrap();
    let config = config_for(&dir, &db);
    assert_refused(&config, &db, "is not a SQLite database");
}

#[tokio::test]
async fn a_truncated_store_is_refused() {
    let dir = fresh_dir();
    let db = dir.join("events.db");
    let store =
        switchyard_evidence::sqlite::SqliteStore::open(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
    let (log, writer) =
        switchyard_evidence::EventLog::start(std::sync::Arc::new(store), "cli-node", 4096)
            .await
            .unwrap();
    for i in 0..3000 {
        log.record(switchyard_evidence::Draft::new(
            switchyard_evidence::EventKind::Outcome,
            Some(&format!("req_{i}")),
            serde_json::json!({"i": i, "status": 200}),
        ))
        .await;
    }
    drop(log);
    writer.flushed().await;
    // Fold the write-ahead log into the file, then cut the file mid-page.
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let len = std::fs::metadata(&db).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&db)
        .unwrap()
        .set_len(len / 2 + 100)
        .unwrap();
    let config = config_for(&dir, &db);
    assert_refused(&config, &db, "truncated");
}
