//! Errors about a client's body name the field and the expected type, never the value: a
//! secret sent in the wrong field does not come back, and a megabyte-long name comes back as a
//! short excerpt.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};
use switchyard_protocol::anthropic::{self, MessagesRequest};
use switchyard_protocol::body::{self, Body};
use switchyard_protocol::openai::{self, ChatCompletionRequest, EmbeddingRequest, WireError};

const SECRET: &str = "sk-live-MARKER-4f1c9a";

fn chat_body(extra: Value) -> Vec<u8> {
    let mut body = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body.to_string().into_bytes()
}

fn messages_body(extra: Value) -> Vec<u8> {
    let mut body =
        json!({"model": "m", "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body.to_string().into_bytes()
}

/// The message serde_json gives the gateway (which calls `from_slice`), and the error of
/// [`body::parse`]; neither holds the secret, and both name `path`.
fn refused<T: Body + for<'de> serde::Deserialize<'de> + std::fmt::Debug>(
    bytes: &[u8],
    path: &str,
) -> (String, WireError) {
    let from_slice = serde_json::from_slice::<T>(bytes).unwrap_err().to_string();
    let parsed = body::parse::<T>(bytes).unwrap_err();
    for message in [&from_slice, &parsed.message] {
        assert!(!message.contains("MARKER"), "{message}");
        assert!(message.contains(path), "{path} not in {message}");
        assert!(message.len() < 400, "{} bytes: {message}", message.len());
    }
    assert_eq!(parsed.param.as_deref(), Some(path));
    (from_slice, parsed)
}

#[test]
fn a_secret_in_a_number_field_is_not_echoed() {
    let (from_slice, parsed) =
        refused::<ChatCompletionRequest>(&chat_body(json!({"max_tokens": SECRET})), "max_tokens");
    assert!(
        parsed
            .message
            .contains("expected an integer from 0 to 4294967295, got a string"),
        "{parsed:?}"
    );
    assert!(from_slice.contains("got a string"), "{from_slice}");
    refused::<ChatCompletionRequest>(&chat_body(json!({"temperature": SECRET})), "temperature");
    refused::<ChatCompletionRequest>(&chat_body(json!({"seed": SECRET})), "seed");
    refused::<ChatCompletionRequest>(&chat_body(json!({"stream": SECRET})), "stream");
    refused::<MessagesRequest>(&messages_body(json!({"max_tokens": SECRET})), "max_tokens");
    refused::<MessagesRequest>(&messages_body(json!({"top_k": SECRET})), "top_k");
    refused::<EmbeddingRequest>(
        json!({"model": "m", "input": "x", "dimensions": SECRET})
            .to_string()
            .as_bytes(),
        "dimensions",
    );
}

#[test]
fn nested_fields_are_named_by_their_path_in_the_doors_style() {
    let body = chat_body(
        json!({"messages": [{"role": "user", "content": "hi"}, {"role": 7, "content": SECRET}]}),
    );
    refused::<ChatCompletionRequest>(&body, "messages[1].role");
    let body = chat_body(json!({"messages": [{"role": "user", "content": {"k": SECRET}}]}));
    let (_, e) = refused::<ChatCompletionRequest>(&body, "messages[0].content");
    assert!(
        e.message.contains("a string or an array of content parts"),
        "{e:?}"
    );
    let body = messages_body(
        json!({"messages": [{"role": "user", "content": [{"type": SECRET, "text": "x"}]}]}),
    );
    refused::<MessagesRequest>(&body, "messages.0.content");
    let body = chat_body(json!({"metadata": {"team": SECRET.len(), "x": "y"}}));
    refused::<ChatCompletionRequest>(&body, "metadata.team");
    let body = chat_body(json!({"tools": [{"type": "function", "function": {"name": 5}}]}));
    refused::<ChatCompletionRequest>(&body, "tools[0].function.name");
}

#[test]
fn out_of_range_integers_and_missing_fields_say_what_was_expected() {
    let (_, e) = refused::<ChatCompletionRequest>(
        br#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "seed": 9223372036854775808}"#,
        "seed",
    );
    assert!(
        e.message
            .contains("-9223372036854775808 to 9223372036854775807"),
        "{e:?}"
    );
    let (_, e) = refused::<MessagesRequest>(&messages_body(json!({"top_k": -1})), "top_k");
    assert!(e.message.contains("from 0 to 4294967295"), "{e:?}");
    let e = body::parse::<MessagesRequest>(br#"{"model": "m", "messages": []}"#).unwrap_err();
    assert_eq!(e.message, "the request body: missing field `max_tokens`");
    let e = body::parse::<ChatCompletionRequest>(SECRET.as_bytes()).unwrap_err();
    assert!(
        e.message.starts_with("the request body is not valid JSON"),
        "{e:?}"
    );
    assert!(!e.message.contains("MARKER"), "{e:?}");
    let e = body::parse::<ChatCompletionRequest>(format!("[\"{SECRET}\"]").as_bytes()).unwrap_err();
    assert_eq!(
        e.message,
        "the request body: expected an object, got an array"
    );
}

#[test]
fn a_megabyte_long_name_gives_a_short_error() {
    let long = format!("{SECRET}{}", "x".repeat(1 << 20));
    let short = |e: WireError| {
        assert!(e.message.len() < 300, "{} bytes", e.message.len());
        assert!(e.message.contains('…'), "{}", e.message);
        e.param
    };
    let convert = |extra: Value| {
        let wire: ChatCompletionRequest = serde_json::from_slice(&chat_body(extra)).unwrap();
        openai::request_to_canonical(wire).unwrap_err()
    };
    let role = convert(json!({"messages": [{"role": long, "content": "x"}]}));
    assert_eq!(short(role).as_deref(), Some("messages[0].role"));
    let function = convert(json!({"tools": [{"type": "function", "function": {"name": long}}]}));
    assert_eq!(short(function).as_deref(), Some("tools[0].function.name"));
    let tool_type = convert(json!({"tools": [{"type": long, "function": {"name": "f"}}]}));
    short(tool_type);
    let choice = convert(
        json!({"tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": {"type": "function", "function": {"name": long}}}),
    );
    short(choice);
    let mode = convert(json!({"tool_choice": long}));
    short(mode);
    let format = convert(json!({"response_format": {"type": long}}));
    short(format);
    let part = convert(json!({"messages": [{"role": "user", "content": [{"type": long}]}]}));
    short(part);

    let convert = |extra: Value| {
        let wire: MessagesRequest = serde_json::from_slice(&messages_body(extra)).unwrap();
        anthropic::request_to_canonical(wire).unwrap_err()
    };
    let role = convert(json!({"messages": [{"role": long, "content": "x"}]}));
    assert_eq!(short(role).as_deref(), Some("messages.0.role"));
    let choice = convert(
        json!({"tools": [{"name": "f", "input_schema": {}}], "tool_choice": {"type": "tool", "name": long}}),
    );
    short(choice);
    let choice = convert(json!({"tool_choice": {"type": long}}));
    short(choice);
}

#[test]
fn a_megabyte_long_key_on_the_path_is_cut_and_escaped() {
    let key = format!("{}\u{202e}{}", "k".repeat(10), "x".repeat(1 << 20));
    let body = chat_body(json!({"metadata": {key: 1}}));
    let e = body::parse::<ChatCompletionRequest>(&body).unwrap_err();
    assert!(e.message.len() < 300, "{} bytes", e.message.len());
    assert!(!e.message.contains('\u{202e}'));
    assert!(
        e.param
            .unwrap()
            .starts_with("metadata.kkkkkkkkkk\\u{202e}xx")
    );
}

#[test]
fn bodies_still_round_trip_through_serde() {
    let body = chat_body(
        json!({"temperature": 0.5, "tools": [{"type": "function", "function": {"name": "f"}}], "logprobs": true}),
    );
    let wire: ChatCompletionRequest = serde_json::from_slice(&body).unwrap();
    let again: ChatCompletionRequest =
        serde_json::from_str(&serde_json::to_string(&wire).unwrap()).unwrap();
    assert_eq!(again, wire);
    assert_eq!(body::parse::<ChatCompletionRequest>(&body).unwrap(), wire);
    assert_eq!(
        serde_json::to_value(&wire).unwrap(),
        serde_json::from_slice::<Value>(&body).unwrap()
    );
    let wire: MessagesRequest =
        serde_json::from_slice(&messages_body(json!({"thinking": {"type": "disabled"}}))).unwrap();
    assert_eq!(wire.extra["thinking"], json!({"type": "disabled"}));
    assert_eq!(
        serde_json::from_value::<MessagesRequest>(serde_json::to_value(&wire).unwrap()).unwrap(),
        wire
    );
}

#[test]
fn a_body_that_is_not_utf8_is_refused_as_not_json() {
    let bytes =
        b"{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"\xff\xfe\"}]}";
    let e = serde_json::from_slice::<ChatCompletionRequest>(bytes).unwrap_err();
    assert!(e.is_syntax() || e.is_data(), "{e}");
    let e = body::parse::<ChatCompletionRequest>(bytes).unwrap_err();
    assert!(
        e.message.starts_with("the request body is not valid JSON"),
        "{e:?}"
    );
    // In a field the door ignores too, where serde_json reads past strings without decoding.
    let ignored = b"{\"model\": \"m\", \"messages\": [], \"x\": {\"\xf4\x90\x80\x80\": 1}}";
    let e = body::parse::<ChatCompletionRequest>(ignored).unwrap_err();
    assert_eq!(
        e.message,
        "the request body is not valid JSON: it is not UTF-8 at byte 38"
    );
    assert!(serde_json::from_slice::<ChatCompletionRequest>(ignored).is_err());
}
