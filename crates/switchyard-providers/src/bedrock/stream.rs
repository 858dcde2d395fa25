//! ConverseStream decoding: `application/vnd.amazon.eventstream` frames (read incrementally
//! with `aws-smithy-eventstream`, since frames split across network chunks) into canonical
//! stream events. The answer is complete once both `messageStop` and `metadata` arrived;
//! exception frames become typed errors. Never does I/O.

use super::error::error_for_type;
use super::wire::{TokenUsage, finish_reason, usage_to_canonical};
use crate::http::Decoded;
use aws_smithy_eventstream::frame::{DecodedFrame, MessageFrameDecoder};
use aws_smithy_types::event_stream::{HeaderValue, Message};
use bytes::{Buf, BytesMut};
use serde::Deserialize;
use std::collections::HashMap;
use switchyard_protocol::{ProviderError, StreamEvent};

/// The largest frame the event stream format allows (16 MiB of payload plus headers).
const MAX_FRAME: u32 = 16 * 1024 * 1024 + 128 * 1024;
/// Prelude (12 bytes) plus message CRC (4 bytes): the smallest frame.
const MIN_FRAME: u32 = 16;

/// Cuts a byte stream into event stream messages, whatever the chunk boundaries.
#[derive(Debug, Default)]
pub struct FrameReader {
    buf: BytesMut,
    frames: MessageFrameDecoder,
    /// The decoder has consumed the current frame's prelude.
    in_frame: bool,
}

impl FrameReader {
    /// Adds a chunk and returns the messages it completed. A frame whose length is impossible
    /// or whose checksums fail is `MalformedReply`.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<Message>, ProviderError> {
        self.buf.extend_from_slice(chunk);
        let mut out = Vec::new();
        loop {
            if !self.in_frame {
                if self.buf.len() < 12 {
                    break;
                }
                let total = (&self.buf[..4]).get_u32();
                if !(MIN_FRAME..=MAX_FRAME).contains(&total) {
                    return Err(ProviderError::malformed(format!(
                        "upstream event stream frame claims {total} bytes; not an event stream"
                    )));
                }
            }
            match self.frames.decode_frame(&mut self.buf) {
                Ok(DecodedFrame::Complete(message)) => {
                    self.in_frame = false;
                    out.push(message);
                }
                Ok(DecodedFrame::Incomplete) => {
                    // The decoder keeps the prelude once it has read it.
                    self.in_frame = true;
                    break;
                }
                Err(e) => {
                    return Err(ProviderError::malformed(format!(
                        "upstream event stream frame is invalid: {e}"
                    )));
                }
            }
        }
        Ok(out)
    }
}

/// The value of a string header of a frame.
fn header<'a>(message: &'a Message, name: &str) -> Option<&'a str> {
    message
        .headers()
        .iter()
        .find(|h| h.name().as_str() == name)
        .and_then(|h| match h.value() {
            HeaderValue::String(s) => Some(s.as_str()),
            _ => None,
        })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BlockStart {
    start: StartUnion,
    content_block_index: u32,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StartUnion {
    tool_use: Option<ToolUseStart>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ToolUseStart {
    tool_use_id: String,
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BlockDelta {
    delta: DeltaUnion,
    content_block_index: u32,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeltaUnion {
    text: Option<String>,
    tool_use: Option<ToolUseDelta>,
}

#[derive(Deserialize)]
struct ToolUseDelta {
    input: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MessageStop {
    stop_reason: String,
}

#[derive(Deserialize)]
struct Metadata {
    usage: TokenUsage,
}

#[derive(Deserialize)]
struct ExceptionBody {
    #[serde(alias = "Message")]
    message: Option<String>,
}

/// Turns ConverseStream messages into canonical events for one answer.
#[derive(Debug)]
pub struct EventDecoder {
    id: String,
    model: String,
    created: u64,
    /// Tool-call number (from 0) per `contentBlockIndex`.
    tools: HashMap<u32, u32>,
    stopped: bool,
    metadata: bool,
}

impl EventDecoder {
    /// `id` names the answer in the `Start` event (ConverseStream has no id of its own).
    pub fn new(id: String, model: String, created: u64) -> Self {
        Self {
            id,
            model,
            created,
            tools: HashMap::new(),
            stopped: false,
            metadata: false,
        }
    }

    /// True once `messageStop` and `metadata` have both arrived.
    pub fn complete(&self) -> bool {
        self.stopped && self.metadata
    }

    /// The events one message carries; exceptions are `Err`.
    pub fn decode(&mut self, message: &Message) -> Result<Vec<StreamEvent>, ProviderError> {
        let payload = message.payload();
        match header(message, ":message-type") {
            Some("event") => {}
            Some("exception") => {
                let kind = header(message, ":exception-type").unwrap_or("unknownException");
                let text = serde_json::from_slice::<ExceptionBody>(payload)
                    .ok()
                    .and_then(|b| b.message)
                    .unwrap_or_else(|| "no message".into());
                return Err(error_for_type(kind, None, text, None));
            }
            Some("error") => {
                let code = header(message, ":error-code").unwrap_or("InternalFailure");
                let text = header(message, ":error-message").unwrap_or("no message");
                return Err(error_for_type(code, None, text.to_owned(), None));
            }
            other => {
                return Err(ProviderError::malformed(format!(
                    "upstream event stream message has :message-type {other:?}"
                )));
            }
        }
        let event_type = header(message, ":event-type").unwrap_or_default();
        let parse = |e: serde_json::Error| {
            ProviderError::malformed(format!(
                "upstream {event_type} event is not as expected: {e}"
            ))
        };
        let events = match event_type {
            "messageStart" => vec![StreamEvent::Start {
                id: self.id.clone(),
                model: self.model.clone(),
                created: self.created,
            }],
            "contentBlockStart" => {
                let start: BlockStart = serde_json::from_slice(payload).map_err(parse)?;
                match start.start.tool_use {
                    Some(tool) => {
                        let index = self.tools.len() as u32;
                        self.tools.insert(start.content_block_index, index);
                        vec![StreamEvent::ToolCallStart {
                            choice: 0,
                            index,
                            id: tool.tool_use_id,
                            name: tool.name,
                        }]
                    }
                    None => Vec::new(),
                }
            }
            "contentBlockDelta" => {
                let delta: BlockDelta = serde_json::from_slice(payload).map_err(parse)?;
                let mut events = Vec::new();
                if let Some(text) = delta.delta.text.filter(|t| !t.is_empty()) {
                    events.push(StreamEvent::Text { choice: 0, text });
                }
                if let Some(tool) = delta.delta.tool_use {
                    let index = *self.tools.get(&delta.content_block_index).ok_or_else(|| {
                        ProviderError::malformed(format!(
                            "upstream sent tool input for content block {} that no tool use started",
                            delta.content_block_index
                        ))
                    })?;
                    events.push(StreamEvent::ToolCallArguments {
                        choice: 0,
                        index,
                        arguments: tool.input,
                    });
                }
                events
            }
            "messageStop" => {
                let stop: MessageStop = serde_json::from_slice(payload).map_err(parse)?;
                self.stopped = true;
                vec![StreamEvent::Finish {
                    choice: 0,
                    reason: finish_reason(&stop.stop_reason)?,
                }]
            }
            "metadata" => {
                let metadata: Metadata = serde_json::from_slice(payload).map_err(parse)?;
                self.metadata = true;
                vec![StreamEvent::Usage(usage_to_canonical(&metadata.usage))]
            }
            // contentBlockStop, and event kinds Bedrock adds later.
            _ => Vec::new(),
        };
        Ok(events)
    }
}

/// A ConverseStream body decoder: bytes in, canonical events out.
#[derive(Debug)]
pub struct StreamDecoder {
    frames: FrameReader,
    events: EventDecoder,
}

impl StreamDecoder {
    pub fn new(id: String, model: String, created: u64) -> Self {
        Self {
            frames: FrameReader::default(),
            events: EventDecoder::new(id, model, created),
        }
    }

    /// Decodes one network chunk; `done` once the answer is complete.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Decoded, ProviderError> {
        let mut events = Vec::new();
        for message in self.frames.push(chunk)? {
            events.extend(self.events.decode(&message)?);
            if self.events.complete() {
                return Ok(Decoded::done(events));
            }
        }
        Ok(Decoded::more(events))
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
