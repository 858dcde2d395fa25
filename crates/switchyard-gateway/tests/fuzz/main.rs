//! The fuzz test of the default run: valid requests for every door (chat plain and streaming,
//! with tools, a forced tool and a JSON schema to follow; messages plain and streaming with a
//! forced tool; embeddings as floats and base64), mutated by the hostile families (wrong types,
//! numbers past every range, deep nesting, long strings, odd text, bytes that are not UTF-8,
//! dropped and doubled keys, cut bodies, bodies that are not objects, arrays grown to
//! thousands, pathological schemas, hostile headers, path tricks and other methods), sent to the
//! real binary over raw loopback connections a few at a time. No answer is a 5xx; every error
//! has a JSON body in the door's shape; every stream ends with its success marker or an error
//! event; a body that is not UTF-8 is never served; unmutated requests are served; and
//! afterwards the process is alive, answers `/healthz`, and its peak RSS is bounded.
//!
//! The seeds are fixed, so a run sends the same bytes every time. A failure names its seed and
//! case; `SWITCHYARD_FUZZ_SEED=0x… SWITCHYARD_FUZZ_CASE=N` sends that case alone.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../common/mod.rs"]
mod common;
mod doors;
mod hostile;
mod mutate;
mod rng;
mod wire;

use futures::StreamExt;
use mutate::{Case, Family};
use serde_json::Value;
use std::collections::BTreeMap;
use wire::Reply;

const SEEDS: [u64; 8] = [
    0x5717_c4a1,
    0x0bad_5eed,
    0xfeed_face,
    0x1234_5678,
    0x9e37_79b9,
    0xc0ff_ee00,
    0x0dd_ba11,
    0x7e57_ab1e,
];
const CASES_PER_SEED: usize = 125;
const CONCURRENCY: usize = 8;
/// Peak RSS allowed to the gateway after the run (it starts near 30 MB).
const MAX_RSS_KB: u64 = 512 * 1024;

fn config(db: &std::path::Path) -> String {
    format!(
        r#"store = "sqlite://{db}"
node = "fuzz"

[limits]
max_body_bytes = 2097152

[providers.mock]
family = "mock"

[aliases]
fast = ["mock/fast"]
smart = ["mock/smart", "mock/fast"]
embed = ["mock/embed"]
"#,
        db = db.display()
    )
}

/// The cases to send: every seed's, or the one named in the environment.
fn cases() -> Vec<(u64, usize)> {
    let number = |name: &str| {
        std::env::var(name)
            .ok()
            .map(|v| match v.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16).unwrap(),
                None => v.parse().unwrap(),
            })
    };
    let seeds = number("SWITCHYARD_FUZZ_SEED").map_or(SEEDS.to_vec(), |s| vec![s]);
    let only = number("SWITCHYARD_FUZZ_CASE").map(|c| c as usize);
    seeds
        .into_iter()
        .flat_map(|seed| (0..CASES_PER_SEED).map(move |i| (seed, i)))
        .filter(|(_, i)| only.is_none_or(|o| o == *i))
        .collect()
}

#[derive(Clone, Copy, PartialEq)]
enum Shape {
    OpenAi,
    Anthropic,
}

/// The shape of the door a request target names (an absolute-form target by its path).
fn shape(target: &str) -> Shape {
    let path = target.strip_prefix("http://example.com").unwrap_or(target);
    let path = path.split(['?', '#']).next().unwrap_or(path);
    if path == "/v1/messages" || path.starts_with("/v1/messages/") {
        Shape::Anthropic
    } else {
        Shape::OpenAi
    }
}

/// An error body in `shape`, or why not.
fn error_body(shape: Shape, body: &Value) -> Result<(), String> {
    let error = &body["error"];
    let message = error["message"].as_str().unwrap_or_default();
    let shaped = !message.is_empty()
        && error["type"].is_string()
        && (shape == Shape::OpenAi || body["type"] == "error");
    if shaped {
        Ok(())
    } else {
        Err(format!("an error body not in the door's shape: {body}"))
    }
}

/// How a case was answered, when the answer is acceptable.
fn check(case: &Case, reply: &Reply) -> Result<&'static str, String> {
    let status = reply.status;
    let text = String::from_utf8_lossy(&reply.body[..reply.body.len().min(600)]).into_owned();
    if !(200..300).contains(&status) && !(400..500).contains(&status) {
        return Err(format!("answered {status}: {text}"));
    }
    if case.method == "HEAD" {
        return Ok("HEAD");
    }
    let content_type = reply.header("content-type").unwrap_or_default();
    let shape = shape(&case.path);
    if status >= 400 {
        if !content_type.starts_with("application/json") {
            return Err(format!("{status} as {content_type:?}: {text}"));
        }
        if reply.body.len() > 16 * 1024 {
            return Err(format!("{status} with {} bytes of error", reply.body.len()));
        }
        let body: Value = serde_json::from_slice(&reply.body)
            .map_err(|_| format!("{status} whose body is not JSON: {text}"))?;
        error_body(shape, &body).map_err(|e| format!("{status}: {e}"))?;
        return Ok("refused");
    }
    let door = matches!(
        case.path.as_str(),
        "/v1/chat/completions" | "/v1/messages" | "/v1/embeddings"
    );
    if door && std::str::from_utf8(&case.body).is_err() {
        return Err(format!("{status}: a body that is not UTF-8 was served"));
    }
    if content_type.starts_with("text/event-stream") {
        return stream(shape, &reply.body);
    }
    if content_type.starts_with("application/json") {
        let body: Value = serde_json::from_slice(&reply.body)
            .map_err(|_| format!("{status} whose body is not JSON: {text}"))?;
        let expected = match case.path.as_str() {
            "/v1/chat/completions" => "choices",
            "/v1/messages" => "content",
            "/v1/embeddings" => "data",
            _ => return Ok("served elsewhere"),
        };
        if body.get(expected).is_none() {
            return Err(format!("{status} without {expected:?}: {text}"));
        }
        return Ok("served");
    }
    if case.path.ends_with("/metrics") && content_type.starts_with("text/plain") {
        return Ok("served elsewhere");
    }
    Err(format!("{status} as {content_type:?}: {text}"))
}

/// A stream's frames parse, and its last is the door's success marker or an error event.
fn stream(shape: Shape, body: &[u8]) -> Result<&'static str, String> {
    let text = std::str::from_utf8(body).map_err(|_| "a stream that is not UTF-8".to_owned())?;
    let frames: Vec<(&str, String)> = text
        .split("\n\n")
        .filter(|f| !f.trim().is_empty())
        .map(|frame| {
            let event = frame
                .lines()
                .find_map(|l| l.strip_prefix("event: "))
                .unwrap_or_default();
            let data: Vec<&str> = frame
                .lines()
                .filter_map(|l| l.strip_prefix("data: "))
                .collect();
            (event, data.join("\n"))
        })
        .collect();
    let Some((event, data)) = frames.last() else {
        return Err("an empty stream".into());
    };
    let tail = &text[text.len().saturating_sub(400)..];
    match shape {
        Shape::OpenAi if data == "[DONE]" => Ok("streamed"),
        Shape::Anthropic if *event == "message_stop" => Ok("streamed"),
        Shape::Anthropic if *event != "error" => Err(format!("a stream that ends in {tail:?}")),
        _ => {
            let body: Value = serde_json::from_str(data)
                .map_err(|_| format!("a stream that ends in {tail:?}"))?;
            error_body(shape, &body)?;
            Ok("stream ended with an error event")
        }
    }
}

fn peak_rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutated_requests_to_every_door_get_shaped_answers_and_the_process_stays_up() {
    let dir = std::env::temp_dir().join(switchyard_gateway::ids::new_id("fuzz"));
    std::fs::create_dir_all(&dir).unwrap();
    let config_path = dir.join("switchyard.toml");
    std::fs::write(&config_path, config(&dir.join("events.db"))).unwrap();
    let (mut server, root) = common::serve_binary(&config_path, |_| {}).await;
    let addr = root.trim_start_matches("http://").to_owned();
    let templates = doors::templates();
    let started = std::time::Instant::now();

    let results: Vec<(Case, Result<&'static str, String>)> = futures::stream::iter(cases())
        .map(|(seed, index)| {
            let case = mutate::case(seed, index, &templates);
            let addr = addr.clone();
            async move {
                let outcome = match wire::exchange(&addr, &case).await {
                    Ok(reply) => check(&case, &reply),
                    Err(e) => Err(e),
                };
                (case, outcome)
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;

    let mut failures = Vec::new();
    let mut outcomes: BTreeMap<&str, usize> = BTreeMap::new();
    // Per family: cases, and those answered other than by a refusal.
    let mut families: BTreeMap<Family, (usize, usize)> = BTreeMap::new();
    let mut mutated_served = 0;
    for (case, outcome) in &results {
        for family in &case.families {
            let count = families.entry(*family).or_default();
            count.0 += 1;
            count.1 += usize::from(outcome.as_ref().is_ok_and(|how| *how != "refused"));
        }
        match outcome {
            Ok(how)
                if case.families.is_empty() && !how.starts_with("stream") && *how != "served" =>
            {
                failures.push(format!("{case}\n  => an unmutated request was {how}"));
            }
            Ok(how) => {
                *outcomes.entry(how).or_default() += 1;
                mutated_served += usize::from(!case.families.is_empty() && *how != "refused");
            }
            Err(e) => failures.push(format!("{case}\n  => {e}")),
        }
    }
    let health = wire::exchange(&addr, &health_check()).await;
    let alive = server.try_wait().unwrap().is_none();
    let peak = peak_rss_kb(server.id());
    eprintln!(
        "{} cases in {:.1?}, peak RSS {peak} kB: {outcomes:?}; (cases, not refused) by \
         mutation: {families:?}",
        results.len(),
        started.elapsed()
    );
    let _ = server.kill();
    let _ = server.wait();
    failures.truncate(10);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(alive, "the gateway exited");
    assert_eq!(health.map(|r| r.status), Ok(200), "/healthz");
    assert!(peak < MAX_RSS_KB, "peak RSS {peak} kB");
    // The mutations must not all stop at the parser: some reach the mock and are served.
    if results.len() == SEEDS.len() * CASES_PER_SEED {
        assert!(
            mutated_served >= 50,
            "only {mutated_served} mutated requests served"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn health_check() -> Case {
    Case {
        seed: 0,
        index: 0,
        door: "health",
        method: "GET".into(),
        path: "/healthz".into(),
        headers: Vec::new(),
        body: Vec::new(),
        families: Vec::new(),
        notes: Vec::new(),
    }
}
