//! What the mock accepts on `/ai/run/{model}`, written from Workers AI's published model
//! schemas: the text-generation input (one of `prompt` or `messages`, with the documented
//! ranges, tools in either documented form, JSON mode, `tool_choice` as the newer models take
//! it) and the text-embeddings input. Fields the schemas do not name are ignored, as the real
//! API ignores them; wrong types, missing required fields and out-of-range values are refused.

use serde::Deserialize;
use serde_json::{Map, Value};
use switchyard_protocol::{
    ChatRequest, EmbedEncoding, EmbedRequest, Message, Part, ResponseFormat, Role, Tool, ToolCall,
    ToolChoice,
};

/// The `max_tokens` the text-generation schemas default to.
pub(crate) const DEFAULT_MAX_TOKENS: u32 = 256;

/// A refused input: the Workers AI error code and its message.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Refusal {
    pub code: u32,
    pub message: String,
}

/// Schema violations are code 5006 ("Bad input").
fn bad_input(detail: impl std::fmt::Display) -> Refusal {
    Refusal {
        code: 5006,
        message: format!("AiError: Bad input: {detail}"),
    }
}

/// The text-generation input, both schema variants in one shape (checked by `oneOf` below).
#[derive(Debug, Deserialize)]
struct RunInput {
    #[serde(default)]
    prompt: Option<String>,
    #[serde(default)]
    messages: Option<Vec<InputMessage>>,
    #[serde(default)]
    stream: Option<bool>,
    #[serde(default)]
    raw: Option<bool>,
    #[serde(default)]
    max_tokens: Option<u32>,
    #[serde(default)]
    temperature: Option<f64>,
    #[serde(default)]
    top_p: Option<f64>,
    #[serde(default)]
    top_k: Option<u32>,
    #[serde(default)]
    seed: Option<u64>,
    #[serde(default)]
    repetition_penalty: Option<f64>,
    #[serde(default)]
    frequency_penalty: Option<f64>,
    #[serde(default)]
    presence_penalty: Option<f64>,
    #[serde(default)]
    lora: Option<String>,
    #[serde(default)]
    response_format: Option<JsonMode>,
    /// Checked by hand to name the offending path, as the real validator does.
    #[serde(default)]
    tools: Option<Vec<Value>>,
    #[serde(default)]
    tool_choice: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct InputMessage {
    role: String,
    content: String,
    #[serde(default)]
    tool_call_id: Option<String>,
    /// Not in the documented schemas (so never refused); read when it names calls.
    #[serde(default)]
    tool_calls: Option<Vec<Value>>,
}

#[derive(Debug, Deserialize)]
struct JsonMode {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    json_schema: Option<Value>,
}

/// The text-embeddings input (`@cf/baai/bge-*`).
#[derive(Debug, Deserialize)]
struct EmbedInput {
    text: TextField,
    #[serde(default)]
    pooling: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    truncate_inputs: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum TextField {
    One(String),
    Many(Vec<String>),
}

fn in_range(name: &str, value: Option<f64>, min: f64, max: f64) -> Result<(), Refusal> {
    match value {
        Some(v) if !(min..=max).contains(&v) => Err(bad_input(format!(
            "Value {v} at '/{name}' is out of range: must be between {min} and {max}"
        ))),
        _ => Ok(()),
    }
}

fn required(path: &str, field: &str) -> Refusal {
    bad_input(format!("required properties at '{path}' are '{field}'"))
}

fn want_string<'a>(
    obj: &'a Map<String, Value>,
    path: &str,
    field: &str,
) -> Result<&'a str, Refusal> {
    match obj.get(field) {
        None => Err(required(path, field)),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(bad_input(format!(
            "Type mismatch of '{path}/{field}', not in 'string'"
        ))),
    }
}

/// One tool in either documented form; every parameter needs a `type` and a `description`.
fn tool(index: usize, value: &Value) -> Result<Tool, Refusal> {
    let top = format!("/tools/{index}");
    let obj = value
        .as_object()
        .ok_or_else(|| bad_input(format!("Type mismatch of '{top}', not in 'object'")))?;
    let (def, path) = match obj.get("function") {
        Some(function) => {
            want_string(obj, &top, "type")?;
            let path = format!("{top}/function");
            let def = function
                .as_object()
                .ok_or_else(|| bad_input(format!("Type mismatch of '{path}', not in 'object'")))?;
            (def, path)
        }
        None => (obj, top),
    };
    let name = want_string(def, &path, "name")?;
    let description = want_string(def, &path, "description")?;
    let params_path = format!("{path}/parameters");
    let params = def
        .get("parameters")
        .ok_or_else(|| required(&path, "parameters"))?
        .as_object()
        .ok_or_else(|| bad_input(format!("Type mismatch of '{params_path}', not in 'object'")))?;
    want_string(params, &params_path, "type")?;
    let props_path = format!("{params_path}/properties");
    let props = params
        .get("properties")
        .ok_or_else(|| required(&params_path, "properties"))?
        .as_object()
        .ok_or_else(|| bad_input(format!("Type mismatch of '{props_path}', not in 'object'")))?;
    for (prop, schema) in props {
        let path = format!("{props_path}/{prop}");
        let schema = schema
            .as_object()
            .ok_or_else(|| bad_input(format!("Type mismatch of '{path}', not in 'object'")))?;
        want_string(schema, &path, "type")?;
        want_string(schema, &path, "description")?;
    }
    Ok(Tool {
        name: name.to_owned(),
        description: Some(description.to_owned()),
        parameters: Value::Object(params.clone()),
        strict: None,
    })
}

/// `tool_choice` as the newer models accept it; anything else is "Invalid input" (8001).
fn tool_choice(value: &Value, tools: &[Tool]) -> Result<ToolChoice, Refusal> {
    let invalid = || Refusal {
        code: 8001,
        message: format!(
            "Invalid input: tool_choice {value} is not auto, none, required or a named function"
        ),
    };
    match value {
        Value::String(mode) => match mode.as_str() {
            "auto" => Ok(ToolChoice::Auto),
            "none" => Ok(ToolChoice::None),
            "required" => Ok(ToolChoice::Required),
            _ => Err(invalid()),
        },
        Value::Object(obj) if obj.get("type") == Some(&Value::from("function")) => {
            let name = obj
                .get("function")
                .and_then(|f| f.get("name"))
                .and_then(Value::as_str)
                .ok_or_else(invalid)?;
            if tools.iter().any(|t| t.name == name) {
                Ok(ToolChoice::Function(name.to_owned()))
            } else {
                Err(invalid())
            }
        }
        _ => Err(invalid()),
    }
}

/// A call of an earlier assistant turn, in the `{id, type, function}` or `{name, arguments}`
/// form.
fn history_call(message: usize, index: usize, call: &Value) -> Option<ToolCall> {
    let function = call.get("function").unwrap_or(call);
    let name = function.get("name")?.as_str()?.to_owned();
    let arguments = match function.get("arguments") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => "{}".into(),
        Some(other) => other.to_string(),
    };
    let id = call
        .get("id")
        .and_then(Value::as_str)
        .map_or_else(|| format!("call_{message}_{index}"), str::to_owned);
    Some(ToolCall {
        id,
        name,
        arguments,
    })
}

fn message(index: usize, m: InputMessage) -> Result<Message, Refusal> {
    let role = match m.role.as_str() {
        "system" => Role::System,
        "user" => Role::User,
        "assistant" => Role::Assistant,
        "tool" => Role::Tool,
        other => {
            return Err(bad_input(format!(
                "unknown role '{other}' at '/messages/{index}/role'"
            )));
        }
    };
    let tool_calls = m
        .tool_calls
        .unwrap_or_default()
        .iter()
        .enumerate()
        .filter_map(|(i, c)| history_call(index, i, c))
        .collect();
    Ok(Message {
        role,
        content: vec![Part::Text { text: m.content }],
        tool_calls,
        tool_call_id: m.tool_call_id,
        name: None,
    })
}

/// Parses and checks a text-generation body into the canonical request the synthesiser answers.
pub(crate) fn chat_request(model: &str, body: &[u8]) -> Result<ChatRequest, Refusal> {
    let input: RunInput = serde_json::from_slice(body).map_err(bad_input)?;
    let messages = match (input.prompt, input.messages) {
        (Some(_), Some(_)) => {
            return Err(bad_input(
                "oneOf at '/' not met, 2 matches: send either 'prompt' or 'messages'",
            ));
        }
        (None, None) => {
            return Err(bad_input(
                "oneOf at '/' not met, 0 matches: required properties at '/' are 'prompt'; \
                 required properties at '/' are 'messages'",
            ));
        }
        (Some(prompt), None) if prompt.is_empty() => {
            return Err(bad_input(
                "String at '/prompt' is shorter than 1 characters",
            ));
        }
        (Some(prompt), None) => vec![Message::text(Role::User, prompt)],
        (None, Some(messages)) => messages
            .into_iter()
            .enumerate()
            .map(|(i, m)| message(i, m))
            .collect::<Result<_, _>>()?,
    };
    in_range("temperature", input.temperature, 0.0, 5.0)?;
    in_range("top_p", input.top_p, 0.001, 1.0)?;
    in_range("top_k", input.top_k.map(f64::from), 1.0, 50.0)?;
    in_range("seed", input.seed.map(|s| s as f64), 1.0, 9_999_999_999.0)?;
    in_range("repetition_penalty", input.repetition_penalty, 0.0, 2.0)?;
    in_range("frequency_penalty", input.frequency_penalty, -2.0, 2.0)?;
    in_range("presence_penalty", input.presence_penalty, -2.0, 2.0)?;
    if input.lora.is_some() {
        return Err(Refusal {
            code: 5005,
            message: format!("The model {model} does not support LoRa inference"),
        });
    }
    let _ = input.raw;
    let tools = input
        .tools
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(i, t)| tool(i, t))
        .collect::<Result<Vec<_>, _>>()?;
    let tool_choice = input
        .tool_choice
        .as_ref()
        .map(|c| tool_choice(c, &tools))
        .transpose()?;
    let response_format = match input.response_format {
        None => None,
        Some(JsonMode { kind, json_schema }) => match kind.as_deref() {
            Some("json_object") => Some(ResponseFormat::JsonObject),
            Some("json_schema") => Some(match json_schema {
                Some(schema @ Value::Object(_)) => ResponseFormat::JsonSchema {
                    name: "json_schema".into(),
                    schema,
                    strict: None,
                },
                _ => ResponseFormat::JsonObject,
            }),
            other => {
                return Err(bad_input(format!(
                    "Value {other:?} at '/response_format/type' is not one of json_object, json_schema"
                )));
            }
        },
    };
    let stream = input.stream.unwrap_or(false);
    if stream && response_format.is_some() {
        return Err(bad_input("JSON Mode does not support streaming"));
    }
    Ok(ChatRequest {
        model: model.to_owned(),
        messages,
        tools,
        tool_choice,
        response_format,
        max_tokens: Some(input.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS)),
        temperature: input.temperature,
        top_p: input.top_p,
        seed: input.seed.and_then(|s| i64::try_from(s).ok()),
        n: 1,
        stream,
        include_usage: true,
        ..ChatRequest::default()
    })
}

/// Parses and checks a text-embeddings body.
pub(crate) fn embed_request(
    model: &str,
    body: &[u8],
) -> Result<(EmbedRequest, Option<String>), Refusal> {
    let input: EmbedInput = serde_json::from_slice(body).map_err(bad_input)?;
    if let Some(pooling) = input.pooling.as_deref()
        && !["mean", "cls"].contains(&pooling)
    {
        return Err(bad_input(format!(
            "Value '{pooling}' at '/pooling' is not one of mean, cls"
        )));
    }
    let pooling = input.pooling;
    let input = match input.text {
        TextField::One(s) => vec![s],
        TextField::Many(v) if v.is_empty() => {
            return Err(bad_input("Array at '/text' has fewer than 1 items"));
        }
        TextField::Many(v) => v,
    };
    let req = EmbedRequest {
        model: model.to_owned(),
        input,
        dimensions: None,
        user: None,
        encoding: EmbedEncoding::Float,
    };
    Ok((req, pooling))
}

/// Which task a model id runs: the mock treats `bge`/`embed` models as text embeddings.
pub(crate) fn is_embedding_model(model: &str) -> bool {
    let lower = model.to_ascii_lowercase();
    lower.contains("bge") || lower.contains("embed")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn chat(body: Value) -> Result<ChatRequest, Refusal> {
        chat_request("@cf/m", body.to_string().as_bytes())
    }

    #[test]
    fn prompt_becomes_a_user_turn_with_the_default_budget() {
        let req = chat(json!({"prompt": "hi"})).unwrap();
        assert_eq!(req.messages, vec![Message::text(Role::User, "hi")]);
        assert_eq!(req.max_tokens, Some(DEFAULT_MAX_TOKENS));
    }

    #[test]
    fn tools_in_both_forms_need_described_parameters() {
        let params =
            json!({"type": "object", "properties": {"a": {"type": "string", "description": "x"}}});
        let legacy = json!({"name": "f", "description": "d", "parameters": params});
        let function = json!({"type": "function", "function": legacy});
        for tool in [&legacy, &function] {
            let req =
                chat(json!({"messages": [{"role": "user", "content": "hi"}], "tools": [tool]}))
                    .unwrap();
            assert_eq!(req.tools[0].name, "f");
        }
        let undescribed = json!({"type": "function", "function": {"name": "f", "description": "d",
            "parameters": {"type": "object", "properties": {"a": {"type": "string"}}}}});
        let err =
            chat(json!({"messages": [{"role": "user", "content": "hi"}], "tools": [undescribed]}))
                .unwrap_err();
        assert_eq!(err.code, 5006);
        assert!(
            err.message
                .contains("/tools/0/function/parameters/properties/a"),
            "{}",
            err.message
        );
    }

    #[test]
    fn tool_choice_must_be_a_known_mode_or_a_defined_function() {
        let tools = json!([{"name": "f", "description": "d", "parameters": {"type": "object", "properties": {}}}]);
        let with = |choice: Value| {
            chat(
                json!({"messages": [{"role": "user", "content": "hi"}], "tools": tools, "tool_choice": choice}),
            )
        };
        assert_eq!(
            with(json!({"type": "function", "function": {"name": "f"}}))
                .unwrap()
                .tool_choice,
            Some(ToolChoice::Function("f".into()))
        );
        assert_eq!(
            with(json!("required")).unwrap().tool_choice,
            Some(ToolChoice::Required)
        );
        assert_eq!(with(json!("any")).unwrap_err().code, 8001);
        assert_eq!(
            with(json!({"type": "function", "function": {"name": "g"}}))
                .unwrap_err()
                .code,
            8001
        );
    }

    #[test]
    fn history_keeps_tool_calls_and_ids_and_ignores_unknown_fields() {
        let req = chat(json!({"messages": [
            {"role": "user", "content": "hi", "extra": true},
            {"role": "assistant", "content": "", "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
            {"role": "tool", "content": "ok", "tool_call_id": "call_1"}
        ], "unknown": 1}))
        .unwrap();
        assert_eq!(req.messages[1].tool_calls[0].id, "call_1");
        assert_eq!(req.messages[2].tool_call_id.as_deref(), Some("call_1"));
        assert_eq!(
            chat(json!({"messages": [{"role": "robot", "content": "x"}]}))
                .unwrap_err()
                .code,
            5006
        );
    }

    #[test]
    fn embeddings_take_one_text_or_a_non_empty_list() {
        let (one, _) = embed_request("@cf/baai/bge-small-en-v1.5", br#"{"text":"a"}"#).unwrap();
        assert_eq!(one.input, vec!["a".to_owned()]);
        assert!(embed_request("m", br#"{"text":[]}"#).is_err());
        assert!(embed_request("m", br#"{"text":"a","pooling":"max"}"#).is_err());
        assert!(
            is_embedding_model("@cf/baai/bge-m3")
                && !is_embedding_model("@cf/meta/llama-3.1-8b-instruct")
        );
    }
}
