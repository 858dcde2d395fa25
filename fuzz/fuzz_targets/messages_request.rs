//! The messages door's body: parsed as the gateway parses it, checked, converted to the
//! canonical request and back to Anthropic's and OpenAI's wire formats.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchyard_protocol::anthropic::{self, MessagesRequest};
use switchyard_protocol::{body, openai};

fuzz_target!(|data: &[u8]| {
    let parsed = body::parse::<MessagesRequest>(data);
    let direct = serde_json::from_slice::<MessagesRequest>(data);
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
    if anthropic::validate(&wire).is_err() {
        return;
    }
    if let Ok(req) = anthropic::request_to_canonical(wire) {
        let _ = serde_json::to_vec(&anthropic::request_from_canonical(&req, "m", 1024));
        let _ = serde_json::to_vec(&openai::request_from_canonical(&req, "m"));
    }
});
