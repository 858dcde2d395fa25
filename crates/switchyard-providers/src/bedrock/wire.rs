//! Converse wire types and their conversion from and to the canonical model. Requests are
//! written exactly (unions as one-key objects); replies are read tolerantly, so block and event
//! kinds Bedrock adds later are skipped rather than fatal. Never does I/O.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use switchyard_protocol::anthropic::{json_instruction, parse_data_url};
use switchyard_protocol::{
    ChatRequest, ChatResponse, Choice, ErrorKind, FinishReason, Message as CanonicalMessage, Part,
    ProviderError, Role, ToolCall, ToolChoice, Usage,
};

/// `POST /model/{modelId}/converse` and `/converse-stream` bodies (the model id is in the path).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConverseRequest {
    pub messages: Vec<Message>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub system: Vec<SystemBlock>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inference_config: Option<InferenceConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_config: Option<ToolConfig>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Message {
    pub role: &'static str,
    pub content: Vec<ContentBlock>,
}

/// One member of the `ContentBlock` union.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ContentBlock {
    Text(String),
    Image(ImageBlock),
    ToolUse(ToolUseBlock),
    ToolResult(ToolResultBlock),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum SystemBlock {
    Text(String),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImageBlock {
    /// `png`, `jpeg`, `gif` or `webp`.
    pub format: String,
    pub source: ImageSource,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ImageSource {
    /// Base64, as restJson sends blobs.
    Bytes(String),
    S3Location {
        uri: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolUseBlock {
    pub tool_use_id: String,
    pub name: String,
    pub input: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolResultBlock {
    pub tool_use_id: String,
    pub content: Vec<ToolResultContent>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ToolResultContent {
    Text(String),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InferenceConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stop_sequences: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolConfig {
    pub tools: Vec<ToolEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoiceWire>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ToolEntry {
    ToolSpec(ToolSpec),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolSpec {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub input_schema: InputSchema,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum InputSchema {
    Json(Value),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ToolChoiceWire {
    Auto(Map<String, Value>),
    Any(Map<String, Value>),
    Tool { name: String },
}

/// What [`request_from_canonical`] needs besides the request.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// `maxTokens` when the client sent none; `None` lets the model's default apply.
    pub default_max_tokens: Option<u32>,
}

fn bad_request(message: impl Into<String>) -> ProviderError {
    ProviderError::new(ErrorKind::BadRequest, message)
}

/// Builds the Converse body. System messages become `system` blocks; JSON mode, which Converse
/// lacks, becomes one more system block asking for JSON (the schema quoted when given).
/// Consecutive turns of one role are merged, since Bedrock requires alternation.
pub fn request_from_canonical(
    req: &ChatRequest,
    options: Options,
) -> Result<ConverseRequest, ProviderError> {
    if req.n > 1 {
        return Err(bad_request(
            "Bedrock Converse returns one choice; `n` must be 1",
        ));
    }
    let mut system: Vec<SystemBlock> = req
        .messages
        .iter()
        .filter(|m| m.role == Role::System)
        .map(CanonicalMessage::joined_text)
        .filter(|t| !t.trim().is_empty())
        .map(SystemBlock::Text)
        .collect();
    if let Some(instruction) = json_instruction(req.response_format.as_ref()) {
        system.push(SystemBlock::Text(instruction));
    }
    let mut messages: Vec<Message> = Vec::new();
    let mut uses_tool_blocks = false;
    for m in req.messages.iter().filter(|m| m.role != Role::System) {
        let (role, blocks) = match m.role {
            Role::Tool => {
                uses_tool_blocks = true;
                let id = m.tool_call_id.clone().ok_or_else(|| {
                    bad_request("a tool message needs the tool_call_id it answers")
                })?;
                let result = ToolResultBlock {
                    tool_use_id: id,
                    content: vec![ToolResultContent::Text(m.joined_text())],
                };
                ("user", vec![ContentBlock::ToolResult(result)])
            }
            Role::User => ("user", parts_to_blocks(&m.content)?),
            Role::Assistant | Role::System => {
                let mut blocks = parts_to_blocks(&m.content)?;
                uses_tool_blocks |= !m.tool_calls.is_empty();
                blocks.extend(m.tool_calls.iter().map(tool_use_block));
                ("assistant", blocks)
            }
        };
        if blocks.is_empty() {
            continue;
        }
        match messages.last_mut() {
            Some(last) if last.role == role => last.content.extend(blocks),
            _ => messages.push(Message {
                role,
                content: blocks,
            }),
        }
    }
    let inference_config = InferenceConfig {
        max_tokens: req.max_tokens.or(options.default_max_tokens),
        // Bedrock accepts 0..=1; OpenAI clients may send up to 2.
        temperature: req.temperature.map(|t| t.clamp(0.0, 1.0)),
        top_p: req.top_p,
        stop_sequences: req.stop.clone(),
    };
    let inference_config = (inference_config.max_tokens.is_some()
        || inference_config.temperature.is_some()
        || inference_config.top_p.is_some()
        || !inference_config.stop_sequences.is_empty())
    .then_some(inference_config);
    Ok(ConverseRequest {
        messages,
        system,
        inference_config,
        tool_config: tool_config(req, uses_tool_blocks),
    })
}

/// `toolConfig`, or `None` when the request has no tools. Converse has no "none" choice and
/// refuses tool blocks in the history without a `toolConfig`, so `tool_choice: none` keeps the
/// tools declared (without a choice) when the history has tool blocks and drops them otherwise.
fn tool_config(req: &ChatRequest, uses_tool_blocks: bool) -> Option<ToolConfig> {
    if req.tools.is_empty() {
        return None;
    }
    let tool_choice = match &req.tool_choice {
        None => None,
        Some(ToolChoice::None) if !uses_tool_blocks => return None,
        Some(ToolChoice::None) => None,
        Some(ToolChoice::Auto) => Some(ToolChoiceWire::Auto(Map::new())),
        Some(ToolChoice::Required) => Some(ToolChoiceWire::Any(Map::new())),
        Some(ToolChoice::Function(name)) => Some(ToolChoiceWire::Tool { name: name.clone() }),
    };
    let tools = req
        .tools
        .iter()
        .map(|t| {
            ToolEntry::ToolSpec(ToolSpec {
                name: t.name.clone(),
                description: t.description.clone().filter(|d| !d.is_empty()),
                input_schema: InputSchema::Json(t.parameters.clone()),
                strict: t.strict,
            })
        })
        .collect();
    Some(ToolConfig { tools, tool_choice })
}

fn tool_use_block(call: &ToolCall) -> ContentBlock {
    ContentBlock::ToolUse(ToolUseBlock {
        tool_use_id: call.id.clone(),
        name: call.name.clone(),
        // Bedrock wants an object; arguments a model got wrong earlier are sent as `{}`.
        input: serde_json::from_str(&call.arguments)
            .ok()
            .filter(Value::is_object)
            .unwrap_or_else(|| Value::Object(Map::new())),
    })
}

fn parts_to_blocks(parts: &[Part]) -> Result<Vec<ContentBlock>, ProviderError> {
    let mut blocks = Vec::new();
    for part in parts {
        match part {
            // Bedrock refuses blank text blocks.
            Part::Text { text } if text.trim().is_empty() => {}
            Part::Text { text } => blocks.push(ContentBlock::Text(text.clone())),
            Part::Image { url, .. } => blocks.push(ContentBlock::Image(image_block(url)?)),
        }
    }
    Ok(blocks)
}

/// Images come inline (`data:` URLs, whose base64 is what restJson expects for a blob) or
/// from S3 (`s3://` URLs); Bedrock cannot fetch web URLs.
fn image_block(url: &str) -> Result<ImageBlock, ProviderError> {
    if let Some((media_type, data)) = parse_data_url(url) {
        let format = media_type
            .strip_prefix("image/")
            .and_then(image_format)
            .ok_or_else(|| {
                bad_request(format!(
                    "Bedrock accepts png, jpeg, gif and webp images, not {media_type}"
                ))
            })?;
        return Ok(ImageBlock {
            format: format.into(),
            source: ImageSource::Bytes(data.to_owned()),
        });
    }
    if url.starts_with("s3://") {
        let extension = url.rsplit('.').next().unwrap_or_default();
        let format = image_format(&extension.to_ascii_lowercase()).ok_or_else(|| {
            bad_request("an s3:// image needs a .png, .jpg, .jpeg, .gif or .webp name")
        })?;
        return Ok(ImageBlock {
            format: format.into(),
            source: ImageSource::S3Location {
                uri: url.to_owned(),
            },
        });
    }
    Err(bad_request(
        "Bedrock takes images inline (data: URLs) or from S3 (s3:// URLs), not by web URL",
    ))
}

fn image_format(subtype: &str) -> Option<&'static str> {
    match subtype {
        "png" => Some("png"),
        "jpeg" | "jpg" => Some("jpeg"),
        "gif" => Some("gif"),
        "webp" => Some("webp"),
        _ => None,
    }
}

/// The Converse answer. Only what the gateway uses is read; other fields are ignored.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConverseResponse {
    pub output: ConverseOutput,
    pub stop_reason: String,
    pub usage: TokenUsage,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ConverseOutput {
    pub message: Option<OutputMessage>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct OutputMessage {
    pub content: Vec<OutputBlock>,
}

/// One `ContentBlock` of a reply; members the gateway does not carry (reasoning, citations)
/// are skipped.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutputBlock {
    pub text: Option<String>,
    pub tool_use: Option<ToolUseBlock>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenUsage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    #[serde(default)]
    pub cache_read_input_tokens: Option<u64>,
    #[serde(default)]
    pub cache_write_input_tokens: Option<u64>,
}

/// Canonical input counts cached tokens; Bedrock's `inputTokens` leaves them out.
pub fn usage_to_canonical(u: &TokenUsage) -> Usage {
    let read = u.cache_read_input_tokens.unwrap_or(0);
    let write = u.cache_write_input_tokens.unwrap_or(0);
    Usage {
        input_tokens: u.input_tokens + read + write,
        output_tokens: u.output_tokens,
        cached_input_tokens: read,
        cache_write_tokens: write,
        reasoning_tokens: 0,
    }
}

/// Maps `stopReason`. Malformed model output is an error (another attempt may succeed);
/// reasons Bedrock adds later count as a normal stop.
pub fn finish_reason(stop_reason: &str) -> Result<FinishReason, ProviderError> {
    Ok(match stop_reason {
        "tool_use" => FinishReason::ToolCalls,
        "max_tokens" | "model_context_window_exceeded" => FinishReason::Length,
        "guardrail_intervened" | "content_filtered" => FinishReason::ContentFilter,
        "malformed_model_output" | "malformed_tool_use" => {
            return Err(ProviderError::malformed(format!(
                "Bedrock stopped the answer: {stop_reason}"
            )));
        }
        _ => FinishReason::Stop,
    })
}

/// The canonical answer. Converse has no response id: the caller passes the request id.
pub fn response_to_canonical(
    resp: ConverseResponse,
    id: String,
    model: &str,
    created: u64,
) -> Result<ChatResponse, ProviderError> {
    let finish_reason = finish_reason(&resp.stop_reason)?;
    let mut message = CanonicalMessage {
        role: Role::Assistant,
        content: Vec::new(),
        tool_calls: Vec::new(),
        tool_call_id: None,
        name: None,
    };
    for block in resp.output.message.map(|m| m.content).unwrap_or_default() {
        if let Some(text) = block.text {
            message.content.push(Part::Text { text });
        }
        if let Some(tool) = block.tool_use {
            message.tool_calls.push(ToolCall {
                id: tool.tool_use_id,
                name: tool.name,
                arguments: tool.input.to_string(),
            });
        }
    }
    Ok(ChatResponse {
        id,
        model: model.to_owned(),
        created,
        choices: vec![Choice {
            index: 0,
            message,
            finish_reason,
        }],
        usage: usage_to_canonical(&resp.usage),
    })
}

/// Titan Text Embeddings (V1 and V2) `InvokeModel` body.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TitanEmbedRequest<'a> {
    pub input_text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<u32>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TitanEmbedResponse {
    #[serde(deserialize_with = "switchyard_protocol::vector::f32s")]
    pub embedding: Vec<f32>,
    pub input_text_token_count: u64,
}

#[cfg(test)]
#[path = "wire_tests.rs"]
mod tests;
