//! The executor: walks the targets of a request in order, one attempt each, within the
//! request's deadline, and falls back on the error kinds that another target may not share.
//! Streams can fall back until their first event has been received; after that they are
//! committed to their target.

use crate::error::ApiError;
use crate::registry::Registry;
use futures::StreamExt;
use std::time::{Duration, Instant};
use switchyard_policy::Target;
use switchyard_protocol::{
    ChatRequest, ChatResponse, EmbedRequest, EmbedResponse, ErrorKind, ProviderError, StreamEvent,
};
use switchyard_providers::{Call, EventStream};

/// What one request carries through the pipeline.
#[derive(Debug, Clone)]
pub struct RequestCtx {
    /// The front door: `chat`, `messages` or `embeddings`.
    pub door: &'static str,
    pub request_id: String,
    pub decision_id: String,
    pub started: Instant,
    /// When the whole request must be done (all attempts included).
    pub deadline: Instant,
    /// The model name as the client sent it.
    pub requested_model: String,
}

/// One upstream attempt, as the evidence plane will record it.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    pub target: Target,
    pub error: Option<ErrorKind>,
    pub latency: Duration,
}

/// The operation an attempt performs.
#[derive(Clone, Copy)]
pub enum Operation<'r> {
    Chat(&'r ChatRequest),
    Stream(&'r ChatRequest),
    Embed(&'r EmbedRequest),
}

/// What a successful attempt produced.
pub enum Output {
    Chat(ChatResponse),
    /// The first event (already received) and the rest of the stream.
    Stream(StreamEvent, EventStream),
    Embed(EmbedResponse),
}

/// A successful request: the output, the target that served it, and every attempt made.
pub struct Served {
    pub output: Output,
    pub target: Target,
    pub attempts: Vec<AttemptRecord>,
}

/// A failed request: the error for the client and every attempt made.
pub struct Failed {
    pub error: ApiError,
    pub attempts: Vec<AttemptRecord>,
}

/// Whether another target might succeed where this one failed.
fn may_fall_back(kind: ErrorKind) -> bool {
    kind.is_transient() || matches!(kind, ErrorKind::Auth | ErrorKind::ContextTooLong)
}

/// Runs `op` against the targets in order until one succeeds, a failure is not worth another
/// target, or the deadline passes.
pub async fn run(
    registry: &Registry,
    http: &reqwest::Client,
    ctx: &RequestCtx,
    targets: &[Target],
    op: Operation<'_>,
) -> Result<Served, Failed> {
    let mut attempts = Vec::with_capacity(targets.len());
    let mut last: Option<ApiError> = None;
    for target in targets {
        let Some(upstream) = registry.upstream(&target.provider) else {
            continue;
        };
        let now = Instant::now();
        let remaining = ctx.deadline.saturating_duration_since(now);
        if remaining.is_zero() {
            break;
        }
        let timeout = upstream.timeout.min(remaining);
        let call = Call {
            http,
            endpoint: &upstream.endpoint,
            model: &target.upstream_model,
            timeout,
        };
        let result = match tokio::time::timeout(timeout, once(upstream, call, op)).await {
            Ok(r) => r,
            Err(_) => Err(ProviderError::timeout(timeout)),
        };
        let latency = now.elapsed();
        match result {
            Ok(output) => {
                attempts.push(AttemptRecord {
                    target: target.clone(),
                    error: None,
                    latency,
                });
                return Ok(Served {
                    output,
                    target: target.clone(),
                    attempts,
                });
            }
            Err(error) => {
                tracing::warn!(
                    request_id = %ctx.request_id,
                    target = %target.model,
                    kind = error.kind.as_str(),
                    status = error.status,
                    "upstream attempt failed"
                );
                attempts.push(AttemptRecord {
                    target: target.clone(),
                    error: Some(error.kind),
                    latency,
                });
                let fall_back = may_fall_back(error.kind);
                last = Some(ApiError::Upstream {
                    provider: target.provider.clone(),
                    error,
                });
                if !fall_back {
                    break;
                }
            }
        }
    }
    let error = last.unwrap_or_else(|| ApiError::Upstream {
        provider: targets
            .first()
            .map(|t| t.provider.clone())
            .unwrap_or_default(),
        error: ProviderError::timeout(ctx.deadline.saturating_duration_since(ctx.started)),
    });
    Err(Failed { error, attempts })
}

async fn once(
    upstream: &crate::registry::Upstream,
    call: Call<'_>,
    op: Operation<'_>,
) -> Result<Output, ProviderError> {
    match op {
        Operation::Chat(req) => upstream.adapter.chat(call, req).await.map(Output::Chat),
        Operation::Embed(req) => upstream.adapter.embed(call, req).await.map(Output::Embed),
        Operation::Stream(req) => {
            let mut stream = upstream.adapter.chat_stream(call, req).await?;
            match stream.next().await {
                Some(Ok(first)) => Ok(Output::Stream(first, stream)),
                Some(Err(e)) => Err(e),
                None => Err(ProviderError::new(
                    ErrorKind::MalformedReply,
                    "the upstream stream ended before its first event",
                )),
            }
        }
    }
}

/// Bounds the silence between stream events: a stalled upstream ends the stream with a
/// `Timeout` error instead of holding the client forever.
pub fn with_idle_timeout(stream: EventStream, idle: Duration) -> EventStream {
    futures::stream::unfold((stream, false), move |(mut stream, done)| async move {
        if done {
            return None;
        }
        match tokio::time::timeout(idle, stream.next()).await {
            Ok(Some(Ok(event))) => Some((Ok(event), (stream, false))),
            Ok(Some(Err(e))) => Some((Err(e), (stream, true))),
            Ok(None) => None,
            Err(_) => Some((
                Err(ProviderError::new(
                    ErrorKind::Timeout,
                    format!("the upstream stream was silent for {} ms", idle.as_millis()),
                )),
                (stream, true),
            )),
        }
    })
    .boxed()
}
