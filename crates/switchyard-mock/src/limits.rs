//! How much work one request may make the mock do, and the refusal it gets past that: schema
//! nesting, array items, string length, the bytes and values of a whole answer, prose words and
//! embedding sizes. Every number a request carries that sizes an allocation or a loop is held
//! against one of these before the work is done, or spent from a [`Budget`](crate::budget) while
//! it is. Never allocate or loop by a request's number without passing through here.

use std::fmt;

/// The generation limits. One value, [`Limits::DEFAULT`], serves every family and the gateway's
/// in-process provider; tests build smaller ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Nesting past which the generator only takes what a schema requires: required properties,
    /// `minItems` items, the `null` member of a union. 8 is the depth at which the generator
    /// always stopped, so answers to schemas shallower than that are unchanged; recursive
    /// schemas (OpenAI's strict mode writes optional recursion as a nullable union) end there.
    pub expand_depth: u32,
    /// Nesting (`$ref` hops included) past which the request is refused: 32 is three times the
    /// 10 levels OpenAI's structured outputs accept; only a schema whose required properties
    /// refer back to it (no finite answer) or a hostile one gets here.
    pub max_depth: u32,
    /// Items in one array (`minItems` above it is refused; `maxItems` above it is read as this).
    /// 10,000 items of the smallest value (`0,`) are 20,000 tokens, past the 16,384-token answer
    /// of most current models.
    pub max_items: u64,
    /// Characters in one generated string (`minLength` above it is refused): 100,000 characters
    /// are ~25,000 tokens, past any single field a model writes.
    pub max_string_chars: u64,
    /// Bytes of JSON or prose in one answer, all choices together, counted roughly as written:
    /// 1 MiB is ~260,000 tokens, twice the longest answer (128k tokens) any model gives.
    pub max_output_bytes: usize,
    /// JSON values (objects, arrays, strings, numbers, ...) in one answer, all choices together:
    /// 200,000 `serde_json::Value`s hold ~20 MB at most while the answer is built.
    pub max_output_values: usize,
    /// Words of a plain answer (the mock scenario's `words`): 100,000 words are ~700 KB, under
    /// `max_output_bytes`.
    pub max_words: usize,
    /// Floats in one embeddings answer (inputs × dimensions): 2,048 inputs at 3,072 dimensions,
    /// the largest answer OpenAI's embeddings API gives (25 MB of f32).
    pub max_embedding_values: u64,
}

impl Limits {
    pub const DEFAULT: Limits = Limits {
        expand_depth: 8,
        max_depth: 32,
        max_items: 10_000,
        max_string_chars: 100_000,
        max_output_bytes: 1024 * 1024,
        max_output_values: 200_000,
        max_words: 100_000,
        max_embedding_values: 2048 * 3072,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Which limit a request ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Depth,
    Items,
    StringChars,
    OutputBytes,
    OutputValues,
    Words,
    Dimensions,
    EmbeddingValues,
}

impl Limit {
    /// The name of the limit as [`Limits`] spells it, which refusals quote.
    pub fn name(self) -> &'static str {
        match self {
            Limit::Depth => "max_depth",
            Limit::Items => "max_items",
            Limit::StringChars => "max_string_chars",
            Limit::OutputBytes => "max_output_bytes",
            Limit::OutputValues => "max_output_values",
            Limit::Words => "max_words",
            Limit::Dimensions => "max_dimensions",
            Limit::EmbeddingValues => "max_embedding_values",
        }
    }
}

/// A request that asks for more than a limit allows. Rendered (`Display`) as the message of a
/// 400: the request's parameter or schema keyword, what it asked, and the limit by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exceeded {
    pub limit: Limit,
    /// The parameter or schema keyword that asked for it (`minItems`, `dimensions`, `$ref`).
    pub keyword: String,
    /// What the request asked for, when it is one number.
    pub requested: Option<u64>,
    /// The most the limit allows.
    pub allowed: u64,
    /// Where: a JSON pointer into the schema (`#/properties/tags`), filled in as the refusal
    /// leaves the generator.
    pub at: Option<String>,
    /// What the schema belongs to (`tool "get_weather" parameters`, `response_format`).
    pub subject: Option<String>,
    /// Pointer segments below the last `$ref`, innermost first, while `at` is being built.
    trail: Vec<String>,
}

impl Exceeded {
    pub fn new(
        limit: Limit,
        keyword: impl Into<String>,
        requested: Option<u64>,
        allowed: u64,
    ) -> Self {
        Self {
            limit,
            keyword: keyword.into(),
            requested,
            allowed,
            at: None,
            subject: None,
            trail: Vec::new(),
        }
    }

    /// Adds one pointer segment (a property name or keyword) above where the refusal arose.
    pub(crate) fn below(&mut self, segment: &str) {
        if self.at.is_none() {
            self.trail
                .push(segment.replace('~', "~0").replace('/', "~1"));
        }
    }

    /// Fixes the location: the refusal arose under `base` (the root `#`, or a `$ref` target).
    pub(crate) fn anchor(&mut self, base: &str) {
        if self.at.is_none() {
            let mut at = base.trim_end_matches('/').to_owned();
            for segment in self.trail.drain(..).rev() {
                at.push('/');
                at.push_str(&segment);
            }
            self.at = Some(at);
        }
    }

    /// Names what the schema belongs to.
    pub fn about(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }
}

impl fmt::Display for Exceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.subject, &self.at) {
            (Some(subject), Some(at)) => write!(f, "{subject} at {at}: ")?,
            (Some(subject), None) => write!(f, "{subject}: ")?,
            (None, Some(at)) => write!(f, "schema at {at}: ")?,
            (None, None) => {}
        }
        let (keyword, allowed, name) = (&self.keyword, self.allowed, self.limit.name());
        let asked = self.requested.map(|n| format!(" {n}")).unwrap_or_default();
        match self.limit {
            Limit::Depth => write!(
                f,
                "\"{keyword}\" nests the answer deeper than the mock's limit of {allowed} levels \
                 ({name}); a required property that refers back to its own schema has no finite answer"
            ),
            Limit::Items => write!(
                f,
                "\"{keyword}\"{asked} is above the mock's limit of {allowed} items per array ({name})"
            ),
            Limit::StringChars => write!(
                f,
                "\"{keyword}\"{asked} is above the mock's limit of {allowed} characters per string ({name})"
            ),
            Limit::OutputBytes => write!(
                f,
                "the answer would be larger than the mock's limit of {allowed} bytes ({name}); \
                 \"{keyword}\" multiplies it"
            ),
            Limit::OutputValues => write!(
                f,
                "the answer would hold more than the mock's limit of {allowed} JSON values \
                 ({name}); \"{keyword}\" multiplies it"
            ),
            Limit::Words => write!(
                f,
                "\"{keyword}\"{asked} is above the mock's limit of {allowed} words ({name})"
            ),
            Limit::Dimensions if self.requested == Some(0) => {
                write!(f, "\"{keyword}\" must be at least 1, got 0")
            }
            Limit::Dimensions => write!(
                f,
                "\"{keyword}\"{asked} is above the model's maximum of {allowed} ({name})"
            ),
            Limit::EmbeddingValues => write!(
                f,
                "inputs × \"{keyword}\" ={asked} values is above the mock's limit of {allowed} \
                 per request ({name}); send fewer inputs or fewer dimensions"
            ),
        }
    }
}

/// Why a generation stopped without an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// The request asks for more than a limit allows: a 400 carrying this refusal.
    Refused(Box<Exceeded>),
    /// The request ended first (its future was dropped); nobody waits for an answer.
    Cancelled,
    /// The generator itself failed (a panic on the blocking pool): a 500.
    Failed(String),
}

impl From<Exceeded> for Stop {
    fn from(e: Exceeded) -> Self {
        Stop::Refused(Box::new(e))
    }
}

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stop::Refused(e) => e.fmt(f),
            Stop::Cancelled => f.write_str("the request ended before its answer was generated"),
            Stop::Failed(m) => write!(f, "the mock failed generating the answer: {m}"),
        }
    }
}
