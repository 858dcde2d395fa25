//! What every family's handler shares: resolving the scenario, counting hits, scripted
//! failures (status, `Retry-After`, reset, malformed) and paced streaming bodies with cuts.

use crate::{Mock, Scenario, Stop};
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Renders an error in a family's own format.
pub(crate) type ErrorFn = fn(StatusCode, &str) -> Response;

/// The answer to a generation that stopped, in the family's format: a refusal is a 400 naming
/// the limit; a cancelled one is answered to nobody; a failed one is a 500.
pub(crate) fn stopped(stop: &Stop, error: ErrorFn) -> Response {
    let status = match stop {
        Stop::Refused(_) => StatusCode::BAD_REQUEST,
        Stop::Cancelled | Stop::Failed(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    error(status, &stop.to_string())
}

/// Request counts per model.
#[derive(Debug, Default)]
pub(crate) struct Hits(Mutex<BTreeMap<String, u64>>);

impl Hits {
    pub(crate) fn record(&self, model: &str) {
        if let Ok(mut map) = self.0.lock() {
            *map.entry(model.to_owned()).or_insert(0) += 1;
        }
    }

    pub(crate) fn get(&self, model: &str) -> u64 {
        self.0
            .lock()
            .map(|m| m.get(model).copied().unwrap_or(0))
            .unwrap_or(0)
    }

    pub(crate) fn snapshot(&self) -> serde_json::Value {
        self.0
            .lock()
            .map(|m| serde_json::to_value(&*m).unwrap_or_default())
            .unwrap_or_default()
    }
}

/// A request waiting out its scripted latency; dropped before it is over, it counts as
/// abandoned: its caller went away.
struct Waiting<'a> {
    abandoned: &'a Hits,
    model: &'a str,
    over: bool,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if !self.over {
            self.abandoned.record(self.model);
        }
    }
}

/// The value of the `mock` query parameter, percent-decoded.
fn query_scenario(query: Option<&str>) -> Option<String> {
    let raw = query?
        .split('&')
        .find_map(|pair| pair.strip_prefix("mock="))?;
    let mut out = Vec::with_capacity(raw.len());
    let bytes = raw.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// Resolves the scenario for a request, counts it, waits its latency and plays a scripted
/// failure. `Ok` carries the scenario to answer under.
pub(crate) async fn prelude(
    mock: &Mock,
    model: &str,
    headers: &HeaderMap,
    query: Option<&str>,
    error: ErrorFn,
) -> Result<Scenario, Response> {
    let mut scenario = mock.config.default.clone();
    if let Some(per_model) = mock.config.models.get(model) {
        scenario = per_model.clone();
    }
    let overrides = headers
        .get("x-mock-scenario")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .into_iter()
        .chain(query_scenario(query));
    for spec in overrides {
        if let Err(e) = scenario.apply(&spec) {
            return Err(error(StatusCode::BAD_REQUEST, &e));
        }
    }
    mock.hits.record(model);
    if scenario.latency_ms > 0 {
        // A cancelled call's handler is dropped during the sleep: the guard counts it.
        let mut waiting = Waiting {
            abandoned: &mock.abandoned,
            model,
            over: false,
        };
        tokio::time::sleep(scenario.latency()).await;
        waiting.over = true;
    }
    // Only requests whose caller waited out the latency get here.
    mock.waited.record(model);
    if let Some(status) = scenario.status {
        let rate = scenario.error_rate.unwrap_or(1.0);
        if mock.clock.should_fail(model, rate) {
            let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut resp = error(code, &format!("scripted failure: status {status}"));
            if let Some(secs) = scenario.retry_after {
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            return Err(with_region(resp, &scenario));
        }
    }
    if scenario.reset {
        return Err(reset());
    }
    Ok(scenario)
}

/// A 200 head followed by a dropped connection.
pub(crate) fn reset() -> Response {
    let body = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "scripted reset",
        ))
    });
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(body))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// A 200 whose body is not what the API promises.
pub(crate) fn malformed(content_type: &str) -> Response {
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from("{\"this is\": not json \u{1}"))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

pub(crate) fn with_region(mut resp: Response, scenario: &Scenario) -> Response {
    if let Some(region) = scenario.region.as_deref()
        && let Ok(v) = HeaderValue::from_str(region)
    {
        resp.headers_mut().insert("x-mock-region", v);
    }
    resp
}

/// A JSON answer.
pub(crate) fn json<T: serde::Serialize>(value: &T, scenario: &Scenario) -> Response {
    with_region(axum::Json(value).into_response(), scenario)
}

/// A JSON answer written already (off the async workers).
pub(crate) fn json_text(body: Vec<u8>, scenario: &Scenario) -> Response {
    let head = [(header::CONTENT_TYPE, "application/json")];
    with_region((head, body).into_response(), scenario)
}

/// Writes `value` as JSON text, on whichever thread generated it.
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, Stop> {
    serde_json::to_vec(value).map_err(|e| Stop::Failed(e.to_string()))
}

/// One piece of a streaming body; `content` frames are paced and counted towards TTFT.
pub(crate) struct Frame {
    pub bytes: Bytes,
    pub content: bool,
}

impl Frame {
    pub fn meta(bytes: impl Into<Bytes>) -> Self {
        Self {
            bytes: bytes.into(),
            content: false,
        }
    }

    pub fn content(bytes: impl Into<Bytes>) -> Self {
        Self {
            bytes: bytes.into(),
            content: true,
        }
    }
}

/// A streaming body: frames in order, the first content frame after `ttft_ms`, content frames
/// `1/tokens_per_sec` apart, and a dropped connection after `cut_after` frames.
pub(crate) fn stream(frames: Vec<Frame>, scenario: &Scenario, content_type: &str) -> Response {
    if scenario.malformed {
        let garbage = futures::stream::iter([
            Ok::<_, std::io::Error>(Bytes::from_static(
                b"data: {\"id\": \"x\", \"choices\": [\n\n",
            )),
            Ok(Bytes::from_static(b"data: \xff\xfe not utf8 {{{\n\n")),
        ]);
        return with_region(
            Response::builder()
                .header(header::CONTENT_TYPE, content_type)
                .body(Body::from_stream(garbage))
                .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response()),
            scenario,
        );
    }
    let ttft = std::time::Duration::from_millis(scenario.ttft_ms);
    let gap = scenario.chunk_gap();
    let cut = scenario.cut_after;
    // (frames left, frames sent, content seen yet, finished)
    let state = (frames.into_iter(), 0usize, false, false);
    let body = futures::stream::unfold(
        state,
        move |(mut frames, sent, seen, finished)| async move {
            if finished {
                return None;
            }
            if cut.is_some_and(|n| sent >= n) {
                // Drop the connection mid-stream (hyper aborts on a body error), after a pause that
                // lets the frames before the cut reach the client.
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                let cut =
                    std::io::Error::new(std::io::ErrorKind::ConnectionReset, "scripted stream cut");
                return Some((Err(cut), (frames, sent, seen, true)));
            }
            let frame = frames.next()?;
            if frame.content {
                let wait = if seen { gap } else { ttft };
                if !wait.is_zero() {
                    tokio::time::sleep(wait).await;
                }
            }
            let seen = seen || frame.content;
            Some((Ok(frame.bytes), (frames, sent + 1, seen, false)))
        },
    );
    with_region(
        Response::builder()
            .header(header::CONTENT_TYPE, content_type)
            .header(header::CACHE_CONTROL, "no-cache")
            .body(Body::from_stream(body))
            .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response()),
        scenario,
    )
}

/// The credential a request presented, from the header the family uses.
pub(crate) fn credential<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    let value = headers.get(name)?.to_str().ok()?.trim();
    let value = if name == "authorization" {
        value.strip_prefix("Bearer ")?.trim()
    } else {
        value
    };
    (!value.is_empty()).then_some(value)
}

/// Whether a presented credential is accepted by this mock's config.
pub(crate) fn accepted(mock: &Mock, presented: Option<&str>) -> bool {
    match (presented, &mock.config.api_key) {
        (None, _) => false,
        (Some(p), Some(expected)) => p == expected,
        (Some(_), None) => true,
    }
}
