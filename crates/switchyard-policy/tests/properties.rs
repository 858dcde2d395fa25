//! Property tests of classification and redaction: idempotence, no residual findings, classes
//! only rise, no panics on arbitrary text, and generated valid cards and IBANs always found.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use serde_json::json;
use std::sync::LazyLock;
use switchyard_policy::{
    DataClass, DataClasses, Detectors, RedactionPolicy, classify, redact_json, redact_request,
    redact_text,
};
use switchyard_protocol::{ChatRequest, Message, Role, ToolCall};

static DETECTORS: LazyLock<Detectors> =
    LazyLock::new(|| Detectors::builtin().expect("built-in detectors compile"));

/// Pieces that, glued together, make text full of findings, near-findings and placeholders.
const PIECES: &[&str] = &[
    "jane.doe@example.com",
    "@",
    ".com",
    "+44 20 7946 0958",
    "555-123-4567",
    "020 7946 0958",
    "123-45-6789",
    "4111 1111 1111 1111",
    "4111111111111111",
    "5555-5555-5555-4444",
    "DE89 3704 0044 0532 0130 00",
    "GB82WEST12345698765432",
    "AKIAIOSFODNN7EXAMPLE",
    "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z",
    "ghp_Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb3d",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N",
    "Bearer ",
    "api_key=",
    "a8F3kd92LmQ0zX71pq",
    "-----BEGIN PRIVATE KEY-----\n",
    "-----END PRIVATE KEY-----",
    "[REDACTED:",
    "[REDACTED:email]",
    "]",
    " ",
    "-",
    "\n",
    "0",
    "é",
];

/// Text built from [`PIECES`] and short random runs.
fn sensitive_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => proptest::sample::select(PIECES).prop_map(str::to_owned),
        1 => "[a-zA-Z0-9 .,:=_@+\\-\\[\\]]{0,8}",
        1 => any::<String>().prop_map(|s| s.chars().take(6).collect()),
    ];
    proptest::collection::vec(piece, 0..16).prop_map(|v| v.concat())
}

fn policy() -> impl Strategy<Value = RedactionPolicy> {
    any::<[bool; 5]>().prop_map(|flags| {
        DataClass::ALL
            .into_iter()
            .zip(flags)
            .fold(RedactionPolicy::keep_all(), |p, (class, on)| {
                p.with(
                    class,
                    if on {
                        switchyard_policy::Action::Redact
                    } else {
                        switchyard_policy::Action::Keep
                    },
                )
            })
    })
}

fn classes() -> impl Strategy<Value = DataClasses> {
    any::<[bool; 5]>().prop_map(|flags| {
        DataClass::ALL
            .into_iter()
            .zip(flags)
            .filter(|(_, on)| *on)
            .map(|(c, _)| c)
            .collect()
    })
}

fn request(texts: Vec<String>) -> ChatRequest {
    let mut messages: Vec<Message> = texts
        .iter()
        .map(|t| Message::text(Role::User, t.clone()))
        .collect();
    if let Some(first) = texts.first() {
        let mut call = Message::text(Role::Assistant, "");
        call.tool_calls.push(ToolCall {
            id: "c".to_owned(),
            name: "f".to_owned(),
            arguments: json!({ "q": first }).to_string(),
        });
        messages.push(call);
    }
    ChatRequest {
        model: "m".to_owned(),
        messages,
        ..ChatRequest::default()
    }
}

/// The digits of `n` Luhn-completed: `body` plus the check digit.
fn luhn_complete(body: &str) -> String {
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

/// Card prefixes with a length their network issues.
const CARDS: &[(&str, usize)] = &[
    ("4", 16),
    ("4", 13),
    ("4", 19),
    ("51", 16),
    ("55", 16),
    ("2221", 16),
    ("2720", 16),
    ("34", 15),
    ("37", 15),
    ("35", 16),
    ("36", 14),
    ("6011", 16),
    ("65", 16),
    ("62", 19),
];

/// A valid card number written unseparated, or in groups of 4 with spaces or dashes.
fn card() -> impl Strategy<Value = (String, String)> {
    (proptest::sample::select(CARDS), "[0-9]{19}", 0..3usize).prop_map(
        |((prefix, len), fill, style)| {
            let body = format!("{prefix}{}", &fill[..len - 1 - prefix.len()]);
            let digits = luhn_complete(&body);
            let written = match style {
                0 => digits.clone(),
                s => {
                    let sep = if s == 1 { " " } else { "-" };
                    let groups: Vec<&str> = digits
                        .as_bytes()
                        .chunks(4)
                        .map(|c| std::str::from_utf8(c).unwrap())
                        .collect();
                    groups.join(sep)
                }
            };
            (digits, written)
        },
    )
}

/// Countries with their IBAN length.
const IBANS: &[(&str, usize)] = &[
    ("DE", 22),
    ("GB", 22),
    ("FR", 27),
    ("NL", 18),
    ("NO", 15),
    ("BE", 16),
    ("CH", 21),
    ("MT", 31),
    ("LC", 32),
    ("RU", 33),
];

fn mod97(s: &str) -> u32 {
    s.bytes().fold(0, |rem, b| match b {
        b'0'..=b'9' => (rem * 10 + u32::from(b - b'0')) % 97,
        _ => (rem * 100 + u32::from(b - b'A' + 10)) % 97,
    })
}

/// A valid IBAN, unseparated or in groups of 4 with spaces.
fn iban() -> impl Strategy<Value = String> {
    (
        proptest::sample::select(IBANS),
        "[0-9A-Z]{30}",
        any::<bool>(),
    )
        .prop_map(|((country, len), fill, spaced)| {
            let bban = &fill[..len - 4];
            let check = 98 - mod97(&format!("{bban}{country}00"));
            let iban = format!("{country}{check:02}{bban}");
            if spaced {
                let groups: Vec<&str> = iban
                    .as_bytes()
                    .chunks(4)
                    .map(|c| std::str::from_utf8(c).unwrap())
                    .collect();
                groups.join(" ")
            } else {
                iban
            }
        })
}

proptest! {
    #[test]
    fn redaction_is_idempotent(text in sensitive_text(), policy in policy()) {
        let once = redact_text(&text, &DETECTORS, &policy).into_owned();
        let twice = redact_text(&once, &DETECTORS, &policy);
        prop_assert_eq!(twice.as_ref(), once.as_str());
    }

    #[test]
    fn redacted_text_has_no_finding_of_a_redacted_class(text in sensitive_text(), policy in policy()) {
        let out = redact_text(&text, &DETECTORS, &policy);
        for hit in DETECTORS.scan(&out) {
            prop_assert!(!policy.redacted().contains(hit.class), "{:?} left in {:?}", hit, out);
        }
    }

    #[test]
    fn nothing_panics_on_arbitrary_text(text in any::<String>(), policy in policy()) {
        for hit in DETECTORS.scan(&text) {
            prop_assert!(text.get(hit.start..hit.end).is_some());
        }
        let once = redact_text(&text, &DETECTORS, &policy).into_owned();
        let twice = redact_text(&once, &DETECTORS, &policy);
        prop_assert_eq!(twice.as_ref(), once.as_str());
        let value = json!({ text.clone(): [text.clone(), { "password": text.clone() }] });
        let redacted = redact_json(&value, &DETECTORS, &policy);
        prop_assert_eq!(redact_json(&redacted, &DETECTORS, &policy), redacted);
        let _ = classify(&request(vec![text]), DataClasses::EMPTY, &DETECTORS);
    }

    #[test]
    fn classes_only_rise(texts in proptest::collection::vec(sensitive_text(), 0..4), declared in classes()) {
        let req = request(texts);
        let found = classify(&req, DataClasses::EMPTY, &DETECTORS);
        let c = classify(&req, declared, &DETECTORS);
        prop_assert!(declared.is_subset(c.classes));
        prop_assert_eq!(c.classes, declared.union(found.classes));
        prop_assert_eq!(&c.findings, &found.findings);
    }

    #[test]
    fn redacted_requests_classify_below_the_redacted_classes(
        texts in proptest::collection::vec(sensitive_text(), 1..4),
        policy in policy(),
    ) {
        let out = redact_request(&request(texts), &DETECTORS, &policy);
        let c = classify(&out, DataClasses::EMPTY, &DETECTORS);
        prop_assert!(c.findings.iter().all(|f| !policy.redacted().contains(f.class)), "{:?}", c.findings);
        prop_assert_eq!(redact_request(&out, &DETECTORS, &policy), out.clone());
        for call in out.messages.iter().flat_map(|m| &m.tool_calls) {
            prop_assert!(serde_json::from_str::<serde_json::Value>(&call.arguments).is_ok());
        }
    }

    #[test]
    fn valid_cards_are_always_found((digits, written) in card(), before in "[a-z ]{0,10}", after in "[a-z ]{0,10}") {
        let text = format!("{before} {written} {after}");
        let found = DETECTORS.scan(&text).into_iter().any(|h| {
            h.detector == "payment_card"
                && text[h.start..h.end].chars().filter(char::is_ascii_digit).collect::<String>() == digits
        });
        prop_assert!(found, "{} not found in {:?}", digits, text);
    }

    #[test]
    fn valid_ibans_are_always_found(iban in iban(), before in "[a-z ]{0,10}", after in "[a-z ]{0,10}") {
        let text = format!("{before} {iban} {after}");
        let start = before.len() + 1;
        let found = DETECTORS
            .scan(&text)
            .into_iter()
            .any(|h| h.detector == "iban" && h.start == start && h.end == start + iban.len());
        prop_assert!(found, "{} not found in {:?}", iban, text);
    }
}
