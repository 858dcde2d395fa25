//! Circuit breakers per target as pure state transitions: closed, open after consecutive
//! failures (or a failed canary), half-open after a cool-down with one probe at a time. Time
//! is always an argument (`now_ms`); this module never reads the clock.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// When a breaker opens and how it closes again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreakerConfig {
    /// Consecutive failures that open the breaker (at least 1).
    pub failure_threshold: u32,
    /// How long an open breaker rejects before it lets a probe through (ms).
    pub cool_down_ms: u64,
    /// Successful probes in a row that close a half-open breaker (at least 1).
    pub success_threshold: u32,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            failure_threshold: 5,
            cool_down_ms: 30_000,
            success_threshold: 2,
        }
    }
}

/// How a target looks to `decide`: the breaker's state as of one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum Health {
    /// Normal traffic flows.
    Closed,
    /// Rejecting until `retry_at_ms`.
    Open {
        /// When a probe may go through.
        retry_at_ms: u64,
    },
    /// One probe at a time decides whether it closes.
    HalfOpen {
        /// A probe is running now, so no other request may use the target.
        probe_in_flight: bool,
    },
}

/// The health of every target with a breaker, by model id (`provider/model`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct HealthSnapshot(pub BTreeMap<String, Health>);

impl HealthSnapshot {
    /// The health of `model`; a target with no breaker yet is closed.
    pub fn get(&self, model: &str) -> Health {
        self.0.get(model).copied().unwrap_or(Health::Closed)
    }
}

/// What an attempt that held a permit ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The target answered well.
    Success,
    /// The target failed in a way its breaker counts (timeouts, 5xx, overload, transport).
    Failure,
    /// The attempt was cancelled (a hedge lost) or its failure was not the target's fault.
    Cancelled,
}

/// Leave to send one attempt, to be handed back with its outcome to [`Breaker::record`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permit {
    probe: bool,
    generation: u64,
}

impl Permit {
    /// True when this attempt is the half-open probe.
    pub fn is_probe(self) -> bool {
        self.probe
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
enum State {
    Closed { failures: u32 },
    Open { retry_at_ms: u64 },
    HalfOpen { successes: u32 },
}

/// One target's breaker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Breaker {
    config: BreakerConfig,
    state: State,
    /// Bumped on every state change, so results of permits from an earlier state are ignored.
    generation: u64,
    /// A probe permit is out (whatever its generation): no second one until it comes back.
    probe_out: bool,
}

impl Breaker {
    /// A closed breaker.
    pub fn new(config: BreakerConfig) -> Self {
        Breaker {
            config,
            state: State::Closed { failures: 0 },
            generation: 0,
            probe_out: false,
        }
    }

    /// The breaker's state as `decide` sees it at `now_ms`.
    pub fn health(&self, now_ms: u64) -> Health {
        match self.state {
            State::Closed { .. } => Health::Closed,
            State::Open { retry_at_ms } if now_ms < retry_at_ms => Health::Open { retry_at_ms },
            State::Open { .. } | State::HalfOpen { .. } => Health::HalfOpen {
                probe_in_flight: self.probe_out,
            },
        }
    }

    /// Asks to send one attempt at `now_ms`; `None` while open or while the probe is out.
    pub fn acquire(&mut self, now_ms: u64) -> Option<Permit> {
        match self.state {
            State::Closed { .. } => Some(self.permit(false)),
            State::Open { retry_at_ms } if now_ms < retry_at_ms => None,
            State::Open { .. } | State::HalfOpen { .. } if self.probe_out => None,
            State::Open { .. } => {
                self.enter(State::HalfOpen { successes: 0 });
                self.probe_out = true;
                Some(self.permit(true))
            }
            State::HalfOpen { .. } => {
                self.probe_out = true;
                Some(self.permit(true))
            }
        }
    }

    /// Records how the attempt of `permit` ended at `now_ms`.
    pub fn record(&mut self, permit: Permit, outcome: Outcome, now_ms: u64) {
        if permit.probe {
            self.probe_out = false;
        }
        if permit.generation != self.generation {
            return;
        }
        match (self.state, permit.probe, outcome) {
            (_, _, Outcome::Cancelled) => {}
            (State::Closed { .. }, false, Outcome::Success) => {
                self.state = State::Closed { failures: 0 };
            }
            (State::Closed { failures }, false, Outcome::Failure) => {
                let failures = failures.saturating_add(1);
                if failures >= self.config.failure_threshold.max(1) {
                    self.trip(now_ms);
                } else {
                    self.state = State::Closed { failures };
                }
            }
            (State::HalfOpen { successes }, true, Outcome::Success) => {
                let successes = successes.saturating_add(1);
                if successes >= self.config.success_threshold.max(1) {
                    self.enter(State::Closed { failures: 0 });
                } else {
                    self.state = State::HalfOpen { successes };
                }
            }
            (State::HalfOpen { .. }, true, Outcome::Failure) => self.trip(now_ms),
            _ => {}
        }
    }

    /// Opens the breaker at `now_ms` whatever its state: a canary failed.
    pub fn trip(&mut self, now_ms: u64) {
        self.enter(State::Open {
            retry_at_ms: now_ms.saturating_add(self.config.cool_down_ms),
        });
    }

    fn enter(&mut self, state: State) {
        self.state = state;
        self.generation = self.generation.wrapping_add(1);
    }

    fn permit(&self, probe: bool) -> Permit {
        Permit {
            probe,
            generation: self.generation,
        }
    }
}

#[cfg(test)]
mod tests;
