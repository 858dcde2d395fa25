//! Token counts as OpenAI's recent models give them (o200k), for texts of any size, through
//! `switchyard_tokens` (which cuts a text where tiktoken's pre-split always cuts, so the count
//! is tiktoken's exactly), stopping between segments when its request has ended.

use crate::budget::Cancel;
use crate::limits::Stop;
use std::sync::atomic::{AtomicBool, Ordering};
use switchyard_tokens::Tokenizer;

static LOADED: AtomicBool = AtomicBool::new(false);

fn tokenizer() -> Tokenizer {
    LOADED.store(true, Ordering::Relaxed);
    Tokenizer::O200K
}

/// Whether the tokenizer's tables are loaded. The first count loads them (~250 ms in a dev
/// build), which is heavy work however short its text.
pub fn loaded() -> bool {
    LOADED.load(Ordering::Relaxed)
}

/// Counts the tokens of `text`.
pub fn count_tokens(text: &str) -> u64 {
    count(text, &Cancel::new()).unwrap_or(0)
}

/// Counts the tokens of `text`, stopping between segments once `cancel` is set.
pub fn count(text: &str, cancel: &Cancel) -> Result<u64, Stop> {
    tokenizer().count_until(text, &mut || cancel.check())
}

/// `text` cut to its first `max` tokens, or `None` when it has no more. A cut that falls inside
/// a character leaves an empty text, as decoding part of a character always has.
pub fn truncate(text: &str, max: usize, cancel: &Cancel) -> Result<Option<String>, Stop> {
    tokenizer().truncate_until(text, max, &mut || cancel.check())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cancelled_count_stops() {
        let cancel = Cancel::new();
        cancel.cancel();
        assert_eq!(count("hello world", &cancel), Err(Stop::Cancelled));
    }
}
