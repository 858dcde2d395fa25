//! Routing profiles: named, versioned routing as config writes it (`Profile`, deserialised
//! with unknown fields refused) and, once validated, as `decide` reads it (`ProfileSnapshot`).
//! Pure data: loading, activation and rollback are the gateway's.

mod validate;

use crate::model::ModelTable;
use crate::route_class::{RouteClass, RouteClasses};
use crate::{ClassOverrides, DataClasses, Target};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use switchyard_protocol::ErrorKind;

pub use validate::{ProfileError, ProfileErrors};

/// The route key that applies to every class an alias has no route of its own for.
pub const DEFAULT_ROUTE: &str = "default";

/// The error kinds that move to the next node when a route names none: the transient ones.
pub fn default_fallback_on() -> Vec<ErrorKind> {
    ErrorKind::ALL
        .into_iter()
        .filter(|k| k.is_transient())
        .collect()
}

/// A routing profile as written in config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// The profile's name (`default`, `eu-only`).
    pub name: String,
    /// Its version; `name@version` names one snapshot.
    pub version: u32,
    /// Settings of built-in classes to override, and custom classes.
    #[serde(default)]
    pub classes: BTreeMap<String, ClassOverrides>,
    /// The class of requests that declare none and whose key and alias give none;
    /// `standard` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_class: Option<String>,
    /// Per alias, the class its requests run under when they declare none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub alias_classes: BTreeMap<String, String>,
    /// Per alias, per class name (or `default`), the fallback tree.
    #[serde(default)]
    pub aliases: BTreeMap<String, BTreeMap<String, RouteSpec>>,
    /// Which providers may see which data classes in which region.
    #[serde(default)]
    pub allow: Vec<AllowRule>,
    /// Per class, the service levels the report measures against.
    #[serde(default)]
    pub slo: BTreeMap<String, Slo>,
}

/// One alias's fallback tree for one class, as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSpec {
    /// Error kinds that move on to the next node; the transient kinds when absent.
    #[serde(default)]
    pub fallback_on: Option<Vec<ErrorKind>>,
    /// The nodes, tried in order.
    pub nodes: Vec<NodeSpec>,
}

/// One node as written: exactly one of `try`, `race`, `cost_guard` or `alias`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSpec {
    /// Try one model (`provider/model`).
    #[serde(rename = "try", default, skip_serializing_if = "Option::is_none")]
    pub try_model: Option<String>,
    /// Run these models in parallel (at least 2); the first good answer wins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub race: Option<Vec<String>>,
    /// With `race`: start each next candidate this long after the previous one (ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hedge_ms: Option<u64>,
    /// Try these models in order, skipping any whose estimated cost exceeds the budget left.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_guard: Option<Vec<String>>,
    /// Continue with another alias's tree for the same class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
}

/// A provider may receive these data classes in this region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowRule {
    /// The provider's name in config.
    pub provider: String,
    /// The region the provider serves it from.
    pub region: String,
    /// The data classes it may receive there.
    pub classes: DataClasses,
}

/// Service levels of one class, declared for the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slo {
    /// 95th percentile of time to first token must stay under this (ms).
    #[serde(default)]
    pub ttft_p95_ms: Option<u64>,
    /// 95th percentile of total latency must stay under this (ms).
    #[serde(default)]
    pub latency_p95_ms: Option<u64>,
    /// Share of requests that must succeed (`0.995`).
    #[serde(default)]
    pub success_ratio: Option<f64>,
}

/// One validated node of a fallback tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Node {
    /// One model.
    Try(String),
    /// Models run in parallel, each next one `hedge_ms` after the previous when set.
    Race {
        /// The candidates, at least 2.
        models: Vec<String>,
        /// Delay between starts (ms); all at once when `None`.
        hedge_ms: Option<u64>,
    },
    /// Models tried in order, those costing more than the budget left skipped.
    CostGuard(Vec<String>),
    /// Another alias's tree for the same class.
    Alias(String),
}

/// One validated fallback tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Route {
    /// Error kinds that move on to the next node.
    pub fallback_on: Vec<ErrorKind>,
    /// The nodes in order.
    pub nodes: Vec<Node>,
}

/// A validated profile pinned by a request: routing, allowlists, classes, SLOs and the model
/// facts it was validated against.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProfileSnapshot {
    name: String,
    version: u32,
    classes: RouteClasses,
    default_class: RouteClass,
    alias_classes: BTreeMap<String, RouteClass>,
    aliases: BTreeMap<String, BTreeMap<String, Route>>,
    allow: Vec<AllowRule>,
    slo: BTreeMap<String, Slo>,
    models: ModelTable,
    #[serde(skip)]
    digest: String,
}

impl ProfileSnapshot {
    /// The profile's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The profile's version.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// `name@version`, as decisions and events record it.
    pub fn id(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }

    /// Digest of the whole snapshot (model facts included).
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// The route classes this profile knows, with their settings.
    pub fn classes(&self) -> &RouteClasses {
        &self.classes
    }

    /// The class a request for `model` runs under when neither it nor its key declares one.
    pub fn default_class(&self, model: &str) -> &RouteClass {
        self.alias_classes.get(model).unwrap_or(&self.default_class)
    }

    /// The model facts the profile was validated against.
    pub fn models(&self) -> &ModelTable {
        &self.models
    }

    /// The declared SLO of each class.
    pub fn slo(&self) -> &BTreeMap<String, Slo> {
        &self.slo
    }

    /// The allowlist rules.
    pub fn allow(&self) -> &[AllowRule] {
        &self.allow
    }

    /// True when `alias` has routes in this profile.
    pub fn has_alias(&self, alias: &str) -> bool {
        self.aliases.contains_key(alias)
    }

    /// Every alias name.
    pub fn alias_names(&self) -> impl Iterator<Item = &str> {
        self.aliases.keys().map(String::as_str)
    }

    /// The tree of `alias` for `class`: its own key, else its base class's, else `default`;
    /// with the key that matched.
    /// The shipped `standard` class takes only its own key or `default`, never the
    /// latency-critical tree it inherits its settings from.
    pub fn route(&self, alias: &str, class: &RouteClass) -> Option<(&str, &Route)> {
        let routes = self.aliases.get(alias)?;
        let base =
            (class.name != crate::route_class::STANDARD_CLASS).then_some(class.base.as_str());
        [Some(class.name.as_str()), base, Some(DEFAULT_ROUTE)]
            .into_iter()
            .flatten()
            .find_map(|key| routes.get_key_value(key))
            .map(|(k, r)| (k.as_str(), r))
    }

    /// Why `target` may not receive `classes` (empty counts as `public`), `None` if allowed.
    pub fn allowlist_refusal(&self, target: &Target, classes: DataClasses) -> Option<String> {
        let Some(region) = target.region.as_deref() else {
            return Some(format!("provider {} has no region", target.provider));
        };
        let wanted = if classes.is_empty() {
            DataClasses::only(crate::DataClass::Public)
        } else {
            classes
        };
        let allowed = self
            .allow
            .iter()
            .filter(|r| r.provider == target.provider && r.region == region)
            .fold(DataClasses::EMPTY, |acc, r| acc.union(r.classes));
        let missing = wanted.difference(allowed);
        (!missing.is_empty()).then(|| {
            format!(
                "data class {missing} not allowed for provider {} in region {region}",
                target.provider
            )
        })
    }
}

impl fmt::Display for ProfileSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.name, self.version)
    }
}

#[cfg(test)]
mod tests;
