//! Micro-benchmarks of the wire conversions on the request path: OpenAI and Anthropic wire
//! types to and from the canonical model, for a chat with a 1 KB prompt and one tool. Run with
//! `cargo bench -p switchyard-protocol` (or `bench/run --micro`).

use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use switchyard_protocol::openai::{ChatCompletion, ChatCompletionRequest};
use switchyard_protocol::{ChatRequest, ChatResponse, anthropic, body, openai};

fn main() {
    divan::main();
}

/// 1,024 bytes of prompt text.
fn prompt() -> String {
    let words = "route the request to the cheapest model that meets the latency budget ";
    words
        .repeat(1024 / words.len() + 1)
        .chars()
        .take(1024)
        .collect()
}

fn parse<T: DeserializeOwned>(value: Value) -> T {
    match serde_json::from_value(value) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("bench fixture does not parse: {e}");
            std::process::exit(1)
        }
    }
}

fn tool() -> Value {
    json!({"type": "function", "function": {
        "name": "lookup_order",
        "description": "Look an order up by its id",
        "parameters": {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]}
    }})
}

fn openai_request_json() -> Value {
    json!({
        "model": "openai/gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": prompt()},
            {"role": "assistant", "content": "Which order do you mean?"},
            {"role": "user", "content": "Order 1234, please."}
        ],
        "tools": [tool()],
        "temperature": 0.2,
        "max_tokens": 256
    })
}

fn anthropic_request_json() -> Value {
    json!({
        "model": "anthropic/claude-haiku-4-5",
        "system": "You are a helpful assistant.",
        "max_tokens": 256,
        "messages": [
            {"role": "user", "content": prompt()},
            {"role": "assistant", "content": "Which order do you mean?"},
            {"role": "user", "content": [{"type": "text", "text": "Order 1234, please."}]}
        ],
        "tools": [{"name": "lookup_order", "description": "Look an order up by its id",
                   "input_schema": {"type": "object", "properties": {"id": {"type": "string"}}}}],
        "temperature": 0.2
    })
}

fn canonical_request() -> ChatRequest {
    let wire: ChatCompletionRequest = parse(openai_request_json());
    match openai::request_to_canonical(wire) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("bench fixture is not a valid request: {}", e.message);
            std::process::exit(1)
        }
    }
}

fn canonical_response() -> ChatResponse {
    let wire: ChatCompletion = parse(json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1_700_000_000,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant",
            "content": "Order 1234 shipped on Monday and should reach you by Thursday; the carrier \
                        will text a delivery window the evening before it arrives at your door."}}],
        "usage": {"prompt_tokens": 260, "completion_tokens": 32, "total_tokens": 292}
    }));
    openai::response_to_canonical(wire)
}

#[divan::bench]
fn openai_bytes_to_canonical(bencher: divan::Bencher) {
    let bytes = openai_request_json().to_string().into_bytes();
    bencher
        .counter(divan::counter::BytesCount::new(bytes.len()))
        .bench(|| {
            serde_json::from_slice::<ChatCompletionRequest>(divan::black_box(&bytes))
                .ok()
                .map(openai::request_to_canonical)
        });
}

/// As above, through `body::parse` (no copy of the body's text for a second reading).
#[divan::bench]
fn openai_bytes_to_canonical_by_body_parse(bencher: divan::Bencher) {
    let bytes = openai_request_json().to_string().into_bytes();
    bencher
        .counter(divan::counter::BytesCount::new(bytes.len()))
        .bench(|| {
            body::parse::<ChatCompletionRequest>(divan::black_box(&bytes))
                .ok()
                .map(openai::request_to_canonical)
        });
}

#[divan::bench]
fn openai_request_to_canonical(bencher: divan::Bencher) {
    let wire: ChatCompletionRequest = parse(openai_request_json());
    bencher
        .with_inputs(|| wire.clone())
        .bench_values(openai::request_to_canonical);
}

#[divan::bench]
fn openai_request_from_canonical(bencher: divan::Bencher) {
    let req = canonical_request();
    bencher.bench(|| openai::request_from_canonical(divan::black_box(&req), "gpt-4o-mini"));
}

#[divan::bench]
fn openai_response_from_canonical(bencher: divan::Bencher) {
    let resp = canonical_response();
    bencher.bench(|| openai::response_from_canonical(divan::black_box(&resp), "fast"));
}

#[divan::bench]
fn anthropic_request_to_canonical(bencher: divan::Bencher) {
    let wire: anthropic::MessagesRequest = parse(anthropic_request_json());
    bencher
        .with_inputs(|| wire.clone())
        .bench_values(anthropic::request_to_canonical);
}

#[divan::bench]
fn anthropic_request_from_canonical(bencher: divan::Bencher) {
    let req = canonical_request();
    bencher.bench(|| {
        anthropic::request_from_canonical(divan::black_box(&req), "claude-haiku-4-5", 1024)
    });
}

#[divan::bench]
fn anthropic_response_from_canonical(bencher: divan::Bencher) {
    let resp = canonical_response();
    bencher.bench(|| anthropic::response_from_canonical(divan::black_box(&resp), "fast"));
}
