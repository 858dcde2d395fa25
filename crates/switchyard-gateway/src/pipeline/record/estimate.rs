//! Usage the gateway counts itself when a provider reports none: a stream without usage (as
//! many OpenAI-compatible servers send), a stream cut or abandoned before its usage came, an
//! answer or embeddings reporting zero tokens. Input is counted from the request as it was sent
//! upstream (redacted where its class redacts), output from what was relayed (text and tool
//! calls), with the model's tokenizer where one is known and o200k otherwise, which the record
//! says. A measured figure always wins: nothing here runs when the provider reported usage.

use crate::pipeline::Request;
use std::sync::Arc;
use switchyard_protocol::{ChatRequest, ChatResponse, EmbedRequest, Usage};
use switchyard_tokens::Tokenizer;

/// Where a request's usage comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageSource {
    /// The provider reported it.
    Measured,
    /// The gateway counted it with this tokenizer.
    Estimated(Tokenizer),
}

impl UsageSource {
    /// `measured` or `estimated`, as records say it.
    pub fn as_str(self) -> &'static str {
        match self {
            UsageSource::Measured => "measured",
            UsageSource::Estimated(_) => "estimated",
        }
    }

    /// The tokenizer an estimate was counted with.
    pub fn tokenizer(self) -> Option<String> {
        match self {
            UsageSource::Measured => None,
            UsageSource::Estimated(t) => Some(t.describe()),
        }
    }
}

/// A whole answer's usage is missing when it reports no token at all for an answer that says
/// something: no model answers text or a tool call for zero tokens.
pub fn missing(resp: &ChatResponse) -> bool {
    missing_from(&resp.usage, resp)
}

/// `usage` says nothing of `delivered`: zero tokens for an answer that says something.
pub fn missing_from(usage: &Usage, delivered: &ChatResponse) -> bool {
    usage.total() == 0
        && delivered
            .choices
            .iter()
            .any(|c| !c.message.joined_text().is_empty() || !c.message.tool_calls.is_empty())
}

/// The usage of a chat: the prompt as sent to `model`, and what was delivered of the answer.
pub fn chat(sent: &ChatRequest, delivered: &ChatResponse, model: &str) -> (Usage, UsageSource) {
    let tokenizer = Tokenizer::for_model(model);
    let usage = Usage {
        input_tokens: tokenizer.prompt(sent),
        output_tokens: delivered
            .choices
            .iter()
            .map(|c| tokenizer.message(&c.message))
            .sum(),
        ..Usage::default()
    };
    (usage, UsageSource::Estimated(tokenizer))
}

/// The usage of embeddings that reported no input tokens: each input as sent to `model`.
pub fn embed(sent: &EmbedRequest, model: &str) -> (Usage, UsageSource) {
    let tokenizer = Tokenizer::for_model(model);
    let usage = Usage {
        input_tokens: sent.input.iter().map(|i| tokenizer.count(i)).sum(),
        ..Usage::default()
    };
    (usage, UsageSource::Estimated(tokenizer))
}

/// The usage of a chat counted off the async workers (a long answer, or the tokenizer's first
/// load, takes milliseconds); `None` for a request that is no chat.
pub async fn chat_off_thread(
    sent: Arc<Request>,
    delivered: ChatResponse,
    model: String,
) -> Option<(Usage, UsageSource)> {
    tokio::task::spawn_blocking(move || match sent.as_ref() {
        Request::Chat(req) => Some(chat(req, &delivered, &model)),
        Request::Embed(_) => None,
    })
    .await
    .ok()
    .flatten()
}

/// [`embed`], counted off the async workers.
pub async fn embed_off_thread(sent: Arc<Request>, model: String) -> Option<(Usage, UsageSource)> {
    tokio::task::spawn_blocking(move || match sent.as_ref() {
        Request::Embed(req) => Some(embed(req, &model)),
        Request::Chat(_) => None,
    })
    .await
    .ok()
    .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_protocol::{Choice, FinishReason, Message, Role};

    fn answer(text: &str, usage: Usage) -> ChatResponse {
        ChatResponse {
            id: "c".into(),
            model: "m".into(),
            created: 0,
            choices: vec![Choice {
                index: 0,
                message: Message::text(Role::Assistant, text),
                finish_reason: FinishReason::Stop,
            }],
            usage,
        }
    }

    #[test]
    fn zero_usage_is_missing_only_for_an_answer_that_says_something() {
        assert!(missing(&answer("hello there", Usage::default())));
        assert!(!missing(&answer("", Usage::default())));
        let measured = Usage {
            input_tokens: 5,
            output_tokens: 2,
            ..Usage::default()
        };
        assert!(!missing(&answer("hello there", measured)));
    }

    #[test]
    fn a_chat_is_counted_from_what_was_sent_and_delivered() {
        let sent = ChatRequest {
            model: "gpt-4o-mini".into(),
            messages: vec![Message::text(Role::User, "Say hello to the gateway")],
            ..ChatRequest::default()
        };
        let (usage, source) = chat(
            &sent,
            &answer("hello gateway", Usage::default()),
            "gpt-4o-mini",
        );
        let t = Tokenizer::O200K;
        assert_eq!(
            usage.input_tokens,
            3 + 3 + t.count("Say hello to the gateway")
        );
        assert_eq!(usage.output_tokens, t.count("hello gateway"));
        assert_eq!(source, UsageSource::Estimated(Tokenizer::O200K));
        assert_eq!(source.tokenizer().as_deref(), Some("o200k_base"));
    }
}
