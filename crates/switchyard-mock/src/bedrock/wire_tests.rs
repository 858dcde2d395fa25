//! Unit tests of the mock's Converse checks: it refuses what Bedrock refuses.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;

fn parse(body: Value) -> Result<ChatRequest, String> {
    let input: ConverseInput = serde_json::from_value(body).map_err(|e| e.to_string())?;
    to_canonical(input, "m", false)
}

fn user(text: &str) -> Value {
    json!({"role": "user", "content": [{"text": text}]})
}

fn tools() -> Value {
    json!({"tools": [{"toolSpec": {"name": "get_weather", "inputSchema": {"json": {"type": "object"}}}}]})
}

#[test]
fn full_request_maps_to_canonical() {
    let req = parse(json!({
        "messages": [
            user("Weather?"),
            {"role": "assistant", "content": [{"toolUse": {"toolUseId": "t1", "name": "get_weather", "input": {"city": "Oslo"}}}]},
            {"role": "user", "content": [
                {"toolResult": {"toolUseId": "t1", "content": [{"json": {"temp": 4}}], "status": "success"}},
                {"text": "Thanks"}
            ]}
        ],
        "system": [{"text": "Be terse."}, {"cachePoint": {"type": "default"}}],
        "inferenceConfig": {"maxTokens": 50, "temperature": 0.5, "topP": 0.9, "stopSequences": ["X"]},
        "toolConfig": {"tools": tools()["tools"], "toolChoice": {"tool": {"name": "get_weather"}}}
    }))
    .unwrap();
    let roles: Vec<Role> = req.messages.iter().map(|m| m.role).collect();
    assert_eq!(
        roles,
        [
            Role::System,
            Role::User,
            Role::Assistant,
            Role::Tool,
            Role::User
        ]
    );
    assert_eq!(req.messages[3].tool_call_id.as_deref(), Some("t1"));
    assert_eq!(req.messages[3].joined_text(), r#"{"temp":4}"#);
    assert_eq!(req.max_tokens, Some(50));
    assert_eq!(req.stop, ["X"]);
    assert_eq!(
        req.tool_choice,
        Some(ToolChoice::Function("get_weather".into()))
    );
}

#[test]
fn unknown_members_and_union_shapes_are_refused() {
    assert!(parse(json!({"messages": [user("hi")], "maxTokens": 5})).is_err());
    assert!(
        parse(json!({"messages": [{"role": "user", "content": [{"text": "a", "image": {}}]}]}))
            .is_err()
    );
    assert!(parse(json!({"messages": [{"role": "user", "content": [{"bogus": "a"}]}]})).is_err());
    assert!(parse(json!({"messages": [{"role": "system", "content": [{"text": "a"}]}]})).is_err());
}

#[test]
fn conversation_rules() {
    let err = parse(json!({"messages": []})).unwrap_err();
    assert!(err.contains("must start with a user message"), "{err}");
    let err = parse(json!({"messages": [user("a"), user("b")]})).unwrap_err();
    assert!(err.contains("alternate"), "{err}");
    let err = parse(json!({"messages": [user(" ")]})).unwrap_err();
    assert!(err.contains("blank"), "{err}");
    let err = parse(json!({"messages": [{"role": "user", "content": []}]})).unwrap_err();
    assert!(err.contains("empty"), "{err}");
}

#[test]
fn tool_rules() {
    let with_use = json!([
        user("a"),
        {"role": "assistant", "content": [{"toolUse": {"toolUseId": "t1", "name": "get_weather", "input": {}}}]},
        {"role": "user", "content": [{"toolResult": {"toolUseId": "t2", "content": [{"text": "x"}]}}]}
    ]);
    let err = parse(json!({"messages": with_use})).unwrap_err();
    assert!(err.contains("toolConfig field must be defined"), "{err}");
    let err = parse(json!({"messages": with_use, "toolConfig": tools()})).unwrap_err();
    assert!(err.contains("does not match"), "{err}");
    let err = parse(json!({
        "messages": [user("a")],
        "toolConfig": {"tools": tools()["tools"], "toolChoice": {"tool": {"name": "other"}}}
    }))
    .unwrap_err();
    assert!(err.contains("other"), "{err}");
    let err = parse(json!({"messages": [user("a")], "toolConfig": {"tools": []}})).unwrap_err();
    assert!(err.contains("length"), "{err}");
}

#[test]
fn inference_bounds() {
    for config in [
        json!({"temperature": 1.5}),
        json!({"topP": -0.1}),
        json!({"maxTokens": 0}),
        json!({"stopSequences": [""]}),
    ] {
        assert!(
            parse(json!({"messages": [user("a")], "inferenceConfig": config})).is_err(),
            "{config}"
        );
    }
}

#[test]
fn images_need_base64_bytes() {
    let image = |bytes: &str| {
        json!({"messages": [{"role": "user", "content": [
            {"image": {"format": "png", "source": {"bytes": bytes}}}
        ]}]})
    };
    assert!(parse(image("iVBORw0KGgo=")).is_ok());
    assert!(parse(image("not base64!")).is_err());
    assert!(
        parse(json!({"messages": [{"role": "user", "content": [
            {"image": {"format": "bmp", "source": {"bytes": "AAAA"}}}
        ]}]}))
        .is_err()
    );
}

#[test]
fn titan_bodies() {
    let ok: TitanEmbedIn =
        serde_json::from_value(json!({"inputText": "hi", "dimensions": 256})).unwrap();
    assert!(check_titan(&ok).is_ok());
    let bad: TitanEmbedIn =
        serde_json::from_value(json!({"inputText": "hi", "dimensions": 300})).unwrap();
    assert!(check_titan(&bad).is_err());
    assert!(serde_json::from_value::<TitanEmbedIn>(json!({"input": "hi"})).is_err());
}
