//! The canonical model to Gemini's `contents`/`parts` and back: roles `user`/`model`, system
//! text as `systemInstruction`, tool calls as `functionCall`/`functionResponse` parts, JSON
//! Schemas passed verbatim (`parametersJsonSchema`, `responseJsonSchema`), usage and finish
//! reasons mapped to the canonical meaning.

use super::wire::{
    Blob, Candidate, Content, FileData, FunctionCall, FunctionCallingConfig, FunctionDeclaration,
    FunctionResponse, GenerateContentRequest, GenerateContentResponse, GenerationConfig, Part,
    Tool, ToolConfig, UsageMetadata,
};
use serde_json::{Value, json};
use switchyard_protocol::{
    ChatRequest, ChatResponse, Choice, ErrorKind, FinishReason, Message, ProviderError,
    ResponseFormat, Role, ToolCall, ToolChoice, Usage,
};

/// Ids the adapter made up for calls Gemini sent without one. They are never sent back.
pub const SYNTHETIC_ID_PREFIX: &str = "gcall_";

/// Gemini 3 rejects a replayed function call without the `thoughtSignature` it came with. The
/// canonical model cannot carry the signature, so replayed calls carry this value, which the
/// Gemini API documents as the one that skips the check (older models ignore it).
pub const SKIP_SIGNATURE: &str = "skip_thought_signature_validator";

fn bad_request(message: impl Into<String>) -> ProviderError {
    ProviderError::new(ErrorKind::BadRequest, message)
}

/// The request body for a canonical chat request.
pub fn request_from_canonical(req: &ChatRequest) -> Result<GenerateContentRequest, ProviderError> {
    let mut contents: Vec<Content> = Vec::new();
    for message in &req.messages {
        let (role, parts) = match message.role {
            Role::System => continue,
            Role::User => ("user", user_parts(message)?),
            Role::Assistant => ("model", model_parts(message)?),
            Role::Tool => ("user", vec![function_response(req, message)?]),
        };
        if parts.is_empty() {
            continue;
        }
        // Gemini wants turns to alternate: consecutive messages of one role become one turn
        // (several tool results answer one model turn together).
        match contents.last_mut() {
            Some(last) if last.role.as_deref() == Some(role) => last.parts.extend(parts),
            _ => contents.push(Content {
                role: Some(role.into()),
                parts,
            }),
        }
    }
    if contents.is_empty() {
        return Err(bad_request(
            "Gemini needs at least one user or assistant message with content",
        ));
    }
    let system_instruction = req.system_text().map(|text| Content {
        role: None,
        parts: vec![Part::text(text)],
    });
    let tools = if req.tools.is_empty() {
        Vec::new()
    } else {
        vec![Tool {
            function_declarations: req
                .tools
                .iter()
                .map(|t| FunctionDeclaration {
                    name: t.name.clone(),
                    description: t.description.clone(),
                    parameters_json_schema: Some(t.parameters.clone()),
                })
                .collect(),
        }]
    };
    let tool_config = (!req.tools.is_empty())
        .then(|| req.tool_choice.as_ref().map(tool_config))
        .flatten();
    let generation_config = generation_config(req)?;
    Ok(GenerateContentRequest {
        contents,
        system_instruction,
        tools,
        tool_config,
        generation_config: (!generation_config.is_empty()).then_some(generation_config),
    })
}

fn tool_config(choice: &ToolChoice) -> ToolConfig {
    let (mode, names) = match choice {
        ToolChoice::Auto => ("AUTO", Vec::new()),
        ToolChoice::None => ("NONE", Vec::new()),
        ToolChoice::Required => ("ANY", Vec::new()),
        ToolChoice::Function(name) => ("ANY", vec![name.clone()]),
    };
    ToolConfig {
        function_calling_config: FunctionCallingConfig {
            mode: mode.into(),
            allowed_function_names: names,
        },
    }
}

fn generation_config(req: &ChatRequest) -> Result<GenerationConfig, ProviderError> {
    let seed = req
        .seed
        .map(|s| {
            i32::try_from(s).map_err(|_| {
                bad_request(format!(
                    "Gemini seeds are 32-bit integers; {s} is out of range"
                ))
            })
        })
        .transpose()?;
    let (response_mime_type, response_json_schema) = match &req.response_format {
        None | Some(ResponseFormat::Text) => (None, None),
        Some(ResponseFormat::JsonObject) => (Some("application/json".to_owned()), None),
        Some(ResponseFormat::JsonSchema { schema, .. }) => {
            (Some("application/json".to_owned()), Some(schema.clone()))
        }
    };
    Ok(GenerationConfig {
        stop_sequences: req.stop.clone(),
        response_mime_type,
        response_json_schema,
        candidate_count: (req.n > 1).then_some(req.n),
        max_output_tokens: req.max_tokens,
        temperature: req.temperature,
        top_p: req.top_p,
        seed,
    })
}

fn user_parts(message: &Message) -> Result<Vec<Part>, ProviderError> {
    let mut parts = Vec::new();
    for part in &message.content {
        match part {
            switchyard_protocol::Part::Text { text } if text.is_empty() => {}
            switchyard_protocol::Part::Text { text } => parts.push(Part::text(text.clone())),
            switchyard_protocol::Part::Image { url, .. } => parts.push(image(url)?),
        }
    }
    Ok(parts)
}

/// `data:` URLs become `inlineData`; other URLs go by reference as `fileData`.
fn image(url: &str) -> Result<Part, ProviderError> {
    if let Some(rest) = url.strip_prefix("data:") {
        let (meta, data) = rest
            .split_once(',')
            .ok_or_else(|| bad_request("image data: URL has no comma before its data"))?;
        let mime = meta
            .strip_suffix(";base64")
            .ok_or_else(|| bad_request("Gemini takes inline images only as base64 data: URLs"))?;
        return Ok(Part {
            inline_data: Some(Blob {
                mime_type: if mime.is_empty() { "image/png" } else { mime }.to_owned(),
                data: data.to_owned(),
            }),
            ..Part::default()
        });
    }
    let path = url
        .split(['?', '#'])
        .next()
        .unwrap_or(url)
        .to_ascii_lowercase();
    let mime_type = [
        (".png", "image/png"),
        (".jpg", "image/jpeg"),
        (".jpeg", "image/jpeg"),
        (".webp", "image/webp"),
        (".heic", "image/heic"),
        (".heif", "image/heif"),
        (".gif", "image/gif"),
    ]
    .iter()
    .find(|(ext, _)| path.ends_with(ext))
    .map(|(_, mime)| (*mime).to_owned());
    Ok(Part {
        file_data: Some(FileData {
            mime_type,
            file_uri: url.to_owned(),
        }),
        ..Part::default()
    })
}

fn model_parts(message: &Message) -> Result<Vec<Part>, ProviderError> {
    let text = message.joined_text();
    let mut parts = Vec::new();
    if !text.is_empty() {
        parts.push(Part::text(text));
    }
    for (i, call) in message.tool_calls.iter().enumerate() {
        let args: Value = if call.arguments.trim().is_empty() {
            json!({})
        } else {
            serde_json::from_str(&call.arguments).map_err(|e| {
                bad_request(format!(
                    "arguments of tool call {} are not JSON: {e}",
                    call.id
                ))
            })?
        };
        if !args.is_object() {
            return Err(bad_request(format!(
                "arguments of tool call {} must be a JSON object for Gemini",
                call.id
            )));
        }
        parts.push(Part {
            function_call: Some(FunctionCall {
                id: sendable_id(&call.id),
                name: call.name.clone(),
                args: Some(args),
            }),
            // Only the first call of a turn carries a signature (parallel calls share it).
            thought_signature: (i == 0).then(|| SKIP_SIGNATURE.to_owned()),
            ..Part::default()
        });
    }
    Ok(parts)
}

fn sendable_id(id: &str) -> Option<String> {
    (!id.is_empty() && !id.starts_with(SYNTHETIC_ID_PREFIX)).then(|| id.to_owned())
}

/// A tool result: Gemini needs the function's name, found from the call it answers. The
/// response must be a JSON object; anything else is wrapped as `{"output": …}`.
fn function_response(req: &ChatRequest, message: &Message) -> Result<Part, ProviderError> {
    let id = message.tool_call_id.as_deref().unwrap_or("");
    let name = req
        .tool_name_for(id)
        .or(message.name.as_deref())
        .ok_or_else(|| {
            bad_request(format!(
                "tool result for call \"{id}\" answers no earlier tool call; Gemini needs the function name"
            ))
        })?;
    let text = message.joined_text();
    let response = match serde_json::from_str::<Value>(&text) {
        Ok(value @ Value::Object(_)) => value,
        Ok(value) => json!({ "output": value }),
        Err(_) => json!({ "output": text }),
    };
    Ok(Part {
        function_response: Some(FunctionResponse {
            id: sendable_id(id),
            name: name.to_owned(),
            response,
        }),
        ..Part::default()
    })
}

/// Canonical usage. Input includes cached and tool-use prompt tokens. Output counts the
/// thoughts too: Gemini bills thinking as output, as OpenAI counts reasoning tokens inside
/// `completion_tokens`; `reasoning_tokens` says how many of them were thoughts.
pub fn usage(u: &UsageMetadata) -> Usage {
    Usage {
        input_tokens: u.prompt_token_count + u.tool_use_prompt_token_count,
        output_tokens: u.candidates_token_count + u.thoughts_token_count,
        cached_input_tokens: u.cached_content_token_count,
        cache_write_tokens: 0,
        reasoning_tokens: u.thoughts_token_count,
    }
}

/// A Gemini finish reason. Unknown and non-filter reasons (`OTHER`, `LANGUAGE`,
/// `MALFORMED_FUNCTION_CALL`, …) read as `Stop`; a choice with calls that stopped normally
/// finished for `ToolCalls`.
pub fn finish_reason(reason: &str, has_calls: bool) -> FinishReason {
    match reason {
        "MAX_TOKENS" => FinishReason::Length,
        "SAFETY"
        | "RECITATION"
        | "BLOCKLIST"
        | "PROHIBITED_CONTENT"
        | "SPII"
        | "IMAGE_SAFETY"
        | "IMAGE_PROHIBITED_CONTENT"
        | "IMAGE_RECITATION"
        | "MODEL_ARMOR" => FinishReason::ContentFilter,
        _ if has_calls => FinishReason::ToolCalls,
        _ => FinishReason::Stop,
    }
}

/// A refused prompt: no candidates, and `promptFeedback.blockReason` says why.
pub fn blocked(resp: &GenerateContentResponse) -> Option<ProviderError> {
    let reason = resp.prompt_feedback.as_ref()?.block_reason.as_deref()?;
    Some(ProviderError::new(
        ErrorKind::ContentFiltered,
        format!("Gemini refused the prompt: {reason}"),
    ))
}

/// FNV-1a over pieces, each followed by a separator byte: small, and stable across builds.
fn fnv64(pieces: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for piece in pieces {
        for byte in piece.iter().chain(std::iter::once(&0xffu8)) {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

/// A stable id for a call Gemini sent without one: the same answer always yields the same id,
/// different calls (by response, choice, position, name, arguments) different ones.
pub fn synthetic_id(response_id: &str, choice: u32, index: u32, call: &FunctionCall) -> String {
    let args = call.args.as_ref().map(Value::to_string).unwrap_or_default();
    let hash = fnv64(&[
        response_id.as_bytes(),
        &choice.to_le_bytes(),
        &index.to_le_bytes(),
        call.name.as_bytes(),
        args.as_bytes(),
    ]);
    format!("{SYNTHETIC_ID_PREFIX}{hash:016x}")
}

/// An answer id when Gemini sends no `responseId`.
pub fn fallback_response_id(model: &str, created: u64, content: &[u8]) -> String {
    let hash = fnv64(&[model.as_bytes(), &created.to_le_bytes(), content]);
    format!("gemini-{hash:016x}")
}

/// A canonical tool call from a `functionCall` part.
pub fn tool_call(response_id: &str, choice: u32, index: u32, call: &FunctionCall) -> ToolCall {
    ToolCall {
        id: call
            .id
            .clone()
            .filter(|id| !id.is_empty())
            .unwrap_or_else(|| synthetic_id(response_id, choice, index, call)),
        name: call.name.clone(),
        arguments: call
            .args
            .as_ref()
            .map(Value::to_string)
            .unwrap_or_else(|| "{}".into()),
    }
}

/// The answer's text (thought summaries left out) and its calls.
fn candidate_message(response_id: &str, choice: u32, candidate: &Candidate) -> Message {
    let mut message = Message {
        role: Role::Assistant,
        content: Vec::new(),
        tool_calls: Vec::new(),
        tool_call_id: None,
        name: None,
    };
    let mut text = String::new();
    for part in candidate.content.iter().flat_map(|c| c.parts.iter()) {
        if part.thought == Some(true) {
            continue;
        }
        if let Some(t) = &part.text {
            text.push_str(t);
        }
        if let Some(call) = &part.function_call {
            let index = message.tool_calls.len() as u32;
            message
                .tool_calls
                .push(tool_call(response_id, choice, index, call));
        }
        if let Some(blob) = &part.inline_data {
            message.content.push(switchyard_protocol::Part::Image {
                url: format!("data:{};base64,{}", blob.mime_type, blob.data),
                detail: None,
            });
        }
    }
    if !text.is_empty() {
        message
            .content
            .insert(0, switchyard_protocol::Part::Text { text });
    }
    message
}

/// A complete answer in canonical form; `model` names it when Gemini sends no `modelVersion`.
pub fn response_to_canonical(
    resp: GenerateContentResponse,
    model: &str,
) -> Result<ChatResponse, ProviderError> {
    if resp.candidates.is_empty() {
        return Err(blocked(&resp)
            .unwrap_or_else(|| ProviderError::malformed("Gemini answered with no candidates")));
    }
    let response_id = resp.response_id.clone().unwrap_or_default();
    let mut choices: Vec<Choice> = resp
        .candidates
        .iter()
        .map(|candidate| {
            let index = candidate.index.unwrap_or(0);
            let message = candidate_message(&response_id, index, candidate);
            let finish_reason = finish_reason(
                candidate.finish_reason.as_deref().unwrap_or("STOP"),
                !message.tool_calls.is_empty(),
            );
            Choice {
                index,
                message,
                finish_reason,
            }
        })
        .collect();
    choices.sort_by_key(|c| c.index);
    let created = crate::unix_now();
    let model = resp.model_version.unwrap_or_else(|| model.to_owned());
    let id = match resp.response_id {
        Some(id) => id,
        None => {
            let content = serde_json::to_vec(&choices).unwrap_or_default();
            fallback_response_id(&model, created, &content)
        }
    };
    Ok(ChatResponse {
        id,
        model,
        created,
        choices,
        usage: resp.usage_metadata.as_ref().map(usage).unwrap_or_default(),
    })
}
