//! Unit tests of the Converse conversions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use serde_json::json;
use switchyard_protocol::{ResponseFormat, Tool};

fn text(role: Role, t: &str) -> CanonicalMessage {
    CanonicalMessage::text(role, t)
}

fn base() -> ChatRequest {
    ChatRequest {
        model: "m".into(),
        messages: vec![text(Role::System, "Be terse."), text(Role::User, "Hi")],
        n: 1,
        ..ChatRequest::default()
    }
}

fn to_json(req: &ChatRequest) -> Value {
    serde_json::to_value(request_from_canonical(req, Options::default()).unwrap()).unwrap()
}

#[test]
fn plain_request_shape() {
    let mut req = base();
    req.max_tokens = Some(100);
    req.temperature = Some(1.7);
    req.top_p = Some(0.9);
    req.stop = vec!["END".into()];
    assert_eq!(
        to_json(&req),
        json!({
            "messages": [{"role": "user", "content": [{"text": "Hi"}]}],
            "system": [{"text": "Be terse."}],
            "inferenceConfig": {"maxTokens": 100, "temperature": 1.0, "topP": 0.9, "stopSequences": ["END"]}
        })
    );
}

#[test]
fn max_tokens_default_only_when_configured() {
    let req = base();
    assert!(to_json(&req).get("inferenceConfig").is_none());
    let body = request_from_canonical(
        &req,
        Options {
            default_max_tokens: Some(4096),
        },
    )
    .unwrap();
    assert_eq!(body.inference_config.unwrap().max_tokens, Some(4096));
}

#[test]
fn tools_and_choices() {
    let mut req = base();
    req.tools = vec![Tool {
        name: "get_weather".into(),
        description: Some("Weather".into()),
        parameters: json!({"type": "object"}),
        strict: None,
    }];
    let expect_choice = |choice: Option<ToolChoice>, wire: Option<Value>| {
        let mut r = req.clone();
        r.tool_choice = choice;
        let body = to_json(&r);
        assert_eq!(
            body["toolConfig"]["tools"][0],
            json!({"toolSpec": {"name": "get_weather", "description": "Weather", "inputSchema": {"json": {"type": "object"}}}})
        );
        assert_eq!(body["toolConfig"].get("toolChoice").cloned(), wire);
    };
    expect_choice(None, None);
    expect_choice(Some(ToolChoice::Auto), Some(json!({"auto": {}})));
    expect_choice(Some(ToolChoice::Required), Some(json!({"any": {}})));
    expect_choice(
        Some(ToolChoice::Function("get_weather".into())),
        Some(json!({"tool": {"name": "get_weather"}})),
    );
    let mut none = req.clone();
    none.tool_choice = Some(ToolChoice::None);
    assert!(to_json(&none).get("toolConfig").is_none());
}

#[test]
fn tool_round_trip_merges_turns() {
    let mut req = base();
    req.tools = vec![Tool {
        name: "get_weather".into(),
        description: None,
        parameters: json!({"type": "object"}),
        strict: Some(true),
    }];
    req.tool_choice = Some(ToolChoice::None);
    req.messages.push(CanonicalMessage {
        role: Role::Assistant,
        content: Vec::new(),
        tool_calls: vec![
            ToolCall {
                id: "t1".into(),
                name: "get_weather".into(),
                arguments: r#"{"city":"Oslo"}"#.into(),
            },
            ToolCall {
                id: "t2".into(),
                name: "get_weather".into(),
                arguments: "not json".into(),
            },
        ],
        tool_call_id: None,
        name: None,
    });
    for id in ["t1", "t2"] {
        req.messages.push(CanonicalMessage {
            role: Role::Tool,
            content: vec![Part::Text { text: "4C".into() }],
            tool_calls: Vec::new(),
            tool_call_id: Some(id.into()),
            name: None,
        });
    }
    req.messages.push(text(Role::User, "And tomorrow?"));
    let body = to_json(&req);
    assert_eq!(
        body["messages"],
        json!([
            {"role": "user", "content": [{"text": "Hi"}]},
            {"role": "assistant", "content": [
                {"toolUse": {"toolUseId": "t1", "name": "get_weather", "input": {"city": "Oslo"}}},
                {"toolUse": {"toolUseId": "t2", "name": "get_weather", "input": {}}}
            ]},
            {"role": "user", "content": [
                {"toolResult": {"toolUseId": "t1", "content": [{"text": "4C"}]}},
                {"toolResult": {"toolUseId": "t2", "content": [{"text": "4C"}]}},
                {"text": "And tomorrow?"}
            ]}
        ])
    );
    // Tool blocks in the history need a toolConfig even when the choice is "none".
    assert_eq!(
        body["toolConfig"],
        json!({"tools": [{"toolSpec": {"name": "get_weather", "inputSchema": {"json": {"type": "object"}}, "strict": true}}]})
    );
}

#[test]
fn images_inline_and_from_s3() {
    let mut req = base();
    req.messages[1].content.push(Part::Image {
        url: "data:image/jpeg;base64,/9j/AAAA".into(),
        detail: None,
    });
    req.messages[1].content.push(Part::Image {
        url: "s3://bucket/cat.PNG".into(),
        detail: None,
    });
    assert_eq!(
        to_json(&req)["messages"][0]["content"],
        json!([
            {"text": "Hi"},
            {"image": {"format": "jpeg", "source": {"bytes": "/9j/AAAA"}}},
            {"image": {"format": "png", "source": {"s3Location": {"uri": "s3://bucket/cat.PNG"}}}}
        ])
    );
    req.messages[1].content = vec![Part::Image {
        url: "https://example.com/cat.png".into(),
        detail: None,
    }];
    let err = request_from_canonical(&req, Options::default()).unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadRequest);
}

#[test]
fn json_mode_is_a_system_instruction() {
    let mut req = base();
    req.response_format = Some(ResponseFormat::JsonObject);
    let body = to_json(&req);
    assert_eq!(body["system"][0], json!({"text": "Be terse."}));
    assert!(
        body["system"][1]["text"]
            .as_str()
            .unwrap()
            .contains("JSON object")
    );
}

#[test]
fn n_above_one_is_refused() {
    let mut req = base();
    req.n = 2;
    assert_eq!(
        request_from_canonical(&req, Options::default())
            .unwrap_err()
            .kind,
        ErrorKind::BadRequest
    );
}

#[test]
fn response_with_tool_use_and_cache_usage() {
    let resp: ConverseResponse = serde_json::from_value(json!({
        "output": {"message": {"role": "assistant", "content": [
            {"text": "Checking."},
            {"reasoningContent": {"reasoningText": {"text": "hmm"}}},
            {"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather", "input": {"city": "Oslo"}}}
        ]}},
        "stopReason": "tool_use",
        "usage": {"inputTokens": 10, "outputTokens": 5, "totalTokens": 45,
                  "cacheReadInputTokens": 20, "cacheWriteInputTokens": 10},
        "metrics": {"latencyMs": 120}
    }))
    .unwrap();
    let out = response_to_canonical(resp, "req-1".into(), "model-x", 7).unwrap();
    assert_eq!(out.id, "req-1");
    let choice = &out.choices[0];
    assert_eq!(choice.finish_reason, FinishReason::ToolCalls);
    assert_eq!(choice.message.joined_text(), "Checking.");
    assert_eq!(choice.message.tool_calls[0].id, "tooluse_1");
    assert_eq!(choice.message.tool_calls[0].arguments, r#"{"city":"Oslo"}"#);
    assert_eq!(
        out.usage,
        Usage {
            input_tokens: 40,
            output_tokens: 5,
            cached_input_tokens: 20,
            cache_write_tokens: 10,
            reasoning_tokens: 0,
        }
    );
}

#[test]
fn stop_reasons() {
    for (wire, reason) in [
        ("end_turn", FinishReason::Stop),
        ("stop_sequence", FinishReason::Stop),
        ("tool_use", FinishReason::ToolCalls),
        ("max_tokens", FinishReason::Length),
        ("guardrail_intervened", FinishReason::ContentFilter),
        ("content_filtered", FinishReason::ContentFilter),
        ("something_new", FinishReason::Stop),
    ] {
        assert_eq!(finish_reason(wire).unwrap(), reason, "{wire}");
    }
    assert_eq!(
        finish_reason("malformed_tool_use").unwrap_err().kind,
        ErrorKind::MalformedReply
    );
}
