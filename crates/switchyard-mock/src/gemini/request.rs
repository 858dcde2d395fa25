//! Checks a Gemini `GenerateContentRequest` the way the real API does (roles, the part oneof,
//! function-call turn order, tool and generation settings) and turns it into the canonical
//! request the synthesiser answers. Errors are the API's `INVALID_ARGUMENT` messages.

use super::schema::{json_schema_from_gemini, valid_base64};
use super::wire::{Content, GenerateContentRequest, GenerationConfig, Part, Tool as WireTool};
use serde_json::json;
use switchyard_protocol::{
    ChatRequest, Message, Part as CanonicalPart, ResponseFormat, Role, Tool, ToolCall, ToolChoice,
};

/// A checked request: the canonical form, and whether the answer is a bare enum value
/// (`text/x.enum`).
pub struct Checked {
    pub req: ChatRequest,
    pub enum_mode: bool,
}

const HARM_CATEGORIES: &[&str] = &[
    "HARM_CATEGORY_UNSPECIFIED",
    "HARM_CATEGORY_HARASSMENT",
    "HARM_CATEGORY_HATE_SPEECH",
    "HARM_CATEGORY_SEXUALLY_EXPLICIT",
    "HARM_CATEGORY_DANGEROUS_CONTENT",
    "HARM_CATEGORY_CIVIC_INTEGRITY",
];
const THRESHOLDS: &[&str] = &[
    "HARM_BLOCK_THRESHOLD_UNSPECIFIED",
    "BLOCK_LOW_AND_ABOVE",
    "BLOCK_MEDIUM_AND_ABOVE",
    "BLOCK_ONLY_HIGH",
    "BLOCK_NONE",
    "OFF",
];

/// Validates `body` for `model` and builds the canonical request.
pub fn check(model: &str, body: GenerateContentRequest, stream: bool) -> Result<Checked, String> {
    if body.contents.is_empty() {
        return Err("* GenerateContentRequest.contents: contents is not specified".into());
    }
    for s in &body.safety_settings {
        if !HARM_CATEGORIES.contains(&s.category.as_str()) {
            return Err(format!(
                "Invalid value at 'safety_settings.category' ({})",
                s.category
            ));
        }
        if !THRESHOLDS.contains(&s.threshold.as_str()) {
            return Err(format!(
                "Invalid value at 'safety_settings.threshold' ({})",
                s.threshold
            ));
        }
    }
    let mut messages = Vec::new();
    if let Some(system) = &body.system_instruction {
        messages.push(system_message(system)?);
    }
    messages.extend(conversation(&body.contents)?);
    let tools = tools(&body.tools)?;
    let tool_choice = tool_choice(&body, &tools)?;
    let mut req = ChatRequest {
        model: model.to_owned(),
        messages,
        tools,
        tool_choice,
        stream,
        include_usage: true,
        n: 1,
        ..ChatRequest::default()
    };
    let enum_mode = match &body.generation_config {
        Some(config) => generation(config, &mut req)?,
        None => false,
    };
    Ok(Checked { req, enum_mode })
}

fn system_message(system: &Content) -> Result<Message, String> {
    let mut text = Vec::new();
    for part in &system.parts {
        match &part.text {
            Some(t) if part.data_fields() == 1 => text.push(t.as_str()),
            _ => {
                return Err(
                    "* GenerateContentRequest.system_instruction: only text parts are supported"
                        .into(),
                );
            }
        }
    }
    Ok(Message::text(Role::System, text.join("\n")))
}

fn part_checks(i: usize, j: usize, part: &Part) -> Result<(), String> {
    let at = format!("* GenerateContentRequest.contents[{i}].parts[{j}]");
    if part.data_fields() != 1 {
        return Err(format!(
            "{at}.data: required oneof field 'data' must have one initialized field"
        ));
    }
    if part.text.as_deref() == Some("") {
        return Err("Unable to submit request because it has an empty text parameter. Add a value to the parameter and try again.".into());
    }
    if let Some(sig) = &part.thought_signature
        && !valid_base64(sig)
    {
        return Err(format!(
            "Invalid value at 'contents[{i}].parts[{j}].thought_signature' (TYPE_BYTES), Base64 decoding failed for \"{sig}\""
        ));
    }
    if let Some(blob) = &part.inline_data {
        if blob.mime_type.is_empty() {
            return Err(format!("{at}.inline_data.mime_type: mime_type is required"));
        }
        if !valid_base64(&blob.data) {
            return Err(format!(
                "Invalid value at 'contents[{i}].parts[{j}].inline_data.data' (TYPE_BYTES), Base64 decoding failed"
            ));
        }
    }
    Ok(())
}

/// The turns as canonical messages, enforcing the function-calling turn order: a turn of
/// function responses follows a turn of calls, one response per call.
fn conversation(contents: &[Content]) -> Result<Vec<Message>, String> {
    let mut out = Vec::new();
    // The calls of the previous model turn: (id, name, answered).
    let mut pending: Vec<(String, String, bool)> = Vec::new();
    for (i, content) in contents.iter().enumerate() {
        if content.parts.is_empty() {
            return Err(format!(
                "* GenerateContentRequest.contents[{i}].parts: contents.parts must not be empty."
            ));
        }
        for (j, part) in content.parts.iter().enumerate() {
            part_checks(i, j, part)?;
        }
        match content.role.as_deref().unwrap_or("user") {
            "model" => {
                if content.parts.iter().any(|p| p.function_response.is_some()) {
                    return Err("Please ensure that function response turn comes immediately after a function call turn.".into());
                }
                let mut message = Message::text(Role::Assistant, joined_text(&content.parts));
                pending.clear();
                for call in content
                    .parts
                    .iter()
                    .filter_map(|p| p.function_call.as_ref())
                {
                    let id = call
                        .id
                        .clone()
                        .unwrap_or_else(|| format!("mock-call-{i}-{}", pending.len()));
                    pending.push((id.clone(), call.name.clone(), false));
                    message.tool_calls.push(ToolCall {
                        id,
                        name: call.name.clone(),
                        arguments: serde_json::Value::Object(call.args.clone().unwrap_or_default())
                            .to_string(),
                    });
                }
                if message.joined_text().is_empty() {
                    message.content.clear();
                }
                out.push(message);
            }
            "user" => {
                if content.parts.iter().any(|p| p.function_call.is_some()) {
                    return Err("Please ensure that function call turn comes immediately after a user turn or after a function response turn.".into());
                }
                let responses: Vec<_> = content
                    .parts
                    .iter()
                    .filter_map(|p| p.function_response.as_ref())
                    .collect();
                if !responses.is_empty() {
                    if pending.is_empty() {
                        return Err("Please ensure that function response turn comes immediately after a function call turn.".into());
                    }
                    if responses.len() != pending.len() {
                        return Err("Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn.".into());
                    }
                    for response in responses {
                        let slot = pending.iter_mut().find(|(id, name, answered)| {
                            !*answered
                                && *name == response.name
                                && response.id.as_ref().is_none_or(|rid| rid == id)
                        });
                        let Some((id, _, answered)) = slot else {
                            return Err(format!(
                                "function response \"{}\" answers no function call of the previous turn",
                                response.name
                            ));
                        };
                        *answered = true;
                        out.push(Message {
                            role: Role::Tool,
                            content: vec![CanonicalPart::Text {
                                text: serde_json::Value::Object(response.response.clone())
                                    .to_string(),
                            }],
                            tool_calls: Vec::new(),
                            tool_call_id: Some(id.clone()),
                            name: Some(response.name.clone()),
                        });
                    }
                }
                pending.clear();
                let mut message = Message::text(Role::User, "");
                message.content = user_parts(&content.parts);
                if !message.content.is_empty() {
                    out.push(message);
                }
            }
            other => {
                return Err(format!(
                    "Please use a valid role: user, model. (got \"{other}\")"
                ));
            }
        }
    }
    Ok(out)
}

fn joined_text(parts: &[Part]) -> String {
    parts
        .iter()
        .filter(|p| p.thought != Some(true))
        .filter_map(|p| p.text.as_deref())
        .collect()
}

fn user_parts(parts: &[Part]) -> Vec<CanonicalPart> {
    parts
        .iter()
        .filter_map(|p| {
            if let Some(text) = &p.text {
                Some(CanonicalPart::Text { text: text.clone() })
            } else if let Some(blob) = &p.inline_data {
                Some(CanonicalPart::Image {
                    url: format!("data:{};base64,{}", blob.mime_type, blob.data),
                    detail: None,
                })
            } else {
                p.file_data.as_ref().map(|f| CanonicalPart::Image {
                    url: f.file_uri.clone(),
                    detail: None,
                })
            }
        })
        .collect()
}

/// Function names: a letter or underscore, then letters, digits, `_ . : -`, at most 128.
fn valid_function_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.len() <= 128
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-'))
}

fn tools(tools: &[WireTool]) -> Result<Vec<Tool>, String> {
    let mut out: Vec<Tool> = Vec::new();
    for (t, tool) in tools.iter().enumerate() {
        for (f, decl) in tool.function_declarations.iter().enumerate() {
            let at = format!("tools[{t}].function_declarations[{f}]");
            if !valid_function_name(&decl.name) {
                return Err(format!(
                    "* GenerateContentRequest.{at}.name: Invalid function name. Must start with a letter or an underscore. Must be alphameric (a-z, A-Z, 0-9), underscores (_), dots (.), colons (:) or dashes (-), with a maximum length of 128."
                ));
            }
            if out.iter().any(|o| o.name == decl.name) {
                return Err(format!(
                    "* GenerateContentRequest.{at}.name: Duplicate function declaration found: {}",
                    decl.name
                ));
            }
            let parameters = match (&decl.parameters, &decl.parameters_json_schema) {
                (Some(_), Some(_)) => {
                    return Err(format!(
                        "* GenerateContentRequest.{at}: parameters and parameters_json_schema are mutually exclusive"
                    ));
                }
                (Some(schema), None) => {
                    json_schema_from_gemini(schema, &format!("{at}.parameters"), true)?
                }
                (None, Some(schema)) if schema.is_object() => schema.clone(),
                (None, Some(_)) => {
                    return Err(format!(
                        "* GenerateContentRequest.{at}.parameters_json_schema: must be a JSON object"
                    ));
                }
                (None, None) => json!({"type": "object", "properties": {}}),
            };
            out.push(Tool {
                name: decl.name.clone(),
                description: decl.description.clone(),
                parameters,
                strict: None,
            });
        }
    }
    Ok(out)
}

fn tool_choice(
    body: &GenerateContentRequest,
    tools: &[Tool],
) -> Result<Option<ToolChoice>, String> {
    let Some(config) = body
        .tool_config
        .as_ref()
        .and_then(|c| c.function_calling_config.as_ref())
    else {
        return Ok(None);
    };
    let mode = config.mode.as_deref().unwrap_or("MODE_UNSPECIFIED");
    let names = &config.allowed_function_names;
    if !names.is_empty() && !matches!(mode, "ANY" | "VALIDATED") {
        return Err("* GenerateContentRequest.tool_config.function_calling_config.allowed_function_names: allowed_function_names can only be set when mode is ANY or VALIDATED".into());
    }
    if let Some(unknown) = names.iter().find(|n| !tools.iter().any(|t| &t.name == *n)) {
        return Err(format!(
            "* GenerateContentRequest.tool_config.function_calling_config.allowed_function_names: function \"{unknown}\" is not declared"
        ));
    }
    Ok(Some(match mode {
        "MODE_UNSPECIFIED" | "AUTO" | "VALIDATED" => ToolChoice::Auto,
        "NONE" => ToolChoice::None,
        "ANY" => match names.as_slice() {
            [one] => ToolChoice::Function(one.clone()),
            _ => ToolChoice::Required,
        },
        other => {
            return Err(format!(
                "Invalid value at 'tool_config.function_calling_config.mode' (type.googleapis.com/google.ai.generativelanguage.v1beta.FunctionCallingConfig.Mode), \"{other}\""
            ));
        }
    }))
}

/// Applies `generationConfig`; true when the answer must be a bare enum value.
fn generation(config: &GenerationConfig, req: &mut ChatRequest) -> Result<bool, String> {
    let at = "* GenerateContentRequest.generation_config";
    if let Some(n) = config.candidate_count {
        if !(1..=8).contains(&n) {
            return Err(format!(
                "{at}.candidate_count: must be between 1 and 8, got {n}"
            ));
        }
        req.n = n as u32;
    }
    if let Some(max) = config.max_output_tokens {
        if max < 1 {
            return Err(format!(
                "{at}.max_output_tokens: must be positive, got {max}"
            ));
        }
        req.max_tokens = Some(max as u32);
    }
    if let Some(t) = config.temperature {
        if !(0.0..=2.0).contains(&t) {
            return Err(format!("{at}.temperature: must be in [0.0, 2.0], got {t}"));
        }
        req.temperature = Some(t);
    }
    if let Some(p) = config.top_p {
        if !(0.0..=1.0).contains(&p) {
            return Err(format!("{at}.top_p: must be in [0.0, 1.0], got {p}"));
        }
        req.top_p = Some(p);
    }
    if config.stop_sequences.len() > 5 {
        return Err(format!(
            "{at}.stop_sequences: at most 5 stop sequences are allowed"
        ));
    }
    req.stop.clone_from(&config.stop_sequences);
    req.seed = config.seed.map(i64::from);
    if let Some(level) = config
        .thinking_config
        .as_ref()
        .and_then(|t| t.thinking_level.as_deref())
        && ![
            "THINKING_LEVEL_UNSPECIFIED",
            "MINIMAL",
            "LOW",
            "MEDIUM",
            "HIGH",
        ]
        .contains(&level)
    {
        return Err(format!(
            "Invalid value at 'generation_config.thinking_config.thinking_level', \"{level}\""
        ));
    }
    let mime = config.response_mime_type.as_deref().unwrap_or("text/plain");
    if !["text/plain", "application/json", "text/x.enum"].contains(&mime) {
        return Err(format!(
            "{at}.response_mime_type: allowed mimetypes are `text/plain`, `application/json`, and `text/x.enum`, got `{mime}`"
        ));
    }
    let schema = match (&config.response_schema, &config.response_json_schema) {
        (Some(_), Some(_)) => {
            return Err(format!(
                "{at}: response_schema and response_json_schema are mutually exclusive"
            ));
        }
        (Some(s), None) => Some(json_schema_from_gemini(
            s,
            "generation_config.response_schema",
            false,
        )?),
        (None, Some(s)) if mime != "application/json" => {
            let _ = s;
            return Err(format!(
                "{at}.response_mime_type: response_json_schema requires response_mime_type application/json"
            ));
        }
        (None, Some(s)) => Some(s.clone()),
        (None, None) => None,
    };
    let enum_mode = mime == "text/x.enum";
    req.response_format = match (mime, schema) {
        ("text/plain", Some(_)) => {
            return Err(format!(
                "{at}.response_mime_type: it must be set to `application/json` or `text/x.enum` when response_schema is set"
            ));
        }
        ("text/x.enum", schema) => {
            let values = schema
                .as_ref()
                .and_then(|s| s.get("enum"))
                .filter(|e| e.is_array());
            let Some(values) = values else {
                return Err(format!(
                    "{at}.response_schema: text/x.enum needs a STRING schema with enum values"
                ));
            };
            Some(ResponseFormat::JsonSchema {
                name: "enum".into(),
                schema: json!({"type": "string", "enum": values}),
                strict: None,
            })
        }
        ("application/json", Some(schema)) => Some(ResponseFormat::JsonSchema {
            name: "response".into(),
            schema,
            strict: None,
        }),
        ("application/json", None) => Some(ResponseFormat::JsonObject),
        _ => None,
    };
    Ok(enum_mode)
}
