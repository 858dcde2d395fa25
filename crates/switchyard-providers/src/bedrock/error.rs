//! Bedrock failures as typed errors: the exception name (`x-amzn-ErrorType` on HTTP errors,
//! `:exception-type` in streams) decides the kind, the status only when the name is unknown.
//! Messages are Bedrock's own and never hold a credential.

use std::time::Duration;
use switchyard_protocol::{ErrorKind, ProviderError};

/// The exception name in an `x-amzn-ErrorType` value
/// (`ThrottlingException:http://internal.amazon.com/coral/…`) or a `__type` field
/// (`com.amazon.coral.service#ThrottlingException`).
pub fn exception_name(raw: &str) -> &str {
    let name = raw.split(':').next().unwrap_or(raw);
    name.rsplit('#').next().unwrap_or(name).trim()
}

/// Whether a ValidationException says the prompt does not fit the model.
fn is_context_overflow(message: &str) -> bool {
    let lower = message.to_ascii_lowercase();
    [
        "input is too long",
        "prompt is too long",
        "too many input tokens",
        "too many tokens",
        "context window",
        "context length",
        "context limit",
        "maximum context",
        "exceeds the maximum number of tokens",
        "model_context_window_exceeded",
    ]
    .iter()
    .any(|needle| lower.contains(needle))
}

/// The kind an exception name stands for, matched without regard to the case of its first
/// letter (streams spell them `throttlingException`).
fn kind_for(name: &str, message: &str) -> Option<ErrorKind> {
    let lower = name.to_ascii_lowercase();
    Some(match lower.as_str() {
        "throttlingexception" | "servicequotaexceededexception" | "toomanyrequestsexception" => {
            ErrorKind::RateLimited
        }
        "serviceunavailableexception" | "modelnotreadyexception" => ErrorKind::Overloaded,
        "internalserverexception"
        | "modelerrorexception"
        | "modelstreamerrorexception"
        | "internalfailure" => ErrorKind::Upstream5xx,
        "modeltimeoutexception" => ErrorKind::Timeout,
        "accessdeniedexception"
        | "unrecognizedclientexception"
        | "invalidsignatureexception"
        | "incompletesignatureexception"
        | "missingauthenticationtokenexception"
        | "expiredtokenexception"
        | "invalidclienttokenid"
        | "signaturedoesnotmatch" => ErrorKind::Auth,
        "validationexception" | "serializationexception" if is_context_overflow(message) => {
            ErrorKind::ContextTooLong
        }
        "validationexception"
        | "serializationexception"
        | "resourcenotfoundexception"
        | "conflictexception" => ErrorKind::BadRequest,
        _ => return None,
    })
}

/// A typed error from an exception name, the HTTP status (none inside a stream), Bedrock's
/// message and `Retry-After`.
pub fn error_for_type(
    name: &str,
    status: Option<u16>,
    message: String,
    retry_after: Option<Duration>,
) -> ProviderError {
    let name = exception_name(name);
    let message = if name.is_empty() {
        message
    } else {
        format!("{name}: {message}")
    };
    let kind = kind_for(name, &message);
    let error = match (kind, status) {
        (Some(kind), _) => ProviderError::new(kind, message),
        (None, Some(status)) => {
            let mut e = ProviderError::from_status(status, message, None);
            if status == 400 && is_context_overflow(&e.message) {
                e.kind = ErrorKind::ContextTooLong;
            }
            e
        }
        (None, None) => ProviderError::new(ErrorKind::Upstream5xx, message),
    };
    let error = error.with_retry_after(retry_after);
    match status {
        Some(status) => error.with_status(status),
        None => error,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn kind(name: &str, status: Option<u16>, message: &str) -> ErrorKind {
        error_for_type(name, status, message.into(), None).kind
    }

    #[test]
    fn names_decide_the_kind() {
        let throttled = "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/";
        assert_eq!(
            kind(throttled, Some(429), "slow down"),
            ErrorKind::RateLimited
        );
        assert_eq!(
            kind("throttlingException", None, "x"),
            ErrorKind::RateLimited
        );
        assert_eq!(
            kind("ValidationException", Some(400), "bad"),
            ErrorKind::BadRequest
        );
        assert_eq!(
            kind(
                "ValidationException",
                Some(400),
                "Input is too long for requested model."
            ),
            ErrorKind::ContextTooLong
        );
        assert_eq!(
            kind("AccessDeniedException", Some(403), "no access"),
            ErrorKind::Auth
        );
        assert_eq!(
            kind("UnrecognizedClientException", Some(403), "x"),
            ErrorKind::Auth
        );
        assert_eq!(
            kind("InvalidSignatureException", Some(403), "x"),
            ErrorKind::Auth
        );
        assert_eq!(
            kind("ModelTimeoutException", Some(408), "x"),
            ErrorKind::Timeout
        );
        assert_eq!(
            kind("ServiceUnavailableException", Some(503), "x"),
            ErrorKind::Overloaded
        );
        assert_eq!(
            kind("InternalServerException", Some(500), "x"),
            ErrorKind::Upstream5xx
        );
        assert_eq!(
            kind("modelStreamErrorException", None, "x"),
            ErrorKind::Upstream5xx
        );
        assert_eq!(
            kind(
                "com.amazon.coral.service#ExpiredTokenException",
                Some(403),
                "x"
            ),
            ErrorKind::Auth
        );
    }

    #[test]
    fn unknown_names_fall_back_to_the_status() {
        assert_eq!(kind("", Some(429), "x"), ErrorKind::RateLimited);
        assert_eq!(kind("SomethingNew", Some(502), "x"), ErrorKind::Upstream5xx);
        assert_eq!(
            kind("", Some(400), "too many input tokens"),
            ErrorKind::ContextTooLong
        );
        let e = error_for_type("", Some(418), "teapot".into(), None);
        assert_eq!((e.kind, e.status), (ErrorKind::BadRequest, Some(418)));
    }
}
