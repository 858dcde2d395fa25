//! Micro-benchmark of upstream stream decoding: a 20-chunk OpenAI SSE body, one network read
//! per event, through `decode_sse_bytes` into canonical events. Run with
//! `cargo bench -p switchyard-providers` (or `bench/run --micro`).

use bytes::Bytes;
use futures::StreamExt;
use switchyard_protocol::ProviderError;
use switchyard_providers::openai::decode_sse_bytes;

fn main() {
    divan::main();
}

/// The body an OpenAI upstream sends for a 20-chunk answer, one `Bytes` per SSE event.
fn frames() -> Vec<Bytes> {
    let head = r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","#;
    let mut out = vec![format!(
        "data: {head}\"choices\":[{{\"index\":0,\"delta\":{{\"role\":\"assistant\",\"content\":\"\"}},\"finish_reason\":null}}]}}\n\n"
    )];
    for i in 0..20 {
        out.push(format!(
            "data: {head}\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"word{i} \"}},\"finish_reason\":null}}]}}\n\n"
        ));
    }
    out.push(format!(
        "data: {head}\"choices\":[{{\"index\":0,\"delta\":{{}},\"finish_reason\":\"stop\"}}]}}\n\n"
    ));
    out.push("data: [DONE]\n\n".to_owned());
    out.into_iter().map(Bytes::from).collect()
}

#[divan::bench]
fn openai_sse_20_chunks(bencher: divan::Bencher) {
    let frames = frames();
    let bytes: usize = frames.iter().map(Bytes::len).sum();
    bencher
        .counter(divan::counter::BytesCount::new(bytes))
        .with_inputs(|| frames.clone())
        .bench_values(|frames| {
            let input = futures::stream::iter(frames.into_iter().map(Ok::<_, ProviderError>));
            futures::executor::block_on(decode_sse_bytes(input).count())
        });
}
