//! Streaming in OpenAI's format: canonical events → `chat.completion.chunk` objects for the
//! front door, and upstream chunks → canonical events for OpenAI-compatible providers.

use super::*;
use std::collections::BTreeSet;

/// Turns canonical stream events into the `chat.completion.chunk` SSE frames an OpenAI client
/// expects, written straight into the caller's buffer: each chunk borrows from the event and
/// the encoder, so a frame costs one serialization and no copies of its text.
#[derive(Debug)]
pub struct ChunkEncoder {
    model: String,
    include_usage: bool,
    /// `data: {"id":…,"object":"chat.completion.chunk","created":…,"model":…,"choices":`, the
    /// part every chunk of the stream shares, serialized once when the stream starts.
    head: Vec<u8>,
}

/// The fields every chunk of a stream shares, in the order of [`ChatCompletionChunk`].
#[derive(Serialize)]
struct ChunkHead<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
}

#[derive(Serialize)]
struct ChoiceOut<'a> {
    index: u32,
    delta: DeltaOut<'a>,
    finish_reason: Option<&'static str>,
    logprobs: Option<()>,
}

#[derive(Default, Serialize)]
struct DeltaOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_calls: Option<[ToolCallOut<'a>; 1]>,
}

#[derive(Serialize)]
struct ToolCallOut<'a> {
    index: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    function: FunctionOut<'a>,
}

#[derive(Serialize)]
struct FunctionOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    arguments: &'a str,
}

impl ChunkEncoder {
    /// `model` is the name the client asked for; `include_usage` mirrors
    /// `stream_options.include_usage`.
    pub fn new(model: &str, include_usage: bool) -> Self {
        let mut encoder = Self {
            model: model.to_owned(),
            include_usage,
            head: Vec::new(),
        };
        encoder.start("", 0);
        encoder
    }

    /// Serializes the shared head of the stream's chunks: an opening brace and the four
    /// fields, the closing brace dropped so each chunk goes on with its `choices`.
    fn start(&mut self, id: &str, created: u64) {
        let head = ChunkHead {
            id,
            object: "chat.completion.chunk",
            created,
            model: &self.model,
        };
        self.head.clear();
        self.head.reserve(96 + id.len() + self.model.len());
        self.head.extend_from_slice(b"data: ");
        // Serializing borrowed strings and a number into a Vec cannot fail; if it ever did,
        // the head would be cut short and every frame refused by the client's JSON parser,
        // so it falls back to the same fields with an empty id and model.
        if serde_json::to_writer(&mut self.head, &head).is_err() {
            self.head.truncate(6);
            self.head.extend_from_slice(
                br#"{"id":"","object":"chat.completion.chunk","created":0,"model":""}"#,
            );
        }
        self.head.pop();
        self.head.extend_from_slice(br#","choices":"#);
    }

    /// Appends one `data:` frame holding a chunk with `choices` (and `usage`, or the `null`
    /// every chunk carries when usage was asked for).
    fn frame(&self, choices: &[ChoiceOut<'_>], usage: Option<UsageWire>, out: &mut Vec<u8>) {
        let mark = out.len();
        out.extend_from_slice(&self.head);
        // JSON text never holds a raw line break, so the chunk is one `data:` line. Writing
        // these borrowed structs into a Vec cannot fail; if it ever did, no half frame is left.
        let mut written = serde_json::to_writer(&mut *out, choices);
        match usage {
            Some(usage) if written.is_ok() => {
                out.extend_from_slice(br#","usage":"#);
                written = serde_json::to_writer(&mut *out, &usage);
            }
            None if self.include_usage => out.extend_from_slice(br#","usage":null"#),
            _ => {}
        }
        match written {
            Ok(()) => out.extend_from_slice(b"}\n\n"),
            Err(_) => out.truncate(mark),
        }
    }

    /// The frame of a content delta, most of every stream, written the way `frame` would
    /// write it but without the serializer's work on every key: only the text is escaped.
    fn text_frame(&self, index: u32, text: &str, out: &mut Vec<u8>) {
        let mark = out.len();
        out.extend_from_slice(&self.head);
        out.extend_from_slice(br#"[{"index":"#);
        if serde_json::to_writer(&mut *out, &index).is_err() {
            out.truncate(mark);
            return;
        }
        out.extend_from_slice(br#","delta":{"content":"#);
        crate::json::push_str_bytes(out, text);
        out.extend_from_slice(br#"},"finish_reason":null,"logprobs":null}]"#);
        if self.include_usage {
            out.extend_from_slice(br#","usage":null"#);
        }
        out.extend_from_slice(b"}\n\n");
    }

    fn delta(
        &self,
        index: u32,
        delta: DeltaOut<'_>,
        finish: Option<&'static str>,
        out: &mut Vec<u8>,
    ) {
        let choice = ChoiceOut {
            index,
            delta,
            finish_reason: finish,
            logprobs: None,
        };
        self.frame(std::slice::from_ref(&choice), None, out);
    }

    /// Appends the SSE frames for one event to `out`; `n` is the number of choices (a start
    /// opens each of them). Usage is written only when the client asked for it.
    pub fn write(&mut self, event: &StreamEvent, n: u32, out: &mut Vec<u8>) {
        match event {
            StreamEvent::Start { id, created, .. } => {
                self.start(id, *created);
                for i in 0..n.max(1) {
                    let opening = DeltaOut {
                        role: Some("assistant"),
                        content: Some(""),
                        ..DeltaOut::default()
                    };
                    self.delta(i, opening, None, out);
                }
            }
            StreamEvent::Text { choice, text } => self.text_frame(*choice, text, out),
            StreamEvent::ToolCallStart {
                choice,
                index,
                id,
                name,
            } => {
                let call = ToolCallOut {
                    index: *index,
                    id: Some(id),
                    kind: Some("function"),
                    function: FunctionOut {
                        name: Some(name),
                        arguments: "",
                    },
                };
                let delta = DeltaOut {
                    tool_calls: Some([call]),
                    ..DeltaOut::default()
                };
                self.delta(*choice, delta, None, out);
            }
            StreamEvent::ToolCallArguments {
                choice,
                index,
                arguments,
            } => {
                let call = ToolCallOut {
                    index: *index,
                    id: None,
                    kind: None,
                    function: FunctionOut {
                        name: None,
                        arguments,
                    },
                };
                let delta = DeltaOut {
                    tool_calls: Some([call]),
                    ..DeltaOut::default()
                };
                self.delta(*choice, delta, None, out);
            }
            StreamEvent::Finish { choice, reason } => {
                let reason = finish_reason_str(*reason);
                self.delta(*choice, DeltaOut::default(), Some(reason), out);
            }
            StreamEvent::Usage(usage) if self.include_usage => {
                self.frame(&[], Some(usage_to_wire(usage)), out);
            }
            StreamEvent::Usage(_) => {}
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
    pub fn decode(&mut self, chunk: ChatCompletionChunk<'_>) -> Vec<StreamEvent> {
        let mut out = Vec::new();
        if !self.started {
            self.started = true;
            out.push(StreamEvent::Start {
                id: chunk.id.into_owned(),
                model: chunk.model.into_owned(),
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
        let mut body = Vec::new();
        for e in &events {
            enc.write(e, 1, &mut body);
        }
        let mut frames = crate::sse::Decoder::default();
        frames.push(&body);
        let mut dec = ChunkDecoder::default();
        let mut back = Vec::new();
        while let Ok(Some(frame)) = frames.next_event() {
            let chunk: ChatCompletionChunk = match serde_json::from_str(&frame.data) {
                Ok(chunk) => chunk,
                Err(e) => panic!("{e}: {}", frame.data),
            };
            back.extend(dec.decode(chunk));
        }
        assert_eq!(back, events);
    }

    fn written(enc: &mut ChunkEncoder, event: &StreamEvent) -> String {
        let mut out = Vec::new();
        enc.write(event, 1, &mut out);
        String::from_utf8(out).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn frames_are_whole_chunks_with_the_stream_head_and_usage_as_asked() {
        let start = StreamEvent::Start {
            id: "c\"1".into(),
            model: "upstream-name".into(),
            created: 7,
        };
        let text = StreamEvent::Text {
            choice: 0,
            text: "hi".into(),
        };
        let usage = StreamEvent::Usage(Usage {
            input_tokens: 3,
            output_tokens: 4,
            ..Usage::default()
        });
        let head = r#"data: {"id":"c\"1","object":"chat.completion.chunk","created":7,"model":"as \"asked\"","choices":"#;
        let mut with_usage = ChunkEncoder::new("as \"asked\"", true);
        assert_eq!(
            written(&mut with_usage, &start),
            format!(
                "{head}{}\n\n",
                r#"[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null,"logprobs":null}],"usage":null}"#
            )
        );
        assert_eq!(
            written(&mut with_usage, &text),
            format!(
                "{head}{}\n\n",
                r#"[{"index":0,"delta":{"content":"hi"},"finish_reason":null,"logprobs":null}],"usage":null}"#
            )
        );
        let last = written(&mut with_usage, &usage);
        assert!(
            last.starts_with(&format!(
                r#"{head}[],"usage":{{"prompt_tokens":3,"completion_tokens":4,"#
            )),
            "{last}"
        );
        assert!(last.ends_with("}}\n\n"), "{last}");
        let mut without = ChunkEncoder::new("m", false);
        written(&mut without, &start);
        assert_eq!(
            written(&mut without, &text),
            r#"data: {"id":"c\"1","object":"chat.completion.chunk","created":7,"model":"m","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null,"logprobs":null}]}"#.to_owned() + "\n\n"
        );
        assert_eq!(written(&mut without, &usage), "");
    }

    #[test]
    fn content_frames_match_the_serializer_for_any_text() {
        for include_usage in [false, true] {
            let mut enc = ChunkEncoder::new("m\u{e9}", include_usage);
            enc.start("chatcmpl-\"x\"", 1_700_000_000);
            for (index, text) in [
                (0, "plain"),
                (3, "quote \" backslash \\ slash /"),
                (1, "lines\nand\r\ntabs\t and \u{1} \u{1f} controls"),
                (2, "\u{e9}t\u{e9} \u{1f600} \u{2028}"),
                (7, ""),
            ] {
                let mut by_hand = Vec::new();
                enc.text_frame(index, text, &mut by_hand);
                let mut by_serde = Vec::new();
                let delta = DeltaOut {
                    content: Some(text),
                    ..DeltaOut::default()
                };
                enc.delta(index, delta, None, &mut by_serde);
                assert_eq!(
                    String::from_utf8_lossy(&by_hand),
                    String::from_utf8_lossy(&by_serde),
                    "{text:?}"
                );
            }
        }
    }
}
