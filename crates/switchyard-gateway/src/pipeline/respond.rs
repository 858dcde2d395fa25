//! Phase 8, respond: the door renders the answer in its wire format, and every answer gets the
//! `x-switchyard-*` headers (request and decision ids, route class and profile, who served it,
//! after how many attempts, at what cost). Also what doors render with: whole JSON answers and
//! event streams whose end runs the record phase's steps. Never puts a header the client sent,
//! a key or an upstream error message in an answer header.

use super::execute::Served;
use super::record::stream::Recorder;
use super::{Answer, AttemptRecord, Door, Request, RequestCtx};
use crate::error::ApiError;
use axum::body::{Body, Bytes};
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures::{Stream, StreamExt};
use switchyard_policy::Target;
use switchyard_protocol::{ProviderError, StreamEvent, Usage};
use switchyard_providers::EventStream;
use tracing::Instrument;

/// The served answer in the door's format, with its headers (the cost only when the `usage` is
/// known as the head is sent, measured or estimated: not for a stream).
pub fn answer<D: Door>(
    door: &D,
    ctx: &RequestCtx,
    (request, kept): (&Request, &D::Kept),
    served: Served<Answer>,
    usage: Option<Usage>,
) -> Response {
    let Served {
        output,
        target,
        attempts,
    } = served;
    let http = door.render(request, kept, output);
    with_served(http, ctx, &target, &attempts, usage.as_ref())
}

/// A whole answer as JSON, written into a buffer sized for a typical completion: axum's `Json`
/// starts at 128 bytes and regrows several times for every answer.
pub fn json_answer<T: serde::Serialize>(body: &T) -> Response {
    let mut buf = String::with_capacity(1024);
    match switchyard_protocol::json::append(&mut buf, body) {
        Ok(()) => (
            [(
                axum::http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            buf,
        )
            .into_response(),
        // The answer types hold only strings, numbers and string-keyed maps: never reached.
        Err(e) => {
            ApiError::Internal(format!("the answer could not be serialized: {e}")).into_response()
        }
    }
}

// The answer's headers, validated once at compile time rather than on every answer.
static REQUEST_ID: HeaderName = HeaderName::from_static("x-switchyard-request-id");
static DECISION_ID: HeaderName = HeaderName::from_static("x-switchyard-decision-id");
static ROUTE_CLASS: HeaderName = HeaderName::from_static("x-switchyard-route-class");
static PROFILE: HeaderName = HeaderName::from_static("x-switchyard-profile");
static PROVIDER: HeaderName = HeaderName::from_static("x-switchyard-provider");
static MODEL: HeaderName = HeaderName::from_static("x-switchyard-model");
static ATTEMPTS: HeaderName = HeaderName::from_static("x-switchyard-attempts");
static COST_USD: HeaderName = HeaderName::from_static("x-switchyard-cost-usd");

fn set(resp: &mut Response, name: &HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().insert(name.clone(), v);
    }
}

/// Adds the headers every answer carries.
pub fn ids(mut resp: Response, ctx: &RequestCtx) -> Response {
    set(&mut resp, &REQUEST_ID, &ctx.request_id);
    set(&mut resp, &DECISION_ID, &ctx.decision_id);
    if !ctx.profile.is_empty() {
        set(&mut resp, &ROUTE_CLASS, &ctx.route_class);
        set(&mut resp, &PROFILE, &ctx.profile);
    }
    resp
}

/// Adds the headers of a served answer: who served it, after how many attempts, at what cost
/// (cost only when the usage is known when the head is sent).
fn with_served(
    mut resp: Response,
    ctx: &RequestCtx,
    target: &Target,
    attempts: &[AttemptRecord],
    usage: Option<&Usage>,
) -> Response {
    set(&mut resp, &PROVIDER, &target.provider);
    set(&mut resp, &MODEL, &target.model);
    set(&mut resp, &ATTEMPTS, &attempts.len().to_string());
    if let (Some(usage), Some(price)) = (usage, ctx.live.registry.price(target)) {
        let cost = price.cost(usage) + super::record::cancelled_cost(attempts);
        set(&mut resp, &COST_USD, &format!("{cost:.8}"));
    }
    ids(resp, ctx)
}

/// Adds the attempt count to a failed answer.
pub fn failed(mut resp: Response, ctx: &RequestCtx, attempts: &[AttemptRecord]) -> Response {
    set(&mut resp, &ATTEMPTS, &attempts.len().to_string());
    ids(resp, ctx)
}

/// The upstream error as a client sees it mid-stream.
fn upstream_error(provider: &str, provider_error: ProviderError) -> ApiError {
    ApiError::Upstream {
        provider: provider.to_owned(),
        error: provider_error,
    }
}

/// An event-stream answer of `body`'s frames.
pub fn sse(body: impl Stream<Item = Bytes> + Send + 'static) -> Response {
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

/// The buffer an event's frames are written into starts this large.
const FRAME_CAPACITY: usize = 512;

/// Walks `first` then `rest`, writing each event's frames with `encode`, a failure as a final
/// error frame with `on_error`, and a clean end as `on_end`'s frames; `recorder` learns how it
/// ended.
pub fn frames<E, F, G>(
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
        let span = w.recorder.span();
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
