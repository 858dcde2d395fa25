//! Typed upstream failures (what fallback rules match on) and the error bodies clients get,
//! OpenAI-shaped and Anthropic-shaped. Never match on message strings: match on the kind.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// The kinds of upstream failure; fallback rules and breakers are written in these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ErrorKind {
    Timeout,
    RateLimited,
    Overloaded,
    Upstream5xx,
    BadRequest,
    ContextTooLong,
    Auth,
    ContentFiltered,
    Transport,
    MalformedReply,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 10] = [
        ErrorKind::Timeout,
        ErrorKind::RateLimited,
        ErrorKind::Overloaded,
        ErrorKind::Upstream5xx,
        ErrorKind::BadRequest,
        ErrorKind::ContextTooLong,
        ErrorKind::Auth,
        ErrorKind::ContentFiltered,
        ErrorKind::Transport,
        ErrorKind::MalformedReply,
    ];

    /// The name used in config and events.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Timeout => "Timeout",
            ErrorKind::RateLimited => "RateLimited",
            ErrorKind::Overloaded => "Overloaded",
            ErrorKind::Upstream5xx => "Upstream5xx",
            ErrorKind::BadRequest => "BadRequest",
            ErrorKind::ContextTooLong => "ContextTooLong",
            ErrorKind::Auth => "Auth",
            ErrorKind::ContentFiltered => "ContentFiltered",
            ErrorKind::Transport => "Transport",
            ErrorKind::MalformedReply => "MalformedReply",
        }
    }

    /// Whether the same request may succeed on a retry or another target.
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            ErrorKind::Timeout
                | ErrorKind::RateLimited
                | ErrorKind::Overloaded
                | ErrorKind::Upstream5xx
                | ErrorKind::Transport
                | ErrorKind::MalformedReply
        )
    }
}

/// An upstream call that failed, with what the caller needs to decide what to do next.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderError {
    pub kind: ErrorKind,
    /// The upstream's HTTP status, when there was one.
    pub status: Option<u16>,
    /// What went wrong, safe to show a client (never holds credentials).
    pub message: String,
    /// From the upstream's `Retry-After` (or equivalent).
    pub retry_after: Option<Duration>,
}

impl ProviderError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            status: None,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    pub fn with_retry_after(mut self, retry_after: Option<Duration>) -> Self {
        self.retry_after = retry_after;
        self
    }

    pub fn malformed(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::MalformedReply, message)
    }

    pub fn transport(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Transport, message)
    }

    pub fn timeout(after: Duration) -> Self {
        Self::new(
            ErrorKind::Timeout,
            format!("upstream did not answer within {} ms", after.as_millis()),
        )
    }

    /// Classifies an upstream HTTP error status. `message` is the upstream's own explanation;
    /// `context_too_long` is the provider's verdict on whether it names a context overflow.
    pub fn from_status(status: u16, message: String, retry_after: Option<Duration>) -> Self {
        let kind = match status {
            401 | 403 => ErrorKind::Auth,
            408 => ErrorKind::Timeout,
            413 => ErrorKind::ContextTooLong,
            429 => ErrorKind::RateLimited,
            503 | 529 => ErrorKind::Overloaded,
            500..=599 => ErrorKind::Upstream5xx,
            _ if looks_like_context_overflow(&message) => ErrorKind::ContextTooLong,
            _ => ErrorKind::BadRequest,
        };
        Self {
            kind,
            status: Some(status),
            message,
            retry_after,
        }
    }
}

/// Upstream 400s that mean "the prompt is too long" are worded differently by each vendor.
fn looks_like_context_overflow(message: &str) -> bool {
    let lower = message.to_ascii_lowercase();
    [
        "context_length_exceeded",
        "context length",
        "context window",
        "prompt is too long",
        "maximum context",
        "too many tokens",
        "input is too long",
        "exceeds the maximum number of tokens",
    ]
    .iter()
    .any(|needle| lower.contains(needle))
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            Some(status) => write!(f, "{} ({status}): {}", self.kind.as_str(), self.message),
            None => write!(f, "{}: {}", self.kind.as_str(), self.message),
        }
    }
}

impl std::error::Error for ProviderError {}

/// `{"error": {...}}` as the OpenAI API returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenAiErrorBody {
    pub error: OpenAiErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenAiErrorDetail {
    pub message: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub param: Option<String>,
    #[serde(default)]
    pub code: Option<String>,
}

/// `{"type":"error","error":{"type","message"}}` as the Anthropic API returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnthropicErrorBody {
    #[serde(rename = "type")]
    pub kind: String,
    pub error: AnthropicErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnthropicErrorDetail {
    #[serde(rename = "type")]
    pub kind: String,
    pub message: String,
}

impl AnthropicErrorBody {
    pub fn new(kind: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            kind: "error".into(),
            error: AnthropicErrorDetail {
                kind: kind.into(),
                message: message.into(),
            },
        }
    }

    /// Anthropic's error type for an HTTP status.
    pub fn type_for_status(status: u16) -> &'static str {
        match status {
            400 | 422 => "invalid_request_error",
            401 => "authentication_error",
            402 => "billing_error",
            403 => "permission_error",
            404 => "not_found_error",
            413 => "request_too_large",
            429 => "rate_limit_error",
            504 => "timeout_error",
            529 | 503 => "overloaded_error",
            _ => "api_error",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_kinds() {
        let k = |s: u16, m: &str| ProviderError::from_status(s, m.into(), None).kind;
        assert_eq!(k(429, ""), ErrorKind::RateLimited);
        assert_eq!(k(401, ""), ErrorKind::Auth);
        assert_eq!(k(529, ""), ErrorKind::Overloaded);
        assert_eq!(k(500, ""), ErrorKind::Upstream5xx);
        assert_eq!(
            k(400, "This model's maximum context length is 8192 tokens"),
            ErrorKind::ContextTooLong
        );
        assert_eq!(
            k(400, "prompt is too long: 250000 tokens"),
            ErrorKind::ContextTooLong
        );
        assert_eq!(k(422, "bad field"), ErrorKind::BadRequest);
    }
}
