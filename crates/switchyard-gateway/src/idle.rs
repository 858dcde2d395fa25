//! The bound on an upstream stream's silence: a stalled upstream ends the stream with a
//! `Timeout` error instead of holding the client forever.

use futures::Stream;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use switchyard_protocol::{ErrorKind, ProviderError, StreamEvent};
use switchyard_providers::EventStream;

/// Ends `stream` with a `Timeout` error once it has given nothing for `idle`.
pub fn with_idle_timeout(stream: EventStream, idle: Duration) -> EventStream {
    Box::pin(IdleTimeout {
        stream,
        idle,
        timer: None,
        armed: false,
        done: false,
    })
}

/// The timer is armed only when the stream has nothing ready: events that arrived together
/// pass without reading the clock or touching the timer wheel (a fresh `timeout` around every
/// event cost more than decoding the event).
struct IdleTimeout {
    stream: EventStream,
    idle: Duration,
    /// Made on the first wait and reset on each later one.
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
    /// The timer runs for the current wait.
    armed: bool,
    done: bool,
}

impl Stream for IdleTimeout {
    type Item = Result<StreamEvent, ProviderError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        match this.stream.as_mut().poll_next(cx) {
            Poll::Ready(Some(item)) => {
                this.armed = false;
                this.done = item.is_err();
                return Poll::Ready(Some(item));
            }
            Poll::Ready(None) => {
                this.done = true;
                return Poll::Ready(None);
            }
            Poll::Pending => {}
        }
        // The clock is read only when a wait starts, not on every wake-up within one (a
        // wake-up can bring part of an event and nothing to hand out).
        let timer = match &mut this.timer {
            Some(timer) if this.armed => timer,
            Some(timer) => {
                timer
                    .as_mut()
                    .reset(tokio::time::Instant::now() + this.idle);
                timer
            }
            None => this.timer.insert(Box::pin(tokio::time::sleep(this.idle))),
        };
        this.armed = true;
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => {
                this.done = true;
                Poll::Ready(Some(Err(ProviderError::new(
                    ErrorKind::Timeout,
                    format!(
                        "the upstream stream was silent for {} ms",
                        this.idle.as_millis()
                    ),
                ))))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    fn text(i: u32) -> Result<StreamEvent, ProviderError> {
        Ok(StreamEvent::Text {
            choice: 0,
            text: i.to_string(),
        })
    }

    /// Events `gap` apart, then (with `stall`) silence.
    fn paced(n: u32, gap: Duration, stall: bool) -> EventStream {
        let events = futures::stream::iter(0..n).then(move |i| async move {
            tokio::time::sleep(gap).await;
            text(i)
        });
        if stall {
            events.chain(futures::stream::pending()).boxed()
        } else {
            events.boxed()
        }
    }

    // Time is paused in these tests: when every task waits, the runtime moves the clock
    // straight to the next timer, so the bounds are exact and nothing is waited for.

    #[tokio::test(start_paused = true)]
    async fn events_within_the_bound_all_pass_and_the_end_is_kept() {
        let got: Vec<_> = with_idle_timeout(
            paced(5, Duration::from_millis(1_900), false),
            Duration::from_secs(2),
        )
        .collect()
        .await;
        assert_eq!(got, (0..5).map(text).collect::<Vec<_>>());
    }

    #[tokio::test(start_paused = true)]
    async fn buffered_events_pass_and_silence_ends_the_stream() {
        let ready = futures::stream::iter((0..3).map(text));
        let stream = ready.chain(futures::stream::pending()).boxed();
        let mut timed = with_idle_timeout(stream, Duration::from_millis(50));
        for i in 0..3 {
            assert_eq!(timed.next().await, Some(text(i)));
        }
        let silent_since = tokio::time::Instant::now();
        let Some(Err(e)) = timed.next().await else {
            panic!("a silent stream must end with an error");
        };
        assert_eq!(silent_since.elapsed(), Duration::from_millis(50));
        assert_eq!(e.kind, ErrorKind::Timeout);
        assert!(e.message.contains("silent for 50 ms"), "{}", e.message);
        assert_eq!(timed.next().await, None, "nothing after the timeout");
    }

    #[tokio::test(start_paused = true)]
    async fn the_bound_restarts_after_each_event() {
        // Each gap is under the bound and their sum well over it: a bound that ran from the
        // first wait instead of the last event would trip at the second event.
        let mut timed = with_idle_timeout(
            paced(5, Duration::from_millis(300), true),
            Duration::from_millis(400),
        );
        for i in 0..5 {
            assert_eq!(timed.next().await, Some(text(i)));
        }
        let silent_since = tokio::time::Instant::now();
        let last = timed.next().await;
        assert!(
            matches!(&last, Some(Err(e)) if e.kind == ErrorKind::Timeout),
            "{last:?}"
        );
        assert_eq!(silent_since.elapsed(), Duration::from_millis(400));
    }

    #[tokio::test]
    async fn an_upstream_error_ends_the_stream() {
        let failing = futures::stream::iter(vec![
            text(0),
            Err(ProviderError::new(ErrorKind::Transport, "reset")),
            text(1),
        ])
        .boxed();
        let got: Vec<_> = with_idle_timeout(failing, Duration::from_secs(1))
            .collect()
            .await;
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(matches!(&got[1], Err(e) if e.kind == ErrorKind::Transport));
    }
}
