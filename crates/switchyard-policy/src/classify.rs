//! Classification: finds the data classes a request carries with regex detectors (built-in and
//! from config) and reports *where* they fired, never the matched text. Pure: no I/O.
//!
//! One `RegexSet` pass over each text says which detectors can fire; only those run their own
//! regex and check, so clean text costs one scan.

mod builtin;
mod checks;

use crate::{DataClass, DataClasses};
use regex::{Regex, RegexSet, RegexSetBuilder};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::Range;
use switchyard_protocol::{ChatRequest, Part};

/// Upper bound on the compiled size of one detector regex and of the set (bytes).
const SIZE_LIMIT: usize = 32 << 20;

/// A detector from config: a name, a regex and the class a match raises the request to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomDetector {
    /// Lowercase name (`[a-z][a-z0-9_-]*`), also the placeholder type: `[REDACTED:<name>]`.
    pub name: String,
    /// Regex syntax of the `regex` crate; a group named `secret` narrows the finding to it.
    /// Prefer `(?-u:\b)` to `\b`: a Unicode word boundary slows the scan of non-ASCII text.
    pub pattern: String,
    /// The class a match raises the request to.
    pub class: DataClass,
}

/// The detector part of config: custom detectors and built-ins to switch off.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectorsConfig {
    /// Detectors added to the built-in ones.
    #[serde(default)]
    pub custom: Vec<CustomDetector>,
    /// Names of built-in detectors not to run.
    #[serde(default)]
    pub disable: Vec<String>,
}

/// Why a detector configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DetectorError {
    /// A custom detector's name is not `[a-z][a-z0-9_-]*` (at most 64 bytes).
    BadName(String),
    /// Two detectors share a name.
    DuplicateName(String),
    /// `disable` names no built-in detector.
    UnknownBuiltin {
        /// The name as given.
        name: String,
        /// The built-in names.
        known: Vec<&'static str>,
    },
    /// A pattern did not compile.
    BadPattern {
        /// The detector's name.
        name: String,
        /// The regex crate's message.
        message: String,
    },
}

impl fmt::Display for DetectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DetectorError::BadName(name) => write!(
                f,
                "detector name {name:?} must be 1-64 bytes of a-z, 0-9, '_' or '-', starting with a letter"
            ),
            DetectorError::DuplicateName(name) => {
                write!(
                    f,
                    "detector name {name:?} is used twice (built-in names included)"
                )
            }
            DetectorError::UnknownBuiltin { name, known } => write!(
                f,
                "unknown built-in detector {name:?}; known: {}",
                known.join(", ")
            ),
            DetectorError::BadPattern { name, message } => {
                write!(f, "detector {name:?}: pattern does not compile: {message}")
            }
        }
    }
}

impl std::error::Error for DetectorError {}

/// One compiled detector.
#[derive(Debug, Clone)]
struct Detector {
    name: String,
    class: DataClass,
    regex: Regex,
    /// Index of the `secret` capture group, when the pattern has one.
    secret: Option<usize>,
    check: checks::Check,
}

/// The compiled detectors: built once from config, shared by every request.
#[derive(Debug, Clone)]
pub struct Detectors {
    set: RegexSet,
    detectors: Vec<Detector>,
}

/// One finding in a text: which detector fired where (byte offsets), never what it matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit<'d> {
    /// The detector's name.
    pub detector: &'d str,
    /// The detector's class.
    pub class: DataClass,
    /// Byte offset of the first matched byte.
    pub start: usize,
    /// Byte offset just past the last matched byte.
    pub end: usize,
}

fn valid_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    name.len() <= 64
        && bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && bytes.all(crate::redact::is_name_byte)
}

fn compile(name: &str, pattern: &str) -> Result<Regex, DetectorError> {
    regex::RegexBuilder::new(pattern)
        .size_limit(SIZE_LIMIT)
        .build()
        .map_err(|e| DetectorError::BadPattern {
            name: name.to_owned(),
            message: e.to_string(),
        })
}

impl Detectors {
    /// Compiles the built-in detectors plus the configured ones; fails on a bad name or pattern.
    pub fn new(config: &DetectorsConfig) -> Result<Self, DetectorError> {
        for name in &config.disable {
            if !builtin::BUILTINS.iter().any(|b| b.name == name) {
                return Err(DetectorError::UnknownBuiltin {
                    name: name.clone(),
                    known: builtin::BUILTINS.iter().map(|b| b.name).collect(),
                });
            }
        }
        let mut detectors = Vec::new();
        for b in builtin::BUILTINS {
            if !config.disable.iter().any(|d| d == b.name) {
                detectors.push(Detector {
                    name: b.name.to_owned(),
                    class: b.class,
                    regex: compile(b.name, b.pattern)?,
                    secret: None,
                    check: b.check,
                });
            }
        }
        for c in &config.custom {
            if !valid_name(&c.name) {
                return Err(DetectorError::BadName(c.name.clone()));
            }
            let taken = builtin::BUILTINS.iter().any(|b| b.name == c.name)
                || detectors.iter().any(|d| d.name == c.name);
            if taken {
                return Err(DetectorError::DuplicateName(c.name.clone()));
            }
            detectors.push(Detector {
                name: c.name.clone(),
                class: c.class,
                regex: compile(&c.name, &c.pattern)?,
                secret: None,
                check: checks::accept,
            });
        }
        for d in &mut detectors {
            d.secret = d.regex.capture_names().position(|n| n == Some("secret"));
        }
        let set = RegexSetBuilder::new(detectors.iter().map(|d| d.regex.as_str()))
            .size_limit(SIZE_LIMIT)
            .build()
            .map_err(|e| DetectorError::BadPattern {
                name: "(set of all detectors)".to_owned(),
                message: e.to_string(),
            })?;
        Ok(Detectors { set, detectors })
    }

    /// Only the built-in detectors.
    pub fn builtin() -> Result<Self, DetectorError> {
        Detectors::new(&DetectorsConfig::default())
    }

    /// The detectors' names and classes, in reporting order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, DataClass)> {
        self.detectors.iter().map(|d| (d.name.as_str(), d.class))
    }

    /// Every finding in `text`, ordered by start then end.
    pub fn scan(&self, text: &str) -> Vec<Hit<'_>> {
        self.scan_classes(text, |_| true)
    }

    /// The findings of detectors whose class `wanted` accepts, ordered by start then end.
    /// Redaction placeholders are opaque: text is scanned between them, never across.
    pub(crate) fn scan_classes(
        &self,
        text: &str,
        wanted: impl Fn(DataClass) -> bool,
    ) -> Vec<Hit<'_>> {
        let mut hits = Vec::new();
        let fired = self.set.matches(text);
        if !fired.matched_any() {
            return hits;
        }
        let firing: Vec<&Detector> = fired
            .iter()
            .filter_map(|i| self.detectors.get(i))
            .filter(|d| wanted(d.class))
            .collect();
        if firing.is_empty() {
            return hits;
        }
        for segment in crate::redact::segments(text) {
            let Some(hay) = text.get(segment.clone()) else {
                continue;
            };
            for d in &firing {
                d.find(hay, |span| {
                    let (start, end) = (segment.start + span.start, segment.start + span.end);
                    if start < end && text.is_char_boundary(start) && text.is_char_boundary(end) {
                        hits.push(Hit {
                            detector: &d.name,
                            class: d.class,
                            start,
                            end,
                        });
                    }
                });
            }
        }
        hits.sort_by_key(|h| (h.start, h.end));
        hits
    }

    /// The classes found in `text`.
    pub fn classes_in(&self, text: &str) -> DataClasses {
        self.scan(text).iter().map(|h| h.class).collect()
    }
}

impl Detector {
    /// Calls `found` with the span of each confirmed match in `hay`. A match the check drops
    /// is searched again one character later, so a bad candidate cannot hide a good one
    /// (`call 12 4111 1111 1111 1111`).
    fn find(&self, hay: &str, mut found: impl FnMut(Range<usize>)) {
        let mut pos = 0;
        while pos <= hay.len() {
            let Some((whole, target)) = self.next_match(hay, pos) else {
                break;
            };
            let retry = next_char(hay, whole.start);
            let span = (!target.is_empty())
                .then(|| (self.check)(hay, target))
                .flatten()
                .filter(|s| !s.is_empty());
            match span {
                Some(span) => {
                    pos = span.end.max(retry);
                    found(span);
                }
                None => pos = retry,
            }
        }
    }

    /// The next match at or after `pos`: the whole match and the span to check (the `secret`
    /// group when there is one).
    fn next_match(&self, hay: &str, pos: usize) -> Option<(Range<usize>, Range<usize>)> {
        match self.secret {
            Some(group) => {
                let caps = self.regex.captures_at(hay, pos)?;
                let whole = caps.get(0)?.range();
                let target = caps.get(group).map_or(whole.clone(), |m| m.range());
                Some((whole, target))
            }
            None => {
                let m = self.regex.find_at(hay, pos)?;
                Some((m.range(), m.range()))
            }
        }
    }
}

/// The byte offset of the character after the one at `at` (`at + 1` past the end).
fn next_char(hay: &str, at: usize) -> usize {
    at + hay
        .get(at..)
        .and_then(|s| s.chars().next())
        .map_or(1, char::len_utf8)
}

/// Where in a message a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "field", content = "index", rename_all = "snake_case")]
pub enum Field {
    /// The message's content part with this index (text, or a tool result's text).
    Content(usize),
    /// The arguments of the message's tool call with this index.
    ToolCall(usize),
}

/// That a detector fired, and where: safe to record, it holds none of the matched text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The detector's name (`email`, or a custom one).
    pub detector: String,
    /// The class it raises the request to.
    pub class: DataClass,
    /// Index of the message in `ChatRequest::messages`.
    pub message: usize,
    /// The part of the message.
    pub field: Field,
    /// Byte offset of the match in that part's text.
    pub start: usize,
    /// Byte offset just past the match.
    pub end: usize,
}

/// The outcome of classification: the request's classes and the findings behind them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Classification {
    /// The classes the client declared.
    pub declared: DataClasses,
    /// Declared classes plus every class found: never lower than `declared`.
    pub classes: DataClasses,
    /// Each finding, in message order.
    pub findings: Vec<Finding>,
}

impl Classification {
    /// The classes found that the client did not declare.
    pub fn raised(&self) -> DataClasses {
        self.classes.difference(self.declared)
    }
}

/// Scans every text part, tool-call argument and tool result of `request`; the result's classes
/// are `declared` plus all found, so classification can raise a declared class, never lower it.
pub fn classify(
    request: &ChatRequest,
    declared: DataClasses,
    detectors: &Detectors,
) -> Classification {
    let mut out = Classification {
        declared,
        classes: declared,
        findings: Vec::new(),
    };
    let mut record = |message: usize, field: Field, text: &str| {
        for hit in detectors.scan(text) {
            out.classes.insert(hit.class);
            out.findings.push(Finding {
                detector: hit.detector.to_owned(),
                class: hit.class,
                message,
                field,
                start: hit.start,
                end: hit.end,
            });
        }
    };
    for (m, message) in request.messages.iter().enumerate() {
        for (p, part) in message.content.iter().enumerate() {
            if let Part::Text { text } = part {
                record(m, Field::Content(p), text);
            }
        }
        for (c, call) in message.tool_calls.iter().enumerate() {
            record(m, Field::ToolCall(c), &call.arguments);
        }
    }
    out
}

#[cfg(test)]
mod tests;
