//! Checks that confirm (and may narrow) a detector's regex match: Luhn, IBAN mod-97, SSN
//! ranges, phone shapes, token randomness and word boundaries. Each takes the scanned text and
//! the match span and returns the span to report, or `None` to drop the match. Never panics.

use std::ops::Range;

/// A confirming check: the text and the regex match span in, the span to report out.
pub(crate) type Check = fn(&str, Range<usize>) -> Option<Range<usize>>;

/// Accepts every match as it is (custom detectors, unambiguous prefixes).
pub(crate) fn accept(_: &str, span: Range<usize>) -> Option<Range<usize>> {
    Some(span)
}

fn byte(text: &str, i: usize) -> Option<u8> {
    text.as_bytes().get(i).copied()
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// True when nothing glued to the left of `start` continues a number or a word: no letter,
/// digit or `_`, no `+`, and no `-`, `.` or `/` that follows one.
fn clear_before(text: &str, start: usize) -> bool {
    let Some(prev) = start.checked_sub(1).and_then(|i| byte(text, i)) else {
        return true;
    };
    match prev {
        b if is_word(b) || b == b'+' => false,
        b'-' | b'.' | b'/' | b',' => !start
            .checked_sub(2)
            .and_then(|i| byte(text, i))
            .is_some_and(|b| b.is_ascii_alphanumeric()),
        _ => true,
    }
}

/// True when nothing glued to the right of `end` continues the match: no letter, digit or `_`,
/// and no `-`, `.`, `/` or `,` followed by a digit.
fn clear_after(text: &str, end: usize) -> bool {
    match byte(text, end) {
        None => true,
        Some(b) if is_word(b) => false,
        Some(b'-' | b'.' | b'/' | b',') => !byte(text, end + 1).is_some_and(|b| b.is_ascii_digit()),
        Some(_) => true,
    }
}

/// Keeps a match that stands alone as a number or word.
pub(crate) fn standalone(text: &str, span: Range<usize>) -> Option<Range<usize>> {
    (clear_before(text, span.start) && clear_after(text, span.end)).then_some(span)
}

/// Keeps a token whose next character cannot continue it (`-` and `_` included).
pub(crate) fn token_end(text: &str, span: Range<usize>) -> Option<Range<usize>> {
    let continues = byte(text, span.end).is_some_and(|b| is_word(b) || b == b'-');
    (!continues && clear_before(text, span.start)).then_some(span)
}

/// The Luhn checksum over ASCII digits.
pub(crate) fn luhn_valid(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, d) in digits.iter().rev().enumerate() {
        let mut v = u32::from(d.wrapping_sub(b'0'));
        if v > 9 {
            return false;
        }
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    !digits.is_empty() && sum.is_multiple_of(10)
}

/// True when the digits start like a card of a real network with that network's length.
fn card_network(digits: &[u8]) -> bool {
    let n = digits.len();
    let prefix = |k: usize| {
        digits
            .iter()
            .take(k)
            .fold(0u32, |acc, d| acc * 10 + u32::from(d.wrapping_sub(b'0')))
    };
    match digits.first() {
        Some(b'4') => matches!(n, 13 | 16 | 19),
        Some(b'2') => (2221..=2720).contains(&prefix(4)) && n == 16,
        Some(b'3') => match prefix(2) {
            34 | 37 => n == 15,
            35 => (16..=19).contains(&n),
            30 | 36 | 38 | 39 => (14..=19).contains(&n),
            _ => false,
        },
        Some(b'5' | b'6') => (13..=19).contains(&n),
        _ => false,
    }
}

/// A payment card: 13–19 digits, unseparated or in groups of which all but the last have at
/// least 4 digits, a known network prefix and a valid Luhn digit. Trailing groups the regex
/// took too many (an expiry year) are dropped.
pub(crate) fn payment_card(text: &str, span: Range<usize>) -> Option<Range<usize>> {
    if !clear_before(text, span.start) {
        return None;
    }
    let bytes = text.as_bytes().get(span.clone())?;
    // Candidate ends: after each group of digits, with the digit count so far; a group shorter
    // than 4 digits can only be the last one.
    let mut digits = Vec::with_capacity(bytes.len());
    let mut ends = Vec::new();
    let mut group = 0;
    for (i, b) in bytes.iter().enumerate() {
        if b.is_ascii_digit() {
            digits.push(*b);
            group += 1;
            if bytes.get(i + 1).is_none_or(|n| !n.is_ascii_digit()) {
                ends.push((span.start + i + 1, digits.len()));
                if group < 4 {
                    break;
                }
                group = 0;
            }
        }
    }
    ends.into_iter().rev().find_map(|(end, count)| {
        let d = digits.get(..count)?;
        ((13..=19).contains(&count) && clear_after(text, end) && card_network(d) && luhn_valid(d))
            .then_some(span.start..end)
    })
}

/// IBAN lengths by country (the SWIFT IBAN registry).
#[rustfmt::skip]
const IBAN_LENGTHS: &[(&str, usize)] = &[
    ("AD", 24), ("AE", 23), ("AL", 28), ("AT", 20), ("AZ", 28), ("BA", 20), ("BE", 16),
    ("BG", 22), ("BH", 22), ("BI", 27), ("BR", 29), ("BY", 28), ("CH", 21), ("CR", 22),
    ("CY", 28), ("CZ", 24), ("DE", 22), ("DJ", 27), ("DK", 18), ("DO", 28), ("EE", 20),
    ("EG", 29), ("ES", 24), ("FI", 18), ("FK", 18), ("FO", 18), ("FR", 27), ("GB", 22),
    ("GE", 22), ("GI", 23), ("GL", 18), ("GR", 27), ("GT", 28), ("HR", 21), ("HU", 28),
    ("IE", 22), ("IL", 23), ("IQ", 23), ("IS", 26), ("IT", 27), ("JO", 30), ("KW", 30),
    ("KZ", 20), ("LB", 28), ("LC", 32), ("LI", 21), ("LT", 20), ("LU", 20), ("LV", 21),
    ("LY", 25), ("MC", 27), ("MD", 24), ("ME", 22), ("MK", 19), ("MN", 20), ("MR", 27),
    ("MT", 31), ("MU", 30), ("NI", 28), ("NL", 18), ("NO", 15), ("OM", 23), ("PK", 24),
    ("PL", 28), ("PS", 29), ("PT", 25), ("QA", 29), ("RO", 24), ("RS", 22), ("RU", 33),
    ("SA", 24), ("SC", 31), ("SD", 18), ("SE", 24), ("SI", 19), ("SK", 24), ("SM", 27),
    ("SO", 23), ("ST", 25), ("SV", 28), ("TL", 23), ("TN", 24), ("TR", 26), ("UA", 29),
    ("VA", 22), ("VG", 24), ("XK", 20), ("YE", 30),
];

/// The IBAN length for a two-letter country code, `None` for a country without IBANs.
pub(crate) fn iban_length(country: &[u8]) -> Option<usize> {
    IBAN_LENGTHS
        .iter()
        .find(|(c, _)| c.as_bytes() == country)
        .map(|(_, n)| *n)
}

/// The ISO 7064 mod-97 remainder of an IBAN (country and check digits moved to the end).
pub(crate) fn iban_remainder(iban: &[u8]) -> Option<u32> {
    let (head, tail) = (iban.get(..4)?, iban.get(4..)?);
    let mut rem = 0u32;
    for b in tail.iter().chain(head) {
        rem = match b {
            b'0'..=b'9' => (rem * 10 + u32::from(b - b'0')) % 97,
            b'A'..=b'Z' => (rem * 100 + u32::from(b - b'A' + 10)) % 97,
            _ => return None,
        };
    }
    Some(rem)
}

/// An IBAN: the country's exact length (single spaces allowed) and a mod-97 remainder of 1.
/// A match that ran on into following words is cut at the country's length.
pub(crate) fn iban(text: &str, span: Range<usize>) -> Option<Range<usize>> {
    if !clear_before(text, span.start) {
        return None;
    }
    let bytes = text.as_bytes().get(span.clone())?;
    let len = iban_length(bytes.get(..2)?)?;
    let mut chars = Vec::with_capacity(len);
    let mut end = None;
    for (i, b) in bytes.iter().enumerate() {
        if *b != b' ' {
            chars.push(*b);
            if chars.len() == len {
                end = Some(span.start + i + 1);
                break;
            }
        }
    }
    let end = end?;
    let boundary = byte(text, end).is_none_or(|b| !b.is_ascii_alphanumeric());
    (boundary && iban_remainder(&chars) == Some(1)).then_some(span.start..end)
}

/// A US social security number outside the never-issued ranges (area 000, 666, 900–999;
/// group 00; serial 0000).
pub(crate) fn us_ssn(text: &str, span: Range<usize>) -> Option<Range<usize>> {
    let s = text.get(span.clone())?;
    let mut parts = s.split(['-', ' ']);
    let (area, group, serial) = (parts.next()?, parts.next()?, parts.next()?);
    let valid_area = area != "000" && area != "666" && !area.starts_with('9');
    (valid_area && group != "00" && serial != "0000")
        .then_some(span)
        .and_then(|span| standalone(text, span))
}

/// A phone number. `+…`: 8–15 digits (E.164); `0…` (national trunk prefix): 9–12 digits in
/// groups joined by one kind of separator, not shaped like an IPv4 address; otherwise the
/// regex already fixed a North American shape. All must stand alone; trailing groups the
/// regex took too many (a year after the number) are dropped.
pub(crate) fn phone(text: &str, span: Range<usize>) -> Option<Range<usize>> {
    if !clear_before(text, span.start) {
        return None;
    }
    let s = text.get(span.clone())?;
    let bytes = s.as_bytes();
    if !matches!(bytes.first(), Some(b'+' | b'0')) {
        return standalone(text, span);
    }
    // Candidate ends: after each digit run, longest first.
    let ends = (1..=bytes.len()).rev().filter(|&i| {
        bytes.get(i - 1).is_some_and(u8::is_ascii_digit)
            && bytes.get(i).is_none_or(|b| !b.is_ascii_digit())
    });
    for end in ends {
        let shaped = s.get(..end).is_some_and(phone_shape);
        if shaped && clear_after(text, span.start + end) {
            return Some(span.start..span.start + end);
        }
    }
    None
}

/// The digit-count and separator rules of an international (`+`) or national (`0`) number.
fn phone_shape(s: &str) -> bool {
    let digits = s.bytes().filter(u8::is_ascii_digit).count();
    let separators: Vec<u8> = s
        .bytes()
        .filter(|b| matches!(b, b' ' | b'.' | b'-'))
        .collect();
    if s.starts_with('+') {
        return (8..=15).contains(&digits) && separators != [b'.'];
    }
    let uniform = separators.windows(2).all(|w| w.first() == w.last());
    let groups: Vec<usize> = s.split(['.', ' ', '-']).map(str::len).collect();
    let ipv4 =
        separators.first() == Some(&b'.') && groups.len() == 4 && groups.iter().all(|g| *g <= 3);
    (9..=12).contains(&digits) && uniform && !ipv4
}

/// Shannon entropy of the bytes, in bits per byte.
pub(crate) fn entropy(s: &[u8]) -> f64 {
    let mut counts = [0u32; 256];
    for b in s {
        if let Some(c) = counts.get_mut(usize::from(*b)) {
            *c += 1;
        }
    }
    let n = s.len() as f64;
    counts
        .iter()
        .filter(|c| **c > 0)
        .map(|c| {
            let p = f64::from(*c) / n;
            -p * p.log2()
        })
        .sum()
}

/// True for a value that looks generated: at least 12 bytes, letters and digits, and at least
/// 3 bits of entropy per byte (`hunter2`, `authentication-required`, `1234…` are not).
pub(crate) fn looks_random(s: &[u8]) -> bool {
    s.len() >= 12
        && s.iter().any(u8::is_ascii_digit)
        && s.iter().any(u8::is_ascii_alphabetic)
        && entropy(s) >= 3.0
}

/// A token (bearer value, assigned secret) that looks generated.
pub(crate) fn random_token(text: &str, span: Range<usize>) -> Option<Range<usize>> {
    let s = text.as_bytes().get(span.clone())?;
    looks_random(s).then_some(span)
}

/// An OpenAI key: `sk-` with a generated body, not an Anthropic `sk-ant-` key.
pub(crate) fn openai_key(text: &str, span: Range<usize>) -> Option<Range<usize>> {
    let s = text.as_bytes().get(span.clone())?;
    let body = s.get(3..)?;
    let mixed = body.iter().any(u8::is_ascii_uppercase)
        && body.iter().any(u8::is_ascii_lowercase)
        && body.iter().any(u8::is_ascii_digit);
    (mixed && !s.starts_with(b"sk-ant-"))
        .then_some(span)
        .and_then(|span| token_end(text, span))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn luhn_known_values() {
        assert!(luhn_valid(b"4111111111111111"));
        assert!(luhn_valid(b"79927398713"));
        assert!(!luhn_valid(b"4111111111111112"));
        assert!(!luhn_valid(b""));
        assert!(!luhn_valid(b"41x1"));
    }

    #[test]
    fn iban_known_values() {
        assert_eq!(iban_remainder(b"DE89370400440532013000"), Some(1));
        assert_eq!(iban_remainder(b"GB82WEST12345698765432"), Some(1));
        assert_ne!(iban_remainder(b"GB82WEST12345698765433"), Some(1));
        assert_eq!(iban_length(b"DE"), Some(22));
        assert_eq!(iban_length(b"US"), None);
    }

    #[test]
    fn entropy_separates_words_from_keys() {
        assert!(looks_random(b"a8F3kd92LmQ0zX71"));
        assert!(!looks_random(b"authentication-required"));
        assert!(!looks_random(b"1111111111111111a"));
        assert!(!looks_random(b"hunter2"));
    }

    #[test]
    fn boundaries() {
        assert!(standalone("x 123 y", 2..5).is_some());
        assert!(standalone("a123", 1..4).is_none());
        assert!(standalone("1.123", 2..5).is_none());
        assert!(standalone("123-4", 0..3).is_none());
        assert!(standalone("123. Next", 0..3).is_some());
        assert!(standalone("", 0..0).is_some());
        assert!(standalone("é123é", 2..5).is_some());
    }
}
