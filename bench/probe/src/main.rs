//! `bench-probe`: the benchmarks' own measuring client, for what wrk cannot measure: time to the
//! first body byte of a stream, a fixed request rate for the soak, and thousands of idle streams
//! held open. It prints one JSON object per run on stdout and only ever talks to the URL given.
#![forbid(unsafe_code)]

mod hold;
mod load;
mod rate;
mod report;
mod request;

use bytes::Bytes;
use clap::{Parser, Subcommand};
use http::Uri;
use request::Target;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "bench-probe",
    about = "Measuring client for the Switchyard benchmarks"
)]
struct Cli {
    /// URL to POST to (loopback only).
    #[arg(
        long,
        global = true,
        default_value = "http://127.0.0.1:8080/v1/chat/completions"
    )]
    url: Uri,
    /// File holding the JSON request body.
    #[arg(long, global = true, default_value = "body.json")]
    body: PathBuf,
    /// Bearer token sent in `Authorization`.
    #[arg(long, global = true, default_value = "k")]
    key: String,
    /// Longest a single request may take, in seconds.
    #[arg(long, global = true, default_value_t = 30.0)]
    timeout: f64,
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Subcommand)]
enum Mode {
    /// Closed loop: `concurrency` workers back to back; reports rate, TTFB and latency.
    Load {
        #[arg(long, default_value_t = 1)]
        concurrency: usize,
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        #[arg(long, default_value_t = 1.0)]
        warmup: f64,
    },
    /// A fixed rate over paced connections (the soak); reports missed slots.
    Rate {
        #[arg(long)]
        rate: f64,
        #[arg(long, default_value_t = 60.0)]
        seconds: f64,
        #[arg(long, default_value_t = 32)]
        workers: usize,
    },
    /// Open `streams` streams, print a `ready` line once established, hold them, drop them.
    Hold {
        #[arg(long)]
        streams: usize,
        #[arg(long, default_value_t = 256)]
        parallel: usize,
        #[arg(long, default_value_t = 60.0)]
        setup: f64,
        #[arg(long, default_value_t = 10.0)]
        hold: f64,
    },
}

fn seconds(s: f64) -> Duration {
    Duration::from_secs_f64(s.clamp(0.0, 86_400.0))
}

fn is_loopback(uri: &Uri) -> bool {
    matches!(
        uri.host(),
        Some("127.0.0.1" | "localhost" | "[::1]" | "::1")
    ) || uri
        .host()
        .and_then(|h| h.parse::<std::net::Ipv4Addr>().ok())
        .is_some_and(|ip| ip.is_loopback())
}

async fn run(cli: Cli) -> Result<serde_json::Value, String> {
    if !is_loopback(&cli.url) {
        return Err(format!("{} is not a loopback address; refusing", cli.url));
    }
    let body = std::fs::read(&cli.body)
        .map_err(|e| format!("cannot read the body file {}: {e}", cli.body.display()))?;
    let target = Target {
        uri: cli.url,
        body: Bytes::from(body),
        bearer: cli.key,
    };
    let limit = seconds(cli.timeout);
    Ok(match cli.mode {
        Mode::Load {
            concurrency,
            seconds: s,
            warmup,
        } => {
            let (samples, failures, elapsed) =
                load::closed_loop(target, concurrency, seconds(warmup), seconds(s), limit).await;
            report::summary(&samples, &failures, elapsed)
        }
        Mode::Rate {
            rate,
            seconds: s,
            workers,
        } => {
            let out = rate::fixed_rate(target, rate, seconds(s), workers, limit).await;
            let mut summary = report::summary(&out.samples, &out.failures, out.elapsed);
            summary["missed"] = out.missed.into();
            summary["target_rps"] = rate.into();
            summary
        }
        Mode::Hold {
            streams,
            parallel,
            setup,
            hold,
        } => hold::idle_streams(target, streams, parallel, seconds(setup), seconds(hold)).await,
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(summary) => {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{summary}");
            let _ = out.flush();
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("bench-probe: {message}");
            ExitCode::FAILURE
        }
    }
}
