//! The batching writer: events go through a bounded queue to one task that chains them and
//! group-commits them, off the request's hot path. A request that must not be answered before
//! its evidence is durable waits for the commit; a full queue is counted and logged and then
//! waited on, never dropped. When the store cannot be written (a full disk, a lost database),
//! the writer holds what it could not write, up to a bound, reports itself unhealthy so that
//! traffic needing evidence fails closed, and writes the held events once the store recovers.

use crate::event::{Digest, Draft, Event};
use crate::store::{EventStore, Head, StoreError};
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::time::Instant;

/// Most events written in one transaction.
const MAX_BATCH: usize = 2048;
/// A batch smaller than this, with nobody waiting on its commit, waits [`LINGER`] for more
/// events first: at low concurrency each request's events would otherwise commit alone, and a
/// commit's fixed cost (statement, page writes to the WAL) dwarfs its rows'.
const LINGER_BELOW: usize = 256;
const LINGER: Duration = Duration::from_millis(2);
/// Consecutive failed writes after which the writer is unhealthy and durable records fail.
const WRITE_ATTEMPTS: u32 = 3;
/// Events held in memory while the store cannot be written, unless [`Limits`] says otherwise.
pub const DEFAULT_BACKLOG: usize = 100_000;
/// The first pause after a failed write; it doubles up to [`MAX_RETRY_PAUSE`].
const FIRST_RETRY_PAUSE: Duration = Duration::from_millis(50);
const MAX_RETRY_PAUSE: Duration = Duration::from_secs(2);
/// While the store keeps failing, one log line per this interval.
const LOG_EVERY: Duration = Duration::from_secs(30);

struct Submission {
    draft: Draft,
    /// Told the sequence number once the event is committed (durable submissions).
    ack: Option<oneshot::Sender<Result<u64, NotRecorded>>>,
}

/// The runtime writers run on: one thread of its own, for the life of the process, so that a
/// writer's wakeups (each queued event, each reply of the store) never land on the threads
/// serving requests. On the request workers they did: every wake of the writer task, or of a
/// task it stole on the way, woke the other worker, and a request's work bounced between
/// them. With one request at a time, moving the writer here took the gateway from 246 to 182
/// us of CPU per request and its median latency from 309 to 245 us; at 32 it changes nothing.
/// It lives as long as the process because connections a store opens from it stay bound to
/// its I/O driver. `None` if the thread could not be started: writers then run where they are
/// started.
fn writer_thread() -> Option<&'static tokio::runtime::Handle> {
    static THREAD: std::sync::OnceLock<Option<tokio::runtime::Handle>> = std::sync::OnceLock::new();
    THREAD
        .get_or_init(|| {
            let started = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .and_then(|runtime| {
                    let handle = runtime.handle().clone();
                    std::thread::Builder::new()
                        .name("evidence-writer".into())
                        .spawn(move || runtime.block_on(std::future::pending::<()>()))
                        .map(|_| handle)
                });
            started
                .inspect_err(|e| {
                    tracing::warn!(error = %e, "no thread for the event writer: it shares the request workers");
                })
                .ok()
        })
        .as_ref()
}

/// Counters the metrics endpoint reads.
#[derive(Debug, Default)]
pub struct LogStats {
    pub written: AtomicU64,
    pub batches: AtomicU64,
    /// Submissions that found the queue full and had to wait.
    pub queue_full: AtomicU64,
    /// Events given up on: the backlog was full, or the writer stopped before the store
    /// recovered.
    pub failed: AtomicU64,
    /// Events waiting in the queue.
    pub depth: AtomicU64,
    /// Events the writer holds because the store could not be written.
    pub held: AtomicU64,
    /// Writes (transactions) the store refused.
    pub write_errors: AtomicU64,
    /// True while the store cannot be written ([`EventLog::healthy`] is its negation).
    pub failing: AtomicBool,
}

/// How much the log buffers.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Submissions the queue holds before `record` waits.
    pub queue: usize,
    /// Events held while the store cannot be written; past it, new events are dropped (and
    /// counted in [`LogStats::failed`]).
    pub backlog: usize,
}

/// The handle requests use to record events.
#[derive(Clone)]
pub struct EventLog {
    tx: mpsc::Sender<Submission>,
    stats: Arc<LogStats>,
    /// Tells a lingering writer that someone now waits on a commit.
    durable: Arc<Notify>,
}

/// Returned by [`EventLog::start`]; awaiting it after every `EventLog` clone is dropped
/// flushes the queue.
pub struct Writer {
    task: tokio::task::JoinHandle<()>,
    stats: Arc<LogStats>,
}

impl Writer {
    /// The log's counters, still readable after every `EventLog` is dropped.
    pub fn stats(&self) -> Arc<LogStats> {
        self.stats.clone()
    }

    /// Waits until every queued event has been written (or, when the store is failing, given
    /// up on after a few more attempts).
    pub async fn flushed(self) {
        let _ = self.task.await;
    }
}

/// The durable write failed; the caller must not report success.
#[derive(Debug, thiserror::Error)]
#[error("evidence could not be recorded: {reason}")]
pub struct NotRecorded {
    pub reason: String,
    /// The event stays held and is written once the store recovers (its batch may even have
    /// committed with the reply lost): the log will hold it. When false, it never will.
    pub kept: bool,
}

impl NotRecorded {
    fn dropped(reason: impl Into<String>) -> Self {
        NotRecorded {
            reason: reason.into(),
            kept: false,
        }
    }
}

impl EventLog {
    /// Starts the writer for `stream`, continuing its chain from the store's head, with a
    /// queue of `capacity` and the default backlog.
    pub async fn start(
        store: Arc<dyn EventStore>,
        stream: &str,
        capacity: usize,
    ) -> Result<(EventLog, Writer), StoreError> {
        let limits = Limits {
            queue: capacity,
            backlog: DEFAULT_BACKLOG,
        };
        Self::start_with(store, stream, limits).await
    }

    /// Starts the writer for `stream` with explicit [`Limits`].
    pub async fn start_with(
        store: Arc<dyn EventStore>,
        stream: &str,
        limits: Limits,
    ) -> Result<(EventLog, Writer), StoreError> {
        let head = store.head(stream).await?;
        let (tx, rx) = mpsc::channel(limits.queue.max(1));
        let stats = Arc::new(LogStats::default());
        let durable = Arc::new(Notify::new());
        let writer = Task {
            durable: durable.clone(),
            store,
            chain: Chain::after(stream, head),
            held: VecDeque::new(),
            backlog: limits.backlog.max(1),
            stats: stats.clone(),
            failures: 0,
            failing_since: None,
            last_log: None,
            last_error: String::new(),
            dropped_since_log: 0,
            unconfirmed: None,
        };
        let task = match writer_thread() {
            Some(thread) => thread.spawn(writer.run(rx)),
            None => tokio::spawn(writer.run(rx)),
        };
        Ok((
            EventLog {
                tx,
                stats: stats.clone(),
                durable,
            },
            Writer { task, stats },
        ))
    }

    pub fn stats(&self) -> &LogStats {
        &self.stats
    }

    /// False while the store cannot be written; traffic that needs evidence must fail closed.
    pub fn healthy(&self) -> bool {
        !self.stats.failing.load(Ordering::Relaxed)
    }

    async fn submit(&self, submission: Submission) -> Result<(), NotRecorded> {
        self.stats.depth.fetch_add(1, Ordering::Relaxed);
        let submission = match self.tx.try_send(submission) {
            Ok(()) => return Ok(()),
            Err(mpsc::error::TrySendError::Closed(_)) => {
                self.stats.depth.fetch_sub(1, Ordering::Relaxed);
                return Err(NotRecorded::dropped("the event writer has stopped"));
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
            NotRecorded::dropped("the event writer has stopped")
        })
    }

    /// Queues an event; returns once it is queued (waiting if the queue is full).
    pub async fn record(&self, draft: Draft) {
        if let Err(e) = self.submit(Submission { draft, ack: None }).await {
            self.stats.failed.fetch_add(1, Ordering::Relaxed);
            tracing::error!(error = %e, "event not recorded");
        }
    }

    /// Queues an event and waits until it is committed; returns its sequence number. While
    /// the store is failing it fails at once and the event is not recorded. One already held
    /// when the store starts failing is told so too, but stays held (its batch may have
    /// committed with the reply lost) and is written when the store recovers.
    pub async fn record_durable(&self, draft: Draft) -> Result<u64, NotRecorded> {
        let (ack, done) = oneshot::channel();
        self.submit(Submission {
            draft,
            ack: Some(ack),
        })
        .await?;
        // A writer lingering for a fuller batch commits now instead.
        self.durable.notify_one();
        match done.await {
            Ok(Ok(seq)) => Ok(seq),
            Ok(Err(e)) => Err(e),
            // Stopped with the event in hand: it may or may not have been written.
            Err(_) => Err(NotRecorded {
                reason: "the event writer stopped before the commit".into(),
                kept: true,
            }),
        }
    }
}

/// Where the next event goes in the stream's chain.
struct Chain {
    stream: String,
    next_seq: u64,
    prev: Digest,
}

impl Chain {
    fn after(stream: &str, head: Option<Head>) -> Chain {
        Chain {
            stream: stream.to_owned(),
            next_seq: head.map(|h| h.seq + 1).unwrap_or(1),
            prev: head.map(|h| h.hash).unwrap_or(Digest::GENESIS),
        }
    }

    fn head(&self) -> Option<Head> {
        (self.next_seq > 1).then_some(Head {
            seq: self.next_seq - 1,
            hash: self.prev,
        })
    }
}

/// The writer task's state.
struct Task {
    store: Arc<dyn EventStore>,
    durable: Arc<Notify>,
    chain: Chain,
    /// Accepted, not yet committed, in order.
    held: VecDeque<Submission>,
    backlog: usize,
    stats: Arc<LogStats>,
    /// Consecutive failed writes.
    failures: u32,
    failing_since: Option<Instant>,
    last_log: Option<Instant>,
    last_error: String,
    dropped_since_log: u64,
    /// The head a failed write would have left, if it did commit after all (a lost reply).
    unconfirmed: Option<Head>,
}

impl Task {
    async fn run(mut self, mut rx: mpsc::Receiver<Submission>) {
        let mut incoming: Vec<Submission> = Vec::with_capacity(MAX_BATCH);
        let mut open = true;
        let mut retry_at: Option<Instant> = None;
        let mut attempts_after_close = 0u32;
        loop {
            if self.held.is_empty() {
                if !open || rx.recv_many(&mut incoming, MAX_BATCH).await == 0 {
                    break;
                }
                self.admit(&mut incoming);
                if self.held.len() < LINGER_BELOW && self.held.iter().all(|s| s.ack.is_none()) {
                    // Cut short when a durable record arrives meanwhile: it must not wait.
                    tokio::select! {
                        () = tokio::time::sleep(LINGER) => {}
                        () = self.durable.notified() => {}
                    }
                    open = self.take_queued(&mut rx, &mut incoming);
                }
            } else if let Some(at) = retry_at {
                if open {
                    tokio::select! {
                        () = tokio::time::sleep_until(at) => {}
                        n = rx.recv_many(&mut incoming, MAX_BATCH) => {
                            if n == 0 {
                                open = false;
                            }
                            self.admit(&mut incoming);
                            continue;
                        }
                    }
                } else {
                    if attempts_after_close >= WRITE_ATTEMPTS {
                        self.give_up();
                        break;
                    }
                    attempts_after_close += 1;
                    tokio::time::sleep_until(at).await;
                }
            } else if open {
                // Healthy and holding events: take whatever else is already queued.
                open = self.take_queued(&mut rx, &mut incoming);
            }
            retry_at = match self.write_oldest().await {
                Ok(()) => None,
                Err(pause) => Some(Instant::now() + pause),
            };
        }
    }

    /// Takes whatever is already queued, up to a batch; returns whether the queue is still
    /// open.
    fn take_queued(
        &mut self,
        rx: &mut mpsc::Receiver<Submission>,
        incoming: &mut Vec<Submission>,
    ) -> bool {
        let room = MAX_BATCH.saturating_sub(self.held.len());
        let mut open = true;
        while incoming.len() < room {
            match rx.try_recv() {
                Ok(s) => incoming.push(s),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    open = false;
                    break;
                }
            }
        }
        self.admit(incoming);
        open
    }

    /// Takes newly queued submissions into the held events (dropping, counted and logged,
    /// what does not fit); while the store is failing, durable ones are told so at once.
    fn admit(&mut self, incoming: &mut Vec<Submission>) {
        self.stats
            .depth
            .fetch_sub(incoming.len() as u64, Ordering::Relaxed);
        for mut s in incoming.drain(..) {
            if self.held.len() >= self.backlog {
                self.stats.failed.fetch_add(1, Ordering::Relaxed);
                self.dropped_since_log += 1;
                if let Some(ack) = s.ack.take() {
                    let _ = ack.send(Err(NotRecorded::dropped(format!(
                        "the event store cannot be written ({}) and the writer already holds {} events: this one is dropped",
                        self.last_error, self.backlog
                    ))));
                }
                continue;
            }
            if self.failures >= WRITE_ATTEMPTS
                && let Some(ack) = s.ack.take()
            {
                // Refused, and so not kept: the caller acts on "not recorded" (it withholds
                // its answer), so the event must not appear in the log later.
                let _ = ack.send(Err(NotRecorded::dropped(format!(
                    "the event store cannot be written ({}); this event was not recorded",
                    self.last_error
                ))));
                continue;
            }
            self.held.push_back(s);
        }
        self.stats
            .held
            .store(self.held.len() as u64, Ordering::Relaxed);
        if self.dropped_since_log > 0 {
            self.log_failing(false);
        }
    }

    /// Writes the oldest held events in one transaction. On failure, returns how long to wait
    /// before the next attempt.
    async fn write_oldest(&mut self) -> Result<(), Duration> {
        if let Some(expected) = self.unconfirmed {
            // The last failed write may have committed with its reply lost: look before
            // writing the same events again.
            match self.store.head(&self.chain.stream).await {
                Ok(head) => self.reconcile(head, expected),
                Err(e) => return Err(self.failed(e)),
            }
        }
        let n = self.held.len().min(MAX_BATCH);
        if n == 0 {
            return Ok(());
        }
        let events = self.chained(n);
        let last = events.last().map(|e| Head {
            seq: e.seq,
            hash: e.hash,
        });
        match self.store.append(events).await {
            Ok(()) => {
                self.committed(n, last);
                Ok(())
            }
            Err(e) => {
                self.unconfirmed = last;
                Err(self.failed(e))
            }
        }
    }

    /// The oldest `n` held events, placed in the chain.
    fn chained(&self, n: usize) -> Vec<Event> {
        let (mut seq, mut prev) = (self.chain.next_seq, self.chain.prev);
        self.held
            .iter()
            .take(n)
            .map(|s| {
                let e = Event::chain(&self.chain.stream, seq, prev, s.draft.clone());
                seq += 1;
                prev = e.hash;
                e
            })
            .collect()
    }

    /// After a failed write, compares the store's head with what the writer believes.
    fn reconcile(&mut self, head: Option<Head>, expected: Head) {
        self.unconfirmed = None;
        if head == Some(expected) {
            // It did commit: settle the batch it wrote, whose last event is that head.
            let n = usize::try_from(expected.seq + 1 - self.chain.next_seq).unwrap_or(0);
            let n = n.min(self.held.len());
            self.committed(n, (n > 0).then_some(expected));
        } else if head != self.chain.head() {
            tracing::error!(
                stream = %self.chain.stream,
                "the stream's head in the store moved under this writer (is another node using the same stream name?); continuing the chain from the store's head"
            );
            self.chain = Chain::after(&self.chain.stream, head);
        }
    }

    /// Settles the `n` oldest held events, committed with `last` as the new head: advances
    /// the chain, acknowledges, and recovers.
    fn committed(&mut self, n: usize, last: Option<Head>) {
        let Some(last) = last else { return };
        let first_seq = self.chain.next_seq;
        self.chain.next_seq = last.seq + 1;
        self.chain.prev = last.hash;
        for (seq, s) in (first_seq..).zip(self.held.drain(..n)) {
            if let Some(ack) = s.ack {
                let _ = ack.send(Ok(seq));
            }
        }
        self.stats.written.fetch_add(n as u64, Ordering::Relaxed);
        self.stats.batches.fetch_add(1, Ordering::Relaxed);
        self.stats
            .held
            .store(self.held.len() as u64, Ordering::Relaxed);
        if let Some(since) = self.failing_since.take() {
            tracing::warn!(
                stream = %self.chain.stream,
                failed_for_s = since.elapsed().as_secs_f64(),
                still_held = self.held.len(),
                "the event store can be written again; writing the held events"
            );
            self.last_log = None;
        }
        self.failures = 0;
        self.stats.failing.store(false, Ordering::Relaxed);
    }

    /// Counts a failed write; after [`WRITE_ATTEMPTS`] in a row, the writer is unhealthy and
    /// the durable submissions it holds are told. Returns the pause before the next attempt.
    fn failed(&mut self, e: StoreError) -> Duration {
        self.stats.write_errors.fetch_add(1, Ordering::Relaxed);
        self.failures = self.failures.saturating_add(1);
        self.last_error = e.to_string();
        if self.failures == WRITE_ATTEMPTS {
            self.failing_since = Some(Instant::now());
            self.stats.failing.store(true, Ordering::Relaxed);
            let message = self.failing_message();
            for s in &mut self.held {
                if let Some(ack) = s.ack.take() {
                    let _ = ack.send(Err(NotRecorded {
                        reason: message.clone(),
                        kept: true,
                    }));
                }
            }
        }
        if self.failures >= WRITE_ATTEMPTS {
            self.log_failing(self.failures == WRITE_ATTEMPTS);
        }
        let doublings = self.failures.saturating_sub(1).min(8);
        (FIRST_RETRY_PAUSE * 2u32.pow(doublings)).min(MAX_RETRY_PAUSE)
    }

    fn failing_message(&self) -> String {
        format!(
            "the event store cannot be written ({}); the event is held and will be written when the store recovers",
            self.last_error
        )
    }

    /// One log line when the store starts failing, then at most one per [`LOG_EVERY`].
    fn log_failing(&mut self, first: bool) {
        let due = self.last_log.is_none_or(|t| t.elapsed() >= LOG_EVERY);
        if !first && !due {
            return;
        }
        self.last_log = Some(Instant::now());
        tracing::error!(
            stream = %self.chain.stream,
            error = %self.last_error,
            held = self.held.len(),
            backlog_limit = self.backlog,
            dropped = std::mem::take(&mut self.dropped_since_log),
            failing_for_s = self.failing_since.map(|t| t.elapsed().as_secs_f64()).unwrap_or(0.0),
            "the event store cannot be written: events are held in memory (past the limit they are dropped) and the log reports itself unhealthy until it recovers"
        );
    }

    /// The queue closed and the store is still failing: count and log what is lost.
    fn give_up(&mut self) {
        let lost = self.held.len() as u64;
        self.stats.failed.fetch_add(lost, Ordering::Relaxed);
        self.stats.held.store(0, Ordering::Relaxed);
        self.held.clear();
        tracing::error!(
            stream = %self.chain.stream,
            error = %self.last_error,
            lost,
            "the event writer stopped while the store could not be written: these events are lost"
        );
    }
}
