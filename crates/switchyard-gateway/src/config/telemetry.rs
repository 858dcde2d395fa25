//! The `[telemetry]` section: where traces are exported (OTLP over HTTP) and under which
//! service name. Without an endpoint nothing is exported and no exporter runs. An endpoint may
//! not carry credentials (collector headers come from `OTEL_EXPORTER_OTLP_HEADERS`), and an
//! error about it never repeats its value.

use super::checker::Checker;
use super::raw::RawTelemetry;

/// The base endpoint's environment fallback, as the OpenTelemetry specification names it.
pub const ENV_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
/// The traces-only endpoint, used as it is (no path appended).
pub const ENV_TRACES_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
/// The service name's environment fallback.
pub const ENV_SERVICE_NAME: &str = "OTEL_SERVICE_NAME";
/// The path OTLP/HTTP collectors take traces on, under the base endpoint.
const TRACES_PATH: &str = "/v1/traces";

/// Where traces go, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Telemetry {
    /// The full OTLP/HTTP traces URL (`…/v1/traces`); `None` exports nothing. Read at start:
    /// changing it takes a restart.
    pub traces_endpoint: Option<String>,
    pub service_name: String,
}

impl Default for Telemetry {
    fn default() -> Self {
        Self {
            traces_endpoint: None,
            service_name: "switchyard".into(),
        }
    }
}

/// Where an endpoint came from, for error messages.
enum Source {
    /// The config's `telemetry.otlp_endpoint`: a base URL.
    File,
    /// An environment variable: a base URL, or the whole traces URL.
    Env(&'static str),
}

/// Validates `[telemetry]`: the config's endpoint, else `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`
/// (whole URL), else `OTEL_EXPORTER_OTLP_ENDPOINT` (base URL); the config's service name, else
/// `OTEL_SERVICE_NAME`, else `switchyard`.
pub(super) fn telemetry(c: &mut Checker<'_>, raw: &RawTelemetry) -> Telemetry {
    let mut out = Telemetry::default();
    let found = match &raw.otlp_endpoint {
        Some(v) => c
            .expand(v, "telemetry.otlp_endpoint")
            .map(|text| (text, Source::File, v.span())),
        None => None,
    };
    let found = found.filter(|(text, _, _)| !text.is_empty()).or_else(|| {
        [ENV_TRACES_ENDPOINT, ENV_ENDPOINT]
            .into_iter()
            .find_map(|var| {
                (c.env)(var)
                    .filter(|v| !v.is_empty())
                    .map(|v| (v, Source::Env(var), 0..0))
            })
    });
    if let Some((text, source, span)) = found {
        let whole = matches!(source, Source::Env(ENV_TRACES_ENDPOINT));
        match traces_url(&text, whole) {
            Ok(url) => out.traces_endpoint = Some(url),
            Err(problem) => {
                let (key, message) = match source {
                    Source::File => ("telemetry.otlp_endpoint", problem),
                    Source::Env(var) => (
                        "telemetry",
                        format!("environment variable {var}: {problem}"),
                    ),
                };
                c.error(span, key, message);
            }
        }
    }
    let name = match &raw.service_name {
        Some(v) => c.expand(v, "telemetry.service_name").map(|n| (n, v.span())),
        None => (c.env)(ENV_SERVICE_NAME).map(|n| (n, 0..0)),
    };
    match name {
        Some((n, span)) if n.trim().is_empty() && raw.service_name.is_some() => {
            c.error(span, "telemetry.service_name", "must not be empty");
        }
        Some((n, _)) if !n.trim().is_empty() => out.service_name = n.trim().to_owned(),
        _ => {}
    }
    out
}

/// The traces URL of an endpoint: an `http` or `https` URL with a host and no credentials;
/// `/v1/traces` is appended to a base URL (unless it is already there).
fn traces_url(text: &str, whole: bool) -> Result<String, String> {
    let url = reqwest::Url::parse(text.trim())
        .map_err(|e| format!("not a URL ({e}); expected e.g. \"http://collector:4318\""))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "the scheme must be http or https (OTLP over HTTP), not \"{}\"",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("the URL has no host".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "the URL must not carry credentials; give the collector's headers in OTEL_EXPORTER_OTLP_HEADERS"
                .into(),
        );
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("the URL must not have a query or a fragment".into());
    }
    let text = url.as_str().trim_end_matches('/');
    if whole || text.ends_with(TRACES_PATH) {
        Ok(text.to_owned())
    } else {
        Ok(format!("{text}{TRACES_PATH}"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn parse(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Telemetry, String> {
        crate::config::parse("t.toml", text, env)
            .map(|c| c.telemetry)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn absent_means_no_export() {
        let t = parse("", &|_| None).unwrap();
        assert_eq!(t, Telemetry::default());
        assert_eq!(t.service_name, "switchyard");
    }

    #[test]
    fn base_endpoint_gets_the_traces_path() {
        let t = parse(
            "[telemetry]\notlp_endpoint = \"http://collector:4318\"\nservice_name = \"edge\"\n",
            &|_| None,
        )
        .unwrap();
        assert_eq!(
            t.traces_endpoint.as_deref(),
            Some("http://collector:4318/v1/traces")
        );
        assert_eq!(t.service_name, "edge");
        let t = parse(
            "[telemetry]\notlp_endpoint = \"https://c.example/otlp/v1/traces/\"\n",
            &|_| None,
        )
        .unwrap();
        assert_eq!(
            t.traces_endpoint.as_deref(),
            Some("https://c.example/otlp/v1/traces")
        );
    }

    #[test]
    fn environment_is_the_fallback() {
        let env = |k: &str| match k {
            ENV_ENDPOINT => Some("http://otel:4318/".to_owned()),
            ENV_SERVICE_NAME => Some("from-env".to_owned()),
            _ => None,
        };
        let t = parse("", &env).unwrap();
        assert_eq!(
            t.traces_endpoint.as_deref(),
            Some("http://otel:4318/v1/traces")
        );
        assert_eq!(t.service_name, "from-env");
        // The traces-only variable is taken whole; the config's value wins over both.
        let traces = |k: &str| (k == ENV_TRACES_ENDPOINT).then(|| "http://t:1/custom".to_owned());
        let t = parse("", &traces).unwrap();
        assert_eq!(t.traces_endpoint.as_deref(), Some("http://t:1/custom"));
        let t = parse("[telemetry]\notlp_endpoint = \"http://cfg:4318\"\n", &env).unwrap();
        assert_eq!(
            t.traces_endpoint.as_deref(),
            Some("http://cfg:4318/v1/traces")
        );
    }

    #[test]
    fn bad_endpoints_are_reported_with_line_and_key_without_their_value() {
        let text =
            "listen = \"127.0.0.1:1\"\n\n[telemetry]\notlp_endpoint = \"grpc://collector:4317\"\n";
        let e = parse(text, &|_| None).unwrap_err();
        assert!(
            e.starts_with("t.toml:4: telemetry.otlp_endpoint: the scheme must be http"),
            "{e}"
        );
        let e = parse(
            "[telemetry]\notlp_endpoint = \"http://user:s3cr3t-pass@collector:4318\"\n",
            &|_| None,
        )
        .unwrap_err();
        assert!(e.contains("must not carry credentials"), "{e}");
        assert!(!e.contains("s3cr3t-pass"), "{e}");
        let e = parse("[telemetry]\notlp_endpoint = \"collector:4318\"\n", &|_| {
            None
        })
        .unwrap_err();
        assert!(e.contains("telemetry.otlp_endpoint"), "{e}");
        let e = parse("[telemetry]\nservice_name = \"\"\n", &|_| None).unwrap_err();
        assert!(
            e.contains("t.toml:2: telemetry.service_name: must not be empty"),
            "{e}"
        );
        let env = |k: &str| (k == ENV_ENDPOINT).then(|| "ftp://x".to_owned());
        let e = parse("", &env).unwrap_err();
        assert!(
            e.contains("environment variable OTEL_EXPORTER_OTLP_ENDPOINT: the scheme"),
            "{e}"
        );
        let e = parse("[telemetry]\nexporter = \"otlp\"\n", &|_| None).unwrap_err();
        assert!(e.contains("unknown field"), "{e}");
    }
}
