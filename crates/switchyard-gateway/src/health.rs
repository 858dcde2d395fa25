//! Circuit breakers per target (`provider/model`), shared by every request on this node: the
//! health `decide` reads, and the permits attempts take and hand back with their outcome. A
//! permit dropped without an outcome (a hedge that lost, a client that left) counts as
//! cancelled, so a half-open probe is never stuck out.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use switchyard_policy::{Breaker, BreakerConfig, Health, HealthSnapshot, Outcome, Permit};
use switchyard_protocol::ErrorKind;

/// Every target's breaker.
pub struct Breakers {
    config: BreakerConfig,
    map: Mutex<HashMap<String, Breaker>>,
}

/// What a finished attempt tells its target's breaker.
pub fn outcome_of(error: Option<ErrorKind>) -> Outcome {
    match error {
        None => Outcome::Success,
        // The request's fault, not the target's.
        Some(ErrorKind::BadRequest | ErrorKind::ContextTooLong | ErrorKind::ContentFiltered) => {
            Outcome::Cancelled
        }
        Some(_) => Outcome::Failure,
    }
}

impl Breakers {
    pub fn new(config: BreakerConfig) -> Arc<Self> {
        Arc::new(Breakers {
            config,
            map: Mutex::new(HashMap::new()),
        })
    }

    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, Breaker>) -> T) -> T {
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut map)
    }

    /// The health of every target that is not plainly closed, as `decide` reads it.
    pub fn snapshot(&self, now_ms: u64) -> HealthSnapshot {
        self.with(|map| {
            HealthSnapshot(
                map.iter()
                    .map(|(k, b)| (k.clone(), b.health(now_ms)))
                    .filter(|(_, h)| *h != Health::Closed)
                    .collect(),
            )
        })
    }

    /// Leave to send one attempt to `model`; `None` while its circuit is open.
    pub fn acquire(self: &Arc<Self>, model: &str, now_ms: u64) -> Option<PermitGuard> {
        let config = self.config;
        let permit = self.with(|map| {
            map.entry(model.to_owned())
                .or_insert_with(|| Breaker::new(config))
                .acquire(now_ms)
        })?;
        Some(PermitGuard {
            breakers: self.clone(),
            model: model.to_owned(),
            permit: Some(permit),
        })
    }

    fn record(&self, model: &str, permit: Permit, outcome: Outcome, now_ms: u64) {
        let opened = self.with(|map| {
            let breaker = map.get_mut(model)?;
            let before = breaker.health(now_ms);
            breaker.record(permit, outcome, now_ms);
            let after = breaker.health(now_ms);
            Some((before, after))
        });
        if let Some((before, after)) = opened
            && before != after
        {
            match after {
                Health::Open { retry_at_ms } => tracing::warn!(
                    target_model = model,
                    retry_at_ms,
                    "circuit opened: the target failed repeatedly"
                ),
                Health::Closed => tracing::info!(target_model = model, "circuit closed again"),
                Health::HalfOpen { .. } => {}
            }
        }
    }
}

/// An attempt's permit; hand it back with [`PermitGuard::finish`], or it counts as cancelled.
pub struct PermitGuard {
    breakers: Arc<Breakers>,
    model: String,
    permit: Option<Permit>,
}

impl PermitGuard {
    /// Records how the attempt ended.
    pub fn finish(mut self, error: Option<ErrorKind>) {
        if let Some(permit) = self.permit.take() {
            self.breakers
                .record(&self.model, permit, outcome_of(error), now_ms());
        }
    }
}

impl Drop for PermitGuard {
    fn drop(&mut self) {
        if let Some(permit) = self.permit.take() {
            self.breakers
                .record(&self.model, permit, Outcome::Cancelled, now_ms());
        }
    }
}

/// Epoch milliseconds as policy reads them (unsigned): the evidence plane's clock.
pub fn now_ms() -> u64 {
    u64::try_from(switchyard_evidence::event::now_ms()).unwrap_or(0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn failures_open_and_dropped_probes_free_the_slot() {
        let b = Breakers::new(BreakerConfig {
            failure_threshold: 2,
            cool_down_ms: 30_000,
            success_threshold: 1,
        });
        for _ in 0..2 {
            b.acquire("p/m", now_ms())
                .unwrap()
                .finish(Some(ErrorKind::Upstream5xx));
        }
        assert!(matches!(
            b.snapshot(now_ms()).get("p/m"),
            Health::Open { .. }
        ));
        // Time is an argument: the cool-down is over at `now`, without waiting for it.
        let now = now_ms() + 30_000;
        // After the cool-down one probe goes out; dropping it (a lost hedge) frees the slot.
        let probe = b.acquire("p/m", now).unwrap();
        assert!(b.acquire("p/m", now).is_none());
        drop(probe);
        b.acquire("p/m", now).unwrap().finish(None);
        assert_eq!(b.snapshot(now).get("p/m"), Health::Closed);
        // The request's own faults do not count against the target.
        for _ in 0..5 {
            b.acquire("p/m", now)
                .unwrap()
                .finish(Some(ErrorKind::BadRequest));
        }
        assert_eq!(b.snapshot(now).get("p/m"), Health::Closed);
    }
}
