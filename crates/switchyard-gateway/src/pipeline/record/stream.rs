//! The end of a stream: its recorder goes with the stream to the client and runs the record
//! phase's steps when the stream ends cleanly, fails, or is abandoned by the client (the body
//! is dropped before its end, which also cancels the upstream call). A stream that demands
//! durable evidence sends its end marker only once its outcome is committed.

use super::Ending;
use crate::artifacts::{ArtifactSink, Owner};
use crate::error::ApiError;
use crate::pipeline::RequestCtx;
use std::time::Instant;
use switchyard_evidence::EventLog;
use switchyard_protocol::{ProviderError, StreamAccumulator, StreamEvent, Usage};

/// Records a stream's outcome when it ends: cleanly, with an error, or because the client went
/// away (the body is dropped before its end, which also cancels the upstream call).
pub struct Recorder {
    admission: std::sync::Arc<crate::admission::Admission>,
    log: EventLog,
    /// With payload logging on: where the completion goes, and what the stream delivered.
    completion: Option<(ArtifactSink, StreamAccumulator)>,
    ctx: RequestCtx,
    ending: Option<Ending>,
    usage: Option<Usage>,
    first_content: Option<Instant>,
    /// The heavy-context slot the request holds until its stream ends.
    slot: Option<crate::pools::Slot>,
}

impl Recorder {
    pub fn new(
        admission: std::sync::Arc<crate::admission::Admission>,
        log: EventLog,
        sink: Option<ArtifactSink>,
        ctx: RequestCtx,
        ending: Ending,
    ) -> Self {
        Self {
            admission,
            log,
            completion: sink.map(|s| (s, StreamAccumulator::default())),
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
        if let Some((_, acc)) = &mut self.completion {
            acc.push(event);
        }
    }

    /// How the stream ended and the completion to keep, taken once.
    fn take_ending(
        &mut self,
        error: Option<&ProviderError>,
        abandoned: bool,
    ) -> Option<(Ending, Option<(ArtifactSink, StreamAccumulator)>)> {
        self.slot = None;
        let mut ending = self.ending.take()?;
        ending.usage = self.usage;
        ending.ttft = self
            .first_content
            .map(|t| t.duration_since(self.ctx.started));
        ending.error = error.map(|e| e.kind);
        ending.abandoned = abandoned;
        Some((ending, self.completion.take()))
    }

    /// The request's span, which each step of the stream runs in.
    pub fn span(&self) -> tracing::Span {
        self.ctx.span.clone()
    }

    /// The request's span ends with its stream: after this, no handle to it is left.
    fn end_span(&mut self) {
        self.ctx.span = tracing::Span::none();
    }

    /// Records how the stream ended (once): an upstream error, or abandoned by the client.
    pub fn finish(&mut self, error: Option<&ProviderError>, abandoned: bool) {
        let Some((ending, completion)) = self.take_ending(error, abandoned) else {
            return;
        };
        let draft = super::close(&self.ctx, &self.admission, &ending);
        self.end_span();
        let log = self.log.clone();
        let ctx = self.ctx.clone();
        // Drop cannot await: queue the records on the runtime.
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                if let (Some((sink, acc)), Some(keep)) = (completion, ctx.payloads) {
                    let owner = Owner {
                        request_id: &ctx.request_id,
                        keep,
                    };
                    sink.keep_completion(owner, &acc.finish()).await;
                }
                log.record(draft).await;
            });
        }
    }

    /// Records a clean end and, for a request that demands durable evidence, waits until the
    /// outcome is committed: the stream's end marker is only sent after that.
    pub async fn finish_clean(&mut self) -> Result<(), ApiError> {
        if !self.ctx.durable {
            self.finish(None, false);
            return Ok(());
        }
        let Some((ending, completion)) = self.take_ending(None, false) else {
            return Ok(());
        };
        if let (Some((sink, acc)), Some(keep)) = (completion, self.ctx.payloads) {
            let owner = Owner {
                request_id: &self.ctx.request_id,
                keep,
            };
            sink.keep_completion(owner, &acc.finish()).await;
        }
        let recorded = super::finish_served(&self.log, &self.admission, &self.ctx, ending).await;
        self.end_span();
        recorded.map_err(|super::Withheld(error)| error)
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.finish(None, true);
    }
}
