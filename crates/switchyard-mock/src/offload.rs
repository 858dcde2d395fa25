//! Where an answer is generated: inline when its work is light (what every benchmark request
//! is), otherwise on tokio's blocking pool, so no async worker ever waits on a tokenizer or a
//! schema. At most one heavy generation per core but one runs at a time (the rest wait without
//! a thread), so the async workers always keep a core. Work sent there stops when its request
//! ends: dropping the awaiting future (client gone, attempt timeout, shutdown) sets the
//! [`Cancel`] flag the generator checks, or drops its place in the queue. Never run heavy
//! generation on an async worker, and never leave it running for nobody.

use crate::budget::Cancel;
use crate::embedding::{self, Dimensions};
use crate::limits::{Limits, Stop};
use crate::synth::{self, Shape};
use crate::tokens;
use std::sync::OnceLock;
use switchyard_protocol::{ChatRequest, ChatResponse, EmbedRequest, EmbedResponse, Part};
use tokio::sync::Semaphore;

/// Work no larger than this many bytes (text to tokenize, plus prose to write) runs inline.
/// Measured in a dev build: 4 KiB of prose tokenizes in ~70 µs (within tokio's ~100 µs between
/// awaits), while the hop to the blocking pool and back costs ~11 µs, more than a short
/// request's whole tokenizing (~1-5 µs).
const INLINE_BYTES: usize = 4 * 1024;
/// Embedding floats an inline answer may hold (64 inputs at 256 dimensions).
const INLINE_VALUES: u64 = 16 * 1024;

/// Sets the flag when dropped: the future awaiting the work went away.
struct CancelOnDrop(Cancel);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// Heavy generations running at once: one per core but one (at least one). Measured on the
/// 2-core machine: with one per core, 27 hostile requests kept a liveness probe waiting 168 ms.
fn slots() -> &'static Semaphore {
    static SLOTS: OnceLock<Semaphore> = OnceLock::new();
    SLOTS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Semaphore::new(cores.saturating_sub(1).max(1))
    })
}

/// Runs `work` on the blocking pool once a slot is free. Dropping the returned future cancels
/// the work at its next check (or before it starts); a panic in it is a [`Stop::Failed`].
pub async fn blocking<T, F>(work: F) -> Result<T, Stop>
where
    T: Send + 'static,
    F: FnOnce(&Cancel) -> Result<T, Stop> + Send + 'static,
{
    let slot = slots()
        .acquire()
        .await
        .map_err(|e| Stop::Failed(e.to_string()))?;
    let cancel = Cancel::new();
    let guard = CancelOnDrop(cancel.clone());
    let joined = tokio::task::spawn_blocking(move || {
        // The slot is held until the work has stopped, even when nobody awaits it any more.
        let _slot = slot;
        work(&cancel)
    })
    .await;
    // The work is over either way; the guard's flag now stops nothing.
    drop(guard);
    match joined {
        Ok(result) => result,
        Err(e) if e.is_cancelled() => Err(Stop::Cancelled),
        Err(e) => Err(Stop::Failed(e.to_string())),
    }
}

/// Runs `work` inline when `light`, otherwise on the blocking pool as [`blocking`] does.
pub async fn run<T, F>(light: bool, work: F) -> Result<T, Stop>
where
    T: Send + 'static,
    F: FnOnce(&Cancel) -> Result<T, Stop> + Send + 'static,
{
    if light {
        work(&Cancel::new())
    } else {
        blocking(work).await
    }
}

/// Whether answering `req` is light: a short prompt, no schema to follow, little prose, and the
/// tokenizer loaded already.
pub fn chat_is_light(req: &ChatRequest, shape: Shape) -> bool {
    let follows_schema = !req.tools.is_empty()
        || req.response_format.is_some()
        || req.messages.iter().any(|m| {
            m.content
                .iter()
                .any(|p| matches!(p, Part::Text { text } if text.contains("JSON object")))
        });
    if follows_schema || !tokens::loaded() {
        return false;
    }
    let mut bytes = (req.n.max(1) as usize).saturating_mul(shape.words.saturating_mul(8));
    for m in &req.messages {
        for part in &m.content {
            if let Part::Text { text } = part {
                bytes = bytes.saturating_add(text.len());
            }
        }
        for call in &m.tool_calls {
            bytes = bytes.saturating_add(call.name.len() + call.arguments.len());
        }
    }
    bytes <= INLINE_BYTES
}

/// Whether embedding `req` at `dims` is light: little text, few floats.
pub fn embed_is_light(req: &EmbedRequest, dims: Dimensions) -> bool {
    let text = req.input.iter().map(String::len).sum();
    let size = u64::from(req.dimensions.unwrap_or(dims.default));
    embedding_is_light(text, (req.input.len() as u64).saturating_mul(size))
}

/// Whether embedding `text_bytes` of text into `values` floats is light (with the tokenizer
/// loaded already).
pub fn embedding_is_light(text_bytes: usize, values: u64) -> bool {
    tokens::loaded() && text_bytes <= INLINE_BYTES && values <= INLINE_VALUES
}

/// The answer to `req` within the default limits: inline when light, otherwise off the async
/// workers and cancelled when this future is dropped.
pub async fn chat(req: &ChatRequest, model: &str, shape: Shape) -> Result<ChatResponse, Stop> {
    if chat_is_light(req, shape) {
        return synth::generate(req, model, shape, &Limits::DEFAULT, &Cancel::new());
    }
    let (req, model) = (req.clone(), model.to_owned());
    blocking(move |cancel| synth::generate(&req, &model, shape, &Limits::DEFAULT, cancel)).await
}

/// Embeddings for `req` within the default limits, placed as [`chat`] places answers.
pub async fn embed(
    req: &EmbedRequest,
    model: &str,
    dims: Dimensions,
) -> Result<EmbedResponse, Stop> {
    if embed_is_light(req, dims) {
        return embedding::embed(req, model, dims, &Limits::DEFAULT, &Cancel::new());
    }
    let (req, model) = (req.clone(), model.to_owned());
    blocking(move |cancel| embedding::embed(&req, &model, dims, &Limits::DEFAULT, cancel)).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_protocol::{Message, Role, Tool};

    fn request(prompt: String) -> ChatRequest {
        ChatRequest {
            model: "m".into(),
            messages: vec![Message::text(Role::User, prompt)],
            n: 1,
            ..ChatRequest::default()
        }
    }

    #[test]
    fn short_plain_requests_are_light_and_the_rest_are_not() {
        let shape = Shape::default();
        tokens::count_tokens("load the tables");
        assert!(chat_is_light(&request("hello ".repeat(170)), shape));
        assert!(!chat_is_light(&request("hello ".repeat(1000)), shape));
        let mut tools = request("hi".into());
        tools.tools = vec![Tool {
            name: "f".into(),
            description: None,
            parameters: serde_json::json!({"type": "object"}),
            strict: None,
        }];
        assert!(!chat_is_light(&tools, shape));
        let mut many = request("hi".into());
        many.n = 128;
        assert!(!chat_is_light(&many, shape));
        let json = request("Reply with a JSON object: {}".into());
        assert!(!chat_is_light(&json, shape));
    }

    #[tokio::test]
    async fn dropping_the_awaiting_future_stops_the_generation_midway() {
        // 16 MB of punctuation: ~10 s of tokenizing if nothing stopped it.
        let req = request("!".repeat(16 * 1024 * 1024));
        let (started_tx, started) = tokio::sync::oneshot::channel();
        let (ended_tx, ended) = tokio::sync::oneshot::channel();
        let work = tokio::spawn(blocking(move |cancel| {
            let _ = started_tx.send(());
            let out = synth::generate(&req, "m", Shape::default(), &Limits::DEFAULT, cancel);
            let _ = ended_tx.send(out.as_ref().map(|_| ()).map_err(Clone::clone));
            out
        }));
        assert_eq!(started.await, Ok(()));
        work.abort();
        // The blocking thread cannot be aborted; it ends because the dropped future set the flag.
        assert_eq!(ended.await, Ok(Err(Stop::Cancelled)));
    }

    #[tokio::test]
    async fn a_panicking_generation_is_a_failure_not_a_crash() {
        let out: Result<(), Stop> = blocking(|_| -> Result<(), Stop> {
            #[allow(clippy::panic)]
            {
                panic!("generator bug")
            }
        })
        .await;
        assert!(matches!(out, Err(Stop::Failed(_))), "{out:?}");
    }
}
