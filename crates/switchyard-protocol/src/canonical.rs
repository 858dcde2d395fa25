//! The canonical model: one request, response and stream-event shape that every front door
//! parses into and every provider translates from. It carries meaning, never a vendor's
//! spelling; vendor-only request fields travel in `extra` for OpenAI-compatible upstreams.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    System,
    User,
    Assistant,
    Tool,
}

/// One piece of a message's content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Part {
    Text {
        text: String,
    },
    /// An image by URL; `data:` URLs carry inline base64 bytes.
    Image {
        url: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
}

/// A call the model asked for. `arguments` is the JSON text exactly as the model produced it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    pub arguments: String,
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub content: Vec<Part>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// For `Role::Tool`: the call this message answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Message {
    /// A message holding one text part.
    pub fn text(role: Role, text: impl Into<String>) -> Self {
        Self {
            role,
            content: vec![Part::Text { text: text.into() }],
            tool_calls: Vec::new(),
            tool_call_id: None,
            name: None,
        }
    }

    /// The concatenation of the text parts.
    pub fn joined_text(&self) -> String {
        let mut out = String::new();
        for part in &self.content {
            if let Part::Text { text } = part {
                out.push_str(text);
            }
        }
        out
    }
}

/// A function the model may call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON Schema of the arguments.
    pub parameters: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

/// How the model must use the tools.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", content = "name", rename_all = "snake_case")]
pub enum ToolChoice {
    Auto,
    None,
    Required,
    Function(String),
}

/// The shape the answer must take.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ResponseFormat {
    Text,
    JsonObject,
    JsonSchema {
        name: String,
        schema: Value,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        strict: Option<bool>,
    },
}

/// A chat request, whatever door it came in by.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ChatRequest {
    /// As the client named it: `provider/model` or an alias.
    pub model: String,
    pub messages: Vec<Message>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<Tool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel_tool_calls: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_format: Option<ResponseFormat>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stop: Vec<String>,
    /// Number of choices; 1 unless asked.
    #[serde(default = "one")]
    pub n: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub stream: bool,
    /// Streaming: send a final usage event.
    #[serde(default)]
    pub include_usage: bool,
    /// Vendor fields the gateway does not interpret, passed to OpenAI-compatible upstreams.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub extra: Map<String, Value>,
}

fn one() -> u32 {
    1
}

impl ChatRequest {
    /// The system text: all system messages joined by blank lines.
    pub fn system_text(&self) -> Option<String> {
        let parts: Vec<String> = self
            .messages
            .iter()
            .filter(|m| m.role == Role::System)
            .map(Message::joined_text)
            .collect();
        (!parts.is_empty()).then(|| parts.join("\n\n"))
    }

    /// The name of the tool that answered `tool_call_id`, found in earlier assistant turns.
    pub fn tool_name_for(&self, tool_call_id: &str) -> Option<&str> {
        self.messages
            .iter()
            .flat_map(|m| m.tool_calls.iter())
            .find(|c| c.id == tool_call_id)
            .map(|c| c.name.as_str())
    }
}

/// Why a choice stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    Stop,
    Length,
    ToolCalls,
    ContentFilter,
}

/// Token counts as the provider reported them. `input_tokens` includes cached ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    #[serde(default)]
    pub cached_input_tokens: u64,
    #[serde(default)]
    pub cache_write_tokens: u64,
    #[serde(default)]
    pub reasoning_tokens: u64,
}

impl Usage {
    pub fn total(&self) -> u64 {
        self.input_tokens + self.output_tokens
    }

    /// Adds another report to this one (n choices, several attempts).
    pub fn add(&mut self, other: &Usage) {
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        self.cached_input_tokens += other.cached_input_tokens;
        self.cache_write_tokens += other.cache_write_tokens;
        self.reasoning_tokens += other.reasoning_tokens;
    }
}

/// One answer of a completion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    pub index: u32,
    pub message: Message,
    pub finish_reason: FinishReason,
}

/// A complete chat answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatResponse {
    pub id: String,
    /// The model that answered, as the upstream named it.
    pub model: String,
    pub created: u64,
    pub choices: Vec<Choice>,
    pub usage: Usage,
}

/// One event of a streamed answer. Providers' stream parsers produce these; front doors encode
/// them in their own wire format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum StreamEvent {
    /// The answer begins.
    Start {
        id: String,
        model: String,
        created: u64,
    },
    /// Text for one choice.
    Text { choice: u32, text: String },
    /// A tool call begins: `index` numbers the calls within the choice from 0.
    ToolCallStart {
        choice: u32,
        index: u32,
        id: String,
        name: String,
    },
    /// More of a tool call's JSON arguments.
    ToolCallArguments {
        choice: u32,
        index: u32,
        arguments: String,
    },
    /// A choice is finished.
    Finish { choice: u32, reason: FinishReason },
    /// Token counts for the whole answer.
    Usage(Usage),
}

impl StreamEvent {
    /// True for the events that carry content, the ones time to first token waits for.
    pub fn is_content(&self) -> bool {
        matches!(
            self,
            StreamEvent::Text { .. } | StreamEvent::ToolCallStart { .. }
        )
    }
}

/// Folds stream events back into a complete response (used for non-streaming calls over a
/// streaming upstream, and to record what a stream delivered).
#[derive(Debug, Default)]
pub struct StreamAccumulator {
    id: String,
    model: String,
    created: u64,
    choices: BTreeMap<u32, (Message, Option<FinishReason>)>,
    usage: Usage,
}

impl StreamAccumulator {
    pub fn push(&mut self, event: &StreamEvent) {
        match event {
            StreamEvent::Start { id, model, created } => {
                self.id.clone_from(id);
                self.model.clone_from(model);
                self.created = *created;
            }
            StreamEvent::Text { choice, text } => {
                let message = &mut self.choice(*choice).0;
                match message.content.last_mut() {
                    Some(Part::Text { text: last }) => last.push_str(text),
                    _ => message.content.push(Part::Text { text: text.clone() }),
                }
            }
            StreamEvent::ToolCallStart {
                choice, id, name, ..
            } => self.choice(*choice).0.tool_calls.push(ToolCall {
                id: id.clone(),
                name: name.clone(),
                arguments: String::new(),
            }),
            StreamEvent::ToolCallArguments {
                choice,
                index,
                arguments,
            } => {
                let calls = &mut self.choice(*choice).0.tool_calls;
                if let Some(call) = calls.get_mut(*index as usize) {
                    call.arguments.push_str(arguments);
                }
            }
            StreamEvent::Finish { choice, reason } => self.choice(*choice).1 = Some(*reason),
            StreamEvent::Usage(usage) => self.usage = *usage,
        }
    }

    fn choice(&mut self, index: u32) -> &mut (Message, Option<FinishReason>) {
        self.choices.entry(index).or_insert_with(|| {
            (
                Message {
                    role: Role::Assistant,
                    content: Vec::new(),
                    tool_calls: Vec::new(),
                    tool_call_id: None,
                    name: None,
                },
                None,
            )
        })
    }

    /// True once every choice seen so far has finished.
    pub fn finished(&self) -> bool {
        !self.choices.is_empty() && self.choices.values().all(|(_, r)| r.is_some())
    }

    pub fn finish(self) -> ChatResponse {
        ChatResponse {
            id: self.id,
            model: self.model,
            created: self.created,
            choices: self
                .choices
                .into_iter()
                .map(|(index, (message, reason))| Choice {
                    index,
                    finish_reason: reason.unwrap_or(if message.tool_calls.is_empty() {
                        FinishReason::Stop
                    } else {
                        FinishReason::ToolCalls
                    }),
                    message,
                })
                .collect(),
            usage: self.usage,
        }
    }
}

/// An embeddings request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbedRequest {
    pub model: String,
    pub input: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// How the client wants the vectors written; an upstream that can answer either is asked
    /// for the same.
    #[serde(default, skip_serializing_if = "EmbedEncoding::is_float")]
    pub encoding: EmbedEncoding,
}

/// How embedding vectors are written on a wire that offers a choice (OpenAI's
/// `encoding_format`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmbedEncoding {
    /// JSON numbers.
    #[default]
    Float,
    /// Base64 of the little-endian bytes of each f32.
    Base64,
}

impl EmbedEncoding {
    pub fn is_float(&self) -> bool {
        *self == Self::Float
    }
}

/// Embedding vectors, one per input, in input order. Every provider's models compute f32s, so
/// f32 holds what each upstream sent exactly: numbers are read as the f32 they stand for and
/// written back shortest, base64 decodes to the same bits it re-encodes to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbedResponse {
    pub model: String,
    pub data: Vec<Vec<f32>>,
    pub usage: Usage,
}

/// A model a provider offers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// `provider/model` or alias.
    pub id: String,
    pub owned_by: String,
}
