//! A Gemini upstream's streamed answer (SSE of `GenerateContentResponse` chunks, no end
//! marker), decoded as the provider decodes it for two candidates, whole and cut into chunks.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchyard_fuzz::{body, same_whole_and_chunked};
use switchyard_providers::gemini::decode_sse_bytes;

fuzz_target!(|data: &[u8]| {
    same_whole_and_chunked(data, |chunks| {
        decode_sse_bytes(body(chunks), "gemini-2.0-flash", 2, 1)
    });
});
