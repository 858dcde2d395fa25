//! The embeddings door's body: parsed as the gateway parses it, checked and converted to the
//! canonical request.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchyard_protocol::body;
use switchyard_protocol::openai::{self, EmbeddingRequest};

fuzz_target!(|data: &[u8]| {
    let parsed = body::parse::<EmbeddingRequest>(data);
    let direct = serde_json::from_slice::<EmbeddingRequest>(data);
    assert_eq!(
        parsed.is_ok(),
        direct.is_ok(),
        "body::parse and from_slice disagree"
    );
    let wire = match parsed {
        Ok(wire) => wire,
        Err(e) => {
            assert!(
                e.message.len() <= 16 * 1024,
                "an error of {} bytes",
                e.message.len()
            );
            return;
        }
    };
    if openai::validate_embeddings(&wire).is_ok() {
        let _ = openai::embedding_request_to_canonical(wire);
    }
});
