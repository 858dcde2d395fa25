//! Gemini failures to typed errors. Google answers with an RPC status (`status` string plus
//! typed `details`), and the HTTP code alone misleads: an invalid API key is a 400
//! `INVALID_ARGUMENT` whose `ErrorInfo.reason` is `API_KEY_INVALID`, and the wait after a 429
//! travels as `RetryInfo.retryDelay` in the body, not as a `Retry-After` header.

use super::wire::ErrorBody;
use crate::http;
use std::time::Duration;
use switchyard_protocol::{ErrorKind, ProviderError};

/// `ErrorInfo` reasons that mean the credential is the problem.
const AUTH_REASONS: &[&str] = &[
    "CONSUMER_SUSPENDED",
    "SERVICE_DISABLED",
    "ACCESS_TOKEN_EXPIRED",
    "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
];

/// Classifies an error answer from its HTTP status and body. `retry_after` comes from headers
/// and wins over the body's `RetryInfo`.
pub fn classify(status: u16, body: &[u8], retry_after: Option<Duration>) -> ProviderError {
    let Ok(parsed) = serde_json::from_slice::<ErrorBody>(body) else {
        let message = http::upstream_message(body)
            .unwrap_or_else(|| format!("Gemini answered {status} with no error message"));
        return ProviderError::from_status(status, message, retry_after);
    };
    let error = parsed.error;
    let message = if error.message.is_empty() {
        format!(
            "Gemini answered {status} {}",
            error.status.as_deref().unwrap_or("")
        )
    } else {
        error.message
    };
    let mut out = ProviderError::from_status(
        status,
        message,
        retry_after.or_else(|| retry_delay(&error.details)),
    );
    let kind = match error.status.as_deref() {
        Some("UNAUTHENTICATED" | "PERMISSION_DENIED") => Some(ErrorKind::Auth),
        Some("RESOURCE_EXHAUSTED") => Some(ErrorKind::RateLimited),
        Some("UNAVAILABLE") => Some(ErrorKind::Overloaded),
        Some("DEADLINE_EXCEEDED") => Some(ErrorKind::Timeout),
        _ => None,
    };
    if let Some(kind) = kind {
        out.kind = kind;
    }
    if reasons(&error.details).any(|r| r.starts_with("API_KEY_") || AUTH_REASONS.contains(&r)) {
        out.kind = ErrorKind::Auth;
    }
    out
}

/// An error object sent inside a stream (no HTTP status of its own: its `code` stands in).
pub fn in_stream(body: &ErrorBody, raw: &[u8]) -> ProviderError {
    let status = body
        .error
        .code
        .filter(|c| (400..600).contains(c))
        .unwrap_or(500);
    let mut err = classify(status, raw, None);
    err.message = format!("upstream stream reported an error: {}", err.message);
    err
}

/// The `reason`s of the `ErrorInfo` details.
fn reasons(details: &[serde_json::Value]) -> impl Iterator<Item = &str> {
    details
        .iter()
        .filter(|d| typed(d, "google.rpc.ErrorInfo"))
        .filter_map(|d| d.get("reason").and_then(serde_json::Value::as_str))
}

/// `RetryInfo.retryDelay`, a protobuf Duration in JSON: decimal seconds with an `s` suffix.
fn retry_delay(details: &[serde_json::Value]) -> Option<Duration> {
    let delay = details
        .iter()
        .filter(|d| typed(d, "google.rpc.RetryInfo"))
        .find_map(|d| d.get("retryDelay").and_then(serde_json::Value::as_str))?;
    let secs: f64 = delay.trim().strip_suffix('s')?.parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs))
}

fn typed(detail: &serde_json::Value, name: &str) -> bool {
    detail
        .get("@type")
        .and_then(serde_json::Value::as_str)
        .is_some_and(|t| t.rsplit('/').next() == Some(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(v: serde_json::Value) -> Vec<u8> {
        serde_json::to_vec(&v).unwrap_or_default()
    }

    #[test]
    fn invalid_key_is_auth_despite_400() {
        let b = body(
            json!({"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.",
            "status": "INVALID_ARGUMENT", "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "API_KEY_INVALID", "domain": "googleapis.com"}]}}),
        );
        let err = classify(400, &b, None);
        assert_eq!(err.kind, ErrorKind::Auth);
        assert_eq!(err.status, Some(400));
    }

    #[test]
    fn retry_info_gives_the_wait() {
        let b = body(
            json!({"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED",
            "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "37.5s"}]}}),
        );
        let err = classify(429, &b, None);
        assert_eq!(err.kind, ErrorKind::RateLimited);
        assert_eq!(err.retry_after, Some(Duration::from_millis(37_500)));
        let err = classify(429, &b, Some(Duration::from_secs(2)));
        assert_eq!(err.retry_after, Some(Duration::from_secs(2)));
    }

    #[test]
    fn statuses_and_context_overflow() {
        let k = |code: u16, status: &str, msg: &str| {
            let b = body(json!({"error": {"code": code, "message": msg, "status": status}}));
            classify(code, &b, None).kind
        };
        assert_eq!(
            k(503, "UNAVAILABLE", "The model is overloaded."),
            ErrorKind::Overloaded
        );
        assert_eq!(k(500, "INTERNAL", "oops"), ErrorKind::Upstream5xx);
        assert_eq!(k(504, "DEADLINE_EXCEEDED", "slow"), ErrorKind::Timeout);
        assert_eq!(k(403, "PERMISSION_DENIED", "no"), ErrorKind::Auth);
        assert_eq!(
            k(404, "NOT_FOUND", "models/x is not found"),
            ErrorKind::BadRequest
        );
        assert_eq!(
            k(
                400,
                "INVALID_ARGUMENT",
                "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576)."
            ),
            ErrorKind::ContextTooLong
        );
        assert_eq!(
            classify(502, b"<html>bad gateway</html>", None).kind,
            ErrorKind::Upstream5xx
        );
    }
}
