//! Counting one group's outcomes and attempts into its [`Figures`], and nearest-rank
//! percentiles. Pure arithmetic: no store, no clock.

use super::{Figures, Percentiles};
use serde::Deserialize;
use std::collections::BTreeMap;

/// The facts of an outcome event the report reads (the gateway writes more).
#[derive(Debug, Clone, Deserialize)]
pub(super) struct OutcomeFacts {
    pub status: u16,
    #[serde(default)]
    pub route_class: Option<String>,
    /// `provider/model` of the target that served or failed last.
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub attempts: u64,
    #[serde(default)]
    pub latency_ms: Option<f64>,
    #[serde(default)]
    pub ttft_ms: Option<f64>,
    #[serde(default)]
    pub usage: Option<UsageFacts>,
    #[serde(default)]
    pub cost_usd: Option<f64>,
    #[serde(default)]
    pub error_kind: Option<String>,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub abandoned: bool,
    /// `measured` or `estimated` (absent in events older than the estimate).
    #[serde(default)]
    pub usage_source: Option<String>,
    /// Why it has no cost, when the model that served it has no price.
    #[serde(default)]
    pub unpriced: Option<String>,
}

/// Token counts of an outcome.
#[derive(Debug, Clone, Default, Deserialize)]
pub(super) struct UsageFacts {
    #[serde(default)]
    pub input_tokens: u64,
    #[serde(default)]
    pub output_tokens: u64,
}

/// The facts of an attempt event the report reads.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct AttemptFacts {
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub ok: bool,
    #[serde(default)]
    pub error_kind: Option<String>,
}

/// Running counts for one group.
#[derive(Debug, Default)]
pub(super) struct Tally {
    requests: u64,
    successes: u64,
    errors: u64,
    abandoned: u64,
    errors_by_kind: BTreeMap<String, u64>,
    retries_on_success: u64,
    attempts: u64,
    attempt_errors: BTreeMap<String, u64>,
    ttft: Vec<f64>,
    latency: Vec<f64>,
    cost_usd: f64,
    estimated: u64,
    estimated_cost_usd: f64,
    unpriced: u64,
    input_tokens: u64,
    output_tokens: u64,
}

impl Tally {
    /// Counts one request's outcome.
    pub fn outcome(&mut self, o: &OutcomeFacts) {
        self.requests += 1;
        let failed = o.status >= 400 || o.error_kind.is_some();
        if failed {
            self.errors += 1;
            let kind = o
                .error_kind
                .clone()
                .or_else(|| o.code.clone())
                .unwrap_or_else(|| format!("http_{}", o.status));
            *self.errors_by_kind.entry(kind).or_default() += 1;
        } else if o.abandoned {
            self.abandoned += 1;
        } else {
            self.successes += 1;
            self.retries_on_success += o.attempts.saturating_sub(1);
            if let Some(ms) = o.latency_ms.filter(|v| v.is_finite()) {
                self.latency.push(ms);
            }
        }
        if let Some(ms) = o.ttft_ms.filter(|v| v.is_finite()) {
            self.ttft.push(ms);
        }
        if o.unpriced.is_some() {
            self.unpriced += 1;
        }
        let estimated = o.usage_source.as_deref() == Some("estimated");
        if estimated {
            self.estimated += 1;
        }
        if let Some(cost) = o.cost_usd.filter(|v| v.is_finite()) {
            self.cost_usd += cost;
            if estimated {
                self.estimated_cost_usd += cost;
            }
        }
        if let Some(u) = &o.usage {
            self.input_tokens += u.input_tokens;
            self.output_tokens += u.output_tokens;
        }
    }

    /// Counts one upstream attempt.
    pub fn attempt(&mut self, a: &AttemptFacts) {
        self.attempts += 1;
        if !a.ok || a.error_kind.is_some() {
            let kind = a.error_kind.clone().unwrap_or_else(|| "unknown".to_owned());
            *self.attempt_errors.entry(kind).or_default() += 1;
        }
    }

    /// The group's figures.
    pub fn figures(self) -> Figures {
        let settled = self.successes + self.errors;
        Figures {
            requests: self.requests,
            successes: self.successes,
            errors: self.errors,
            abandoned: self.abandoned,
            error_rate: ratio(self.errors, self.requests),
            abandoned_ratio: ratio(self.abandoned, self.requests),
            success_rate: ratio(self.successes, settled),
            errors_by_kind: self.errors_by_kind,
            retries_per_success: ratio(self.retries_on_success, self.successes),
            attempts: self.attempts,
            attempt_errors: self.attempt_errors,
            ttft_ms: percentiles(self.ttft),
            latency_ms: percentiles(self.latency),
            cost_usd: self.cost_usd,
            estimated: self.estimated,
            estimated_cost_usd: self.estimated_cost_usd,
            unpriced: self.unpriced,
            input_tokens: self.input_tokens,
            output_tokens: self.output_tokens,
        }
    }
}

/// `part / whole`, or `None` when there is no whole.
fn ratio(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// p50, p95 and p99 of `values` by nearest rank.
pub(super) fn percentiles(mut values: Vec<f64>) -> Percentiles {
    values.sort_by(f64::total_cmp);
    Percentiles {
        samples: values.len() as u64,
        p50: nearest_rank(&values, 50),
        p95: nearest_rank(&values, 95),
        p99: nearest_rank(&values, 99),
    }
}

/// The value at rank ⌈p/100 · n⌉ of sorted `values`, `None` when empty. Integer arithmetic, so
/// ranks fall exactly where the definition puts them.
fn nearest_rank(sorted: &[f64], p: usize) -> Option<f64> {
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_picks_observed_values() {
        let p = percentiles((1..=100).rev().map(f64::from).collect());
        assert_eq!((p.p50, p.p95, p.p99), (Some(50.0), Some(95.0), Some(99.0)));
        let p = percentiles(vec![7.0]);
        assert_eq!((p.samples, p.p50, p.p99), (1, Some(7.0), Some(7.0)));
        // n = 10: ranks 5, 10, 10.
        let p = percentiles((1..=10).map(f64::from).collect());
        assert_eq!((p.p50, p.p95, p.p99), (Some(5.0), Some(10.0), Some(10.0)));
        let p = percentiles(Vec::new());
        assert_eq!(p, Percentiles::default());
    }

    #[test]
    fn no_division_by_zero() {
        let f = Tally::default().figures();
        assert_eq!(f.error_rate, None);
        assert_eq!(f.success_rate, None);
        assert_eq!(f.retries_per_success, None);
    }
}
