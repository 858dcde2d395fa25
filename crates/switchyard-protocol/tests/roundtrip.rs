//! Properties of the canonical conversions: what the gateway sends upstream in a family's
//! format reads back as the same canonical request, and answers survive the trip to a client's
//! format and back.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use serde_json::json;
use switchyard_protocol::*;

fn text() -> impl Strategy<Value = String> {
    "[ -~äöüß✓😀\n]{1,40}"
}

fn tool_call() -> impl Strategy<Value = ToolCall> {
    ("[a-zA-Z0-9_]{1,12}", "[a-z_]{1,10}", any::<i32>()).prop_map(|(id, name, n)| ToolCall {
        id: format!("call_{id}"),
        name,
        arguments: json!({"n": n}).to_string(),
    })
}

/// A well-formed conversation: optional system, then user/assistant turns, assistant tool calls
/// answered by tool messages.
fn conversation() -> impl Strategy<Value = Vec<Message>> {
    let turn = prop_oneof![
        text().prop_map(|t| vec![Message::text(Role::User, t)]),
        text().prop_map(|t| vec![Message::text(Role::Assistant, t)]),
        (proptest::collection::vec(tool_call(), 1..3), text()).prop_map(|(calls, result)| {
            let mut out = vec![Message {
                role: Role::Assistant,
                content: Vec::new(),
                tool_calls: calls.clone(),
                tool_call_id: None,
                name: None,
            }];
            for c in calls {
                out.push(Message {
                    role: Role::Tool,
                    content: vec![Part::Text {
                        text: result.clone(),
                    }],
                    tool_calls: Vec::new(),
                    tool_call_id: Some(c.id),
                    name: None,
                });
            }
            out
        }),
    ];
    (
        proptest::option::of(text()),
        proptest::collection::vec(turn, 1..5),
    )
        .prop_map(|(system, turns)| {
            let mut messages: Vec<Message> = system
                .map(|s| Message::text(Role::System, s))
                .into_iter()
                .collect();
            messages.push(Message::text(Role::User, "start"));
            messages.extend(turns.into_iter().flatten());
            messages
        })
}

fn request() -> impl Strategy<Value = ChatRequest> {
    (
        conversation(),
        proptest::option::of(1u32..4096),
        proptest::option::of(0.0f64..2.0),
        proptest::option::of(any::<i64>()),
        proptest::collection::vec("[a-z]{1,5}", 0..4),
        1u32..4,
        any::<bool>(),
    )
        .prop_map(|(messages, max_tokens, temperature, seed, stop, n, with_tool)| ChatRequest {
            model: "m".into(),
            messages,
            tools: if with_tool {
                vec![Tool {
                    name: "f".into(),
                    description: Some("d".into()),
                    parameters: json!({"type": "object", "properties": {"n": {"type": "integer"}}}),
                    strict: None,
                }]
            } else {
                Vec::new()
            },
            tool_choice: with_tool.then(|| ToolChoice::Function("f".into())),
            max_tokens,
            temperature,
            seed,
            stop,
            n,
            ..ChatRequest::default()
        })
}

proptest! {
    #[test]
    fn openai_request_round_trips(req in request()) {
        let wire = openai::request_from_canonical(&req, "m");
        let json = serde_json::to_string(&wire).unwrap();
        let parsed: openai::ChatCompletionRequest = serde_json::from_str(&json).unwrap();
        let back = openai::request_to_canonical(parsed).unwrap();
        prop_assert_eq!(back, req);
    }

    #[test]
    fn anthropic_request_keeps_every_turn_and_tool_call(req in request()) {
        let mut req = req;
        req.n = 1;
        req.seed = None;
        let wire = anthropic::request_from_canonical(&req, "m", 1024);
        let json = serde_json::to_string(&wire).unwrap();
        let parsed: anthropic::MessagesRequest = serde_json::from_str(&json).unwrap();
        let back = anthropic::request_to_canonical(parsed).unwrap();
        prop_assert_eq!(back.system_text(), req.system_text());
        let calls = |r: &ChatRequest| -> Vec<(String, String, serde_json::Value)> {
            r.messages.iter().flat_map(|m| m.tool_calls.iter()).map(|c| {
                (c.id.clone(), c.name.clone(), serde_json::from_str(&c.arguments).unwrap())
            }).collect()
        };
        prop_assert_eq!(calls(&back), calls(&req));
        let results = |r: &ChatRequest| -> Vec<(Option<String>, String)> {
            r.messages.iter().filter(|m| m.role == Role::Tool).map(|m| (m.tool_call_id.clone(), m.joined_text())).collect()
        };
        prop_assert_eq!(results(&back), results(&req));
        let texts = |r: &ChatRequest| -> String {
            r.messages.iter().filter(|m| matches!(m.role, Role::User | Role::Assistant)).map(Message::joined_text).collect()
        };
        prop_assert_eq!(texts(&back), texts(&req));
        prop_assert_eq!(back.max_tokens, req.max_tokens.or(Some(1024)));
        prop_assert_eq!(back.stop, req.stop);
    }

    #[test]
    fn responses_round_trip_through_both_client_formats(content in text(), calls in proptest::collection::vec(tool_call(), 0..3), input in 0u64..100_000, output in 0u64..10_000, cached in 0u64..1000) {
        let usage = Usage { input_tokens: input + cached, output_tokens: output, cached_input_tokens: cached, ..Usage::default() };
        let finish_reason = if calls.is_empty() { FinishReason::Stop } else { FinishReason::ToolCalls };
        let resp = ChatResponse {
            id: "msg_1".into(),
            model: "m".into(),
            created: 5,
            choices: vec![Choice {
                index: 0,
                message: Message { role: Role::Assistant, content: vec![Part::Text { text: content }], tool_calls: calls, tool_call_id: None, name: None },
                finish_reason,
            }],
            usage,
        };
        let o = openai::response_to_canonical(serde_json::from_str(&serde_json::to_string(&openai::response_from_canonical(&resp, "m")).unwrap()).unwrap());
        prop_assert_eq!(&o, &resp);
        let a = anthropic::response_to_canonical(serde_json::from_str(&serde_json::to_string(&anthropic::response_from_canonical(&resp, "m")).unwrap()).unwrap());
        prop_assert_eq!(&a.choices[0].message.tool_calls.iter().map(|c| serde_json::from_str::<serde_json::Value>(&c.arguments).unwrap()).collect::<Vec<_>>(),
            &resp.choices[0].message.tool_calls.iter().map(|c| serde_json::from_str::<serde_json::Value>(&c.arguments).unwrap()).collect::<Vec<_>>());
        prop_assert_eq!(a.choices[0].message.joined_text(), resp.choices[0].message.joined_text());
        prop_assert_eq!(a.usage, resp.usage);
        prop_assert_eq!(a.choices[0].finish_reason, resp.choices[0].finish_reason);
    }
}
