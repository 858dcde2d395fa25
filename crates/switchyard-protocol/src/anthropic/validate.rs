//! The ranges the Anthropic Messages API accepts, checked before a request is converted (so
//! on the `/v1/messages` door and in the mock upstream alike). Each bound cites where Anthropic
//! states it. Errors start with the parameter's path, as Anthropic's own do
//! (`messages.0.content: …`), and give the accepted range; never the value sent.

use super::*;
use crate::openai::{MODEL_CHARS, USER_CHARS};

/// `messages`: "There is a limit of 100,000 messages in a single request" (Messages reference).
const MESSAGES_MAX: usize = 100_000;
/// `temperature`: "Ranges from `0.0` to `1.0`" (anthropic-sdk-python `message_create_params.py`).
const TEMPERATURE_MAX: f64 = 1.0;
/// `top_k`: the reference gives only a minimum of 0; a K past any vocabulary means nothing, and
/// 2^31 - 1 is the largest integer every JSON-schema validator holds as a 32-bit int.
const TOP_K_MAX: u32 = i32::MAX as u32;
/// `stop_sequences`: Anthropic's reference gives no bound; Amazon Bedrock's reference for the
/// same Messages API gives 8,191, which is taken here.
const STOP_SEQUENCES_MAX: usize = 8191;
/// `thinking.budget_tokens`: "Must be ≥1024 and less than `max_tokens`" (Messages reference).
const THINKING_BUDGET_MIN: u64 = 1024;
/// `tools[].name`: "maxLength: 128, minLength: 1, pattern: ^[a-zA-Z0-9_-]{1,128}$".
const TOOL_NAME_CHARS: usize = 128;

/// Checks a Messages request's parameters against the ranges Anthropic accepts: `max_tokens`
/// at least 1, `temperature` and `top_p` 0..=1, `top_k` 0..=2^31-1, at most 8,191
/// `stop_sequences`, `metadata.user_id` at most 512 characters, `thinking.budget_tokens` at
/// least 1,024 and below `max_tokens`, tool names as Anthropic spells them, and every message's
/// content non-empty (but an optional final assistant message) with no empty text block.
///
/// `max_tokens: 0` is refused: Anthropic takes it to pre-warm its prompt cache, which a request
/// routed to any provider cannot promise.
pub fn validate(req: &MessagesRequest) -> Result<(), WireError> {
    if req.model.trim().is_empty() {
        return Err(invalid("model: must not be empty", "model"));
    }
    if req.model.chars().count() > MODEL_CHARS || req.model.chars().any(char::is_control) {
        return Err(invalid(
            format!("model: must be a name of at most {MODEL_CHARS} printable characters"),
            "model",
        ));
    }
    if req.messages.is_empty() {
        return Err(invalid(
            "messages: at least one message is required",
            "messages",
        ));
    }
    if req.messages.len() > MESSAGES_MAX {
        return Err(invalid(
            format!("messages: at most {MESSAGES_MAX} messages are allowed"),
            "messages",
        ));
    }
    if req.max_tokens == 0 {
        return Err(invalid("max_tokens: must be at least 1", "max_tokens"));
    }
    between("temperature", req.temperature, TEMPERATURE_MAX)?;
    between("top_p", req.top_p, 1.0)?;
    if req.top_k.is_some_and(|k| k > TOP_K_MAX) {
        return Err(invalid(
            format!("top_k: must be between 0 and {TOP_K_MAX}"),
            "top_k",
        ));
    }
    if req
        .stop_sequences
        .as_ref()
        .is_some_and(|s| s.len() > STOP_SEQUENCES_MAX)
    {
        return Err(invalid(
            format!("stop_sequences: at most {STOP_SEQUENCES_MAX} sequences are allowed"),
            "stop_sequences",
        ));
    }
    if req
        .metadata
        .as_ref()
        .and_then(|m| m.user_id.as_deref())
        .is_some_and(|u| u.chars().count() > USER_CHARS)
    {
        return Err(invalid(
            format!("metadata.user_id: at most {USER_CHARS} characters are allowed"),
            "metadata.user_id",
        ));
    }
    for (i, tool) in req.tools.iter().flatten().enumerate() {
        if !is_tool_name(&tool.name) {
            let at = format!("tools.{i}.name");
            return Err(invalid(
                format!("{at}: use 1 to {TOOL_NAME_CHARS} of a-z, A-Z, 0-9, _ and -"),
                at,
            ));
        }
    }
    check_thinking(req.extra.get("thinking"), req.max_tokens)?;
    let last = req.messages.len().saturating_sub(1);
    for (i, m) in req.messages.iter().enumerate() {
        check_content(m, i, i == last)?;
    }
    Ok(())
}

fn between(name: &str, value: Option<f64>, max: f64) -> Result<(), WireError> {
    match value {
        Some(v) if !(0.0..=max).contains(&v) => Err(invalid(
            format!("{name}: must be between 0 and {max}"),
            name,
        )),
        _ => Ok(()),
    }
}

fn is_tool_name(name: &str) -> bool {
    (1..=TOOL_NAME_CHARS).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// `thinking` travels in `extra`: `{"type": "enabled", "budget_tokens": N}`, `disabled`, or a
/// newer type (`adaptive`), which is passed on unchecked.
fn check_thinking(thinking: Option<&Value>, max_tokens: u32) -> Result<(), WireError> {
    let thinking = match thinking {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::Object(t)) => t,
        Some(_) => return Err(invalid("thinking: must be an object", "thinking")),
    };
    if !thinking.get("type").is_some_and(Value::is_string) {
        return Err(invalid(
            "thinking.type: required, a string such as \"enabled\" or \"disabled\"",
            "thinking.type",
        ));
    }
    let enabled = thinking.get("type").and_then(Value::as_str) == Some("enabled");
    match thinking.get("budget_tokens") {
        None if enabled => Err(invalid(
            "thinking.budget_tokens: required when thinking is enabled",
            "thinking.budget_tokens",
        )),
        None => Ok(()),
        Some(budget)
            if budget
                .as_u64()
                .is_some_and(|b| b >= THINKING_BUDGET_MIN && b < u64::from(max_tokens)) =>
        {
            Ok(())
        }
        Some(_) => Err(invalid(
            format!(
                "thinking.budget_tokens: must be an integer of at least {THINKING_BUDGET_MIN} and less than max_tokens"
            ),
            "thinking.budget_tokens",
        )),
    }
}

/// "all messages must have non-empty content except for the optional final assistant
/// message" (Anthropic's 400), and a text block's `text` has "minLength: 1".
fn check_content(m: &InputMessage, i: usize, last: bool) -> Result<(), WireError> {
    let empty = match &m.content {
        InputContent::Text(text) => text.is_empty(),
        InputContent::Blocks(blocks) => blocks.is_empty(),
    };
    if empty && !(last && m.role == "assistant") {
        let at = format!("messages.{i}.content");
        return Err(invalid(
            format!("{at}: must not be empty (only a final assistant message may be left empty)"),
            at,
        ));
    }
    if let InputContent::Blocks(blocks) = &m.content
        && let Some(j) = blocks
            .iter()
            .position(|b| matches!(b, ContentBlock::Text { text } if text.is_empty()))
    {
        let at = format!("messages.{i}.content.{j}.text");
        return Err(invalid(format!("{at}: must not be empty"), at));
    }
    Ok(())
}
