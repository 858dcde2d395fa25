//! Server-sent events: frames for the front doors, and a [`Decoder`] for upstream streams
//! (the WHATWG `text/event-stream` format), fed byte chunks however the network splits them.

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

/// One dispatched event: its `event:` name (empty when the upstream sent none, which the
/// format reads as `message`) and its `data:` lines joined with `\n`. `id:` and `retry:` are
/// read and dropped: an upstream call is never resumed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Event {
    pub event: String,
    pub data: String,
}

/// The stream held bytes that are not UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotUtf8;

impl std::fmt::Display for NotUtf8 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the event stream is not valid UTF-8")
    }
}

impl std::error::Error for NotUtf8 {}

/// An incremental `text/event-stream` decoder. Lines end in `\r\n`, `\n` or `\r` (a `\r`
/// at the end of one chunk and a `\n` at the start of the next are one line end); a leading
/// byte-order mark is skipped; `:` lines are comments; a blank line dispatches the event if it
/// has data. Each byte is scanned once and consumed bytes are dropped in place, so cost is
/// linear in the stream whatever the chunking. An event still open when the stream ends is
/// discarded, as the format says.
#[derive(Debug, Default)]
pub struct Decoder {
    /// Received bytes; `buf[pos..]` is not yet consumed.
    buf: Vec<u8>,
    pos: usize,
    /// `buf[pos..scanned]` is known to hold no line ending: a long line arriving in many
    /// pieces is not searched again from its start for each piece.
    scanned: usize,
    name: String,
    data: String,
    has_data: bool,
    /// The last line ended with a `\r` at the end of the bytes seen so far.
    after_cr: bool,
    /// The first bytes have been checked for a byte-order mark.
    started: bool,
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

impl Decoder {
    /// Appends bytes received from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.scanned = self.scanned.saturating_sub(self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(bytes);
        if !self.started {
            if self.buf.len() < BOM.len() && BOM.starts_with(&self.buf) {
                return;
            }
            self.started = true;
            if self.buf.starts_with(BOM) {
                self.pos = BOM.len();
            }
        }
    }

    /// Bytes held for the event being read: unconsumed input and the data gathered so far.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.pos + self.data.len()
    }

    /// The next complete event in the bytes pushed so far, or `None` until more arrive.
    pub fn next_event(&mut self) -> Result<Option<Event>, NotUtf8> {
        if !self.started {
            return Ok(None);
        }
        loop {
            if self.after_cr && self.pos < self.buf.len() {
                self.after_cr = false;
                if self.buf[self.pos] == b'\n' {
                    self.pos += 1;
                }
            }
            let from = self.scanned.max(self.pos);
            let Some(found) = memchr::memchr2(b'\n', b'\r', &self.buf[from..]) else {
                self.scanned = self.buf.len();
                return Ok(None);
            };
            let line_end = from + found;
            let ending = self.buf[line_end];
            let line_start = self.pos;
            self.pos = line_end + 1;
            if ending == b'\r' {
                match self.buf.get(self.pos) {
                    Some(b'\n') => self.pos += 1,
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
            if let Some(event) = self.line(line_start, line_end)? {
                return Ok(Some(event));
            }
        }
    }

    /// Takes in one line (`buf[start..end]`, without its ending); a blank line may dispatch.
    fn line(&mut self, start: usize, end: usize) -> Result<Option<Event>, NotUtf8> {
        let line = &self.buf[start..end];
        if line.is_empty() {
            let name = std::mem::take(&mut self.name);
            if !std::mem::take(&mut self.has_data) {
                return Ok(None);
            }
            let mut data = std::mem::take(&mut self.data);
            data.pop();
            return Ok(Some(Event { event: name, data }));
        }
        if line[0] == b':' {
            return Ok(None);
        }
        let (field, value) = match memchr::memchr(b':', line) {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &[][..]),
        };
        match field {
            b"data" => {
                self.data
                    .push_str(std::str::from_utf8(value).map_err(|_| NotUtf8)?);
                self.data.push('\n');
                self.has_data = true;
            }
            b"event" => {
                self.name.clear();
                self.name
                    .push_str(std::str::from_utf8(value).map_err(|_| NotUtf8)?);
            }
            // `id`, `retry` and unknown fields: read, then dropped.
            _ => std::str::from_utf8(line).map(drop).map_err(|_| NotUtf8)?,
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decode_all(chunks: &[&[u8]]) -> Result<Vec<Event>, NotUtf8> {
        let mut decoder = Decoder::default();
        let mut out = Vec::new();
        for chunk in chunks {
            decoder.push(chunk);
            while let Some(event) = decoder.next_event()? {
                out.push(event);
            }
        }
        Ok(out)
    }

    fn ev(event: &str, data: &str) -> Event {
        Event {
            event: event.into(),
            data: data.into(),
        }
    }

    #[test]
    fn decodes_fields_comments_and_blank_lines() {
        let stream =
            b": keep-alive\n\nevent: ping\ndata: {}\n\ndata:a\ndata:  b\nid: 7\nretry: 10\n\n\
data\n\nevent: x\n\ndata: [DONE]\n\n";
        assert_eq!(
            decode_all(&[stream]).unwrap(),
            vec![
                ev("ping", "{}"),
                ev("", "a\n b"),
                ev("", ""),
                // `event: x` with no data dispatches nothing; its name does not leak on.
                ev("", "[DONE]"),
            ]
        );
    }

    #[test]
    fn every_line_ending_and_a_bom() {
        let stream = b"\xEF\xBB\xBFdata: 1\r\n\r\ndata: 2\r\rdata: 3\n\n";
        let want = vec![ev("", "1"), ev("", "2"), ev("", "3")];
        assert_eq!(decode_all(&[stream]).unwrap(), want);
        // The BOM split across chunks, and a CRLF split between chunks.
        let split: [&[u8]; 5] = [
            b"\xEF",
            b"\xBB\xBFdata: 1\r",
            b"\n\r",
            b"\ndata: 2\r\r",
            b"data: 3\n\n",
        ];
        assert_eq!(decode_all(&split).unwrap(), want);
    }

    #[test]
    fn a_long_line_in_many_pieces_is_one_event() {
        let text = "x".repeat(50_000);
        let body = format!("data: {text}\r\n\r\n");
        let pieces: Vec<&[u8]> = body.as_bytes().chunks(7).collect();
        assert_eq!(decode_all(&pieces).unwrap(), vec![ev("", &text)]);
    }

    #[test]
    fn an_open_event_at_the_end_is_not_dispatched() {
        assert_eq!(
            decode_all(&[b"data: 1\n\ndata: 2\n"]).unwrap(),
            vec![ev("", "1")]
        );
    }

    #[test]
    fn bytes_that_are_not_utf8_are_an_error() {
        assert_eq!(decode_all(&[b"data: \xFF\xFE\n\n"]), Err(NotUtf8));
        // A multi-byte character split between chunks is fine.
        let split: [&[u8]; 2] = [b"data: \xC3", b"\xA9\n\n"];
        assert_eq!(decode_all(&split).unwrap(), vec![ev("", "\u{e9}")]);
    }

    proptest! {
        /// However the bytes are split, the same events come out.
        #[test]
        fn chunking_does_not_change_the_events(
            cuts in proptest::collection::vec(0usize..200, 0..12),
        ) {
            let stream: &[u8] = b"event: message_start\r\ndata: {\"a\":1}\r\n\r\n: c\n\
    data: x\rdata: y\r\r\xEF\xBB\xBFdata: \xC3\xA9\n\ndata: [DONE]\n\n";
            let whole = decode_all(&[stream]).unwrap();
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (stream.len() + 1)).collect();
            cuts.sort_unstable();
            let mut chunks = Vec::new();
            let mut last = 0;
            for cut in cuts {
                chunks.push(&stream[last..cut]);
                last = cut;
            }
            chunks.push(&stream[last..]);
            prop_assert_eq!(decode_all(&chunks).unwrap(), whole);
        }
    }

    #[test]
    fn frames_events_and_multiline_data() {
        assert_eq!(frame(None, "{}"), "data: {}\n\n");
        assert_eq!(
            frame(Some("ping"), "a\nb"),
            "event: ping\ndata: a\ndata: b\n\n"
        );
    }
}
