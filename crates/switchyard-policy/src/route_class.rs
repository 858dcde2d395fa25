//! Route classes: the three built-in classes, named custom classes that inherit one of them,
//! their settings with shipped defaults, and parsing from a request. Pure values, never I/O.

use crate::DataClasses;
use crate::backoff::Backoff;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

/// The built-in class a route class is, or inherits from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BaseClass {
    /// Interactive traffic: strict total timeout, one target at a time, small fallback.
    LatencyCritical,
    /// Large contexts and slow models: parallel candidates, retries capped by count and cost.
    ReasoningHeavy,
    /// Regulated data: pinned region, allowlisted providers only, fail closed.
    ComplianceConstrained,
}

/// The shipped class of requests that declare none: ordinary chat traffic. It inherits
/// latency-critical's settings (not its routes: an alias with no `standard` route uses its
/// `default` one) with limits for long answers: 300 s in all, 120 s per attempt, one retry,
/// no smallest-first fallback.
pub const STANDARD_CLASS: &str = "standard";

/// The settings of the shipped `standard` class.
pub fn standard_settings() -> ClassSettings {
    ClassSettings {
        context_limit_tokens: 2_000_000,
        total_timeout_ms: 300_000,
        attempt_timeout_ms: 120_000,
        max_retries: 1,
        smallest_fallback: false,
        ..BaseClass::LatencyCritical.defaults()
    }
}

impl BaseClass {
    /// Every built-in class, in the order they are listed to clients.
    pub const ALL: [BaseClass; 3] = [
        BaseClass::LatencyCritical,
        BaseClass::ReasoningHeavy,
        BaseClass::ComplianceConstrained,
    ];

    /// The name used in headers, metadata and config (`latency-critical`).
    pub fn as_str(self) -> &'static str {
        match self {
            BaseClass::LatencyCritical => "latency-critical",
            BaseClass::ReasoningHeavy => "reasoning-heavy",
            BaseClass::ComplianceConstrained => "compliance-constrained",
        }
    }

    /// The built-in class with this exact name.
    pub fn from_name(name: &str) -> Option<BaseClass> {
        BaseClass::ALL.into_iter().find(|b| b.as_str() == name)
    }

    /// The shipped settings of this class.
    pub fn defaults(self) -> ClassSettings {
        match self {
            // Two attempts of 1.8 s fit in 4 s: a hung primary still leaves room for the fallback.
            BaseClass::LatencyCritical => ClassSettings {
                context_limit_tokens: 32_000,
                total_timeout_ms: 4_000,
                attempt_timeout_ms: 1_800,
                max_retries: 1,
                hedge: Hedge::Off,
                cost_guard_usd: None,
                region_required: false,
                allowlist_required: false,
                region: None,
                heavy_queue: false,
                smallest_fallback: true,
                heavy_above_tokens: None,
                redact_upstream: DataClasses::EMPTY,
                log_payloads: None,
                backoff: Backoff {
                    base_ms: 50,
                    cap_ms: 200,
                },
            },
            BaseClass::ReasoningHeavy => ClassSettings {
                context_limit_tokens: 1_000_000,
                total_timeout_ms: 300_000,
                attempt_timeout_ms: 120_000,
                max_retries: 2,
                hedge: Hedge::Delay { after_ms: 10_000 },
                cost_guard_usd: Some(2.0),
                region_required: false,
                allowlist_required: false,
                region: None,
                heavy_queue: true,
                smallest_fallback: false,
                heavy_above_tokens: None,
                redact_upstream: DataClasses::EMPTY,
                log_payloads: None,
                backoff: Backoff {
                    base_ms: 500,
                    cap_ms: 8_000,
                },
            },
            BaseClass::ComplianceConstrained => ClassSettings {
                context_limit_tokens: 200_000,
                total_timeout_ms: 60_000,
                attempt_timeout_ms: 30_000,
                max_retries: 1,
                hedge: Hedge::Off,
                cost_guard_usd: None,
                region_required: true,
                allowlist_required: true,
                region: None,
                heavy_queue: false,
                smallest_fallback: false,
                heavy_above_tokens: Some(64_000),
                redact_upstream: DataClasses::EMPTY,
                log_payloads: None,
                backoff: Backoff {
                    base_ms: 200,
                    cap_ms: 2_000,
                },
            },
        }
    }
}

impl fmt::Display for BaseClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Parallel candidates: none, a second target after a delay, or N targets at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "mode", deny_unknown_fields)]
pub enum Hedge {
    /// One target at a time; race nodes run as sequential tries.
    Off,
    /// Start the next candidate when the current one has not answered after `after_ms`.
    Delay {
        /// Milliseconds to wait before starting the next candidate.
        after_ms: u64,
    },
    /// Start up to `n` candidates at once; the first good answer wins.
    Race {
        /// How many candidates may run at once (at least 2).
        n: u32,
    },
}

impl Hedge {
    /// How many candidates may run at once under this hedge.
    pub fn width(self) -> usize {
        match self {
            Hedge::Off => 1,
            Hedge::Delay { .. } => 2,
            Hedge::Race { n } => n as usize,
        }
    }
}

/// What a route class allows and demands of a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassSettings {
    /// Largest estimated input the class admits (tokens).
    pub context_limit_tokens: u64,
    /// Time budget for the whole request, every attempt included (ms).
    pub total_timeout_ms: u64,
    /// Time budget of one attempt (ms); at most the total.
    pub attempt_timeout_ms: u64,
    /// Retries after the first attempt, all within the total budget.
    pub max_retries: u32,
    /// Parallel candidates allowed.
    pub hedge: Hedge,
    /// Most one request may spend over all its attempts (USD), `None` for no guardrail.
    pub cost_guard_usd: Option<f64>,
    /// The request (or its key) must name a region.
    pub region_required: bool,
    /// Only providers allowlisted for the request's data classes in its region may serve it.
    pub allowlist_required: bool,
    /// The region this class pins, whatever the request says.
    pub region: Option<String>,
    /// Runs in the heavy-context pool and queue.
    pub heavy_queue: bool,
    /// Fallbacks after the primary are ordered smallest model first.
    pub smallest_fallback: bool,
    /// Requests estimated above this many input tokens also run in the heavy-context pool.
    pub heavy_above_tokens: Option<u64>,
    /// Data classes redacted from the request before it goes upstream (the placeholders
    /// name the class); empty sends the request as the client wrote it.
    #[serde(default)]
    pub redact_upstream: DataClasses,
    /// Keep (redacted) payloads of this class's requests as artifacts; `None` follows the
    /// config's `[payloads] enabled`. Compliance-constrained payloads are always sealed.
    #[serde(default)]
    pub log_payloads: Option<bool>,
    /// Wait between retries.
    pub backoff: Backoff,
}

/// A class from config: inherits a built-in class and overrides some of its settings.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassOverrides {
    /// The built-in class this one inherits; required for a custom name, optional for a
    /// built-in name (whose shipped settings the other fields then override).
    pub inherits: Option<BaseClass>,
    /// Overrides [`ClassSettings::context_limit_tokens`].
    pub context_limit_tokens: Option<u64>,
    /// Overrides [`ClassSettings::total_timeout_ms`].
    pub total_timeout_ms: Option<u64>,
    /// Overrides [`ClassSettings::attempt_timeout_ms`].
    pub attempt_timeout_ms: Option<u64>,
    /// Overrides [`ClassSettings::max_retries`].
    pub max_retries: Option<u32>,
    /// Overrides [`ClassSettings::hedge`].
    pub hedge: Option<Hedge>,
    /// Overrides [`ClassSettings::cost_guard_usd`].
    pub cost_guard_usd: Option<f64>,
    /// Overrides [`ClassSettings::region_required`].
    pub region_required: Option<bool>,
    /// Overrides [`ClassSettings::allowlist_required`].
    pub allowlist_required: Option<bool>,
    /// Overrides [`ClassSettings::region`].
    pub region: Option<String>,
    /// Overrides [`ClassSettings::heavy_queue`].
    pub heavy_queue: Option<bool>,
    /// Overrides [`ClassSettings::smallest_fallback`].
    pub smallest_fallback: Option<bool>,
    /// Overrides [`ClassSettings::heavy_above_tokens`].
    pub heavy_above_tokens: Option<u64>,
    /// Overrides [`ClassSettings::redact_upstream`].
    pub redact_upstream: Option<DataClasses>,
    /// Overrides [`ClassSettings::log_payloads`].
    pub log_payloads: Option<bool>,
    /// Overrides [`ClassSettings::backoff`].
    pub backoff: Option<Backoff>,
}

impl ClassOverrides {
    /// `base` with every field this holds replaced.
    pub fn apply(&self, base: ClassSettings) -> ClassSettings {
        ClassSettings {
            context_limit_tokens: self
                .context_limit_tokens
                .unwrap_or(base.context_limit_tokens),
            total_timeout_ms: self.total_timeout_ms.unwrap_or(base.total_timeout_ms),
            attempt_timeout_ms: self.attempt_timeout_ms.unwrap_or(base.attempt_timeout_ms),
            max_retries: self.max_retries.unwrap_or(base.max_retries),
            hedge: self.hedge.unwrap_or(base.hedge),
            cost_guard_usd: self.cost_guard_usd.or(base.cost_guard_usd),
            region_required: self.region_required.unwrap_or(base.region_required),
            allowlist_required: self.allowlist_required.unwrap_or(base.allowlist_required),
            region: self.region.clone().or(base.region),
            heavy_queue: self.heavy_queue.unwrap_or(base.heavy_queue),
            smallest_fallback: self.smallest_fallback.unwrap_or(base.smallest_fallback),
            heavy_above_tokens: self.heavy_above_tokens.or(base.heavy_above_tokens),
            redact_upstream: self.redact_upstream.unwrap_or(base.redact_upstream),
            log_payloads: self.log_payloads.or(base.log_payloads),
            backoff: self.backoff.unwrap_or(base.backoff),
        }
    }
}

/// A route class a request runs under: its name and the built-in class it is or inherits.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RouteClass {
    /// The class's name (`latency-critical`, or a custom name such as `eu-interactive`).
    pub name: String,
    /// The built-in class it is or inherits.
    pub base: BaseClass,
}

impl RouteClass {
    /// The built-in class itself.
    pub fn builtin(base: BaseClass) -> Self {
        RouteClass {
            name: base.as_str().to_owned(),
            base,
        }
    }
}

impl fmt::Display for RouteClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// A class name no profile knows, with the names it does know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownRouteClass {
    /// The name as given.
    pub name: String,
    /// The known class names, built-ins first.
    pub known: Vec<String>,
}

impl fmt::Display for UnknownRouteClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown route class {:?}; known: {}",
            self.name,
            self.known.join(", ")
        )
    }
}

impl std::error::Error for UnknownRouteClass {}

/// Why a request's route class could not be read (both are 400s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteClassError {
    /// The class is not known.
    Unknown(UnknownRouteClass),
    /// `metadata.route_class` is present but not a string.
    NotAString,
}

impl fmt::Display for RouteClassError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RouteClassError::Unknown(e) => e.fmt(f),
            RouteClassError::NotAString => f.write_str("metadata.route_class must be a string"),
        }
    }
}

impl std::error::Error for RouteClassError {}

/// The classes a profile knows: the built-ins (maybe overridden) and custom ones, with settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RouteClasses {
    classes: BTreeMap<String, (BaseClass, ClassSettings)>,
}

impl Default for RouteClasses {
    fn default() -> Self {
        RouteClasses::builtin()
    }
}

impl RouteClasses {
    /// The three built-in classes with their shipped settings, and the shipped `standard`
    /// class (inherits latency-critical) that undeclared requests run under by default.
    pub fn builtin() -> Self {
        let mut classes: BTreeMap<String, (BaseClass, ClassSettings)> = BaseClass::ALL
            .into_iter()
            .map(|b| (b.as_str().to_owned(), (b, b.defaults())))
            .collect();
        classes.insert(
            STANDARD_CLASS.to_owned(),
            (BaseClass::LatencyCritical, standard_settings()),
        );
        RouteClasses { classes }
    }

    /// Adds (or replaces) a class; used by profile validation after its checks.
    pub fn insert(&mut self, name: &str, base: BaseClass, settings: ClassSettings) {
        self.classes.insert(name.to_owned(), (base, settings));
    }

    /// Every known name, built-ins first, then custom ones in name order.
    pub fn names(&self) -> Vec<String> {
        let builtins = BaseClass::ALL.iter().map(|b| b.as_str().to_owned());
        let custom = self
            .classes
            .keys()
            .filter(|n| BaseClass::from_name(n).is_none())
            .cloned();
        builtins.chain(custom).collect()
    }

    /// The class named `name` (exact, after trimming spaces).
    pub fn parse(&self, name: &str) -> Result<RouteClass, UnknownRouteClass> {
        let name = name.trim();
        self.classes
            .get_key_value(name)
            .map(|(n, (base, _))| RouteClass {
                name: n.clone(),
                base: *base,
            })
            .ok_or_else(|| UnknownRouteClass {
                name: name.to_owned(),
                known: self.names(),
            })
    }

    /// The class a request declares: the `x-switchyard-class` header first, then
    /// `metadata.route_class` of the body; `None` when it declares none.
    pub fn from_request(
        &self,
        header: Option<&str>,
        metadata: Option<&Value>,
    ) -> Result<Option<RouteClass>, RouteClassError> {
        if let Some(name) = header.filter(|h| !h.trim().is_empty()) {
            return self.parse(name).map(Some).map_err(RouteClassError::Unknown);
        }
        match metadata.and_then(|m| m.get("route_class")) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(name)) => {
                self.parse(name).map(Some).map_err(RouteClassError::Unknown)
            }
            Some(_) => Err(RouteClassError::NotAString),
        }
    }

    /// The settings of `class`, `None` when this profile does not know it.
    pub fn settings(&self, class: &RouteClass) -> Option<&ClassSettings> {
        self.classes
            .get(&class.name)
            .filter(|(base, _)| *base == class.base)
            .map(|(_, s)| s)
    }

    /// Every class with its base and settings, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, BaseClass, &ClassSettings)> {
        self.classes.iter().map(|(n, (b, s))| (n.as_str(), *b, s))
    }
}

#[cfg(test)]
mod tests;
