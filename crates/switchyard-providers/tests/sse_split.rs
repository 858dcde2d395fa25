//! Property: an OpenAI SSE body decodes to the same canonical events however the network
//! splits it into chunks, and a body cut short never decodes as a complete answer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use bytes::Bytes;
use futures::StreamExt;
use proptest::prelude::*;
use switchyard_mock::synth;
use switchyard_protocol::openai::ChunkEncoder;
use switchyard_protocol::{ChatRequest, Message, ProviderError, Role, StreamEvent, sse};
use switchyard_providers::openai::decode_sse_bytes;

fn body_and_events(words: usize, seed: u64) -> (Vec<u8>, Vec<StreamEvent>) {
    let req = ChatRequest {
        model: "m".into(),
        messages: vec![Message::text(Role::User, "hi ünïcödé ✓")],
        n: 1,
        ..ChatRequest::default()
    };
    let resp = synth::complete(
        &req,
        "m",
        synth::Shape {
            words,
            seed: Some(seed),
            usage: true,
        },
    );
    let events = synth::stream_events(&resp, None);
    let mut enc = ChunkEncoder::new("m", true);
    let mut body = Vec::new();
    for e in &events {
        enc.write(e, 1, &mut body);
    }
    body.extend_from_slice(sse::DONE.as_bytes());
    (body, events)
}

fn split(body: &[u8], cuts: &[usize]) -> Vec<Result<Bytes, ProviderError>> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (body.len() + 1)).collect();
    points.sort_unstable();
    points.dedup();
    let mut out = Vec::new();
    let mut start = 0;
    for p in points.into_iter().chain([body.len()]) {
        if p > start {
            out.push(Ok(Bytes::copy_from_slice(&body[start..p])));
            start = p;
        }
    }
    out
}

fn decode(chunks: Vec<Result<Bytes, ProviderError>>) -> (Vec<StreamEvent>, Option<ProviderError>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut stream = decode_sse_bytes(futures::stream::iter(chunks));
        let mut events = Vec::new();
        while let Some(item) = stream.next().await {
            match item {
                Ok(e) => events.push(e),
                Err(e) => return (events, Some(e)),
            }
        }
        (events, None)
    })
}

proptest! {
    #[test]
    fn any_split_decodes_the_same(words in 1usize..40, seed in any::<u64>(), cuts in proptest::collection::vec(any::<usize>(), 0..30)) {
        let (body, events) = body_and_events(words, seed);
        let (decoded, failure) = decode(split(&body, &cuts));
        prop_assert!(failure.is_none(), "{failure:?}");
        prop_assert_eq!(decoded, events);
    }

    #[test]
    fn a_truncated_body_ends_in_an_error(words in 1usize..20, seed in any::<u64>(), keep in 0.0f64..0.97) {
        let (body, _) = body_and_events(words, seed);
        let cut = ((body.len() as f64) * keep) as usize;
        let (_, failure) = decode(split(&body[..cut], &[]));
        prop_assert!(failure.is_some(), "a stream cut at {cut}/{} decoded as complete", body.len());
    }

    #[test]
    fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = decode(vec![Ok(Bytes::from(bytes))]);
    }
}

#[test]
fn an_error_body_mid_stream_is_an_upstream_failure() {
    let (body, events) = body_and_events(6, 7);
    let text = String::from_utf8(body).unwrap();
    // Keep the first two frames, then the upstream reports an error instead of going on.
    let head: String = text.split_inclusive("\n\n").take(2).collect();
    let error =
        r#"{"error":{"message":"overloaded","type":"server_error","param":null,"code":null}}"#;
    let cut = format!("{head}{}", sse::frame(None, error));
    let (decoded, failure) = decode(split(cut.as_bytes(), &[17, 90]));
    let failure = failure.expect("the stream must fail");
    assert_eq!(failure.kind, switchyard_protocol::ErrorKind::Upstream5xx);
    assert!(
        failure.message.contains("overloaded"),
        "{}",
        failure.message
    );
    assert!(!decoded.is_empty() && decoded.len() < events.len());

    // Data that is neither a chunk nor an error body is malformed, and so are bytes that are
    // not UTF-8.
    for bad in [&b"data: {\"id\":1}\n\n"[..], &b"data: \xFF\xFE\n\n"[..]] {
        let (_, failure) = decode(vec![Ok(Bytes::from_static(bad))]);
        let kind = failure.expect("must fail").kind;
        assert_eq!(kind, switchyard_protocol::ErrorKind::MalformedReply);
    }
}
