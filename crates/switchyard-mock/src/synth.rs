//! Deterministic answers for the mock: the same request (and seed) always gets the same text,
//! tool calls whose arguments satisfy the tool's schema, JSON that satisfies the requested
//! format, and token counts measured with a real tokenizer (o200k). Shared by the mock
//! upstream and the gateway's in-process `mock` provider.

use crate::schema::{self, Rng};
use serde_json::json;
use std::hash::{DefaultHasher, Hash, Hasher};
use switchyard_protocol::{
    ChatRequest, ChatResponse, Choice, EmbedRequest, EmbedResponse, FinishReason, Message, Part,
    ResponseFormat, Role, StreamEvent, ToolCall, ToolChoice, Usage,
};

/// Words in a plain answer unless a scenario says otherwise.
pub const DEFAULT_WORDS: usize = 24;

/// Counts tokens the way OpenAI's recent models do.
pub fn count_tokens(text: &str) -> u64 {
    tiktoken_rs::o200k_base_singleton()
        .encode_ordinary(text)
        .len() as u64
}

/// The prompt's token count: message texts, tool-call arguments and tool schemas, plus the
/// per-message framing OpenAI's chat format adds (3 per message, 3 to prime the reply).
pub fn prompt_tokens(req: &ChatRequest) -> u64 {
    let mut total = 3;
    for m in &req.messages {
        total += 3 + count_tokens(&m.joined_text());
        for call in &m.tool_calls {
            total += count_tokens(&call.name) + count_tokens(&call.arguments);
        }
    }
    for tool in &req.tools {
        total += 8 + count_tokens(&tool.name) + count_tokens(&tool.parameters.to_string());
        if let Some(d) = &tool.description {
            total += count_tokens(d);
        }
    }
    total
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
}

impl Default for Shape {
    fn default() -> Self {
        Self {
            words: DEFAULT_WORDS,
            seed: None,
        }
    }
}

/// A complete answer to `req`, as the model named `model` would give it.
pub fn complete(req: &ChatRequest, model: &str, shape: Shape) -> ChatResponse {
    let seed = shape.seed.unwrap_or_else(|| request_seed(req));
    let input_tokens = prompt_tokens(req);
    let mut usage = Usage {
        input_tokens,
        ..Usage::default()
    };
    let choices = (0..req.n.max(1))
        .map(|index| {
            let mut rng = Rng::new(seed.wrapping_add(u64::from(index)));
            let (message, finish_reason) = answer(req, &mut rng, shape.words);
            usage.output_tokens += output_tokens(&message);
            Choice {
                index,
                message,
                finish_reason,
            }
        })
        .collect();
    ChatResponse {
        id: format!("chatcmpl-mock{seed:016x}"),
        model: model.to_owned(),
        created: now(),
        choices,
        usage,
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn output_tokens(m: &Message) -> u64 {
    let calls: u64 = m
        .tool_calls
        .iter()
        .map(|c| count_tokens(&c.name) + count_tokens(&c.arguments) + 3)
        .sum();
    count_tokens(&m.joined_text()) + calls
}

fn answer(req: &ChatRequest, rng: &mut Rng, words: usize) -> (Message, FinishReason) {
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
        let args = schema::instance(&tool.parameters, &tool.parameters, rng, 0);
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
        return (message, FinishReason::ToolCalls);
    }
    let prose = sentence(rng, words);
    let format = req.response_format.clone().or_else(|| asked_for_json(req));
    let (text, mut reason) = match &format {
        Some(ResponseFormat::JsonObject) => {
            (json!({ "answer": prose }).to_string(), FinishReason::Stop)
        }
        Some(ResponseFormat::JsonSchema { schema: s, .. }) => (
            schema::instance(s, s, rng, 0).to_string(),
            FinishReason::Stop,
        ),
        _ => (prose, FinishReason::Stop),
    };
    let mut text = text;
    if let Some(cut) = req.stop.iter().filter_map(|s| text.find(s.as_str())).min() {
        text.truncate(cut);
    }
    if let Some(max) = req.max_tokens {
        let bpe = tiktoken_rs::o200k_base_singleton();
        let tokens = bpe.encode_ordinary(&text);
        if tokens.len() as u64 > u64::from(max) {
            text = bpe.decode(&tokens[..max as usize]).unwrap_or_default();
            reason = FinishReason::Length;
        }
    }
    (Message::text(Role::Assistant, text), reason)
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

fn sentence(rng: &mut Rng, words: usize) -> String {
    let mut out = String::new();
    for i in 0..words.max(1) {
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
    out
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

/// Deterministic unit-length embeddings: the same text always maps to the same vector.
pub fn embed(req: &EmbedRequest, model: &str, default_dims: u32) -> EmbedResponse {
    let dims = req.dimensions.unwrap_or(default_dims).max(1) as usize;
    let mut input_tokens = 0;
    let data = req
        .input
        .iter()
        .map(|text| {
            input_tokens += count_tokens(text);
            let mut h = DefaultHasher::new();
            text.hash(&mut h);
            let mut rng = Rng::new(h.finish());
            let v: Vec<f64> = (0..dims).map(|_| rng.unit() * 2.0 - 1.0).collect();
            let norm = v
                .iter()
                .map(|x| x * x)
                .sum::<f64>()
                .sqrt()
                .max(f64::MIN_POSITIVE);
            v.iter().map(|x| (x / norm) as f32).collect()
        })
        .collect();
    EmbedResponse {
        model: model.to_owned(),
        data,
        usage: Usage {
            input_tokens,
            ..Usage::default()
        },
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
