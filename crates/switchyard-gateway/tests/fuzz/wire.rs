//! A raw HTTP/1.1 client over loopback: the request goes out byte for byte as the case says
//! (a path no URL parser would keep, a header value no `HeaderValue` accepts), one connection
//! per request, and the answer is read until the server closes.

use super::mutate::Case;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A bound on one exchange: the slowest correct answer (a refused 4 MB body, a schema cut by
/// the mock's limits) comes well within it.
const PATIENCE: Duration = Duration::from_secs(60);

pub struct Reply {
    pub status: u16,
    /// Header names lowercased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Sends `case` to `addr` (`host:port`) and reads the answer.
pub async fn exchange(addr: &str, case: &Case) -> Result<Reply, String> {
    let mut head = format!(
        "{} {} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-length: {}\r\n",
        case.method,
        case.path,
        case.body.len()
    )
    .into_bytes();
    if !case.headers.iter().any(|(n, _)| n == "content-type") {
        head.extend_from_slice(b"content-type: application/json\r\n");
    }
    for (name, value) in &case.headers {
        head.extend_from_slice(name.as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value);
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");
    let bytes = tokio::time::timeout(PATIENCE, async {
        let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        let (mut rx, mut tx) = tcp.into_split();
        // Written while the answer is read: a refusal comes before the body is all sent, and
        // the server may close without reading the rest (the write then fails; that is fine).
        let write = async {
            if tx.write_all(&head).await.is_ok() && tx.write_all(&case.body).await.is_ok() {
                let _ = tx.flush().await;
            }
        };
        let mut got = Vec::new();
        let read = rx.read_to_end(&mut got);
        let ((), read) = tokio::join!(write, read);
        match read {
            Ok(_) => Ok(got),
            // A reset after the answer arrived (the unread body makes the close a reset).
            Err(_) if !got.is_empty() => Ok(got),
            Err(e) => Err(format!("no answer: {e}")),
        }
    })
    .await
    .map_err(|_| format!("no answer within {PATIENCE:?}"))??;
    parse(&bytes, case.method == "HEAD")
}

/// Reads a status line, headers and body (fixed-length, chunked or to the close; none for a
/// HEAD request), skipping interim 1xx answers.
fn parse(mut bytes: &[u8], to_head: bool) -> Result<Reply, String> {
    loop {
        let end = find(bytes, b"\r\n\r\n").ok_or_else(|| {
            format!(
                "no complete head in {:?}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
            )
        })?;
        let head = String::from_utf8_lossy(&bytes[..end]).into_owned();
        let rest = &bytes[end + 4..];
        let mut lines = head.split("\r\n");
        let status: u16 = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("no status line in {head:?}"))?;
        if (100..200).contains(&status) {
            bytes = rest;
            continue;
        }
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let mut reply = Reply {
            status,
            headers,
            body: Vec::new(),
        };
        reply.body = if to_head || status == 204 || status == 304 {
            Vec::new()
        } else if reply
            .header("transfer-encoding")
            .is_some_and(|te| te.contains("chunked"))
        {
            dechunk(rest)?
        } else if let Some(length) = reply.header("content-length") {
            let length: usize = length.parse().map_err(|_| "bad content-length")?;
            rest.get(..length)
                .ok_or_else(|| format!("body cut short: {} of {length} bytes", rest.len()))?
                .to_vec()
        } else {
            rest.to_vec()
        };
        return Ok(reply);
    }
}

fn dechunk(mut bytes: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let line_end = find(bytes, b"\r\n").ok_or("a chunk size line is cut short")?;
        let size_text = String::from_utf8_lossy(&bytes[..line_end]);
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("bad chunk size {size_text:?}"))?;
        bytes = &bytes[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        let chunk = bytes
            .get(..size)
            .ok_or("a chunk is cut short (the stream ended without its last chunk)")?;
        out.extend_from_slice(chunk);
        bytes = bytes.get(size + 2..).unwrap_or_default();
    }
}

pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
