//! The chat door's body: parsed as the gateway parses it, checked, converted to the canonical
//! request and back to OpenAI's and Anthropic's wire formats.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchyard_protocol::openai::{self, ChatCompletionRequest};
use switchyard_protocol::{anthropic, body};

fuzz_target!(|data: &[u8]| {
    let parsed = body::parse::<ChatCompletionRequest>(data);
    // The mock reads bodies with serde_json; the two readings agree on what is a body.
    let direct = serde_json::from_slice::<ChatCompletionRequest>(data);
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
    if openai::validate_chat(&wire).is_err() {
        return;
    }
    if let Ok(req) = openai::request_to_canonical(wire) {
        let _ = serde_json::to_vec(&openai::request_from_canonical(&req, "m"));
        let _ = serde_json::to_vec(&anthropic::request_from_canonical(&req, "m", 1024));
    }
});
