//! The embeddings door's body: parsed as the gateway parses it, checked and converted to the
//! canonical request.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchyard_protocol::openai::{self, EmbeddingRequest};

fuzz_target!(|data: &[u8]| {
    let Some(wire) = switchyard_fuzz::door_body::<EmbeddingRequest>(data) else {
        return;
    };
    if openai::validate_embeddings(&wire).is_ok() {
        let _ = openai::embedding_request_to_canonical(wire);
    }
});
