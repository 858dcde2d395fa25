//! Workers AI's native `/ai/run/{model}` wire format (the text-generation and text-embeddings
//! task schemas, and the `{"result","success","errors","messages"}` envelope) and its
//! translation to and from the canonical model. Pure data: no I/O, no secrets.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use switchyard_protocol::openai::{self as oai, ChatCompletion};
use switchyard_protocol::{
    ChatRequest, ChatResponse, Choice, ErrorKind, FinishReason, Message, Part, ProviderError,
    ResponseFormat, Role, ToolCall, ToolChoice, Usage,
};

/// The body of a text-generation run (the schema's "Messages" variant).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRequest {
    pub messages: Vec<RunMessage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub stream: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<RunTool>,
    /// Honoured by the newer (vLLM-served) models; the older schemas ignore it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_format: Option<RunResponseFormat>,
}

/// One message: the schema requires `role` and a string `content`; `name`, `tool_call_id` and
/// `tool_calls` are read by the models whose chat templates know tools.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunMessage {
    pub role: String,
    pub content: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<RunToolCallOut>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunToolCallOut {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub function: RunFunctionCall,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunFunctionCall {
    pub name: String,
    pub arguments: String,
}

/// A tool in the schema's `{type: "function", function: {...}}` form.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunTool {
    #[serde(rename = "type")]
    pub kind: String,
    pub function: RunFunction,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunFunction {
    pub name: String,
    pub description: String,
    pub parameters: Value,
}

/// JSON mode: `json_schema` is the bare JSON Schema, not OpenAI's `{name, schema}` wrapper.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunResponseFormat {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub json_schema: Option<Value>,
}

/// The body of a text-embeddings run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmbedRunRequest<'a> {
    pub text: &'a [String],
}

/// The Cloudflare API envelope every `/ai/run` answer comes in.
#[derive(Debug, Clone, Deserialize)]
pub struct Envelope<T> {
    pub result: Option<T>,
    #[serde(default)]
    pub success: Option<bool>,
    #[serde(default)]
    pub errors: Vec<ApiError>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ApiError {
    #[serde(default)]
    pub code: Option<i64>,
    #[serde(default)]
    pub message: String,
}

impl<T> Envelope<T> {
    /// The result, or the typed error the envelope reports (even under HTTP 200).
    pub fn into_result(self) -> Result<T, ProviderError> {
        if self.success == Some(false) || !self.errors.is_empty() {
            return Err(error_from_api(&self.errors, 200));
        }
        self.result
            .ok_or_else(|| ProviderError::malformed("Workers AI answered with no result"))
    }
}

/// The HTTP status Workers AI documents for its internal error codes.
fn status_for_code(code: i64) -> u16 {
    match code {
        10000 | 10001 => 401,
        5018 | 5016 | 3023 | 3041 => 403,
        3042 => 404,
        3007 | 3008 => 408,
        3006 => 413,
        3036 | 3040 => 429,
        5004 | 5005 | 5006 | 5007 | 5019 | 3003 | 3039 | 8001 => 400,
        _ => 500,
    }
}

/// A typed error from the envelope's `errors`, classified by the first code.
pub fn error_from_api(errors: &[ApiError], http_status: u16) -> ProviderError {
    let first = errors.first();
    let message = first
        .map(|e| e.message.clone())
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| "Workers AI reported failure without a message".into());
    let status = first.and_then(|e| e.code).map_or(500, status_for_code);
    let mut err = ProviderError::from_status(status, message, None);
    err.status = Some(http_status);
    err
}

/// A text-generation result: `response` is a string, or the parsed object in JSON mode.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RunResult {
    #[serde(default)]
    pub response: Option<Value>,
    #[serde(default)]
    pub tool_calls: Option<Vec<RunToolCall>>,
    #[serde(default)]
    pub usage: Option<RunUsage>,
    /// Sent by some newer models; the documented schema has none.
    #[serde(default)]
    pub finish_reason: Option<String>,
}

/// A tool call in either shape Workers AI uses: the documented `{name, arguments: {...}}`, or
/// the newer `{id, type, index, function: {name, arguments: "..."}}` (also as stream deltas).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct RunToolCall {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub index: Option<u32>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub arguments: Option<Value>,
    #[serde(default)]
    pub function: Option<RunFunctionIn>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct RunFunctionIn {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub arguments: Option<Value>,
}

impl RunToolCall {
    pub fn name(&self) -> Option<&str> {
        self.function
            .as_ref()
            .and_then(|f| f.name.as_deref())
            .or(self.name.as_deref())
            .filter(|n| !n.is_empty())
    }

    /// The arguments as JSON text: strings are kept as sent, objects are serialised.
    pub fn arguments_text(&self) -> Option<String> {
        let value = self
            .function
            .as_ref()
            .and_then(|f| f.arguments.as_ref())
            .or(self.arguments.as_ref())?;
        match value {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        }
    }

    /// The empty entry some models send to close a streamed call.
    pub fn is_empty(&self) -> bool {
        self.id.as_deref().is_none_or(str::is_empty)
            && self.name().is_none()
            && self.arguments_text().is_none_or(|a| a.is_empty())
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct RunUsage {
    #[serde(default)]
    pub prompt_tokens: u64,
    #[serde(default)]
    pub completion_tokens: u64,
}

impl RunUsage {
    pub fn to_canonical(self) -> Usage {
        Usage {
            input_tokens: self.prompt_tokens,
            output_tokens: self.completion_tokens,
            ..Usage::default()
        }
    }
}

/// A text-embeddings result.
#[derive(Debug, Clone, Deserialize)]
pub struct EmbedRunResult {
    #[serde(default)]
    pub shape: Vec<u64>,
    #[serde(deserialize_with = "switchyard_protocol::vector::f32_arrays")]
    pub data: Vec<Vec<f32>>,
}

/// A call id for models that send none: stable (the same call always gets the same id, streamed
/// or not) and distinct per position, name and arguments (FNV-1a).
pub fn synthetic_call_id(index: u32, name: &str, arguments: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in index
        .to_le_bytes()
        .iter()
        .chain(name.as_bytes())
        .chain([0u8].iter())
        .chain(arguments.as_bytes())
    {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("call_{hash:016x}")
}

/// A finish reason named by the upstream.
pub fn parse_finish(reason: &str) -> FinishReason {
    match reason {
        "length" | "model_length" | "max_tokens" => FinishReason::Length,
        other => oai::finish_reason_parse(other),
    }
}

/// Why the answer stopped. The documented schema reports no reason, so it is inferred: tool
/// calls end in `ToolCalls`, an answer that used the whole `max_tokens` budget in `Length`.
pub fn finish_reason(
    explicit: Option<&str>,
    has_tool_calls: bool,
    output_tokens: Option<u64>,
    limit: u32,
) -> FinishReason {
    if let Some(reason) = explicit.filter(|r| !r.is_empty()) {
        return parse_finish(reason);
    }
    if has_tool_calls {
        FinishReason::ToolCalls
    } else if output_tokens.is_some_and(|n| n >= u64::from(limit)) {
        FinishReason::Length
    } else {
        FinishReason::Stop
    }
}

/// Reads the canonical tool calls of a complete answer, synthesising missing ids.
pub fn tool_calls_to_canonical(calls: Vec<RunToolCall>) -> Result<Vec<ToolCall>, ProviderError> {
    calls
        .into_iter()
        .filter(|c| !c.is_empty())
        .enumerate()
        .map(|(i, call)| {
            let name = call
                .name()
                .ok_or_else(|| ProviderError::malformed("Workers AI tool call has no name"))?
                .to_owned();
            let arguments = call.arguments_text().unwrap_or_else(|| "{}".into());
            let id = call
                .id
                .clone()
                .filter(|id| !id.is_empty())
                .unwrap_or_else(|| synthetic_call_id(i as u32, &name, &arguments));
            Ok(ToolCall {
                id,
                name,
                arguments,
            })
        })
        .collect()
}

/// A complete native answer (or the OpenAI-shaped one some newer models give on `/ai/run`).
pub fn response_to_canonical(
    result: Value,
    model: &str,
    id: String,
    created: u64,
    limit: u32,
) -> Result<ChatResponse, ProviderError> {
    if result.get("choices").is_some() {
        let completion: ChatCompletion = serde_json::from_value(result).map_err(|e| {
            ProviderError::malformed(format!("Workers AI result is not a chat completion: {e}"))
        })?;
        if completion.choices.is_empty() {
            return Err(ProviderError::malformed(
                "Workers AI answered with no choices",
            ));
        }
        return Ok(oai::response_to_canonical(completion));
    }
    let result: RunResult = serde_json::from_value(result).map_err(|e| {
        ProviderError::malformed(format!("Workers AI result is not a text generation: {e}"))
    })?;
    let text = match result.response {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s,
        // JSON mode returns the parsed object; the canonical answer carries its text.
        Some(other) => other.to_string(),
    };
    let tool_calls = tool_calls_to_canonical(result.tool_calls.unwrap_or_default())?;
    let usage = result.usage.map(RunUsage::to_canonical);
    let finish = finish_reason(
        result.finish_reason.as_deref(),
        !tool_calls.is_empty(),
        usage.map(|u| u.output_tokens),
        limit,
    );
    let content = if text.is_empty() {
        Vec::new()
    } else {
        vec![Part::Text { text }]
    };
    Ok(ChatResponse {
        id,
        model: model.to_owned(),
        created,
        choices: vec![Choice {
            index: 0,
            message: Message {
                role: Role::Assistant,
                content,
                tool_calls,
                tool_call_id: None,
                name: None,
            },
            finish_reason: finish,
        }],
        usage: usage.unwrap_or_default(),
    })
}

fn bad_request(message: impl Into<String>) -> ProviderError {
    ProviderError::new(ErrorKind::BadRequest, message)
}

/// The message text, refusing what a text-generation model cannot read.
fn text_of(message: &Message) -> Result<String, ProviderError> {
    if message
        .content
        .iter()
        .any(|p| matches!(p, Part::Image { .. }))
    {
        return Err(bad_request(
            "Workers AI's native text-generation API takes text only; send images through the \
             OpenAI-compatible endpoint (quirks.openai_compatible) to a vision model",
        ));
    }
    Ok(message.joined_text())
}

fn message_to_wire(req: &ChatRequest, message: &Message) -> Result<RunMessage, ProviderError> {
    let mut content = text_of(message)?;
    let mut out = RunMessage {
        role: String::new(),
        content: String::new(),
        name: None,
        tool_call_id: None,
        tool_calls: Vec::new(),
    };
    match message.role {
        Role::System => out.role = "system".into(),
        Role::User => out.role = "user".into(),
        Role::Assistant => {
            out.role = "assistant".into();
            if content.is_empty() && !message.tool_calls.is_empty() {
                // Older chat templates read only `content`: show them the call as JSON.
                content = calls_as_text(&message.tool_calls);
            }
            out.tool_calls = message
                .tool_calls
                .iter()
                .map(|c| RunToolCallOut {
                    id: c.id.clone(),
                    kind: "function".into(),
                    function: RunFunctionCall {
                        name: c.name.clone(),
                        arguments: c.arguments.clone(),
                    },
                })
                .collect();
        }
        Role::Tool => {
            out.role = "tool".into();
            out.tool_call_id = message.tool_call_id.clone();
            out.name = message.name.clone().or_else(|| {
                message
                    .tool_call_id
                    .as_deref()
                    .and_then(|id| req.tool_name_for(id))
                    .map(str::to_owned)
            });
        }
    }
    out.content = content;
    Ok(out)
}

fn calls_as_text(calls: &[ToolCall]) -> String {
    let rendered: Vec<Value> = calls
        .iter()
        .map(|c| {
            let parameters = serde_json::from_str::<Value>(&c.arguments)
                .unwrap_or_else(|_| Value::String(c.arguments.clone()));
            serde_json::json!({"name": c.name, "parameters": parameters})
        })
        .collect();
    match rendered.as_slice() {
        [one] => one.to_string(),
        _ => Value::Array(rendered).to_string(),
    }
}

/// Tool parameters in the shape the schema requires: an object schema with `properties`, each
/// property with a `description` (an empty one is added where the client gave none).
pub fn native_parameters(schema: &Value) -> Value {
    let mut out = match schema {
        Value::Object(map) => map.clone(),
        _ => Map::new(),
    };
    out.entry("type").or_insert_with(|| Value::from("object"));
    let properties = out
        .entry("properties")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(props) = properties {
        for prop in props.values_mut() {
            if let Value::Object(p) = prop {
                p.entry("description").or_insert_with(|| Value::from(""));
            }
        }
    }
    Value::Object(out)
}

/// The native run body for a canonical request. `max_tokens` is what to send (the request's
/// own, or the endpoint's default).
pub fn request_from_canonical(
    req: &ChatRequest,
    max_tokens: Option<u32>,
    stream: bool,
) -> Result<RunRequest, ProviderError> {
    if req.n > 1 {
        return Err(bad_request("Workers AI returns one choice; `n` must be 1"));
    }
    if !req.stop.is_empty() {
        return Err(bad_request(
            "Workers AI's native API has no stop sequences; use the OpenAI-compatible endpoint \
             (quirks.openai_compatible) for `stop`",
        ));
    }
    let messages = req
        .messages
        .iter()
        .map(|m| message_to_wire(req, m))
        .collect::<Result<Vec<_>, _>>()?;
    let use_tools = !matches!(req.tool_choice, Some(ToolChoice::None));
    let tools: Vec<RunTool> = if use_tools {
        req.tools
            .iter()
            .map(|t| RunTool {
                kind: "function".into(),
                function: RunFunction {
                    name: t.name.clone(),
                    description: t.description.clone().unwrap_or_default(),
                    parameters: native_parameters(&t.parameters),
                },
            })
            .collect()
    } else {
        Vec::new()
    };
    let tool_choice = match (&req.tool_choice, tools.is_empty()) {
        (_, true) | (None | Some(ToolChoice::Auto | ToolChoice::None), _) => None,
        (Some(ToolChoice::Required), false) => Some(Value::from("required")),
        (Some(ToolChoice::Function(name)), false) => Some(serde_json::json!({
            "type": "function", "function": {"name": name}
        })),
    };
    let response_format = match &req.response_format {
        None | Some(ResponseFormat::Text) => None,
        Some(ResponseFormat::JsonObject) => Some(RunResponseFormat {
            kind: "json_object".into(),
            json_schema: None,
        }),
        Some(ResponseFormat::JsonSchema { schema, .. }) => Some(RunResponseFormat {
            kind: "json_schema".into(),
            json_schema: Some(schema.clone()),
        }),
    };
    Ok(RunRequest {
        messages,
        max_tokens,
        temperature: req.temperature,
        top_p: req.top_p,
        seed: req.seed,
        stream,
        tools,
        tool_choice,
        response_format,
    })
}
