//! Unit tests of the Workers AI translation: request bodies, answers, errors, and the native
//! stream decoder (with a property test over arbitrary network split points).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::wire::{self, Envelope};
use super::*;
use crate::{Endpoint, Family, Quirks};
use bytes::Bytes;
use proptest::prelude::*;
use serde_json::json;
use switchyard_protocol::{
    FinishReason, Message, Part, Role, StreamAccumulator, Tool, ToolCall, ToolChoice,
};

fn request() -> ChatRequest {
    ChatRequest {
        model: "workers/llama".into(),
        messages: vec![
            Message::text(Role::System, "Be terse."),
            Message::text(Role::User, "Weather in Oslo?"),
        ],
        n: 1,
        ..ChatRequest::default()
    }
}

fn weather() -> Tool {
    Tool {
        name: "get_weather".into(),
        description: None,
        parameters: json!({"type": "object", "properties": {"city": {"type": "string"}}}),
        strict: None,
    }
}

#[test]
fn request_body_follows_the_messages_schema() {
    let mut req = request();
    req.tools = vec![weather()];
    req.tool_choice = Some(ToolChoice::Function("get_weather".into()));
    req.temperature = Some(0.2);
    req.seed = Some(7);
    req.messages.push(Message {
        role: Role::Assistant,
        content: Vec::new(),
        tool_calls: vec![ToolCall {
            id: "call_1".into(),
            name: "get_weather".into(),
            arguments: r#"{"city":"Oslo"}"#.into(),
        }],
        tool_call_id: None,
        name: None,
    });
    req.messages.push(Message {
        role: Role::Tool,
        content: vec![Part::Text { text: "4C".into() }],
        tool_calls: Vec::new(),
        tool_call_id: Some("call_1".into()),
        name: None,
    });
    let body = wire::request_from_canonical(&req, Some(100), false).unwrap();
    let value = serde_json::to_value(&body).unwrap();
    assert_eq!(
        value,
        json!({
            "messages": [
                {"role": "system", "content": "Be terse."},
                {"role": "user", "content": "Weather in Oslo?"},
                {"role": "assistant",
                 "content": r#"{"name":"get_weather","parameters":{"city":"Oslo"}}"#,
                 "tool_calls": [{"id": "call_1", "type": "function",
                                 "function": {"name": "get_weather", "arguments": r#"{"city":"Oslo"}"#}}]},
                {"role": "tool", "content": "4C", "name": "get_weather", "tool_call_id": "call_1"}
            ],
            "max_tokens": 100,
            "temperature": 0.2,
            "seed": 7,
            "tools": [{"type": "function", "function": {
                "name": "get_weather", "description": "",
                "parameters": {"type": "object",
                               "properties": {"city": {"type": "string", "description": ""}}}}}],
            "tool_choice": {"type": "function", "function": {"name": "get_weather"}}
        })
    );
}

#[test]
fn json_mode_sends_the_bare_schema_and_tool_choice_none_drops_tools() {
    let mut req = request();
    req.response_format = Some(ResponseFormat::JsonSchema {
        name: "answer".into(),
        schema: json!({"type": "object", "properties": {"a": {"type": "string"}}}),
        strict: Some(true),
    });
    req.tools = vec![weather()];
    req.tool_choice = Some(ToolChoice::None);
    let value =
        serde_json::to_value(wire::request_from_canonical(&req, None, true).unwrap()).unwrap();
    assert_eq!(
        value["response_format"],
        json!({"type": "json_schema",
               "json_schema": {"type": "object", "properties": {"a": {"type": "string"}}}})
    );
    assert_eq!(value["stream"], json!(true));
    assert!(value.get("tools").is_none() && value.get("tool_choice").is_none());
    assert!(value.get("max_tokens").is_none());
    req.response_format = Some(ResponseFormat::JsonObject);
    let value =
        serde_json::to_value(wire::request_from_canonical(&req, None, false).unwrap()).unwrap();
    assert_eq!(value["response_format"], json!({"type": "json_object"}));
}

#[test]
fn what_the_native_api_cannot_express_is_refused() {
    let mut req = request();
    req.n = 2;
    assert_eq!(
        wire::request_from_canonical(&req, None, false)
            .unwrap_err()
            .kind,
        ErrorKind::BadRequest
    );
    let mut req = request();
    req.stop = vec!["\n".into()];
    assert!(wire::request_from_canonical(&req, None, false).is_err());
    let mut req = request();
    req.messages[1].content.push(Part::Image {
        url: "https://example.com/cat.png".into(),
        detail: None,
    });
    assert!(wire::request_from_canonical(&req, None, false).is_err());
}

#[test]
fn documented_tool_calls_get_stable_ids_and_tool_calls_finish() {
    let result = json!({
        "response": null,
        "tool_calls": [{"name": "get_weather", "arguments": {"city": "Oslo"}}],
        "usage": {"prompt_tokens": 30, "completion_tokens": 12, "total_tokens": 42}
    });
    let a = wire::response_to_canonical(result.clone(), "@cf/m", "id".into(), 1, 256).unwrap();
    let b = wire::response_to_canonical(result, "@cf/m", "id".into(), 1, 256).unwrap();
    let call = &a.choices[0].message.tool_calls[0];
    assert_eq!(call.name, "get_weather");
    assert_eq!(call.arguments, r#"{"city":"Oslo"}"#);
    assert!(call.id.starts_with("call_"));
    assert_eq!(call.id, b.choices[0].message.tool_calls[0].id);
    assert_eq!(a.choices[0].finish_reason, FinishReason::ToolCalls);
    assert_eq!((a.usage.input_tokens, a.usage.output_tokens), (30, 12));
    assert!(a.choices[0].message.content.is_empty());
}

#[test]
fn newer_tool_call_shape_keeps_its_id() {
    let result = json!({"response": "", "tool_calls": [
        {"id": "chatcmpl-tool-9", "type": "function",
         "function": {"name": "f", "arguments": "{\"x\":1}"}}]});
    let resp = wire::response_to_canonical(result, "@cf/m", "id".into(), 1, 256).unwrap();
    let call = &resp.choices[0].message.tool_calls[0];
    assert_eq!(
        (call.id.as_str(), call.arguments.as_str()),
        ("chatcmpl-tool-9", "{\"x\":1}")
    );
}

#[test]
fn json_mode_object_becomes_text_and_full_budget_means_length() {
    let result =
        json!({"response": {"a": 1}, "usage": {"prompt_tokens": 5, "completion_tokens": 3}});
    let resp = wire::response_to_canonical(result, "@cf/m", "id".into(), 1, 256).unwrap();
    assert_eq!(resp.choices[0].message.joined_text(), r#"{"a":1}"#);
    assert_eq!(resp.choices[0].finish_reason, FinishReason::Stop);
    let result =
        json!({"response": "cut sh", "usage": {"prompt_tokens": 5, "completion_tokens": 4}});
    let resp = wire::response_to_canonical(result, "@cf/m", "id".into(), 1, 4).unwrap();
    assert_eq!(resp.choices[0].finish_reason, FinishReason::Length);
    let result = json!({"response": "x", "finish_reason": "stop",
                        "usage": {"prompt_tokens": 5, "completion_tokens": 4}});
    let resp = wire::response_to_canonical(result, "@cf/m", "id".into(), 1, 4).unwrap();
    assert_eq!(resp.choices[0].finish_reason, FinishReason::Stop);
}

#[test]
fn openai_shaped_results_are_read_too() {
    let result = json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 5, "model": "@cf/openai/gpt-oss-20b",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "length"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
    });
    let resp = wire::response_to_canonical(result, "@cf/m", "id".into(), 1, 256).unwrap();
    assert_eq!(resp.choices[0].message.joined_text(), "hi");
    assert_eq!(resp.choices[0].finish_reason, FinishReason::Length);
    assert_eq!(resp.usage.output_tokens, 2);
}

#[test]
fn failed_envelopes_are_typed_by_code() {
    let env: Envelope<Value> = serde_json::from_value(json!({
        "result": null, "success": false,
        "errors": [{"code": 3040, "message": "No more data centers to forward the request to"}],
        "messages": []
    }))
    .unwrap();
    let err = env.into_result().unwrap_err();
    assert_eq!(err.kind, ErrorKind::RateLimited);
    assert_eq!(err.status, Some(200));
    let env: Envelope<Value> = serde_json::from_value(json!({
        "success": false, "errors": [{"code": 5006, "message": "AiError: Bad input"}]
    }))
    .unwrap();
    assert_eq!(env.into_result().unwrap_err().kind, ErrorKind::BadRequest);
    let env: Envelope<Value> = serde_json::from_value(json!({"success": true})).unwrap();
    assert_eq!(
        env.into_result().unwrap_err().kind,
        ErrorKind::MalformedReply
    );
}

fn decode_all(datas: &[&str], limit: u32) -> Vec<StreamEvent> {
    let mut decoder = NativeStreamDecoder::new("wai-1".into(), "@cf/m", 9, limit);
    let mut out = Vec::new();
    for data in datas {
        out.extend(decoder.decode(data).unwrap().events);
    }
    out
}

#[test]
fn native_stream_decodes_text_usage_and_inferred_finish() {
    let events = decode_all(
        &[
            r#"{"response":"Hel","p":"abc"}"#,
            r#"{"response":"lo"}"#,
            r#"{"response":"","usage":{"prompt_tokens":7,"completion_tokens":4,"total_tokens":11}}"#,
            "[DONE]",
        ],
        4,
    );
    assert_eq!(
        events,
        vec![
            StreamEvent::Start {
                id: "wai-1".into(),
                model: "@cf/m".into(),
                created: 9
            },
            StreamEvent::Text {
                choice: 0,
                text: "Hel".into()
            },
            StreamEvent::Text {
                choice: 0,
                text: "lo".into()
            },
            StreamEvent::Finish {
                choice: 0,
                reason: FinishReason::Length
            },
            StreamEvent::Usage(Usage {
                input_tokens: 7,
                output_tokens: 4,
                ..Usage::default()
            }),
        ]
    );
}

#[test]
fn streamed_documented_tool_call_matches_the_unstreamed_one() {
    let calls = json!([{"name": "get_weather", "arguments": {"city": "Oslo", "unit": "c"}}]);
    let plain = wire::response_to_canonical(
        json!({"response": "", "tool_calls": calls}),
        "@cf/m",
        "id".into(),
        1,
        256,
    )
    .unwrap();
    let chunk = json!({"response": "", "tool_calls": calls}).to_string();
    let mut acc = StreamAccumulator::default();
    for e in decode_all(&[&chunk, "[DONE]"], 256) {
        acc.push(&e);
    }
    let streamed = acc.finish();
    assert_eq!(
        streamed.choices[0].message.tool_calls,
        plain.choices[0].message.tool_calls
    );
    assert_eq!(streamed.choices[0].finish_reason, FinishReason::ToolCalls);
}

#[test]
fn delta_tool_calls_and_explicit_finish_are_followed() {
    let events = decode_all(
        &[
            r#"{"tool_calls":[{"id":"call123","type":"function","index":0,"function":{"name":"f","arguments":"{\"a\""}}]}"#,
            r#"{"tool_calls":[{"index":0,"function":{"arguments":":1}"}}]}"#,
            r#"{"tool_calls":[{"id":null,"type":null,"function":{"name":null}}]}"#,
            r#"{"finish_reason":"tool_calls"}"#,
            "[DONE]",
        ],
        256,
    );
    let mut acc = StreamAccumulator::default();
    for e in &events {
        acc.push(e);
    }
    let resp = acc.finish();
    let call = &resp.choices[0].message.tool_calls[0];
    assert_eq!(
        (
            call.id.as_str(),
            call.name.as_str(),
            call.arguments.as_str()
        ),
        ("call123", "f", r#"{"a":1}"#)
    );
    assert_eq!(resp.choices[0].message.tool_calls.len(), 1);
    assert_eq!(resp.choices[0].finish_reason, FinishReason::ToolCalls);
}

#[test]
fn openai_shaped_chunks_on_the_run_endpoint_are_decoded_once() {
    let chunk = |delta: &str, finish: &str| {
        format!(
            r#"{{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{{"index":0,"delta":{delta},"finish_reason":{finish}}}]}}"#
        )
    };
    let a = chunk(r#"{"content":"Hi"}"#, "null");
    let b = chunk("{}", r#""stop""#);
    let events = decode_all(&[&a, &b, "[DONE]"], 256);
    let starts = events
        .iter()
        .filter(|e| matches!(e, StreamEvent::Start { .. }))
        .count();
    let finishes = events
        .iter()
        .filter(|e| matches!(e, StreamEvent::Finish { .. }))
        .count();
    assert_eq!((starts, finishes), (1, 1), "{events:?}");
}

#[test]
fn error_events_end_the_stream_with_an_error() {
    let mut decoder = NativeStreamDecoder::new("x".into(), "m", 0, 256);
    let Err(err) = decoder.decode(r#"{"errors":[{"code":3040,"message":"out of capacity"}]}"#)
    else {
        panic!("an error event must fail the stream");
    };
    assert!(err.message.contains("out of capacity"));
    assert!(decoder.decode("{not json").is_err());
}

/// Runs a raw SSE body, delivered in the given pieces, through the SSE parser, the decoder and
/// `decode_stream`, as the adapter does with a live response.
fn decode_body(pieces: Vec<Vec<u8>>) -> Vec<Result<StreamEvent, ErrorKind>> {
    let bytes = futures::stream::iter(pieces.into_iter().map(|p| Ok(Bytes::from(p))));
    let decoder = NativeStreamDecoder::new("wai-p".into(), "@cf/m", 3, 16);
    let stream = decode_native_sse(bytes, decoder);
    futures::executor::block_on(stream.map(|r| r.map_err(|e| e.kind)).collect())
}

fn body_for(texts: &[String], call: bool, usage: (u64, u64), done: bool, crlf: bool) -> Vec<u8> {
    let nl = if crlf { "\r\n" } else { "\n" };
    let mut out = String::new();
    let mut frame = |data: String| {
        out.push_str("data: ");
        out.push_str(&data);
        out.push_str(nl);
        out.push_str(nl);
    };
    for t in texts {
        frame(json!({"response": t, "p": "pad"}).to_string());
    }
    if call {
        frame(
            json!({"response": "", "tool_calls": [{"name": "f", "arguments": {"q": "ü"}}]})
                .to_string(),
        );
    }
    frame(
        json!({"response": "", "usage": {"prompt_tokens": usage.0, "completion_tokens": usage.1}})
            .to_string(),
    );
    if done {
        frame("[DONE]".into());
    }
    out.into_bytes()
}

fn split_at(body: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (body.len() + 1)).collect();
    points.sort_unstable();
    let mut out = Vec::new();
    let mut start = 0;
    for p in points {
        out.push(body[start..p].to_vec());
        start = p;
    }
    out.push(body[start..].to_vec());
    out
}

proptest! {
    #[test]
    fn any_split_of_the_body_decodes_to_the_same_events(
        texts in proptest::collection::vec("[a-zA-Z0-9 .,é漢\n\"\\\\]{0,12}", 0..8),
        call in any::<bool>(),
        usage in (0u64..50, 0u64..50),
        done in any::<bool>(),
        crlf in any::<bool>(),
        cuts in proptest::collection::vec(any::<usize>(), 0..12),
    ) {
        let body = body_for(&texts, call, usage, done, crlf);
        let whole = decode_body(vec![body.clone()]);
        let pieces = decode_body(split_at(&body, &cuts));
        prop_assert_eq!(&whole, &pieces);
        let text: String = whole
            .iter()
            .filter_map(|e| match e {
                Ok(StreamEvent::Text { text, .. }) => Some(text.as_str()),
                _ => None,
            })
            .collect();
        prop_assert_eq!(text, texts.concat());
        // A stream without `[DONE]` is never a silent success.
        prop_assert_eq!(whole.last().map(Result::is_err), Some(!done));
    }
}

fn endpoint(quirks: Quirks) -> Endpoint {
    Endpoint {
        name: "workers".into(),
        family: Family::WorkersAi,
        base_url: DEFAULT_BASE_URL.into(),
        credentials: Credentials::ApiKey("secret-token".into()),
        region: None,
        quirks,
    }
}

#[tokio::test]
async fn a_missing_account_id_or_odd_model_is_refused_before_any_request() {
    let http = http::client().unwrap();
    let no_account = endpoint(Quirks::default());
    let call = Call {
        http: &http,
        endpoint: &no_account,
        model: "@cf/meta/llama-3.1-8b-instruct",
        timeout: std::time::Duration::from_millis(50),
    };
    let err = WorkersAi.chat(call, &request()).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadRequest);
    assert!(err.message.contains("account_id"), "{err}");
    assert!(!err.message.contains("secret-token"));
    let with_account = endpoint(Quirks {
        account_id: Some("0123abcd".into()),
        ..Quirks::default()
    });
    for model in ["@cf/../../zones", "@cf/m?x=1", ""] {
        let call = Call {
            model,
            endpoint: &with_account,
            ..call
        };
        let err = WorkersAi.chat(call, &request()).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::BadRequest, "{model}");
    }
    let odd_account = endpoint(Quirks {
        account_id: Some("abc/../x".into()),
        ..Quirks::default()
    });
    let call = Call {
        endpoint: &odd_account,
        ..call
    };
    assert!(WorkersAi.chat(call, &request()).await.is_err());
}

#[test]
fn run_urls_and_compat_bodies_are_shaped_as_documented() {
    let http = http::client().unwrap();
    let ep = endpoint(Quirks {
        account_id: Some("acc".into()),
        openai_compatible: true,
        ..Quirks::default()
    });
    let call = Call {
        http: &http,
        endpoint: &ep,
        model: "@cf/meta/llama-3.1-8b-instruct",
        timeout: std::time::Duration::from_secs(1),
    };
    assert_eq!(
        run_url(call).unwrap().as_str(),
        "https://api.cloudflare.com/client/v4/accounts/acc/ai/run/@cf/meta/llama-3.1-8b-instruct"
    );
    assert_eq!(
        compat_url(call, "embeddings").unwrap().as_str(),
        "https://api.cloudflare.com/client/v4/accounts/acc/ai/v1/embeddings"
    );
    let mut req = request();
    req.max_tokens = Some(12);
    let body = compat_body(call, &req, false);
    assert_eq!(
        (body.max_tokens, body.max_completion_tokens),
        (Some(12), None)
    );
    assert_eq!(body.model, "@cf/meta/llama-3.1-8b-instruct");
}

#[test]
fn replay_folds_back_to_the_answer() {
    let result =
        json!({"response": {"k": "v"}, "usage": {"prompt_tokens": 2, "completion_tokens": 3}});
    let resp = wire::response_to_canonical(result, "@cf/m", "id".into(), 4, 256).unwrap();
    let mut acc = StreamAccumulator::default();
    for e in replay(&resp) {
        acc.push(&e);
    }
    assert_eq!(acc.finish(), resp);
}
