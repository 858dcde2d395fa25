//! What counting a usage costs the gateway when a provider reports none: the prompt of a
//! plain request (a 1 KB user message under a system line) and a 60-word answer, with the
//! tokenizer's tables already loaded. `cargo bench -p switchyard-tokens`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use switchyard_protocol::{ChatRequest, Message, Role};
use switchyard_tokens::Tokenizer;

fn main() {
    // Load the tables once, outside the measured runs.
    Tokenizer::O200K.count("warm");
    divan::main();
}

fn request() -> ChatRequest {
    let words = "route the request to the cheapest model that can answer it well ";
    ChatRequest {
        model: "gpt-4o-mini".into(),
        messages: vec![
            Message::text(Role::System, "You are a careful assistant."),
            Message::text(Role::User, words.repeat(16)),
        ],
        ..ChatRequest::default()
    }
}

#[divan::bench]
fn prompt_of_a_1kb_request(bencher: divan::Bencher) {
    let req = request();
    bencher.bench(|| Tokenizer::O200K.prompt(divan::black_box(&req)));
}

#[divan::bench]
fn a_60_word_answer(bencher: divan::Bencher) {
    let answer = Message::text(
        Role::Assistant,
        "the switchyard wakes before dawn and sorts the trains by where they go ".repeat(5),
    );
    bencher.bench(|| Tokenizer::O200K.message(divan::black_box(&answer)));
}
