//! Routing config: the profiles as written (with the line each starts on), the model table
//! policy routes over, and the profile snapshots validated against it. With no `[[profiles]]`
//! the `[aliases]` table becomes profile `default@1`, one `default` route per alias; with
//! profiles, an alias they leave out keeps its `[aliases]` order as its `default` route.

use super::raw::RawConfig;
use super::{Config, ConfigError, ConfigErrors, line_of};
use std::collections::BTreeMap;
use std::sync::Arc;
use switchyard_policy::{
    BreakerConfig, ModelFacts, ModelTable, NodeSpec, Profile, ProfileSnapshot, RouteSpec, Target,
};

/// Context window assumed for a listed model that gives none.
const DEFAULT_CONTEXT_WINDOW: u64 = 128_000;

/// One profile as written, and where.
#[derive(Debug, Clone)]
struct Source {
    profile: Profile,
    line: usize,
}

/// The routing part of a config.
#[derive(Debug, Clone, Default)]
pub struct Routing {
    file: String,
    sources: Vec<Source>,
    active_source: Option<(String, usize)>,
    /// When a target's circuit opens and closes.
    pub breaker: BreakerConfig,
    /// Every validated profile by `name@version`.
    pub profiles: BTreeMap<String, Arc<ProfileSnapshot>>,
    /// `name@version` of the profile active at start.
    pub active: String,
}

impl Routing {
    /// The snapshot active at start.
    pub fn active_snapshot(&self) -> Option<Arc<ProfileSnapshot>> {
        self.profiles.get(&self.active).cloned()
    }

    /// The profile `id` names: `name@version`, or a bare `name` for its highest version.
    pub fn profile(&self, id: &str) -> Option<&Arc<ProfileSnapshot>> {
        find(&self.profiles, id)
    }
}

/// `name@version` exactly, or the highest version of a bare `name` (profile names hold no `@`).
fn find<'p>(
    profiles: &'p BTreeMap<String, Arc<ProfileSnapshot>>,
    id: &str,
) -> Option<&'p Arc<ProfileSnapshot>> {
    if id.contains('@') {
        return profiles.get(id);
    }
    profiles
        .values()
        .filter(|p| p.name() == id)
        .max_by_key(|p| p.version())
}

/// Collects the profiles, the active one and breaker settings of a raw config; checked
/// against the model table later, by [`compile`], once every provider and price is known.
pub(super) fn sources(
    errors: &mut Vec<ConfigError>,
    file: &str,
    text: &str,
    raw: &RawConfig,
) -> Routing {
    let mut seen = BTreeMap::new();
    let mut sources = Vec::new();
    for (i, p) in raw.profiles.iter().enumerate() {
        let line = line_of(text, p.span().start);
        let profile = p.get_ref().clone();
        let id = format!("{}@{}", profile.name, profile.version);
        if let Some(first) = seen.insert(id.clone(), i) {
            errors.push(ConfigError {
                file: file.to_owned(),
                line,
                key: format!("profiles[{i}]"),
                message: format!("{id} is already defined by profiles[{first}]"),
            });
        }
        sources.push(Source { profile, line });
    }
    Routing {
        file: file.to_owned(),
        sources,
        active_source: raw
            .active_profile
            .as_ref()
            .map(|a| (a.get_ref().clone(), line_of(text, a.span().start))),
        breaker: raw
            .breaker
            .as_ref()
            .map(|b| *b.get_ref())
            .unwrap_or_default(),
        profiles: BTreeMap::new(),
        active: String::new(),
    }
}

/// Builds the model table and validates every profile against it (after the embedded
/// completion added env providers and shipped prices).
pub(super) fn compile(config: &mut Config) -> Result<(), ConfigErrors> {
    let table = model_table(config);
    let routing = &mut config.routing;
    let mut sources = std::mem::take(&mut routing.sources);
    if sources.is_empty() {
        sources.push(Source {
            profile: Profile {
                name: "default".into(),
                version: 1,
                classes: BTreeMap::new(),
                default_class: None,
                alias_classes: BTreeMap::new(),
                aliases: BTreeMap::new(),
                allow: Vec::new(),
                slo: BTreeMap::new(),
            },
            line: 0,
        });
    }
    let mut errors = Vec::new();
    let mut profiles = BTreeMap::new();
    let mut last = String::new();
    for (i, source) in sources.iter().enumerate() {
        let mut profile = source.profile.clone();
        for (alias, targets) in &config.aliases {
            profile.aliases.entry(alias.clone()).or_insert_with(|| {
                let nodes = targets
                    .iter()
                    .map(|t| NodeSpec {
                        try_model: Some(t.clone()),
                        ..NodeSpec::default()
                    })
                    .collect();
                BTreeMap::from([(
                    switchyard_policy::profile::DEFAULT_ROUTE.to_owned(),
                    RouteSpec {
                        fallback_on: None,
                        nodes,
                    },
                )])
            });
        }
        match profile.validate(&table) {
            Ok(snapshot) => {
                last = snapshot.id();
                profiles.insert(snapshot.id(), Arc::new(snapshot));
            }
            Err(errs) => errors.extend(errs.0.into_iter().map(|e| ConfigError {
                file: routing.file.clone(),
                line: source.line,
                key: format!("profiles[{i}].{}", e.path),
                message: e.message,
            })),
        }
    }
    let active = match &routing.active_source {
        None => last,
        Some((id, line)) => match find(&profiles, id) {
            Some(found) => found.id(),
            None => {
                if errors.is_empty() {
                    let known: Vec<&str> = profiles.keys().map(String::as_str).collect();
                    errors.push(ConfigError {
                        file: routing.file.clone(),
                        line: *line,
                        key: "active_profile".into(),
                        message: format!("no profile {id:?}; defined: {}", known.join(", ")),
                    });
                }
                id.clone()
            }
        },
    };
    routing.sources = sources;
    if !errors.is_empty() {
        return Err(ConfigErrors(errors));
    }
    routing.profiles = profiles;
    routing.active = active;
    Ok(())
}

/// What policy knows of every configured model: listed models with their prices, context
/// windows and size ranks (explicit, else by output price), alias targets that are not listed
/// (unknown facts), and each provider with `passthrough` for `provider/model` asks of models
/// the config does not list.
fn model_table(config: &Config) -> ModelTable {
    let region = |provider: &str| {
        config
            .providers
            .get(provider)
            .and_then(|p| p.endpoint.region.clone())
    };
    // A model nothing prices of its own is priced by its provider's default, if any: routing,
    // budget holds and cost caps see what the record will charge.
    let price_of = |m: &super::ModelConfig| match (&m.priced_by, config.providers.get(&m.provider))
    {
        (None, Some(p)) => p.default_price.map_or((0.0, 0.0), |d| (d.input, d.output)),
        _ => (m.price.input, m.price.output),
    };
    let mut prices: Vec<u64> = config
        .models
        .values()
        .map(|m| (price_of(m).1 * 1_000.0) as u64)
        .collect();
    prices.sort_unstable();
    prices.dedup();
    let mut table = ModelTable::new();
    for (id, m) in &config.models {
        let price = price_of(m);
        let rank = m.size_rank.unwrap_or_else(|| {
            let key = (price.1 * 1_000.0) as u64;
            prices.partition_point(|p| *p < key) as u32 + 1
        });
        table.insert(ModelFacts::new(
            Target {
                provider: m.provider.clone(),
                model: id.clone(),
                upstream_model: m.upstream.clone(),
                region: region(&m.provider),
            },
            m.context_window.unwrap_or(DEFAULT_CONTEXT_WINDOW),
            price,
            rank,
        ));
    }
    for target in config.aliases.values().flatten() {
        if table.get(target).is_some() {
            continue;
        }
        if let Some((provider, upstream)) = Target::parse(target) {
            table.insert(ModelFacts::new(
                Target {
                    provider: provider.to_owned(),
                    model: target.clone(),
                    upstream_model: upstream.to_owned(),
                    region: region(provider),
                },
                u64::MAX,
                (0.0, 0.0),
                u32::MAX,
            ));
        }
    }
    for (name, p) in config.providers.iter().filter(|(_, p)| p.passthrough) {
        table.allow_passthrough(name, p.endpoint.region.as_deref());
        if let Some(d) = p.default_price {
            table.price_passthrough(name, (d.input, d.output));
        }
    }
    table
}
