//! The one way a client's text reaches anything the gateway keeps or says: an event, a log
//! line, a span, a metric label, an error body. Text passes [`client_text`] first, which
//! redacts what the detectors find, escapes control and invisible characters, and bounds the
//! length. Never lets a secret, a line break or an ANSI escape through, and never copies more
//! than its bound of a megabyte-long field.

use std::borrow::Cow;
use switchyard_policy::{Detectors, RedactionPolicy};

/// The bound for a name kept in a record (a model id, a metadata key): real ones are shorter
/// (a Bedrock inference-profile ARN is ~130); a longer one is an attack or a mistake, and its
/// start says which.
pub const NAME_CHARS: usize = 256;

/// The bound for an error message: our own text plus short quotes of the request.
pub const MESSAGE_CHARS: usize = 1024;

/// `text` as it may be kept or shown: findings redacted (pii, financial and secret, as the
/// upstream redaction does), control and invisible characters escaped (`\n`, `\u{1b}`), and
/// cut to `max_chars` characters with `…` when longer.
pub fn client_text<'a>(text: &'a str, detectors: &Detectors, max_chars: usize) -> Cow<'a, str> {
    // Only the start is kept: redact a window past it (so a secret that crosses the bound is
    // found whole), not a megabyte.
    let window = &text[..text.floor_char_boundary(max_chars.saturating_mul(4) + 512)];
    let redacted =
        match switchyard_policy::redact_text(window, detectors, &RedactionPolicy::default()) {
            Cow::Borrowed(_) if window.len() == text.len() => Cow::Borrowed(text),
            other => Cow::Owned(other.into_owned()),
        };
    bounded(redacted, max_chars)
}

/// `text` with control and invisible characters escaped, cut to `max_chars`.
fn bounded(text: Cow<'_, str>, max_chars: usize) -> Cow<'_, str> {
    match text {
        Cow::Borrowed(t) => switchyard_protocol::visible(t, max_chars),
        Cow::Owned(t) => Cow::Owned(switchyard_protocol::visible(&t, max_chars).into_owned()),
    }
}

/// The detectors that ship with the binary, for text rendered where no config is at hand
/// (error bodies, at any layer). `None` only if the shipped patterns failed to compile.
pub fn builtin() -> Option<&'static Detectors> {
    static BUILTIN: std::sync::LazyLock<Option<Detectors>> =
        std::sync::LazyLock::new(|| Detectors::builtin().ok());
    BUILTIN.as_ref()
}

/// [`client_text`] with the shipped detectors, for error bodies; escaped and bounded even if
/// they are missing.
pub fn message_text(text: &str) -> Cow<'_, str> {
    match builtin() {
        Some(detectors) => client_text(text, detectors, MESSAGE_CHARS),
        None => bounded(Cow::Borrowed(text), MESSAGE_CHARS),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detectors() -> Detectors {
        Detectors::builtin().unwrap()
    }

    #[test]
    fn clean_short_text_is_borrowed_as_it_is() {
        let text = "unknown model or alias \"gpt-9\"; aliases: fast, smart";
        assert!(matches!(
            client_text(text, &detectors(), MESSAGE_CHARS),
            Cow::Borrowed(t) if t == text
        ));
    }

    #[test]
    fn findings_are_redacted() {
        let text = "model sk-live-ABCDEF0123456789abcdef0123 for jane.doe@example.com";
        let out = client_text(text, &detectors(), MESSAGE_CHARS);
        assert!(!out.contains("sk-live-ABCDEF"), "{out}");
        assert!(!out.contains("jane.doe@example.com"), "{out}");
        assert!(out.contains("[REDACTED:"), "{out}");
    }

    #[test]
    fn line_breaks_and_terminal_escapes_are_escaped() {
        let out = client_text(
            "gpt\n2026-12-07T00:00:00Z ERROR forged\u{1b}[31m\u{202e}",
            &detectors(),
            NAME_CHARS,
        );
        assert!(!out.contains('\n') && !out.contains('\u{1b}') && !out.contains('\u{202e}'));
        assert!(out.contains("\\n") && out.contains("\\u{1b}") && out.contains("\\u{202e}"));
    }

    #[test]
    fn long_text_is_cut_to_the_bound() {
        const NAME_CHARS: usize = 128;
        let long = "m".repeat(1_000_000);
        let out = client_text(&long, &detectors(), NAME_CHARS);
        assert_eq!(out.chars().count(), NAME_CHARS);
        assert!(out.ends_with('…'));
        let escapes = "\u{7}".repeat(1000);
        let out = client_text(&escapes, &detectors(), NAME_CHARS);
        assert!(out.chars().count() <= NAME_CHARS, "{out}");
        let exact = "a".repeat(NAME_CHARS);
        assert_eq!(client_text(&exact, &detectors(), NAME_CHARS), exact);
    }
}

#[cfg(test)]
mod model_ids {
    use super::*;

    /// Model ids as providers spell them pass untouched: scrubbing one would garble records.
    #[test]
    fn real_model_ids_are_left_as_they_are() {
        let detectors = Detectors::builtin().unwrap();
        for id in [
            "openai/gpt-4o-2024-08-06",
            "anthropic/claude-3-5-sonnet-20241022",
            "bedrock/anthropic.claude-3-haiku-20240307-v1:0",
            "bedrock/arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-sonnet-20241022-v2:0",
            "gemini/gemini-1.5-pro-002",
            "cf/@cf/meta/llama-3.1-8b-instruct",
            "together/meta-llama/Llama-3.3-70B-Instruct-Turbo",
            "bedrock/amazon.titan-embed-text-v2:0",
            "local/llama3.1:8b-instruct-q4_K_M",
            "azure/my-gpt4o-deployment-2024-11-20",
        ] {
            assert_eq!(client_text(id, &detectors, NAME_CHARS), id);
        }
    }
}
