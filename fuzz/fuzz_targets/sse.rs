//! The SSE decoder: whatever the bytes, it never panics, and the events (and where a stream
//! that is not UTF-8 stops) are the same whole as cut into network chunks.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchyard_protocol::sse::{Decoder, Event};

/// The events of `chunks`, and whether the stream stopped as not UTF-8.
fn decode(chunks: &[&[u8]]) -> (Vec<Event>, bool) {
    let mut decoder = Decoder::default();
    let mut events = Vec::new();
    for chunk in chunks {
        decoder.push(chunk);
        loop {
            match decoder.next_event() {
                Ok(Some(event)) => events.push(event),
                Ok(None) => break,
                Err(_) => return (events, true),
            }
        }
    }
    (events, false)
}

fuzz_target!(|data: &[u8]| {
    let Some((_, rest)) = data.split_first() else {
        return;
    };
    let whole = decode(&[rest]);
    let cut = decode(&switchyard_fuzz::chunks(data));
    assert_eq!(whole, cut, "the chunking changed what was decoded");
});
