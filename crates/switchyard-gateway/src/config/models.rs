//! `[models."provider/model"]` entries, as written and as shipped in the price table: the
//! provider they name, their kind and prices, and the id sent upstream.

use super::raw::{RawConfig, RawModel};
use super::validate::Checker;
use super::{Config, ConfigError, ConfigErrors, ModelConfig, ModelKind, line_of};
use std::collections::BTreeSet;
use std::ops::Range;
use switchyard_evidence::pricing::Price;
use toml::Spanned;

pub(super) fn model(
    c: &mut Checker<'_>,
    id: &str,
    m: &RawModel,
    span: Range<usize>,
    key: &str,
    providers: &BTreeSet<&str>,
) -> Option<ModelConfig> {
    let Some((provider, upstream)) = id
        .split_once('/')
        .filter(|(p, m)| !p.is_empty() && !m.is_empty())
    else {
        c.error(span, key, "model ids are provider/model");
        return None;
    };
    if !providers.contains(provider) {
        c.error(
            span,
            key,
            format!("provider \"{provider}\" is not configured"),
        );
        return None;
    }
    let kind = match m.kind.as_ref().map(|k| k.get_ref().as_str()) {
        None | Some("chat") => ModelKind::Chat,
        Some("embedding") => ModelKind::Embedding,
        Some(other) => {
            let span = m.kind.as_ref().map(Spanned::span).unwrap_or(span);
            c.error(
                span,
                format!("{key}.kind"),
                format!("unknown kind \"{other}\"; expected chat or embedding"),
            );
            return None;
        }
    };
    let mut price = |v: &Option<Spanned<f64>>, field: &str| -> Option<f64> {
        let v = v.as_ref()?;
        let x = *v.get_ref();
        if !x.is_finite() || x < 0.0 {
            c.error(
                v.span(),
                format!("{key}.{field}"),
                "prices are finite and not negative",
            );
            return None;
        }
        Some(x)
    };
    let input = price(&m.input_usd_per_mtok, "input_usd_per_mtok").unwrap_or(0.0);
    let output = price(&m.output_usd_per_mtok, "output_usd_per_mtok").unwrap_or(0.0);
    let cached_input = price(&m.cached_input_usd_per_mtok, "cached_input_usd_per_mtok");
    let cache_write = price(&m.cache_write_usd_per_mtok, "cache_write_usd_per_mtok");
    Some(ModelConfig {
        provider: provider.to_owned(),
        upstream: m
            .upstream_model
            .clone()
            .unwrap_or_else(|| upstream.to_owned()),
        kind,
        context_window: m.context_window,
        size_rank: m.size_rank,
        price: Price {
            input,
            output,
            cached_input,
            cache_write,
        },
    })
}

/// Adds the shipped price entries for configured providers that the config does not price.
pub(super) fn add_shipped_models(config: &mut Config, shipped: &str) -> Result<(), ConfigErrors> {
    let raw: RawConfig = toml::from_str(shipped).map_err(|e| {
        ConfigErrors(vec![ConfigError {
            file: "<shipped prices>".into(),
            line: e.span().map(|s| line_of(shipped, s.start)).unwrap_or(0),
            key: String::new(),
            message: e.message().to_owned(),
        }])
    })?;
    let no_env = |_: &str| None;
    let mut c = Checker {
        file: "<shipped prices>",
        text: shipped,
        errors: Vec::new(),
        env: &no_env,
    };
    let declared: BTreeSet<&str> = config.providers.keys().map(String::as_str).collect();
    let mut found = Vec::new();
    for (id, spanned) in &raw.models {
        let configured = id
            .split_once('/')
            .is_some_and(|(p, _)| config.providers.contains_key(p));
        if configured && !config.models.contains_key(id) {
            let key = format!("models.\"{id}\"");
            if let Some(m) = model(
                &mut c,
                id,
                spanned.get_ref(),
                spanned.span(),
                &key,
                &declared,
            ) {
                found.push((id.clone(), m));
            }
        }
    }
    config.models.extend(found);
    if c.errors.is_empty() {
        Ok(())
    } else {
        Err(ConfigErrors(c.errors))
    }
}
