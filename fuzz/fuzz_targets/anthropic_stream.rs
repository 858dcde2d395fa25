//! An Anthropic upstream's streamed answer (SSE from `message_start` to `message_stop`, error
//! events), decoded as the provider decodes it, whole and cut into chunks.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchyard_fuzz::{body, same_whole_and_chunked};
use switchyard_providers::anthropic::decode_sse_bytes;

fuzz_target!(|data: &[u8]| {
    same_whole_and_chunked(data, |chunks| decode_sse_bytes(body(chunks), 1));
});
