//! Decoding of Workers AI's native SSE stream (`data: {"response":"..."}` … `data: [DONE]`)
//! into canonical events. Usage may arrive on any event (the last report wins); the finish
//! reason is inferred at `[DONE]` as for complete answers. Newer models that stream OpenAI
//! chunks on `/ai/run` are read with the OpenAI decoder.

use super::wire::{self, RunToolCall, RunUsage};
use crate::http::{self, Decoded};
use serde::Deserialize;
use serde_json::Value;
use switchyard_protocol::openai::{ChatCompletionChunk, ChunkDecoder};
use switchyard_protocol::{ErrorKind, FinishReason, ProviderError, StreamEvent, Usage};

/// One native stream event. `p` (padding against length side channels) and other fields are
/// ignored.
#[derive(Debug, Default, Deserialize)]
struct RunChunk {
    #[serde(default)]
    response: Option<Value>,
    #[serde(default)]
    tool_calls: Option<Vec<RunToolCall>>,
    #[serde(default)]
    usage: Option<RunUsage>,
    #[serde(default)]
    finish_reason: Option<String>,
}

/// A tool call seen so far: the upstream's delta index (if it streams deltas) and what was
/// announced.
#[derive(Debug)]
struct OpenCall {
    wire_index: Option<u32>,
}

/// Stateful decoder of one native stream.
#[derive(Debug)]
pub struct NativeStreamDecoder {
    id: String,
    model: String,
    created: u64,
    /// The `max_tokens` in force, to recognise a length stop.
    limit: u32,
    started: bool,
    calls: Vec<OpenCall>,
    usage: Option<Usage>,
    explicit_finish: Option<String>,
    openai: ChunkDecoder,
    /// OpenAI-shaped chunks already reported a finish / usage themselves.
    chunks_finished: bool,
    chunks_usage: bool,
}

impl NativeStreamDecoder {
    pub fn new(id: String, model: &str, created: u64, limit: u32) -> Self {
        Self {
            id,
            model: model.to_owned(),
            created,
            limit,
            started: false,
            calls: Vec::new(),
            usage: None,
            explicit_finish: None,
            openai: ChunkDecoder::default(),
            chunks_finished: false,
            chunks_usage: false,
        }
    }

    /// Decodes the data of one SSE event.
    pub fn decode(&mut self, data: &str) -> Result<Decoded, ProviderError> {
        let data = data.trim();
        if data.is_empty() {
            return Ok(Decoded::more(Vec::new()));
        }
        let mut out = Vec::new();
        self.start(&mut out);
        if data == "[DONE]" {
            self.finish(&mut out);
            return Ok(Decoded::done(out));
        }
        let value: Value = http::parse_json_text(data)?;
        if let Some(message) = stream_error(&value) {
            return Err(ProviderError::new(
                ErrorKind::Upstream5xx,
                format!("Workers AI stream reported an error: {message}"),
            ));
        }
        if value.get("choices").is_some() {
            let chunk = ChatCompletionChunk::deserialize(&value).map_err(|e| {
                ProviderError::malformed(format!("Workers AI stream chunk is not valid: {e}"))
            })?;
            for event in self.openai.decode(chunk) {
                match event {
                    StreamEvent::Start { .. } => {}
                    StreamEvent::Finish { .. } => {
                        self.chunks_finished = true;
                        out.push(event);
                    }
                    StreamEvent::Usage(_) => {
                        self.chunks_usage = true;
                        out.push(event);
                    }
                    other => out.push(other),
                }
            }
            return Ok(Decoded::more(out));
        }
        let chunk: RunChunk = serde_json::from_value(value).map_err(|e| {
            ProviderError::malformed(format!("Workers AI stream event is not valid: {e}"))
        })?;
        match chunk.response {
            None | Some(Value::Null) => {}
            Some(Value::String(text)) => {
                if !text.is_empty() {
                    out.push(StreamEvent::Text { choice: 0, text });
                }
            }
            Some(other) => out.push(StreamEvent::Text {
                choice: 0,
                text: other.to_string(),
            }),
        }
        for call in chunk.tool_calls.unwrap_or_default() {
            self.tool_call(call, &mut out)?;
        }
        if let Some(usage) = chunk.usage {
            self.usage = Some(usage.to_canonical());
        }
        if let Some(reason) = chunk.finish_reason.filter(|r| !r.is_empty()) {
            self.explicit_finish = Some(reason);
        }
        Ok(Decoded::more(out))
    }

    fn start(&mut self, out: &mut Vec<StreamEvent>) {
        if !self.started {
            self.started = true;
            out.push(StreamEvent::Start {
                id: self.id.clone(),
                model: self.model.clone(),
                created: self.created,
            });
        }
    }

    /// A complete call (the documented shape) or a delta of one (newer models, with `index`).
    fn tool_call(
        &mut self,
        call: RunToolCall,
        out: &mut Vec<StreamEvent>,
    ) -> Result<(), ProviderError> {
        if call.is_empty() {
            return Ok(());
        }
        let arguments = call.arguments_text();
        if let Some(wire_index) = call.index
            && let Some(pos) = self
                .calls
                .iter()
                .position(|c| c.wire_index == Some(wire_index))
        {
            if let Some(arguments) = arguments.filter(|a| !a.is_empty()) {
                out.push(StreamEvent::ToolCallArguments {
                    choice: 0,
                    index: pos as u32,
                    arguments,
                });
            }
            return Ok(());
        }
        let index = self.calls.len() as u32;
        let name = call
            .name()
            .ok_or_else(|| ProviderError::malformed("Workers AI tool call has no name"))?
            .to_owned();
        let arguments = match (call.index, arguments) {
            (None, None) => Some("{}".to_owned()),
            (_, arguments) => arguments,
        };
        let id = call
            .id
            .clone()
            .filter(|id| !id.is_empty())
            .unwrap_or_else(|| {
                // A complete call gets the same id it would get unstreamed.
                let seen = if call.index.is_none() {
                    arguments.as_deref().unwrap_or("")
                } else {
                    ""
                };
                wire::synthetic_call_id(index, &name, seen)
            });
        self.calls.push(OpenCall {
            wire_index: call.index,
        });
        out.push(StreamEvent::ToolCallStart {
            choice: 0,
            index,
            id,
            name,
        });
        if let Some(arguments) = arguments.filter(|a| !a.is_empty()) {
            out.push(StreamEvent::ToolCallArguments {
                choice: 0,
                index,
                arguments,
            });
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<StreamEvent>) {
        if !self.chunks_finished {
            let reason: FinishReason = wire::finish_reason(
                self.explicit_finish.as_deref(),
                !self.calls.is_empty(),
                self.usage.map(|u| u.output_tokens),
                self.limit,
            );
            out.push(StreamEvent::Finish { choice: 0, reason });
        }
        if let Some(usage) = self.usage.filter(|_| !self.chunks_usage) {
            out.push(StreamEvent::Usage(usage));
        }
    }
}

/// The message of an error event, in the envelope's shape or as a bare `error`.
fn stream_error(value: &Value) -> Option<String> {
    if let Some(errors) = value.get("errors").and_then(Value::as_array)
        && !errors.is_empty()
    {
        return Some(
            errors[0]
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("unknown error")
                .to_owned(),
        );
    }
    match value.get("error")? {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => Some(
            o.get("message")
                .and_then(Value::as_str)
                .unwrap_or("unknown error")
                .to_owned(),
        ),
        _ => None,
    }
}
