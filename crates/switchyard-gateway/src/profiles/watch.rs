//! Hot reload triggers: SIGHUP, and the config file changing on disk (bursts of changes are
//! folded into one reload). The file itself is watched, not its directory: the event store
//! usually sits beside the config, and a directory watch would wake this process for every
//! write to it. Editors that replace the file (write a new one, rename it over) are still seen:
//! the old file's removal is an event too, and the watch is renewed on the path after each
//! change.

use crate::state::AppState;
use notify::{RecursiveMode, Watcher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Quiet time after a change before reloading, so a save in several writes reloads once.
const SETTLE: Duration = Duration::from_millis(300);

/// Reloads `path` on SIGHUP and on changes to it, until the server stops (the tasks hold the
/// state weakly, so a graceful stop can flush the event log).
pub fn spawn(state: &Arc<AppState>, path: PathBuf) -> Result<(), String> {
    let state = Arc::downgrade(state);
    let (tx, mut rx) = mpsc::unbounded_channel::<()>();
    let name = path.file_name().map(|n| n.to_owned());
    let file_tx = tx.clone();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event
            && !event.kind.is_access()
            && event
                .paths
                .iter()
                .any(|p| p.file_name().map(|n| n.to_owned()) == name)
        {
            let _ = file_tx.send(());
        }
    })
    .map_err(|e| format!("cannot watch the config file: {e}"))?;
    watcher
        .watch(&path, RecursiveMode::NonRecursive)
        .map_err(|e| format!("cannot watch {}: {e}", path.display()))?;
    #[cfg(unix)]
    {
        let hup_tx = tx;
        tokio::spawn(async move {
            let kind = tokio::signal::unix::SignalKind::hangup();
            let Ok(mut hup) = tokio::signal::unix::signal(kind) else {
                tracing::error!("cannot listen for SIGHUP; reload on file change only");
                return;
            };
            while hup.recv().await.is_some() {
                tracing::info!("SIGHUP: reloading the config");
                if hup_tx.send(()).is_err() {
                    return;
                }
            }
        });
    }
    tokio::spawn(async move {
        while rx.recv().await.is_some() {
            // Fold the burst: wait until changes stop for SETTLE.
            while let Ok(Some(())) = tokio::time::timeout(SETTLE, rx.recv()).await {}
            // A replaced file is a new inode: follow the path, not the old file. (Before taking
            // the state: a renewal may wait, and must not hold up a graceful stop.)
            renew(&mut watcher, &path).await;
            let Some(state) = state.upgrade() else {
                return;
            };
            // Errors are logged and recorded by reload; the running config stays.
            let _ = super::reload(&state, &path).await;
        }
    });
    Ok(())
}

/// Watches `path` afresh. An editor may leave it missing for a moment between removing the
/// old file and renaming the new one in, so a failed watch is retried for a few seconds.
async fn renew(watcher: &mut notify::RecommendedWatcher, path: &Path) {
    let _ = watcher.unwatch(path);
    for _ in 0..20 {
        match watcher.watch(path, RecursiveMode::NonRecursive) {
            Ok(()) => return,
            Err(_) => tokio::time::sleep(SETTLE).await,
        }
    }
    tracing::error!(
        path = %path.display(),
        "the config file is gone; it is no longer watched (SIGHUP still reloads)"
    );
}
