//! Baseline mode: the change of every figure between a saved report and a current one, per
//! route class and per target, and of every SLO objective. It compares what the two reports
//! hold; it never recomputes them.

use super::{ClassReport, Figures, Objective, ObjectiveResult, Report, Verdict};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The change from a baseline report to a current one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// The two windows, as their reports give them.
    pub baseline_window: (Option<i64>, Option<i64>),
    pub current_window: (Option<i64>, Option<i64>),
    /// Per class (its totals, `target: None`) then its targets, by name.
    pub rows: Vec<RowChange>,
    /// Per (class, objective) found in either report; when several SLOs of a class name one
    /// objective, the first one's.
    pub slos: Vec<SloChange>,
}

/// Which report holds a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    Both,
    /// Gone since the baseline.
    BaselineOnly,
    /// New since the baseline.
    CurrentOnly,
}

/// The changes of one class's totals (`target: None`) or of one target within it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowChange {
    pub class: String,
    pub target: Option<String>,
    pub presence: Presence,
    pub changes: Vec<Change>,
}

/// One figure, before and after. `delta = current − baseline` when both exist; `relative =
/// delta / |baseline|` when the baseline is also non-zero.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub figure: String,
    pub baseline: Option<f64>,
    pub current: Option<f64>,
    pub delta: Option<f64>,
    pub relative: Option<f64>,
}

impl Change {
    /// The change of `figure` from `baseline` to `current`.
    pub fn new(figure: &str, baseline: Option<f64>, current: Option<f64>) -> Change {
        let delta = baseline.zip(current).map(|(b, c)| c - b);
        let relative = baseline
            .zip(delta)
            .filter(|(b, _)| *b != 0.0)
            .map(|(b, d)| d / b.abs());
        Change {
            figure: figure.to_owned(),
            baseline,
            current,
            delta,
            relative,
        }
    }
}

/// One SLO objective's measured value and verdict, before and after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SloChange {
    pub class: String,
    pub objective: Objective,
    /// The current target, else the baseline's.
    pub target: f64,
    pub baseline_verdict: Option<Verdict>,
    pub current_verdict: Option<Verdict>,
    pub change: Change,
}

/// The figures compared, in the order shown.
pub const FIGURES: [&str; 16] = [
    "requests",
    "error_rate",
    "abandoned_ratio",
    "success_rate",
    "retries_per_success",
    "ttft_p50_ms",
    "ttft_p95_ms",
    "ttft_p99_ms",
    "latency_p50_ms",
    "latency_p95_ms",
    "latency_p99_ms",
    "attempts",
    "cost_usd",
    "estimated_cost_usd",
    "input_tokens",
    "output_tokens",
];

/// `f`'s values in [`FIGURES`] order.
fn values(f: &Figures) -> [Option<f64>; 16] {
    [
        Some(f.requests as f64),
        f.error_rate,
        f.abandoned_ratio,
        f.success_rate,
        f.retries_per_success,
        f.ttft_ms.p50,
        f.ttft_ms.p95,
        f.ttft_ms.p99,
        f.latency_ms.p50,
        f.latency_ms.p95,
        f.latency_ms.p99,
        Some(f.attempts as f64),
        Some(f.cost_usd),
        Some(f.estimated_cost_usd),
        Some(f.input_tokens as f64),
        Some(f.output_tokens as f64),
    ]
}

fn row(class: &str, target: Option<&str>, b: Option<&Figures>, c: Option<&Figures>) -> RowChange {
    let presence = match (b, c) {
        (Some(_), None) => Presence::BaselineOnly,
        (None, Some(_)) => Presence::CurrentOnly,
        _ => Presence::Both,
    };
    let (bv, cv) = (b.map(values), c.map(values));
    let changes = FIGURES
        .iter()
        .enumerate()
        .map(|(i, name)| Change::new(name, bv.and_then(|v| v[i]), cv.and_then(|v| v[i])))
        .collect();
    RowChange {
        class: class.to_owned(),
        target: target.map(str::to_owned),
        presence,
        changes,
    }
}

/// The first result for `class`'s `objective` in `r`.
fn objective_of<'a>(
    r: &'a Report,
    class: &str,
    objective: Objective,
) -> Option<&'a ObjectiveResult> {
    r.slos
        .iter()
        .filter(|s| s.class == class)
        .flat_map(|s| &s.objectives)
        .find(|o| o.objective == objective)
}

fn target_of<'a>(class: Option<&'a ClassReport>, target: &str) -> Option<&'a Figures> {
    class
        .and_then(|x| x.targets.iter().find(|t| t.target == target))
        .map(|t| &t.figures)
}

fn find<'a>(r: &'a Report, class: &str) -> Option<&'a ClassReport> {
    r.classes.iter().find(|c| c.class == class)
}

/// Compares every class and target found in either report, and every SLO objective.
pub fn compare(baseline: &Report, current: &Report) -> Comparison {
    let classes: BTreeSet<&str> = baseline
        .classes
        .iter()
        .chain(&current.classes)
        .map(|c| c.class.as_str())
        .collect();
    let mut rows = Vec::new();
    for class in classes {
        let (b, c) = (find(baseline, class), find(current, class));
        rows.push(row(class, None, b.map(|x| &x.totals), c.map(|x| &x.totals)));
        let targets: BTreeSet<&str> = b
            .into_iter()
            .chain(c)
            .flat_map(|x| x.targets.iter().map(|t| t.target.as_str()))
            .collect();
        for target in targets {
            rows.push(row(
                class,
                Some(target),
                target_of(b, target),
                target_of(c, target),
            ));
        }
    }
    let mut keys: Vec<(&str, Objective)> = Vec::new();
    for result in baseline.slos.iter().chain(&current.slos) {
        for o in &result.objectives {
            let key = (result.class.as_str(), o.objective);
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
    }
    let slos = keys
        .into_iter()
        .map(|(class, objective)| {
            let (b, c) = (
                objective_of(baseline, class, objective),
                objective_of(current, class, objective),
            );
            SloChange {
                class: class.to_owned(),
                objective,
                target: c.or(b).map(|o| o.target).unwrap_or_default(),
                baseline_verdict: b.map(|o| o.verdict),
                current_verdict: c.map(|o| o.verdict),
                change: Change::new(
                    objective.as_str(),
                    b.and_then(|o| o.measured),
                    c.and_then(|o| o.measured),
                ),
            }
        })
        .collect();
    Comparison {
        baseline_window: (baseline.since_ms, baseline.until_ms),
        current_window: (current.since_ms, current.until_ms),
        rows,
        slos,
    }
}
