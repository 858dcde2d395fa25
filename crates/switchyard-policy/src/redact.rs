//! Redaction: replaces what the detectors find with typed placeholders (`[REDACTED:email]`),
//! per data class, in text, canonical requests and JSON bodies. Used before a request goes
//! upstream and before anything is logged. Idempotent; never panics; never does I/O.

use crate::classify::Detectors;
use crate::{DataClass, DataClasses};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::ops::Range;
use switchyard_protocol::{ChatRequest, EmbedRequest, Part};

/// How every placeholder starts; the detector name and `]` follow.
pub const PLACEHOLDER_PREFIX: &str = "[REDACTED:";

/// The placeholder type written for a secret-named JSON field (`"password": "…"`).
pub const SENSITIVE_FIELD: &str = "secret_assignment";

/// JSON field names whose string values are secrets whatever they look like; compared in
/// lowercase with `-` and `_` removed.
const SENSITIVE_KEYS: &[&str] = &[
    "accesskey",
    "accesskeyid",
    "accesstoken",
    "apikey",
    "apisecret",
    "authorization",
    "authtoken",
    "clientsecret",
    "cookie",
    "passwd",
    "password",
    "privatekey",
    "proxyauthorization",
    "refreshtoken",
    "secret",
    "secretaccesskey",
    "secretkey",
    "sessiontoken",
    "setcookie",
    "token",
    "xapikey",
];

/// What to do with findings of one class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Replace each finding with its placeholder.
    Redact,
    /// Leave the text as it is.
    Keep,
}

/// Which classes to redact. Default: `pii`, `financial` and `secret`; serialised as a map from
/// class to action, where missing classes take the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "PolicyMap", into = "PolicyMap")]
pub struct RedactionPolicy {
    redact: DataClasses,
}

impl Default for RedactionPolicy {
    fn default() -> Self {
        RedactionPolicy {
            redact: [DataClass::Pii, DataClass::Financial, DataClass::Secret]
                .into_iter()
                .collect(),
        }
    }
}

impl RedactionPolicy {
    /// A policy that keeps everything.
    pub fn keep_all() -> Self {
        RedactionPolicy {
            redact: DataClasses::EMPTY,
        }
    }

    /// A policy that redacts exactly `classes`.
    pub fn only(classes: DataClasses) -> Self {
        RedactionPolicy { redact: classes }
    }

    /// A policy that redacts every class.
    pub fn redact_all() -> Self {
        RedactionPolicy {
            redact: DataClass::ALL.into_iter().collect(),
        }
    }

    /// This policy with `action` for `class`.
    #[must_use]
    pub fn with(self, class: DataClass, action: Action) -> Self {
        let one = DataClasses::only(class);
        let redact = match action {
            Action::Redact => self.redact.union(one),
            Action::Keep => self.redact.difference(one),
        };
        RedactionPolicy { redact }
    }

    /// The action for `class`.
    pub fn action(&self, class: DataClass) -> Action {
        if self.redact.contains(class) {
            Action::Redact
        } else {
            Action::Keep
        }
    }

    /// The classes this policy redacts.
    pub fn redacted(&self) -> DataClasses {
        self.redact
    }
}

/// The serde shape of [`RedactionPolicy`]: `{ pii = "redact", internal = "keep", … }`.
#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyMap {
    #[serde(default)]
    public: Option<Action>,
    #[serde(default)]
    internal: Option<Action>,
    #[serde(default)]
    pii: Option<Action>,
    #[serde(default)]
    financial: Option<Action>,
    #[serde(default)]
    secret: Option<Action>,
}

impl From<PolicyMap> for RedactionPolicy {
    fn from(map: PolicyMap) -> Self {
        let pairs = [
            (DataClass::Public, map.public),
            (DataClass::Internal, map.internal),
            (DataClass::Pii, map.pii),
            (DataClass::Financial, map.financial),
            (DataClass::Secret, map.secret),
        ];
        pairs
            .into_iter()
            .fold(RedactionPolicy::default(), |policy, (class, action)| {
                action.map_or(policy, |a| policy.with(class, a))
            })
    }
}

impl From<RedactionPolicy> for PolicyMap {
    fn from(policy: RedactionPolicy) -> Self {
        let a = |c| Some(policy.action(c));
        PolicyMap {
            public: a(DataClass::Public),
            internal: a(DataClass::Internal),
            pii: a(DataClass::Pii),
            financial: a(DataClass::Financial),
            secret: a(DataClass::Secret),
        }
    }
}

/// The placeholder for a finding of detector `name`: `[REDACTED:name]`.
pub fn placeholder(name: &str) -> String {
    format!("{PLACEHOLDER_PREFIX}{name}]")
}

/// Bytes allowed in a placeholder's name (and in detector names after the first letter).
pub(crate) fn is_name_byte(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-'
}

/// The byte length of the placeholder starting at `at`, if one does.
fn placeholder_len(text: &str, at: usize) -> Option<usize> {
    let rest = text.as_bytes().get(at..)?;
    let name = rest.strip_prefix(PLACEHOLDER_PREFIX.as_bytes())?;
    let n = name.iter().take_while(|b| is_name_byte(**b)).count();
    (n > 0 && name.get(n) == Some(&b']')).then_some(PLACEHOLDER_PREFIX.len() + n + 1)
}

/// True when `text` is exactly one placeholder.
pub fn is_placeholder(text: &str) -> bool {
    placeholder_len(text, 0) == Some(text.len())
}

/// The byte ranges of `text` outside placeholders: detectors scan these, so a placeholder is
/// never (part of) a finding and redacting twice changes nothing.
pub(crate) fn segments(text: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let (mut from, mut search) = (0, 0);
    while let Some(i) = text.get(search..).and_then(|t| t.find(PLACEHOLDER_PREFIX)) {
        let at = search + i;
        match placeholder_len(text, at) {
            Some(len) => {
                if at > from {
                    out.push(from..at);
                }
                from = at + len;
                search = from;
            }
            // `[` is ASCII, so the next byte starts a character.
            None => search = at + 1,
        }
    }
    if from < text.len() {
        out.push(from..text.len());
    }
    out
}

/// Replaces every finding of a class the policy redacts with its placeholder; overlapping
/// findings become one placeholder named after the first. Borrows when nothing was found.
pub fn redact_text<'a>(
    text: &'a str,
    detectors: &Detectors,
    policy: &RedactionPolicy,
) -> Cow<'a, str> {
    redact_spans(text, detectors, policy, |_, hit| hit)
}

/// [`redact_text`], each finding's span first passed through `widen` (given the text).
fn redact_spans<'a>(
    text: &'a str,
    detectors: &Detectors,
    policy: &RedactionPolicy,
    widen: impl Fn(&str, Range<usize>) -> Range<usize>,
) -> Cow<'a, str> {
    let mut current = Cow::Borrowed(text);
    if policy.redact.is_empty() {
        return current;
    }
    // Each pass turns at least one scanned byte into placeholder bytes, which are never
    // scanned again, so this ends; the second pass catches matches a cut made possible.
    loop {
        let mut hits: Vec<_> = detectors
            .scan_classes(&current, |c| policy.redact.contains(c))
            .into_iter()
            .map(|hit| (widen(&current, hit.start..hit.end), hit.detector))
            .collect();
        if hits.is_empty() {
            return current;
        }
        hits.sort_by_key(|(span, _)| span.start);
        let mut out = String::with_capacity(current.len());
        let mut at = 0;
        let mut hits = hits.into_iter().peekable();
        while let Some((span, detector)) = hits.next() {
            let mut end = span.end;
            while let Some((next, _)) = hits.next_if(|(n, _)| n.start < end) {
                end = end.max(next.end);
            }
            out.push_str(current.get(at..span.start).unwrap_or_default());
            out.push_str(PLACEHOLDER_PREFIX);
            out.push_str(detector);
            out.push(']');
            at = end;
        }
        out.push_str(current.get(at..).unwrap_or_default());
        current = Cow::Owned(out);
    }
}

/// A copy of `request` with its text parts, tool results and tool-call arguments redacted, for
/// the optional "redact before it goes upstream" step. Tool-call arguments stay valid JSON.
pub fn redact_request(
    request: &ChatRequest,
    detectors: &Detectors,
    policy: &RedactionPolicy,
) -> ChatRequest {
    let mut out = request.clone();
    for message in &mut out.messages {
        for part in &mut message.content {
            if let Part::Text { text } = part
                && let Cow::Owned(redacted) = redact_text(text, detectors, policy)
            {
                *text = redacted;
            }
        }
        for call in &mut message.tool_calls {
            if let Some(redacted) = redact_arguments(&call.arguments, detectors, policy) {
                call.arguments = redacted;
            }
        }
    }
    out
}

/// The embeddings request with the classes `policy` names redacted from every input.
pub fn redact_embed_request(
    request: &EmbedRequest,
    detectors: &Detectors,
    policy: &RedactionPolicy,
) -> EmbedRequest {
    let mut out = request.clone();
    for input in &mut out.input {
        if let Cow::Owned(redacted) = redact_text(input, detectors, policy) {
            *input = redacted;
        }
    }
    out
}

/// The escape sequence of JSON text (`\n`, `\u0040`) that byte `at` belongs to, if any.
fn escape_around(text: &str, at: usize) -> Option<Range<usize>> {
    let bytes = text.as_bytes();
    // A backslash starts an escape unless it is itself escaped (an odd run before it).
    let starts = |i: usize| {
        let before = bytes.get(..i).unwrap_or_default();
        bytes.get(i) == Some(&b'\\')
            && before.iter().rev().take_while(|&&c| c == b'\\').count() % 2 == 0
    };
    (0..=5.min(at)).map(|k| at - k).find_map(|i| {
        let len = if bytes.get(i + 1) == Some(&b'u') {
            6
        } else {
            2
        };
        (starts(i) && at < i + len).then(|| i..(i + len).min(bytes.len()))
    })
}

/// Redacts tool-call arguments as text; if that broke JSON that was valid (a custom pattern
/// spanning a quote), redacts the parsed value instead. `None` when nothing changed. A finding
/// that starts or ends inside an escape sequence (`n@example.com` read out of a newline and
/// `@example.com`) takes the whole escape with it: cut in half, the escape broke the JSON, and
/// the parsed value, which holds no such finding, was left as it was, finding and all.
fn redact_arguments(args: &str, detectors: &Detectors, policy: &RedactionPolicy) -> Option<String> {
    let whole_escapes = |text: &str, span: Range<usize>| {
        let start = escape_around(text, span.start).map_or(span.start, |e| e.start);
        let last = span.end.saturating_sub(1).max(span.start);
        let end = escape_around(text, last).map_or(span.end, |e| e.end.max(span.end));
        start..end
    };
    let Cow::Owned(redacted) = redact_spans(args, detectors, policy, whole_escapes) else {
        return None;
    };
    if serde_json::from_str::<Value>(&redacted).is_ok() {
        return Some(redacted);
    }
    let Ok(value) = serde_json::from_str::<Value>(args) else {
        return Some(redacted);
    };
    let cleaned = redact_json(&value, detectors, policy);
    if cleaned == value {
        return None;
    }
    serde_json::to_string(&cleaned).ok().or(Some(redacted))
}

fn is_sensitive_key(key: &str) -> bool {
    let folded: String = key
        .chars()
        .filter(|c| *c != '-' && *c != '_')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    SENSITIVE_KEYS.contains(&folded.as_str())
}

/// A copy of a JSON body (request, response, tool result) for logging: every string and key
/// redacted, and the string value of a secret-named field (`password`, `authorization`, …)
/// replaced whole when the policy redacts `secret`.
pub fn redact_json(value: &Value, detectors: &Detectors, policy: &RedactionPolicy) -> Value {
    match value {
        Value::String(s) => Value::String(redact_text(s, detectors, policy).into_owned()),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| redact_json(v, detectors, policy))
                .collect(),
        ),
        Value::Object(map) => {
            let mut out = Map::with_capacity(map.len());
            for (key, v) in map {
                let whole_secret = policy.redact.contains(DataClass::Secret)
                    && is_sensitive_key(key)
                    && matches!(v, Value::String(s) if !s.is_empty() && !is_placeholder(s));
                let v = if whole_secret {
                    Value::String(placeholder(SENSITIVE_FIELD))
                } else {
                    redact_json(v, detectors, policy)
                };
                // Two keys redacted to the same placeholder keep the later value: logging only.
                out.insert(redact_text(key, detectors, policy).into_owned(), v);
            }
            Value::Object(out)
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => value.clone(),
    }
}

#[cfg(test)]
mod tests;
