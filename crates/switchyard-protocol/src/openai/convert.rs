//! OpenAI wire ↔ canonical conversions for chat requests, responses and usage (embeddings are
//! in `embedding.rs`).

use super::*;
use crate::excerpt::excerpt;

/// Parses a client's chat request into the canonical model, after [`validate_chat`], checking
/// each message against its role. Errors name the offending field (`messages[2].tool_call_id`)
/// and quote client text only as an [`excerpt`].
pub fn request_to_canonical(wire: ChatCompletionRequest) -> Result<ChatRequest, WireError> {
    validate_chat(&wire)?;
    let messages = wire
        .messages
        .into_iter()
        .enumerate()
        .map(|(i, m)| message_to_canonical(m, i))
        .collect::<Result<Vec<_>, _>>()?;
    let tools = wire
        .tools
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, t)| tool_to_canonical(t, i))
        .collect::<Result<Vec<_>, _>>()?;
    let tool_choice = wire.tool_choice.map(tool_choice_to_canonical).transpose()?;
    if let Some(ToolChoice::Function(name)) = &tool_choice
        && !tools.iter().any(|t| &t.name == name)
    {
        return Err(WireError::new(
            format!(
                "`tool_choice` names function \"{}\", which is not in `tools`",
                excerpt(name)
            ),
            "tool_choice",
        ));
    }
    if matches!(tool_choice, Some(ToolChoice::Required)) && tools.is_empty() {
        return Err(WireError::new(
            "`tool_choice` is \"required\" but no `tools` were given",
            "tool_choice",
        ));
    }
    let response_format = wire
        .response_format
        .map(response_format_to_canonical)
        .transpose()?;
    let n = wire.n.unwrap_or(1);
    let stop = match wire.stop {
        None => Vec::new(),
        Some(StopWire::One(s)) => vec![s],
        Some(StopWire::Many(v)) => v,
    };
    let stream = wire.stream.unwrap_or(false);
    let include_usage = wire
        .stream_options
        .as_ref()
        .and_then(|o| o.include_usage)
        .unwrap_or(false);
    if wire.stream_options.is_some() && !stream {
        return Err(WireError::new(
            "`stream_options` is only allowed when `stream` is true",
            "stream_options",
        ));
    }
    Ok(ChatRequest {
        model: wire.model,
        messages,
        tools,
        tool_choice,
        parallel_tool_calls: wire.parallel_tool_calls,
        response_format,
        max_tokens: wire.max_completion_tokens.or(wire.max_tokens),
        temperature: wire.temperature,
        top_p: wire.top_p,
        seed: wire.seed,
        stop,
        n,
        user: wire.user,
        metadata: wire.metadata.unwrap_or_default(),
        stream,
        include_usage,
        extra: wire.extra,
    })
}

fn message_to_canonical(m: ChatMessage, i: usize) -> Result<Message, WireError> {
    let at = |field: &str| format!("messages[{i}].{field}");
    let role = match m.role.as_str() {
        "system" | "developer" => Role::System,
        "user" => Role::User,
        "assistant" => Role::Assistant,
        "tool" => Role::Tool,
        other => {
            return Err(WireError::new(
                format!(
                    "unknown role \"{}\"; expected system, developer, user, assistant or tool",
                    excerpt(other)
                ),
                at("role"),
            ));
        }
    };
    let content = match m.content {
        None => Vec::new(),
        Some(MessageContent::Text(text)) => vec![Part::Text { text }],
        Some(MessageContent::Parts(parts)) => parts
            .into_iter()
            .enumerate()
            .map(|(j, p)| part_to_canonical(p, &at(&format!("content[{j}]"))))
            .collect::<Result<Vec<_>, _>>()?,
    };
    if role != Role::User && content.iter().any(|p| matches!(p, Part::Image { .. })) {
        return Err(WireError::new(
            "image parts are only allowed in user messages",
            at("content"),
        ));
    }
    let tool_calls = match m.tool_calls {
        Some(calls) if role != Role::Assistant && !calls.is_empty() => {
            return Err(WireError::new(
                "only assistant messages may carry `tool_calls`",
                at("tool_calls"),
            ));
        }
        Some(calls) => calls
            .into_iter()
            .map(|c| ToolCall {
                id: c.id,
                name: c.function.name,
                arguments: c.function.arguments,
            })
            .collect(),
        None => Vec::new(),
    };
    if role == Role::Tool && m.tool_call_id.as_deref().is_none_or(str::is_empty) {
        return Err(WireError::new(
            "tool messages need `tool_call_id`",
            at("tool_call_id"),
        ));
    }
    if content.is_empty() && tool_calls.is_empty() && role != Role::Assistant {
        return Err(WireError::new("`content` is required", at("content")));
    }
    Ok(Message {
        role,
        content,
        tool_calls,
        tool_call_id: if role == Role::Tool {
            m.tool_call_id
        } else {
            None
        },
        name: m.name,
    })
}

fn part_to_canonical(p: ContentPartWire, at: &str) -> Result<Part, WireError> {
    match (p.kind.as_str(), p.text, p.image_url) {
        ("text", Some(text), _) => Ok(Part::Text { text }),
        ("image_url", _, Some(img)) => Ok(Part::Image {
            url: img.url,
            detail: img.detail,
        }),
        ("text", None, _) => Err(WireError::new("text part needs `text`", at)),
        ("image_url", _, None) => Err(WireError::new("image part needs `image_url`", at)),
        (other, _, _) => Err(WireError::new(
            format!(
                "content part type \"{}\" is not supported; use text or image_url",
                excerpt(other)
            ),
            at,
        )),
    }
}

fn tool_to_canonical(t: ToolSpec, i: usize) -> Result<Tool, WireError> {
    if t.kind != "function" {
        return Err(WireError::new(
            format!(
                "tool type \"{}\" is not supported; only \"function\"",
                excerpt(&t.kind)
            ),
            format!("tools[{i}].type"),
        ));
    }
    let name = t.function.name;
    function_name(&name, format!("tools[{i}].function.name"))?;
    let parameters = t
        .function
        .parameters
        .unwrap_or_else(|| serde_json::json!({"type": "object", "properties": {}}));
    if !parameters.is_object() {
        return Err(WireError::new(
            "function parameters must be a JSON Schema object",
            format!("tools[{i}].function.parameters"),
        ));
    }
    Ok(Tool {
        name,
        description: t.function.description,
        parameters,
        strict: t.function.strict,
    })
}

/// A function name OpenAI accepts: a-z, A-Z, 0-9, `_` and `-`, 1 to 64 of them.
pub(crate) fn function_name(name: &str, param: String) -> Result<(), WireError> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(WireError::new(
            format!(
                "invalid function name \"{}\": use a-z, A-Z, 0-9, _ and -, at most 64",
                excerpt(name)
            ),
            param,
        ));
    }
    Ok(())
}

/// A `tool_choice` given as a mode (`auto`, `none`, `required`), as both OpenAI APIs write it.
pub(crate) fn tool_mode(mode: &str) -> Result<ToolChoice, WireError> {
    match mode {
        "auto" => Ok(ToolChoice::Auto),
        "none" => Ok(ToolChoice::None),
        "required" => Ok(ToolChoice::Required),
        other => Err(WireError::new(
            format!(
                "unknown tool_choice \"{}\"; expected auto, none, required or a named function",
                excerpt(other)
            ),
            "tool_choice",
        )),
    }
}

fn tool_choice_to_canonical(c: ToolChoiceWire) -> Result<ToolChoice, WireError> {
    match c {
        ToolChoiceWire::Mode(m) => tool_mode(&m),
        ToolChoiceWire::Named(n) if n.kind == "function" => {
            Ok(ToolChoice::Function(n.function.name))
        }
        ToolChoiceWire::Named(n) => Err(WireError::new(
            format!("tool_choice type \"{}\" is not supported", excerpt(&n.kind)),
            "tool_choice.type",
        )),
    }
}

fn response_format_to_canonical(f: ResponseFormatWire) -> Result<ResponseFormat, WireError> {
    match (f.kind.as_str(), f.json_schema) {
        ("text", _) => Ok(ResponseFormat::Text),
        ("json_object", _) => Ok(ResponseFormat::JsonObject),
        ("json_schema", Some(s)) => Ok(ResponseFormat::JsonSchema {
            name: s.name,
            schema: s
                .schema
                .unwrap_or_else(|| serde_json::json!({"type": "object"})),
            strict: s.strict,
        }),
        ("json_schema", None) => Err(WireError::new(
            "response_format of type json_schema needs `json_schema`",
            "response_format.json_schema",
        )),
        (other, _) => Err(WireError::new(
            format!(
                "unknown response_format type \"{}\"; expected text, json_object or json_schema",
                excerpt(other)
            ),
            "response_format.type",
        )),
    }
}

/// Builds the upstream request for an OpenAI-compatible provider.
pub fn request_from_canonical(req: &ChatRequest, upstream_model: &str) -> ChatCompletionRequest {
    ChatCompletionRequest {
        model: upstream_model.to_owned(),
        messages: req.messages.iter().map(message_from_canonical).collect(),
        tools: (!req.tools.is_empty()).then(|| {
            req.tools
                .iter()
                .map(|t| ToolSpec {
                    kind: "function".into(),
                    function: FunctionSpec {
                        name: t.name.clone(),
                        description: t.description.clone(),
                        parameters: Some(t.parameters.clone()),
                        strict: t.strict,
                    },
                })
                .collect()
        }),
        tool_choice: req.tool_choice.as_ref().map(|c| match c {
            ToolChoice::Auto => ToolChoiceWire::Mode("auto".into()),
            ToolChoice::None => ToolChoiceWire::Mode("none".into()),
            ToolChoice::Required => ToolChoiceWire::Mode("required".into()),
            ToolChoice::Function(name) => ToolChoiceWire::Named(NamedToolChoice {
                kind: "function".into(),
                function: NamedFunction { name: name.clone() },
            }),
        }),
        parallel_tool_calls: req.parallel_tool_calls,
        response_format: req.response_format.as_ref().map(|f| match f {
            ResponseFormat::Text => ResponseFormatWire {
                kind: "text".into(),
                json_schema: None,
            },
            ResponseFormat::JsonObject => ResponseFormatWire {
                kind: "json_object".into(),
                json_schema: None,
            },
            ResponseFormat::JsonSchema {
                name,
                schema,
                strict,
            } => ResponseFormatWire {
                kind: "json_schema".into(),
                json_schema: Some(JsonSchemaWire {
                    name: name.clone(),
                    schema: Some(schema.clone()),
                    strict: *strict,
                    description: None,
                }),
            },
        }),
        max_tokens: None,
        max_completion_tokens: req.max_tokens,
        temperature: req.temperature,
        top_p: req.top_p,
        seed: req.seed,
        stop: (!req.stop.is_empty()).then(|| StopWire::Many(req.stop.clone())),
        n: (req.n != 1).then_some(req.n),
        user: req.user.clone(),
        metadata: None,
        stream: req.stream.then_some(true),
        stream_options: req.stream.then_some(StreamOptions {
            include_usage: Some(true),
        }),
        extra: req.extra.clone(),
    }
}

fn message_from_canonical(m: &Message) -> ChatMessage {
    let role = match m.role {
        Role::System => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::Tool => "tool",
    };
    let only_text = m.content.iter().all(|p| matches!(p, Part::Text { .. }));
    let content = if m.content.is_empty() {
        None
    } else if only_text {
        Some(MessageContent::Text(m.joined_text()))
    } else {
        Some(MessageContent::Parts(
            m.content
                .iter()
                .map(|p| match p {
                    Part::Text { text } => ContentPartWire {
                        kind: "text".into(),
                        text: Some(text.clone()),
                        image_url: None,
                    },
                    Part::Image { url, detail } => ContentPartWire {
                        kind: "image_url".into(),
                        text: None,
                        image_url: Some(ImageUrl {
                            url: url.clone(),
                            detail: detail.clone(),
                        }),
                    },
                })
                .collect(),
        ))
    };
    ChatMessage {
        role: role.into(),
        content,
        name: m.name.clone(),
        tool_calls: (!m.tool_calls.is_empty())
            .then(|| m.tool_calls.iter().map(tool_call_to_wire).collect()),
        tool_call_id: m.tool_call_id.clone(),
        refusal: None,
    }
}

fn tool_call_to_wire(c: &ToolCall) -> ToolCallWire {
    ToolCallWire {
        id: c.id.clone(),
        kind: "function".into(),
        function: FunctionCall {
            name: c.name.clone(),
            arguments: c.arguments.clone(),
        },
    }
}

pub fn finish_reason_str(r: FinishReason) -> &'static str {
    match r {
        FinishReason::Stop => "stop",
        FinishReason::Length => "length",
        FinishReason::ToolCalls => "tool_calls",
        FinishReason::ContentFilter => "content_filter",
    }
}

pub fn finish_reason_parse(s: &str) -> FinishReason {
    match s {
        "length" => FinishReason::Length,
        "tool_calls" | "function_call" => FinishReason::ToolCalls,
        "content_filter" => FinishReason::ContentFilter,
        _ => FinishReason::Stop,
    }
}

pub fn usage_to_wire(u: &Usage) -> UsageWire {
    UsageWire {
        prompt_tokens: u.input_tokens,
        completion_tokens: u.output_tokens,
        total_tokens: u.total(),
        prompt_tokens_details: Some(PromptTokensDetails {
            cached_tokens: Some(u.cached_input_tokens),
        }),
        completion_tokens_details: Some(CompletionTokensDetails {
            reasoning_tokens: Some(u.reasoning_tokens),
        }),
    }
}

pub fn usage_from_wire(u: &UsageWire) -> Usage {
    Usage {
        input_tokens: u.prompt_tokens,
        output_tokens: u.completion_tokens,
        cached_input_tokens: u
            .prompt_tokens_details
            .as_ref()
            .and_then(|d| d.cached_tokens)
            .unwrap_or(0),
        cache_write_tokens: 0,
        reasoning_tokens: u
            .completion_tokens_details
            .as_ref()
            .and_then(|d| d.reasoning_tokens)
            .unwrap_or(0),
    }
}

/// The response a client of the OpenAI door gets. `model` is what the client asked for.
pub fn response_from_canonical(resp: &ChatResponse, model: &str) -> ChatCompletion {
    ChatCompletion {
        id: resp.id.clone(),
        object: "chat.completion".into(),
        created: resp.created,
        model: model.to_owned(),
        choices: resp
            .choices
            .iter()
            .map(|c| {
                let text = c.message.joined_text();
                CompletionChoice {
                    index: c.index,
                    message: ResponseMessage {
                        role: "assistant".into(),
                        content: (!text.is_empty() || c.message.tool_calls.is_empty())
                            .then_some(text),
                        tool_calls: (!c.message.tool_calls.is_empty())
                            .then(|| c.message.tool_calls.iter().map(tool_call_to_wire).collect()),
                        refusal: None,
                    },
                    finish_reason: Some(finish_reason_str(c.finish_reason).into()),
                    logprobs: None,
                }
            })
            .collect(),
        usage: Some(usage_to_wire(&resp.usage)),
        system_fingerprint: None,
    }
}

/// Reads an OpenAI-compatible upstream's answer.
pub fn response_to_canonical(wire: ChatCompletion) -> ChatResponse {
    ChatResponse {
        id: wire.id,
        model: wire.model,
        created: wire.created,
        choices: wire
            .choices
            .into_iter()
            .map(|c| Choice {
                index: c.index,
                message: Message {
                    role: Role::Assistant,
                    content: c
                        .message
                        .content
                        .filter(|t| !t.is_empty())
                        .map(|text| vec![Part::Text { text }])
                        .unwrap_or_default(),
                    tool_calls: c
                        .message
                        .tool_calls
                        .unwrap_or_default()
                        .into_iter()
                        .map(|t| ToolCall {
                            id: t.id,
                            name: t.function.name,
                            arguments: t.function.arguments,
                        })
                        .collect(),
                    tool_call_id: None,
                    name: None,
                },
                finish_reason: finish_reason_parse(c.finish_reason.as_deref().unwrap_or("stop")),
            })
            .collect(),
        usage: wire.usage.as_ref().map(usage_from_wire).unwrap_or_default(),
    }
}
