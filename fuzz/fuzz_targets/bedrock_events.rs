//! Bedrock's ConverseStream messages with well-formed frames (valid lengths and checksums, so
//! the input reaches the event decoder): each record of the input picks a message type and an
//! event or exception type and carries a payload (JSON, or not). Decoded whole and cut into
//! chunks, they give the same events.
#![no_main]

use aws_smithy_eventstream::frame::write_message_to;
use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
use libfuzzer_sys::fuzz_target;
use switchyard_fuzz::chunks;
use switchyard_providers::bedrock::stream::StreamDecoder;

const EVENTS: [&str; 8] = [
    "messageStart",
    "contentBlockStart",
    "contentBlockDelta",
    "contentBlockStop",
    "messageStop",
    "metadata",
    "somethingNew",
    "",
];
const EXCEPTIONS: [&str; 4] = [
    "throttlingException",
    "validationException",
    "modelStreamErrorException",
    "internalServerException",
];

fn string(name: &'static str, value: &str) -> Header {
    Header::new(name, HeaderValue::String(value.to_owned().into()))
}

/// The frames the input describes: records of a kind byte, a length byte and a payload.
fn frames(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let [kind, len, rest @ ..] = data {
        let (payload, tail) = rest.split_at(usize::from(*len).min(rest.len()));
        data = tail;
        let name = EVENTS[usize::from(kind >> 3) % EVENTS.len()];
        let headers = match kind & 7 {
            0..=4 => vec![
                string(":message-type", "event"),
                string(":event-type", name),
                string(":content-type", "application/json"),
            ],
            5 => vec![
                string(":message-type", "exception"),
                string(
                    ":exception-type",
                    EXCEPTIONS[usize::from(kind >> 3) % EXCEPTIONS.len()],
                ),
            ],
            6 => vec![
                string(":message-type", "error"),
                string(":error-code", name),
                string(":error-message", &String::from_utf8_lossy(payload)),
            ],
            _ => vec![Header::new(
                ":message-type",
                HeaderValue::Int32(i32::from(*kind)),
            )],
        };
        let message = Message::new_from_parts(headers, payload.to_vec());
        if write_message_to(&message, &mut out).is_err() {
            break;
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&seed, rest)) = data.split_first() else {
        return;
    };
    let stream = frames(rest);
    let decode = |chunks: &[&[u8]]| {
        let mut decoder = StreamDecoder::new("id".into(), "m".into(), 1);
        let mut items = Vec::new();
        for chunk in chunks {
            match decoder.push(chunk) {
                Ok(decoded) => {
                    items.extend(decoded.events.into_iter().map(Ok));
                    if decoded.done {
                        break;
                    }
                }
                Err(e) => {
                    items.push(Err(e));
                    break;
                }
            }
        }
        items
    };
    let mut with_seed = vec![seed];
    with_seed.extend_from_slice(&stream);
    let whole = decode(&[&stream]);
    if whole.iter().all(Result::is_ok) {
        assert_eq!(
            whole,
            decode(&chunks(&with_seed)),
            "the chunking changed what was decoded"
        );
    }
});
