//! Gemini's streamed answer (`streamGenerateContent?alt=sse`) to canonical events. Each SSE
//! event holds a whole `GenerateContentResponse` chunk: text arrives in pieces, a function
//! call arrives whole in one part. There is no end marker: the answer is complete when the
//! body ends cleanly after every expected candidate has sent its `finishReason`. Usage is the
//! last `usageMetadata` seen (chunks repeat it, growing), sent once at that end.

use super::convert::{self, blocked, fallback_response_id, finish_reason};
use super::wire::{ErrorBody, GenerateContentResponse};
use crate::http::Decoded;
use std::collections::{BTreeMap, BTreeSet};
use switchyard_protocol::{ErrorKind, ProviderError, StreamEvent, Usage};

/// Turns the chunks of one stream into canonical events.
#[derive(Debug)]
pub struct StreamDecoder {
    model: String,
    expected: u32,
    created: u64,
    response_id: Option<String>,
    started: bool,
    /// Calls seen so far per choice.
    calls: BTreeMap<u32, u32>,
    finished: BTreeSet<u32>,
    usage: Option<Usage>,
}

impl StreamDecoder {
    /// A decoder for an answer with `candidates` choices from `model`.
    pub fn new(model: &str, candidates: u32, created: u64) -> Self {
        Self {
            model: model.to_owned(),
            expected: candidates.max(1),
            created,
            response_id: None,
            started: false,
            calls: BTreeMap::new(),
            finished: BTreeSet::new(),
            usage: None,
        }
    }

    /// Decodes the `data` of one SSE event.
    pub fn data(&mut self, data: &str) -> Result<Decoded, ProviderError> {
        let data = data.trim();
        if data.is_empty() {
            return Ok(Decoded::more(Vec::new()));
        }
        if let Ok(error) = serde_json::from_str::<ErrorBody>(data) {
            return Err(super::error::in_stream(&error, data.as_bytes()));
        }
        let chunk: GenerateContentResponse = crate::http::parse_json_text(data)?;
        Ok(Decoded::more(self.chunk(chunk, data.as_bytes())?))
    }

    /// Decodes one parsed chunk; `raw` seeds the answer id when Gemini sends none.
    pub fn chunk(
        &mut self,
        chunk: GenerateContentResponse,
        raw: &[u8],
    ) -> Result<Vec<StreamEvent>, ProviderError> {
        let mut events = Vec::new();
        if !self.started {
            if chunk.candidates.is_empty()
                && let Some(refused) = blocked(&chunk)
            {
                return Err(refused);
            }
            self.started = true;
            if let Some(version) = &chunk.model_version {
                self.model.clone_from(version);
            }
            let id = chunk
                .response_id
                .clone()
                .unwrap_or_else(|| fallback_response_id(&self.model, self.created, raw));
            self.response_id = Some(id.clone());
            events.push(StreamEvent::Start {
                id,
                model: self.model.clone(),
                created: self.created,
            });
        } else if chunk.candidates.is_empty()
            && let Some(refused) = blocked(&chunk)
        {
            return Err(refused);
        }
        let response_id = chunk
            .response_id
            .as_deref()
            .or(self.response_id.as_deref())
            .unwrap_or("")
            .to_owned();
        for candidate in &chunk.candidates {
            let choice = candidate.index.unwrap_or(0);
            for part in candidate.content.iter().flat_map(|c| c.parts.iter()) {
                if part.thought == Some(true) {
                    continue;
                }
                if let Some(text) = part.text.as_ref().filter(|t| !t.is_empty()) {
                    events.push(StreamEvent::Text {
                        choice,
                        text: text.clone(),
                    });
                }
                if let Some(call) = &part.function_call {
                    let count = self.calls.entry(choice).or_insert(0);
                    let index = *count;
                    *count += 1;
                    let call = convert::tool_call(&response_id, choice, index, call);
                    events.push(StreamEvent::ToolCallStart {
                        choice,
                        index,
                        id: call.id,
                        name: call.name,
                    });
                    events.push(StreamEvent::ToolCallArguments {
                        choice,
                        index,
                        arguments: call.arguments,
                    });
                }
            }
            if let Some(reason) = candidate
                .finish_reason
                .as_deref()
                .filter(|r| *r != "FINISH_REASON_UNSPECIFIED")
                && self.finished.insert(choice)
            {
                let has_calls = self.calls.get(&choice).is_some_and(|n| *n > 0);
                events.push(StreamEvent::Finish {
                    choice,
                    reason: finish_reason(reason, has_calls),
                });
            }
        }
        if let Some(usage) = &chunk.usage_metadata {
            self.usage = Some(convert::usage(usage));
        }
        Ok(events)
    }

    /// True once every expected choice has finished.
    pub fn complete(&self) -> bool {
        (0..self.expected).all(|c| self.finished.contains(&c))
    }

    /// The body ended cleanly: the final usage if the answer is complete, else the error a
    /// cut stream is.
    pub fn end(&mut self) -> Result<Decoded, ProviderError> {
        if !self.complete() {
            return Err(ProviderError::new(
                ErrorKind::Transport,
                "the Gemini stream ended before every candidate had finished",
            ));
        }
        Ok(Decoded::done(
            self.usage
                .take()
                .map(StreamEvent::Usage)
                .into_iter()
                .collect(),
        ))
    }
}
