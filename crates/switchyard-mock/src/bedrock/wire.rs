//! The mock's own Converse and Titan Embeddings wire types, from the Bedrock Runtime API
//! reference (service model 2023-09-30): unions are one-key objects, unknown members are
//! refused, and the checks Bedrock makes (a user turn first, alternating roles, no blank
//! text, tool blocks only with a `toolConfig`, inference bounds) answer `ValidationException`.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use switchyard_protocol::{
    ChatRequest, ChatResponse, FinishReason, Message, Part, Role, Tool, ToolCall, ToolChoice,
};

/// Members the mock accepts but does not interpret are kept for strictness' sake.
#[allow(dead_code)]
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ConverseInput {
    messages: Option<Vec<MessageIn>>,
    system: Option<Vec<SystemIn>>,
    inference_config: Option<InferenceConfigIn>,
    tool_config: Option<ToolConfigIn>,
    guardrail_config: Option<Value>,
    additional_model_request_fields: Option<Value>,
    prompt_variables: Option<Value>,
    additional_model_response_field_paths: Option<Vec<String>>,
    request_metadata: Option<BTreeMap<String, String>>,
    performance_config: Option<Value>,
    service_tier: Option<Value>,
    output_config: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MessageIn {
    role: RoleIn,
    content: Vec<ContentIn>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum RoleIn {
    User,
    Assistant,
}

/// The `ContentBlock` union. Members the mock does not answer about are still accepted.
#[allow(dead_code)]
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
enum ContentIn {
    Text(String),
    Image(ImageIn),
    ToolUse(ToolUseIn),
    ToolResult(ToolResultIn),
    Document(Value),
    Video(Value),
    Audio(Value),
    GuardContent(Value),
    CachePoint(CachePointIn),
    ReasoningContent(Value),
    CitationsContent(Value),
    SearchResult(Value),
}

#[allow(dead_code)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ImageIn {
    format: ImageFormat,
    source: ImageSourceIn,
}

#[allow(dead_code)]
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum ImageFormat {
    Png,
    Jpeg,
    Gif,
    Webp,
}

#[allow(dead_code)]
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
enum ImageSourceIn {
    /// A blob: base64 in restJson.
    Bytes(String),
    S3Location(Value),
}

#[allow(dead_code)]
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ToolUseIn {
    tool_use_id: String,
    name: String,
    input: Value,
    #[serde(rename = "type")]
    kind: Option<String>,
}

#[allow(dead_code)]
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ToolResultIn {
    tool_use_id: String,
    content: Vec<ToolResultContentIn>,
    status: Option<ToolResultStatus>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

#[allow(dead_code)]
#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
enum ToolResultStatus {
    Success,
    Error,
}

#[allow(dead_code)]
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
enum ToolResultContentIn {
    Json(Value),
    Text(String),
    Image(ImageIn),
    Document(Value),
    Video(Value),
    SearchResult(Value),
}

#[allow(dead_code)]
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
enum SystemIn {
    Text(String),
    GuardContent(Value),
    CachePoint(CachePointIn),
}

#[allow(dead_code)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CachePointIn {
    #[serde(rename = "type")]
    kind: String,
    ttl: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct InferenceConfigIn {
    max_tokens: Option<i64>,
    temperature: Option<f64>,
    top_p: Option<f64>,
    stop_sequences: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ToolConfigIn {
    tools: Vec<ToolIn>,
    tool_choice: Option<ToolChoiceIn>,
}

#[allow(dead_code)]
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
enum ToolIn {
    ToolSpec(ToolSpecIn),
    SystemTool(Value),
    CachePoint(CachePointIn),
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ToolSpecIn {
    name: String,
    description: Option<String>,
    input_schema: InputSchemaIn,
    strict: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
enum InputSchemaIn {
    Json(Value),
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
enum ToolChoiceIn {
    Auto(Empty),
    Any(Empty),
    Tool(SpecificTool),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Empty {}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SpecificTool {
    name: String,
}

/// A failed check, worded as Bedrock's `ValidationException`.
pub(crate) type Invalid = String;

fn bound(field: &str, value: f64) -> Result<(), Invalid> {
    if (0.0..=1.0).contains(&value) {
        Ok(())
    } else {
        Err(format!(
            "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: Member must have value between 0 and 1"
        ))
    }
}

fn valid_tool_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn valid_base64(data: &str) -> bool {
    !data.is_empty()
        && data.len().is_multiple_of(4)
        && data
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
}

fn check_image(image: &ImageIn, at: &str) -> Result<(), Invalid> {
    match &image.source {
        ImageSourceIn::Bytes(data) if !valid_base64(data) => Err(format!(
            "Invalid base64 in the image bytes at {at}: restJson blobs are base64."
        )),
        _ => Ok(()),
    }
}

/// Checks the input as Bedrock does and turns it into the canonical request the synthesizer
/// answers.
pub(crate) fn to_canonical(
    input: ConverseInput,
    model: &str,
    stream: bool,
) -> Result<ChatRequest, Invalid> {
    let mut req = ChatRequest {
        model: model.to_owned(),
        n: 1,
        stream,
        include_usage: true,
        ..ChatRequest::default()
    };
    for block in input.system.unwrap_or_default() {
        if let SystemIn::Text(text) = block {
            if text.trim().is_empty() {
                return Err("The text field in the SystemContentBlock is blank.".into());
            }
            req.messages.push(Message::text(Role::System, text));
        }
    }
    let tools_declared = input.tool_config.is_some();
    let messages = input.messages.unwrap_or_default();
    if messages.first().map(|m| m.role) != Some(RoleIn::User) {
        return Err("A conversation must start with a user message. Try again with a conversation that starts with a user message.".into());
    }
    let mut previous_tool_uses: Vec<String> = Vec::new();
    let mut last_role = None;
    for (i, m) in messages.into_iter().enumerate() {
        if last_role == Some(m.role) {
            return Err("A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.".into());
        }
        last_role = Some(m.role);
        if m.content.is_empty() {
            return Err(format!(
                "The content field in the Message object at messages.{i} is empty. Add a ContentBlock object to the content field and try again."
            ));
        }
        let role = match m.role {
            RoleIn::User => Role::User,
            RoleIn::Assistant => Role::Assistant,
        };
        let mut turn = Message {
            role,
            content: Vec::new(),
            tool_calls: Vec::new(),
            tool_call_id: None,
            name: None,
        };
        let mut results = Vec::new();
        let mut uses = Vec::new();
        for (j, block) in m.content.into_iter().enumerate() {
            let at = format!("messages.{i}.content.{j}");
            match block {
                ContentIn::Text(text) if text.trim().is_empty() => {
                    return Err(format!(
                        "The text field in the ContentBlock object at {at} is blank. Add text to the text field, and try again."
                    ));
                }
                ContentIn::Text(text) => turn.content.push(Part::Text { text }),
                ContentIn::Image(image) => {
                    check_image(&image, &at)?;
                    turn.content.push(Part::Image {
                        url: "data:image/png;base64,AAAA".into(),
                        detail: None,
                    });
                }
                ContentIn::ToolUse(_) | ContentIn::ToolResult(_) if !tools_declared => {
                    return Err("The toolConfig field must be defined when using toolUse and toolResult content blocks.".into());
                }
                ContentIn::ToolUse(tool) if role == Role::Assistant => {
                    uses.push(tool.tool_use_id.clone());
                    turn.tool_calls.push(ToolCall {
                        id: tool.tool_use_id,
                        name: tool.name,
                        arguments: tool.input.to_string(),
                    });
                }
                ContentIn::ToolResult(result) if role == Role::User => {
                    if !previous_tool_uses.contains(&result.tool_use_id) {
                        return Err(format!(
                            "The toolUseId {} at {at} does not match any toolUse block in the previous turn.",
                            result.tool_use_id
                        ));
                    }
                    results.push(tool_result_message(result, &at)?);
                }
                ContentIn::ToolUse(_) | ContentIn::ToolResult(_) => {
                    return Err(format!(
                        "{at}: toolUse blocks belong to assistant turns and toolResult blocks to user turns."
                    ));
                }
                ContentIn::CachePoint(point) if point.kind != "default" => {
                    return Err(format!("{at}: cachePoint type must be \"default\"."));
                }
                _ => {}
            }
        }
        previous_tool_uses = uses;
        req.messages.extend(results);
        if !turn.content.is_empty() || !turn.tool_calls.is_empty() {
            req.messages.push(turn);
        }
    }
    if let Some(config) = input.inference_config {
        if let Some(max) = config.max_tokens {
            req.max_tokens = Some(u32::try_from(max).ok().filter(|m| *m >= 1).ok_or_else(|| {
                format!("1 validation error detected: Value '{max}' at 'inferenceConfig.maxTokens' failed to satisfy constraint: Member must have value greater than or equal to 1")
            })?);
        }
        if let Some(t) = config.temperature {
            bound("inferenceConfig.temperature", t)?;
            req.temperature = Some(t);
        }
        if let Some(p) = config.top_p {
            bound("inferenceConfig.topP", p)?;
            req.top_p = Some(p);
        }
        let stops = config.stop_sequences.unwrap_or_default();
        if stops.iter().any(String::is_empty) || stops.len() > 2500 {
            return Err("stopSequences must hold at most 2500 non-empty strings.".into());
        }
        req.stop = stops;
    }
    if let Some(config) = input.tool_config {
        if config.tools.is_empty() {
            return Err("1 validation error detected: Value '[]' at 'toolConfig.tools' failed to satisfy constraint: Member must have length greater than or equal to 1".into());
        }
        for tool in config.tools {
            let ToolIn::ToolSpec(spec) = tool else {
                continue;
            };
            if !valid_tool_name(&spec.name) {
                return Err(format!(
                    "1 validation error detected: Value '{}' at 'toolConfig.tools.member.toolSpec.name' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_-]+",
                    spec.name
                ));
            }
            let InputSchemaIn::Json(schema) = spec.input_schema;
            if schema.get("type").and_then(Value::as_str) != Some("object") {
                return Err(format!(
                    "The input schema of tool {} must be a JSON Schema of type object.",
                    spec.name
                ));
            }
            req.tools.push(Tool {
                name: spec.name,
                description: spec.description,
                parameters: schema,
                strict: spec.strict,
            });
        }
        req.tool_choice = match config.tool_choice {
            None => None,
            Some(ToolChoiceIn::Auto(_)) => Some(ToolChoice::Auto),
            Some(ToolChoiceIn::Any(_)) => Some(ToolChoice::Required),
            Some(ToolChoiceIn::Tool(SpecificTool { name })) => {
                if !req.tools.iter().any(|t| t.name == name) {
                    return Err(format!(
                        "The tool {name} named in toolChoice is not in toolConfig.tools."
                    ));
                }
                Some(ToolChoice::Function(name))
            }
        };
    }
    Ok(req)
}

/// A `toolResult` block as the canonical tool message answering its call.
fn tool_result_message(result: ToolResultIn, at: &str) -> Result<Message, Invalid> {
    let mut text = String::new();
    for (k, part) in result.content.into_iter().enumerate() {
        match part {
            ToolResultContentIn::Text(t) => text.push_str(&t),
            ToolResultContentIn::Json(v) => text.push_str(&v.to_string()),
            ToolResultContentIn::Image(image) => check_image(&image, &format!("{at}.content.{k}"))?,
            _ => {}
        }
    }
    Ok(Message {
        role: Role::Tool,
        content: vec![Part::Text { text }],
        tool_calls: Vec::new(),
        tool_call_id: Some(result.tool_use_id),
        name: None,
    })
}

/// `stopReason` for a finished answer.
pub(crate) fn stop_reason(reason: FinishReason) -> &'static str {
    match reason {
        FinishReason::Stop => "end_turn",
        FinishReason::Length => "max_tokens",
        FinishReason::ToolCalls => "tool_use",
        FinishReason::ContentFilter => "content_filtered",
    }
}

/// `TokenUsage` of an answer (the mock caches nothing).
pub(crate) fn usage(resp: &ChatResponse) -> Value {
    json!({
        "inputTokens": resp.usage.input_tokens,
        "outputTokens": resp.usage.output_tokens,
        "totalTokens": resp.usage.input_tokens + resp.usage.output_tokens,
    })
}

/// The Converse response body for a synthesized answer.
pub(crate) fn converse_output(resp: &ChatResponse, latency_ms: u64) -> Value {
    let (content, reason) = match resp.choices.first() {
        Some(choice) => {
            let mut blocks: Vec<Value> = choice
                .message
                .content
                .iter()
                .filter_map(|p| match p {
                    Part::Text { text } if !text.is_empty() => Some(json!({ "text": text })),
                    _ => None,
                })
                .collect();
            blocks.extend(choice.message.tool_calls.iter().map(|c| {
                json!({"toolUse": {
                    "toolUseId": c.id,
                    "name": c.name,
                    "input": serde_json::from_str::<Value>(&c.arguments).unwrap_or_default(),
                }})
            }));
            (blocks, choice.finish_reason)
        }
        None => (Vec::new(), FinishReason::Stop),
    };
    json!({
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": stop_reason(reason),
        "usage": usage(resp),
        "metrics": {"latencyMs": latency_ms},
    })
}

/// Titan Text Embeddings V2's `InvokeModel` body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct TitanEmbedIn {
    pub input_text: String,
    pub dimensions: Option<u32>,
    /// Accepted; the mock's vectors are always unit length.
    #[allow(dead_code)]
    pub normalize: Option<bool>,
    pub embedding_types: Option<Vec<String>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TitanEmbedOut {
    pub embedding: Vec<f32>,
    pub input_text_token_count: u64,
    pub embeddings_by_type: BTreeMap<&'static str, Vector>,
}

/// One entry of `embeddingsByType`; f32s stay f32 on the wire.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub(crate) enum Vector {
    Float(Vec<f32>),
    Binary(Vec<u8>),
}

/// Checks a Titan body as the model does; messages follow its `Malformed input request`.
pub(crate) fn check_titan(input: &TitanEmbedIn) -> Result<(), Invalid> {
    if input.input_text.is_empty() {
        return Err("Malformed input request: #/inputText: expected minLength: 1, actual: 0, please reformat your input and try again.".into());
    }
    if let Some(d) = input.dimensions
        && ![256, 512, 1024].contains(&d)
    {
        return Err(format!(
            "Malformed input request: #/dimensions: {d} is not a valid enum value, please reformat your input and try again."
        ));
    }
    for t in input.embedding_types.iter().flatten() {
        if t != "float" && t != "binary" {
            return Err(format!(
                "Malformed input request: #/embeddingTypes: {t} is not a valid enum value, please reformat your input and try again."
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "wire_tests.rs"]
mod tests;
