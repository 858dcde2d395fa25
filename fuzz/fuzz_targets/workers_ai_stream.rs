//! A Workers AI upstream's native streamed answer (SSE of `response` pieces, tool calls, usage
//! or OpenAI-shaped chunks), decoded as the provider decodes it, whole and cut into chunks.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchyard_fuzz::{body, same_whole_and_chunked};
use switchyard_providers::workers_ai::{NativeStreamDecoder, decode_native_sse};

fuzz_target!(|data: &[u8]| {
    same_whole_and_chunked(data, |chunks| {
        let decoder = NativeStreamDecoder::new("id".into(), "@cf/meta/llama", 1, 256);
        decode_native_sse(body(chunks), decoder)
    });
});
