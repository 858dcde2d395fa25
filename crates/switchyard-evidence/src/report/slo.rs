//! Service-level objectives per route class ("latency-critical: p95 TTFT < 800 ms, 99.5%
//! success") and their verdicts against a class's measured figures. Judging never guesses: a
//! figure with no samples gives `no_data`, not `met`.

use super::ClassReport;
use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// The objectives declared for one route class. Latency bounds are strict (`<`); the success
/// rate is a fraction in (0, 1] and is met when the measured rate is at least it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slo {
    pub class: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttft_p95_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_p95_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_rate: Option<f64>,
}

/// An SLO that cannot be judged as written.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SloError {
    #[error(
        "SLO \"{0}\" has no class: write CLASS:OBJECTIVE=VALUE,…, e.g. latency-critical:ttft_p95_ms=800,success_rate=99.5%"
    )]
    NoClass(String),
    #[error("SLO for {0} declares no objective: give ttft_p95_ms, latency_p95_ms or success_rate")]
    Empty(String),
    #[error("unknown SLO objective \"{0}\"; known: ttft_p95_ms, latency_p95_ms, success_rate")]
    UnknownObjective(String),
    #[error("SLO objective {objective} = \"{value}\" is not a number")]
    NotANumber { objective: String, value: String },
    #[error("SLO objective {objective} = {value} is out of range: {expected}")]
    OutOfRange {
        objective: &'static str,
        value: f64,
        expected: &'static str,
    },
}

impl Slo {
    /// Checks that every bound is positive and finite and the success rate is in (0, 1].
    pub fn validate(&self) -> Result<(), SloError> {
        if self.class.trim().is_empty() {
            return Err(SloError::NoClass(String::new()));
        }
        if self.objectives().is_empty() {
            return Err(SloError::Empty(self.class.clone()));
        }
        for (objective, value) in self.objectives() {
            let (ok, expected) = match objective {
                Objective::SuccessRate => (value > 0.0 && value <= 1.0, "a fraction in (0, 1]"),
                _ => (value.is_finite() && value > 0.0, "milliseconds above 0"),
            };
            if !ok {
                return Err(SloError::OutOfRange {
                    objective: objective.as_str(),
                    value,
                    expected,
                });
            }
        }
        Ok(())
    }

    /// The declared objectives with their targets, in a fixed order.
    pub fn objectives(&self) -> Vec<(Objective, f64)> {
        [
            (Objective::TtftP95Ms, self.ttft_p95_ms),
            (Objective::LatencyP95Ms, self.latency_p95_ms),
            (Objective::SuccessRate, self.success_rate),
        ]
        .into_iter()
        .filter_map(|(o, v)| v.map(|v| (o, v)))
        .collect()
    }

    /// Judges this SLO against its class's figures (`None` when the class had no requests).
    pub fn judge(&self, class: Option<&ClassReport>) -> SloResult {
        let objectives: Vec<ObjectiveResult> = self
            .objectives()
            .into_iter()
            .map(|(objective, target)| {
                let measured = class.and_then(|c| objective.measure(c));
                let verdict = match measured {
                    None => Verdict::NoData,
                    Some(m) if objective.met(m, target) => Verdict::Met,
                    Some(_) => Verdict::NotMet,
                };
                ObjectiveResult {
                    objective,
                    target,
                    measured,
                    verdict,
                }
            })
            .collect();
        let verdict = if objectives.iter().any(|o| o.verdict == Verdict::NotMet) {
            Verdict::NotMet
        } else if objectives.iter().all(|o| o.verdict == Verdict::Met) {
            Verdict::Met
        } else {
            Verdict::NoData
        };
        SloResult {
            class: self.class.clone(),
            verdict,
            objectives,
        }
    }
}

/// Parses `CLASS:OBJECTIVE=VALUE[,OBJECTIVE=VALUE…]`, as a `--slo` flag gives it:
/// `latency-critical:ttft_p95_ms=800,success_rate=99.5%` (a success rate may be a fraction or a
/// percentage with `%`).
impl FromStr for Slo {
    type Err = SloError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (class, list) = s
            .split_once(':')
            .filter(|(c, _)| !c.trim().is_empty())
            .ok_or_else(|| SloError::NoClass(s.to_owned()))?;
        let mut slo = Slo {
            class: class.trim().to_owned(),
            ttft_p95_ms: None,
            latency_p95_ms: None,
            success_rate: None,
        };
        for item in list.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (name, value) = item
                .split_once('=')
                .ok_or_else(|| SloError::UnknownObjective(item.to_owned()))?;
            let (name, value) = (name.trim(), value.trim());
            let number = |text: &str| {
                text.trim()
                    .parse::<f64>()
                    .map_err(|_| SloError::NotANumber {
                        objective: name.to_owned(),
                        value: value.to_owned(),
                    })
            };
            match name {
                "ttft_p95_ms" => slo.ttft_p95_ms = Some(number(value)?),
                "latency_p95_ms" => slo.latency_p95_ms = Some(number(value)?),
                "success_rate" => {
                    slo.success_rate = Some(match value.strip_suffix('%') {
                        Some(percent) => number(percent)? / 100.0,
                        None => number(value)?,
                    })
                }
                other => return Err(SloError::UnknownObjective(other.to_owned())),
            }
        }
        slo.validate()?;
        Ok(slo)
    }
}

/// One measurable objective.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    /// p95 time to first token, ms, strictly below the target.
    TtftP95Ms,
    /// p95 latency of successes, ms, strictly below the target.
    LatencyP95Ms,
    /// successes / (successes + errors), at least the target.
    SuccessRate,
}

impl Objective {
    /// The objective's name in flags, config and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Objective::TtftP95Ms => "ttft_p95_ms",
            Objective::LatencyP95Ms => "latency_p95_ms",
            Objective::SuccessRate => "success_rate",
        }
    }

    fn measure(self, class: &ClassReport) -> Option<f64> {
        match self {
            Objective::TtftP95Ms => class.totals.ttft_ms.p95,
            Objective::LatencyP95Ms => class.totals.latency_ms.p95,
            Objective::SuccessRate => class.totals.success_rate,
        }
    }

    fn met(self, measured: f64, target: f64) -> bool {
        match self {
            Objective::TtftP95Ms | Objective::LatencyP95Ms => measured < target,
            Objective::SuccessRate => measured >= target,
        }
    }
}

/// Whether an objective (or a whole SLO) holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Met,
    NotMet,
    /// Nothing was measured: no requests, or none with the figure (no streams for TTFT).
    NoData,
}

impl Verdict {
    /// How the table writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Met => "met",
            Verdict::NotMet => "NOT MET",
            Verdict::NoData => "no data",
        }
    }
}

/// One SLO's verdict: not met if any objective is not met, met if all are, else no data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SloResult {
    pub class: String,
    pub verdict: Verdict,
    pub objectives: Vec<ObjectiveResult>,
}

/// One objective: its target, what was measured, and the verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectiveResult {
    pub objective: Objective,
    pub target: f64,
    pub measured: Option<f64>,
    pub verdict: Verdict,
}
