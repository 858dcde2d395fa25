//! A synthesised answer in Gemini's shape: one `GenerateContentResponse`, or the chunks of a
//! stream (text in pieces, each function call whole in one part, `finishReason` on the last
//! chunk of a candidate, full `usageMetadata` on the final chunk, no end marker).

use super::wire::{
    Candidate, ContentOut, FunctionCallOut, GenerateContentResponse, ModalityTokenCount, PartOut,
    UsageMetadata,
};
use crate::synth;
use serde_json::Value;
use switchyard_protocol::{ChatResponse, FinishReason, StreamEvent, Usage};

fn finish_reason(reason: FinishReason) -> &'static str {
    match reason {
        FinishReason::Stop | FinishReason::ToolCalls => "STOP",
        FinishReason::Length => "MAX_TOKENS",
        FinishReason::ContentFilter => "SAFETY",
    }
}

fn usage(u: &Usage, complete: bool) -> UsageMetadata {
    UsageMetadata {
        prompt_token_count: u.input_tokens,
        candidates_token_count: complete.then_some(u.output_tokens),
        total_token_count: u.input_tokens + if complete { u.output_tokens } else { 0 },
        prompt_tokens_details: vec![ModalityTokenCount {
            modality: "TEXT",
            token_count: u.input_tokens,
        }],
    }
}

fn response_id(resp: &ChatResponse) -> String {
    resp.id.trim_start_matches("chatcmpl-").to_owned()
}

fn call_part(name: &str, arguments: &str) -> PartOut {
    PartOut {
        text: None,
        function_call: Some(FunctionCallOut {
            name: name.to_owned(),
            args: serde_json::from_str(arguments).unwrap_or(Value::Object(Default::default())),
        }),
    }
}

/// `text/x.enum` answers are the bare value, not a JSON string.
pub fn unquote_enum(resp: &mut ChatResponse) {
    for choice in &mut resp.choices {
        let text = choice.message.joined_text();
        if let Ok(Value::String(value)) = serde_json::from_str::<Value>(&text) {
            resp.usage.output_tokens = resp
                .usage
                .output_tokens
                .saturating_sub(synth::count_tokens(&text))
                + synth::count_tokens(&value);
            choice.message.content = vec![switchyard_protocol::Part::Text { text: value }];
        }
    }
}

/// The whole answer.
pub fn whole(resp: &ChatResponse) -> GenerateContentResponse {
    let candidates = resp
        .choices
        .iter()
        .map(|choice| {
            let mut parts = Vec::new();
            let text = choice.message.joined_text();
            if !text.is_empty() {
                parts.push(PartOut {
                    text: Some(text),
                    function_call: None,
                });
            }
            for call in &choice.message.tool_calls {
                parts.push(call_part(&call.name, &call.arguments));
            }
            Candidate {
                content: Some(ContentOut {
                    parts,
                    role: "model",
                }),
                finish_reason: Some(finish_reason(choice.finish_reason)),
                index: choice.index,
            }
        })
        .collect();
    GenerateContentResponse {
        candidates,
        usage_metadata: Some(usage(&resp.usage, true)),
        model_version: resp.model.clone(),
        response_id: response_id(resp),
    }
}

/// The chunks of a streamed answer, each marked whether it carries content (for pacing).
pub fn chunks(resp: &ChatResponse, pieces: Option<usize>) -> Vec<(GenerateContentResponse, bool)> {
    let chunk = |choice: u32, parts: Vec<PartOut>| GenerateContentResponse {
        candidates: vec![Candidate {
            content: (!parts.is_empty()).then_some(ContentOut {
                parts,
                role: "model",
            }),
            finish_reason: None,
            index: choice,
        }],
        usage_metadata: Some(usage(&resp.usage, false)),
        model_version: resp.model.clone(),
        response_id: response_id(resp),
    };
    let mut out: Vec<(GenerateContentResponse, bool)> = Vec::new();
    // A call being assembled: (choice, name, arguments so far).
    let mut pending: Option<(u32, String, String)> = None;
    let flush = |pending: &mut Option<(u32, String, String)>,
                 out: &mut Vec<(GenerateContentResponse, bool)>| {
        if let Some((choice, name, arguments)) = pending.take() {
            out.push((chunk(choice, vec![call_part(&name, &arguments)]), true));
        }
    };
    for event in synth::stream_events(resp, pieces) {
        match event {
            StreamEvent::ToolCallArguments { arguments, .. } => {
                if let Some((_, _, so_far)) = pending.as_mut() {
                    so_far.push_str(&arguments);
                }
                continue;
            }
            StreamEvent::ToolCallStart { choice, name, .. } => {
                flush(&mut pending, &mut out);
                pending = Some((choice, name, String::new()));
                continue;
            }
            _ => flush(&mut pending, &mut out),
        }
        match event {
            StreamEvent::Text { choice, text } => out.push((
                chunk(
                    choice,
                    vec![PartOut {
                        text: Some(text),
                        function_call: None,
                    }],
                ),
                true,
            )),
            StreamEvent::Finish { choice, reason } => {
                let last = out
                    .last_mut()
                    .and_then(|(c, _)| c.candidates.first_mut())
                    .filter(|c| c.index == choice && c.finish_reason.is_none());
                match last {
                    Some(candidate) => candidate.finish_reason = Some(finish_reason(reason)),
                    None => {
                        let mut c = chunk(choice, Vec::new());
                        for candidate in &mut c.candidates {
                            candidate.finish_reason = Some(finish_reason(reason));
                        }
                        out.push((c, false));
                    }
                }
            }
            StreamEvent::Usage(u) => {
                if let Some((last, _)) = out.last_mut() {
                    last.usage_metadata = Some(usage(&u, true));
                }
            }
            _ => {}
        }
    }
    out
}
