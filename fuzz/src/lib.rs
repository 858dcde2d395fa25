//! What the fuzz targets share: reading a door's body as the gateway does, cutting an input
//! into network chunks the way a connection might, and draining a provider's event stream
//! without a runtime. Never used outside `fuzz/`.
#![forbid(unsafe_code)]

use futures::{Stream, StreamExt};
use switchyard_protocol::{ProviderError, StreamEvent};
use switchyard_providers::EventStream;

/// A door's body read as the gateway reads it (`body::parse`), which must agree with
/// `serde_json::from_slice` (the mock's reading) on what is a body and explain a refusal in
/// under 16 KiB; `None` when it is no body.
pub fn door_body<T>(data: &[u8]) -> Option<T>
where
    T: switchyard_protocol::body::Body + serde::de::DeserializeOwned,
{
    let parsed = switchyard_protocol::body::parse::<T>(data);
    let direct = serde_json::from_slice::<T>(data);
    assert_eq!(
        parsed.is_ok(),
        direct.is_ok(),
        "body::parse and from_slice disagree"
    );
    match parsed {
        Ok(wire) => Some(wire),
        Err(e) => {
            assert!(
                e.message.len() <= 16 * 1024,
                "an error of {} bytes",
                e.message.len()
            );
            None
        }
    }
}

/// The input after its first byte, cut into chunks of 1 to 64 bytes whose sizes that byte
/// seeds; a first byte of 0 keeps the rest whole.
pub fn chunks(data: &[u8]) -> Vec<&[u8]> {
    let Some((&seed, mut rest)) = data.split_first() else {
        return Vec::new();
    };
    if seed == 0 {
        return vec![rest];
    }
    let mut state = u32::from(seed).wrapping_mul(0x9E37_79B9) | 1;
    let mut out = Vec::new();
    while !rest.is_empty() {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let (head, tail) = rest.split_at((state as usize % 64 + 1).min(rest.len()));
        out.push(head);
        rest = tail;
    }
    out
}

/// The chunks as a response body.
pub fn body(
    chunks: &[&[u8]],
) -> impl Stream<Item = Result<bytes::Bytes, ProviderError>> + Send + 'static {
    let owned: Vec<Result<bytes::Bytes, ProviderError>> = chunks
        .iter()
        .map(|c| Ok(bytes::Bytes::copy_from_slice(c)))
        .collect();
    futures::stream::iter(owned)
}

/// Every item of a decoded stream, up to and including its first error.
pub fn drain(stream: EventStream) -> Vec<Result<StreamEvent, ProviderError>> {
    let items: Vec<_> = futures::executor::block_on(stream.collect());
    let end = items
        .iter()
        .position(Result::is_err)
        .map_or(items.len(), |i| i + 1);
    items.into_iter().take(end).collect()
}

/// Decodes `data` with `decode`, whole and in the chunks its first byte picks, and checks that
/// both give the same items: a decoder must not depend on where the network cut the bytes.
pub fn same_whole_and_chunked(data: &[u8], decode: impl Fn(&[&[u8]]) -> EventStream) {
    let Some((_, rest)) = data.split_first() else {
        return;
    };
    let whole = drain(decode(&[rest]));
    let cut = drain(decode(&chunks(data)));
    assert_eq!(whole, cut, "the chunking changed what was decoded");
}
