//! The process's `tracing` subscriber, and the OTLP/HTTP trace pipeline when an endpoint is
//! configured: protobuf bodies, the SDK's batch processor, and our one pooled reqwest client
//! (each export's request runs on the tokio runtime), so no second HTTP or TLS stack is linked.
//! Only the request and attempt spans (and the gateway's own events inside them) are exported;
//! the log output never shows those spans.

use crate::config::Telemetry;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use std::time::Duration;
use tracing::{Level, Metadata};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{EnvFilter, FilterExt, filter_fn};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Longest one export may take, retries included.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest a graceful stop waits for the last spans to leave.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// A running trace pipeline; [`Exporter::shutdown`] flushes it.
pub struct Exporter {
    provider: SdkTracerProvider,
    tracer: SdkTracer,
}

impl Exporter {
    /// Starts the pipeline `telemetry` asks for; `None` when it names no endpoint. `http` is the
    /// gateway's pooled client; `runtime` runs each export's request.
    pub fn start(
        telemetry: &Telemetry,
        http: reqwest::Client,
        runtime: tokio::runtime::Handle,
    ) -> Result<Option<Exporter>, String> {
        let Some(endpoint) = &telemetry.traces_endpoint else {
            return Ok(None);
        };
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(endpoint.as_str())
            .with_timeout(EXPORT_TIMEOUT)
            .with_http_client(OnRuntime { http, runtime })
            .build()
            .map_err(|e| format!("cannot start the OTLP trace exporter: {e}"))?;
        let resource = Resource::builder()
            .with_service_name(telemetry.service_name.clone())
            .build();
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource)
            .build();
        let tracer = provider.tracer("switchyard");
        Ok(Some(Exporter { provider, tracer }))
    }

    /// Sends the spans still queued and stops the pipeline. Blocks: call it outside the async
    /// runtime (whose threads carry the last exports), after the server has stopped.
    pub fn shutdown(self) {
        if let Err(e) = self.provider.shutdown_with_timeout(FLUSH_TIMEOUT) {
            tracing::warn!(error = %e, "the last spans could not be exported");
        }
    }
}

/// Installs the process's subscriber (see [`subscriber`]).
pub fn install(exporter: Option<&Exporter>) {
    let _ = subscriber(exporter).try_init();
}

/// Logs on stderr filtered by `RUST_LOG` (default `info`), and, with an exporter, the
/// OpenTelemetry layer for the spans of [`super::TARGET`]. Without one, no layer wants those
/// spans: they are disabled at their callsites.
pub fn subscriber(exporter: Option<&Exporter>) -> Box<dyn tracing::Subscriber + Send + Sync> {
    let env = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours only for a terminal: a log file or collector gets plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let logs = tracing_subscriber::fmt::layer()
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
        .with_filter(env.and(filter_fn(|m| !m.is_span() || m.target() != super::TARGET)));
    let logged = tracing_subscriber::registry().with(logs);
    // Not an `Option` layer: an absent layer counts as one that wants every span.
    let Some(e) = exporter else {
        return Box::new(logged);
    };
    let spans = tracing_opentelemetry::layer()
        .with_tracer(e.tracer.clone())
        // Entering a span must not start it: its name (`chat {model}`) is known only after
        // the body is read. Nothing here reads the OpenTelemetry context of the thread.
        .with_context_activation(false)
        .with_filter(filter_fn(exported));
    Box::new(logged.with(spans))
}

/// What the OpenTelemetry layer sees: our spans, and the gateway's own events of level info
/// and above (they become events of the span they happen in).
fn exported(m: &Metadata<'_>) -> bool {
    if m.is_span() {
        m.target() == super::TARGET
    } else {
        m.target().starts_with("switchyard") && *m.level() <= Level::INFO
    }
}

/// The exporter's HTTP client: the gateway's pooled reqwest client, each request spawned on
/// the tokio runtime (the SDK's batch processor exports from a thread of its own).
#[derive(Debug)]
struct OnRuntime {
    http: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

#[async_trait::async_trait]
impl HttpClient for OnRuntime {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let http = self.http.clone();
        let sent = self.runtime.spawn(async move {
            match tokio::time::timeout(EXPORT_TIMEOUT, http.send_bytes(request)).await {
                Ok(response) => response,
                Err(_) => Err(format!(
                    "the collector did not answer within {} s",
                    EXPORT_TIMEOUT.as_secs()
                )
                .into()),
            }
        });
        sent.await?
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn without_an_exporter_the_spans_are_disabled() {
        tracing::subscriber::with_default(subscriber(None), || {
            let span = crate::pipeline::spans::request_span(
                crate::pipeline::DoorKind::Chat,
                "req_1",
                "dec_1",
            );
            assert!(span.is_disabled());
        });
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn with_an_exporter_the_spans_are_recorded() {
        let telemetry = Telemetry {
            traces_endpoint: Some("http://127.0.0.1:9/v1/traces".into()),
            service_name: "t".into(),
        };
        let http = switchyard_providers::http::client().unwrap();
        let exporter = Exporter::start(&telemetry, http, tokio::runtime::Handle::current())
            .unwrap()
            .unwrap();
        tracing::subscriber::with_default(subscriber(Some(&exporter)), || {
            let span = crate::pipeline::spans::request_span(
                crate::pipeline::DoorKind::Chat,
                "req_1",
                "dec_1",
            );
            assert!(!span.is_disabled());
        });
        // Nobody listens there: the flush fails quickly and says so.
        tokio::task::spawn_blocking(move || exporter.shutdown())
            .await
            .unwrap();
        let none = Telemetry::default();
        let http = switchyard_providers::http::client().unwrap();
        assert!(
            Exporter::start(&none, http, tokio::runtime::Handle::current())
                .unwrap()
                .is_none()
        );
    }
}
