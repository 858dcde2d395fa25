//! Bedrock's ConverseStream body as raw bytes (`application/vnd.amazon.eventstream` frames:
//! lengths, checksums, headers, payloads), decoded as the provider decodes it. A body that
//! decodes whole without error decodes the same cut into chunks.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchyard_fuzz::chunks;
use switchyard_protocol::{ProviderError, StreamEvent};
use switchyard_providers::bedrock::stream::StreamDecoder;

/// The events of `chunks` up to the end of the answer, or the first error.
fn decode(chunks: &[&[u8]]) -> Result<Vec<StreamEvent>, ProviderError> {
    let mut decoder = StreamDecoder::new("id".into(), "m".into(), 1);
    let mut events = Vec::new();
    for chunk in chunks {
        let decoded = decoder.push(chunk)?;
        events.extend(decoded.events);
        if decoded.done {
            break;
        }
    }
    Ok(events)
}

fuzz_target!(|data: &[u8]| {
    let Some((_, rest)) = data.split_first() else {
        return;
    };
    // Frames are decoded a network chunk at a time, so a bad frame later in the same chunk
    // fails the chunk: only bodies that decode whole are compared.
    if let Ok(whole) = decode(&[rest]) {
        assert_eq!(
            Ok(whole),
            decode(&chunks(data)),
            "the chunking changed what was decoded"
        );
    }
});
