//! Micro-benchmarks of the mock upstream's generator, the cost every load benchmark pays on
//! the upstream side: a complete answer to a 1 KB prompt (token counting included) and the
//! 20-chunk stream of events for it. Run with `cargo bench -p switchyard-mock`.

use switchyard_mock::synth::{self, Shape};
use switchyard_protocol::{ChatRequest, Message, Role};

fn main() {
    divan::main();
}

fn request() -> ChatRequest {
    let words = "route the request to the cheapest model that meets the latency budget ";
    let prompt: String = words
        .repeat(1024 / words.len() + 1)
        .chars()
        .take(1024)
        .collect();
    let json = serde_json::json!({"model": "bench/nonstream", "messages": []});
    let mut req: ChatRequest = match serde_json::from_value(json) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("bench fixture does not parse: {e}");
            std::process::exit(1)
        }
    };
    req.messages = vec![Message::text(Role::User, prompt)];
    req
}

#[divan::bench]
fn complete_1kb_prompt(bencher: divan::Bencher) {
    let req = request();
    bencher.bench(|| synth::complete(divan::black_box(&req), "bench", Shape::default()));
}

#[divan::bench]
fn count_tokens_1kb(bencher: divan::Bencher) {
    let req = request();
    bencher.bench(|| synth::prompt_tokens(divan::black_box(&req)));
}

#[divan::bench]
fn stream_events_20_chunks(bencher: divan::Bencher) {
    let req = request();
    let shape = Shape {
        words: 40,
        ..Shape::default()
    };
    let resp = synth::complete(&req, "bench", shape);
    bencher.bench(|| synth::stream_events(divan::black_box(&resp), Some(20)));
}
