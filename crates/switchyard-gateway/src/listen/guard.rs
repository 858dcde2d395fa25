//! The connection as hyper sees it: every byte read passes through [`Framing`], and a head that
//! takes too long, a body that stalls, or a message [`Framing`] refuses is answered here, in
//! the door's error shape, before the router exists for it. The answer closes the connection:
//! after a refused head nothing that follows on the wire can be trusted to start a message.
//!
//! Never writes a byte of its own once hyper has started answering the message in progress:
//! a stalled body after the answer began only ends the connection.

use super::framing::{Framing, Phase, Refusal};
use crate::error::ApiError;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// How long a refused connection's unread bytes are drained after the answer (so the client
/// reads the answer instead of a reset), and how many at most.
const LINGER: Duration = Duration::from_secs(2);
const LINGER_BYTES: usize = 1024 * 1024;

/// The time bounds a guarded connection keeps.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// From a head's first byte to its last.
    pub head: Duration,
    /// Longest silence inside a body, while the server waits for it.
    pub body_idle: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Armed {
    None,
    Head,
    Body,
}

/// An answer being written in place of hyper's, then the connection's end.
struct Answer {
    bytes: Vec<u8>,
    written: usize,
    step: Step,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Write,
    Shutdown,
    Linger { drained: usize },
    Closed,
}

/// A client connection that refuses what its [`Framing`] refuses and times out slow clients.
pub struct Guarded<S> {
    io: S,
    framing: Framing,
    timeouts: Timeouts,
    timer: Option<Pin<Box<Sleep>>>,
    armed: Armed,
    answer: Option<Answer>,
    /// Bytes were written since the last head completed.
    responded: bool,
    /// Heads completed when `responded` was last cleared.
    heads: u64,
}

impl<S> Guarded<S> {
    pub fn new(io: S, framing: Framing, timeouts: Timeouts) -> Self {
        Self {
            io,
            framing,
            timeouts,
            timer: None,
            armed: Armed::None,
            answer: None,
            responded: false,
            heads: 0,
        }
    }

    fn arm(&mut self, armed: Armed, after: Duration) {
        let deadline = Instant::now() + after;
        match &mut self.timer {
            Some(timer) => timer.as_mut().reset(deadline),
            None => self.timer = Some(Box::pin(tokio::time::sleep_until(deadline))),
        }
        self.armed = armed;
    }

    /// Sets the timer for the phase the bytes just read left the connection in.
    fn follow(&mut self) {
        if self.framing.heads() != self.heads {
            self.heads = self.framing.heads();
            self.responded = false;
        }
        match self.framing.phase() {
            Phase::Idle | Phase::Transparent => self.armed = Armed::None,
            // A head's bound runs from its first byte: later bytes do not extend it.
            Phase::Head if self.armed == Armed::Head => {}
            Phase::Head => self.arm(Armed::Head, self.timeouts.head),
            Phase::Body => self.arm(Armed::Body, self.timeouts.body_idle),
        }
    }

    fn refuse(&mut self, refusal: Refusal) {
        let reason = match refusal.status {
            408 => "timeout",
            413 => "body_too_large",
            414 | 431 => "head_too_large",
            _ => "malformed",
        };
        metrics::counter!("switchyard_http_refused_total", "reason" => reason).increment(1);
        let error = ApiError::Refused {
            status: refusal.status,
            code: refusal.code,
            message: refusal.message,
            retry_after: None,
        };
        self.answer = Some(Answer {
            bytes: http1_answer(&error, refusal.shape),
            written: 0,
            step: Step::Write,
        });
    }

    /// What the armed timer's expiry means for the message in progress.
    fn expired(&mut self) {
        let (what, after) = match self.armed {
            Armed::Head => ("the request head did not arrive", self.timeouts.head),
            Armed::Body if !self.responded => (
                "the request body stalled: no byte arrived",
                self.timeouts.body_idle,
            ),
            // hyper has begun answering: the connection only ends.
            _ => {
                self.answer = Some(Answer {
                    bytes: Vec::new(),
                    written: 0,
                    step: Step::Shutdown,
                });
                return;
            }
        };
        self.refuse(Refusal {
            status: 408,
            code: "request_timeout",
            message: format!("{what} within {} ms", after.as_millis()),
            shape: self.framing.shape(),
        });
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Guarded<S> {
    /// Writes the answer, shuts the write side, drains what the client still sends for a
    /// moment, then reads as the end of the stream.
    fn poll_answer(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            let Some(answer) = self.answer.as_mut() else {
                return Poll::Ready(Ok(()));
            };
            match answer.step {
                Step::Write if answer.written < answer.bytes.len() => {
                    match ready!(
                        Pin::new(&mut self.io).poll_write(cx, &answer.bytes[answer.written..])
                    ) {
                        Ok(0) | Err(_) => answer.step = Step::Closed,
                        Ok(n) => answer.written += n,
                    }
                }
                Step::Write => answer.step = Step::Shutdown,
                Step::Shutdown => {
                    let _ = ready!(Pin::new(&mut self.io).poll_shutdown(cx));
                    answer.step = Step::Linger { drained: 0 };
                    let deadline = Instant::now() + LINGER;
                    match &mut self.timer {
                        Some(timer) => timer.as_mut().reset(deadline),
                        None => self.timer = Some(Box::pin(tokio::time::sleep_until(deadline))),
                    }
                }
                Step::Linger { drained } => {
                    if let Some(timer) = self.timer.as_mut()
                        && timer.as_mut().poll(cx).is_ready()
                    {
                        answer.step = Step::Closed;
                        continue;
                    }
                    let mut scratch = [0u8; 4096];
                    let mut buf = ReadBuf::new(&mut scratch);
                    match ready!(Pin::new(&mut self.io).poll_read(cx, &mut buf)) {
                        Ok(()) if !buf.filled().is_empty() && drained < LINGER_BYTES => {
                            answer.step = Step::Linger {
                                drained: drained + buf.filled().len(),
                            };
                        }
                        _ => answer.step = Step::Closed,
                    }
                }
                Step::Closed => return Poll::Ready(Ok(())),
            }
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for Guarded<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.answer.is_some() {
            return this.poll_answer(cx);
        }
        if this.framing.phase() == Phase::Transparent {
            return Pin::new(&mut this.io).poll_read(cx, buf);
        }
        let before = buf.filled().len();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let read = &buf.filled()[before..];
                if read.is_empty() {
                    return Poll::Ready(Ok(()));
                }
                match this.framing.feed(read) {
                    Ok(()) => {
                        this.follow();
                        Poll::Ready(Ok(()))
                    }
                    Err(refusal) => {
                        // hyper never sees the refused bytes; it reads the end of the stream.
                        buf.set_filled(before);
                        this.refuse(refusal);
                        this.poll_answer(cx)
                    }
                }
            }
            Poll::Pending => {
                if this.armed != Armed::None
                    && let Some(timer) = this.timer.as_mut()
                    && timer.as_mut().poll(cx).is_ready()
                {
                    this.expired();
                    return this.poll_answer(cx);
                }
                Poll::Pending
            }
            other => other,
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Guarded<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.answer.is_some() {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        this.responded = true;
        Pin::new(&mut this.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.answer.is_some() {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        this.responded = true;
        Pin::new(&mut this.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.answer.is_some() {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.answer.is_some() {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.io).poll_shutdown(cx)
    }
}

/// A whole HTTP/1.1 answer for `error` that closes the connection.
pub fn http1_answer(error: &ApiError, shape: crate::error::ErrorShape) -> Vec<u8> {
    let (status, body) = error.shaped_body(shape);
    let retry_after = error
        .retry_after()
        .map(|after| format!("retry-after: {}\r\n", after.as_secs_f64().ceil() as u64))
        .unwrap_or_default();
    let head = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{retry_after}connection: close\r\n\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        body.len()
    );
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body.as_bytes());
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A guarded server end (its reads drive the guard, as hyper's do) and the client's end.
    fn connection() -> (tokio::task::JoinHandle<Vec<u8>>, tokio::io::DuplexStream) {
        let (client, server) = tokio::io::duplex(16 * 1024);
        let timeouts = Timeouts {
            head: Duration::from_millis(300),
            body_idle: Duration::from_millis(300),
        };
        let mut guarded = Guarded::new(server, Framing::new(8192, 1024), timeouts);
        let reader = tokio::spawn(async move {
            let mut seen = Vec::new();
            let _ = guarded.read_to_end(&mut seen).await;
            seen
        });
        (reader, client)
    }

    #[tokio::test(start_paused = true)]
    async fn a_head_is_bounded_from_its_first_byte_however_often_bytes_arrive() {
        let (reader, client) = connection();
        let (mut from, mut to) = tokio::io::split(client);
        let started = tokio::time::Instant::now();
        to.write_all(b"POST /v1/messages HTTP/1.1\r\n")
            .await
            .unwrap();
        // A byte every 100 ms: each gap is under the bound, their sum is over it.
        let drip = tokio::spawn(async move {
            for byte in b"host: x\r\nx-a: 1" {
                tokio::time::sleep(Duration::from_millis(100)).await;
                if to.write_all(&[*byte]).await.is_err() {
                    break;
                }
            }
        });
        let mut answer = Vec::new();
        from.read_to_end(&mut answer).await.unwrap();
        let took = started.elapsed();
        drip.abort();
        let answer = String::from_utf8_lossy(&answer).into_owned();
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(
            answer.contains("\"type\":\"error\""),
            "Anthropic's shape: {answer}"
        );
        // Paused time: the answer came when the bound ran out, not when the bytes stopped.
        assert!(
            (Duration::from_millis(300)..Duration::from_millis(400)).contains(&took),
            "{took:?}"
        );
        // Hyper never saw a complete head.
        assert!(!reader.await.unwrap().ends_with(b"\r\n\r\n"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_is_bounded_by_its_silences_not_its_length() {
        let (reader, mut client) = connection();
        client
            .write_all(b"POST /v1/chat/completions HTTP/1.1\r\ncontent-length: 20\r\n\r\n")
            .await
            .unwrap();
        // Ten bytes 200 ms apart (2 s in all) pass; then silence past 300 ms is refused.
        for _ in 0..10 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            client.write_all(b"x").await.unwrap();
        }
        let mut answer = Vec::new();
        client.read_to_end(&mut answer).await.unwrap();
        let answer = String::from_utf8_lossy(&answer).into_owned();
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(answer.contains("request body stalled"), "{answer}");
        drop(client);
        let passed = reader.await.unwrap();
        assert!(
            passed.ends_with(b"xxxxxxxxxx"),
            "the body's bytes reached the server"
        );
    }
}
