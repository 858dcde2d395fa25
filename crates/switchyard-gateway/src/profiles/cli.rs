//! `switchyard profile list|activate|rollback` and `switchyard reload`: talk to a running
//! gateway's admin API (`--url`, default the config's listen address), with the admin key from
//! `SWITCHYARD_ADMIN_KEY` when one is set.

use clap::Subcommand;
use serde_json::Value;

#[derive(Subcommand)]
pub enum ProfileCommand {
    /// Every profile the running config defines; the live one marked.
    List,
    /// Make `name@version` (or a bare `name`: its highest version) the live profile.
    Activate { profile: String },
    /// Re-activate the profile that was live before the current one.
    Rollback,
}

async fn call(
    url: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Result<Value, String> {
    let http = switchyard_providers::http::client()?;
    let mut req = http.request(method, format!("{}{path}", url.trim_end_matches('/')));
    if let Ok(key) = std::env::var("SWITCHYARD_ADMIN_KEY")
        && !key.is_empty()
    {
        req = req.bearer_auth(key);
    }
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req
        .send()
        .await
        .map_err(|e| format!("cannot reach the gateway at {url}: {e}"))?;
    let status = resp.status();
    let body: Value = resp
        .json()
        .await
        .map_err(|e| format!("the gateway answered {status} with an unreadable body: {e}"))?;
    if status.is_success() {
        Ok(body)
    } else {
        let message = body["error"]["message"].as_str().unwrap_or("no message");
        Err(format!("the gateway refused ({status}): {message}"))
    }
}

fn line(p: &Value) -> String {
    format!(
        "{} {:<24} digest {}  aliases: {}",
        if p["active"] == true { "*" } else { " " },
        p["id"].as_str().unwrap_or("?"),
        p["digest"].as_str().unwrap_or("?"),
        p["aliases"]
            .as_array()
            .map(|a| a
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", "))
            .unwrap_or_default()
    )
}

/// Runs a profile command against the gateway at `url`.
pub async fn run(url: &str, command: ProfileCommand) -> Result<(), String> {
    let out = match command {
        ProfileCommand::List => {
            let list = call(url, reqwest::Method::GET, "/admin/profiles", None).await?;
            list["data"]
                .as_array()
                .map(|ps| ps.iter().map(line).collect::<Vec<_>>().join("\n"))
                .unwrap_or_default()
        }
        ProfileCommand::Activate { profile } => {
            let body = serde_json::json!({ "profile": profile });
            let p = call(
                url,
                reqwest::Method::POST,
                "/admin/profiles/activate",
                Some(body),
            )
            .await?;
            format!("activated {}", line(&p).trim_start_matches(['*', ' ']))
        }
        ProfileCommand::Rollback => {
            let p = call(url, reqwest::Method::POST, "/admin/profiles/rollback", None).await?;
            format!("rolled back to {}", line(&p).trim_start_matches(['*', ' ']))
        }
    };
    write_out(&out)
}

/// Asks the gateway at `url` to reload its config file.
pub async fn reload(url: &str) -> Result<(), String> {
    let p = call(url, reqwest::Method::POST, "/admin/reload", None).await?;
    write_out(&format!(
        "reloaded; live {}",
        line(&p).trim_start_matches(['*', ' '])
    ))
}

fn write_out(text: &str) -> Result<(), String> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}").map_err(|e| format!("cannot write to stdout: {e}"))
}
