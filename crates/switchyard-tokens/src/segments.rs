//! Where a text is cut before tiktoken sees it: before a space that follows a non-space, where
//! the tokenizer's pre-split always cuts, so the segments' counts add up to the whole text's.

/// Segments are cut at the first safe place past this many bytes: ~0.3 ms of prose in a dev
/// build.
const SEGMENT_BYTES: usize = 16 * 1024;
/// A run this long with no safe place (one 64 KiB word, or whitespace) is cut where it is; its
/// count may then differ from tiktoken's by a token or so per cut, which no real text meets.
/// 64 KiB of punctuation, the slowest text measured (~0.7 µs a byte in a dev build), takes
/// ~45 ms: the longest a stopped count runs on.
const MAX_SEGMENT_BYTES: usize = 64 * 1024;

/// The segments of a text, in order; their concatenation is the text.
pub struct Segments<'a> {
    rest: &'a str,
    target: usize,
    max: usize,
}

impl<'a> Segments<'a> {
    /// The segments of `text`.
    pub fn new(text: &'a str) -> Self {
        Self::sized(text, SEGMENT_BYTES, MAX_SEGMENT_BYTES)
    }

    /// Segments cut at the first safe place past `target` bytes, or at `max` when there is none.
    pub fn sized(text: &'a str, target: usize, max: usize) -> Self {
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

    /// A small deterministic generator for test texts.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
    }

    fn direct(text: &str) -> u64 {
        tiktoken_rs::o200k_base_singleton()
            .encode_ordinary(text)
            .len() as u64
    }

    fn segmented(text: &str, target: usize) -> u64 {
        let bpe = tiktoken_rs::o200k_base_singleton();
        Segments::sized(text, target, usize::MAX)
            .map(|s| bpe.encode_ordinary(s).len() as u64)
            .sum()
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
        let mut rng = Rng(7);
        for case in 0..400 {
            let t = text(&mut rng, 1 + case % 300);
            for target in [1, 3, 8, 40] {
                assert_eq!(segmented(&t, target), direct(&t), "target {target}: {t:?}");
            }
        }
    }

    #[test]
    fn segments_rejoin_to_the_text_and_respect_the_hard_cut() {
        let mut rng = Rng(9);
        for case in 0..200 {
            let t = format!("{}{}", text(&mut rng, case), "ü".repeat(case));
            let parts: Vec<&str> = Segments::sized(&t, 5, 16).collect();
            assert_eq!(parts.concat(), t);
            assert!(parts.iter().all(|p| p.len() <= 16 + 3), "{parts:?}");
        }
    }

    #[test]
    fn truncation_keeps_the_first_tokens_across_segments() {
        let bpe = tiktoken_rs::o200k_base_singleton();
        let mut rng = Rng(11);
        let t = text(&mut rng, 100_000);
        let all = bpe.encode_ordinary(&t);
        let go_on = &mut || Ok::<(), ()>(());
        for max in [0, 1, 7, 5_000, all.len() - 1] {
            let want = bpe.decode(&all[..max]).unwrap_or_default();
            let cut = crate::Tokenizer::O200K.truncate_until(&t, max, go_on);
            assert_eq!(cut, Ok(Some(want)), "{max}");
        }
        let whole = crate::Tokenizer::O200K.truncate_until(&t, all.len(), go_on);
        assert_eq!(whole, Ok(None));
    }
}
