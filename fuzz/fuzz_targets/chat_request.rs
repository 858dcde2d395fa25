//! The chat door's body: parsed as the gateway parses it, checked, converted to the canonical
//! request and back to OpenAI's and Anthropic's wire formats.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchyard_protocol::anthropic;
use switchyard_protocol::openai::{self, ChatCompletionRequest};

fuzz_target!(|data: &[u8]| {
    let Some(wire) = switchyard_fuzz::door_body::<ChatCompletionRequest>(data) else {
        return;
    };
    if openai::validate_chat(&wire).is_err() {
        return;
    }
    if let Ok(req) = openai::request_to_canonical(wire) {
        let _ = serde_json::to_vec(&openai::request_from_canonical(&req, "m"));
        let _ = serde_json::to_vec(&anthropic::request_from_canonical(&req, "m", 1024));
    }
});
