//! Responses wire ↔ canonical: a `responses.create` request into a canonical chat request
//! (instructions first as a system message, input items as messages, tool calls and tool
//! results), and a canonical answer into a `Response` object. Errors name the offending field
//! (`input[2].call_id`) and quote client text only as an [`excerpt`].

use super::*;
use crate::canonical::*;
use crate::excerpt::excerpt;
use crate::openai::validate as ranges;
use crate::openai::{WireError, function_name};

/// Fields taken and ignored: hints about caching, billing and extra output that do not change
/// what the model is asked.
const IGNORED: [&str; 5] = [
    "include",
    "prompt_cache_key",
    "prompt_cache_retention",
    "service_tier",
    "stream_options",
];

/// Checks a client's request and turns it into the canonical chat request, with the
/// parameters its `Response` object repeats.
pub fn request_to_canonical(
    wire: CreateResponse,
) -> Result<(ChatRequest, ResponseParams), WireError> {
    not_taken(&wire)?;
    ranges::model(&wire.model)?;
    ranges::at_least_one("max_output_tokens", wire.max_output_tokens)?;
    ranges::between("temperature", wire.temperature, 0.0, 2.0)?;
    ranges::between("top_p", wire.top_p, 0.0, 1.0)?;
    if let Some(metadata) = &wire.metadata {
        ranges::check_metadata(metadata)?;
    }
    let user = wire.user.or(wire.safety_identifier);
    ranges::user(user.as_deref())?;

    let mut messages = Vec::new();
    if let Some(text) = &wire.instructions {
        messages.push(Message::text(Role::System, text.clone()));
    }
    match wire.input {
        None => return Err(WireError::new("`input` is required", "input")),
        Some(Input::Text(text)) if text.is_empty() => {
            return Err(WireError::new("`input` must not be empty", "input"));
        }
        Some(Input::Text(text)) => messages.push(Message::text(Role::User, text)),
        Some(Input::Items(items)) if items.is_empty() => {
            return Err(WireError::new(
                "`input` must hold at least one item",
                "input",
            ));
        }
        Some(Input::Items(items)) => {
            for (i, item) in items.into_iter().enumerate() {
                item_to_canonical(item, i, &mut messages)?;
            }
        }
    }

    let tools = wire.tools.unwrap_or_default();
    if tools.len() > ranges::TOOLS_MAX {
        return Err(WireError::new(
            format!("`tools` takes at most {} functions", ranges::TOOLS_MAX),
            "tools",
        ));
    }
    let tools = tools
        .into_iter()
        .enumerate()
        .map(|(i, t)| tool_to_canonical(t, i))
        .collect::<Result<Vec<_>, _>>()?;
    let tool_choice = wire.tool_choice.map(tool_choice_to_canonical).transpose()?;
    match &tool_choice {
        Some(ToolChoice::Function(name)) if !tools.iter().any(|t| &t.name == name) => {
            return Err(WireError::new(
                format!(
                    "`tool_choice` names function \"{}\", which is not in `tools`",
                    excerpt(name)
                ),
                "tool_choice.name",
            ));
        }
        Some(ToolChoice::Required) if tools.is_empty() => {
            return Err(WireError::new(
                "`tool_choice` is \"required\" but no `tools` were given",
                "tool_choice",
            ));
        }
        _ => {}
    }
    let response_format = match wire.text {
        None => None,
        Some(text) => text_to_canonical(text)?,
    };

    let req = ChatRequest {
        model: wire.model,
        messages,
        tools,
        tool_choice,
        parallel_tool_calls: wire.parallel_tool_calls,
        response_format,
        max_tokens: wire.max_output_tokens,
        temperature: wire.temperature,
        top_p: wire.top_p,
        seed: None,
        stop: Vec::new(),
        n: 1,
        user,
        metadata: wire.metadata.unwrap_or_default(),
        stream: wire.stream.unwrap_or(false),
        // A Responses answer always reports its usage.
        include_usage: true,
        extra: Map::new(),
    };
    let params = ResponseParams::of(&req, wire.instructions);
    Ok((req, params))
}

/// Refuses, by name, what this door does not take yet: state (`previous_response_id`,
/// `conversation`, `background`) and any other field of the API that would change the answer.
fn not_taken(wire: &CreateResponse) -> Result<(), WireError> {
    for (name, value) in &wire.extra {
        if value.is_null() || IGNORED.contains(&name.as_str()) {
            continue;
        }
        let message = match name.as_str() {
            "previous_response_id" | "conversation" => format!(
                "`{name}` is not supported yet: this gateway's Responses API keeps no state; \
                 send the whole conversation as `input` items"
            ),
            "background" if *value == Value::Bool(false) => continue,
            "background" => "`background` responses are not supported yet; \
                             send the request without `background`"
                .to_owned(),
            "truncation" if value.as_str() == Some("disabled") => continue,
            _ if is_param_name(name) => {
                format!("`{name}` is not supported yet by this gateway's Responses API")
            }
            // A key that is no parameter name may be anything the client typed: never quoted.
            _ => {
                return Err(WireError {
                    message: "the request has a field that is not a Responses API parameter".into(),
                    param: None,
                });
            }
        };
        return Err(WireError::new(message, name.clone()));
    }
    Ok(())
}

/// Whether `name` is spelled like an API parameter (`previous_response_id`): lowercase ASCII
/// letters, digits and `_`, at most 64.
fn is_param_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// One input item onto the canonical conversation `out`: a message, a function call (joined
/// to the assistant turn before it) or a function's output (answering a call made earlier).
fn item_to_canonical(item: InputItem, i: usize, out: &mut Vec<Message>) -> Result<(), WireError> {
    let at = |field: &str| format!("input[{i}].{field}");
    let required = |value: Option<String>, field: &str, kind: &str| {
        value.ok_or_else(|| WireError::new(format!("a `{kind}` item needs `{field}`"), at(field)))
    };
    match item.kind.as_deref().unwrap_or("message") {
        "message" => out.push(message_to_canonical(item, i)?),
        "function_call" => {
            let call = ToolCall {
                id: required(item.call_id, "call_id", "function_call")?,
                name: required(item.name, "name", "function_call")?,
                arguments: required(item.arguments, "arguments", "function_call")?,
            };
            match out.last_mut() {
                Some(last) if last.role == Role::Assistant => last.tool_calls.push(call),
                _ => out.push(Message {
                    role: Role::Assistant,
                    content: Vec::new(),
                    tool_calls: vec![call],
                    tool_call_id: None,
                    name: None,
                }),
            }
        }
        "function_call_output" => {
            let call_id = required(item.call_id, "call_id", "function_call_output")?;
            let made = out
                .iter()
                .flat_map(|m| m.tool_calls.iter())
                .any(|c| c.id == call_id);
            if !made {
                return Err(WireError::new(
                    format!(
                        "`function_call_output` answers call \"{}\", but no `function_call` item \
                         before it in `input` made that call",
                        excerpt(&call_id)
                    ),
                    at("call_id"),
                ));
            }
            let text = match item.output {
                None => {
                    return Err(WireError::new(
                        "a `function_call_output` item needs `output`",
                        at("output"),
                    ));
                }
                Some(Content::Text(text)) => text,
                Some(Content::Parts(parts)) => {
                    let mut text = String::new();
                    for (j, part) in parts.into_iter().enumerate() {
                        match part_to_canonical(part, &at(&format!("output[{j}]")))? {
                            Part::Text { text: t } => text.push_str(&t),
                            Part::Image { .. } => {
                                return Err(WireError::new(
                                    "image parts in a function's output are not supported yet",
                                    at(&format!("output[{j}]")),
                                ));
                            }
                        }
                    }
                    text
                }
            };
            out.push(Message {
                role: Role::Tool,
                content: vec![Part::Text { text }],
                tool_calls: Vec::new(),
                tool_call_id: Some(call_id),
                name: None,
            });
        }
        other => {
            return Err(WireError::new(
                format!(
                    "input item type \"{}\" is not supported; \
                     supported: message, function_call, function_call_output",
                    excerpt(other)
                ),
                at("type"),
            ));
        }
    }
    Ok(())
}

fn message_to_canonical(item: InputItem, i: usize) -> Result<Message, WireError> {
    let at = |field: &str| format!("input[{i}].{field}");
    let role = match item.role.as_deref() {
        Some("system" | "developer") => Role::System,
        Some("user") => Role::User,
        Some("assistant") => Role::Assistant,
        Some(other) => {
            return Err(WireError::new(
                format!(
                    "unknown role \"{}\"; expected user, assistant, system or developer",
                    excerpt(other)
                ),
                at("role"),
            ));
        }
        None => return Err(WireError::new("a message item needs `role`", at("role"))),
    };
    let content = match item.content {
        None => {
            return Err(WireError::new(
                "a message item needs `content`",
                at("content"),
            ));
        }
        Some(Content::Text(text)) => vec![Part::Text { text }],
        Some(Content::Parts(parts)) => parts
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
    Ok(Message {
        role,
        content,
        tool_calls: Vec::new(),
        tool_call_id: None,
        name: None,
    })
}

fn part_to_canonical(p: ContentPart, at: &str) -> Result<Part, WireError> {
    let needs = |field: &str| WireError::new(format!("a `{}` part needs `{field}`", p.kind), at);
    match p.kind.as_str() {
        "input_text" | "output_text" => p
            .text
            .clone()
            .map(|text| Part::Text { text })
            .ok_or_else(|| needs("text")),
        "refusal" => p
            .refusal
            .clone()
            .map(|text| Part::Text { text })
            .ok_or_else(|| needs("refusal")),
        "input_image" => p
            .image_url
            .clone()
            .map(|url| Part::Image {
                url,
                detail: p.detail.clone().filter(|d| d != "auto"),
            })
            .ok_or_else(|| needs("image_url")),
        other => Err(WireError::new(
            format!(
                "content part type \"{}\" is not supported; \
                 use input_text, output_text, refusal or input_image",
                excerpt(other)
            ),
            format!("{at}.type"),
        )),
    }
}

fn tool_to_canonical(t: ToolWire, i: usize) -> Result<Tool, WireError> {
    if t.kind != "function" {
        return Err(WireError::new(
            format!(
                "tool type \"{}\" is not supported yet; only \"function\"",
                excerpt(&t.kind)
            ),
            format!("tools[{i}].type"),
        ));
    }
    let name = t.name.ok_or_else(|| {
        WireError::new("a function tool needs `name`", format!("tools[{i}].name"))
    })?;
    function_name(&name, format!("tools[{i}].name"))?;
    let parameters = t
        .parameters
        .unwrap_or_else(|| serde_json::json!({"type": "object", "properties": {}}));
    if !parameters.is_object() {
        return Err(WireError::new(
            "function parameters must be a JSON Schema object",
            format!("tools[{i}].parameters"),
        ));
    }
    Ok(Tool {
        name,
        description: t.description,
        parameters,
        strict: t.strict,
    })
}

fn tool_choice_to_canonical(c: ToolChoiceWire) -> Result<ToolChoice, WireError> {
    match c {
        ToolChoiceWire::Mode(m) => crate::openai::tool_mode(&m),
        ToolChoiceWire::Named { kind, name } if kind == "function" => name
            .map(ToolChoice::Function)
            .ok_or_else(|| WireError::new("`tool_choice` needs `name`", "tool_choice.name")),
        ToolChoiceWire::Named { kind, .. } => Err(WireError::new(
            format!(
                "tool_choice type \"{}\" is not supported yet; only \"function\"",
                excerpt(&kind)
            ),
            "tool_choice.type",
        )),
    }
}

fn text_to_canonical(text: TextConfig) -> Result<Option<ResponseFormat>, WireError> {
    if text.verbosity.is_some() {
        return Err(WireError::new(
            "`text.verbosity` is not supported yet by this gateway's Responses API",
            "text.verbosity",
        ));
    }
    let Some(format) = text.format else {
        return Ok(None);
    };
    match format.kind.as_str() {
        "text" => Ok(Some(ResponseFormat::Text)),
        "json_object" => Ok(Some(ResponseFormat::JsonObject)),
        "json_schema" => {
            let name = format.name.ok_or_else(|| {
                WireError::new("a json_schema format needs `name`", "text.format.name")
            })?;
            function_name(&name, "text.format.name".into())?;
            let schema = format.schema.ok_or_else(|| {
                WireError::new("a json_schema format needs `schema`", "text.format.schema")
            })?;
            if !schema.is_object() {
                return Err(WireError::new(
                    "`text.format.schema` must be a JSON Schema object",
                    "text.format.schema",
                ));
            }
            Ok(Some(ResponseFormat::JsonSchema {
                name,
                schema,
                strict: format.strict,
            }))
        }
        other => Err(WireError::new(
            format!(
                "unknown text.format type \"{}\"; expected text, json_object or json_schema",
                excerpt(other)
            ),
            "text.format.type",
        )),
    }
}

/// The status a response ends with after `reason`, and why when it is incomplete.
pub(crate) fn ending(reason: FinishReason) -> (&'static str, Option<IncompleteDetails>) {
    let incomplete = |why: &str| {
        let details = IncompleteDetails {
            reason: why.to_owned(),
        };
        ("incomplete", Some(details))
    };
    match reason {
        FinishReason::Length => incomplete("max_output_tokens"),
        FinishReason::ContentFilter => incomplete("content_filter"),
        FinishReason::Stop | FinishReason::ToolCalls => ("completed", None),
    }
}

/// Canonical usage as Responses writes it.
pub(crate) fn usage_to_wire(u: &Usage) -> UsageWire {
    UsageWire {
        input_tokens: u.input_tokens,
        input_tokens_details: InputTokensDetails {
            cached_tokens: u.cached_input_tokens,
            cache_write_tokens: u.cache_write_tokens,
        },
        output_tokens: u.output_tokens,
        output_tokens_details: OutputTokensDetails {
            reasoning_tokens: u.reasoning_tokens,
        },
        total_tokens: u.total(),
    }
}

/// The `Response` object a client gets for a whole answer: the text as one message item, then
/// each tool call as a `function_call` item.
pub fn response_from_canonical(
    resp: &ChatResponse,
    params: &ResponseParams,
    ids: &ResponseIds,
) -> ResponseObject {
    let reason = resp
        .choices
        .first()
        .map_or(FinishReason::Stop, |c| c.finish_reason);
    let (status, incomplete_details) = ending(reason);
    let mut output = Vec::new();
    if let Some(choice) = resp.choices.first() {
        let text = choice.message.joined_text();
        if !text.is_empty() || choice.message.tool_calls.is_empty() {
            output.push(OutputItem::Message {
                id: ids.item("msg", output.len()),
                role: "assistant".into(),
                status: status.into(),
                content: vec![OutputContent::OutputText {
                    text,
                    annotations: Vec::new(),
                }],
            });
        }
        for call in &choice.message.tool_calls {
            output.push(OutputItem::FunctionCall {
                id: ids.item("fc", output.len()),
                call_id: call.id.clone(),
                name: call.name.clone(),
                arguments: call.arguments.clone(),
                status: status.into(),
            });
        }
    }
    ResponseObject {
        output,
        incomplete_details,
        usage: Some(usage_to_wire(&resp.usage)),
        ..params.response(ids, status)
    }
}
