//! An OpenAI-compatible upstream's streamed answer (SSE of `chat.completion.chunk`s, error
//! bodies, `[DONE]`), decoded as the provider decodes it, whole and cut into chunks.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchyard_fuzz::{body, same_whole_and_chunked};
use switchyard_providers::openai::decode_sse_bytes;

fuzz_target!(|data: &[u8]| {
    same_whole_and_chunked(data, |chunks| decode_sse_bytes(body(chunks)));
});
