//! The `switchyard` command line: the gateway server, the mock upstream, and the operator
//! tools.

use crate::{config, server};
use axum::serve::ListenerExt;
use clap::{Parser, Subcommand};
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "switchyard",
    version,
    about = "A policy-first inference gateway"
)]
struct Cli {
    /// Config file (default: the embedded defaults).
    #[arg(long, global = true, env = "SWITCHYARD_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway.
    Serve {
        /// Address to listen on (default: the config's `listen`, else 127.0.0.1:8080).
        #[arg(long, env = "SWITCHYARD_LISTEN")]
        listen: Option<SocketAddr>,
    },
    /// Run the mock upstream that speaks every provider family's wire format.
    MockUpstream {
        #[arg(long, env = "SWITCHYARD_MOCK_LISTEN", default_value = "127.0.0.1:9090")]
        listen: SocketAddr,
        /// TOML script: accepted key, per-model scenarios.
        #[arg(long)]
        script: Option<PathBuf>,
    },
    /// Validate a config file and print every problem with its line and key.
    Check {
        /// The file to check (default: --config).
        file: Option<PathBuf>,
    },
    /// Per route class and target: requests, errors, TTFT and latency percentiles, retries per
    /// success, cost, and SLO attainment, from the event log.
    Report {
        /// Only outcomes newer than this: `30m`, `24h`, `7d`, or epoch milliseconds.
        #[arg(long)]
        since: Option<String>,
        /// Only outcomes older than this (same forms).
        #[arg(long)]
        until: Option<String>,
        /// Print the report as JSON (keep it as a baseline).
        #[arg(long)]
        json: bool,
        /// Compare with a baseline saved by `--json`.
        #[arg(long)]
        baseline: Option<PathBuf>,
        /// An objective, e.g. `latency-critical:ttft_p95_ms=800,success_rate=99.5%` (repeatable);
        /// without any, the active profile's `[profiles.slo.CLASS]` objectives are judged.
        #[arg(long = "slo")]
        slos: Vec<switchyard_evidence::report::Slo>,
    },
    /// Apply retention now: delete expired artifacts and record the deletion.
    Retention {
        #[command(subcommand)]
        command: RetentionCommand,
    },
    /// Inspect the event log.
    Events {
        #[command(subcommand)]
        command: EventsCommand,
    },
    /// Routing profiles of a running gateway: list, activate name@version, roll back.
    Profile {
        /// The gateway's address (default: the config's listen address).
        #[arg(long, global = true)]
        url: Option<String>,
        #[command(subcommand)]
        command: crate::profiles::cli::ProfileCommand,
    },
    /// Ask a running gateway to reload its config file (as SIGHUP does).
    Reload {
        /// The gateway's address (default: the config's listen address).
        #[arg(long)]
        url: Option<String>,
    },
    /// The effective price of every configured model, and where it comes from.
    Prices,
    /// Manage tenants' API keys, directly in the store (the gateway may be stopped).
    Keys {
        #[command(subcommand)]
        command: crate::admission::cli::KeysCommand,
    },
}

#[derive(Subcommand)]
enum RetentionCommand {
    /// Delete what has expired.
    Run,
}

#[derive(Subcommand)]
enum EventsCommand {
    /// Walk every chain (or one stream's) and report the first broken link.
    Verify {
        #[arg(long)]
        stream: Option<String>,
    },
    /// Print events as JSON lines, following new ones with --follow.
    Tail {
        #[arg(long)]
        stream: Option<String>,
        /// How many of the latest events to print first.
        #[arg(short = 'n', long, default_value_t = 20)]
        lines: u64,
        #[arg(short, long)]
        follow: bool,
    },
}

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("switchyard: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The server's config says whether spans are exported, so it is loaded before the
    // subscriber is installed.
    let server = match &cli.command {
        Command::Serve { listen } => {
            match prepare_serve(cli.config.as_deref(), *listen, runtime.handle()) {
                Ok(prepared) => Some(prepared),
                Err(message) => {
                    eprintln!("switchyard: {message}");
                    return ExitCode::FAILURE;
                }
            }
        }
        _ => None,
    };
    crate::traces::export::install(server.as_ref().and_then(|s| s.exporter.as_ref()));
    let result = match cli.command {
        Command::Serve { .. } => match server {
            Some(s) => {
                let served = runtime.block_on(serve(s.config, s.http));
                // After the server, before the runtime: the last exports run on its threads.
                if let Some(exporter) = s.exporter {
                    exporter.shutdown();
                }
                served
            }
            None => Err("the server was not prepared".into()),
        },
        Command::MockUpstream { listen, script } => {
            runtime.block_on(mock_upstream(listen, script.as_deref()))
        }
        Command::Check { file } => check(file.or(cli.config).as_deref()),
        Command::Prices => load_config(cli.config.as_deref()).map(|c| {
            let _ = write!(std::io::stdout().lock(), "{}", config::prices::table(&c));
        }),
        Command::Events { command } => runtime.block_on(events(cli.config.as_deref(), command)),
        Command::Profile { url, command } => admin_url(cli.config.as_deref(), url)
            .and_then(|url| runtime.block_on(crate::profiles::cli::run(&url, command))),
        Command::Reload { url } => admin_url(cli.config.as_deref(), url)
            .and_then(|url| runtime.block_on(crate::profiles::cli::reload(&url))),
        Command::Keys { command } => runtime.block_on(crate::admission::cli::run(
            load_config(cli.config.as_deref()),
            command,
        )),
        Command::Retention {
            command: RetentionCommand::Run,
        } => runtime.block_on(retention(cli.config.as_deref())),
        Command::Report {
            since,
            until,
            json,
            baseline,
            slos,
        } => runtime.block_on(report(
            cli.config.as_deref(),
            since.as_deref(),
            until.as_deref(),
            json,
            baseline.as_deref(),
            slos,
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("switchyard: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The running gateway's base URL: `--url`, else the config's listen address.
fn admin_url(config: Option<&Path>, url: Option<String>) -> Result<String, String> {
    match url {
        Some(u) => Ok(u),
        None => load_config(config).map(|c| format!("http://{}", c.listen)),
    }
}

fn load_config(path: Option<&Path>) -> Result<config::Config, String> {
    let env = |k: &str| std::env::var(k).ok();
    match path {
        Some(p) => config::load(p).map_err(|e| format!("invalid config:\n{e}")),
        None => config::embedded(&env).map_err(|e| format!("invalid embedded defaults:\n{e}")),
    }
}

/// What `serve` needs before the subscriber exists: its config, the pooled HTTP client, and
/// the trace exporter when the config names a collector.
pub struct Prepared {
    pub config: config::Config,
    pub http: reqwest::Client,
    pub exporter: Option<crate::traces::export::Exporter>,
}

/// Loads the server's config (with `--listen` applied), builds the pooled HTTP client and
/// starts the trace exporter the config asks for.
pub fn prepare_serve(
    config_path: Option<&Path>,
    listen: Option<SocketAddr>,
    runtime: &tokio::runtime::Handle,
) -> Result<Prepared, String> {
    let mut config = load_config(config_path)?;
    if let Some(addr) = listen {
        config.listen = addr;
    }
    let http = switchyard_providers::http::client()?;
    let exporter =
        crate::traces::export::Exporter::start(&config.telemetry, http.clone(), runtime.clone())?;
    Ok(Prepared {
        config,
        http,
        exporter,
    })
}

/// Serves `config` until a stop signal.
pub async fn serve(config: config::Config, http: reqwest::Client) -> Result<(), String> {
    if let Some(endpoint) = &config.telemetry.traces_endpoint {
        tracing::info!(%endpoint, service = %config.telemetry.service_name, "exporting traces over OTLP/HTTP");
    }
    let store = switchyard_evidence::open(&config.store)
        .await
        .map_err(|e| e.to_string())?;
    // "Keys configured" = an admin key, or an active key in the store.
    let active_keys = store.count_active_keys().await.map_err(|e| e.to_string())?;
    let keyed = config.admin_key.is_some() || active_keys > 0;
    if !keyed && !config.listen.ip().is_loopback() {
        return Err(format!(
            "refusing to listen on {}: no API keys are configured, so only loopback clients may be served; listen on 127.0.0.1 or ::1, or create a key (`switchyard keys create --tenant NAME`) or set SWITCHYARD_ADMIN_KEY",
            config.listen
        ));
    }
    let (events, writer) =
        switchyard_evidence::EventLog::start(store.clone(), &config.node, 65_536)
            .await
            .map_err(|e| e.to_string())?;
    let metrics = switchyard_evidence::telemetry::install()?;
    let state = crate::state::AppState::new(config, http, events.clone(), store.clone(), metrics)?;
    let state_budgets = state.budgets.clone();
    let live = state.live();
    let config = live.registry.config.clone();
    for name in live.registry.unavailable_providers() {
        tracing::warn!(provider = %name, "provider's family has no adapter in this build; it will not serve");
    }
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let local = listener
        .local_addr()
        .map_err(|e| format!("cannot read the bound address: {e}"))?;
    if keyed {
        tracing::info!(
            active_keys,
            admin_api = config.admin_key.is_some(),
            "API keys are required on every request"
        );
    } else {
        tracing::warn!(
            "NO API KEYS ARE CONFIGURED: serving loopback clients only, with or without a bearer token; create a key with `switchyard keys create --tenant NAME` to require keys"
        );
    }
    let providers: Vec<&str> = config.providers.keys().map(String::as_str).collect();
    tracing::info!(
        listen = %local,
        config = %config.source.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "embedded defaults".into()),
        providers = %providers.join(","),
        "switchyard is serving"
    );
    events
        .record(switchyard_evidence::Draft::new(
            switchyard_evidence::EventKind::Lifecycle,
            None,
            serde_json::json!({"event": "started", "version": env!("CARGO_PKG_VERSION"), "providers": providers}),
        ))
        .await;
    if let Some(problem) = config
        .payloads
        .encrypt
        .then_some(())
        .and(config.payloads.keyring_problem.as_ref())
    {
        tracing::error!("{problem}: requests whose payloads must be sealed will be refused (503)");
    }
    let retention = tokio::spawn(retention_loop(store.clone(), events.clone()));
    tracing::info!(profile = %live.profile.id(), "routing profile active");
    drop(live);
    // Hot reload on SIGHUP and on file change, when serving from a file.
    if let Some(path) = &config.source {
        crate::profiles::watch::spawn(&state, path.clone())?;
    }
    let edge = crate::listen::Edge::new(&config.limits);
    crate::listen::serve(
        listener,
        server::router(state),
        edge,
        server::shutdown_signal(),
    )
    .await;
    events
        .record(switchyard_evidence::Draft::new(
            switchyard_evidence::EventKind::Lifecycle,
            None,
            serde_json::json!({"event": "stopped"}),
        ))
        .await;
    retention.abort();
    state_budgets.surrender().await;
    drop(state_budgets);
    drop(events);
    // Requests still finishing hold clones of the log; give them a moment, then flush.
    if tokio::time::timeout(std::time::Duration::from_secs(10), writer.flushed())
        .await
        .is_err()
    {
        tracing::error!("the event writer did not flush within 10 s");
    }
    Ok(())
}

/// Deletes expired artifacts every hour, recording each deletion.
async fn retention_loop(
    store: Arc<dyn switchyard_evidence::Store>,
    log: switchyard_evidence::EventLog,
) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        tick.tick().await;
        let now = switchyard_evidence::event::now_ms();
        match crate::artifacts::run_retention(store.as_ref(), &log, now).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "retention deleted expired artifacts"),
            Err(e) => tracing::error!(error = %e, "retention failed"),
        }
    }
}

/// `30m`, `24h`, `7d`, `90s` before `now`, or a plain number of epoch milliseconds.
fn parse_instant(text: &str, now_ms: i64) -> Result<i64, String> {
    let text = text.trim();
    if let Ok(ms) = text.parse::<i64>() {
        return Ok(ms);
    }
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let n: i64 = number
        .parse()
        .map_err(|_| format!("\"{text}\" is not a time: use 30m, 24h, 7d or epoch milliseconds"))?;
    let unit_ms = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(format!("\"{text}\": the unit must be s, m, h or d")),
    };
    Ok(now_ms.saturating_sub(n.saturating_mul(unit_ms)))
}

async fn report(
    config_path: Option<&Path>,
    since: Option<&str>,
    until: Option<&str>,
    json: bool,
    baseline: Option<&Path>,
    slos: Vec<switchyard_evidence::report::Slo>,
) -> Result<(), String> {
    use switchyard_evidence::report;
    let config = load_config(config_path)?;
    // Without --slo, judge the objectives the active profile declares per class.
    let slos = if slos.is_empty() {
        config
            .routing
            .active_snapshot()
            .map(|p| {
                p.slo()
                    .iter()
                    .map(|(class, s)| report::Slo {
                        class: class.clone(),
                        ttft_p95_ms: s.ttft_p95_ms.map(|v| v as f64),
                        latency_p95_ms: s.latency_p95_ms.map(|v| v as f64),
                        success_rate: s.success_ratio,
                    })
                    .collect()
            })
            .unwrap_or_default()
    } else {
        slos
    };
    let store = switchyard_evidence::open(&config.store)
        .await
        .map_err(|e| e.to_string())?;
    let now = switchyard_evidence::event::now_ms();
    let query = report::ReportQuery {
        since_ms: since.map(|s| parse_instant(s, now)).transpose()?,
        until_ms: until.map(|s| parse_instant(s, now)).transpose()?,
        slos,
    };
    let current = report::build(store.as_ref(), &query)
        .await
        .map_err(|e| e.to_string())?;
    let text = match (json, baseline) {
        (true, _) => serde_json::to_string_pretty(&current).map_err(|e| e.to_string())?,
        (false, Some(path)) => {
            let saved = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read the baseline {}: {e}", path.display()))?;
            let before: report::Report = serde_json::from_str(&saved).map_err(|e| {
                format!("{} is not a report saved with --json: {e}", path.display())
            })?;
            report::render_comparison(&report::compare(&before, &current))
        }
        (false, None) => report::render_table(&current),
    };
    let _ = writeln!(std::io::stdout().lock(), "{text}");
    Ok(())
}

async fn retention(config_path: Option<&Path>) -> Result<(), String> {
    let config = load_config(config_path)?;
    let store = switchyard_evidence::open(&config.store)
        .await
        .map_err(|e| e.to_string())?;
    let (log, writer) = switchyard_evidence::EventLog::start(store.clone(), &config.node, 1024)
        .await
        .map_err(|e| e.to_string())?;
    let now = switchyard_evidence::event::now_ms();
    let deleted = crate::artifacts::run_retention(store.as_ref(), &log, now).await?;
    drop(log);
    writer.flushed().await;
    let _ = writeln!(
        std::io::stdout().lock(),
        "retention deleted {deleted} expired artifacts"
    );
    Ok(())
}

async fn events(config_path: Option<&Path>, command: EventsCommand) -> Result<(), String> {
    let config = load_config(config_path)?;
    let store = switchyard_evidence::open(&config.store)
        .await
        .map_err(|e| e.to_string())?;
    let streams = |only: Option<String>| async {
        match only {
            Some(s) => Ok(vec![s]),
            None => store.streams().await.map_err(|e| e.to_string()),
        }
    };
    let mut out = std::io::stdout().lock();
    match command {
        EventsCommand::Verify { stream } => {
            let mut broken = false;
            for s in streams(stream).await? {
                match switchyard_evidence::verify::verify_stream(store.as_ref(), &s)
                    .await
                    .map_err(|e| e.to_string())?
                {
                    Ok(v) => {
                        let _ = writeln!(
                            out,
                            "{}: {} events, chain intact, head {}",
                            v.stream,
                            v.events,
                            v.head.to_hex()
                        );
                    }
                    Err(b) => {
                        broken = true;
                        let _ = writeln!(out, "{b}");
                    }
                }
            }
            if broken {
                return Err("the event log has been tampered with".into());
            }
        }
        EventsCommand::Tail {
            stream,
            lines,
            follow,
        } => {
            let stream = match stream {
                Some(s) => s,
                None => config.node.clone(),
            };
            let head = store.head(&stream).await.map_err(|e| e.to_string())?;
            let mut after = head.map(|h| h.seq.saturating_sub(lines)).unwrap_or(0);
            loop {
                let page = store
                    .read(&stream, after, 1000)
                    .await
                    .map_err(|e| e.to_string())?;
                for e in &page {
                    let _ = writeln!(out, "{}", serde_json::to_string(e).unwrap_or_default());
                    after = e.seq;
                }
                let _ = out.flush();
                if !follow {
                    break;
                }
                if page.is_empty() {
                    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
                }
            }
        }
    }
    Ok(())
}

async fn mock_upstream(listen: SocketAddr, script: Option<&Path>) -> Result<(), String> {
    let config = match script {
        None => switchyard_mock::MockConfig::default(),
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| format!("cannot read {}: {e}", p.display()))?;
            toml::from_str(&text).map_err(|e| {
                let line = e
                    .span()
                    .map(|s| config::line_of(&text, s.start))
                    .unwrap_or(0);
                format!("{}:{line}: {}", p.display(), e.message())
            })?
        }
    };
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    tracing::info!(listen = %listen, "switchyard mock upstream is serving");
    let mock = switchyard_mock::Mock::new(config);
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, switchyard_mock::router(mock))
        .with_graceful_shutdown(server::shutdown_signal())
        .await
        .map_err(|e| format!("mock upstream failed: {e}"))
}

fn check(path: Option<&Path>) -> Result<(), String> {
    let Some(path) = path else {
        return Err("check needs a file: switchyard check switchyard.toml".into());
    };
    let config = config::load(path).map_err(|e| format!("{} is invalid:\n{e}", path.display()))?;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "{} is valid: {} providers, {} models, {} aliases",
        path.display(),
        config.providers.len(),
        config.models.len(),
        config.aliases.len()
    );
    Ok(())
}
