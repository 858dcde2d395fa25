//! Idle streams: open `streams` streaming requests, each counted as established once its first
//! body byte has arrived, keep them all open (draining whatever trickles in) for a while, then
//! drop them together. The caller samples the server's memory while they are held.

use crate::request::{self, Target};
use serde_json::json;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Opens the streams (at most `parallel` being set up at once), prints a `ready` line when all
/// are established or `setup` has passed, holds them for `hold`, and returns the final counts.
pub async fn idle_streams(
    target: Target,
    streams: usize,
    parallel: usize,
    setup: Duration,
    hold: Duration,
) -> serde_json::Value {
    let client = request::client(streams);
    let gate = Arc::new(tokio::sync::Semaphore::new(parallel.max(1)));
    let established = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let ended_early = Arc::new(AtomicUsize::new(0));
    let begin = Instant::now();
    let release_at = begin + setup + hold;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..streams {
        let (client, target, gate) = (client.clone(), target.clone(), gate.clone());
        let (established, failed, ended_early) =
            (established.clone(), failed.clone(), ended_early.clone());
        tasks.spawn(async move {
            let Ok(permit) = gate.acquire_owned().await else {
                return;
            };
            let opened = request::opened(&client, &target, setup).await;
            drop(permit);
            let Ok(mut body) = opened else {
                failed.fetch_add(1, Ordering::Relaxed);
                return;
            };
            established.fetch_add(1, Ordering::Relaxed);
            let drain = async {
                use http_body_util::BodyExt;
                while let Some(Ok(_)) = body.frame().await {}
                ended_early.fetch_add(1, Ordering::Relaxed);
                std::future::pending::<()>().await;
            };
            let _ = tokio::time::timeout_at(release_at.into(), drain).await;
        });
    }
    let setup_deadline = begin + setup;
    while established.load(Ordering::Relaxed) + failed.load(Ordering::Relaxed) < streams
        && Instant::now() < setup_deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let ready = json!({
        "event": "ready",
        "established": established.load(Ordering::Relaxed),
        "failed": failed.load(Ordering::Relaxed),
        "setup_seconds": begin.elapsed().as_secs_f64(),
    });
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{ready}");
    let _ = out.flush();
    drop(out);
    tokio::time::sleep(hold).await;
    let result = json!({
        "event": "done",
        "requested": streams,
        "established": established.load(Ordering::Relaxed),
        "failed": failed.load(Ordering::Relaxed),
        "ended_early": ended_early.load(Ordering::Relaxed),
    });
    tasks.abort_all();
    result
}
