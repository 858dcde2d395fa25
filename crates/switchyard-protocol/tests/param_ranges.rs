//! Each parameter the doors range-check: a value at the edge of what the real API accepts is
//! taken, one just past it is refused with the parameter named (and the value not echoed).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Map, Value, json};
use switchyard_protocol::anthropic::{self, MessagesRequest};
use switchyard_protocol::openai::{self, ChatCompletionRequest, EmbeddingRequest, WireError};

fn merged(base: Value, extra: &Value) -> Value {
    let mut base = base;
    for (k, v) in extra.as_object().unwrap() {
        base[k] = v.clone();
    }
    base
}

fn chat(extra: Value) -> Result<(), WireError> {
    let body = merged(
        json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}),
        &extra,
    );
    let wire: ChatCompletionRequest = serde_json::from_value(body).unwrap();
    openai::request_to_canonical(wire).map(drop)
}

fn messages(extra: Value) -> Result<(), WireError> {
    let body = merged(
        json!({"model": "m", "max_tokens": 2048, "messages": [{"role": "user", "content": "hi"}]}),
        &extra,
    );
    let wire: MessagesRequest = serde_json::from_value(body).unwrap();
    anthropic::request_to_canonical(wire).map(drop)
}

fn embeddings(extra: Value) -> Result<(), WireError> {
    let body = merged(json!({"model": "m", "input": "hi"}), &extra);
    let wire: EmbeddingRequest = serde_json::from_value(body).unwrap();
    openai::embedding_request_to_canonical(wire).map(drop)
}

/// `inside` is accepted; each of `outside` is refused naming `param` (in `param` and in the
/// message), without quoting the value.
fn edges(
    door: fn(Value) -> Result<(), WireError>,
    param: &str,
    inside: &[Value],
    outside: &[Value],
) {
    for ok in inside {
        if let Err(e) = door(ok.clone()) {
            panic!("{ok} was refused: {e:?}");
        }
    }
    for bad in outside {
        let e = door(bad.clone()).expect_err(&format!("{bad} was accepted"));
        assert_eq!(e.param.as_deref(), Some(param), "{bad}: {e:?}");
        let named = param.split(['.', '[']).next().unwrap();
        assert!(e.message.contains(named), "{bad}: {e:?}");
        assert!(!e.message.contains("sk-"), "{bad}: {e:?}");
    }
}

fn many(n: usize, item: impl Fn(usize) -> Value) -> Value {
    Value::Array((0..n).map(item).collect())
}

fn pairs(n: usize, key: impl Fn(usize) -> String, value: &str) -> Value {
    Value::Object(
        (0..n)
            .map(|i| (key(i), json!(value)))
            .collect::<Map<_, _>>(),
    )
}

fn tool(name: &str) -> Value {
    json!({"type": "function", "function": {"name": name}})
}

#[test]
fn chat_sampling_parameters_are_held_to_openais_ranges() {
    edges(
        chat,
        "temperature",
        &[json!({"temperature": 0}), json!({"temperature": 2})],
        &[json!({"temperature": 2.0001}), json!({"temperature": -0.1})],
    );
    edges(
        chat,
        "top_p",
        &[json!({"top_p": 0}), json!({"top_p": 1})],
        &[json!({"top_p": 1.01}), json!({"top_p": -1})],
    );
    for p in ["presence_penalty", "frequency_penalty"] {
        edges(
            chat,
            p,
            &[json!({p: -2}), json!({p: 2}), json!({p: null})],
            &[
                json!({p: 2.01}),
                json!({p: -2.5}),
                json!({p: 1e308}),
                json!({p: "sk-high"}),
            ],
        );
    }
    edges(
        chat,
        "n",
        &[json!({"n": 1}), json!({"n": 128})],
        &[json!({"n": 0}), json!({"n": 129})],
    );
    edges(
        chat,
        "max_tokens",
        &[json!({"max_tokens": 1})],
        &[json!({"max_tokens": 0})],
    );
    edges(
        chat,
        "max_completion_tokens",
        &[json!({"max_completion_tokens": 1})],
        &[json!({"max_completion_tokens": 0})],
    );
    edges(
        chat,
        "seed",
        &[json!({"seed": i64::MAX}), json!({"seed": i64::MIN})],
        &[],
    );
}

#[test]
fn chat_logprob_parameters_are_held_to_openais_ranges() {
    edges(
        chat,
        "logprobs",
        &[
            json!({"logprobs": true}),
            json!({"logprobs": false}),
            json!({"logprobs": null}),
        ],
        &[json!({"logprobs": "yes"}), json!({"logprobs": 1})],
    );
    edges(
        chat,
        "top_logprobs",
        &[
            json!({"logprobs": true, "top_logprobs": 0}),
            json!({"logprobs": true, "top_logprobs": 20}),
        ],
        &[
            json!({"top_logprobs": 21}),
            json!({"top_logprobs": -1}),
            serde_json::from_str(r#"{"top_logprobs": 18446744073709551616}"#).unwrap(),
            json!({"top_logprobs": 1.5}),
        ],
    );
    let bias = |n: usize| pairs(n, |i| i.to_string(), "");
    let with_values =
        |n: usize, v: Value| Value::Object((0..n).map(|i| (i.to_string(), v.clone())).collect());
    edges(
        chat,
        "logit_bias",
        &[
            json!({"logit_bias": {"50256": -100, "1": 100, "2": 0.5}}),
            json!({"logit_bias": with_values(1024, json!(1))}),
        ],
        &[
            json!({"logit_bias": {"50256": 100.5}}),
            json!({"logit_bias": {"50256": -101}}),
            json!({"logit_bias": {"sk-token": 1}}),
            json!({"logit_bias": {"1": "sk-x"}}),
            json!({"logit_bias": with_values(1025, json!(1))}),
            json!({"logit_bias": bias(1)}),
            json!({"logit_bias": [1]}),
        ],
    );
}

#[test]
fn chat_lists_and_strings_are_held_to_openais_bounds() {
    let strings = |n: usize| many(n, |i| json!(format!("s{i}")));
    edges(
        chat,
        "stop",
        &[json!({"stop": "x"}), json!({"stop": strings(4)})],
        &[json!({"stop": strings(5)})],
    );
    let tools = |n: usize| many(n, |i| tool(&format!("f{i}")));
    edges(
        chat,
        "tools",
        &[json!({"tools": tools(128)})],
        &[json!({"tools": tools(129)})],
    );
    let meta = |n: usize| pairs(n, |i| format!("k{i}"), "v");
    edges(
        chat,
        "metadata",
        &[
            json!({"metadata": meta(16)}),
            json!({"metadata": pairs(1, |_| "k".repeat(64), "v")}),
        ],
        &[
            json!({"metadata": meta(17)}),
            json!({"metadata": meta(10_000)}),
            json!({"metadata": pairs(1, |_| "k".repeat(65), "v")}),
        ],
    );
    edges(
        chat,
        "metadata.k",
        &[json!({"metadata": {"k": "v".repeat(512)}})],
        &[json!({"metadata": {"k": "v".repeat(513)}})],
    );
    edges(
        chat,
        "user",
        &[json!({"user": "u".repeat(512)})],
        &[json!({"user": "u".repeat(513)})],
    );
    edges(chat, "messages", &[], &[json!({"messages": []})]);
    edges(
        chat,
        "model",
        &[json!({"model": "m".repeat(256)})],
        &[
            json!({"model": "m".repeat(257)}),
            json!({"model": "a\nb"}),
            json!({"model": " "}),
        ],
    );
}

#[test]
fn messages_parameters_are_held_to_anthropics_ranges() {
    edges(
        messages,
        "temperature",
        &[json!({"temperature": 0}), json!({"temperature": 1})],
        &[json!({"temperature": 1.01}), json!({"temperature": 5})],
    );
    edges(
        messages,
        "top_p",
        &[json!({"top_p": 1})],
        &[json!({"top_p": 1.5})],
    );
    edges(
        messages,
        "top_k",
        &[json!({"top_k": 0}), json!({"top_k": 2147483647})],
        &[json!({"top_k": 2147483648u64})],
    );
    edges(
        messages,
        "max_tokens",
        &[json!({"max_tokens": 1})],
        &[json!({"max_tokens": 0})],
    );
    let stops = |n: usize| many(n, |i| json!(format!("s{i}")));
    edges(
        messages,
        "stop_sequences",
        &[json!({"stop_sequences": stops(8191)})],
        &[json!({"stop_sequences": stops(8192)})],
    );
    edges(
        messages,
        "metadata.user_id",
        &[json!({"metadata": {"user_id": "u".repeat(512)}})],
        &[json!({"metadata": {"user_id": "u".repeat(513)}})],
    );
    let tool =
        |name: String| json!({"tools": [{"name": name, "input_schema": {"type": "object"}}]});
    edges(
        messages,
        "tools.0.name",
        &[tool("t".repeat(128)), tool("get_weather-2".into())],
        &[
            tool("t".repeat(129)),
            tool(String::new()),
            tool("sk secret".into()),
        ],
    );
    edges(messages, "model", &[], &[json!({"model": "m".repeat(257)})]);
}

#[test]
fn thinking_budgets_are_at_least_1024_and_below_max_tokens() {
    let thinking = |t: Value| json!({"thinking": t});
    edges(
        messages,
        "thinking.budget_tokens",
        &[
            thinking(json!({"type": "enabled", "budget_tokens": 1024})),
            thinking(json!({"type": "enabled", "budget_tokens": 2047})),
            thinking(json!({"type": "disabled"})),
            thinking(json!({"type": "adaptive"})),
            thinking(Value::Null),
        ],
        &[
            thinking(json!({"type": "enabled", "budget_tokens": -1})),
            thinking(json!({"type": "enabled", "budget_tokens": 1023})),
            thinking(json!({"type": "enabled", "budget_tokens": 2048})),
            thinking(json!({"type": "enabled"})),
            thinking(json!({"type": "enabled", "budget_tokens": "sk-1"})),
        ],
    );
    edges(messages, "thinking", &[], &[thinking(json!("sk-on"))]);
    edges(
        messages,
        "thinking.type",
        &[],
        &[thinking(json!({"budget_tokens": 2000}))],
    );
}

#[test]
fn empty_content_is_refused_but_in_a_final_assistant_message() {
    let convo = |content: Value| json!({"messages": [{"role": "user", "content": content}, {"role": "assistant", "content": "ok"}, {"role": "user", "content": "more"}]});
    edges(
        messages,
        "messages.0.content",
        &[
            convo(json!("x")),
            convo(json!([{"type": "text", "text": "x"}])),
        ],
        &[convo(json!("")), convo(json!([]))],
    );
    edges(
        messages,
        "messages.0.content.1.text",
        &[],
        &[convo(
            json!([{"type": "text", "text": "x"}, {"type": "text", "text": ""}]),
        )],
    );
    let prefill = |content: Value| json!({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": content}]});
    edges(
        messages,
        "messages.1.content",
        &[
            prefill(json!("")),
            prefill(json!([])),
            prefill(json!("The answer is")),
        ],
        &[],
    );
}

#[test]
fn embeddings_parameters_are_held_to_openais_ranges() {
    let inputs = |n: usize| many(n, |i| json!(format!("text {i}")));
    edges(
        embeddings,
        "input",
        &[json!({"input": inputs(2048)})],
        &[
            json!({"input": inputs(2049)}),
            json!({"input": []}),
            json!({"input": ""}),
        ],
    );
    edges(embeddings, "input[1]", &[], &[json!({"input": ["a", ""]})]);
    edges(
        embeddings,
        "dimensions",
        &[json!({"dimensions": 1})],
        &[json!({"dimensions": 0})],
    );
    edges(
        embeddings,
        "encoding_format",
        &[
            json!({"encoding_format": "float"}),
            json!({"encoding_format": "base64"}),
        ],
        &[json!({"encoding_format": "sk-hex"})],
    );
    edges(embeddings, "user", &[], &[json!({"user": "u".repeat(513)})]);
}

#[test]
fn requests_the_official_sdks_send_are_taken_whole() {
    let full = json!({
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "developer", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "Weather?"}, {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA", "detail": "low"}}]},
            {"role": "assistant", "content": "", "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}
        ],
        "tools": [{"type": "function", "function": {"name": "get_weather", "description": "d", "parameters": {"type": "object", "properties": {}}, "strict": true}}],
        "tool_choice": "auto", "parallel_tool_calls": false,
        "response_format": {"type": "json_schema", "json_schema": {"name": "w", "schema": {"type": "object"}, "strict": true}},
        "temperature": 0.7, "top_p": 0.9, "n": 2, "stop": ["END", "STOP"], "seed": 42,
        "max_completion_tokens": 256, "presence_penalty": 0.5, "frequency_penalty": -0.5,
        "logprobs": true, "top_logprobs": 5, "logit_bias": {"50256": -100},
        "metadata": {"team": "search"}, "user": "user-123", "store": false,
        "stream": true, "stream_options": {"include_usage": true}, "service_tier": "auto"
    });
    let wire: ChatCompletionRequest = serde_json::from_slice(full.to_string().as_bytes()).unwrap();
    let req = openai::request_to_canonical(wire).unwrap();
    assert_eq!(req.n, 2);
    assert_eq!(req.extra["logit_bias"], json!({"50256": -100}));

    let full = json!({
        "model": "claude-sonnet-4-5", "max_tokens": 4096,
        "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
        "messages": [
            {"role": "user", "content": "Weather?"},
            {"role": "assistant", "content": [{"type": "thinking", "thinking": "hm", "signature": "s"}, {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"}]}
        ],
        "tools": [{"name": "get_weather", "description": "d", "input_schema": {"type": "object"}}],
        "tool_choice": {"type": "auto"}, "temperature": 1, "top_p": 0.99, "top_k": 40,
        "stop_sequences": ["END"], "metadata": {"user_id": "u-1"}, "stream": true,
        "thinking": {"type": "enabled", "budget_tokens": 2048}
    });
    let wire: MessagesRequest = serde_json::from_slice(full.to_string().as_bytes()).unwrap();
    anthropic::request_to_canonical(wire).unwrap();

    let full = json!({"model": "text-embedding-3-small", "input": ["a", "b"], "encoding_format": "base64", "dimensions": 256, "user": "u"});
    let wire: EmbeddingRequest = serde_json::from_slice(full.to_string().as_bytes()).unwrap();
    openai::embedding_request_to_canonical(wire).unwrap();
}
