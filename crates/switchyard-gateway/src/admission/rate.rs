//! Per-key rates on this node: requests per minute (governor's GCRA) and tokens per minute (a
//! token bucket that settles real usage after the answer, so it may go into debt). It never
//! touches the store; state lives in memory and is dropped for keys idle for ten minutes.
//!
//! Tokens: admission only checks that the key's bucket is not empty or in debt. The pipeline
//! charges the estimated input when it has parsed the body ([`Rates::charge`]), and after the
//! answer charges the difference to the real usage or refunds the overestimate
//! ([`Rates::settle`]). A request that ends over the rate is therefore served, and the key's
//! next requests wait until the debt is paid back at `tpm` per minute.

use governor::clock::{Clock, DefaultClock, Reference};
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long an idle key's rate state is kept; after a minute unused it is full again anyway.
const IDLE: Duration = Duration::from_secs(600);

/// Which of a key's rates refused a request, and when it may try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverRate {
    /// Requests per minute.
    Requests { rpm: u32, retry_after: Duration },
    /// Tokens per minute.
    Tokens { tpm: u32, retry_after: Duration },
}

impl OverRate {
    /// At least one second: `Retry-After` is in whole seconds and 0 would invite a busy loop.
    pub fn retry_after(&self) -> Duration {
        let (OverRate::Requests { retry_after, .. } | OverRate::Tokens { retry_after, .. }) = self;
        (*retry_after).max(Duration::from_secs(1))
    }
}

/// A key's rates, from its policy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateLimits {
    /// Requests per minute.
    pub rpm: Option<u32>,
    /// Tokens per minute.
    pub tpm: Option<u32>,
}

/// The rate state of every key seen on this node.
pub struct Rates<C: Clock = DefaultClock> {
    clock: C,
    per_key: moka::sync::Cache<String, Arc<KeyRates<C>>>,
}

type RequestLimiter<C> =
    RateLimiter<NotKeyed, InMemoryState, C, NoOpMiddleware<<C as Clock>::Instant>>;

struct KeyRates<C: Clock> {
    requests: Option<(u32, RequestLimiter<C>)>,
    tokens: Option<(u32, Mutex<Bucket<C::Instant>>)>,
}

/// A token bucket holding up to `capacity`, refilled at `capacity` per minute, that charges
/// may overdraw.
#[derive(Debug)]
struct Bucket<I> {
    capacity: f64,
    level: f64,
    at: I,
}

impl<I: Reference> Bucket<I> {
    fn full(tpm: u32, now: I) -> Self {
        Bucket {
            capacity: f64::from(tpm),
            level: f64::from(tpm),
            at: now,
        }
    }

    fn refill(&mut self, now: I) {
        let elapsed: Duration = now.duration_since(self.at).into();
        if now > self.at {
            self.at = now;
        }
        self.level = (self.level + elapsed.as_secs_f64() * self.capacity / 60.0).min(self.capacity);
    }

    /// How long until the bucket holds a token again (zero when it does now).
    fn wait(&mut self, now: I) -> Duration {
        self.refill(now);
        if self.level >= 1.0 {
            return Duration::ZERO;
        }
        Duration::from_secs_f64((1.0 - self.level) * 60.0 / self.capacity)
    }

    fn add(&mut self, now: I, tokens: f64) {
        self.refill(now);
        self.level = (self.level + tokens).min(self.capacity);
    }
}

impl Rates<DefaultClock> {
    /// Rates on the real monotonic clock.
    pub fn new() -> Self {
        Rates::with_clock(DefaultClock::default())
    }
}

impl Default for Rates<DefaultClock> {
    fn default() -> Self {
        Rates::new()
    }
}

impl<C> Rates<C>
where
    C: Clock + Clone + Send + Sync + 'static,
{
    /// Rates on `clock` (a fake one in tests).
    pub fn with_clock(clock: C) -> Self {
        Rates {
            clock,
            per_key: moka::sync::Cache::builder().time_to_idle(IDLE).build(),
        }
    }

    fn state(&self, key_id: &str, limits: RateLimits) -> Arc<KeyRates<C>> {
        self.per_key.get_with_by_ref(key_id, || {
            let now = self.clock.now();
            Arc::new(KeyRates {
                requests: limits.rpm.and_then(NonZeroU32::new).map(|n| {
                    (
                        n.get(),
                        RateLimiter::direct_with_clock(Quota::per_minute(n), self.clock.clone()),
                    )
                }),
                tokens: limits
                    .tpm
                    .filter(|t| *t > 0)
                    .map(|t| (t, Mutex::new(Bucket::full(t, now)))),
            })
        })
    }

    /// Admits one request of `key_id`: counts it against the request rate, and refuses it
    /// while the token bucket is empty or in debt. A request refused for tokens is not counted
    /// against the request rate.
    pub fn admit(&self, key_id: &str, limits: RateLimits) -> Result<(), OverRate> {
        if limits == RateLimits::default() {
            return Ok(());
        }
        let state = self.state(key_id, limits);
        if let Some((tpm, bucket)) = &state.tokens {
            let wait = lock(bucket).wait(self.clock.now());
            if !wait.is_zero() {
                return Err(OverRate::Tokens {
                    tpm: *tpm,
                    retry_after: wait,
                });
            }
        }
        if let Some((rpm, limiter)) = &state.requests
            && let Err(not_until) = limiter.check()
        {
            return Err(OverRate::Requests {
                rpm: *rpm,
                retry_after: not_until.wait_time_from(self.clock.now()),
            });
        }
        Ok(())
    }

    /// Takes `tokens` from the key's bucket, into debt if need be.
    pub fn charge(&self, key_id: &str, limits: RateLimits, tokens: u64) {
        self.add(key_id, limits, -(tokens as f64));
    }

    /// Settles a request that was charged `charged` tokens and really used `used`: charges the
    /// rest, or gives back the overestimate.
    pub fn settle(&self, key_id: &str, limits: RateLimits, charged: u64, used: u64) {
        self.add(key_id, limits, charged as f64 - used as f64);
    }

    fn add(&self, key_id: &str, limits: RateLimits, tokens: f64) {
        if limits.tpm.is_none() || tokens == 0.0 {
            return;
        }
        let state = self.state(key_id, limits);
        if let Some((_, bucket)) = &state.tokens {
            lock(bucket).add(self.clock.now(), tokens);
        }
    }

    /// Forgets a key's state (after it is revoked).
    pub fn forget(&self, key_id: &str) {
        self.per_key.invalidate(key_id);
    }
}

/// The bucket, even if a thread panicked while holding it (its numbers are still usable).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use governor::clock::FakeRelativeClock;

    fn rates() -> (Rates<FakeRelativeClock>, FakeRelativeClock) {
        let clock = FakeRelativeClock::default();
        (Rates::with_clock(clock.clone()), clock)
    }

    fn rpm(n: u32) -> RateLimits {
        RateLimits {
            rpm: Some(n),
            tpm: None,
        }
    }

    fn tpm(n: u32) -> RateLimits {
        RateLimits {
            rpm: None,
            tpm: Some(n),
        }
    }

    #[test]
    fn requests_per_minute_burst_then_refill() {
        let (r, clock) = rates();
        for _ in 0..3 {
            r.admit("k", rpm(3)).unwrap();
        }
        let over = r.admit("k", rpm(3)).unwrap_err();
        assert!(matches!(over, OverRate::Requests { rpm: 3, .. }));
        assert_eq!(over.retry_after(), Duration::from_secs(20));
        clock.advance(Duration::from_secs(20));
        r.admit("k", rpm(3)).unwrap();
        assert!(r.admit("k", rpm(3)).is_err());
        // Another key has its own state; a key with no limits is never refused.
        r.admit("other", rpm(3)).unwrap();
        for _ in 0..100 {
            r.admit("free", RateLimits::default()).unwrap();
        }
    }

    #[test]
    fn tokens_go_into_debt_and_are_paid_back() {
        let (r, clock) = rates();
        r.admit("k", tpm(600)).unwrap();
        r.charge("k", tpm(600), 100);
        // Used 1,000 in the end: 400 tokens of debt, paid back at 10 a second.
        r.settle("k", tpm(600), 100, 1_000);
        let over = r.admit("k", tpm(600)).unwrap_err();
        assert!(matches!(over, OverRate::Tokens { tpm: 600, .. }));
        let wait = over.retry_after();
        assert!(
            wait > Duration::from_secs(40) && wait <= Duration::from_millis(40_200),
            "{wait:?}"
        );
        clock.advance(Duration::from_secs(40));
        assert!(r.admit("k", tpm(600)).is_err());
        clock.advance(Duration::from_secs(1));
        r.admit("k", tpm(600)).unwrap();
    }

    #[test]
    fn an_overestimate_is_refunded_up_to_capacity() {
        let (r, _clock) = rates();
        r.charge("k", tpm(100), 100);
        assert!(r.admit("k", tpm(100)).is_err());
        r.settle("k", tpm(100), 100, 10);
        r.admit("k", tpm(100)).unwrap();
        // A refund never lifts the bucket above its capacity.
        r.settle("k", tpm(100), 1_000, 0);
        r.charge("k", tpm(100), 100);
        assert!(r.admit("k", tpm(100)).is_err());
    }

    #[test]
    fn a_token_refusal_does_not_spend_a_request() {
        let (r, clock) = rates();
        let both = RateLimits {
            rpm: Some(1),
            tpm: Some(60),
        };
        r.charge("k", both, 61);
        assert!(matches!(r.admit("k", both), Err(OverRate::Tokens { .. })));
        clock.advance(Duration::from_secs(2));
        r.admit("k", both).unwrap();
        assert!(matches!(r.admit("k", both), Err(OverRate::Requests { .. })));
    }
}
