//! Reads the HTTP/1 byte stream of one connection alongside hyper, to refuse what hyper would
//! refuse with an empty body (or would serve): a head over the size or header-count limit, a
//! malformed request line or header, a message with both `Content-Length` and
//! `Transfer-Encoding` (RFC 9112 §6.1), a body whose declared length is over the limit. It
//! follows each message's framing (fixed length or chunked) only to know where the next head
//! starts; it never changes a byte. When it cannot follow (an upgrade, HTTP/2, a chunked body it
//! cannot read) it steps aside and hyper alone judges the rest of the connection.

use crate::error::ErrorShape;

/// Headers a request may carry, as hyper's default.
pub const MAX_HEADERS: usize = 100;

/// Why a message is refused before the router sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    /// The door whose error shape the answer takes, as far as the head tells.
    pub shape: ErrorShape,
}

/// What the tracker expects next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Between messages: nothing of the next head has arrived.
    Idle,
    /// Part of a head has arrived.
    Head,
    /// Part of a body is still to come.
    Body,
    /// The tracker has stepped aside for the rest of the connection.
    Transparent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Head,
    Fixed(u64),
    Chunked(Chunk),
    Transparent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// Reading a chunk-size line's hex digits.
    Size {
        size: u64,
    },
    /// Skipping a chunk extension up to the line's end.
    Extension {
        size: u64,
    },
    /// After the size line's CR.
    SizeLf {
        size: u64,
    },
    Data(u64),
    DataCr,
    DataLf,
    /// Reading trailer lines; `empty` while the current line has no byte yet.
    Trailer {
        empty: bool,
    },
    TrailerLf {
        empty: bool,
    },
}

/// The framing of one connection's requests.
#[derive(Debug)]
pub struct Framing {
    state: State,
    /// The current head's bytes while it spans reads (empty when a head arrives whole).
    head: Vec<u8>,
    max_head: usize,
    max_body: u64,
    /// No message has started yet (the HTTP/2 preface can only come first).
    first: bool,
    /// The error shape of the last complete head's door.
    shape: ErrorShape,
    /// Heads completed on this connection.
    heads: u64,
}

impl Framing {
    pub fn new(max_head: usize, max_body: usize) -> Self {
        Self {
            state: State::Head,
            head: Vec::new(),
            max_head,
            max_body: u64::try_from(max_body).unwrap_or(u64::MAX),
            first: true,
            shape: ErrorShape::OpenAi,
            heads: 0,
        }
    }

    /// How many heads have completed on this connection.
    pub fn heads(&self) -> u64 {
        self.heads
    }

    /// The error shape for the message in progress: its door's, as far as it has arrived.
    pub fn shape(&self) -> ErrorShape {
        match self.state {
            State::Head => ErrorShape::of_head(&self.head),
            _ => self.shape,
        }
    }

    pub fn phase(&self) -> Phase {
        match self.state {
            State::Head if self.head.is_empty() => Phase::Idle,
            State::Head => Phase::Head,
            State::Fixed(_) | State::Chunked(_) => Phase::Body,
            State::Transparent => Phase::Transparent,
        }
    }

    /// Follows `bytes`, just read from the client. A refusal ends the connection's reading.
    pub fn feed(&mut self, mut bytes: &[u8]) -> Result<(), Refusal> {
        while !bytes.is_empty() {
            bytes = match self.state {
                State::Transparent => return Ok(()),
                State::Head => self.head_bytes(bytes)?,
                State::Fixed(left) => {
                    let take = usize::try_from(left).unwrap_or(usize::MAX).min(bytes.len());
                    let left = left - take as u64;
                    self.state = if left == 0 {
                        State::Head
                    } else {
                        State::Fixed(left)
                    };
                    &bytes[take..]
                }
                State::Chunked(chunk) => self.chunk_bytes(chunk, bytes),
            };
        }
        Ok(())
    }

    fn head_bytes<'a>(&mut self, bytes: &'a [u8]) -> Result<&'a [u8], Refusal> {
        if self.head.is_empty() {
            // Empty lines before a request line are ignored (RFC 9112 §2.2), as hyper does.
            let start = bytes
                .iter()
                .position(|b| *b != b'\r' && *b != b'\n')
                .unwrap_or(bytes.len());
            let bytes = &bytes[start..];
            if bytes.is_empty() {
                return Ok(bytes);
            }
            if self.first {
                match preface(bytes) {
                    Preface::Whole => {
                        self.state = State::Transparent;
                        return Ok(&[]);
                    }
                    Preface::Part => {
                        self.head.extend_from_slice(bytes);
                        return Ok(&[]);
                    }
                    Preface::Not => self.first = false,
                }
            }
            // The common case: the whole head in one read, parsed where it lies.
            if let Some(len) = self.parse(bytes)? {
                return Ok(&bytes[len..]);
            }
            if bytes.len() >= self.max_head {
                return Err(self.too_large(bytes));
            }
            self.head.extend_from_slice(bytes);
            return Ok(&[]);
        }
        let before = self.head.len();
        let room = self.max_head.saturating_sub(before);
        let taken = &bytes[..bytes.len().min(room)];
        self.head.extend_from_slice(taken);
        if self.first {
            match preface(&self.head) {
                Preface::Whole => {
                    self.state = State::Transparent;
                    return Ok(&[]);
                }
                Preface::Part => return Ok(&[]),
                Preface::Not => self.first = false,
            }
        }
        // A head ends with an empty line: parse again only when a line ended.
        if taken.contains(&b'\n') {
            let head = std::mem::take(&mut self.head);
            let parsed = self.parse(&head);
            match parsed {
                Ok(Some(len)) => return Ok(&bytes[len.saturating_sub(before)..]),
                Ok(None) => self.head = head,
                Err(refusal) => return Err(refusal),
            }
        }
        if self.head.len() >= self.max_head {
            return Err(self.too_large(&self.head));
        }
        Ok(&[])
    }

    fn too_large(&self, head: &[u8]) -> Refusal {
        let shape = ErrorShape::of_head(head);
        if !head.contains(&b'\n') {
            return Refusal {
                status: 414,
                code: "uri_too_long",
                message: format!(
                    "the request line is longer than the limit of {} bytes",
                    self.max_head
                ),
                shape,
            };
        }
        Refusal {
            status: 431,
            code: "request_header_fields_too_large",
            message: format!(
                "the request head is larger than the limit of {} bytes",
                self.max_head
            ),
            shape,
        }
    }

    /// Parses a head; `Some(length)` when it is complete and acceptable.
    fn parse(&mut self, bytes: &[u8]) -> Result<Option<usize>, Refusal> {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut req = httparse::Request::new(&mut headers);
        let bad = |status: u16, code: &'static str, message: String| Refusal {
            status,
            code,
            message,
            shape: ErrorShape::of_head(bytes),
        };
        let len = match req.parse(bytes) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(httparse::Error::TooManyHeaders) => {
                return Err(bad(
                    431,
                    "request_header_fields_too_large",
                    format!("the request has more than {MAX_HEADERS} headers"),
                ));
            }
            Err(e) => {
                return Err(bad(
                    400,
                    "malformed_request",
                    format!("the request head is malformed: {e}"),
                ));
            }
        };
        let path = req.path.unwrap_or("/");
        let shape = ErrorShape::of_path(path);
        let refuse = |status: u16, code: &'static str, message: String| Refusal {
            status,
            code,
            message,
            shape,
        };
        if path.parse::<http::Uri>().is_err() {
            return Err(refuse(
                400,
                "malformed_request",
                "the request target is not a valid URI".into(),
            ));
        }
        let mut length: Option<u64> = None;
        let mut chunked: Option<bool> = None;
        let mut upgrade = req.method == Some("CONNECT");
        for header in req.headers.iter() {
            if header.name.eq_ignore_ascii_case("content-length") {
                let value = std::str::from_utf8(header.value)
                    .ok()
                    .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|v| v.parse::<u64>().ok());
                match (value, length) {
                    (None, _) => {
                        return Err(refuse(
                            400,
                            "malformed_request",
                            "Content-Length is not a number".into(),
                        ));
                    }
                    (Some(v), Some(prev)) if v != prev => {
                        return Err(refuse(
                            400,
                            "malformed_request",
                            "the request has two different Content-Length values".into(),
                        ));
                    }
                    (Some(v), _) => length = Some(v),
                }
            } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
                // Only the last coding matters for framing; it must be chunked.
                let last = header.value.rsplit(|b| *b == b',').next().unwrap_or(&[]);
                chunked = Some(last.trim_ascii().eq_ignore_ascii_case(b"chunked"));
            } else if header.name.eq_ignore_ascii_case("upgrade") {
                upgrade = true;
            }
        }
        if chunked.is_some() && length.is_some() {
            return Err(refuse(
                400,
                "malformed_request",
                "the request has both Content-Length and Transfer-Encoding; send one (RFC 9112)"
                    .into(),
            ));
        }
        match chunked {
            Some(_) if req.version == Some(0) => {
                return Err(refuse(
                    400,
                    "malformed_request",
                    "HTTP/1.0 requests cannot use Transfer-Encoding".into(),
                ));
            }
            Some(false) => {
                return Err(refuse(
                    400,
                    "malformed_request",
                    "the request's Transfer-Encoding must end with chunked".into(),
                ));
            }
            _ => {}
        }
        if let Some(length) = length
            && length > self.max_body
        {
            return Err(refuse(
                413,
                "request_too_large",
                format!(
                    "request body is larger than the limit of {} bytes",
                    self.max_body
                ),
            ));
        }
        self.shape = shape;
        self.heads += 1;
        self.state = if upgrade {
            State::Transparent
        } else if chunked == Some(true) {
            State::Chunked(Chunk::Size { size: 0 })
        } else {
            match length {
                Some(n) if n > 0 => State::Fixed(n),
                _ => State::Head,
            }
        };
        Ok(Some(len))
    }

    /// Follows a chunked body; anything it cannot read hands the connection to hyper alone.
    fn chunk_bytes<'a>(&mut self, chunk: Chunk, bytes: &'a [u8]) -> &'a [u8] {
        if let Chunk::Data(left) = chunk {
            let take = usize::try_from(left).unwrap_or(usize::MAX).min(bytes.len());
            let left = left - take as u64;
            self.state = State::Chunked(if left == 0 {
                Chunk::DataCr
            } else {
                Chunk::Data(left)
            });
            return &bytes[take..];
        }
        let byte = bytes[0];
        let next = match (chunk, byte) {
            (Chunk::Size { size }, b) if b.is_ascii_hexdigit() => {
                let digit = u64::from(char::from(b).to_digit(16).unwrap_or(0));
                size.checked_mul(16)
                    .and_then(|s| s.checked_add(digit))
                    .map(|size| Chunk::Size { size })
            }
            (Chunk::Size { size }, b';' | b' ' | b'\t') => Some(Chunk::Extension { size }),
            (Chunk::Size { size } | Chunk::Extension { size }, b'\r') => {
                Some(Chunk::SizeLf { size })
            }
            (Chunk::Extension { size }, b) if b != b'\n' => Some(Chunk::Extension { size }),
            (Chunk::SizeLf { size } | Chunk::Size { size } | Chunk::Extension { size }, b'\n') => {
                Some(if size == 0 {
                    Chunk::Trailer { empty: true }
                } else {
                    Chunk::Data(size)
                })
            }
            (Chunk::DataCr, b'\r') => Some(Chunk::DataLf),
            (Chunk::DataCr | Chunk::DataLf, b'\n') => Some(Chunk::Size { size: 0 }),
            (Chunk::Trailer { empty }, b'\r') => Some(Chunk::TrailerLf { empty }),
            (Chunk::Trailer { empty: true } | Chunk::TrailerLf { empty: true }, b'\n') => {
                self.state = State::Head;
                return &bytes[1..];
            }
            (Chunk::Trailer { empty: false } | Chunk::TrailerLf { empty: false }, b'\n') => {
                Some(Chunk::Trailer { empty: true })
            }
            (Chunk::Trailer { .. }, _) => Some(Chunk::Trailer { empty: false }),
            _ => None,
        };
        self.state = next.map_or(State::Transparent, State::Chunked);
        &bytes[1..]
    }
}

enum Preface {
    Whole,
    Part,
    Not,
}

/// HTTP/2 with prior knowledge starts with this line; hyper's builder serves it, untracked.
fn preface(bytes: &[u8]) -> Preface {
    const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n";
    if bytes.starts_with(PREFACE) {
        Preface::Whole
    } else if PREFACE.starts_with(bytes) {
        Preface::Part
    } else {
        Preface::Not
    }
}

#[cfg(test)]
#[path = "framing_tests.rs"]
mod tests;
