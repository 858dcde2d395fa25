use super::*;
use crate::canonical::*;
use crate::openai::WireError;
use serde_json::json;

fn parse(body: Value) -> Result<(ChatRequest, ResponseParams), WireError> {
    let wire: CreateResponse = crate::body::parse(body.to_string().as_bytes())?;
    request_to_canonical(wire)
}

fn refused(body: Value) -> WireError {
    match parse(body) {
        Ok((req, _)) => panic!("accepted: {req:?}"),
        Err(e) => e,
    }
}

fn param(body: Value) -> String {
    refused(body).param.unwrap_or_default()
}

const WEATHER: &str = "get_weather";

fn tool() -> Value {
    json!({"type": "function", "name": WEATHER, "description": "Weather",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
           "strict": true})
}

#[test]
fn a_string_input_is_one_user_message_after_the_instructions() {
    let (req, params) = parse(json!({
        "model": "fast", "input": "Hello", "instructions": "Be brief.",
        "max_output_tokens": 64, "temperature": 0.5, "top_p": 0.9, "user": "u1",
        "metadata": {"route_class": "latency-critical"}, "store": true
    }))
    .unwrap();
    assert_eq!(req.messages.len(), 2);
    assert_eq!(req.messages[0], Message::text(Role::System, "Be brief."));
    assert_eq!(req.messages[1], Message::text(Role::User, "Hello"));
    assert_eq!(req.max_tokens, Some(64));
    assert_eq!((req.temperature, req.top_p), (Some(0.5), Some(0.9)));
    assert_eq!(req.metadata["route_class"], "latency-critical");
    assert_eq!(req.user.as_deref(), Some("u1"));
    assert!(!req.stream && req.include_usage && req.extra.is_empty());
    assert_eq!(params.instructions.as_deref(), Some("Be brief."));
    assert_eq!(params.tool_choice, ToolChoiceWire::Mode("auto".into()));
}

#[test]
fn function_call_items_and_their_outputs_become_tool_turns() {
    let (req, _) = parse(json!({
        "model": "fast",
        "tools": [tool()],
        "input": [
            {"role": "user", "content": [{"type": "input_text", "text": "Weather in Oslo?"}]},
            {"type": "message", "role": "assistant", "id": "msg_1", "status": "completed",
             "content": [{"type": "output_text", "text": "Let me look.", "annotations": []}]},
            {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": WEATHER,
             "arguments": "{\"city\":\"Oslo\"}", "status": "completed"},
            {"type": "function_call", "call_id": "call_2", "name": WEATHER, "arguments": "{}"},
            {"type": "function_call_output", "call_id": "call_1", "output": "12 C"},
            {"type": "function_call_output", "call_id": "call_2",
             "output": [{"type": "input_text", "text": "rain"}]}
        ]
    }))
    .unwrap();
    let roles: Vec<Role> = req.messages.iter().map(|m| m.role).collect();
    assert_eq!(roles, [Role::User, Role::Assistant, Role::Tool, Role::Tool]);
    let assistant = &req.messages[1];
    assert_eq!(assistant.joined_text(), "Let me look.");
    let calls: Vec<(&str, &str)> = assistant
        .tool_calls
        .iter()
        .map(|c| (c.id.as_str(), c.arguments.as_str()))
        .collect();
    assert_eq!(calls, [("call_1", "{\"city\":\"Oslo\"}"), ("call_2", "{}")]);
    assert_eq!(req.messages[2].tool_call_id.as_deref(), Some("call_1"));
    assert_eq!(req.messages[2].joined_text(), "12 C");
    assert_eq!(req.messages[3].joined_text(), "rain");
    assert_eq!(req.tool_name_for("call_2"), Some(WEATHER));
    assert_eq!(req.tools[0].strict, Some(true));
}

#[test]
fn text_format_becomes_the_canonical_response_format() {
    let schema = json!({"type": "object", "properties": {"a": {"type": "string"}}});
    let (req, params) = parse(json!({
        "model": "fast", "input": "x",
        "text": {"format": {"type": "json_schema", "name": "answer", "schema": schema, "strict": true}}
    }))
    .unwrap();
    let want = ResponseFormat::JsonSchema {
        name: "answer".into(),
        schema: schema.clone(),
        strict: Some(true),
    };
    assert_eq!(req.response_format, Some(want));
    let format = params.text.format.unwrap();
    assert_eq!(
        (format.kind.as_str(), format.schema),
        ("json_schema", Some(schema))
    );
    let formats = [
        ("json_object", ResponseFormat::JsonObject),
        ("text", ResponseFormat::Text),
    ];
    for (kind, want) in formats {
        let body = json!({"model": "m", "input": "x", "text": {"format": {"type": kind}}});
        assert_eq!(parse(body).unwrap().0.response_format, Some(want));
    }
    let no_schema = json!({"model": "m", "input": "x",
        "text": {"format": {"type": "json_schema", "name": "a"}}});
    assert_eq!(param(no_schema), "text.format.schema");
    let unknown = json!({"model": "m", "input": "x", "text": {"format": {"type": "yaml"}}});
    assert_eq!(param(unknown), "text.format.type");
}

#[test]
fn every_tool_choice_form_is_understood() {
    let cases = [
        (json!("auto"), ToolChoice::Auto),
        (json!("none"), ToolChoice::None),
        (json!("required"), ToolChoice::Required),
        (
            json!({"type": "function", "name": WEATHER}),
            ToolChoice::Function(WEATHER.into()),
        ),
    ];
    for (choice, want) in cases {
        let body = json!({"model": "m", "input": "x", "tools": [tool()], "tool_choice": choice});
        let (req, params) = parse(body).unwrap();
        assert_eq!(req.tool_choice, Some(want));
        assert_eq!(serde_json::to_value(&params.tool_choice).unwrap(), choice);
    }
    let missing = json!({"model": "m", "input": "x", "tools": [tool()],
        "tool_choice": {"type": "function", "name": "other"}});
    assert_eq!(param(missing), "tool_choice.name");
    let required = json!({"model": "m", "input": "x", "tool_choice": "required"});
    assert_eq!(param(required), "tool_choice");
    let hosted = json!({"model": "m", "input": "x", "tools": [tool()],
        "tool_choice": {"type": "file_search"}});
    assert_eq!(param(hosted), "tool_choice.type");
    let web = json!({"model": "m", "input": "x", "tools": [{"type": "web_search"}]});
    assert_eq!(param(web), "tools[0].type");
}

#[test]
fn state_this_slice_does_not_keep_is_refused_by_name() {
    for name in ["previous_response_id", "conversation"] {
        let e = refused(json!({"model": "m", "input": "x", name: "resp_123"}));
        assert_eq!(e.param.as_deref(), Some(name));
        assert!(e.message.contains("not supported yet"), "{}", e.message);
    }
    let background = json!({"model": "m", "input": "x", "background": true});
    assert_eq!(param(background), "background");
    let reasoning = json!({"model": "m", "input": "x", "reasoning": {"effort": "low"}});
    assert_eq!(param(reasoning), "reasoning");
    let secret = refused(json!({"model": "m", "input": "x", "sk-live-0123456789": 1}));
    assert_eq!(secret.param, None);
    assert!(!secret.message.contains("sk-live"), "{}", secret.message);
    let taken = json!({"model": "m", "input": "x", "background": false, "store": false,
        "previous_response_id": null, "truncation": "disabled", "include": []});
    assert!(parse(taken).is_ok());
}

#[test]
fn bad_input_is_refused_naming_the_field() {
    let cases = [
        (json!({"model": "m"}), "input"),
        (json!({"model": "m", "input": ""}), "input"),
        (json!({"model": "m", "input": []}), "input"),
        (json!({"model": "m", "input": 5}), "input"),
        (
            json!({"model": "m", "input": [{"type": "reasoning", "summary": []}]}),
            "input[0].type",
        ),
        (
            json!({"model": "m", "input": [{"content": "hi"}]}),
            "input[0].role",
        ),
        (
            json!({"model": "m", "input": [{"role": "tool", "content": "hi"}]}),
            "input[0].role",
        ),
        (
            json!({"model": "m", "input": [{"role": "user", "content": [{"type": "input_file"}]}]}),
            "input[0].content[0].type",
        ),
        (
            json!({"model": "m", "input": [{"role": "user", "content": "hi"},
                {"type": "function_call_output", "call_id": "call_9", "output": "x"}]}),
            "input[1].call_id",
        ),
        (
            json!({"model": "m", "input": [{"type": "function_call", "call_id": "c", "name": "f"}]}),
            "input[0].arguments",
        ),
        (
            json!({"model": "m", "input": "x", "temperature": 3}),
            "temperature",
        ),
        (
            json!({"model": "m", "input": "x", "max_output_tokens": 0}),
            "max_output_tokens",
        ),
        (json!({"model": "", "input": "x"}), "model"),
        (
            json!({"model": "m", "input": "x", "tools": [{"type": "function", "name": "a b"}]}),
            "tools[0].name",
        ),
    ];
    for (body, want) in cases {
        assert_eq!(param(body.clone()), want, "{body}");
    }
}

fn ids() -> ResponseIds {
    ResponseIds::new("abc", 1_700_000_000)
}

fn params(body: Value) -> ResponseParams {
    parse(body).unwrap().1
}

fn answer(message: Message, finish_reason: FinishReason) -> ChatResponse {
    ChatResponse {
        id: "chatcmpl-1".into(),
        model: "gpt-4o-mini".into(),
        created: 1,
        choices: vec![Choice {
            index: 0,
            message,
            finish_reason,
        }],
        usage: Usage {
            input_tokens: 10,
            output_tokens: 5,
            cached_input_tokens: 2,
            ..Usage::default()
        },
    }
}

#[test]
fn a_whole_answer_is_a_response_object() {
    let params = params(
        json!({"model": "fast", "input": "x", "instructions": "Be brief.",
        "tools": [tool()], "metadata": {"team": "a"}}),
    );
    let mut message = Message::text(Role::Assistant, "Checking.");
    message.tool_calls.push(ToolCall {
        id: "call_1".into(),
        name: WEATHER.into(),
        arguments: "{}".into(),
    });
    let resp = response_from_canonical(&answer(message, FinishReason::ToolCalls), &params, &ids());
    let v = serde_json::to_value(&resp).unwrap();
    assert_eq!(v["id"], "resp_abc");
    assert_eq!(v["object"], "response");
    assert_eq!(v["status"], "completed");
    assert_eq!(v["model"], "fast");
    assert_eq!(v["store"], false);
    assert_eq!(v["instructions"], "Be brief.");
    assert_eq!(v["error"], Value::Null);
    assert_eq!(v["metadata"], json!({"team": "a"}));
    assert_eq!(v["tools"][0]["name"], WEATHER);
    assert_eq!(v["text"], json!({"format": {"type": "text"}}));
    assert_eq!(
        v["output"],
        json!([
            {"type": "message", "id": "msg_abc_0", "role": "assistant", "status": "completed",
             "content": [{"type": "output_text", "text": "Checking.", "annotations": []}]},
            {"type": "function_call", "id": "fc_abc_1", "call_id": "call_1", "name": WEATHER,
             "arguments": "{}", "status": "completed"}
        ])
    );
    assert_eq!(
        v["usage"],
        json!({"input_tokens": 10, "input_tokens_details": {"cached_tokens": 2, "cache_write_tokens": 0},
               "output_tokens": 5, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 15})
    );
}

#[test]
fn an_answer_cut_at_max_output_tokens_is_incomplete() {
    let params = params(json!({"model": "m", "input": "x", "max_output_tokens": 3}));
    let cut = answer(
        Message::text(Role::Assistant, "One two"),
        FinishReason::Length,
    );
    let resp = response_from_canonical(&cut, &params, &ids());
    assert_eq!(resp.status, "incomplete");
    let reason = resp.incomplete_details.map(|d| d.reason);
    assert_eq!(reason.as_deref(), Some("max_output_tokens"));
    assert_eq!(resp.max_output_tokens, Some(3));
}

/// The events of a whole stream: their types, checking the sequence numbers on the way.
fn names(events: &[StreamEventWire]) -> Vec<&'static str> {
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.sequence_number(), i as u64, "event {i}: {e:?}");
    }
    events.iter().map(StreamEventWire::name).collect()
}

fn start() -> StreamEvent {
    StreamEvent::Start {
        id: "chatcmpl-1".into(),
        model: "gpt".into(),
        created: 1,
    }
}

fn text(t: &str) -> StreamEvent {
    StreamEvent::Text {
        choice: 0,
        text: t.into(),
    }
}

fn run(encoder: &mut EventEncoder, events: &[StreamEvent]) -> Vec<StreamEventWire> {
    let mut out: Vec<StreamEventWire> = events.iter().flat_map(|e| encoder.encode(e)).collect();
    out.extend(encoder.finish());
    out
}

#[test]
fn a_streamed_text_answer_is_numbered_from_zero_and_completes() {
    let mut encoder = EventEncoder::new(params(json!({"model": "m", "input": "x"})), ids());
    let usage = Usage {
        input_tokens: 3,
        output_tokens: 2,
        ..Usage::default()
    };
    let finish = StreamEvent::Finish {
        choice: 0,
        reason: FinishReason::Stop,
    };
    let events = run(
        &mut encoder,
        &[
            start(),
            text("Hel"),
            text("lo"),
            finish,
            StreamEvent::Usage(usage),
        ],
    );
    let want = [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ];
    assert_eq!(names(&events), want);
    let StreamEventWire::Completed { response, .. } = &events[9] else {
        panic!("{:?}", events[9]);
    };
    assert_eq!(response.status, "completed");
    assert_eq!(response.usage.as_ref().map(|u| u.total_tokens), Some(5));
    let final_text = serde_json::to_value(&response.output).unwrap();
    assert_eq!(final_text[0]["content"][0]["text"], "Hello");
    let done = serde_json::to_value(&events[6]).unwrap();
    assert_eq!(done["text"], "Hello");
    assert_eq!(done["item_id"], "msg_abc_0");
    assert!(encoder.finish().is_empty() && encoder.encode(&text("late")).is_empty());
}

#[test]
fn a_streamed_tool_call_has_its_argument_events() {
    let mut encoder = EventEncoder::new(params(json!({"model": "m", "input": "x"})), ids());
    let call = StreamEvent::ToolCallStart {
        choice: 0,
        index: 0,
        id: "call_1".into(),
        name: WEATHER.into(),
    };
    let args = |a: &str| StreamEvent::ToolCallArguments {
        choice: 0,
        index: 0,
        arguments: a.into(),
    };
    let finish = StreamEvent::Finish {
        choice: 0,
        reason: FinishReason::ToolCalls,
    };
    let events = run(
        &mut encoder,
        &[
            start(),
            text("Checking."),
            call,
            args("{\"city\":"),
            args("\"Oslo\"}"),
            finish,
        ],
    );
    let want = [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ];
    assert_eq!(names(&events), want);
    let done = serde_json::to_value(&events[12]).unwrap();
    assert_eq!(done["output_index"], 1);
    assert_eq!(done["item"]["arguments"], "{\"city\":\"Oslo\"}");
    assert_eq!(done["item"]["call_id"], "call_1");
    assert_eq!(done["item"]["id"], "fc_abc_1");
}

#[test]
fn a_stream_cut_at_max_output_tokens_ends_incomplete() {
    let mut encoder = EventEncoder::new(params(json!({"model": "m", "input": "x"})), ids());
    let finish = StreamEvent::Finish {
        choice: 0,
        reason: FinishReason::Length,
    };
    let events = run(&mut encoder, &[start(), text("One"), finish]);
    let last = events.last().unwrap();
    assert_eq!(last.name(), "response.incomplete");
    let v = serde_json::to_value(last).unwrap();
    assert_eq!(
        v["response"]["incomplete_details"]["reason"],
        "max_output_tokens"
    );
    assert_eq!(v["response"]["output"][0]["status"], "incomplete");
}

#[test]
fn a_stream_that_fails_part_way_ends_failed_never_completed() {
    let mut encoder = EventEncoder::new(params(json!({"model": "m", "input": "x"})), ids());
    let mut events: Vec<StreamEventWire> = [start(), text("Hal")]
        .iter()
        .flat_map(|e| encoder.encode(e))
        .collect();
    events.extend(encoder.fail("server_error", "the upstream failed"));
    let names = names(&events);
    assert_eq!(names.last(), Some(&"response.failed"));
    assert!(!names.contains(&"response.completed"));
    let v = serde_json::to_value(events.last().unwrap()).unwrap();
    assert_eq!(v["response"]["status"], "failed");
    assert_eq!(v["response"]["error"]["code"], "server_error");
    assert_eq!(v["response"]["output"][0]["status"], "incomplete");
    assert!(encoder.finish().is_empty(), "nothing after the failure");
}
