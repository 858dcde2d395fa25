//! Redaction tests: placeholders per class, policy shapes, requests and JSON bodies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use crate::DataClass::{Financial, Internal, Pii, Public, Secret};
use crate::{CustomDetector, DetectorsConfig};
use serde_json::json;
use std::sync::LazyLock;
use switchyard_protocol::{Message, Role, ToolCall};

static DETECTORS: LazyLock<Detectors> =
    LazyLock::new(|| Detectors::builtin().expect("built-in detectors compile"));

fn redact(text: &str) -> String {
    redact_text(text, &DETECTORS, &RedactionPolicy::default()).into_owned()
}

#[test]
fn findings_become_typed_placeholders() {
    assert_eq!(
        redact("mail jane@example.com or call +44 20 7946 0958"),
        "mail [REDACTED:email] or call [REDACTED:phone]"
    );
    assert_eq!(
        redact("card 4111 1111 1111 1111, iban DE89 3704 0044 0532 0130 00"),
        "card [REDACTED:payment_card], iban [REDACTED:iban]"
    );
    assert_eq!(
        redact("Authorization: Bearer abc123DEF456ghi789JKL0"),
        "Authorization: Bearer [REDACTED:bearer_token]"
    );
    assert_eq!(
        redact(r#"{"api_key": "a8F3kd92LmQ0zX71pq"}"#),
        r#"{"api_key": "[REDACTED:secret_assignment]"}"#
    );
}

#[test]
fn clean_text_is_borrowed() {
    let text = "nothing to see on 2024-01-01";
    assert!(matches!(
        redact_text(text, &DETECTORS, &RedactionPolicy::default()),
        Cow::Borrowed(_)
    ));
}

#[test]
fn overlapping_findings_become_one_placeholder() {
    let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
    let out = redact(&format!("Authorization: Bearer {jwt}"));
    assert_eq!(out, "Authorization: Bearer [REDACTED:jwt]");
}

#[test]
fn policy_chooses_per_class() {
    let text = "jane@example.com paid with 4111 1111 1111 1111";
    let keep_pii = RedactionPolicy::default().with(Pii, Action::Keep);
    assert_eq!(
        redact_text(text, &DETECTORS, &keep_pii),
        "jane@example.com paid with [REDACTED:payment_card]"
    );
    assert_eq!(
        redact_text(text, &DETECTORS, &RedactionPolicy::keep_all()),
        text
    );
    assert_eq!(
        redact_text(text, &DETECTORS, &RedactionPolicy::redact_all()),
        "[REDACTED:email] paid with [REDACTED:payment_card]"
    );
}

#[test]
fn policy_serialises_as_class_map_with_defaults() {
    let policy: RedactionPolicy =
        serde_json::from_value(json!({"pii": "keep", "internal": "redact"})).unwrap();
    assert_eq!(policy.action(Pii), Action::Keep);
    assert_eq!(policy.action(Internal), Action::Redact);
    assert_eq!(policy.action(Secret), Action::Redact);
    assert_eq!(policy.action(Financial), Action::Redact);
    assert_eq!(policy.action(Public), Action::Keep);
    let back: RedactionPolicy =
        serde_json::from_value(serde_json::to_value(policy).unwrap()).unwrap();
    assert_eq!(back, policy);
    assert!(serde_json::from_value::<RedactionPolicy>(json!({"medical": "keep"})).is_err());
    assert!(serde_json::from_value::<RedactionPolicy>(json!({"pii": "hide"})).is_err());
}

#[test]
fn custom_detector_redaction_is_idempotent_even_when_it_matches_placeholder_text() {
    let d = Detectors::new(&DetectorsConfig {
        custom: vec![CustomDetector {
            name: "shouting".to_owned(),
            pattern: r"[A-Z]{4,}".to_owned(),
            class: Internal,
        }],
        disable: Vec::new(),
    })
    .unwrap();
    let policy = RedactionPolicy::default().with(Internal, Action::Redact);
    let once = redact_text("STOP now, mail x@example.org", &d, &policy).into_owned();
    assert_eq!(once, "[REDACTED:shouting] now, mail [REDACTED:email]");
    assert_eq!(redact_text(&once, &d, &policy), once);
}

#[test]
fn requests_are_redacted_everywhere_classify_looks() {
    let mut assistant = Message::text(Role::Assistant, "calling");
    assistant.tool_calls.push(ToolCall {
        id: "c1".to_owned(),
        name: "pay".to_owned(),
        arguments: r#"{"card":"4111111111111111","note":"for jane@example.com"}"#.to_owned(),
    });
    let request = ChatRequest {
        model: "fast".to_owned(),
        messages: vec![
            Message::text(Role::User, "my ssn is 123-45-6789"),
            assistant,
            Message::text(Role::Tool, "ok, AKIAIOSFODNN7EXAMPLE used"),
        ],
        ..ChatRequest::default()
    };
    let out = redact_request(&request, &DETECTORS, &RedactionPolicy::default());
    assert_eq!(out.messages[0].joined_text(), "my ssn is [REDACTED:us_ssn]");
    let args = &out.messages[1].tool_calls[0].arguments;
    assert_eq!(
        args,
        r#"{"card":"[REDACTED:payment_card]","note":"for [REDACTED:email]"}"#
    );
    assert!(serde_json::from_str::<Value>(args).is_ok());
    assert_eq!(
        out.messages[2].joined_text(),
        "ok, [REDACTED:aws_access_key] used"
    );
    assert_eq!(out.model, request.model);
    let again = redact_request(&out, &DETECTORS, &RedactionPolicy::default());
    assert_eq!(again, out);
}

#[test]
fn tool_arguments_stay_json_when_a_custom_pattern_spans_quotes() {
    let d = Detectors::new(&DetectorsConfig {
        custom: vec![CustomDetector {
            name: "pin".to_owned(),
            pattern: r#"pin":"[0-9]{4}"#.to_owned(),
            class: Secret,
        }],
        disable: Vec::new(),
    })
    .unwrap();
    let policy = RedactionPolicy::default();
    let args = r#"{"pin":"1234","to":"jane@example.com"}"#;
    let out = redact_arguments(args, &d, &policy).unwrap();
    let value: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(value["to"], "[REDACTED:email]");
    assert_eq!(redact_arguments(&out, &d, &policy), None);
}

#[test]
fn a_finding_that_starts_inside_a_json_escape_takes_the_escape_with_it() {
    // The JSON text reads `n@0.aask`, an address made of the `\n` escape's letter; the parsed
    // value holds a newline instead and no address. Found by the redaction property test.
    let policy = RedactionPolicy::default();
    let args = r#"{"q":"\n@0.aask-proj","r":"\\","s":"x\u0040bob@example.com"}"#;
    let out = redact_arguments(args, &DETECTORS, &policy).unwrap();
    assert_eq!(
        out,
        r#"{"q":"[REDACTED:email]-proj","r":"\\","s":"x[REDACTED:email]"}"#
    );
    assert!(serde_json::from_str::<Value>(&out).is_ok());
    let call = |arguments: &str| ChatRequest {
        messages: vec![Message {
            tool_calls: vec![ToolCall {
                id: "c1".to_owned(),
                name: "f".to_owned(),
                arguments: arguments.to_owned(),
            }],
            ..Message::text(Role::Assistant, "")
        }],
        ..ChatRequest::default()
    };
    let found = crate::classify::classify(&call(&out), crate::DataClasses::EMPTY, &DETECTORS);
    assert!(found.findings.is_empty(), "{:?}", found.findings);
    assert_eq!(redact_arguments(&out, &DETECTORS, &policy), None);
    for (at, escape) in [
        (6, Some(6..8)),
        (7, Some(6..8)),
        (8, None),
        (28, Some(27..29)),
    ] {
        assert_eq!(escape_around(args, at), escape, "byte {at}");
    }
    assert_eq!(escape_around(args, 40), Some(37..43));
    assert_eq!(escape_around(args, 43), None);
}

#[test]
fn json_bodies_are_redacted_for_logging() {
    let body = json!({
        "model": "openai/gpt-4o-mini",
        "messages": [{"role": "user", "content": "I am jane@example.com"}],
        "headers": {"Authorization": "Bearer x", "X-Api-Key": "short", "password": ""},
        "jane@example.com": 1,
        "max_tokens": 100,
        "nested": [[{"token": "abc"}], null, true, 1.5]
    });
    let out = redact_json(&body, &DETECTORS, &RedactionPolicy::default());
    assert_eq!(
        out,
        json!({
            "model": "openai/gpt-4o-mini",
            "messages": [{"role": "user", "content": "I am [REDACTED:email]"}],
            "headers": {
                "Authorization": "[REDACTED:secret_assignment]",
                "X-Api-Key": "[REDACTED:secret_assignment]",
                "password": ""
            },
            "[REDACTED:email]": 1,
            "max_tokens": 100,
            "nested": [[{"token": "[REDACTED:secret_assignment]"}], null, true, 1.5]
        })
    );
    assert_eq!(
        redact_json(&out, &DETECTORS, &RedactionPolicy::default()),
        out
    );
    let keep_secrets = RedactionPolicy::default().with(Secret, Action::Keep);
    let kept = redact_json(&body, &DETECTORS, &keep_secrets);
    assert_eq!(kept["headers"]["Authorization"], "Bearer x");
}

#[test]
fn placeholders_are_recognised_exactly() {
    assert!(is_placeholder("[REDACTED:email]"));
    assert!(!is_placeholder("[REDACTED:]"));
    assert!(!is_placeholder("[REDACTED:Email]"));
    assert!(!is_placeholder("[REDACTED:email] "));
    assert_eq!(segments("a[REDACTED:x]b"), [0..1, 13..14]);
    assert_eq!(
        segments("[REDACTED:x][REDACTED:y]"),
        [] as [Range<usize>; 0]
    );
    assert_eq!(segments("[REDACTED:[REDACTED:x]"), vec![(0..10)]);
    assert_eq!(segments("é[REDACTED"), vec![(0..11)]);
}
