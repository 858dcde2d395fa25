//! Short, escaped excerpts of client text for error messages. A message built from a request
//! never quotes more of it than this: a role name of a megabyte comes back as 64 characters.
//! Never returns a control character, a bidi override or any other invisible character raw.

use std::borrow::Cow;

/// How many characters of output an excerpt holds, the ellipsis included.
pub const EXCERPT_CHARS: usize = 64;

/// The start of `s`, at most [`EXCERPT_CHARS`] characters long once escaped, with quotes,
/// backslashes, control and invisible characters written as Rust escapes (`\n`, `\u{202e}`),
/// and `…` at the end when it was cut. Put it between quotes in a message.
pub fn excerpt(s: &str) -> String {
    excerpt_to(s, EXCERPT_CHARS)
}

/// [`excerpt`] with another bound, for crate-internal texts that are longer by nature.
pub(crate) fn excerpt_to(s: &str, limit: usize) -> String {
    bounded(s, limit, Quotes::Escape).into_owned()
}

/// A whole message as it may be shown or kept: at most `limit` characters once escaped, with
/// control and invisible characters written as Rust escapes and `…` when it was cut. Quotes and
/// backslashes stay: the message quotes names with them. Borrowed when nothing changes.
pub fn visible(s: &str, limit: usize) -> Cow<'_, str> {
    bounded(s, limit, Quotes::Keep)
}

/// Whether quotes and backslashes are escaped (an excerpt goes between quotes) or kept.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Quotes {
    Escape,
    Keep,
}

fn bounded(s: &str, limit: usize, quotes: Quotes) -> Cow<'_, str> {
    let unchanged = |c: char| matches!(escape(c, quotes), Escaped::Raw(_));
    if s.chars().take(limit + 1).count() <= limit && s.chars().all(unchanged) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len().min(limit) + 3);
    let mut written = 0;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        let escaped: Escaped = escape(c, quotes);
        let width = escaped.len();
        // Keep room for the ellipsis unless this is the last character.
        let room = if chars.as_str().is_empty() {
            limit
        } else {
            limit.saturating_sub(1)
        };
        if written + width > room {
            out.push('…');
            return Cow::Owned(out);
        }
        escaped.write_to(&mut out);
        written += width;
    }
    Cow::Owned(out)
}

/// One character as it is written into an excerpt.
enum Escaped {
    Raw(char),
    Escape(std::char::EscapeDebug),
}

impl Escaped {
    fn len(&self) -> usize {
        match self {
            Escaped::Raw(_) => 1,
            Escaped::Escape(e) => e.len(),
        }
    }

    fn write_to(self, out: &mut String) {
        match self {
            Escaped::Raw(c) => out.push(c),
            Escaped::Escape(e) => out.extend(e),
        }
    }
}

/// `char::escape_debug` writes controls, quotes, backslashes and characters Unicode does not
/// print (format characters such as U+202E and U+200B among them) as escapes; an apostrophe
/// needs none inside double quotes, and with [`Quotes::Keep`] no quote or backslash does.
fn escape(c: char, quotes: Quotes) -> Escaped {
    if c == '\'' || (quotes == Quotes::Keep && matches!(c, '"' | '\\')) {
        return Escaped::Raw(c);
    }
    let e = c.escape_debug();
    if e.len() == 1 {
        Escaped::Raw(c)
    } else {
        Escaped::Escape(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_plain_text_comes_back_unchanged() {
        assert_eq!(excerpt("wizard"), "wizard");
        assert_eq!(excerpt("it's"), "it's");
        assert_eq!(excerpt(""), "");
    }

    #[test]
    fn a_megabyte_comes_back_as_at_most_64_characters_with_an_ellipsis() {
        let long = "a".repeat(1 << 20);
        let e = excerpt(&long);
        assert_eq!(e.chars().count(), EXCERPT_CHARS);
        assert!(e.ends_with('…'));
        let exact = "b".repeat(EXCERPT_CHARS);
        assert_eq!(excerpt(&exact), exact);
        assert!(excerpt(&"b".repeat(EXCERPT_CHARS + 1)).ends_with('…'));
    }

    #[test]
    fn control_quote_and_invisible_characters_are_escaped() {
        assert_eq!(excerpt("a\nb\u{7}\"\\"), "a\\nb\\u{7}\\\"\\\\");
        assert_eq!(excerpt("x\u{202e}y"), "x\\u{202e}y");
        assert_eq!(excerpt("\u{200b}\u{feff}"), "\\u{200b}\\u{feff}");
        assert_eq!(excerpt("\u{1b}[31m"), "\\u{1b}[31m");
        assert_eq!(excerpt("Grüße ✓"), "Grüße ✓");
    }

    #[test]
    fn escapes_are_never_cut_in_half() {
        let s = format!("{}\n\n", "a".repeat(EXCERPT_CHARS - 3));
        let e = excerpt(&s);
        assert!(e.chars().count() <= EXCERPT_CHARS, "{e}");
        assert!(e.ends_with("\\n…") || e.ends_with("a…"), "{e}");
        let controls = "\u{1}".repeat(1000);
        let e = excerpt(&controls);
        assert!(e.chars().count() <= EXCERPT_CHARS, "{e}");
        assert!(!e.contains('\u{1}'));
    }

    #[test]
    fn a_visible_message_keeps_its_quotes_and_escapes_the_rest() {
        let message = "unknown model \"gpt-9\" from C:\\x";
        assert!(matches!(visible(message, 64), Cow::Borrowed(m) if m == message));
        let forged = visible("a\nb\u{1b}[31m\u{202e}", 64);
        assert_eq!(forged, "a\\nb\\u{1b}[31m\\u{202e}");
        let text = "m".repeat(1000);
        let long = visible(&text, 10);
        assert_eq!(long.chars().count(), 10);
        assert!(long.ends_with('…'));
    }
}
