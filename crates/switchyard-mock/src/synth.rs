//! Deterministic answers for the mock: the same request (and seed) always gets the same text,
//! tool calls whose arguments satisfy the tool's schema, JSON that satisfies the requested
//! format, and token counts measured with a real tokenizer (o200k). Shared by the mock
//! upstream and the gateway's in-process `mock` provider. Answers are built within the
//! [`Limits`] and stop when their request ends; never call this on an async worker for a
//! request that is not light (see [`crate::offload`]).

use crate::budget::{Budget, Cancel};
use crate::limits::{Exceeded, Limit, Limits, Stop};
use crate::schema::{self, Rng};
use crate::tokens;
use serde_json::json;
use std::hash::{DefaultHasher, Hash, Hasher};
use switchyard_protocol::{
    ChatRequest, ChatResponse, Choice, FinishReason, Message, Part, ResponseFormat, Role,
    StreamEvent, ToolCall, ToolChoice, Usage,
};

pub use crate::tokens::count_tokens;

/// Words in a plain answer unless a scenario says otherwise.
pub const DEFAULT_WORDS: usize = 24;

/// The prompt's token count: message texts, tool-call arguments and tool schemas, plus the
/// per-message framing OpenAI's chat format adds (3 per message, 3 to prime the reply).
pub fn prompt_tokens(req: &ChatRequest) -> u64 {
    count_prompt(req, &Cancel::new()).unwrap_or(0)
}

/// [`prompt_tokens`], stopping once `cancel` is set.
fn count_prompt(req: &ChatRequest, cancel: &Cancel) -> Result<u64, Stop> {
    switchyard_tokens::Tokenizer::O200K.prompt_until(req, &mut || cancel.check())
}

/// The seed of a request: its model, messages, tools and the client's `seed`.
pub fn request_seed(req: &ChatRequest) -> u64 {
    let mut h = DefaultHasher::new();
    req.model.hash(&mut h);
    serde_json::to_string(&req.messages)
        .unwrap_or_default()
        .hash(&mut h);
    serde_json::to_string(&req.tools)
        .unwrap_or_default()
        .hash(&mut h);
    req.seed.hash(&mut h);
    h.finish()
}

/// How an answer should be shaped beyond what the request says.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub words: usize,
    pub seed: Option<u64>,
    /// Report the answer's usage; without it the answer and its stream report none, as many
    /// OpenAI-compatible servers do.
    pub usage: bool,
}

impl Default for Shape {
    fn default() -> Self {
        Self {
            words: DEFAULT_WORDS,
            seed: None,
            usage: true,
        }
    }
}

impl Shape {
    /// The shape a scenario asks for.
    pub fn of(scenario: &crate::Scenario) -> Self {
        Self {
            words: scenario.words.unwrap_or(DEFAULT_WORDS),
            seed: scenario.seed,
            usage: !scenario.no_usage,
        }
    }
}

/// A complete answer to `req`, as the model named `model` would give it, within `limits`;
/// stops with [`Stop::Cancelled`] once `cancel` is set.
pub fn generate(
    req: &ChatRequest,
    model: &str,
    shape: Shape,
    limits: &Limits,
    cancel: &Cancel,
) -> Result<ChatResponse, Stop> {
    if shape.words > limits.max_words {
        let (asked, allowed) = (shape.words as u64, limits.max_words as u64);
        return Err(Exceeded::new(Limit::Words, "words", Some(asked), allowed).into());
    }
    let seed = shape.seed.unwrap_or_else(|| request_seed(req));
    let input_tokens = count_prompt(req, cancel)?;
    let mut usage = Usage {
        input_tokens,
        ..Usage::default()
    };
    let mut budget = Budget::new(limits, cancel);
    let mut choices = Vec::new();
    for index in 0..req.n.max(1) {
        let mut rng = Rng::new(seed.wrapping_add(u64::from(index)));
        let (message, finish_reason) = answer(req, &mut rng, shape.words, &mut budget)?;
        usage.output_tokens += output_tokens(&message, cancel)?;
        choices.push(Choice {
            index,
            message,
            finish_reason,
        });
    }
    if !shape.usage {
        usage = Usage::default();
    }
    Ok(ChatResponse {
        id: format!("chatcmpl-mock{seed:016x}"),
        model: model.to_owned(),
        created: now(),
        choices,
        usage,
    })
}

/// [`generate`] with the default limits and no cancellation, for trusted requests (tests and
/// benchmarks). A request past a limit gets an answer with no choices.
pub fn complete(req: &ChatRequest, model: &str, shape: Shape) -> ChatResponse {
    generate(req, model, shape, &Limits::DEFAULT, &Cancel::new()).unwrap_or_else(|_| ChatResponse {
        id: "chatcmpl-mock-refused".into(),
        model: model.to_owned(),
        created: now(),
        choices: Vec::new(),
        usage: Usage::default(),
    })
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn output_tokens(m: &Message, cancel: &Cancel) -> Result<u64, Stop> {
    switchyard_tokens::Tokenizer::O200K.message_until(m, &mut || cancel.check())
}

/// Names what a refused schema belongs to.
fn about(stop: Stop, subject: impl FnOnce() -> String) -> Stop {
    match stop {
        Stop::Refused(mut e) => {
            e.subject = Some(subject());
            Stop::Refused(e)
        }
        other => other,
    }
}

fn answer(
    req: &ChatRequest,
    rng: &mut Rng,
    words: usize,
    budget: &mut Budget<'_>,
) -> Result<(Message, FinishReason), Stop> {
    let tool = match (&req.tool_choice, req.tools.is_empty()) {
        (_, true) | (Some(ToolChoice::None), _) => None,
        (Some(ToolChoice::Function(name)), _) => req.tools.iter().find(|t| &t.name == name),
        (Some(ToolChoice::Required), _) => {
            req.tools.get(rng.below(req.tools.len() as u64) as usize)
        }
        (Some(ToolChoice::Auto) | None, _) => {
            // Call a tool when the user just spoke; answer in text after a tool result.
            let last_is_user = req.messages.last().is_some_and(|m| m.role == Role::User);
            last_is_user
                .then(|| req.tools.get(rng.below(req.tools.len() as u64) as usize))
                .flatten()
        }
    };
    if let Some(tool) = tool {
        let args = schema::instance(&tool.parameters, &tool.parameters, rng, budget)
            .map_err(|e| about(e, || format!("tool \"{}\" parameters", tool.name)))?;
        let call = ToolCall {
            id: format!("call_{:016x}", rng.next_u64()),
            name: tool.name.clone(),
            arguments: args.to_string(),
        };
        let message = Message {
            role: Role::Assistant,
            content: Vec::new(),
            tool_calls: vec![call],
            tool_call_id: None,
            name: None,
        };
        return Ok((message, FinishReason::ToolCalls));
    }
    let prose = sentence(rng, words, budget)?;
    let format = req.response_format.clone().or_else(|| asked_for_json(req));
    let (text, mut reason) = match &format {
        Some(ResponseFormat::JsonObject) => {
            (json!({ "answer": prose }).to_string(), FinishReason::Stop)
        }
        Some(ResponseFormat::JsonSchema { schema: s, .. }) => {
            let value = schema::instance(s, s, rng, budget)
                .map_err(|e| about(e, || "response_format json_schema".to_owned()))?;
            (value.to_string(), FinishReason::Stop)
        }
        _ => (prose, FinishReason::Stop),
    };
    let mut text = text;
    if let Some(cut) = req.stop.iter().filter_map(|s| text.find(s.as_str())).min() {
        text.truncate(cut);
    }
    if let Some(max) = req.max_tokens
        && let Some(cut) = tokens::truncate(&text, max as usize, budget.cancel())?
    {
        text = cut;
        reason = FinishReason::Length;
    }
    Ok((Message::text(Role::Assistant, text), reason))
}

/// Providers without a JSON mode are asked for JSON in the system prompt; the mock obeys as a
/// model would: a system prompt that asks for a JSON object gets one, following the JSON Schema
/// that the prompt quotes, if any.
fn asked_for_json(req: &ChatRequest) -> Option<ResponseFormat> {
    let system = req.system_text()?;
    if !system.contains("JSON object") {
        return None;
    }
    let schema = system
        .find('{')
        .and_then(|start| serde_json::from_str::<serde_json::Value>(&system[start..]).ok())
        .filter(serde_json::Value::is_object);
    Some(match schema {
        Some(schema) => ResponseFormat::JsonSchema {
            name: "prompted".into(),
            schema,
            strict: None,
        },
        None => ResponseFormat::JsonObject,
    })
}

/// `words` words of prose, paid for from `budget` (a word is at most 8 bytes with its space).
fn sentence(rng: &mut Rng, words: usize, budget: &mut Budget<'_>) -> Result<String, Stop> {
    let words = words.max(1);
    budget.spend(1, words.saturating_mul(8), "words")?;
    let mut out = String::new();
    for i in 0..words {
        let w = schema::word(rng);
        if i == 0 {
            let mut chars = w.chars();
            if let Some(first) = chars.next() {
                out.extend(first.to_uppercase());
                out.push_str(chars.as_str());
            }
        } else {
            out.push(' ');
            out.push_str(w);
        }
    }
    out.push('.');
    Ok(out)
}

/// The stream of events that delivers `resp`: text in `chunks` pieces per choice (one per
/// word when `None`), tool-call arguments in up to three pieces, then finish and usage.
pub fn stream_events(resp: &ChatResponse, chunks: Option<usize>) -> Vec<StreamEvent> {
    let mut out = vec![StreamEvent::Start {
        id: resp.id.clone(),
        model: resp.model.clone(),
        created: resp.created,
    }];
    for choice in &resp.choices {
        let text = choice.message.joined_text();
        for piece in split_text(&text, chunks) {
            out.push(StreamEvent::Text {
                choice: choice.index,
                text: piece,
            });
        }
        for (i, call) in choice.message.tool_calls.iter().enumerate() {
            let index = i as u32;
            out.push(StreamEvent::ToolCallStart {
                choice: choice.index,
                index,
                id: call.id.clone(),
                name: call.name.clone(),
            });
            for piece in split_text(&call.arguments, Some(3)) {
                out.push(StreamEvent::ToolCallArguments {
                    choice: choice.index,
                    index,
                    arguments: piece,
                });
            }
        }
        out.push(StreamEvent::Finish {
            choice: choice.index,
            reason: choice.finish_reason,
        });
    }
    out.push(StreamEvent::Usage(resp.usage));
    out
}

/// Splits text into `n` nearly equal pieces on char boundaries, or at word starts when `None`.
pub fn split_text(text: &str, n: Option<usize>) -> Vec<String> {
    if text.is_empty() {
        return Vec::new();
    }
    match n {
        None => {
            let mut pieces = Vec::new();
            let mut start = 0;
            for (i, c) in text.char_indices() {
                if c == ' ' && i > start {
                    pieces.push(text[start..i].to_owned());
                    start = i;
                }
            }
            pieces.push(text[start..].to_owned());
            pieces
        }
        Some(n) => {
            let chars: Vec<char> = text.chars().collect();
            let n = n.clamp(1, chars.len());
            let size = chars.len().div_ceil(n);
            chars.chunks(size).map(|c| c.iter().collect()).collect()
        }
    }
}

/// The text of the last user message, for scripts that key on content.
pub fn last_user_text(req: &ChatRequest) -> String {
    req.messages
        .iter()
        .rev()
        .find(|m| m.role == Role::User)
        .map(|m| {
            m.content
                .iter()
                .filter_map(|p| match p {
                    Part::Text { text } => Some(text.as_str()),
                    Part::Image { .. } => None,
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_protocol::Tool;

    fn request() -> ChatRequest {
        ChatRequest {
            model: "m".into(),
            messages: vec![Message::text(Role::User, "Hello there")],
            n: 1,
            ..ChatRequest::default()
        }
    }

    #[test]
    fn same_request_same_answer_and_honest_counts() {
        let a = complete(&request(), "m", Shape::default());
        let b = complete(&request(), "m", Shape::default());
        assert_eq!(a.choices, b.choices);
        let text = a.choices[0].message.joined_text();
        assert_eq!(a.usage.output_tokens, count_tokens(&text));
        assert!(a.usage.input_tokens > 3);
    }

    #[test]
    fn forced_tool_gets_schema_valid_arguments() {
        let mut req = request();
        req.tools = vec![Tool {
            name: "get_weather".into(),
            description: None,
            parameters: json!({"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}),
            strict: None,
        }];
        req.tool_choice = Some(ToolChoice::Function("get_weather".into()));
        let resp = complete(&req, "m", Shape::default());
        let call = &resp.choices[0].message.tool_calls[0];
        let args: serde_json::Value = serde_json::from_str(&call.arguments).unwrap_or_default();
        assert!(args["city"].is_string());
        assert_eq!(resp.choices[0].finish_reason, FinishReason::ToolCalls);
    }

    #[test]
    fn max_tokens_truncates_with_length() {
        let mut req = request();
        req.max_tokens = Some(3);
        let resp = complete(&req, "m", Shape::default());
        assert_eq!(resp.usage.output_tokens, 3);
        assert_eq!(resp.choices[0].finish_reason, FinishReason::Length);
    }

    fn refusal(result: Result<ChatResponse, Stop>) -> Exceeded {
        match result {
            Err(Stop::Refused(e)) => *e,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn schema_refusals_name_the_tool_or_the_response_format() {
        let hostile = json!({"type": "object", "properties": {
            "xs": {"type": "array", "minItems": 1_000_000_000u64}}});
        let mut req = request();
        req.tools = vec![Tool {
            name: "lookup".into(),
            description: None,
            parameters: hostile.clone(),
            strict: None,
        }];
        req.tool_choice = Some(ToolChoice::Required);
        let cancel = Cancel::new();
        let e = refusal(generate(
            &req,
            "m",
            Shape::default(),
            &Limits::DEFAULT,
            &cancel,
        ));
        assert_eq!(e.limit, Limit::Items);
        let message = e.to_string();
        assert!(
            message.starts_with("tool \"lookup\" parameters at #/properties/xs: \"minItems\""),
            "{message}"
        );
        let mut req = request();
        req.response_format = Some(ResponseFormat::JsonSchema {
            name: "r".into(),
            schema: hostile,
            strict: None,
        });
        let e = refusal(generate(
            &req,
            "m",
            Shape::default(),
            &Limits::DEFAULT,
            &cancel,
        ));
        assert!(
            e.to_string()
                .starts_with("response_format json_schema at #/properties/xs"),
            "{e}"
        );
    }

    #[test]
    fn words_and_choices_are_bounded() {
        let cancel = Cancel::new();
        let shape = Shape {
            words: 1_000_000_000,
            ..Shape::default()
        };
        let e = refusal(generate(&request(), "m", shape, &Limits::DEFAULT, &cancel));
        assert_eq!((e.limit, e.keyword.as_str()), (Limit::Words, "words"));
        // n choices share one answer's budget: 4 billion of them stop at its byte limit.
        let mut req = request();
        req.n = u32::MAX;
        let e = refusal(generate(
            &req,
            "m",
            Shape::default(),
            &Limits::DEFAULT,
            &cancel,
        ));
        assert_eq!(e.limit, Limit::OutputBytes);
    }

    #[test]
    fn a_cancelled_generation_stops_before_tokenizing() {
        let cancel = Cancel::new();
        cancel.cancel();
        let out = generate(&request(), "m", Shape::default(), &Limits::DEFAULT, &cancel);
        assert_eq!(out, Err(Stop::Cancelled));
    }

    #[test]
    fn stream_events_fold_back_to_the_response() {
        let resp = complete(&request(), "m", Shape::default());
        let mut acc = switchyard_protocol::StreamAccumulator::default();
        for e in stream_events(&resp, Some(20)) {
            acc.push(&e);
        }
        assert_eq!(acc.finish(), resp);
    }
}
