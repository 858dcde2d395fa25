//! The one table from failure to HTTP response. Every error a client can get is an
//! [`ApiError`]; it renders OpenAI-shaped on the OpenAI doors and Anthropic-shaped on
//! `/v1/messages`, with the status that says whose fault it was.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::time::Duration;
use switchyard_protocol::error::{AnthropicErrorBody, OpenAiErrorBody, OpenAiErrorDetail};
use switchyard_protocol::openai::WireError;
use switchyard_protocol::{ErrorKind, ProviderError};

/// The wire format a door answers errors in: Anthropic's on `/v1/messages`, OpenAI's elsewhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorShape {
    OpenAi,
    Anthropic,
}

impl ErrorShape {
    /// The shape of the door at `path` (a request target, query included or not).
    pub fn of_path(path: &str) -> Self {
        let path = path.split(['?', '#']).next().unwrap_or(path);
        if path == "/v1/messages" || path.starts_with("/v1/messages/") {
            ErrorShape::Anthropic
        } else {
            ErrorShape::OpenAi
        }
    }

    /// The shape of the door a request head (whole or a prefix of it) is addressed to.
    pub fn of_head(head: &[u8]) -> Self {
        let line = head.split(|b| *b == b'\n').next().unwrap_or(head);
        let target = line.split(|b| *b == b' ').nth(1).unwrap_or(&[]);
        std::str::from_utf8(target).map_or(ErrorShape::OpenAi, Self::of_path)
    }
}

/// A failure answered to a client.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// The request is malformed or asks for something impossible.
    BadRequest {
        message: String,
        param: Option<String>,
    },
    /// The named model or alias does not exist.
    ModelNotFound(String),
    /// The body is larger than the limit.
    PayloadTooLarge(usize),
    /// A route that does not exist.
    NotFound(String),
    /// No API key, or one the gateway does not know (or that was revoked).
    Unauthorized(String),
    /// The key may not do this; `code` names what was refused (`model_not_allowed`, …).
    Forbidden { message: String, code: &'static str },
    /// The key is over one of its rates; `retry_after` says when it may try again.
    RateLimited {
        message: String,
        retry_after: Duration,
    },
    /// The upstream failed; `provider` names who.
    Upstream {
        provider: String,
        error: ProviderError,
    },
    /// Switchyard cannot serve this request safely right now (fail closed).
    Unavailable(String),
    /// Policy refused the request before any attempt: a route-class, region, allowlist,
    /// context, health, budget or queue rule. `code` names the rule (`not_allowlisted`).
    Refused {
        status: u16,
        code: &'static str,
        message: String,
        retry_after: Option<Duration>,
    },
    /// Switchyard itself failed.
    Internal(String),
}

impl ApiError {
    /// A 400 with no parameter named.
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            message: message.into(),
            param: None,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::ModelNotFound(_) | ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Refused { status, .. } => {
                StatusCode::from_u16(*status).unwrap_or(StatusCode::FORBIDDEN)
            }
            ApiError::Upstream { error, .. } => match error.kind {
                ErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
                ErrorKind::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
                ErrorKind::Timeout => StatusCode::GATEWAY_TIMEOUT,
                ErrorKind::BadRequest | ErrorKind::ContextTooLong | ErrorKind::ContentFiltered => {
                    // Keep a precise upstream 4xx (404, 422) rather than flatten it to 400.
                    error
                        .status
                        .filter(|s| (400..500).contains(s) && *s != 401 && *s != 403 && *s != 429)
                        .and_then(|s| StatusCode::from_u16(s).ok())
                        .unwrap_or(StatusCode::BAD_REQUEST)
                }
                ErrorKind::Upstream5xx
                | ErrorKind::Auth
                | ErrorKind::Transport
                | ErrorKind::MalformedReply => StatusCode::BAD_GATEWAY,
            },
        }
    }

    /// The OpenAI `type` and `code` for this error.
    fn kind_and_code(&self) -> (&'static str, Option<&'static str>) {
        match self {
            ApiError::BadRequest { .. } => ("invalid_request_error", None),
            ApiError::ModelNotFound(_) => ("invalid_request_error", Some("model_not_found")),
            ApiError::NotFound(_) => ("invalid_request_error", Some("not_found")),
            ApiError::PayloadTooLarge(_) => ("invalid_request_error", Some("request_too_large")),
            ApiError::Unauthorized(_) => ("invalid_request_error", Some("invalid_api_key")),
            ApiError::Forbidden { code, .. } => ("permission_error", Some(code)),
            ApiError::RateLimited { .. } => ("rate_limit_error", Some("rate_limit_exceeded")),
            ApiError::Internal(_) => ("server_error", None),
            ApiError::Unavailable(_) => ("service_unavailable", Some("evidence_unavailable")),
            ApiError::Refused { status, code, .. } => (
                match status {
                    403 => "permission_error",
                    429 => "rate_limit_error",
                    503 => "service_unavailable",
                    _ => "invalid_request_error",
                },
                Some(code),
            ),
            ApiError::Upstream { error, .. } => match error.kind {
                ErrorKind::RateLimited => ("rate_limit_error", Some("rate_limit_exceeded")),
                ErrorKind::Overloaded => ("overloaded_error", Some("upstream_overloaded")),
                ErrorKind::Timeout => ("timeout_error", Some("upstream_timeout")),
                ErrorKind::BadRequest => {
                    ("invalid_request_error", Some("upstream_rejected_request"))
                }
                ErrorKind::ContextTooLong => {
                    ("invalid_request_error", Some("context_length_exceeded"))
                }
                ErrorKind::ContentFiltered => ("invalid_request_error", Some("content_filter")),
                ErrorKind::Auth => ("upstream_error", Some("upstream_auth_failed")),
                ErrorKind::Upstream5xx => ("upstream_error", Some("upstream_server_error")),
                ErrorKind::Transport => ("upstream_error", Some("upstream_unreachable")),
                ErrorKind::MalformedReply => ("upstream_error", Some("upstream_malformed_reply")),
            },
        }
    }

    /// The message a client reads: [`crate::scrub`]bed, since many quote the request.
    pub fn message(&self) -> String {
        crate::scrub::message_text(&self.raw_message()).into_owned()
    }

    fn raw_message(&self) -> String {
        match self {
            ApiError::BadRequest { message, .. } => message.clone(),
            ApiError::ModelNotFound(m) => m.clone(),
            ApiError::NotFound(m) => m.clone(),
            ApiError::Unauthorized(m) => m.clone(),
            ApiError::Forbidden { message, .. } | ApiError::RateLimited { message, .. } => {
                message.clone()
            }
            ApiError::PayloadTooLarge(limit) => {
                format!("request body is larger than the limit of {limit} bytes")
            }
            ApiError::Internal(m) => format!("internal error: {m}"),
            ApiError::Unavailable(m) => m.clone(),
            ApiError::Refused { message, .. } => message.clone(),
            ApiError::Upstream { provider, error } => match error.kind {
                ErrorKind::Auth => format!(
                    "provider \"{provider}\" rejected the gateway's credentials{}: {}",
                    error.status.map(|s| format!(" ({s})")).unwrap_or_default(),
                    error.message
                ),
                _ => format!("provider \"{provider}\": {}", error.message),
            },
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ApiError::Upstream { error, .. } => error.retry_after,
            ApiError::Refused { retry_after, .. } => *retry_after,
            ApiError::RateLimited { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    pub fn openai_body(&self) -> OpenAiErrorBody {
        let (kind, code) = self.kind_and_code();
        OpenAiErrorBody {
            error: OpenAiErrorDetail {
                message: self.message(),
                kind: kind.into(),
                // A parameter's path can hold a client's map keys.
                param: match self {
                    ApiError::BadRequest {
                        param: Some(param), ..
                    } => Some(crate::scrub::message_text(param).into_owned()),
                    _ => None,
                },
                code: code.map(str::to_owned),
            },
        }
    }

    /// The status on the Anthropic door: overloaded is 529 there, as Anthropic answers it.
    pub fn anthropic_status(&self) -> StatusCode {
        match self {
            ApiError::Upstream { error, .. } if error.kind == ErrorKind::Overloaded => {
                StatusCode::from_u16(529).unwrap_or(StatusCode::SERVICE_UNAVAILABLE)
            }
            _ => self.status(),
        }
    }

    pub fn anthropic_body(&self) -> AnthropicErrorBody {
        let status = self.anthropic_status().as_u16();
        let kind = match self {
            ApiError::ModelNotFound(_) | ApiError::NotFound(_) => "not_found_error",
            _ if status == 502 => "api_error",
            // Anthropic answers every other client error (405, 408, 414, 431) with this type.
            _ if (400..500).contains(&status)
                && AnthropicErrorBody::type_for_status(status) == "api_error" =>
            {
                "invalid_request_error"
            }
            _ => AnthropicErrorBody::type_for_status(status),
        };
        AnthropicErrorBody::new(kind, self.message())
    }

    fn finish(&self, mut resp: Response) -> Response {
        if let Some(after) = self.retry_after() {
            let secs = after.as_secs_f64().ceil() as u64;
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }

    /// Renders on the Anthropic door.
    pub fn into_anthropic_response(self) -> Response {
        let resp = (self.anthropic_status(), axum::Json(self.anthropic_body())).into_response();
        self.finish(resp)
    }
}

impl ApiError {
    /// Renders in `shape`.
    pub fn into_shaped_response(self, shape: ErrorShape) -> Response {
        match shape {
            ErrorShape::OpenAi => self.into_response(),
            ErrorShape::Anthropic => self.into_anthropic_response(),
        }
    }

    /// The status and JSON body in `shape`, for answers written below the router.
    pub fn shaped_body(&self, shape: ErrorShape) -> (StatusCode, String) {
        let body = match shape {
            ErrorShape::OpenAi => serde_json::to_string(&self.openai_body()),
            ErrorShape::Anthropic => serde_json::to_string(&self.anthropic_body()),
        };
        let status = match shape {
            ErrorShape::OpenAi => self.status(),
            ErrorShape::Anthropic => self.anthropic_status(),
        };
        (status, body.unwrap_or_default())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let resp = (self.status(), axum::Json(self.openai_body())).into_response();
        self.finish(resp)
    }
}

impl From<switchyard_policy::Refusal> for ApiError {
    fn from(r: switchyard_policy::Refusal) -> Self {
        use switchyard_policy::RefusalKind as K;
        let code = match r.kind {
            K::UnknownClass => "unknown_route_class",
            K::UnknownModel => "model_not_found",
            K::ContextTooLarge => "context_length_exceeded",
            K::RegionRequired => "region_required",
            K::RegionConflict => "region_conflict",
            K::NotAllowlisted => "not_allowlisted",
            K::NoModelFits => "no_model_fits",
            K::NoHealthyTarget => "no_healthy_target",
            K::BudgetExhausted => "budget_exhausted",
        };
        if r.kind == K::UnknownModel {
            return ApiError::ModelNotFound(r.message);
        }
        ApiError::Refused {
            status: r.status(),
            code,
            message: r.message,
            retry_after: None,
        }
    }
}

impl From<WireError> for ApiError {
    fn from(e: WireError) -> Self {
        ApiError::BadRequest {
            message: e.message,
            param: e.param,
        }
    }
}

/// Turns a body that failed to parse into a 400 that says where, never what: serde's messages
/// quote the offending value, which may be a secret.
pub fn json_error(e: &serde_json::Error) -> ApiError {
    let message = match e.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => format!(
            "the request body is not valid JSON (line {}, column {})",
            e.line(),
            e.column()
        ),
        // These quote a field's name, which says what to fix; the others quote a value.
        serde_json::error::Category::Data
            if ["unknown field", "missing field", "duplicate field"]
                .iter()
                .any(|p| e.to_string().starts_with(p)) =>
        {
            format!("the request body has a wrong field: {e}")
        }
        serde_json::error::Category::Data => format!(
            "the request body has a field of the wrong type or value (line {}, column {})",
            e.line(),
            e.column()
        ),
        serde_json::error::Category::Io => "the request body could not be read".to_owned(),
    };
    ApiError::bad_request(message)
}
