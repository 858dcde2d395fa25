//! Token counts as OpenAI's recent models give them (o200k), for texts of any size. The text is
//! cut into segments where the tokenizer's own pre-split always cuts (before a space that follows
//! a non-space), so the count is tiktoken's exactly, each call into tiktoken is bounded, and a
//! count stops between segments when its request has ended. Never hand tiktoken a whole large
//! text: one pre-split piece of a million spaces overflows its regex stack and panics.

use crate::budget::Cancel;
use crate::limits::Stop;
use std::sync::atomic::{AtomicBool, Ordering};
use tiktoken_rs::CoreBPE;

/// Segments are cut at the first safe place past this many bytes: ~0.3 ms of prose in a dev
/// build.
const SEGMENT_BYTES: usize = 16 * 1024;
/// A run this long with no safe place (one 64 KiB word, or whitespace) is cut where it is; its
/// count may then differ from tiktoken's by a token or so per cut, which no real text meets.
/// 64 KiB of punctuation, the slowest text measured (~0.7 µs a byte in a dev build), takes
/// ~45 ms: the longest a cancelled count runs on.
const MAX_SEGMENT_BYTES: usize = 64 * 1024;

static LOADED: AtomicBool = AtomicBool::new(false);

fn bpe() -> &'static CoreBPE {
    let bpe = tiktoken_rs::o200k_base_singleton();
    LOADED.store(true, Ordering::Relaxed);
    bpe
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
    count_in(text, cancel, SEGMENT_BYTES, MAX_SEGMENT_BYTES)
}

fn count_in(text: &str, cancel: &Cancel, target: usize, max: usize) -> Result<u64, Stop> {
    let bpe = bpe();
    let mut total = 0u64;
    for segment in Segments::new(text, target, max) {
        cancel.check()?;
        total += bpe.encode_ordinary(segment).len() as u64;
    }
    Ok(total)
}

/// `text` cut to its first `max` tokens, or `None` when it has no more. A cut that falls inside
/// a character leaves an empty text, as decoding part of a character always has.
pub fn truncate(text: &str, max: usize, cancel: &Cancel) -> Result<Option<String>, Stop> {
    let bpe = bpe();
    let (mut kept, mut offset) = (0usize, 0usize);
    for segment in Segments::new(text, SEGMENT_BYTES, MAX_SEGMENT_BYTES) {
        cancel.check()?;
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

/// The segments of a text, in order; their concatenation is the text.
struct Segments<'a> {
    rest: &'a str,
    target: usize,
    max: usize,
}

impl<'a> Segments<'a> {
    fn new(text: &'a str, target: usize, max: usize) -> Self {
        Self {
            rest: text,
            target: target.max(1),
            max: max.max(target.max(1)),
        }
    }

    /// Where to end the next segment: before the first space past `target` whose preceding char
    /// is not whitespace (the pre-split never joins the two), or at `max` on a char boundary.
    fn cut(&self) -> usize {
        let text = self.rest;
        let bytes = text.as_bytes();
        let window_end = self.max.min(text.len());
        let mut i = self.target;
        while i < window_end {
            match find_space(&bytes[i..window_end]) {
                None => break,
                Some(offset) => {
                    let at = i + offset;
                    if text[..at]
                        .chars()
                        .next_back()
                        .is_some_and(|c| !c.is_whitespace())
                    {
                        return at;
                    }
                    i = at + 1;
                }
            }
        }
        let mut at = window_end;
        while at > 0 && !text.is_char_boundary(at) {
            at -= 1;
        }
        at.max(1)
    }
}

fn find_space(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|b| *b == b' ')
}

impl<'a> Iterator for Segments<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        if self.rest.is_empty() {
            return None;
        }
        if self.rest.len() <= self.target {
            return Some(std::mem::take(&mut self.rest));
        }
        let mut at = self.cut();
        while !self.rest.is_char_boundary(at) {
            at += 1;
        }
        let (segment, rest) = self.rest.split_at(at);
        self.rest = rest;
        Some(segment)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Rng;

    fn direct(text: &str) -> u64 {
        tiktoken_rs::o200k_base_singleton()
            .encode_ordinary(text)
            .len() as u64
    }

    /// Text from an alphabet that exercises every branch of the o200k pre-split: letters in both
    /// cases, contractions, digits, punctuation, runs of spaces, tabs and newlines, non-ASCII.
    fn text(rng: &mut Rng, len: usize) -> String {
        const PIECES: &[&str] = &[
            "a",
            "Route",
            "the",
            "ÜBER",
            "naïve",
            "日本語",
            " ",
            "  ",
            "   ",
            "\t",
            "\n",
            "\r\n",
            " \n",
            "'s",
            "'LL",
            "42",
            "2026",
            "3.14",
            "!",
            "?!",
            "...",
            "{\"k\": [1, 2]}",
            "/",
            "-",
            "\u{a0}",
            "😀",
            "x_y",
            "  \t ",
            "\n\n",
            ".",
            ",",
            "(",
            ")",
        ];
        let mut out = String::new();
        while out.len() < len {
            out.push_str(PIECES[rng.below(PIECES.len() as u64) as usize]);
        }
        out
    }

    #[test]
    fn segmented_counts_equal_tiktoken_on_every_shape_of_text() {
        let mut rng = Rng::new(7);
        let cancel = Cancel::new();
        for case in 0..400 {
            let t = text(&mut rng, 1 + case % 300);
            for target in [1, 3, 8, 40] {
                assert_eq!(
                    count_in(&t, &cancel, target, usize::MAX),
                    Ok(direct(&t)),
                    "target {target}: {t:?}"
                );
            }
        }
    }

    #[test]
    fn segments_rejoin_to_the_text_and_respect_the_hard_cut() {
        let mut rng = Rng::new(9);
        for case in 0..200 {
            let t = format!("{}{}", text(&mut rng, case), "ü".repeat(case));
            let parts: Vec<&str> = Segments::new(&t, 5, 16).collect();
            assert_eq!(parts.concat(), t);
            assert!(parts.iter().all(|p| p.len() <= 16 + 3), "{parts:?}");
        }
    }

    #[test]
    fn a_million_spaces_are_counted_without_the_tokenizer_overflowing() {
        let spaces = " ".repeat(1_000_000);
        let n = count_tokens(&spaces);
        // o200k writes long runs of spaces 128 to a token; each of the 15 cuts may cost one.
        assert!((7_812..7_812 + 16).contains(&n), "{n}");
    }

    #[test]
    fn truncation_keeps_the_first_tokens_across_segments() {
        let bpe = tiktoken_rs::o200k_base_singleton();
        let mut rng = Rng::new(11);
        let t = text(&mut rng, 100_000);
        let all = bpe.encode_ordinary(&t);
        for max in [0, 1, 7, 5_000, all.len() - 1] {
            let want = bpe.decode(&all[..max]).unwrap_or_default();
            assert_eq!(truncate(&t, max, &Cancel::new()), Ok(Some(want)), "{max}");
        }
        assert_eq!(truncate(&t, all.len(), &Cancel::new()), Ok(None));
    }

    #[test]
    fn a_cancelled_count_stops() {
        let cancel = Cancel::new();
        cancel.cancel();
        assert_eq!(count("hello world", &cancel), Err(Stop::Cancelled));
    }
}
