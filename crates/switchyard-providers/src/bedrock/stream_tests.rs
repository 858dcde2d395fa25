//! Unit tests of ConverseStream decoding, on frames encoded with `aws-smithy-eventstream`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use aws_smithy_eventstream::frame::write_message_to;
use aws_smithy_types::event_stream::Header;
use serde_json::json;
use switchyard_protocol::{ErrorKind, FinishReason};

fn frame(headers: &[(&'static str, &'static str)], payload: serde_json::Value) -> Vec<u8> {
    let headers = headers
        .iter()
        .map(|(k, v)| Header::new(*k, HeaderValue::String((*v).into())))
        .collect();
    let message = Message::new_from_parts(headers, payload.to_string().into_bytes());
    let mut out = Vec::new();
    write_message_to(&message, &mut out).unwrap();
    out
}

fn event(kind: &'static str, payload: serde_json::Value) -> Vec<u8> {
    frame(
        &[
            (":message-type", "event"),
            (":event-type", kind),
            (":content-type", "application/json"),
        ],
        payload,
    )
}

fn failure(result: Result<Decoded, ProviderError>) -> ProviderError {
    match result {
        Err(e) => e,
        Ok(d) => panic!("expected an error, got {:?}", d.events),
    }
}

fn decoder() -> StreamDecoder {
    StreamDecoder::new("rid".into(), "m".into(), 1)
}

fn tool_stream() -> Vec<u8> {
    [
        event("messageStart", json!({"role": "assistant", "p": "abc"})),
        event(
            "contentBlockDelta",
            json!({"contentBlockIndex": 0, "delta": {"text": "Let me check."}}),
        ),
        event("contentBlockStop", json!({"contentBlockIndex": 0})),
        event(
            "contentBlockStart",
            json!({"contentBlockIndex": 1, "start": {"toolUse": {"toolUseId": "t1", "name": "get_weather"}}}),
        ),
        event(
            "contentBlockDelta",
            json!({"contentBlockIndex": 1, "delta": {"toolUse": {"input": "{\"city\":"}}}),
        ),
        event(
            "contentBlockDelta",
            json!({"contentBlockIndex": 1, "delta": {"toolUse": {"input": "\"Oslo\"}"}}}),
        ),
        event("contentBlockStop", json!({"contentBlockIndex": 1})),
        event("messageStop", json!({"stopReason": "tool_use"})),
        event(
            "metadata",
            json!({"usage": {"inputTokens": 3, "outputTokens": 9, "totalTokens": 12}, "metrics": {"latencyMs": 5}}),
        ),
    ]
    .concat()
}

#[test]
fn whole_answer_decodes_and_completes() {
    let mut d = decoder();
    let decoded = d.push(&tool_stream()).unwrap();
    assert!(decoded.done);
    assert_eq!(
        decoded.events,
        vec![
            StreamEvent::Start {
                id: "rid".into(),
                model: "m".into(),
                created: 1
            },
            StreamEvent::Text {
                choice: 0,
                text: "Let me check.".into()
            },
            StreamEvent::ToolCallStart {
                choice: 0,
                index: 0,
                id: "t1".into(),
                name: "get_weather".into()
            },
            StreamEvent::ToolCallArguments {
                choice: 0,
                index: 0,
                arguments: "{\"city\":".into()
            },
            StreamEvent::ToolCallArguments {
                choice: 0,
                index: 0,
                arguments: "\"Oslo\"}".into()
            },
            StreamEvent::Finish {
                choice: 0,
                reason: FinishReason::ToolCalls
            },
            StreamEvent::Usage(switchyard_protocol::Usage {
                input_tokens: 3,
                output_tokens: 9,
                ..Default::default()
            }),
        ]
    );
}

#[test]
fn byte_at_a_time_gives_the_same_events() {
    let body = tool_stream();
    let mut whole = decoder();
    let expected = whole.push(&body).unwrap().events;
    let mut d = decoder();
    let mut events = Vec::new();
    let mut done = false;
    for b in &body {
        let decoded = d.push(std::slice::from_ref(b)).unwrap();
        events.extend(decoded.events);
        done = decoded.done;
    }
    assert!(done);
    assert_eq!(events, expected);
}

#[test]
fn stop_without_metadata_is_not_complete() {
    let mut d = decoder();
    let body = [
        event("messageStart", json!({"role": "assistant"})),
        event("messageStop", json!({"stopReason": "end_turn"})),
    ]
    .concat();
    assert!(!d.push(&body).unwrap().done);
}

#[test]
fn exceptions_are_typed() {
    let cases = [
        ("throttlingException", ErrorKind::RateLimited),
        ("modelStreamErrorException", ErrorKind::Upstream5xx),
        ("serviceUnavailableException", ErrorKind::Overloaded),
        ("validationException", ErrorKind::BadRequest),
        ("internalServerException", ErrorKind::Upstream5xx),
    ];
    for (name, kind) in cases {
        let mut d = decoder();
        let body = [
            event("messageStart", json!({"role": "assistant"})),
            frame(
                &[
                    (":message-type", "exception"),
                    (":exception-type", name),
                    (":content-type", "application/json"),
                ],
                json!({"message": "scripted"}),
            ),
        ]
        .concat();
        let err = failure(d.push(&body));
        assert_eq!(err.kind, kind, "{name}");
        assert!(err.message.contains("scripted"));
    }
    let mut d = decoder();
    let body = frame(
        &[
            (":message-type", "error"),
            (":error-code", "InternalFailure"),
            (":error-message", "boom"),
        ],
        json!({}),
    );
    assert_eq!(failure(d.push(&body)).kind, ErrorKind::Upstream5xx);
}

#[test]
fn garbage_is_malformed() {
    let mut d = decoder();
    let err = failure(d.push(b"data: {\"id\": \"x\", \"choices\": [\n\n"));
    assert_eq!(err.kind, ErrorKind::MalformedReply);
    // A frame with a corrupted payload fails its checksum.
    let mut body = event("messageStart", json!({"role": "assistant"}));
    let last = body.len() - 6;
    body[last] ^= 0xff;
    assert_eq!(
        failure(decoder().push(&body)).kind,
        ErrorKind::MalformedReply
    );
}

#[test]
fn tool_input_without_a_start_is_malformed() {
    let body = event(
        "contentBlockDelta",
        json!({"contentBlockIndex": 4, "delta": {"toolUse": {"input": "{}"}}}),
    );
    assert_eq!(
        failure(decoder().push(&body)).kind,
        ErrorKind::MalformedReply
    );
}
