//! Streaming in OpenAI's format: canonical events → `chat.completion.chunk` objects for the
//! front door, and upstream chunks → canonical events for OpenAI-compatible providers.

use super::*;
use std::collections::BTreeSet;

/// Turns canonical stream events into the chunks an OpenAI client expects.
#[derive(Debug)]
pub struct ChunkEncoder {
    id: String,
    model: String,
    created: u64,
    include_usage: bool,
}

impl ChunkEncoder {
    /// `model` is the name the client asked for; `include_usage` mirrors
    /// `stream_options.include_usage`.
    pub fn new(model: &str, include_usage: bool) -> Self {
        Self {
            id: String::new(),
            model: model.to_owned(),
            created: 0,
            include_usage,
        }
    }

    fn chunk(
        &self,
        choices: Vec<ChunkChoice>,
        usage: Option<Option<UsageWire>>,
    ) -> ChatCompletionChunk {
        ChatCompletionChunk {
            id: self.id.clone(),
            object: "chat.completion.chunk".into(),
            created: self.created,
            model: self.model.clone(),
            choices,
            usage: usage.or(self.include_usage.then_some(None)),
        }
    }

    fn delta(index: u32, delta: ChunkDelta, finish_reason: Option<String>) -> Vec<ChunkChoice> {
        vec![ChunkChoice {
            index,
            delta,
            finish_reason,
            logprobs: None,
        }]
    }

    /// The chunks for one event; `n` is the number of choices (a start opens each of them).
    pub fn encode(&mut self, event: &StreamEvent, n: u32) -> Vec<ChatCompletionChunk> {
        match event {
            StreamEvent::Start { id, created, .. } => {
                self.id.clone_from(id);
                self.created = *created;
                (0..n.max(1))
                    .map(|i| {
                        self.chunk(
                            Self::delta(
                                i,
                                ChunkDelta {
                                    role: Some("assistant".into()),
                                    content: Some(String::new()),
                                    ..ChunkDelta::default()
                                },
                                None,
                            ),
                            None,
                        )
                    })
                    .collect()
            }
            StreamEvent::Text { choice, text } => vec![self.chunk(
                Self::delta(
                    *choice,
                    ChunkDelta {
                        content: Some(text.clone()),
                        ..ChunkDelta::default()
                    },
                    None,
                ),
                None,
            )],
            StreamEvent::ToolCallStart {
                choice,
                index,
                id,
                name,
            } => vec![self.chunk(
                Self::delta(
                    *choice,
                    ChunkDelta {
                        tool_calls: Some(vec![ToolCallChunk {
                            index: *index,
                            id: Some(id.clone()),
                            kind: Some("function".into()),
                            function: Some(FunctionCallChunk {
                                name: Some(name.clone()),
                                arguments: Some(String::new()),
                            }),
                        }]),
                        ..ChunkDelta::default()
                    },
                    None,
                ),
                None,
            )],
            StreamEvent::ToolCallArguments {
                choice,
                index,
                arguments,
            } => vec![self.chunk(
                Self::delta(
                    *choice,
                    ChunkDelta {
                        tool_calls: Some(vec![ToolCallChunk {
                            index: *index,
                            id: None,
                            kind: None,
                            function: Some(FunctionCallChunk {
                                name: None,
                                arguments: Some(arguments.clone()),
                            }),
                        }]),
                        ..ChunkDelta::default()
                    },
                    None,
                ),
                None,
            )],
            StreamEvent::Finish { choice, reason } => vec![self.chunk(
                Self::delta(
                    *choice,
                    ChunkDelta::default(),
                    Some(finish_reason_str(*reason).into()),
                ),
                None,
            )],
            StreamEvent::Usage(usage) if self.include_usage => {
                vec![self.chunk(Vec::new(), Some(Some(usage_to_wire(usage))))]
            }
            StreamEvent::Usage(_) => Vec::new(),
        }
    }
}

/// Reads an OpenAI-compatible upstream's chunks into canonical events.
#[derive(Debug, Default)]
pub struct ChunkDecoder {
    started: bool,
    /// (choice, tool call index) pairs already announced.
    open_calls: BTreeSet<(u32, u32)>,
}

impl ChunkDecoder {
    pub fn decode(&mut self, chunk: ChatCompletionChunk) -> Vec<StreamEvent> {
        let mut out = Vec::new();
        if !self.started {
            self.started = true;
            out.push(StreamEvent::Start {
                id: chunk.id.clone(),
                model: chunk.model.clone(),
                created: chunk.created,
            });
        }
        for choice in chunk.choices {
            let delta = choice.delta;
            if let Some(text) = delta.content.filter(|t| !t.is_empty()) {
                out.push(StreamEvent::Text {
                    choice: choice.index,
                    text,
                });
            }
            for call in delta.tool_calls.unwrap_or_default() {
                let function = call.function.unwrap_or(FunctionCallChunk {
                    name: None,
                    arguments: None,
                });
                if self.open_calls.insert((choice.index, call.index)) {
                    out.push(StreamEvent::ToolCallStart {
                        choice: choice.index,
                        index: call.index,
                        id: call.id.unwrap_or_default(),
                        name: function.name.unwrap_or_default(),
                    });
                }
                if let Some(arguments) = function.arguments.filter(|a| !a.is_empty()) {
                    out.push(StreamEvent::ToolCallArguments {
                        choice: choice.index,
                        index: call.index,
                        arguments,
                    });
                }
            }
            if let Some(reason) = choice.finish_reason {
                out.push(StreamEvent::Finish {
                    choice: choice.index,
                    reason: finish_reason_parse(&reason),
                });
            }
        }
        if let Some(Some(usage)) = chunk.usage {
            out.push(StreamEvent::Usage(usage_from_wire(&usage)));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_then_decode_round_trips() {
        let events = vec![
            StreamEvent::Start {
                id: "c1".into(),
                model: "m".into(),
                created: 7,
            },
            StreamEvent::Text {
                choice: 0,
                text: "hi".into(),
            },
            StreamEvent::ToolCallStart {
                choice: 0,
                index: 0,
                id: "call_1".into(),
                name: "f".into(),
            },
            StreamEvent::ToolCallArguments {
                choice: 0,
                index: 0,
                arguments: "{\"a\":1}".into(),
            },
            StreamEvent::Finish {
                choice: 0,
                reason: FinishReason::ToolCalls,
            },
            StreamEvent::Usage(Usage {
                input_tokens: 3,
                output_tokens: 4,
                ..Usage::default()
            }),
        ];
        let mut enc = ChunkEncoder::new("m", true);
        let mut dec = ChunkDecoder::default();
        let mut back = Vec::new();
        for e in &events {
            for chunk in enc.encode(e, 1) {
                let json = serde_json::to_string(&chunk).unwrap_or_default();
                let parsed: ChatCompletionChunk =
                    serde_json::from_str(&json).unwrap_or_else(|_| chunk.clone());
                back.extend(dec.decode(parsed));
            }
        }
        assert_eq!(back, events);
    }
}
