//! Detector tests: true positives and tricky true negatives per built-in detector, custom
//! detectors from config, and `classify` over a whole request.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use crate::DataClass::{Financial, Internal, Pii, Secret};
use std::sync::LazyLock;
use switchyard_protocol::{Message, Role, ToolCall};

static DETECTORS: LazyLock<Detectors> =
    LazyLock::new(|| Detectors::builtin().expect("built-in detectors compile"));

/// The names of the detectors that fire on `text`, in order, without repeats.
fn fired(text: &str) -> Vec<&'static str> {
    let mut names: Vec<&str> = DETECTORS.scan(text).iter().map(|h| h.detector).collect();
    names.dedup();
    names
}

/// The text each finding of `detector` covers.
fn matched<'t>(detector: &str, text: &'t str) -> Vec<&'t str> {
    DETECTORS
        .scan(text)
        .iter()
        .filter(|h| h.detector == detector)
        .map(|h| &text[h.start..h.end])
        .collect()
}

fn assert_finds(detector: &str, cases: &[(&str, &str)]) {
    for (text, want) in cases {
        assert_eq!(matched(detector, text), [*want], "{detector} in {text:?}");
    }
}

fn assert_clean(detector: &str, cases: &[&str]) {
    for text in cases {
        assert_eq!(
            matched(detector, text),
            [] as [&str; 0],
            "{detector} in {text:?}"
        );
    }
}

#[test]
fn builtins_compile_with_unique_valid_names() {
    let names: Vec<&str> = DETECTORS.iter().map(|(n, _)| n).collect();
    assert_eq!(names.len(), builtin::BUILTINS.len());
    for (i, name) in names.iter().enumerate() {
        assert!(valid_name(name), "{name}");
        assert!(!names[..i].contains(name), "{name} twice");
    }
}

#[test]
fn email() {
    assert_finds(
        "email",
        &[
            (
                "write to jane.doe+work@example.co.uk today",
                "jane.doe+work@example.co.uk",
            ),
            ("<a@b.io>", "a@b.io"),
        ],
    );
    assert_clean(
        "email",
        &[
            "user@localhost",
            "@handle",
            "npm i lodash@4.17.21",
            "a @ b.com",
            "x@y.c",
        ],
    );
}

#[test]
fn phone() {
    assert_finds(
        "phone",
        &[
            ("call +44 20 7946 0958 now", "+44 20 7946 0958"),
            ("+1 (555) 123-4567", "+1 (555) 123-4567"),
            ("tel:+4915112345678", "+4915112345678"),
            ("(555) 123-4567", "(555) 123-4567"),
            ("ring 555-123-4567.", "555-123-4567"),
            ("1-800-555-0199", "1-800-555-0199"),
            ("UK 020 7946 0958", "020 7946 0958"),
            ("FR 01 23 45 67 89", "01 23 45 67 89"),
            ("mobile 07700 900123, thanks", "07700 900123"),
            ("Berlin 030-12345678", "030-12345678"),
            ("020 7946 0958 2024", "020 7946 0958"),
        ],
    );
    assert_clean(
        "phone",
        &[
            "on 2023-10-05 at 12:30",
            "05-10-2023 10:30",
            "01.02.2023",
            "1,234,567,890 people",
            "order 5551234567",
            "0.5 0.25 0.125",
            "version 10.15.7",
            "host 192.168.100.200",
            "ip 010.123.123.123",
            "population 8 123 456 789",
            "ISBN 978-3-16-148410-0",
            "+1.5%",
            "ts 1700000000000",
            "550e8400-e29b-41d4-a716-446655440000",
            "id 0001-2345-6789",
        ],
    );
}

#[test]
fn us_ssn() {
    assert_finds(
        "us_ssn",
        &[
            ("SSN 123-45-6789.", "123-45-6789"),
            ("ssn 078 05 1120", "078 05 1120"),
        ],
    );
    assert_clean(
        "us_ssn",
        &[
            "000-12-3456",
            "666-12-3456",
            "912-34-5678",
            "123-00-4567",
            "123-45-0000",
            "1234-56-7890",
            "123-45-67890",
            "2023-01-15",
        ],
    );
}

#[test]
fn payment_card() {
    assert_finds(
        "payment_card",
        &[
            ("card 4111 1111 1111 1111 ok", "4111 1111 1111 1111"),
            ("4111-1111-1111-1111", "4111-1111-1111-1111"),
            ("pan=4111111111111111;", "4111111111111111"),
            ("MC 5555 5555 5555 4444", "5555 5555 5555 4444"),
            ("amex 3782 822463 10005", "3782 822463 10005"),
            ("6011 1111 1111 1117", "6011 1111 1111 1117"),
            ("4111 1111 1111 1111 2027", "4111 1111 1111 1111"),
            ("visa13 4222 2222 2222 2", "4222 2222 2222 2"),
            ("call 12 4111 1111 1111 1111", "4111 1111 1111 1111"),
        ],
    );
    // A 16-digit order number that fails Luhn.
    assert!(!checks::luhn_valid(b"4716123456789013"));
    assert_clean(
        "payment_card",
        &[
            "order 4716123456789013 shipped",
            "4111 1111 1111 1112",
            "ts 1700000000000",
            "99999999999999999999",
            "550e8400-e29b-41d4-a716-446655440000",
            "sha 4111111111111111abc",
            "x4111111111111111",
            "1.4111111111111111",
            // Luhn-valid, but no card network starts with 9 or 1.
            "9111111111111110 1111111111111117",
            // Luhn-valid digits, but a list, not a card's groups.
            "4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1",
        ],
    );
}

#[test]
fn iban() {
    assert_finds(
        "iban",
        &[
            (
                "IBAN DE89 3704 0044 0532 0130 00.",
                "DE89 3704 0044 0532 0130 00",
            ),
            ("GB82WEST12345698765432", "GB82WEST12345698765432"),
            ("NL91 ABNA 0417 1643 00 AT ING", "NL91 ABNA 0417 1643 00"),
            ("BE68 5390 0754 7034 THE END", "BE68 5390 0754 7034"),
        ],
    );
    assert_clean(
        "iban",
        &[
            "DE89 3704 0044 0532 0130 01",
            "US12 3456 7890 1234 5678",
            "XDE89370400440532013000",
            "ISBN 9783161484100",
            "AB12CDEFGHIJKLMNOP",
        ],
    );
}

#[test]
fn private_key() {
    let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----";
    assert_finds("private_key", &[(&format!("key:\n{pem}\nbye"), pem)]);
    assert_finds(
        "private_key",
        &[
            (
                "-----BEGIN PRIVATE KEY-----\nMIIBVQ\nabc",
                "-----BEGIN PRIVATE KEY-----\nMIIBVQ\nabc",
            ),
            (
                r#"{"k":"-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n"}"#,
                r"-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n",
            ),
        ],
    );
    assert_clean(
        "private_key",
        &[
            "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----",
            "-----BEGIN CERTIFICATE-----",
        ],
    );
}

const OPENAI: &str = "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z_Ab3dEf6hIj9kLm2nOp5qRs8t";
const ANTHROPIC: &str = "sk-ant-api03-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb3dEf6hIj9kLm2nOp5qRs8tAA";

#[test]
fn api_keys() {
    assert_eq!(fired(&format!("key {OPENAI} ok")), ["openai_key"]);
    assert_eq!(fired(&format!("key {ANTHROPIC} ok")), ["anthropic_key"]);
    assert_eq!(
        fired("sk-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb3dEf6hIj9kLm2n"),
        ["openai_key"]
    );
    assert_eq!(fired("AKIAIOSFODNN7EXAMPLE"), ["aws_access_key"]);
    assert_eq!(fired("id=ASIAY34FZKBOKMUTVV7A,"), ["aws_access_key"]);
    assert_eq!(
        fired("AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe"),
        ["google_api_key"]
    );
    assert_eq!(
        fired("ghp_Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb3d"),
        ["github_token"]
    );
    assert_eq!(
        fired("github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789"),
        ["github_token"]
    );
    assert_eq!(
        fired("xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"),
        ["slack_token"]
    );
    for clean in [
        "sk-learn-compatible-estimators-for-you",
        "task-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z",
        "sk-ant-short",
        "AKIA1234",
        "XAKIAIOSFODNN7EXAMPLE",
        "AIzaShort",
        "ghp_short",
        "xoxo, see you",
    ] {
        assert_eq!(fired(clean), [] as [&str; 0], "{clean}");
    }
}

const JWT: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";

#[test]
fn jwt_and_bearer() {
    assert_finds("jwt", &[(&format!("token {JWT}."), JWT)]);
    assert_finds(
        "bearer_token",
        &[(
            "Authorization: Bearer abc123DEF456ghi789JKL0",
            "abc123DEF456ghi789JKL0",
        )],
    );
    assert_eq!(
        fired(&format!("Authorization: Bearer {JWT}")),
        ["jwt", "bearer_token"]
    );
    assert_clean("jwt", &["eyJhbGciOi", "eyJhbGciOiJIUzI1NiJ9.notjwt"]);
    assert_clean(
        "bearer_token",
        &["Bearer authentication-is-required", "bearer of bad news"],
    );
}

#[test]
fn secret_assignment() {
    assert_finds(
        "secret_assignment",
        &[
            ("api_key=a8F3kd92LmQ0zX71pq", "a8F3kd92LmQ0zX71pq"),
            (
                r#"{"client_secret": "Zx81kLm02QpR7vT5"}"#,
                "Zx81kLm02QpR7vT5",
            ),
            ("MY_SERVICE_API_KEY=9fJ2kQ8xLm3Np7Rt", "9fJ2kQ8xLm3Np7Rt"),
            ("x-api-key: 4fG7hJ2kL9mN3pQ8rS", "4fG7hJ2kL9mN3pQ8rS"),
            ("PASSWORD='Xk9vTq2LmP7zR4wB'", "Xk9vTq2LmP7zR4wB"),
        ],
    );
    assert_clean(
        "secret_assignment",
        &[
            "api_key=${OPENAI_API_KEY}",
            "max_tokens=1234567890123456",
            "token: your-token-here",
            "password: correcthorsebatterystaple",
            "token=12345678901234567890",
        ],
    );
}

#[test]
fn everyday_text_is_clean() {
    for text in [
        "Meeting on 2024-03-15T10:30:00Z, see ticket ORD-2023-000123.",
        "id 550e8400-e29b-41d4-a716-446655440000",
        "commit 3f9a2c4e1b7d8f6a5c3e2d1b0a9f8e7d6c5b4a39 fixed it",
        "release v1.2.3-rc.4+build.5678, rust 1.95.0",
        "order 4716123456789013 costs $1,234,567.89 (12.5%)",
        "host 10.0.0.1, ::1, fe80::1ff:fe23:4567:890a, color #ff8800",
        "Call me maybe. Numbers 1 2 3 4 5 6 7 8 9 10 11 12.",
        "The quick brown fox jumps over the lazy dog; 42 is the answer.",
        "unicode: café, naïve, 東京, Ελληνικά, emoji 🎉 and 123",
        "[REDACTED:email] [REDACTED:secret_assignment] Bearer [REDACTED:bearer_token]",
    ] {
        assert_eq!(fired(text), [] as [&str; 0], "{text}");
    }
}

fn custom(name: &str, pattern: &str, class: DataClass) -> CustomDetector {
    CustomDetector {
        name: name.to_owned(),
        pattern: pattern.to_owned(),
        class,
    }
}

#[test]
fn custom_detectors_from_config() {
    let config = DetectorsConfig {
        custom: vec![
            custom("employee_id", r"\bEMP-[0-9]{6}\b", Internal),
            custom("vault_ref", r"vault:(?P<secret>[a-z0-9]{8})", Secret),
            custom("shouting", r"[A-Z]{4,}", Internal),
        ],
        disable: vec!["phone".to_owned()],
    };
    let d = Detectors::new(&config).unwrap();
    assert!(d.iter().all(|(n, _)| n != "phone"));
    let text = "EMP-123456 uses vault:ab12cd34; call 555-123-4567";
    let hits: Vec<(&str, &str)> = d
        .scan(text)
        .iter()
        .map(|h| (h.detector, &text[h.start..h.end]))
        .collect();
    assert_eq!(
        hits,
        [("employee_id", "EMP-123456"), ("vault_ref", "ab12cd34")]
    );
    // A custom pattern never matches inside a placeholder.
    assert!(d.scan("[REDACTED:employee_id]").is_empty());
}

#[test]
fn bad_detector_config_is_refused_with_reasons() {
    let err = |custom: Vec<CustomDetector>, disable: Vec<&str>| {
        Detectors::new(&DetectorsConfig {
            custom,
            disable: disable.into_iter().map(str::to_owned).collect(),
        })
        .unwrap_err()
        .to_string()
    };
    assert!(err(vec![custom("Bad Name", "x", Pii)], vec![]).contains("\"Bad Name\""));
    assert!(err(vec![custom("email", "x", Pii)], vec![]).contains("used twice"));
    assert!(err(vec![custom("a", "x", Pii), custom("a", "y", Pii)], vec![]).contains("used twice"));
    let bad = err(vec![custom("broken", "(unclosed", Pii)], vec![]);
    assert!(
        bad.starts_with("detector \"broken\": pattern does not compile"),
        "{bad}"
    );
    let unknown = err(vec![], vec!["fax"]);
    assert!(
        unknown.contains("unknown built-in detector \"fax\"; known: email, phone"),
        "{unknown}"
    );
}

#[test]
fn classify_scans_text_tool_calls_and_results() {
    let mut assistant = Message::text(Role::Assistant, "");
    assistant.tool_calls.push(ToolCall {
        id: "call_1".to_owned(),
        name: "lookup".to_owned(),
        arguments: r#"{"iban":"DE89370400440532013000"}"#.to_owned(),
    });
    let mut result = Message::text(Role::Tool, format!("found key {ANTHROPIC}"));
    result.tool_call_id = Some("call_1".to_owned());
    let request = ChatRequest {
        model: "fast".to_owned(),
        messages: vec![
            Message::text(Role::System, "You are helpful."),
            Message::text(Role::User, "mail jane@example.com"),
            assistant,
            result,
        ],
        ..ChatRequest::default()
    };
    let declared = DataClasses::only(Internal);
    let c = classify(&request, declared, &DETECTORS);
    assert_eq!(
        c.classes,
        [Internal, Pii, Financial, Secret].into_iter().collect()
    );
    assert_eq!(c.raised(), [Pii, Financial, Secret].into_iter().collect());
    let found: Vec<(&str, usize, Field, usize, usize)> = c
        .findings
        .iter()
        .map(|f| (f.detector.as_str(), f.message, f.field, f.start, f.end))
        .collect();
    assert_eq!(
        found,
        [
            ("email", 1, Field::Content(0), 5, 21),
            ("iban", 2, Field::ToolCall(0), 9, 31),
            (
                "anthropic_key",
                3,
                Field::Content(0),
                10,
                10 + ANTHROPIC.len()
            ),
        ]
    );
    // Findings say where, never what.
    let json = serde_json::to_string(&c).unwrap();
    assert!(!json.contains("jane") && !json.contains("DE89") && !json.contains("sk-ant"));
    // Declared classes are kept even when nothing is found.
    let clean = ChatRequest {
        messages: vec![Message::text(Role::User, "hello")],
        ..ChatRequest::default()
    };
    let declared = DataClasses::only(Secret);
    assert_eq!(classify(&clean, declared, &DETECTORS).classes, declared);
}

#[test]
fn prose_dates_and_versions_cost_one_set_scan() {
    // Nothing here may even make the RegexSet fire: then clean prompts cost one pass.
    for text in [
        "We upgraded from version 1.2.3 to 2.0.0-rc.1 on 2024-03-15 and 15.03.2024.",
        "The service handles about 1,200 requests per second at p95 latency of 180 ms.",
        "fn backoff(attempt: u32) -> Duration { Duration::from_millis(100 * 2u64.pow(attempt)) }",
        "Ticket ORD-2023-000123; commit 3f9a2c4e; at 10:30 on 05-10-2023; 0.5 of 12.",
        "Le système traite les requêtes rapidement, même avec des caractères accentués.",
    ] {
        assert!(!DETECTORS.set.is_match(text), "set fires on {text:?}");
    }
}
