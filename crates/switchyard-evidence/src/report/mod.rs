//! `switchyard report`: reliability, latency and cost figures per route class and per target,
//! computed from the outcome and attempt events in the store, with SLO verdicts and a baseline
//! comparison. It only reads events; it never writes to the store or reads request content.
//!
//! Definitions (each outcome event is one request):
//! - an **error** is an outcome with status ≥ 400, or with an upstream `error_kind` (a stream
//!   that broke after its 200 was sent); an **abandoned** request is one the client left before
//!   the end, without an error; every other request is a **success**. So
//!   `requests = successes + errors + abandoned`.
//! - `error_rate = errors / requests`, `abandoned_ratio = abandoned / requests`,
//!   `success_rate = successes / (successes + errors)`: a client leaving is neither.
//! - `retries_per_success = Σ (attempts − 1) over successes / successes`.
//! - latency percentiles are over successes; TTFT percentiles over every request that saw a
//!   first content chunk (streams; an abandoned stream counts once it had its first token).
//! - percentiles are exact, by nearest rank: the p-th of n sorted values is the value at rank
//!   ⌈p/100 · n⌉ (1-based), always an observed value, never interpolated.
//! - a figure with nothing to measure (a rate of zero requests) is `None`, shown as `-`.
//!
//! A request belongs to the route class its outcome names (`route_class`, else `default`) and
//! to the target that served it or failed last (`model`, which is `provider/model`, else
//! `none`). Attempts are counted at the target they tried, in their request's class.

mod compare;
mod render;
mod slo;
mod tally;

pub use compare::{Change, Comparison, Presence, RowChange, SloChange, compare};
pub use render::{render_comparison, render_table};
pub use slo::{Objective, ObjectiveResult, Slo, SloError, SloResult, Verdict};

use crate::event::{Event, EventKind};
use crate::store::{EventStore, Position, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use tally::{AttemptFacts, OutcomeFacts, Tally};

/// The route class of outcomes that name none.
pub const DEFAULT_CLASS: &str = "default";
/// The target of outcomes that reached no target (refused before routing).
pub const NO_TARGET: &str = "none";
/// The version of the report's JSON shape, kept in baseline files.
pub const FORMAT: u32 = 1;
/// Events read per store query.
const PAGE: u32 = 1000;

/// What to report on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReportQuery {
    /// Outcomes at or after this time (ms since the epoch); from the first when `None`.
    pub since_ms: Option<i64>,
    /// Outcomes strictly before this time; up to the last when `None`.
    pub until_ms: Option<i64>,
    /// The objectives to judge, per route class.
    #[serde(default)]
    pub slos: Vec<Slo>,
}

/// The figures of one window: per route class, its totals and its targets, and SLO verdicts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// [`FORMAT`] of the code that wrote it.
    pub format: u32,
    /// The query's window, as asked.
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    /// Time of the first and last outcome counted; `None` when there were none.
    pub first_ts_ms: Option<i64>,
    pub last_ts_ms: Option<i64>,
    /// Route classes by name.
    pub classes: Vec<ClassReport>,
    /// One verdict per declared SLO, in the query's order.
    pub slos: Vec<SloResult>,
}

/// One route class: all its requests, then split by target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassReport {
    pub class: String,
    /// Every request of the class, whatever its target.
    pub totals: Figures,
    /// Targets by name, including those only tried (no outcome of their own).
    pub targets: Vec<TargetReport>,
}

/// One target (`provider/model`) within a route class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetReport {
    pub target: String,
    pub figures: Figures,
}

/// The figures of a group of requests; see the module documentation for definitions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    /// Outcomes: `requests = successes + errors + abandoned`.
    pub requests: u64,
    pub successes: u64,
    pub errors: u64,
    pub abandoned: u64,
    pub error_rate: Option<f64>,
    pub abandoned_ratio: Option<f64>,
    pub success_rate: Option<f64>,
    /// Errors by their upstream `error_kind`, else the client error `code`, else `http_<status>`.
    pub errors_by_kind: BTreeMap<String, u64>,
    pub retries_per_success: Option<f64>,
    /// Upstream attempts made at this group's target(s), and those that failed, by error kind.
    pub attempts: u64,
    pub attempt_errors: BTreeMap<String, u64>,
    pub ttft_ms: Percentiles,
    pub latency_ms: Percentiles,
    /// Σ `cost_usd` (requests without a price add nothing).
    pub cost_usd: f64,
    /// Requests whose usage the gateway counted because the provider reported none, and the
    /// part of `cost_usd` they make: the rest was measured.
    #[serde(default)]
    pub estimated: u64,
    #[serde(default)]
    pub estimated_cost_usd: f64,
    /// Requests served by a model nothing prices: in no cost above, never counted as free.
    #[serde(default)]
    pub unpriced: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
}

/// Nearest-rank percentiles of a sample; `None` when it is empty.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    /// How many values were measured.
    pub samples: u64,
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
}

/// Reads the outcomes in the query's window, and the attempts of those requests, and computes
/// the report. Fails only when the store does, or holds an outcome that is not JSON.
pub async fn build(store: &dyn EventStore, query: &ReportQuery) -> Result<Report, StoreError> {
    let since = query.since_ms.unwrap_or(i64::MIN);
    let until = query.until_ms.unwrap_or(i64::MAX);
    let mut groups: BTreeMap<String, (Tally, BTreeMap<String, Tally>)> = BTreeMap::new();
    let mut class_of: HashMap<String, String> = HashMap::new();
    let (mut first, mut last) = (None, None);
    // An attempt is recorded after its request started and before its outcome.
    let mut earliest_start = since;
    let mut after: Option<Position> = None;
    loop {
        let page = store
            .by_kind(EventKind::Outcome, since, until, after.as_ref(), PAGE)
            .await?;
        let Some(tail) = page.last() else { break };
        after = Some(Position::of(tail));
        for event in &page {
            let facts: OutcomeFacts = parse(event)?;
            first = first.or(Some(event.ts_ms));
            last = Some(event.ts_ms);
            let started = event
                .ts_ms
                .saturating_sub(facts.latency_ms.unwrap_or(0.0).ceil() as i64);
            earliest_start = earliest_start.min(started.saturating_sub(1));
            let class = facts
                .route_class
                .clone()
                .unwrap_or_else(|| DEFAULT_CLASS.to_owned());
            let target = facts.model.clone().unwrap_or_else(|| NO_TARGET.to_owned());
            if let Some(id) = &event.request_id {
                class_of.insert(id.clone(), class.clone());
            }
            let (totals, targets) = groups.entry(class).or_default();
            totals.outcome(&facts);
            targets.entry(target).or_default().outcome(&facts);
        }
    }
    let mut after: Option<Position> = None;
    loop {
        let page = store
            .by_kind(
                EventKind::Attempt,
                earliest_start,
                until,
                after.as_ref(),
                PAGE,
            )
            .await?;
        let Some(tail) = page.last() else { break };
        after = Some(Position::of(tail));
        for event in &page {
            let Some(class) = event.request_id.as_ref().and_then(|id| class_of.get(id)) else {
                continue;
            };
            let facts: AttemptFacts = parse(event)?;
            let target = facts.model.clone().unwrap_or_else(|| NO_TARGET.to_owned());
            let (totals, targets) = groups.entry(class.clone()).or_default();
            totals.attempt(&facts);
            targets.entry(target).or_default().attempt(&facts);
        }
    }
    let classes: Vec<ClassReport> = groups
        .into_iter()
        .map(|(class, (totals, targets))| ClassReport {
            class,
            totals: totals.figures(),
            targets: targets
                .into_iter()
                .map(|(target, t)| TargetReport {
                    target,
                    figures: t.figures(),
                })
                .collect(),
        })
        .collect();
    let slos = query
        .slos
        .iter()
        .map(|s| s.judge(classes.iter().find(|c| c.class == s.class)))
        .collect();
    Ok(Report {
        format: FORMAT,
        since_ms: query.since_ms,
        until_ms: query.until_ms,
        first_ts_ms: first,
        last_ts_ms: last,
        classes,
        slos,
    })
}

/// An event's payload as `T`; a payload that is not what its kind promises is a corrupt row.
fn parse<T: serde::de::DeserializeOwned>(event: &Event) -> Result<T, StoreError> {
    serde_json::from_str(&event.payload).map_err(|e| {
        StoreError::Corrupt(format!(
            "{}#{}: {} payload does not read: {e}",
            event.stream, event.seq, event.kind
        ))
    })
}
