//! The end of a stream: its recorder goes with the stream to the client and runs the record
//! phase's steps when the stream ends cleanly, fails, or is abandoned by the client (the body
//! is dropped before its end, which also cancels the upstream call). A stream that demands
//! durable evidence sends its end marker only once its outcome is committed. A stream whose
//! usage never came (an upstream that sends none, a cut, a client gone) is charged what the
//! gateway counts of the request as sent and the answer as relayed.

use super::{Ending, UsageSource, estimate};
use crate::artifacts::{ArtifactSink, Owner};
use crate::error::ApiError;
use crate::pipeline::{Request, RequestCtx};
use std::sync::Arc;
use std::time::Instant;
use switchyard_evidence::EventLog;
use switchyard_protocol::{ChatResponse, ProviderError, StreamAccumulator, StreamEvent, Usage};

/// Records a stream's outcome when it ends: cleanly, with an error, or because the client went
/// away (the body is dropped before its end, which also cancels the upstream call).
pub struct Recorder {
    admission: Arc<crate::admission::Admission>,
    log: EventLog,
    /// With payload logging on: where the completion goes.
    sink: Option<ArtifactSink>,
    /// The request as sent upstream, and what the stream delivered of the answer: counted when
    /// no usage comes, kept as the completion when payloads are kept.
    sent: Arc<Request>,
    delivered: StreamAccumulator,
    ctx: RequestCtx,
    ending: Option<Ending>,
    usage: Option<Usage>,
    first_content: Option<Instant>,
    /// The heavy-context slot the request holds until its stream ends.
    slot: Option<crate::pools::Slot>,
}

/// How a stream ended, taken from its recorder once.
struct Ended {
    ending: Ending,
    delivered: ChatResponse,
    sink: Option<ArtifactSink>,
}

impl Recorder {
    /// The recorder of a stream that `ending` begins (its target, price and attempts), for the
    /// request `sent` upstream.
    pub fn new(
        admission: Arc<crate::admission::Admission>,
        log: EventLog,
        sink: Option<ArtifactSink>,
        ctx: RequestCtx,
        (ending, sent): (Ending, Arc<Request>),
    ) -> Self {
        Self {
            admission,
            log,
            sink,
            sent,
            delivered: StreamAccumulator::default(),
            ctx,
            ending: Some(ending),
            usage: None,
            first_content: None,
            slot: None,
        }
    }

    /// Holds the request's heavy-context slot until the stream ends.
    pub fn hold(&mut self, slot: Option<crate::pools::Slot>) {
        self.slot = slot;
    }

    /// The provider serving the stream.
    pub fn provider(&self) -> String {
        self.ending
            .as_ref()
            .and_then(|e| e.target.as_ref())
            .map(|t| t.provider.clone())
            .unwrap_or_default()
    }

    /// Notes an event the client is sent.
    pub fn saw(&mut self, event: &StreamEvent) {
        if self.first_content.is_none() && event.is_content() {
            self.first_content = Some(Instant::now());
        }
        if let StreamEvent::Usage(u) = event {
            self.usage = Some(*u);
        }
        self.delivered.push(event);
    }

    /// How the stream ended, taken once; its usage is the provider's when it came.
    fn take_ending(&mut self, error: Option<&ProviderError>, abandoned: bool) -> Option<Ended> {
        self.slot = None;
        let mut ending = self.ending.take()?;
        let delivered = std::mem::take(&mut self.delivered).finish();
        // A usage of zero for an answer that said something is no usage: counted instead.
        let reported = self
            .usage
            .filter(|u| !estimate::missing_from(u, &delivered));
        if let Some(usage) = reported {
            ending = ending.with_usage(usage, UsageSource::Measured);
        }
        ending.ttft = self
            .first_content
            .map(|t| t.duration_since(self.ctx.started));
        ending.error = error.map(|e| e.kind);
        ending.abandoned = abandoned;
        Some(Ended {
            ending,
            delivered,
            sink: self.sink.take(),
        })
    }

    /// The request's span, which each step of the stream runs in.
    pub fn span(&self) -> tracing::Span {
        self.ctx.span.clone()
    }

    /// The request's span ends with its stream: after this, no handle to it is left.
    fn end_span(&mut self) {
        self.ctx.span = tracing::Span::none();
    }

    /// Records how the stream ended (once): an upstream error, or abandoned by the client. With
    /// the provider's usage, the end is settled and published at once; without it, once the
    /// gateway has counted it, off the async workers.
    pub fn finish(&mut self, error: Option<&ProviderError>, abandoned: bool) {
        let Some(ended) = self.take_ending(error, abandoned) else {
            return;
        };
        let measured = ended.ending.usage.is_some();
        let draft = measured.then(|| super::close(&self.ctx, &self.admission, &ended.ending));
        let (log, admission, sent) = (self.log.clone(), self.admission.clone(), self.sent.clone());
        let mut ctx = self.ctx.clone();
        if measured {
            // Settled and published already: the span has nothing more to learn.
            ctx.span = tracing::Span::none();
        }
        self.end_span();
        // Drop cannot await: queue the records on the runtime.
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                let Ended {
                    ending,
                    delivered,
                    sink,
                } = ended;
                let draft = match draft {
                    Some(draft) => draft,
                    None => {
                        let ending = counted(ending, sent, &delivered).await;
                        super::close(&ctx, &admission, &ending)
                    }
                };
                keep(&ctx, sink, &delivered).await;
                log.record(draft).await;
            });
        }
    }

    /// Records a clean end and, for a request that demands durable evidence, waits until the
    /// outcome is committed: the stream's end marker is only sent after that. The commit runs
    /// as its own task, so a client that leaves while it waits cannot cut it short: the request
    /// still ends in its one outcome.
    pub async fn finish_clean(&mut self) -> Result<(), ApiError> {
        if !self.ctx.durable {
            self.finish(None, false);
            return Ok(());
        }
        let Some(ended) = self.take_ending(None, false) else {
            return Ok(());
        };
        let (log, admission, sent) = (self.log.clone(), self.admission.clone(), self.sent.clone());
        let ctx = self.ctx.clone();
        let commit = tokio::spawn(async move {
            let ending = counted(ended.ending, sent, &ended.delivered).await;
            keep(&ctx, ended.sink, &ended.delivered).await;
            super::finish_served(&log, &admission, &ctx, ending).await
        });
        let committed = commit.await;
        self.end_span();
        match committed {
            Ok(recorded) => recorded.map_err(|super::Withheld(error)| error),
            Err(e) => Err(ApiError::Internal(format!(
                "the stream's evidence could not be recorded: {e}"
            ))),
        }
    }
}

/// The ending with a usage: the provider's when it came, else the gateway's count of the
/// request as sent and the answer as delivered.
async fn counted(ending: Ending, sent: Arc<Request>, delivered: &ChatResponse) -> Ending {
    if ending.usage.is_some() {
        return ending;
    }
    let model = ending
        .target
        .as_ref()
        .map(|t| t.upstream_model.clone())
        .unwrap_or_default();
    match estimate::chat_off_thread(sent, delivered.clone(), model).await {
        Some((usage, source)) => ending.with_usage(usage, source),
        None => ending,
    }
}

/// Keeps what the stream delivered as the completion, when its payloads are kept.
async fn keep(ctx: &RequestCtx, sink: Option<ArtifactSink>, delivered: &ChatResponse) {
    if let (Some(sink), Some(keep)) = (sink, ctx.payloads) {
        let owner = Owner {
            request_id: &ctx.request_id,
            keep,
        };
        sink.keep_completion(owner, delivered).await;
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.finish(None, true);
    }
}
