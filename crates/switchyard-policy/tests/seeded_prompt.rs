//! A prompt seeded with one of each kind of sensitive data is classified with every expected
//! class and detector, and redacting it leaves none of the seeded values.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use switchyard_policy::{
    CustomDetector, DataClass, DataClasses, Detectors, DetectorsConfig, RedactionPolicy, classify,
    redact_json, redact_request,
};
use switchyard_protocol::{ChatRequest, Message, Role, ToolCall};

/// (detector, value) for every built-in detector and one custom one.
const SEEDS: &[(&str, &str)] = &[
    ("email", "jane.doe@example.com"),
    ("phone", "+44 20 7946 0958"),
    ("us_ssn", "123-45-6789"),
    ("payment_card", "4111 1111 1111 1111"),
    ("iban", "DE89 3704 0044 0532 0130 00"),
    (
        "private_key",
        "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oD2OQ\n-----END EC PRIVATE KEY-----",
    ),
    (
        "anthropic_key",
        "sk-ant-api03-Zq8vK2mN5pR7tW9yB1dF3hJ6lX4cV0gA8sE2uI5oP7kM9nQ1wR3tY6bAA",
    ),
    ("openai_key", "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z"),
    ("aws_access_key", "AKIAIOSFODNN7EXAMPLE"),
    ("google_api_key", "AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe"),
    ("github_token", "ghp_Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb3d"),
    (
        "slack_token",
        "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
    ),
    (
        "jwt",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    ),
    ("bearer_token", "Qm9vbGVhbjpUcnVlOjEyMzQ1Njc4OTA"),
    ("secret_assignment", "a8F3kd92LmQ0zX71pq"),
    ("project_code", "PRJ-4821-ORION"),
];

fn detectors() -> Detectors {
    Detectors::new(&DetectorsConfig {
        custom: vec![CustomDetector {
            name: "project_code".to_owned(),
            pattern: r"\bPRJ-[0-9]{4}-[A-Z]+\b".to_owned(),
            class: DataClass::Internal,
        }],
        disable: Vec::new(),
    })
    .unwrap()
}

fn seeded_request() -> ChatRequest {
    let value = |name: &str| SEEDS.iter().find(|(n, _)| *n == name).unwrap().1;
    let mut lines = Vec::new();
    for (name, v) in SEEDS {
        match *name {
            "bearer_token" => lines.push(format!("curl -H 'Authorization: Bearer {v}'")),
            "secret_assignment" => lines.push(format!("config: api_key = {v}")),
            "iban" | "slack_token" => {}
            _ => lines.push(format!("{name}: {v} ;")),
        }
    }
    let mut assistant = Message::text(Role::Assistant, "Let me pay that.");
    assistant.tool_calls.push(ToolCall {
        id: "call_1".to_owned(),
        name: "transfer".to_owned(),
        arguments: serde_json::json!({ "iban": value("iban"), "amount": 12.5 }).to_string(),
    });
    let mut tool = Message::text(
        Role::Tool,
        format!("posted to slack with {}", value("slack_token")),
    );
    tool.tool_call_id = Some("call_1".to_owned());
    ChatRequest {
        model: "smart".to_owned(),
        messages: vec![
            Message::text(Role::System, "You are a careful assistant."),
            Message::text(Role::User, lines.join("\n")),
            assistant,
            tool,
        ],
        ..ChatRequest::default()
    }
}

#[test]
fn one_of_each_kind_is_classified_with_every_class() {
    let d = detectors();
    let request = seeded_request();
    let c = classify(&request, DataClasses::only(DataClass::Public), &d);
    let expected: DataClasses = [
        DataClass::Public,
        DataClass::Internal,
        DataClass::Pii,
        DataClass::Financial,
        DataClass::Secret,
    ]
    .into_iter()
    .collect();
    assert_eq!(c.classes, expected);
    for (name, _) in SEEDS {
        assert!(
            c.findings.iter().any(|f| f.detector == *name),
            "{name} not found; findings: {:?}",
            c.findings
        );
    }
    let names: Vec<&str> = d.iter().map(|(n, _)| n).collect();
    assert_eq!(names.len(), SEEDS.len(), "every detector is seeded");
}

#[test]
fn redacting_the_seeded_prompt_leaves_no_seed() {
    let d = detectors();
    let policy = RedactionPolicy::redact_all();
    let out = redact_request(&seeded_request(), &d, &policy);
    let body = serde_json::to_string(&out).unwrap();
    for (name, value) in SEEDS {
        assert!(!body.contains(value), "{name} survived: {body}");
        assert!(
            body.contains(&format!("[REDACTED:{name}]")),
            "{name} has no placeholder"
        );
    }
    let logged = redact_json(
        &serde_json::to_value(seeded_request()).unwrap(),
        &d,
        &policy,
    );
    let logged = logged.to_string();
    for (name, value) in SEEDS {
        let escaped = serde_json::to_string(value).unwrap();
        assert!(
            !logged.contains(escaped.trim_matches('"')),
            "{name} survived logging"
        );
    }
    assert_eq!(
        classify(&out, DataClasses::EMPTY, &d).classes,
        DataClasses::EMPTY
    );
}
