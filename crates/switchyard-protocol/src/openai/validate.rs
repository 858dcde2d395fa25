//! The ranges the OpenAI API accepts for chat completions and embeddings parameters, checked
//! before a request is converted (so on every door and upstream mock that reads the format).
//! Each bound cites where OpenAI states it. Errors name the parameter and the accepted range;
//! never the value sent.

use super::*;
use crate::excerpt::excerpt;

/// `model`: the longest name taken. Real names are far shorter (fine-tuned ids and Bedrock
/// ARNs stay under 150); the bound keeps messages that quote a model (404s) short.
pub(crate) const MODEL_CHARS: usize = 256;
/// `n`: at least 1; the OpenAPI spec of `CreateChatCompletionRequest` gives 128 as its maximum.
const N_MAX: u32 = 128;
/// `stop`: "Up to 4 sequences" (openai-python `completion_create_params.py`).
const STOP_MAX: usize = 4;
/// `tools`: "A max of 128 functions are supported" (`completion_create_params.py`).
pub(crate) const TOOLS_MAX: usize = 128;
/// `metadata`: "Set of 16 key-value pairs … Keys are strings with a maximum length of 64
/// characters. Values are strings with a maximum length of 512 characters."
/// (`completion_create_params.py`); OpenAI counts characters, not bytes.
const METADATA_PAIRS: usize = 16;
const METADATA_KEY_CHARS: usize = 64;
const METADATA_VALUE_CHARS: usize = 512;
/// `user`: OpenAI's reference gives no bound (gateways report it refusing over 64). 512 is
/// Anthropic's bound for `metadata.user_id`, which reaches OpenAI upstreams as `user`, so
/// nothing one door takes is refused by the other.
pub(crate) const USER_CHARS: usize = 512;
/// `top_logprobs`: "An integer between 0 and 20" (`completion_create_params.py`).
const TOP_LOGPROBS_MAX: u64 = 20;
/// `logit_bias`: token ids to "a bias value from -100 to 100" (`completion_create_params.py`);
/// OpenAI refuses more than 1,024 entries ("Expected an object with at most 1024 properties").
const LOGIT_BIAS_ENTRIES: usize = 1024;
const LOGIT_BIAS: f64 = 100.0;
/// `presence_penalty`, `frequency_penalty`: "Number between -2.0 and 2.0".
const PENALTY: f64 = 2.0;
/// Embeddings `input`: "any array must be 2048 dimensions or less" (the embeddings reference).
const EMBEDDING_INPUTS_MAX: usize = 2048;

/// Checks a chat request's parameters against the ranges OpenAI accepts: `temperature`
/// 0..=2, `top_p` 0..=1, penalties -2..=2, `n` 1..=128, `max_tokens` and
/// `max_completion_tokens` at least 1, `logprobs` a boolean, `top_logprobs` 0..=20,
/// `logit_bias` values -100..=100, at most 4 `stop` sequences, 128 `tools` and 16 `metadata`
/// pairs, and a non-empty `messages`. `seed` is an i64 by its type.
pub fn validate_chat(req: &ChatCompletionRequest) -> Result<(), WireError> {
    model(&req.model)?;
    if req.messages.is_empty() {
        return Err(WireError::new(
            "`messages` must hold at least one message",
            "messages",
        ));
    }
    at_least_one("max_tokens", req.max_tokens)?;
    at_least_one("max_completion_tokens", req.max_completion_tokens)?;
    between("temperature", req.temperature, 0.0, 2.0)?;
    between("top_p", req.top_p, 0.0, 1.0)?;
    if let Some(n) = req.n
        && !(1..=N_MAX).contains(&n)
    {
        return Err(WireError::new(
            format!("`n` must be between 1 and {N_MAX}"),
            "n",
        ));
    }
    if let Some(StopWire::Many(stops)) = &req.stop
        && stops.len() > STOP_MAX
    {
        return Err(WireError::new(
            format!("`stop` takes at most {STOP_MAX} sequences"),
            "stop",
        ));
    }
    if req.tools.as_ref().is_some_and(|t| t.len() > TOOLS_MAX) {
        return Err(WireError::new(
            format!("`tools` takes at most {TOOLS_MAX} functions"),
            "tools",
        ));
    }
    if let Some(metadata) = &req.metadata {
        check_metadata(metadata)?;
    }
    user(req.user.as_deref())?;
    check_extra(&req.extra)
}

/// Checks an embeddings request: `input` non-empty with at most 2,048 items, each non-empty;
/// `dimensions` at least 1; `encoding_format` `float` or `base64`.
pub fn validate_embeddings(req: &EmbeddingRequest) -> Result<(), WireError> {
    model(&req.model)?;
    let (count, empty_at) = match &req.input {
        EmbeddingInput::One(s) => (1, s.is_empty().then_some(0)),
        EmbeddingInput::Many(v) => (v.len(), v.iter().position(String::is_empty)),
        EmbeddingInput::Tokens(v) => (usize::from(!v.is_empty()), None),
        EmbeddingInput::TokenLists(v) => (v.len(), v.iter().position(Vec::is_empty)),
    };
    if count == 0 {
        return Err(WireError::new("`input` must not be empty", "input"));
    }
    if count > EMBEDDING_INPUTS_MAX {
        return Err(WireError::new(
            format!("`input` takes at most {EMBEDDING_INPUTS_MAX} items"),
            "input",
        ));
    }
    if let Some(i) = empty_at {
        let param = match &req.input {
            EmbeddingInput::One(_) => "input".to_owned(),
            _ => format!("input[{i}]"),
        };
        return Err(WireError::new("input strings must not be empty", param));
    }
    if req.dimensions == Some(0) {
        return Err(WireError::new(
            "`dimensions` must be at least 1",
            "dimensions",
        ));
    }
    match req.encoding_format.as_deref() {
        None | Some("float") | Some("base64") => {}
        Some(_) => {
            return Err(WireError::new(
                "`encoding_format` must be \"float\" or \"base64\"",
                "encoding_format",
            ));
        }
    }
    user(req.user.as_deref())
}

/// A model name the gateway can route: not blank, not over [`MODEL_CHARS`], no control
/// characters (names are echoed in 404s and logs).
pub(crate) fn model(name: &str) -> Result<(), WireError> {
    if name.trim().is_empty() {
        return Err(WireError::new("`model` must not be empty", "model"));
    }
    if name.chars().count() > MODEL_CHARS || name.chars().any(char::is_control) {
        return Err(WireError::new(
            format!("`model` must be a name of at most {MODEL_CHARS} printable characters"),
            "model",
        ));
    }
    Ok(())
}

pub(crate) fn user(user: Option<&str>) -> Result<(), WireError> {
    if user.is_some_and(|u| u.chars().count() > USER_CHARS) {
        return Err(WireError::new(
            format!("`user` takes at most {USER_CHARS} characters"),
            "user",
        ));
    }
    Ok(())
}

pub(crate) fn at_least_one(name: &str, value: Option<u32>) -> Result<(), WireError> {
    if value == Some(0) {
        return Err(WireError::new(format!("`{name}` must be at least 1"), name));
    }
    Ok(())
}

pub(crate) fn between(name: &str, value: Option<f64>, min: f64, max: f64) -> Result<(), WireError> {
    match value {
        Some(v) if !(min..=max).contains(&v) => Err(WireError::new(
            format!("`{name}` must be between {min} and {max}"),
            name,
        )),
        _ => Ok(()),
    }
}

pub(crate) fn check_metadata(metadata: &BTreeMap<String, String>) -> Result<(), WireError> {
    if metadata.len() > METADATA_PAIRS {
        return Err(WireError::new(
            format!("`metadata` takes at most {METADATA_PAIRS} key-value pairs"),
            "metadata",
        ));
    }
    for (key, value) in metadata {
        if key.chars().count() > METADATA_KEY_CHARS {
            return Err(WireError::new(
                format!("`metadata` keys take at most {METADATA_KEY_CHARS} characters"),
                "metadata",
            ));
        }
        if value.chars().count() > METADATA_VALUE_CHARS {
            return Err(WireError::new(
                format!("`metadata` values take at most {METADATA_VALUE_CHARS} characters"),
                format!("metadata.{}", excerpt(key)),
            ));
        }
    }
    Ok(())
}

/// The sampling parameters that travel in `extra` (OpenAI-compatible upstreams get them as
/// sent). `null` is taken as absent, as OpenAI's SDK types allow it.
fn check_extra(extra: &Map<String, Value>) -> Result<(), WireError> {
    let present = |name: &str| extra.get(name).filter(|v| !v.is_null());
    if present("logprobs").is_some_and(|v| !v.is_boolean()) {
        return Err(WireError::new("`logprobs` must be a boolean", "logprobs"));
    }
    if present("top_logprobs").is_some_and(|v| v.as_u64().is_none_or(|k| k > TOP_LOGPROBS_MAX)) {
        return Err(WireError::new(
            format!("`top_logprobs` must be an integer between 0 and {TOP_LOGPROBS_MAX}"),
            "top_logprobs",
        ));
    }
    for name in ["presence_penalty", "frequency_penalty"] {
        if present(name).is_some_and(|v| {
            v.as_f64()
                .is_none_or(|p| !(-PENALTY..=PENALTY).contains(&p))
        }) {
            return Err(WireError::new(
                format!("`{name}` must be a number between -{PENALTY} and {PENALTY}"),
                name,
            ));
        }
    }
    match present("logit_bias") {
        None => Ok(()),
        Some(Value::Object(bias)) => check_logit_bias(bias),
        Some(_) => Err(WireError::new(
            "`logit_bias` must be an object from token ids to biases",
            "logit_bias",
        )),
    }
}

fn check_logit_bias(bias: &Map<String, Value>) -> Result<(), WireError> {
    if bias.len() > LOGIT_BIAS_ENTRIES {
        return Err(WireError::new(
            format!("`logit_bias` takes at most {LOGIT_BIAS_ENTRIES} tokens"),
            "logit_bias",
        ));
    }
    for (token, value) in bias {
        if !is_token_id(token) {
            return Err(WireError::new(
                "`logit_bias` keys must be token ids (non-negative integers)",
                "logit_bias",
            ));
        }
        if value
            .as_f64()
            .is_none_or(|b| !(-LOGIT_BIAS..=LOGIT_BIAS).contains(&b))
        {
            return Err(WireError::new(
                format!(
                    "`logit_bias` values must be numbers between -{LOGIT_BIAS} and {LOGIT_BIAS} (token {token})"
                ),
                "logit_bias",
            ));
        }
    }
    Ok(())
}

/// A token id as `logit_bias` keys write it: decimal digits that fit a u32 (so at most ten).
fn is_token_id(key: &str) -> bool {
    key.len() <= 10 && key.bytes().all(|b| b.is_ascii_digit()) && key.parse::<u32>().is_ok()
}
