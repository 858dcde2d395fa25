//! The second stage of config loading: raw TOML → [`Config`], checking every value and
//! collecting every problem with its line and key, then adding shipped prices.

use super::checker::Checker;
use super::models::model;
use super::provider::provider;
use super::raw::RawConfig;
use super::{Config, ConfigErrors, Limits};
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
}

/// Checks a raw config and builds the running one.
pub fn validate(
    file: &str,
    text: &str,
    raw: RawConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigErrors> {
    let mut c = Checker {
        file,
        text,
        errors: Vec::new(),
        env,
    };
    let listen = match &raw.listen {
        None => SocketAddr::from(([127, 0, 0, 1], 8080)),
        Some(s) => s.get_ref().parse().unwrap_or_else(|_| {
            c.error(
                s.span(),
                "listen",
                format!("\"{}\" is not an address like 127.0.0.1:8080", s.get_ref()),
            );
            SocketAddr::from(([127, 0, 0, 1], 8080))
        }),
    };
    let store = match &raw.store {
        None => "sqlite://switchyard.db".to_owned(),
        Some(s) => {
            let v = c.expand(s, "store").unwrap_or_default();
            if !["sqlite://", "postgres://", "postgresql://"]
                .iter()
                .any(|p| v.starts_with(p))
            {
                c.error(
                    s.span(),
                    "store",
                    "must start with sqlite:// or postgres://",
                );
            }
            v
        }
    };
    let node = match &raw.node {
        None => "local".to_owned(),
        Some(n) if valid_name(n.get_ref()) => n.get_ref().clone(),
        Some(n) => {
            c.error(
                n.span(),
                "node",
                "node names use letters, digits, '-', '_' and '.'",
            );
            String::new()
        }
    };
    let defaults = Limits::default();
    let limits = Limits {
        max_body_bytes: match &raw.limits.max_body_bytes {
            None => defaults.max_body_bytes,
            Some(b) if *b.get_ref() < 1024 => {
                c.error(b.span(), "limits.max_body_bytes", "must be at least 1024");
                defaults.max_body_bytes
            }
            Some(b) => usize::try_from(*b.get_ref()).unwrap_or(usize::MAX),
        },
        request_timeout: c.positive_ms(
            &raw.limits.request_timeout_ms,
            "limits.request_timeout_ms",
            defaults.request_timeout,
        ),
        attempt_timeout: c.positive_ms(
            &raw.limits.attempt_timeout_ms,
            "limits.attempt_timeout_ms",
            defaults.attempt_timeout,
        ),
        stream_idle_timeout: c.positive_ms(
            &raw.limits.stream_idle_timeout_ms,
            "limits.stream_idle_timeout_ms",
            defaults.stream_idle_timeout,
        ),
        heavy_concurrency: c.positive_count(
            &raw.limits.heavy_concurrency,
            "limits.heavy_concurrency",
            defaults.heavy_concurrency,
        ),
        heavy_queue: raw
            .limits
            .heavy_queue
            .as_ref()
            .map_or(defaults.heavy_queue, |q| {
                usize::try_from(*q.get_ref()).unwrap_or(usize::MAX)
            }),
        header_timeout: c.positive_ms(
            &raw.limits.header_timeout_ms,
            "limits.header_timeout_ms",
            defaults.header_timeout,
        ),
        body_idle_timeout: c.positive_ms(
            &raw.limits.body_idle_timeout_ms,
            "limits.body_idle_timeout_ms",
            defaults.body_idle_timeout,
        ),
        max_connections: c.positive_count(
            &raw.limits.max_connections,
            "limits.max_connections",
            defaults.max_connections,
        ),
    };

    let mut providers = BTreeMap::new();
    for (name, spanned) in &raw.providers {
        let key = format!("providers.{name}");
        if !valid_name(name) {
            c.error(
                spanned.span(),
                &key,
                "provider names use letters, digits, '-', '_' and '.'",
            );
            continue;
        }
        if let Some(p) = provider(&mut c, name, spanned.get_ref(), &key) {
            providers.insert(name.clone(), p);
        }
    }

    // Models and aliases are checked against every declared provider, so a provider with an
    // error of its own does not also make each of its models an error.
    let declared: BTreeSet<&str> = raw.providers.keys().map(String::as_str).collect();
    let mut models = BTreeMap::new();
    for (id, spanned) in &raw.models {
        let key = format!("models.\"{id}\"");
        if let Some(m) = model(
            &mut c,
            id,
            spanned.get_ref(),
            spanned.span(),
            &key,
            &declared,
        ) {
            models.insert(id.clone(), m);
        }
    }

    let mut aliases = BTreeMap::new();
    for (name, targets) in &raw.aliases {
        let key = format!("aliases.{name}");
        if name.contains('/') || !valid_name(name) {
            c.error(
                targets.span(),
                &key,
                "alias names use letters, digits, '-', '_' and '.', no '/'",
            );
            continue;
        }
        if targets.get_ref().is_empty() {
            c.error(targets.span(), &key, "an alias needs at least one target");
            continue;
        }
        let mut list = Vec::new();
        for t in targets.get_ref() {
            match t.get_ref().split_once('/') {
                Some((p, m)) if declared.contains(p) && !m.is_empty() => {
                    list.push(t.get_ref().clone())
                }
                Some((p, _)) if !declared.contains(p) => c.error(
                    t.span(),
                    &key,
                    format!(
                        "target \"{}\" names provider \"{p}\", which is not configured",
                        t.get_ref()
                    ),
                ),
                _ => c.error(
                    t.span(),
                    &key,
                    format!("target \"{}\" is not provider/model", t.get_ref()),
                ),
            }
        }
        aliases.insert(name.clone(), list);
    }
    super::models::check_upstream_ids(&mut c, &raw, &providers, &models);

    let default_detectors = switchyard_policy::DetectorsConfig::default();
    let (detector_config, span) = match &raw.detectors {
        None => (&default_detectors, 0..0),
        Some(d) => (d.get_ref(), d.span()),
    };
    let detectors = match switchyard_policy::Detectors::new(detector_config) {
        Ok(d) => Some(d),
        Err(e) => {
            c.error(span, "detectors", e.to_string());
            None
        }
    };
    let routing = super::routing::sources(&mut c.errors, file, text, &raw);
    let payloads = super::payloads::payloads(&mut c, &raw.payloads);
    let retention = super::payloads::retention(&mut c, &raw.retention);
    let admin_key = super::admin_key::admin_key(&mut c, raw.admin_key.as_ref());
    let budgets = super::budgets::budgets(&mut c, &raw.budgets);
    let telemetry = super::telemetry::telemetry(&mut c, &raw.telemetry);
    let responses = super::responses::responses(&mut c, &raw.responses);
    let (Some(detectors), true) = (detectors, c.errors.is_empty()) else {
        return Err(ConfigErrors(c.errors));
    };
    Ok(Config {
        detectors: std::sync::Arc::new(detectors),
        payloads,
        retention,
        admin_key,
        budgets,
        telemetry,
        responses,
        source: None,
        listen,
        store,
        node,
        limits,
        providers,
        models,
        aliases,
        routing,
    })
}
