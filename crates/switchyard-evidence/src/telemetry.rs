//! Metrics with OpenTelemetry GenAI names where one exists (`gen_ai.client.operation.duration`,
//! `gen_ai.client.token.usage`, time to first token) plus Switchyard's FinOps figures, rendered
//! in Prometheus text format for `GET /metrics`. Labels never hold request content.

use crate::writer::LogStats;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::sync::atomic::Ordering;
use std::time::Duration;
use switchyard_protocol::Usage;

/// Metric and label names; the `gen_ai.*` ones follow the OpenTelemetry GenAI conventions.
pub mod names {
    pub const OPERATION_DURATION: &str = "gen_ai.client.operation.duration";
    pub const TOKEN_USAGE: &str = "gen_ai.client.token.usage";
    pub const TIME_TO_FIRST_TOKEN: &str = "gen_ai.server.time_to_first_token";
    pub const REQUESTS: &str = "switchyard.requests";
    pub const ATTEMPTS: &str = "switchyard.attempts";
    pub const RETRIES: &str = "switchyard.retries";
    pub const COMPLETIONS: &str = "switchyard.completions";
    /// Retries of requests that then succeeded: over `COMPLETIONS`, the report's
    /// `retries_per_success`.
    pub const RETRIES_ON_SUCCESS: &str = "switchyard.retries_on_success";
    pub const ABANDONED: &str = "switchyard.abandoned_requests";
    pub const COST_MICROUSD: &str = "switchyard.cost_microusd";
    pub const EVENT_QUEUE_DEPTH: &str = "switchyard.event_queue.depth";
    pub const EVENTS_WRITTEN: &str = "switchyard.events.written";
    /// Transactions the writer committed: events written per batch is the group-commit factor.
    pub const EVENT_BATCHES: &str = "switchyard.event_batches";
    pub const EVENT_QUEUE_FULL: &str = "switchyard.event_queue.full";
    pub const EVENTS_FAILED: &str = "switchyard.events.failed";
    pub const BUDGET_REMAINING: &str = "switchyard.budget.remaining_usd";
    /// Events held in memory because the store cannot be written.
    pub const EVENTS_HELD: &str = "switchyard.events.held";
    /// Event writes (transactions) the store refused.
    pub const EVENT_WRITE_ERRORS: &str = "switchyard.events.write_errors";
    /// 1 while the event store cannot be written (evidence-bound traffic fails closed).
    pub const EVENT_STORE_FAILING: &str = "switchyard.event_store.failing";

    pub const OPERATION: &str = "gen_ai.operation.name";
    pub const PROVIDER: &str = "gen_ai.provider.name";
    pub const REQUEST_MODEL: &str = "gen_ai.request.model";
    pub const RESPONSE_MODEL: &str = "gen_ai.response.model";
    pub const TOKEN_TYPE: &str = "gen_ai.token.type";
    pub const ERROR_TYPE: &str = "error.type";
    pub const ROUTE_CLASS: &str = "switchyard.route_class";
    pub const TENANT: &str = "switchyard.tenant";
    pub const KEY: &str = "switchyard.key";
    pub const STATUS: &str = "http.response.status_code";
    /// A budget's scope (`tenant:acme`, `key:key_…`, `class:reasoning-heavy`, `tag:team=search`).
    pub const SCOPE: &str = "scope";
}

static HANDLE: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();

/// Installs the process-wide recorder once and returns the handle that renders it.
pub fn install() -> Result<PrometheusHandle, String> {
    HANDLE
        .get_or_init(|| {
            let duration = [
                0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96,
                81.92,
            ];
            let ttft = [
                0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0,
                7.5, 10.0,
            ];
            let tokens: Vec<f64> = (0..14).map(|i| 4f64.powi(i)).collect();
            PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full(sanitize(names::OPERATION_DURATION)),
                    &duration,
                )
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full(sanitize(names::TIME_TO_FIRST_TOKEN)),
                        &ttft,
                    )
                })
                .and_then(|b| {
                    b.set_buckets_for_metric(Matcher::Full(sanitize(names::TOKEN_USAGE)), &tokens)
                })
                .map_err(|e| e.to_string())?
                .install_recorder()
                .map_err(|e| e.to_string())
        })
        .clone()
}

/// The Prometheus spelling of a dotted name.
fn sanitize(name: &str) -> String {
    name.replace('.', "_")
}

/// One finished request, as metrics see it.
#[derive(Debug, Clone)]
pub struct Observation<'a> {
    pub operation: &'a str,
    pub route_class: &'a str,
    pub tenant: &'a str,
    /// The API key's id (`key_…`), `none` for requests admitted without one.
    pub key: &'a str,
    pub request_model: &'a str,
    /// The target that served (or last failed), `provider/model`.
    pub provider: Option<&'a str>,
    pub response_model: Option<&'a str>,
    pub status: u16,
    pub error_type: Option<&'a str>,
    pub duration: Duration,
    pub ttft: Option<Duration>,
    pub usage: Option<Usage>,
    pub cost_usd: Option<f64>,
    pub attempts: usize,
    pub abandoned: bool,
}

/// Records a finished request.
pub fn observe(o: &Observation<'_>) {
    let provider = o.provider.unwrap_or("none").to_owned();
    let model = o.response_model.unwrap_or("none").to_owned();
    let base = [
        (names::OPERATION, o.operation.to_owned()),
        (names::PROVIDER, provider.clone()),
        (names::REQUEST_MODEL, o.request_model.to_owned()),
        (names::ROUTE_CLASS, o.route_class.to_owned()),
    ];
    let mut with_error = base.to_vec();
    with_error.push((names::ERROR_TYPE, o.error_type.unwrap_or("").to_owned()));
    metrics::histogram!(sanitize(names::OPERATION_DURATION), &with_error)
        .record(o.duration.as_secs_f64());
    let mut with_status = base.to_vec();
    with_status.push((names::STATUS, o.status.to_string()));
    with_status.push((names::TENANT, o.tenant.to_owned()));
    metrics::counter!(sanitize(names::REQUESTS), &with_status).increment(1);
    if let Some(ttft) = o.ttft {
        metrics::histogram!(sanitize(names::TIME_TO_FIRST_TOKEN), &base).record(ttft.as_secs_f64());
    }
    if let Some(u) = &o.usage {
        for (kind, n) in [("input", u.input_tokens), ("output", u.output_tokens)] {
            let mut labels = base.to_vec();
            labels.push((names::TOKEN_TYPE, kind.to_owned()));
            labels.push((names::RESPONSE_MODEL, model.clone()));
            metrics::histogram!(sanitize(names::TOKEN_USAGE), &labels).record(n as f64);
        }
    }
    let retries = o.attempts.saturating_sub(1) as u64;
    metrics::counter!(sanitize(names::RETRIES), &base).increment(retries);
    metrics::counter!(sanitize(names::ATTEMPTS), &base).increment(o.attempts as u64);
    // A success as the report counts it: no error status, no upstream error (a stream that
    // broke after its 200), not abandoned.
    if o.status < 400 && !o.abandoned && o.error_type.is_none() {
        metrics::counter!(sanitize(names::COMPLETIONS), &base).increment(1);
        metrics::counter!(sanitize(names::RETRIES_ON_SUCCESS), &base).increment(retries);
    }
    if o.abandoned {
        metrics::counter!(sanitize(names::ABANDONED), &base).increment(1);
    }
    if let Some(cost) = o.cost_usd {
        let mut labels = base.to_vec();
        labels.push((names::TENANT, o.tenant.to_owned()));
        labels.push((names::KEY, o.key.to_owned()));
        metrics::counter!(sanitize(names::COST_MICROUSD), &labels)
            .increment((cost * 1e6).round() as u64);
    }
}

/// Publishes the event writer's counters (called when metrics are rendered).
pub fn observe_event_log(stats: &LogStats) {
    metrics::gauge!(sanitize(names::EVENT_QUEUE_DEPTH))
        .set(stats.depth.load(Ordering::Relaxed) as f64);
    metrics::counter!(sanitize(names::EVENTS_WRITTEN))
        .absolute(stats.written.load(Ordering::Relaxed));
    metrics::counter!(sanitize(names::EVENT_BATCHES))
        .absolute(stats.batches.load(Ordering::Relaxed));
    metrics::counter!(sanitize(names::EVENT_QUEUE_FULL))
        .absolute(stats.queue_full.load(Ordering::Relaxed));
    metrics::counter!(sanitize(names::EVENTS_FAILED))
        .absolute(stats.failed.load(Ordering::Relaxed));
    metrics::gauge!(sanitize(names::EVENTS_HELD)).set(stats.held.load(Ordering::Relaxed) as f64);
    metrics::counter!(sanitize(names::EVENT_WRITE_ERRORS))
        .absolute(stats.write_errors.load(Ordering::Relaxed));
    metrics::gauge!(sanitize(names::EVENT_STORE_FAILING))
        .set(f64::from(u8::from(stats.failing.load(Ordering::Relaxed))));
}

/// Publishes what is left of a budget in its current window (USD) as this node sees it.
pub fn observe_budget(scope: &str, remaining_usd: f64) {
    metrics::gauge!(sanitize(names::BUDGET_REMAINING), names::SCOPE => scope.to_owned())
        .set(remaining_usd);
}
