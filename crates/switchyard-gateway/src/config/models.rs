//! `[models."provider/model"]` entries, as written and as shipped in the price table: the
//! provider they name, their kind and prices, and the id sent upstream, which its family's
//! grammar must accept, as must every alias target's. Never lets a config route to an id its
//! adapter would refuse: at run time only an id a client names can be refused.

use super::checker::Checker;
use super::raw::{RawConfig, RawModel};
use super::{
    Config, ConfigError, ConfigErrors, ModelConfig, ModelKind, PricedBy, ProviderConfig, line_of,
};
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use switchyard_evidence::pricing::Price;
use switchyard_protocol::ProviderError;
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
    let file = c.file;
    let mut price = |v: &Option<Spanned<f64>>, field: &str| c.price(v, key, field);
    let input = price(&m.input_usd_per_mtok, "input_usd_per_mtok");
    let output = price(&m.output_usd_per_mtok, "output_usd_per_mtok");
    let priced_by = (input.is_some() || output.is_some()).then(|| match file {
        SHIPPED => PricedBy::Shipped,
        file => PricedBy::Config(file.to_owned()),
    });
    let (input, output) = (input.unwrap_or(0.0), output.unwrap_or(0.0));
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
        priced_by,
    })
}

/// Checks every configured model's upstream id, and every alias target's that is not a listed
/// model, with its provider's grammar; a provider with errors of its own is not checked.
pub(super) fn check_upstream_ids(
    c: &mut Checker<'_>,
    raw: &RawConfig,
    providers: &BTreeMap<String, ProviderConfig>,
    models: &BTreeMap<String, ModelConfig>,
) {
    for (id, m) in models {
        let (Some(p), Some(spanned)) = (providers.get(&m.provider), raw.models.get(id)) else {
            continue;
        };
        if let Err(e) = grammar(p, &m.upstream) {
            let field = match spanned.get_ref().upstream_model {
                Some(_) => ".upstream_model",
                None => "",
            };
            c.error(spanned.span(), format!("models.\"{id}\"{field}"), e.message);
        }
    }
    for (name, targets) in &raw.aliases {
        for t in targets.get_ref() {
            let Some((provider, upstream)) = t.get_ref().split_once('/') else {
                continue;
            };
            let Some(p) = providers.get(provider) else {
                continue;
            };
            if models.contains_key(t.get_ref()) {
                continue;
            }
            if let Err(e) = grammar(p, upstream) {
                c.error(t.span(), format!("aliases.{name}"), e.message);
            }
        }
    }
}

/// Whether the provider's family could name `upstream` (the mock names anything).
fn grammar(p: &ProviderConfig, upstream: &str) -> Result<(), ProviderError> {
    match p.endpoint.family.adapter() {
        Some(adapter) => adapter.check_model(&p.endpoint, upstream),
        None => Ok(()),
    }
}

/// The name the shipped price table goes by in errors and in `switchyard prices`.
pub const SHIPPED: &str = "<shipped prices>";

/// Adds the shipped price entries for configured providers that the config does not price:
/// for a provider without passthrough only its alias targets (a shipped entry must not make a
/// model routable that the config left out), and only ids the provider's grammar accepts.
pub(super) fn add_shipped_models(config: &mut Config, shipped: &str) -> Result<(), ConfigErrors> {
    let raw: RawConfig = toml::from_str(shipped).map_err(|e| {
        ConfigErrors(vec![ConfigError {
            file: SHIPPED.into(),
            line: e.span().map(|s| line_of(shipped, s.start)).unwrap_or(0),
            key: String::new(),
            message: e.message().to_owned(),
        }])
    })?;
    let no_env = |_: &str| None;
    let mut c = Checker {
        file: SHIPPED,
        text: shipped,
        errors: Vec::new(),
        env: &no_env,
    };
    let declared: BTreeSet<&str> = config.providers.keys().map(String::as_str).collect();
    let mut found = Vec::new();
    for (id, spanned) in &raw.models {
        let Some(p) = id
            .split_once('/')
            .and_then(|(p, _)| config.providers.get(p))
        else {
            continue;
        };
        let aliased = || config.aliases.values().flatten().any(|t| t == id);
        let listed = config.models.get(id);
        // A listed model the config does not price takes the shipped price (below).
        if listed.is_some_and(|m| m.priced_by.is_some())
            || (listed.is_none() && !(p.passthrough || aliased()))
        {
            continue;
        }
        let key = format!("models.\"{id}\"");
        if let Some(m) = model(
            &mut c,
            id,
            spanned.get_ref(),
            spanned.span(),
            &key,
            &declared,
        ) && grammar(p, &m.upstream).is_ok()
        {
            found.push((id.clone(), m));
        }
    }
    for (id, shipped) in found {
        match config.models.get_mut(&id) {
            Some(listed) => {
                listed.price = shipped.price;
                listed.priced_by = shipped.priced_by;
            }
            None => {
                config.models.insert(id, shipped);
            }
        }
    }
    if c.errors.is_empty() {
        Ok(())
    } else {
        Err(ConfigErrors(c.errors))
    }
}
