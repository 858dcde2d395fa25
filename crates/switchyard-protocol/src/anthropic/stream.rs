//! Streaming in Anthropic's format: canonical events → `message_start` … `message_stop` for the
//! front door, and upstream events → canonical events for the Anthropic provider.

use super::*;
use crate::error::{ErrorKind, ProviderError};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq)]
enum OpenBlock {
    Text(u32),
    Tool { block: u32, call: u32 },
}

/// Turns canonical events (choice 0) into Anthropic stream events. Call [`EventEncoder::finish`]
/// when the upstream stream ends, to get `message_delta` and `message_stop`.
#[derive(Debug)]
pub struct EventEncoder {
    model: String,
    next_block: u32,
    open: Option<OpenBlock>,
    stop_reason: Option<FinishReason>,
    usage: Usage,
}

impl EventEncoder {
    pub fn new(model: &str) -> Self {
        Self {
            model: model.to_owned(),
            next_block: 0,
            open: None,
            stop_reason: None,
            usage: Usage::default(),
        }
    }

    fn close(&mut self, out: &mut Vec<StreamEventWire>) {
        if let Some(open) = self.open.take() {
            let index = match open {
                OpenBlock::Text(i) | OpenBlock::Tool { block: i, .. } => i,
            };
            out.push(StreamEventWire::ContentBlockStop { index });
        }
    }

    fn open(&mut self, block: ContentBlock, out: &mut Vec<StreamEventWire>) -> u32 {
        self.close(out);
        let index = self.next_block;
        self.next_block += 1;
        out.push(StreamEventWire::ContentBlockStart {
            index,
            content_block: block,
        });
        index
    }

    pub fn encode(&mut self, event: &StreamEvent) -> Vec<StreamEventWire> {
        let mut out = Vec::new();
        match event {
            StreamEvent::Start { id, .. } => out.push(StreamEventWire::MessageStart {
                message: MessagesResponse {
                    id: anthropic_id(id),
                    kind: "message".into(),
                    role: "assistant".into(),
                    model: self.model.clone(),
                    content: Vec::new(),
                    stop_reason: None,
                    stop_sequence: None,
                    usage: UsageWire::default(),
                },
            }),
            StreamEvent::Text { choice: 0, text } => {
                let index = match self.open {
                    Some(OpenBlock::Text(i)) => i,
                    _ => {
                        let i = self.open(
                            ContentBlock::Text {
                                text: String::new(),
                            },
                            &mut out,
                        );
                        self.open = Some(OpenBlock::Text(i));
                        i
                    }
                };
                out.push(StreamEventWire::ContentBlockDelta {
                    index,
                    delta: BlockDelta::TextDelta { text: text.clone() },
                });
            }
            StreamEvent::ToolCallStart {
                choice: 0,
                index,
                id,
                name,
            } => {
                let block = self.open(
                    ContentBlock::ToolUse {
                        id: id.clone(),
                        name: name.clone(),
                        input: Value::Object(Map::new()),
                    },
                    &mut out,
                );
                self.open = Some(OpenBlock::Tool {
                    block,
                    call: *index,
                });
            }
            StreamEvent::ToolCallArguments {
                choice: 0,
                index,
                arguments,
            } => {
                if let Some(OpenBlock::Tool { block, call }) = self.open
                    && call == *index
                {
                    out.push(StreamEventWire::ContentBlockDelta {
                        index: block,
                        delta: BlockDelta::InputJsonDelta {
                            partial_json: arguments.clone(),
                        },
                    });
                }
            }
            StreamEvent::Finish { choice: 0, reason } => {
                self.close(&mut out);
                self.stop_reason = Some(*reason);
            }
            StreamEvent::Usage(usage) => self.usage = *usage,
            _ => {}
        }
        out
    }

    /// The closing events, once the upstream stream has ended.
    pub fn finish(&mut self) -> Vec<StreamEventWire> {
        let mut out = Vec::new();
        self.close(&mut out);
        out.push(StreamEventWire::MessageDelta {
            delta: MessageDeltaBody {
                stop_reason: Some(
                    stop_reason_str(self.stop_reason.unwrap_or(FinishReason::Stop)).into(),
                ),
                stop_sequence: None,
            },
            usage: usage_to_wire(&self.usage),
        });
        out.push(StreamEventWire::MessageStop);
        out
    }
}

/// Reads an Anthropic upstream's stream events into canonical events.
#[derive(Debug, Default)]
pub struct EventDecoder {
    /// Content block index → tool call index, for tool_use blocks.
    tool_blocks: BTreeMap<u32, u32>,
    usage: UsageWire,
}

impl EventDecoder {
    /// Canonical events for one upstream event; an `error` event becomes a typed error.
    pub fn decode(&mut self, event: StreamEventWire) -> Result<Vec<StreamEvent>, ProviderError> {
        let mut out = Vec::new();
        match event {
            StreamEventWire::MessageStart { message } => {
                self.usage = message.usage;
                out.push(StreamEvent::Start {
                    id: message.id,
                    model: message.model,
                    created: 0,
                });
            }
            StreamEventWire::ContentBlockStart {
                index,
                content_block,
            } => match content_block {
                ContentBlock::Text { text } if !text.is_empty() => {
                    out.push(StreamEvent::Text { choice: 0, text })
                }
                ContentBlock::ToolUse { id, name, .. } => {
                    let call = u32::try_from(self.tool_blocks.len()).unwrap_or(u32::MAX);
                    self.tool_blocks.insert(index, call);
                    out.push(StreamEvent::ToolCallStart {
                        choice: 0,
                        index: call,
                        id,
                        name,
                    });
                }
                _ => {}
            },
            StreamEventWire::ContentBlockDelta { index, delta } => match delta {
                BlockDelta::TextDelta { text } if !text.is_empty() => {
                    out.push(StreamEvent::Text { choice: 0, text })
                }
                BlockDelta::InputJsonDelta { partial_json } if !partial_json.is_empty() => {
                    let call = self.tool_blocks.get(&index).copied().ok_or_else(|| {
                        ProviderError::malformed(format!(
                            "input_json_delta for block {index}, which is not a tool_use block"
                        ))
                    })?;
                    out.push(StreamEvent::ToolCallArguments {
                        choice: 0,
                        index: call,
                        arguments: partial_json,
                    });
                }
                _ => {}
            },
            StreamEventWire::ContentBlockStop { .. } | StreamEventWire::Ping => {}
            StreamEventWire::MessageDelta { delta, usage } => {
                self.usage.output_tokens = usage.output_tokens;
                if usage.input_tokens > 0 {
                    self.usage.input_tokens = usage.input_tokens;
                }
                if usage.cache_read_input_tokens.is_some() {
                    self.usage.cache_read_input_tokens = usage.cache_read_input_tokens;
                }
                if usage.cache_creation_input_tokens.is_some() {
                    self.usage.cache_creation_input_tokens = usage.cache_creation_input_tokens;
                }
                if let Some(reason) = delta.stop_reason {
                    out.push(StreamEvent::Finish {
                        choice: 0,
                        reason: stop_reason_parse(&reason),
                    });
                }
            }
            StreamEventWire::MessageStop => {
                out.push(StreamEvent::Usage(usage_from_wire(&self.usage)));
            }
            StreamEventWire::Error { error } => {
                let kind = match error.kind.as_str() {
                    "overloaded_error" => ErrorKind::Overloaded,
                    "rate_limit_error" => ErrorKind::RateLimited,
                    "invalid_request_error" => ErrorKind::BadRequest,
                    "authentication_error" | "permission_error" => ErrorKind::Auth,
                    "timeout_error" => ErrorKind::Timeout,
                    _ => ErrorKind::Upstream5xx,
                };
                return Err(ProviderError::new(kind, error.message));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoder_output_decodes_to_the_same_events() {
        let events = vec![
            StreamEvent::Start {
                id: "msg_1".into(),
                model: "claude".into(),
                created: 0,
            },
            StreamEvent::Text {
                choice: 0,
                text: "Hello".into(),
            },
            StreamEvent::ToolCallStart {
                choice: 0,
                index: 0,
                id: "toolu_1".into(),
                name: "get".into(),
            },
            StreamEvent::ToolCallArguments {
                choice: 0,
                index: 0,
                arguments: "{\"q\":".into(),
            },
            StreamEvent::ToolCallArguments {
                choice: 0,
                index: 0,
                arguments: "1}".into(),
            },
            StreamEvent::Finish {
                choice: 0,
                reason: FinishReason::ToolCalls,
            },
        ];
        let usage = Usage {
            input_tokens: 10,
            output_tokens: 5,
            cached_input_tokens: 4,
            ..Usage::default()
        };
        let mut enc = EventEncoder::new("claude");
        let mut wire: Vec<StreamEventWire> = events.iter().flat_map(|e| enc.encode(e)).collect();
        enc.encode(&StreamEvent::Usage(usage));
        wire.extend(enc.finish());
        let mut dec = EventDecoder::default();
        let mut back = Vec::new();
        for w in wire {
            let json = serde_json::to_string(&w).unwrap_or_default();
            let parsed: StreamEventWire = serde_json::from_str(&json).unwrap_or(w);
            back.extend(dec.decode(parsed).unwrap_or_default());
        }
        let mut expected = events;
        expected.push(StreamEvent::Usage(usage));
        assert_eq!(back, expected);
    }
}
