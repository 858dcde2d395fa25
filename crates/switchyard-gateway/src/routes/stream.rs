//! Streaming answers: canonical events encoded as OpenAI chunks (ending in `data: [DONE]`) or
//! as Anthropic events (ending in `message_stop`). A stream that fails part-way ends with an
//! error event in the door's format and no success marker: never a silent success.

use crate::artifacts::ArtifactSink;
use crate::error::ApiError;
use crate::pipeline::RequestCtx;
use crate::pipeline::record::{self, Ending};
use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures::{Stream, StreamExt};
use std::time::Instant;
use switchyard_evidence::EventLog;
use switchyard_protocol::anthropic::{EventEncoder, StreamEventWire};
use switchyard_protocol::openai::ChunkEncoder;
use switchyard_protocol::{ProviderError, StreamEvent, sse};
use switchyard_protocol::{StreamAccumulator, Usage};
use switchyard_providers::EventStream;
use tracing::Instrument;

fn sse_response(body: impl Stream<Item = Bytes> + Send + 'static) -> Response {
    let mut resp = Body::from_stream(body.map(Ok::<_, std::convert::Infallible>)).into_response();
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    resp
}

/// The upstream error as a client sees it mid-stream.
fn upstream_error(provider: &str, provider_error: ProviderError) -> ApiError {
    ApiError::Upstream {
        provider: provider.to_owned(),
        error: provider_error,
    }
}

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
    fn provider(&self) -> String {
        self.ending
            .as_ref()
            .and_then(|e| e.target.as_ref())
            .map(|t| t.provider.clone())
            .unwrap_or_default()
    }

    fn saw(&mut self, event: &StreamEvent) {
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

    /// The request's span ends with its stream: after this, no handle to it is left.
    fn end_span(&mut self) {
        self.ctx.span = tracing::Span::none();
    }

    fn finish(&mut self, error: Option<&ProviderError>, abandoned: bool) {
        let Some((ending, completion)) = self.take_ending(error, abandoned) else {
            return;
        };
        let draft = record::close(&self.ctx, &self.admission, &ending);
        self.end_span();
        let log = self.log.clone();
        let ctx = self.ctx.clone();
        // Drop cannot await: queue the records on the runtime.
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                if let Some((sink, acc)) = completion {
                    sink.keep_completion(&ctx, &acc.finish()).await;
                }
                log.record(draft).await;
            });
        }
    }

    /// Records a clean end and, for a request that demands durable evidence, waits until the
    /// outcome is committed: the stream's end marker is only sent after that.
    async fn finish_clean(&mut self) -> Result<(), ApiError> {
        if !self.ctx.durable {
            self.finish(None, false);
            return Ok(());
        }
        let Some((ending, completion)) = self.take_ending(None, false) else {
            return Ok(());
        };
        if let Some((sink, acc)) = completion {
            sink.keep_completion(&self.ctx, &acc.finish()).await;
        }
        let recorded = record::served(&self.log, &self.admission, &self.ctx, ending).await;
        self.end_span();
        recorded.map_err(|record::Withheld(error)| error)
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.finish(None, true);
    }
}

/// The buffer an event's frames are written into starts this large.
const FRAME_CAPACITY: usize = 512;

/// Walks `first` then `rest`, writing each event's frames with `encode`, a failure as a final
/// error frame with `on_error`, and a clean end as `on_end`'s frames; `recorder` learns how it
/// ended.
fn frames<E, F, G>(
    first: StreamEvent,
    rest: EventStream,
    encode: E,
    on_error: F,
    on_end: G,
    recorder: Box<Recorder>,
) -> impl Stream<Item = Bytes> + Send
where
    E: FnMut(&StreamEvent, &mut Vec<u8>) + Send + 'static,
    F: Fn(ApiError) -> String + Send + 'static,
    G: FnOnce() -> String + Send + 'static,
{
    struct Walk<E, F, G> {
        events: EventStream,
        encode: E,
        on_error: F,
        on_end: Option<G>,
        finished: bool,
        /// Boxed: `unfold` moves the walk in and out of each step's future, and a recorder
        /// (the request's whole context) moved by value cost two copies of it per chunk.
        recorder: Box<Recorder>,
    }
    let walk = Walk {
        events: futures::stream::once(async move { Ok(first) })
            .chain(rest)
            .boxed(),
        encode,
        on_error,
        on_end: Some(on_end),
        finished: false,
        recorder,
    };
    // Each step runs in the request's span, so the span lasts as long as the stream.
    futures::stream::unfold(walk, |mut w| {
        let span = w.recorder.ctx.span.clone();
        async move {
            if w.finished {
                return None;
            }
            let text = match w.events.next().await {
                Some(Ok(event)) => {
                    w.recorder.saw(&event);
                    // One content chunk's frame fits, so serializing it does not regrow.
                    let mut out = Vec::with_capacity(FRAME_CAPACITY);
                    (w.encode)(&event, &mut out);
                    out
                }
                Some(Err(e)) => {
                    tracing::warn!(kind = e.kind.as_str(), "stream failed after it started");
                    w.finished = true;
                    w.recorder.finish(Some(&e), false);
                    let provider = w.recorder.provider();
                    (w.on_error)(upstream_error(&provider, e)).into_bytes()
                }
                None => {
                    w.finished = true;
                    match w.recorder.finish_clean().await {
                        Ok(()) => w.on_end.take()?(),
                        Err(e) => (w.on_error)(e),
                    }
                    .into_bytes()
                }
            };
            Some((Bytes::from(text), w))
        }
        .instrument(span)
    })
    .filter(|b| futures::future::ready(!b.is_empty()))
}

/// An OpenAI `chat.completion.chunk` stream.
pub fn openai(
    first: StreamEvent,
    rest: EventStream,
    model: &str,
    include_usage: bool,
    n: u32,
    recorder: Box<Recorder>,
) -> Response {
    let mut encoder = ChunkEncoder::new(model, include_usage);
    let encode = move |event: &StreamEvent, out: &mut Vec<u8>| encoder.write(event, n, out);
    let on_error = |e: ApiError| {
        let body = e.openai_body();
        sse::frame(None, &serde_json::to_string(&body).unwrap_or_default())
    };
    let on_end = || sse::DONE.to_owned();
    sse_response(frames(first, rest, encode, on_error, on_end, recorder))
}

/// An Anthropic Messages event stream.
pub fn anthropic(
    first: StreamEvent,
    rest: EventStream,
    model: &str,
    recorder: Box<Recorder>,
) -> Response {
    let encoder = std::sync::Arc::new(std::sync::Mutex::new(EventEncoder::new(model)));
    let render = |events: Vec<StreamEventWire>| {
        events
            .iter()
            .map(|e| {
                sse::frame(
                    Some(e.name()),
                    &serde_json::to_string(e).unwrap_or_default(),
                )
            })
            .collect::<String>()
    };
    let enc = encoder.clone();
    let encode = move |event: &StreamEvent, out: &mut Vec<u8>| {
        if let Ok(mut e) = enc.lock() {
            out.extend_from_slice(render(e.encode(event)).as_bytes());
        }
        if matches!(event, StreamEvent::Start { .. }) {
            out.extend_from_slice(render(vec![StreamEventWire::Ping]).as_bytes());
        }
    };
    let on_error = |e: ApiError| {
        let body = e.anthropic_body();
        sse::frame(
            Some("error"),
            &serde_json::to_string(&body).unwrap_or_default(),
        )
    };
    let on_end = move || match encoder.lock() {
        Ok(mut e) => render(e.finish()),
        Err(_) => String::new(),
    };
    sse_response(frames(first, rest, encode, on_error, on_end, recorder))
}
