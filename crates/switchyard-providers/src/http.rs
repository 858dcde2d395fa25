//! The HTTP plumbing every family shares: sending with a deadline, turning upstream failures
//! into typed errors (keeping `Retry-After`), bounded body reads, and SSE decoding.

use crate::{Call, EventStream};
use bytes::Bytes;
use futures::{Stream, StreamExt, ready};
use serde::de::DeserializeOwned;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use switchyard_protocol::sse::{self, Event};
use switchyard_protocol::{ErrorKind, ProviderError, StreamEvent};

/// JSON request bodies written by the protocol's JSON writer (serde_json's text, with strings
/// escaped a word at a time: the prompt is most of every upstream body).
pub trait JsonBody {
    /// Sets the body to `body`'s JSON text and the content type to `application/json`.
    fn json_body<T: serde::Serialize + ?Sized>(self, body: &T) -> Self;
}

impl JsonBody for reqwest::RequestBuilder {
    fn json_body<T: serde::Serialize + ?Sized>(self, body: &T) -> Self {
        match switchyard_protocol::json::to_string(body) {
            Ok(text) => self
                .header(
                    reqwest::header::CONTENT_TYPE,
                    reqwest::header::HeaderValue::from_static("application/json"),
                )
                .body(text),
            // serde_json refuses the same values: reqwest keeps its error for `send` to report.
            Err(_) => self.json(body),
        }
    }
}

/// Upstream bodies larger than this are refused as malformed rather than buffered.
pub const MAX_UPSTREAM_BODY: usize = 32 * 1024 * 1024;

/// Sends a request and waits for the response head within the call's timeout. Non-2xx answers
/// become typed errors with the upstream's own message.
pub async fn send(
    call: Call<'_>,
    req: reqwest::RequestBuilder,
) -> Result<reqwest::Response, ProviderError> {
    let resp = match tokio::time::timeout(call.timeout, req.send()).await {
        Err(_) => return Err(ProviderError::timeout(call.timeout)),
        Ok(Err(e)) => return Err(transport_error(e, call.timeout)),
        Ok(Ok(resp)) => resp,
    };
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let retry_after = retry_after(resp.headers());
    let body = read_limited(resp, 64 * 1024).await.unwrap_or_default();
    let message = upstream_message(&body)
        .unwrap_or_else(|| format!("upstream answered {status} with no error message"));
    Err(ProviderError::from_status(
        status.as_u16(),
        message,
        retry_after,
    ))
}

/// Maps a reqwest failure to a kind, without leaking URLs that might hold keys.
pub fn transport_error(e: reqwest::Error, timeout: Duration) -> ProviderError {
    if e.is_timeout() {
        ProviderError::timeout(timeout)
    } else if e.is_connect() {
        ProviderError::transport("could not connect to the upstream")
    } else if e.is_body() || e.is_decode() {
        ProviderError::transport("the upstream connection broke while sending the body")
    } else {
        ProviderError::transport(format!("upstream request failed: {}", e.without_url()))
    }
}

/// `Retry-After` in seconds or as an HTTP date, or the `retry-after-ms` some vendors send.
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    if let Some(ms) = headers
        .get("retry-after-ms")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|ms| ms.is_finite() && *ms >= 0.0)
    {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let when = httpdate(value)?;
    let now = std::time::SystemTime::now();
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Parses an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the only form RFC 9110 requires.
fn httpdate(s: &str) -> Option<std::time::SystemTime> {
    let parts: Vec<&str> = s.split_whitespace().collect();
    let [_, day, month, year, time, "GMT"] = parts.as_slice() else {
        return None;
    };
    let day: u64 = day.parse().ok()?;
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| m == month)? as u64
        + 1;
    let year: u64 = year.parse().ok()?;
    let mut hms = time.split(':').map(|p| p.parse::<u64>().ok());
    let (h, m, sec) = (hms.next()??, hms.next()??, hms.next()??);
    // Days from civil date (Howard Hinnant's algorithm), valid for years after 1970.
    let (y, mo) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y / 400;
    let yoe = y - era * 400;
    let doy = (153 * mo + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = (era * 146_097 + doe).checked_sub(719_468)?;
    let secs = days * 86_400 + h * 3600 + m * 60 + sec;
    Some(std::time::UNIX_EPOCH + Duration::from_secs(secs))
}

/// Finds the human message in any of the error shapes upstreams use:
/// `{"error":{"message"}}` (OpenAI, Anthropic, Gemini), `{"message"}` (Bedrock),
/// `{"errors":[{"message"}]}` (Cloudflare), or a short plain-text body.
pub fn upstream_message(body: &[u8]) -> Option<String> {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) {
        let candidates = [
            value.pointer("/error/message"),
            value.pointer("/message"),
            value.pointer("/Message"),
            value.pointer("/errors/0/message"),
            value.pointer("/error"),
        ];
        for found in candidates.into_iter().flatten() {
            if let Some(s) = found.as_str() {
                return Some(truncate(s, 1000));
            }
        }
        return None;
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    (!text.is_empty()).then(|| truncate(text, 300))
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// Reads a body up to `limit` bytes.
pub async fn read_limited(resp: reqwest::Response, limit: usize) -> Result<Bytes, ProviderError> {
    let mut body = resp.bytes_stream();
    // A small body usually arrives as one chunk: it is kept as it came, and copied into a
    // buffer only when a second chunk follows.
    let mut first: Option<Bytes> = None;
    let mut out = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| transport_error(e, Duration::ZERO))?;
        if first.as_ref().map_or(0, Bytes::len) + out.len() + chunk.len() > limit {
            return Err(ProviderError::malformed(format!(
                "upstream body is larger than {limit} bytes"
            )));
        }
        match first.take() {
            None if out.is_empty() => first = Some(chunk),
            Some(held) => {
                out.reserve(held.len() + chunk.len());
                out.extend_from_slice(&held);
                out.extend_from_slice(&chunk);
            }
            None => out.extend_from_slice(&chunk),
        }
    }
    Ok(first.unwrap_or_else(|| Bytes::from(out)))
}

/// Reads and parses a JSON body within the call's deadline.
pub async fn read_json<T: DeserializeOwned>(
    call: Call<'_>,
    resp: reqwest::Response,
) -> Result<T, ProviderError> {
    let body = tokio::time::timeout(call.timeout, read_limited(resp, MAX_UPSTREAM_BODY))
        .await
        .map_err(|_| ProviderError::timeout(call.timeout))??;
    parse_json(&body)
}

/// Parses JSON, reporting where it went wrong without echoing the body.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ProviderError> {
    serde_json::from_slice(body).map_err(not_expected_json)
}

/// Parses JSON text already known to be UTF-8 (an SSE event's data), so its strings are not
/// validated a second time.
pub fn parse_json_text<'a, T: serde::Deserialize<'a>>(text: &'a str) -> Result<T, ProviderError> {
    serde_json::from_str(text).map_err(not_expected_json)
}

fn not_expected_json(e: serde_json::Error) -> ProviderError {
    ProviderError::malformed(format!("upstream reply is not the expected JSON: {e}"))
}

/// A response body as a stream of byte chunks, transport failures typed.
pub fn body_bytes(
    resp: reqwest::Response,
) -> impl Stream<Item = Result<Bytes, ProviderError>> + Send {
    resp.bytes_stream()
        .map(|chunk| chunk.map_err(|e| transport_error(e, Duration::ZERO)))
}

/// SSE events from any stream of byte chunks, however the chunks split the events. A broken
/// connection ends the stream with its `Transport` error; bytes that are not UTF-8 end it with
/// `MalformedReply`, as does an event that grows past [`MAX_UPSTREAM_BODY`] instead of being
/// buffered.
pub fn sse_events<S>(bytes: S) -> impl Stream<Item = Result<Event, ProviderError>> + Send
where
    S: Stream<Item = Result<Bytes, ProviderError>> + Send,
{
    SseEvents {
        bytes: Box::pin(bytes),
        decoder: sse::Decoder::default(),
        ended: false,
    }
}

/// The state of [`sse_events`], polled in place: built on `unfold`, the state moved into and out
/// of a new future for every event.
struct SseEvents<S> {
    bytes: Pin<Box<S>>,
    decoder: sse::Decoder,
    ended: bool,
}

impl<S> Stream for SseEvents<S>
where
    S: Stream<Item = Result<Bytes, ProviderError>>,
{
    type Item = Result<Event, ProviderError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.ended {
            return Poll::Ready(None);
        }
        loop {
            let failure = match this.decoder.next_event() {
                Ok(Some(event)) => return Poll::Ready(Some(Ok(event))),
                Ok(None) if this.decoder.buffered() > MAX_UPSTREAM_BODY => {
                    ProviderError::malformed(format!(
                        "upstream stream event is larger than {MAX_UPSTREAM_BODY} bytes"
                    ))
                }
                Ok(None) => match ready!(this.bytes.as_mut().poll_next(cx)) {
                    Some(Ok(chunk)) => {
                        this.decoder.push(&chunk);
                        continue;
                    }
                    Some(Err(e)) => e,
                    None => {
                        this.ended = true;
                        return Poll::Ready(None);
                    }
                },
                Err(sse::NotUtf8) => ProviderError::malformed("upstream stream is not valid UTF-8"),
            };
            this.ended = true;
            return Poll::Ready(Some(Err(failure)));
        }
    }
}

/// What a stream decoder made of one upstream item.
pub struct Decoded {
    pub events: Vec<StreamEvent>,
    /// The upstream said the answer is complete.
    pub done: bool,
}

impl Decoded {
    pub fn more(events: Vec<StreamEvent>) -> Self {
        Self {
            events,
            done: false,
        }
    }

    pub fn done(events: Vec<StreamEvent>) -> Self {
        Self { events, done: true }
    }
}

/// Drives a stream of upstream items through a stateful decoder into canonical events. A
/// stream that ends before the decoder saw the upstream's end marker ends with a `Transport`
/// error: a cut-off stream is never a silent success.
pub fn decode_stream<S, T, D>(items: S, decoder: D) -> EventStream
where
    S: Stream<Item = Result<T, ProviderError>> + Send + 'static,
    T: Send + 'static,
    D: FnMut(T) -> Result<Decoded, ProviderError> + Send + Unpin + 'static,
{
    Box::pin(DecodeStream {
        items: Box::pin(items),
        decoder,
        pending: std::collections::VecDeque::new(),
        done: false,
    })
}

/// The state of [`decode_stream`], polled in place.
struct DecodeStream<S, D> {
    items: Pin<Box<S>>,
    decoder: D,
    /// Events decoded from one item and not yet handed out.
    pending: std::collections::VecDeque<StreamEvent>,
    done: bool,
}

impl<S, T, D> Stream for DecodeStream<S, D>
where
    S: Stream<Item = Result<T, ProviderError>>,
    D: FnMut(T) -> Result<Decoded, ProviderError> + Unpin,
{
    type Item = Result<StreamEvent, ProviderError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(event) = this.pending.pop_front() {
                return Poll::Ready(Some(Ok(event)));
            }
            if this.done {
                return Poll::Ready(None);
            }
            let failure = match ready!(this.items.as_mut().poll_next(cx)) {
                None => ProviderError::new(
                    ErrorKind::Transport,
                    "the upstream stream ended before the answer was complete",
                ),
                Some(Err(e)) => e,
                Some(Ok(item)) => match (this.decoder)(item) {
                    Ok(decoded) => {
                        this.pending.extend(decoded.events);
                        this.done = decoded.done;
                        continue;
                    }
                    Err(e) => e,
                },
            };
            this.done = true;
            return Poll::Ready(Some(Err(failure)));
        }
    }
}

/// The one pooled upstream client: HTTP/1.1 keep-alive, HTTP/2 by ALPN, rustls with the ring
/// provider, TCP_NODELAY, and a connect timeout (call timeouts are set per call).
pub fn client() -> Result<reqwest::Client, String> {
    // Installing twice is harmless; the first provider stays.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .pool_idle_timeout(Duration::from_secs(90))
        .pool_max_idle_per_host(256)
        .tcp_nodelay(true)
        // Upstream APIs do not redirect; following one could leak credentials to another host.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("switchyard/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response_of(chunks: &[&'static str]) -> reqwest::Response {
        let pieces: Vec<Result<Bytes, std::io::Error>> = chunks
            .iter()
            .map(|c| Ok(Bytes::from_static(c.as_bytes())))
            .collect();
        let body = reqwest::Body::wrap_stream(futures::stream::iter(pieces));
        reqwest::Response::from(http::Response::new(body))
    }

    #[tokio::test]
    async fn a_body_reads_whole_however_it_is_cut() {
        for chunks in [
            vec![],
            vec![""],
            vec!["{\"a\":1}"],
            vec!["", "{\"a\"", ":1}"],
            vec!["{", "", "\"a\"", ":", "1}", ""],
        ] {
            let body = read_limited(response_of(&chunks), 7).await;
            let expected = chunks.concat();
            assert_eq!(
                body.ok().as_deref(),
                Some(expected.as_bytes()),
                "{chunks:?}"
            );
        }
        for chunks in [
            vec!["{\"a\":12}"],
            vec!["{\"a\"", ":12}"],
            vec!["{\"a\":1}", " "],
        ] {
            let err = read_limited(response_of(&chunks), 7).await.err();
            assert!(
                err.is_some_and(|e| e.message.contains("larger than 7 bytes")),
                "{chunks:?}"
            );
        }
    }
}
