//! The batching writer: events go through a bounded queue to one task that chains them and
//! group-commits them, off the request's hot path. A request that must not be answered before
//! its evidence is durable waits for the commit; a full queue is counted and logged and then
//! waited on, never dropped.

use crate::event::{Digest, Draft, Event};
use crate::store::{Store, StoreError};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Most events written in one transaction.
const MAX_BATCH: usize = 2048;
/// Attempts at a batch before its events are reported failed.
const WRITE_ATTEMPTS: u32 = 3;

struct Submission {
    draft: Draft,
    /// Told the sequence number once the event is committed (durable submissions).
    ack: Option<oneshot::Sender<Result<u64, String>>>,
}

/// Counters the metrics endpoint reads.
#[derive(Debug, Default)]
pub struct LogStats {
    pub written: AtomicU64,
    pub batches: AtomicU64,
    /// Submissions that found the queue full and had to wait.
    pub queue_full: AtomicU64,
    /// Events that could not be written after retries.
    pub failed: AtomicU64,
    /// Events waiting in the queue.
    pub depth: AtomicU64,
}

/// The handle requests use to record events.
#[derive(Clone)]
pub struct EventLog {
    tx: mpsc::Sender<Submission>,
    stats: Arc<LogStats>,
    healthy: Arc<AtomicBool>,
}

/// Returned by [`EventLog::start`]; awaiting it after every `EventLog` clone is dropped
/// flushes the queue.
pub struct Writer {
    task: tokio::task::JoinHandle<()>,
}

impl Writer {
    /// Waits until every queued event has been written.
    pub async fn flushed(self) {
        let _ = self.task.await;
    }
}

/// The durable write failed; the caller must not report success.
#[derive(Debug, thiserror::Error)]
#[error("evidence could not be recorded: {0}")]
pub struct NotRecorded(pub String);

impl EventLog {
    /// Starts the writer for `stream`, continuing its chain from the store's head.
    pub async fn start(
        store: Arc<dyn Store>,
        stream: &str,
        capacity: usize,
    ) -> Result<(EventLog, Writer), StoreError> {
        let head = store.head(stream).await?;
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let stats = Arc::new(LogStats::default());
        let healthy = Arc::new(AtomicBool::new(true));
        let chain = Chain {
            stream: stream.to_owned(),
            next_seq: head.map(|h| h.seq + 1).unwrap_or(1),
            prev: head.map(|h| h.hash).unwrap_or(Digest::GENESIS),
        };
        let task = tokio::spawn(run(store, chain, rx, stats.clone(), healthy.clone()));
        Ok((EventLog { tx, stats, healthy }, Writer { task }))
    }

    pub fn stats(&self) -> &LogStats {
        &self.stats
    }

    /// False after a batch could not be written; traffic that needs evidence must fail closed.
    pub fn healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    async fn submit(&self, submission: Submission) -> Result<(), NotRecorded> {
        self.stats.depth.fetch_add(1, Ordering::Relaxed);
        let submission = match self.tx.try_send(submission) {
            Ok(()) => return Ok(()),
            Err(mpsc::error::TrySendError::Closed(_)) => {
                self.stats.depth.fetch_sub(1, Ordering::Relaxed);
                return Err(NotRecorded("the event writer has stopped".into()));
            }
            Err(mpsc::error::TrySendError::Full(s)) => s,
        };
        let waits = self.stats.queue_full.fetch_add(1, Ordering::Relaxed);
        if waits.is_power_of_two() {
            tracing::warn!(
                times = waits + 1,
                "event queue is full: requests wait for the writer"
            );
        }
        self.tx.send(submission).await.map_err(|_| {
            self.stats.depth.fetch_sub(1, Ordering::Relaxed);
            NotRecorded("the event writer has stopped".into())
        })
    }

    /// Queues an event; returns once it is queued (waiting if the queue is full).
    pub async fn record(&self, draft: Draft) {
        if let Err(e) = self.submit(Submission { draft, ack: None }).await {
            self.stats.failed.fetch_add(1, Ordering::Relaxed);
            tracing::error!(error = %e, "event not recorded");
        }
    }

    /// Queues an event and waits until it is committed; returns its sequence number.
    pub async fn record_durable(&self, draft: Draft) -> Result<u64, NotRecorded> {
        let (ack, done) = oneshot::channel();
        self.submit(Submission {
            draft,
            ack: Some(ack),
        })
        .await?;
        match done.await {
            Ok(Ok(seq)) => Ok(seq),
            Ok(Err(e)) => Err(NotRecorded(e)),
            Err(_) => Err(NotRecorded(
                "the event writer stopped before the commit".into(),
            )),
        }
    }
}

struct Chain {
    stream: String,
    next_seq: u64,
    prev: Digest,
}

async fn run(
    store: Arc<dyn Store>,
    mut chain: Chain,
    mut rx: mpsc::Receiver<Submission>,
    stats: Arc<LogStats>,
    healthy: Arc<AtomicBool>,
) {
    let mut batch: Vec<Submission> = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        stats.depth.fetch_sub(batch.len() as u64, Ordering::Relaxed);
        let (mut seq, mut prev) = (chain.next_seq, chain.prev);
        let events: Vec<Event> = batch
            .iter()
            .map(|s| {
                let e = Event::chain(&chain.stream, seq, prev, s.draft.clone());
                seq += 1;
                prev = e.hash;
                e
            })
            .collect();
        let mut outcome = Err(String::new());
        for attempt in 0..WRITE_ATTEMPTS {
            match store.append(&events).await {
                Ok(()) => {
                    outcome = Ok(());
                    break;
                }
                Err(e) => {
                    tracing::error!(error = %e, attempt, events = events.len(), "event batch not written");
                    outcome = Err(e.to_string());
                    tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
                }
            }
        }
        match outcome {
            Ok(()) => {
                chain.next_seq = seq;
                chain.prev = prev;
                healthy.store(true, Ordering::Relaxed);
                stats
                    .written
                    .fetch_add(events.len() as u64, Ordering::Relaxed);
                stats.batches.fetch_add(1, Ordering::Relaxed);
                for (s, e) in batch.drain(..).zip(&events) {
                    if let Some(ack) = s.ack {
                        let _ = ack.send(Ok(e.seq));
                    }
                }
            }
            Err(message) => {
                // The chain does not advance: these events get no place in it.
                healthy.store(false, Ordering::Relaxed);
                stats
                    .failed
                    .fetch_add(events.len() as u64, Ordering::Relaxed);
                for s in batch.drain(..) {
                    if let Some(ack) = s.ack {
                        let _ = ack.send(Err(message.clone()));
                    }
                }
            }
        }
    }
}
