//! Requests with the same labels land on the same series, whatever handles were kept between
//! them; a new label value starts a new series; series a request does not touch stay absent.

use std::time::Duration;
use switchyard_evidence::telemetry::{self, Observation};
use switchyard_protocol::Usage;

fn observation(status: u16, tenant: &str) -> Observation<'_> {
    Observation {
        operation: "chat",
        route_class: "latency-critical",
        tenant,
        key: "key_a",
        request_model: "fast",
        provider: Some("mock/small"),
        response_model: Some("small"),
        status,
        error_type: None,
        duration: Duration::from_millis(3),
        ttft: None,
        usage: None,
        cost_usd: None,
        attempts: 1,
        abandoned: false,
        unpriced: false,
    }
}

/// The sample line of `metric` whose labels include every one of `labels`.
fn sample(text: &str, metric: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|l| l.starts_with(&format!("{metric}{{")))
        .find(|l| labels.iter().all(|want| l.contains(want)))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[test]
fn repeated_labels_share_series_and_new_ones_start_their_own() {
    let handle = telemetry::install().expect("recorder");
    for _ in 0..3 {
        telemetry::observe(&observation(200, "acme"));
    }
    telemetry::observe(&observation(429, "acme"));
    telemetry::observe(&observation(200, "globex"));
    let text = handle.render();
    let ok = ["tenant=\"acme\"", "status_code=\"200\""];
    assert_eq!(
        sample(&text, "switchyard_requests", &ok),
        Some(3.0),
        "{text}"
    );
    let limited = ["tenant=\"acme\"", "status_code=\"429\""];
    assert_eq!(
        sample(&text, "switchyard_requests", &limited),
        Some(1.0),
        "{text}"
    );
    let other = ["tenant=\"globex\"", "status_code=\"200\""];
    assert_eq!(
        sample(&text, "switchyard_requests", &other),
        Some(1.0),
        "{text}"
    );
    // The same route, seen by all five requests.
    assert_eq!(
        sample(&text, "switchyard_attempts", &[]),
        Some(5.0),
        "{text}"
    );
    // No request was abandoned, streamed or priced: those series were never registered.
    for absent in [
        "switchyard_abandoned_requests",
        "gen_ai_server_time_to_first_token",
        "switchyard_cost_microusd",
    ] {
        assert!(!text.contains(absent), "{absent} in {text}");
    }

    // A later request on the same labels that did stream, priced and with usage, registers
    // them then, on the cached label set.
    let mut rich = observation(200, "acme");
    rich.ttft = Some(Duration::from_millis(1));
    rich.usage = Some(Usage {
        input_tokens: 7,
        output_tokens: 5,
        ..Default::default()
    });
    rich.cost_usd = Some(0.000_25);
    rich.attempts = 2;
    telemetry::observe(&rich);
    let text = handle.render();
    assert_eq!(
        sample(&text, "switchyard_requests", &ok),
        Some(4.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "switchyard_cost_microusd", &["key=\"key_a\""]),
        Some(250.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "gen_ai_server_time_to_first_token_count", &[]),
        Some(1.0),
        "{text}"
    );
    let input = ["token_type=\"input\""];
    assert_eq!(
        sample(&text, "gen_ai_client_token_usage_sum", &input),
        Some(7.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "switchyard_retries_on_success", &[]),
        Some(1.0),
        "{text}"
    );
    // Every request but the 429.
    assert_eq!(
        sample(&text, "switchyard_completions", &[]),
        Some(5.0),
        "{text}"
    );
}
