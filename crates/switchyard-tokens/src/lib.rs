//! Token counts with the tokenizers OpenAI's models use (o200k, cl100k), for texts of any size
//! and for canonical requests and answers: what the gateway counts itself when a provider sends
//! no usage, and what the mock upstream reports as its usage. The text is cut into segments
//! where the tokenizer's own pre-split always cuts (before a space that follows a non-space),
//! so the count is tiktoken's exactly and each call into tiktoken is bounded. Never hands
//! tiktoken a whole large text: one pre-split piece of a million spaces overflows its regex
//! stack and panics.

mod segments;

pub use segments::Segments;

use std::convert::Infallible;
use switchyard_protocol::{ChatRequest, Message};
use tiktoken_rs::CoreBPE;

/// A tokenizer, and whether it is the one the model really uses or the nearest stand-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tokenizer {
    pub encoding: Encoding,
    /// The model is known to use this encoding; otherwise the count is an approximation.
    pub exact: bool,
}

/// The encodings counted here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// GPT-4o, GPT-4.1, GPT-5, the o-series.
    O200k,
    /// GPT-4, GPT-3.5, the text-embedding-3 and ada-002 models.
    Cl100k,
}

impl Encoding {
    /// Its name, as tiktoken's.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::O200k => "o200k_base",
            Encoding::Cl100k => "cl100k_base",
        }
    }

    fn bpe(self) -> &'static CoreBPE {
        match self {
            Encoding::O200k => tiktoken_rs::o200k_base_singleton(),
            Encoding::Cl100k => tiktoken_rs::cl100k_base_singleton(),
        }
    }
}

impl Tokenizer {
    /// o200k, exact: the mock's and OpenAI's current models' tokenizer.
    pub const O200K: Tokenizer = Tokenizer {
        encoding: Encoding::O200k,
        exact: true,
    };

    /// The tokenizer of `model` (an upstream model id, `provider/` prefix allowed): its own
    /// when tiktoken knows the model, else o200k as an approximation.
    pub fn for_model(model: &str) -> Tokenizer {
        let name = model.rsplit_once('/').map_or(model, |(_, m)| m);
        use tiktoken_rs::tokenizer::{Tokenizer as Known, get_tokenizer};
        match get_tokenizer(name) {
            Some(Known::O200kBase) => Tokenizer::O200K,
            Some(Known::Cl100kBase) => Tokenizer {
                encoding: Encoding::Cl100k,
                exact: true,
            },
            _ => Tokenizer {
                encoding: Encoding::O200k,
                exact: false,
            },
        }
    }

    /// What a record says of the count: `o200k_base`, or `o200k_base (approximate)`.
    pub fn describe(self) -> String {
        if self.exact {
            self.encoding.name().to_owned()
        } else {
            format!("{} (approximate)", self.encoding.name())
        }
    }

    /// The tokens of `text`.
    pub fn count(self, text: &str) -> u64 {
        let Ok(n) = self.count_until(text, &mut || Ok::<(), Infallible>(()));
        n
    }

    /// The tokens of `text`, asking `go_on` before each segment whether to continue.
    pub fn count_until<E>(
        self,
        text: &str,
        go_on: &mut impl FnMut() -> Result<(), E>,
    ) -> Result<u64, E> {
        let bpe = self.encoding.bpe();
        let mut total = 0u64;
        for segment in Segments::new(text) {
            go_on()?;
            total += bpe.encode_ordinary(segment).len() as u64;
        }
        Ok(total)
    }

    /// The tokens of a chat prompt: message texts, tool-call names and arguments, tool schemas,
    /// plus the framing OpenAI's chat format adds (3 per message, 3 to prime the reply, 8 per
    /// tool).
    pub fn prompt(self, req: &ChatRequest) -> u64 {
        let Ok(n) = self.prompt_until(req, &mut || Ok::<(), Infallible>(()));
        n
    }

    /// [`Tokenizer::prompt`], asking `go_on` before each segment whether to continue.
    pub fn prompt_until<E>(
        self,
        req: &ChatRequest,
        go_on: &mut impl FnMut() -> Result<(), E>,
    ) -> Result<u64, E> {
        let mut total = 3;
        for m in &req.messages {
            total += 3 + self.count_until(&m.joined_text(), go_on)?;
            for call in &m.tool_calls {
                total += self.count_until(&call.name, go_on)?
                    + self.count_until(&call.arguments, go_on)?;
            }
        }
        for tool in &req.tools {
            total += 8
                + self.count_until(&tool.name, go_on)?
                + self.count_until(&tool.parameters.to_string(), go_on)?;
            if let Some(d) = &tool.description {
                total += self.count_until(d, go_on)?;
            }
        }
        Ok(total)
    }

    /// The tokens of an answer's message: its text, and each tool call's name and arguments
    /// with 3 tokens of framing.
    pub fn message(self, m: &Message) -> u64 {
        let Ok(n) = self.message_until(m, &mut || Ok::<(), Infallible>(()));
        n
    }

    /// [`Tokenizer::message`], asking `go_on` before each segment whether to continue.
    pub fn message_until<E>(
        self,
        m: &Message,
        go_on: &mut impl FnMut() -> Result<(), E>,
    ) -> Result<u64, E> {
        let mut total = self.count_until(&m.joined_text(), go_on)?;
        for c in &m.tool_calls {
            total += self.count_until(&c.name, go_on)? + self.count_until(&c.arguments, go_on)? + 3;
        }
        Ok(total)
    }

    /// The first `max` tokens of `text`, or `None` when it has no more. A cut inside a
    /// character leaves an empty text, as decoding part of a character always has.
    pub fn truncate_until<E>(
        self,
        text: &str,
        max: usize,
        go_on: &mut impl FnMut() -> Result<(), E>,
    ) -> Result<Option<String>, E> {
        let bpe = self.encoding.bpe();
        let (mut kept, mut offset) = (0usize, 0usize);
        for segment in Segments::new(text) {
            go_on()?;
            let tokens = bpe.encode_ordinary(segment);
            if kept + tokens.len() > max {
                let cut = match bpe.decode(&tokens[..max - kept]) {
                    Ok(tail) => format!("{}{tail}", &text[..offset]),
                    Err(_) => String::new(),
                };
                return Ok(Some(cut));
            }
            kept += tokens.len();
            offset += segment.len();
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_get_their_own_tokenizer_and_others_an_approximation() {
        assert_eq!(Tokenizer::for_model("gpt-4o-mini"), Tokenizer::O200K);
        assert_eq!(Tokenizer::for_model("openai/gpt-4o"), Tokenizer::O200K);
        let gpt4 = Tokenizer::for_model("gpt-4");
        assert_eq!((gpt4.encoding, gpt4.exact), (Encoding::Cl100k, true));
        let claude = Tokenizer::for_model("claude-sonnet-4-5");
        assert_eq!((claude.encoding, claude.exact), (Encoding::O200k, false));
        assert_eq!(claude.describe(), "o200k_base (approximate)");
    }

    #[test]
    fn counts_are_tiktokens() {
        let text = "Route the request, then record it: 42 tokens or so.";
        let direct = tiktoken_rs::o200k_base_singleton()
            .encode_ordinary(text)
            .len() as u64;
        assert_eq!(Tokenizer::O200K.count(text), direct);
        let cl = tiktoken_rs::cl100k_base_singleton()
            .encode_ordinary(text)
            .len() as u64;
        assert_eq!(Tokenizer::for_model("gpt-4").count(text), cl);
    }

    #[test]
    fn a_stopped_count_says_why() {
        let stopped = Tokenizer::O200K.count_until("hello world", &mut || Err("stop"));
        assert_eq!(stopped, Err("stop"));
    }

    #[test]
    fn a_million_spaces_are_counted_without_the_tokenizer_overflowing() {
        let n = Tokenizer::O200K.count(&" ".repeat(1_000_000));
        // o200k writes long runs of spaces 128 to a token; each of the 15 cuts may cost one.
        assert!((7_812..7_812 + 16).contains(&n), "{n}");
    }
}
