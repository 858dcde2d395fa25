//! What the mock answers on `/ai/run/{model}`, as Workers AI documents it: the Cloudflare
//! envelope `{"result","success","errors","messages"}`, the text-generation output
//! `{response, tool_calls: [{name, arguments}], usage}` (with `response` the parsed object in
//! JSON mode), stream events `{"response": "...", "p": "..."}` ending in a usage event and
//! `[DONE]`, and the embeddings output `{shape, data, pooling}`.

use serde::Serialize;
use serde_json::Value;
use switchyard_protocol::{ChatResponse, EmbedResponse, ResponseFormat, Usage};

#[derive(Debug, Serialize)]
pub(crate) struct Envelope<T> {
    pub result: Option<T>,
    pub success: bool,
    pub errors: Vec<ApiError>,
    pub messages: Vec<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct ApiError {
    pub code: u32,
    pub message: String,
}

impl<T> Envelope<T> {
    pub fn ok(result: T) -> Self {
        Self {
            result: Some(result),
            success: true,
            errors: Vec::new(),
            messages: Vec::new(),
        }
    }
}

impl Envelope<()> {
    pub fn failed(code: u32, message: &str) -> Self {
        Self {
            result: None,
            success: false,
            errors: vec![ApiError {
                code,
                message: message.to_owned(),
            }],
            messages: Vec::new(),
        }
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct TextResult {
    pub response: Value,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<OutToolCall>,
    pub usage: OutUsage,
}

/// The documented tool-call shape: a name and the arguments as an object, no id.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct OutToolCall {
    pub name: String,
    pub arguments: Value,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct OutUsage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
}

impl From<Usage> for OutUsage {
    fn from(u: Usage) -> Self {
        Self {
            prompt_tokens: u.input_tokens,
            completion_tokens: u.output_tokens,
            total_tokens: u.total(),
        }
    }
}

/// One event of a native stream.
#[derive(Debug, Serialize)]
pub(crate) struct StreamChunk {
    pub response: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<OutToolCall>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<OutUsage>,
    /// Padding Workers AI adds so event sizes do not reveal token lengths.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p: Option<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct EmbedResult {
    pub shape: [usize; 2],
    pub data: Vec<Vec<f32>>,
    pub pooling: String,
}

/// The tool calls of a synthesised answer, arguments parsed back into objects.
pub(crate) fn tool_calls(resp: &ChatResponse) -> Vec<OutToolCall> {
    resp.choices
        .iter()
        .flat_map(|c| c.message.tool_calls.iter())
        .map(|c| OutToolCall {
            name: c.name.clone(),
            arguments: serde_json::from_str(&c.arguments)
                .unwrap_or_else(|_| Value::String(c.arguments.clone())),
        })
        .collect()
}

/// The complete text-generation result for a synthesised answer.
pub(crate) fn text_result(resp: &ChatResponse, format: Option<&ResponseFormat>) -> TextResult {
    let text = resp
        .choices
        .first()
        .map(|c| c.message.joined_text())
        .unwrap_or_default();
    let json_mode = matches!(
        format,
        Some(ResponseFormat::JsonObject | ResponseFormat::JsonSchema { .. })
    );
    let response = match serde_json::from_str::<Value>(&text) {
        Ok(parsed @ (Value::Object(_) | Value::Array(_))) if json_mode => parsed,
        _ => Value::String(text),
    };
    TextResult {
        response,
        tool_calls: tool_calls(resp),
        usage: resp.usage.into(),
    }
}

/// Deterministic padding whose length varies with the piece it pads.
pub(crate) fn padding(piece: &str) -> String {
    const PAD: &str = "abcdefghijklmnopqrstuvwxyz0123456789";
    let n = 4 + (piece.len() * 7) % 28;
    PAD[..n.min(PAD.len())].to_owned()
}

/// The embeddings result in the documented shape.
pub(crate) fn embed_result(out: EmbedResponse, pooling: Option<String>) -> EmbedResult {
    let dims = out.data.first().map_or(0, Vec::len);
    EmbedResult {
        shape: [out.data.len(), dims],
        data: out.data,
        pooling: pooling.unwrap_or_else(|| "mean".into()),
    }
}
