//! The valid requests the mutator starts from: each door, plain and streaming, with the
//! features a client can send (tools and tool choice, a JSON schema to follow, content parts,
//! tool-call history, both embedding encodings). Each is served 200 as it is.

use serde_json::{Value, json};

/// A door's valid request, and where in it a JSON schema sits (if it has one).
pub struct Template {
    pub name: &'static str,
    pub path: &'static str,
    pub body: Value,
    pub schema: Option<&'static str>,
}

fn weather_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "City name"},
            "unit": {"type": "string", "enum": ["c", "f"]},
            "days": {"type": "integer", "minimum": 1, "maximum": 7}
        },
        "required": ["city"]
    })
}

pub fn templates() -> Vec<Template> {
    let chat_tool = json!([{"type": "function", "function": {
        "name": "get_weather", "description": "Weather for a city", "parameters": weather_schema()
    }}]);
    let messages_tool = json!([{
        "name": "get_weather", "description": "Weather for a city", "input_schema": weather_schema()
    }]);
    vec![
        Template {
            name: "chat",
            path: "/v1/chat/completions",
            body: json!({
                "model": "fast",
                "messages": [
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": "Hello there"}
                ],
                "temperature": 0.7, "top_p": 1, "n": 1, "max_tokens": 64, "stop": ["END"],
                "seed": 7, "presence_penalty": 0.5, "logit_bias": {"50256": -100},
                "metadata": {"team": "search"}, "user": "u-1"
            }),
            schema: None,
        },
        Template {
            name: "chat+tools",
            path: "/v1/chat/completions",
            body: json!({
                "model": "smart",
                "messages": [
                    {"role": "user", "content": [
                        {"type": "text", "text": "What is the weather here?"},
                        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
                    ]},
                    {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]},
                    {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
                    {"role": "user", "content": "And tomorrow?"}
                ],
                "tools": chat_tool,
                "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
                "parallel_tool_calls": false
            }),
            schema: Some("/tools/0/function/parameters"),
        },
        Template {
            name: "chat+schema stream",
            path: "/v1/chat/completions",
            body: json!({
                "model": "fast",
                "messages": [{"role": "user", "content": "List three colours"}],
                "response_format": {"type": "json_schema", "json_schema": {
                    "name": "colours", "strict": true,
                    "schema": {"type": "object", "properties": {
                        "colours": {"type": "array", "items": {"type": "string"}, "minItems": 3},
                        "count": {"type": "integer"}
                    }, "required": ["colours"], "additionalProperties": false}
                }},
                "stream": true, "stream_options": {"include_usage": true}
            }),
            schema: Some("/response_format/json_schema/schema"),
        },
        Template {
            name: "chat+tools stream",
            path: "/v1/chat/completions",
            body: json!({
                "model": "fast",
                "messages": [{"role": "user", "content": "Weather in Oslo?"}],
                "tools": chat_tool, "tool_choice": "required", "stream": true
            }),
            schema: Some("/tools/0/function/parameters"),
        },
        Template {
            name: "messages",
            path: "/v1/messages",
            body: json!({
                "model": "fast", "max_tokens": 256, "system": "Be brief.",
                "messages": [
                    {"role": "user", "content": "Hello"},
                    {"role": "assistant", "content": [{"type": "text", "text": "Hi!"}]},
                    {"role": "user", "content": [{"type": "text", "text": "How are you?"}]}
                ],
                "temperature": 0.5, "top_k": 10, "stop_sequences": ["END"],
                "metadata": {"user_id": "u-1"}
            }),
            schema: None,
        },
        Template {
            name: "messages+tools stream",
            path: "/v1/messages",
            body: json!({
                "model": "smart", "max_tokens": 512, "stream": true,
                "tools": messages_tool,
                "tool_choice": {"type": "tool", "name": "get_weather"},
                "messages": [
                    {"role": "user", "content": "Weather in Paris?"},
                    {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1",
                        "name": "get_weather", "input": {"city": "Paris"}}]},
                    {"role": "user", "content": [{"type": "tool_result",
                        "tool_use_id": "toolu_1", "content": "18C"}]}
                ]
            }),
            schema: Some("/tools/0/input_schema"),
        },
        Template {
            name: "embeddings float",
            path: "/v1/embeddings",
            body: json!({"model": "embed", "input": ["first text", "second text"],
                "encoding_format": "float"}),
            schema: None,
        },
        Template {
            name: "embeddings base64",
            path: "/v1/embeddings",
            body: json!({"model": "embed", "input": "one text", "encoding_format": "base64",
                "dimensions": 64, "user": "u-1"}),
            schema: None,
        },
    ]
}
