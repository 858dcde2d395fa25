//! Anthropic wire ↔ canonical conversions for requests and responses.

use super::*;
use crate::excerpt::excerpt;

/// Parses a client's Messages request into the canonical model, after [`validate`]. Errors
/// quote client text only as an [`excerpt`].
pub fn request_to_canonical(wire: MessagesRequest) -> Result<ChatRequest, WireError> {
    validate(&wire)?;
    let mut messages = Vec::new();
    if let Some(system) = wire.system {
        let text = match system {
            SystemPrompt::Text(t) => t,
            SystemPrompt::Blocks(blocks) => blocks
                .into_iter()
                .map(|b| b.text)
                .collect::<Vec<_>>()
                .join("\n\n"),
        };
        messages.push(Message::text(Role::System, text));
    }
    for (i, m) in wire.messages.into_iter().enumerate() {
        input_message_to_canonical(m, i, &mut messages)?;
    }
    let tools = wire
        .tools
        .unwrap_or_default()
        .into_iter()
        .map(|t| Tool {
            name: t.name,
            description: t.description,
            parameters: t.input_schema,
            strict: None,
        })
        .collect::<Vec<_>>();
    let mut parallel_tool_calls = None;
    let tool_choice = match wire.tool_choice {
        None => None,
        Some(c) => {
            parallel_tool_calls = c.disable_parallel_tool_use.map(|d| !d);
            Some(match (c.kind.as_str(), c.name) {
                ("auto", _) => ToolChoice::Auto,
                ("any", _) => ToolChoice::Required,
                ("none", _) => ToolChoice::None,
                ("tool", Some(name)) if tools.iter().any(|t| t.name == name) => {
                    ToolChoice::Function(name)
                }
                ("tool", Some(name)) => {
                    return Err(invalid(
                        format!(
                            "tool_choice.name: \"{}\" is not one of the tools",
                            excerpt(&name)
                        ),
                        "tool_choice.name",
                    ));
                }
                ("tool", None) => {
                    return Err(invalid(
                        "tool_choice.name: required when type is \"tool\"",
                        "tool_choice.name",
                    ));
                }
                (other, _) => {
                    return Err(invalid(
                        format!(
                            "tool_choice.type: unknown \"{}\"; expected auto, any, tool or none",
                            excerpt(other)
                        ),
                        "tool_choice.type",
                    ));
                }
            })
        }
    };
    let mut extra = Map::new();
    if let Some(k) = wire.top_k {
        extra.insert("top_k".into(), Value::from(k));
    }
    Ok(ChatRequest {
        model: wire.model,
        messages,
        tools,
        tool_choice,
        parallel_tool_calls,
        response_format: None,
        max_tokens: Some(wire.max_tokens),
        temperature: wire.temperature,
        top_p: wire.top_p,
        seed: None,
        stop: wire.stop_sequences.unwrap_or_default(),
        n: 1,
        user: wire.metadata.and_then(|m| m.user_id),
        metadata: Default::default(),
        stream: wire.stream.unwrap_or(false),
        include_usage: true,
        extra,
    })
}

fn input_message_to_canonical(
    m: InputMessage,
    i: usize,
    out: &mut Vec<Message>,
) -> Result<(), WireError> {
    let role = match m.role.as_str() {
        "user" => Role::User,
        "assistant" => Role::Assistant,
        other => {
            return Err(invalid(
                format!(
                    "messages.{i}.role: unknown role \"{}\"; expected user or assistant",
                    excerpt(other)
                ),
                format!("messages.{i}.role"),
            ));
        }
    };
    let blocks = match m.content {
        InputContent::Text(text) => vec![ContentBlock::Text { text }],
        InputContent::Blocks(blocks) => blocks,
    };
    let mut message = Message {
        role,
        content: Vec::new(),
        tool_calls: Vec::new(),
        tool_call_id: None,
        name: None,
    };
    for (j, block) in blocks.into_iter().enumerate() {
        let at = format!("messages.{i}.content.{j}");
        match block {
            ContentBlock::Text { text } => message.content.push(Part::Text { text }),
            ContentBlock::Image { source } if role == Role::User => {
                message.content.push(Part::Image {
                    url: match source {
                        ImageSource::Base64 { media_type, data } => {
                            format!("data:{media_type};base64,{data}")
                        }
                        ImageSource::Url { url } => url,
                    },
                    detail: None,
                })
            }
            ContentBlock::ToolUse { id, name, input } if role == Role::Assistant => {
                message.tool_calls.push(ToolCall {
                    id,
                    name,
                    arguments: input.to_string(),
                })
            }
            ContentBlock::ToolResult {
                tool_use_id,
                content,
                is_error,
            } if role == Role::User => {
                let text = match content {
                    None => String::new(),
                    Some(ToolResultContent::Text(t)) => t,
                    Some(ToolResultContent::Blocks(b)) => b
                        .into_iter()
                        .filter_map(|b| match b {
                            ContentBlock::Text { text } => Some(text),
                            _ => None,
                        })
                        .collect::<Vec<_>>()
                        .join("\n"),
                };
                let text = if is_error == Some(true) {
                    format!("Error: {text}")
                } else {
                    text
                };
                out.push(Message {
                    role: Role::Tool,
                    content: vec![Part::Text { text }],
                    tool_calls: Vec::new(),
                    tool_call_id: Some(tool_use_id),
                    name: None,
                });
            }
            ContentBlock::Thinking { .. } | ContentBlock::RedactedThinking { .. }
                if role == Role::Assistant => {}
            other => {
                let kind = serde_json::to_value(&other)
                    .ok()
                    .and_then(|v| v.get("type").and_then(Value::as_str).map(str::to_owned))
                    .unwrap_or_default();
                return Err(invalid(
                    format!(
                        "{at}: a {kind} block is not allowed in a {} message",
                        m.role
                    ),
                    at,
                ));
            }
        }
    }
    if !message.content.is_empty() || !message.tool_calls.is_empty() {
        out.push(message);
    }
    Ok(())
}

/// Builds the upstream request for the Anthropic provider. `max_tokens` is required by
/// Anthropic, so a request without one gets `default_max_tokens`.
pub fn request_from_canonical(
    req: &ChatRequest,
    upstream_model: &str,
    default_max_tokens: u32,
) -> MessagesRequest {
    let mut system = req.system_text();
    if let Some(instruction) = json_instruction(req.response_format.as_ref()) {
        system = Some(match system {
            Some(s) => format!("{s}\n\n{instruction}"),
            None => instruction,
        });
    }
    let mut messages: Vec<InputMessage> = Vec::new();
    for m in req.messages.iter().filter(|m| m.role != Role::System) {
        let (role, blocks) = match m.role {
            Role::Tool => (
                "user",
                vec![ContentBlock::ToolResult {
                    tool_use_id: m.tool_call_id.clone().unwrap_or_default(),
                    content: Some(ToolResultContent::Text(m.joined_text())),
                    is_error: None,
                }],
            ),
            Role::User => ("user", parts_to_blocks(&m.content)),
            Role::System | Role::Assistant => {
                let mut blocks = parts_to_blocks(&m.content);
                blocks.extend(m.tool_calls.iter().map(|c| {
                    ContentBlock::ToolUse {
                        id: c.id.clone(),
                        name: c.name.clone(),
                        input: serde_json::from_str(&c.arguments)
                            .ok()
                            .filter(Value::is_object)
                            .unwrap_or_else(|| Value::Object(Map::new())),
                    }
                }));
                ("assistant", blocks)
            }
        };
        // Anthropic refuses empty content (an OpenAI client's `"content": ""` beside its calls).
        if blocks.is_empty() {
            continue;
        }
        // Anthropic wants alternating turns: merge into the previous message of the same role.
        match messages.last_mut() {
            Some(last) if last.role == role => {
                if let InputContent::Blocks(existing) = &mut last.content {
                    existing.extend(blocks);
                }
            }
            _ => messages.push(InputMessage {
                role: role.into(),
                content: InputContent::Blocks(blocks),
            }),
        }
    }
    let tool_choice = req.tool_choice.as_ref().map(|c| {
        let (kind, name) = match c {
            ToolChoice::Auto => ("auto", None),
            ToolChoice::Required => ("any", None),
            ToolChoice::None => ("none", None),
            ToolChoice::Function(n) => ("tool", Some(n.clone())),
        };
        ToolChoiceWire {
            kind: kind.into(),
            name,
            disable_parallel_tool_use: (req.parallel_tool_calls == Some(false) && kind != "none")
                .then_some(true),
        }
    });
    MessagesRequest {
        model: upstream_model.to_owned(),
        max_tokens: req.max_tokens.unwrap_or(default_max_tokens),
        messages,
        system: system.map(SystemPrompt::Text),
        tools: (!req.tools.is_empty()).then(|| {
            req.tools
                .iter()
                .map(|t| ToolWire {
                    name: t.name.clone(),
                    description: t.description.clone(),
                    input_schema: t.parameters.clone(),
                })
                .collect()
        }),
        tool_choice,
        temperature: req.temperature.map(|t| t.min(1.0)),
        top_p: req.top_p,
        top_k: req
            .extra
            .get("top_k")
            .and_then(Value::as_u64)
            .and_then(|k| u32::try_from(k).ok()),
        stop_sequences: (!req.stop.is_empty()).then(|| req.stop.clone()),
        stream: req.stream.then_some(true),
        metadata: req.user.as_ref().map(|u| RequestMetadata {
            user_id: Some(u.clone()),
        }),
        extra: Map::new(),
    }
}

/// Providers without a native JSON mode are told in the system prompt.
pub fn json_instruction(format: Option<&ResponseFormat>) -> Option<String> {
    match format? {
        ResponseFormat::Text => None,
        ResponseFormat::JsonObject => Some(
            "Respond with a single valid JSON object and nothing else: no prose, no code fences."
                .into(),
        ),
        ResponseFormat::JsonSchema { schema, .. } => Some(format!(
            "Respond with a single valid JSON object that conforms to this JSON Schema, and nothing else: no prose, no code fences.\n{schema}"
        )),
    }
}

/// Anthropic's blocks for canonical parts; empty text parts are left out, as Anthropic refuses
/// empty text blocks.
fn parts_to_blocks(parts: &[Part]) -> Vec<ContentBlock> {
    parts
        .iter()
        .filter_map(|p| match p {
            Part::Text { text } if text.is_empty() => None,
            Part::Text { text } => Some(ContentBlock::Text { text: text.clone() }),
            Part::Image { url, .. } => Some(ContentBlock::Image {
                source: match parse_data_url(url) {
                    Some((media_type, data)) => ImageSource::Base64 {
                        media_type: media_type.into(),
                        data: data.into(),
                    },
                    None => ImageSource::Url { url: url.clone() },
                },
            }),
        })
        .collect()
}

/// Splits `data:<media type>;base64,<data>` into its media type and data.
pub fn parse_data_url(url: &str) -> Option<(&str, &str)> {
    let rest = url.strip_prefix("data:")?;
    let (meta, data) = rest.split_once(',')?;
    let media_type = meta.strip_suffix(";base64")?;
    Some((media_type, data))
}

/// The response a client of the Anthropic door gets. Anthropic has one choice: the first.
pub fn response_from_canonical(resp: &ChatResponse, model: &str) -> MessagesResponse {
    let (content, stop_reason) = match resp.choices.first() {
        Some(choice) => (
            message_to_blocks(&choice.message),
            Some(stop_reason_str(choice.finish_reason).to_owned()),
        ),
        None => (Vec::new(), Some("end_turn".to_owned())),
    };
    MessagesResponse {
        id: anthropic_id(&resp.id),
        kind: "message".into(),
        role: "assistant".into(),
        model: model.to_owned(),
        content,
        stop_reason,
        stop_sequence: None,
        usage: usage_to_wire(&resp.usage),
    }
}

/// Message ids on the Anthropic door start with `msg_`, as clients expect.
pub fn anthropic_id(id: &str) -> String {
    if id.starts_with("msg_") {
        id.to_owned()
    } else {
        format!("msg_{}", id.trim_start_matches("chatcmpl-"))
    }
}

fn message_to_blocks(m: &Message) -> Vec<ContentBlock> {
    let mut blocks: Vec<ContentBlock> = m
        .content
        .iter()
        .filter_map(|p| match p {
            Part::Text { text } if !text.is_empty() => {
                Some(ContentBlock::Text { text: text.clone() })
            }
            _ => None,
        })
        .collect();
    blocks.extend(m.tool_calls.iter().map(|c| {
        ContentBlock::ToolUse {
            id: c.id.clone(),
            name: c.name.clone(),
            input: serde_json::from_str(&c.arguments)
                .ok()
                .filter(Value::is_object)
                .unwrap_or_else(|| Value::Object(Map::new())),
        }
    }));
    blocks
}

/// Reads an Anthropic upstream's answer.
pub fn response_to_canonical(wire: MessagesResponse) -> ChatResponse {
    let mut message = Message {
        role: Role::Assistant,
        content: Vec::new(),
        tool_calls: Vec::new(),
        tool_call_id: None,
        name: None,
    };
    for block in wire.content {
        match block {
            ContentBlock::Text { text } => message.content.push(Part::Text { text }),
            ContentBlock::ToolUse { id, name, input } => message.tool_calls.push(ToolCall {
                id,
                name,
                arguments: input.to_string(),
            }),
            _ => {}
        }
    }
    ChatResponse {
        id: wire.id,
        model: wire.model,
        created: 0,
        choices: vec![Choice {
            index: 0,
            message,
            finish_reason: stop_reason_parse(wire.stop_reason.as_deref().unwrap_or("end_turn")),
        }],
        usage: usage_from_wire(&wire.usage),
    }
}
