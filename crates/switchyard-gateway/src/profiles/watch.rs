//! Hot reload triggers: SIGHUP, and the config file changing on disk (its directory is watched,
//! so editors that replace the file are seen too; bursts of changes are folded into one reload).

use crate::server::AppState;
use notify::{RecursiveMode, Watcher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Quiet time after a change before reloading, so a save in several writes reloads once.
const SETTLE: Duration = Duration::from_millis(300);

/// Reloads `path` on SIGHUP and on changes to it, until the server stops (the tasks hold the
/// state weakly, so a graceful stop can flush the event log). The returned watcher must be kept
/// alive.
pub fn spawn(state: &Arc<AppState>, path: PathBuf) -> Result<notify::RecommendedWatcher, String> {
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
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    watcher
        .watch(dir, RecursiveMode::NonRecursive)
        .map_err(|e| format!("cannot watch {}: {e}", dir.display()))?;
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
            let Some(state) = state.upgrade() else {
                return;
            };
            // Errors are logged and recorded by reload; the running config stays.
            let _ = super::reload(&state, &path).await;
        }
    });
    Ok(watcher)
}
