//! `switchyard keys create|list|revoke`: the same operations as the admin API, run on the store
//! the config names, so they work with the gateway stopped. The secret is printed once, on
//! create, and nowhere else. A running gateway sees a new or revoked key within a second.

use super::keys::{self, NewKey};
use super::policy::KeyPolicy;
use crate::config::Config;
use clap::Subcommand;
use std::io::Write;
use switchyard_evidence::event::now_ms;
use switchyard_policy::DataClass;

/// The `keys` subcommands.
#[derive(Subcommand)]
pub enum KeysCommand {
    /// Create a key for a tenant and print its secret (shown this once).
    Create {
        #[arg(long)]
        tenant: String,
        /// A label for the key.
        #[arg(long)]
        name: Option<String>,
        /// Models and aliases the key may use, comma-separated; `provider/*` for all of a
        /// provider's (default: all).
        #[arg(long, value_delimiter = ',')]
        models: Option<Vec<String>>,
        /// Route classes the key may use, comma-separated (default: all).
        #[arg(long, value_delimiter = ',')]
        classes: Option<Vec<String>>,
        /// The class its requests run in when they declare none.
        #[arg(long)]
        default_class: Option<String>,
        /// The most sensitive data class it may send: public, internal, pii, financial, secret.
        #[arg(long)]
        data_class_ceiling: Option<DataClass>,
        /// The only region its requests may run in.
        #[arg(long)]
        region: Option<String>,
        /// Requests per minute.
        #[arg(long)]
        rpm: Option<u32>,
        /// Tokens per minute.
        #[arg(long)]
        tpm: Option<u32>,
        /// Keep (redacted) payloads of its requests as artifacts: true or false.
        #[arg(long)]
        log_payloads: Option<bool>,
        /// Print the key and its secret as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List keys (never their secrets), revoked ones included.
    List {
        #[arg(long)]
        tenant: Option<String>,
        /// Print JSON lines.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key by its id (`key_…`); it stops working at once.
    Revoke { id: String },
}

/// Runs a `keys` command against the store of `config`. Key events go to the stream
/// `NODE.cli`, so they never race a running gateway's own chain.
pub async fn run(config: Result<Config, String>, command: KeysCommand) -> Result<(), String> {
    let config = config?;
    let store = switchyard_evidence::open(&config.store)
        .await
        .map_err(|e| e.to_string())?;
    let stream = format!("{}.cli", config.node);
    let (log, writer) = switchyard_evidence::EventLog::start(store.clone(), &stream, 16)
        .await
        .map_err(|e| e.to_string())?;
    let mut out = std::io::stdout().lock();
    let result = match command {
        KeysCommand::Create {
            tenant,
            name,
            models,
            classes,
            default_class,
            data_class_ceiling,
            region,
            rpm,
            tpm,
            log_payloads,
            json,
        } => {
            let new = NewKey {
                tenant,
                name,
                policy: KeyPolicy {
                    models,
                    classes,
                    default_class,
                    data_class_ceiling,
                    region,
                    rpm,
                    tpm,
                    log_payloads,
                },
            };
            keys::create(store.as_ref(), &log, new, now_ms())
                .await
                .map(|created| {
                    if json {
                        let text = serde_json::to_string(&created).unwrap_or_default();
                        let _ = writeln!(out, "{text}");
                    } else {
                        let _ = writeln!(
                            out,
                            "created {} for tenant {}\nsecret: {}",
                            created.key.id, created.key.tenant, created.secret
                        );
                        let _ = writeln!(
                            std::io::stderr(),
                            "store the secret now: it is shown once, and Switchyard keeps only its hash"
                        );
                    }
                })
        }
        KeysCommand::List { tenant, json } => keys::list(store.as_ref(), tenant.as_deref())
            .await
            .map(|views| {
                for v in views {
                    let line = if json {
                        serde_json::to_string(&v).unwrap_or_default()
                    } else {
                        format!(
                            "{}  {}  {}  {}…  {}  {}",
                            v.id,
                            v.tenant,
                            v.name.as_deref().unwrap_or("-"),
                            v.prefix,
                            v.revoked_ms
                                .map(|ms| format!("revoked at {ms}"))
                                .unwrap_or_else(|| "active".into()),
                            serde_json::to_string(&v.policy).unwrap_or_default()
                        )
                    };
                    let _ = writeln!(out, "{line}");
                }
            }),
        KeysCommand::Revoke { id } => {
            keys::revoke(store.as_ref(), &log, &id, now_ms())
                .await
                .map(|record| {
                    let _ = writeln!(out, "revoked {} of tenant {}", record.id, record.tenant);
                })
        }
    };
    drop(log);
    writer.flushed().await;
    result.map_err(|e| e.message())
}
