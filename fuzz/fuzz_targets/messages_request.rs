//! The messages door's body: parsed as the gateway parses it, checked, converted to the
//! canonical request and back to Anthropic's and OpenAI's wire formats.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchyard_protocol::anthropic::{self, MessagesRequest};
use switchyard_protocol::openai;

fuzz_target!(|data: &[u8]| {
    let Some(wire) = switchyard_fuzz::door_body::<MessagesRequest>(data) else {
        return;
    };
    if anthropic::validate(&wire).is_err() {
        return;
    }
    if let Ok(req) = anthropic::request_to_canonical(wire) {
        let _ = serde_json::to_vec(&anthropic::request_from_canonical(&req, "m", 1024));
        let _ = serde_json::to_vec(&openai::request_from_canonical(&req, "m"));
    }
});
