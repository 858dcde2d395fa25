//! Unit tests of the Gemini conversions and stream decoding, with a property test that any
//! split of an SSE body decodes to the same events.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use futures::StreamExt;
use proptest::prelude::*;
use serde_json::{Value, json};
use switchyard_protocol::{
    FinishReason, Message, Part as CanonicalPart, ResponseFormat, Role, StreamEvent, Tool,
    ToolCall, ToolChoice,
};

fn request() -> ChatRequest {
    ChatRequest {
        model: "gemini/gemini-2.5-flash".into(),
        messages: vec![
            Message::text(Role::System, "Be terse."),
            Message::text(Role::User, "Weather in Oslo and Bergen?"),
        ],
        n: 1,
        ..ChatRequest::default()
    }
}

fn body(req: &ChatRequest) -> Value {
    serde_json::to_value(request_from_canonical(req).unwrap()).unwrap()
}

fn call(id: &str) -> ToolCall {
    ToolCall {
        id: id.into(),
        name: "get_weather".into(),
        arguments: r#"{"city":"Oslo"}"#.into(),
    }
}

fn tool_result(id: &str, text: &str) -> Message {
    Message {
        role: Role::Tool,
        content: vec![CanonicalPart::Text { text: text.into() }],
        tool_calls: Vec::new(),
        tool_call_id: Some(id.into()),
        name: None,
    }
}

#[test]
fn system_roles_and_generation_config() {
    let mut req = request();
    req.max_tokens = Some(64);
    req.temperature = Some(0.5);
    req.top_p = Some(0.9);
    req.stop = vec!["END".into()];
    req.seed = Some(7);
    req.n = 2;
    let b = body(&req);
    assert_eq!(
        b["systemInstruction"],
        json!({"parts": [{"text": "Be terse."}]})
    );
    assert_eq!(b["contents"][0]["role"], "user");
    assert_eq!(b["contents"].as_array().unwrap().len(), 1);
    assert_eq!(
        b["generationConfig"],
        json!({"stopSequences": ["END"], "candidateCount": 2, "maxOutputTokens": 64,
               "temperature": 0.5, "topP": 0.9, "seed": 7})
    );
    assert!(b.get("tools").is_none() && b.get("toolConfig").is_none());
    req.seed = Some(1 << 40);
    assert_eq!(
        request_from_canonical(&req).unwrap_err().kind,
        ErrorKind::BadRequest
    );
}

#[test]
fn json_modes() {
    let mut req = request();
    req.response_format = Some(ResponseFormat::JsonObject);
    assert_eq!(
        body(&req)["generationConfig"],
        json!({"responseMimeType": "application/json"})
    );
    let schema = json!({"type": "object", "properties": {"a": {"type": ["string", "null"]}},
                        "additionalProperties": false});
    req.response_format = Some(ResponseFormat::JsonSchema {
        name: "x".into(),
        schema: schema.clone(),
        strict: Some(true),
    });
    let b = body(&req);
    assert_eq!(
        b["generationConfig"]["responseMimeType"],
        "application/json"
    );
    assert_eq!(b["generationConfig"]["responseJsonSchema"], schema);
}

#[test]
fn tools_and_choices() {
    let mut req = request();
    req.tools = vec![Tool {
        name: "get_weather".into(),
        description: Some("Weather".into()),
        parameters: json!({"type": "object", "properties": {"city": {"type": "string"}}}),
        strict: None,
    }];
    let b = body(&req);
    assert_eq!(
        b["tools"][0]["functionDeclarations"][0]["name"],
        "get_weather"
    );
    assert_eq!(
        b["tools"][0]["functionDeclarations"][0]["parametersJsonSchema"]["properties"]["city"],
        json!({"type": "string"})
    );
    assert!(b.get("toolConfig").is_none());
    for (choice, expected) in [
        (ToolChoice::Auto, json!({"mode": "AUTO"})),
        (ToolChoice::None, json!({"mode": "NONE"})),
        (ToolChoice::Required, json!({"mode": "ANY"})),
        (
            ToolChoice::Function("get_weather".into()),
            json!({"mode": "ANY", "allowedFunctionNames": ["get_weather"]}),
        ),
    ] {
        req.tool_choice = Some(choice);
        assert_eq!(body(&req)["toolConfig"]["functionCallingConfig"], expected);
    }
}

#[test]
fn tool_round_trip_names_responses_and_hides_synthetic_ids() {
    let mut req = request();
    let synthetic = format!("{SYNTHETIC_ID_PREFIX}0123456789abcdef");
    req.messages.push(Message {
        role: Role::Assistant,
        content: Vec::new(),
        tool_calls: vec![call(&synthetic), call("call_foreign")],
        tool_call_id: None,
        name: None,
    });
    req.messages.push(tool_result(&synthetic, r#"{"temp": 4}"#));
    req.messages.push(tool_result("call_foreign", "sunny"));
    let b = body(&req);
    let contents = b["contents"].as_array().unwrap();
    assert_eq!(contents.len(), 3, "{b}");
    let model = &contents[1];
    assert_eq!(model["role"], "model");
    assert_eq!(
        model["parts"][0],
        json!({"functionCall": {"name": "get_weather", "args": {"city": "Oslo"}},
               "thoughtSignature": SKIP_SIGNATURE})
    );
    assert_eq!(model["parts"][1]["functionCall"]["id"], "call_foreign");
    assert!(model["parts"][1].get("thoughtSignature").is_none());
    let answers = &contents[2];
    assert_eq!(answers["role"], "user");
    assert_eq!(
        answers["parts"][0],
        json!({"functionResponse": {"name": "get_weather", "response": {"temp": 4}}})
    );
    assert_eq!(
        answers["parts"][1],
        json!({"functionResponse": {"id": "call_foreign", "name": "get_weather",
                                    "response": {"output": "sunny"}}})
    );
    req.messages.push(tool_result("unknown", "x"));
    assert_eq!(
        request_from_canonical(&req).unwrap_err().kind,
        ErrorKind::BadRequest
    );
}

#[test]
fn images_inline_and_by_reference() {
    let mut req = request();
    req.messages[1].content.push(CanonicalPart::Image {
        url: "data:image/jpeg;base64,/9j/AAAA".into(),
        detail: None,
    });
    req.messages[1].content.push(CanonicalPart::Image {
        url: "https://example.com/cat.PNG?x=1".into(),
        detail: None,
    });
    let parts = body(&req)["contents"][0]["parts"].clone();
    assert_eq!(
        parts[1],
        json!({"inlineData": {"mimeType": "image/jpeg", "data": "/9j/AAAA"}})
    );
    assert_eq!(
        parts[2],
        json!({"fileData": {"mimeType": "image/png", "fileUri": "https://example.com/cat.PNG?x=1"}})
    );
    req.messages[1].content = vec![CanonicalPart::Image {
        url: "data:text/plain,hello".into(),
        detail: None,
    }];
    assert_eq!(
        request_from_canonical(&req).unwrap_err().kind,
        ErrorKind::BadRequest
    );
}

fn parse(v: Value) -> wire::GenerateContentResponse {
    serde_json::from_value(v).unwrap()
}

#[test]
fn response_usage_finish_and_calls() {
    let resp = parse(json!({
        "candidates": [
            {"index": 1, "content": {"role": "model", "parts": [{"text": "cut"}]}, "finishReason": "MAX_TOKENS"},
            {"content": {"role": "model", "parts": [
                {"text": "thinking…", "thought": true},
                {"functionCall": {"name": "get_weather", "args": {"city": "Oslo"}}, "thoughtSignature": "abc="},
                {"functionCall": {"id": "given", "name": "get_weather", "args": {"city": "Bergen"}}}
            ]}, "finishReason": "STOP", "safetyRatings": []}
        ],
        "usageMetadata": {"promptTokenCount": 100, "cachedContentTokenCount": 40,
            "candidatesTokenCount": 20, "thoughtsTokenCount": 30, "totalTokenCount": 150},
        "modelVersion": "gemini-2.5-flash-001", "responseId": "resp1"
    }));
    let out = response_to_canonical(resp.clone(), "fallback").unwrap();
    assert_eq!(out.id, "resp1");
    assert_eq!(out.model, "gemini-2.5-flash-001");
    assert_eq!(out.choices[0].index, 0);
    assert_eq!(out.choices[0].finish_reason, FinishReason::ToolCalls);
    assert!(
        out.choices[0].message.content.is_empty(),
        "thoughts are not the answer"
    );
    let calls = &out.choices[0].message.tool_calls;
    assert!(calls[0].id.starts_with(SYNTHETIC_ID_PREFIX));
    assert_eq!(calls[0].arguments, r#"{"city":"Oslo"}"#);
    assert_eq!(calls[1].id, "given");
    assert_eq!(out.choices[1].finish_reason, FinishReason::Length);
    assert_eq!(out.choices[1].message.joined_text(), "cut");
    assert_eq!(
        out.usage,
        Usage {
            input_tokens: 100,
            output_tokens: 50,
            cached_input_tokens: 40,
            cache_write_tokens: 0,
            reasoning_tokens: 30
        }
    );
    let again = response_to_canonical(resp, "fallback").unwrap();
    assert_eq!(
        again.choices[0].message.tool_calls[0].id, calls[0].id,
        "ids are stable"
    );
}

#[test]
fn finish_reasons_and_refusals() {
    for (reason, expected) in [
        ("STOP", FinishReason::Stop),
        ("MAX_TOKENS", FinishReason::Length),
        ("SAFETY", FinishReason::ContentFilter),
        ("RECITATION", FinishReason::ContentFilter),
        ("PROHIBITED_CONTENT", FinishReason::ContentFilter),
        ("OTHER", FinishReason::Stop),
        ("SOMETHING_NEW", FinishReason::Stop),
    ] {
        let resp = parse(json!({"candidates": [{"finishReason": reason}]}));
        assert_eq!(
            response_to_canonical(resp, "m").unwrap().choices[0].finish_reason,
            expected
        );
    }
    let refused = parse(json!({"promptFeedback": {"blockReason": "SAFETY"}}));
    assert_eq!(
        response_to_canonical(refused, "m").unwrap_err().kind,
        ErrorKind::ContentFiltered
    );
    let empty = parse(json!({}));
    assert_eq!(
        response_to_canonical(empty, "m").unwrap_err().kind,
        ErrorKind::MalformedReply
    );
}

#[test]
fn model_resources_are_checked() {
    assert_eq!(
        model_resource("gemini-2.5-flash").unwrap(),
        "models/gemini-2.5-flash"
    );
    assert_eq!(
        model_resource("models/gemini-pro").unwrap(),
        "models/gemini-pro"
    );
    assert_eq!(
        model_resource("tunedModels/my-1").unwrap(),
        "tunedModels/my-1"
    );
    for bad in ["", "..", "a/b/c", "x?key=1", "files/x", "a b"] {
        assert!(model_resource(bad).is_err(), "{bad}");
    }
}

/// A stream's chunks as SSE, the way Gemini frames them (CRLF).
fn sse_body(chunks: &[Value]) -> String {
    chunks
        .iter()
        .map(|c| format!("data: {c}\r\n\r\n"))
        .collect()
}

fn weather_stream() -> Vec<Value> {
    vec![
        json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "Hel"}]}, "index": 0}],
               "usageMetadata": {"promptTokenCount": 9, "totalTokenCount": 9}, "responseId": "r9"}),
        json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "lo ✓ wörld"}]}}],
               "responseId": "r9"}),
        json!({"candidates": [{"content": {"role": "model", "parts": [
                  {"functionCall": {"name": "f", "args": {"k": [1, 2]}}}]}, "finishReason": "STOP"}],
               "usageMetadata": {"promptTokenCount": 9, "candidatesTokenCount": 7, "totalTokenCount": 16},
               "responseId": "r9"}),
    ]
}

fn decode_pieces(pieces: Vec<Vec<u8>>, cut: bool) -> (Vec<StreamEvent>, Option<ProviderError>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let mut items: Vec<Result<bytes::Bytes, std::io::Error>> = pieces
            .into_iter()
            .map(|p| Ok(bytes::Bytes::from(p)))
            .collect();
        if cut {
            items.push(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "cut",
            )));
        }
        let body = reqwest::Body::wrap_stream(futures::stream::iter(items));
        let resp = reqwest::Response::from(::http::Response::new(body));
        let mut stream = decode_sse(resp, "fallback", 1);
        let mut events = Vec::new();
        while let Some(item) = stream.next().await {
            match item {
                Ok(StreamEvent::Start { id, model, .. }) => {
                    // `created` is the clock's; the rest must be the same on every run.
                    events.push(StreamEvent::Start {
                        id,
                        model,
                        created: 0,
                    })
                }
                Ok(e) => events.push(e),
                Err(e) => return (events, Some(e)),
            }
        }
        (events, None)
    })
}

#[test]
fn stream_decodes_calls_finish_and_final_usage() {
    let body = sse_body(&weather_stream());
    let (events, failure) = decode_pieces(vec![body.into_bytes()], false);
    assert!(failure.is_none(), "{failure:?}");
    assert!(
        matches!(&events[0], StreamEvent::Start { id, model, .. } if id == "r9" && model == "fallback")
    );
    assert_eq!(
        events[1],
        StreamEvent::Text {
            choice: 0,
            text: "Hel".into()
        }
    );
    assert!(
        matches!(&events[3], StreamEvent::ToolCallStart { index: 0, name, id, .. }
        if name == "f" && id.starts_with(SYNTHETIC_ID_PREFIX))
    );
    assert_eq!(
        events[4],
        StreamEvent::ToolCallArguments {
            choice: 0,
            index: 0,
            arguments: r#"{"k":[1,2]}"#.into()
        }
    );
    assert_eq!(
        events[5],
        StreamEvent::Finish {
            choice: 0,
            reason: FinishReason::ToolCalls
        }
    );
    assert!(
        matches!(events[6], StreamEvent::Usage(u) if u.input_tokens == 9 && u.output_tokens == 7)
    );
    assert_eq!(events.len(), 7);
}

#[test]
fn stream_without_finish_or_with_error_fails() {
    let chunks = weather_stream();
    let (_, failure) = decode_pieces(vec![sse_body(&chunks[..2]).into_bytes()], false);
    assert_eq!(failure.unwrap().kind, ErrorKind::Transport);
    let (_, failure) = decode_pieces(vec![sse_body(&chunks).into_bytes()], true);
    assert_eq!(
        failure.unwrap().kind,
        ErrorKind::Transport,
        "a reset after the finish is a cut"
    );
    let err = json!({"error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}});
    let (_, failure) = decode_pieces(
        vec![sse_body(&[chunks[0].clone(), err]).into_bytes()],
        false,
    );
    assert_eq!(failure.unwrap().kind, ErrorKind::Overloaded);
    let refused = json!({"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}});
    let (events, failure) = decode_pieces(vec![sse_body(&[refused]).into_bytes()], false);
    assert!(events.is_empty());
    assert_eq!(failure.unwrap().kind, ErrorKind::ContentFiltered);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Wherever the body is split (even inside a UTF-8 character or a CRLF), the events are
    /// the same as from one piece.
    #[test]
    fn any_split_decodes_the_same(cuts in proptest::collection::vec(0usize..10_000, 0..12)) {
        let body = sse_body(&weather_stream()).into_bytes();
        let (whole, failure) = decode_pieces(vec![body.clone()], false);
        prop_assert!(failure.is_none());
        let mut points: Vec<usize> = cuts.into_iter().map(|c| c % (body.len() + 1)).collect();
        points.sort_unstable();
        let mut pieces = Vec::new();
        let mut start = 0;
        for p in points {
            pieces.push(body[start..p].to_vec());
            start = p;
        }
        pieces.push(body[start..].to_vec());
        let (split, failure) = decode_pieces(pieces, false);
        prop_assert!(failure.is_none(), "{:?}", failure);
        prop_assert_eq!(whole, split);
    }
}
