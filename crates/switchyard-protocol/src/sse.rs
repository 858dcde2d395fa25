//! Server-sent events framing for the front doors. Decoding of upstream streams is done with
//! `eventsource-stream` in the providers crate; this module only writes frames.

/// One SSE frame: an optional `event:` line and a `data:` payload. Multi-line payloads get one
/// `data:` line per line, as the SSE specification requires.
pub fn frame(event: Option<&str>, data: &str) -> String {
    let mut out = String::with_capacity(data.len() + 16);
    if let Some(name) = event {
        out.push_str("event: ");
        out.push_str(name);
        out.push('\n');
    }
    for line in data.split('\n') {
        out.push_str("data: ");
        out.push_str(line.strip_suffix('\r').unwrap_or(line));
        out.push('\n');
    }
    out.push('\n');
    out
}

/// The terminator of an OpenAI stream.
pub const DONE: &str = "data: [DONE]\n\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_events_and_multiline_data() {
        assert_eq!(frame(None, "{}"), "data: {}\n\n");
        assert_eq!(
            frame(Some("ping"), "a\nb"),
            "event: ping\ndata: a\ndata: b\n\n"
        );
    }
}
