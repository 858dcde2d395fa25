//! Profile validation: turns a `Profile` as written into a `ProfileSnapshot`, or lists every
//! contradiction with the path of the bad key. Never accepts a profile `decide` could not honour.

use super::{AllowRule, DEFAULT_ROUTE, Node, NodeSpec, Profile, ProfileSnapshot, Route, RouteSpec};
use crate::digest::digest;
use crate::model::ModelTable;
use crate::route_class::{
    BaseClass, ClassOverrides, ClassSettings, Hedge, RouteClass, RouteClasses, STANDARD_CLASS,
    standard_settings,
};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// One contradiction: the dotted path of the bad key and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ProfileError {
    /// Dotted path from the profile's root (`aliases.fast.latency-critical.nodes[1].race`).
    pub path: String,
    /// What is wrong and what would be right.
    pub message: String,
}

impl fmt::Display for ProfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Every contradiction found in one profile, in the order of its keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileErrors(pub Vec<ProfileError>);

impl fmt::Display for ProfileErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            e.fmt(f)?;
        }
        Ok(())
    }
}

impl std::error::Error for ProfileErrors {}

#[derive(Default)]
struct Errors(Vec<ProfileError>);

impl Errors {
    fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        let e = ProfileError {
            path: path.into(),
            message: message.into(),
        };
        if !self.0.contains(&e) {
            self.0.push(e);
        }
    }
}

fn valid_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

impl Profile {
    /// Checks the profile against the model facts and returns the snapshot `decide` reads,
    /// or every contradiction found, each with the path of its key.
    pub fn validate(&self, models: &ModelTable) -> Result<ProfileSnapshot, ProfileErrors> {
        let mut errs = Errors::default();
        if self.name.is_empty() || self.name.contains('@') {
            errs.push("name", "must be non-empty and hold no '@'");
        }
        if self.version == 0 {
            errs.push("version", "must be at least 1");
        }
        let classes = self.check_classes(&mut errs);
        let aliases = self.check_aliases(&classes, models, &mut errs);
        let (default_class, alias_classes) = self.check_defaults(&classes, &mut errs);
        self.check_allow(models, &mut errs);
        self.check_slo(&classes, &mut errs);
        let mut snapshot = ProfileSnapshot {
            name: self.name.clone(),
            version: self.version,
            classes,
            default_class,
            alias_classes,
            aliases,
            allow: self.allow.clone(),
            slo: self.slo.clone(),
            models: models.clone(),
            digest: String::new(),
        };
        check_cycles(&snapshot, &mut errs);
        check_compliance(&snapshot, &mut errs);
        if !errs.0.is_empty() {
            return Err(ProfileErrors(errs.0));
        }
        snapshot.digest = digest(&snapshot);
        Ok(snapshot)
    }

    fn check_classes(&self, errs: &mut Errors) -> RouteClasses {
        let mut classes = RouteClasses::builtin();
        for (name, o) in &self.classes {
            let path = format!("classes.{name}");
            let standard = name == STANDARD_CLASS;
            let base = match (BaseClass::from_name(name), o.inherits) {
                (Some(b), None) => b,
                (Some(b), Some(i)) if i == b => b,
                (Some(b), Some(i)) => {
                    errs.push(
                        format!("{path}.inherits"),
                        format!("built-in class {b} cannot inherit {i}"),
                    );
                    continue;
                }
                (None, Some(i)) => {
                    if !valid_name(name) {
                        errs.push(&path, "a class name is lowercase letters, digits, '-' and '_', starting with a letter");
                    }
                    i
                }
                (None, None) if standard => BaseClass::LatencyCritical,
                (None, None) => {
                    errs.push(
                        format!("{path}.inherits"),
                        "a custom class must inherit one of latency-critical, reasoning-heavy, compliance-constrained",
                    );
                    continue;
                }
            };
            let start = if standard && o.inherits.is_none() {
                standard_settings()
            } else {
                base.defaults()
            };
            let settings = o.apply(start);
            check_settings(&path, base, o, &settings, errs);
            classes.insert(name, base, settings);
        }
        classes
    }

    /// The class of requests that declare none: per alias, else the profile's, else `standard`.
    fn check_defaults(
        &self,
        classes: &RouteClasses,
        errs: &mut Errors,
    ) -> (RouteClass, BTreeMap<String, RouteClass>) {
        let fallback = RouteClass {
            name: STANDARD_CLASS.to_owned(),
            base: BaseClass::LatencyCritical,
        };
        let default_class = match &self.default_class {
            None => fallback,
            Some(name) => classes.parse(name).unwrap_or_else(|e| {
                errs.push("default_class", e.to_string());
                fallback
            }),
        };
        let mut per_alias = BTreeMap::new();
        for (alias, name) in &self.alias_classes {
            let path = format!("alias_classes.{alias}");
            if !self.aliases.contains_key(alias) {
                errs.push(&path, format!("unknown alias {alias:?}"));
            }
            match classes.parse(name) {
                Ok(class) => {
                    per_alias.insert(alias.clone(), class);
                }
                Err(e) => errs.push(&path, e.to_string()),
            }
        }
        (default_class, per_alias)
    }

    fn check_aliases(
        &self,
        classes: &RouteClasses,
        models: &ModelTable,
        errs: &mut Errors,
    ) -> BTreeMap<String, BTreeMap<String, Route>> {
        let mut out = BTreeMap::new();
        for (alias, routes) in &self.aliases {
            if alias.is_empty() || alias.contains('/') {
                errs.push(
                    format!("aliases.{alias}"),
                    "an alias name holds no '/' (that names a model)",
                );
            }
            let mut checked = BTreeMap::new();
            for (key, spec) in routes {
                let path = format!("aliases.{alias}.{key}");
                if key != DEFAULT_ROUTE
                    && let Err(e) = classes.parse(key)
                {
                    errs.push(&path, format!("{e}, or {DEFAULT_ROUTE}"));
                }
                checked.insert(key.clone(), self.check_route(&path, spec, models, errs));
            }
            out.insert(alias.clone(), checked);
        }
        out
    }

    fn check_route(
        &self,
        path: &str,
        spec: &RouteSpec,
        models: &ModelTable,
        errs: &mut Errors,
    ) -> Route {
        if spec.nodes.is_empty() {
            errs.push(format!("{path}.nodes"), "a route needs at least one node");
        }
        let nodes = spec
            .nodes
            .iter()
            .enumerate()
            .filter_map(|(i, n)| self.check_node(&format!("{path}.nodes[{i}]"), n, models, errs))
            .collect();
        Route {
            fallback_on: spec
                .fallback_on
                .clone()
                .unwrap_or_else(super::default_fallback_on),
            nodes,
        }
    }

    fn check_node(
        &self,
        path: &str,
        n: &NodeSpec,
        models: &ModelTable,
        errs: &mut Errors,
    ) -> Option<Node> {
        let kinds = [
            n.try_model.is_some(),
            n.race.is_some(),
            n.cost_guard.is_some(),
            n.alias.is_some(),
        ];
        if kinds.iter().filter(|k| **k).count() != 1 {
            errs.push(
                path,
                "a node holds exactly one of try, race, cost_guard, alias",
            );
            return None;
        }
        if n.hedge_ms.is_some() && n.race.is_none() {
            errs.push(
                format!("{path}.hedge_ms"),
                "hedge_ms belongs to a race node",
            );
        }
        let known = |key: String, model: &str, errs: &mut Errors| {
            if models.get(model).is_none() {
                let ids: Vec<&str> = models.ids().collect();
                errs.push(
                    key,
                    format!("unknown model {model:?}; known: {}", ids.join(", ")),
                );
            }
        };
        if let Some(model) = &n.try_model {
            known(format!("{path}.try"), model, errs);
            return Some(Node::Try(model.clone()));
        }
        if let Some(race) = &n.race {
            if race.len() < 2 {
                errs.push(
                    format!("{path}.race"),
                    format!("a race needs at least 2 candidates, found {}", race.len()),
                );
            }
            for (j, model) in race.iter().enumerate() {
                known(format!("{path}.race[{j}]"), model, errs);
            }
            return Some(Node::Race {
                models: race.clone(),
                hedge_ms: n.hedge_ms,
            });
        }
        if let Some(guarded) = &n.cost_guard {
            if guarded.is_empty() {
                errs.push(
                    format!("{path}.cost_guard"),
                    "a cost guard needs at least one model",
                );
            }
            for (j, model) in guarded.iter().enumerate() {
                known(format!("{path}.cost_guard[{j}]"), model, errs);
            }
            return Some(Node::CostGuard(guarded.clone()));
        }
        let alias = n.alias.clone()?;
        if !self.aliases.contains_key(&alias) {
            errs.push(format!("{path}.alias"), format!("unknown alias {alias:?}"));
        }
        Some(Node::Alias(alias))
    }

    fn check_allow(&self, models: &ModelTable, errs: &mut Errors) {
        for (
            i,
            AllowRule {
                provider,
                region,
                classes,
            },
        ) in self.allow.iter().enumerate()
        {
            match models.provider_regions(provider) {
                None => errs.push(
                    format!("allow[{i}].provider"),
                    format!("unknown provider {provider:?}"),
                ),
                Some(regions) if !regions.contains(region.as_str()) => {
                    let served: Vec<&str> = regions.into_iter().collect();
                    errs.push(
                        format!("allow[{i}].region"),
                        format!(
                            "provider {provider} serves region(s) [{}], not {region:?}",
                            served.join(", ")
                        ),
                    );
                }
                Some(_) => {}
            }
            if classes.is_empty() {
                errs.push(
                    format!("allow[{i}].classes"),
                    "an allow rule names at least one data class",
                );
            }
        }
    }

    fn check_slo(&self, classes: &RouteClasses, errs: &mut Errors) {
        for (name, slo) in &self.slo {
            let path = format!("slo.{name}");
            if let Err(e) = classes.parse(name) {
                errs.push(&path, e.to_string());
            }
            if slo.ttft_p95_ms == Some(0) {
                errs.push(format!("{path}.ttft_p95_ms"), "must be above 0");
            }
            if slo.latency_p95_ms == Some(0) {
                errs.push(format!("{path}.latency_p95_ms"), "must be above 0");
            }
            if slo.success_ratio.is_some_and(|r| !(r > 0.0 && r <= 1.0)) {
                errs.push(
                    format!("{path}.success_ratio"),
                    "must be in (0, 1], e.g. 0.995",
                );
            }
        }
    }
}

fn check_settings(
    path: &str,
    base: BaseClass,
    o: &ClassOverrides,
    s: &ClassSettings,
    errs: &mut Errors,
) {
    if s.total_timeout_ms == 0 {
        errs.push(format!("{path}.total_timeout_ms"), "must be above 0");
    }
    if s.attempt_timeout_ms == 0 || s.attempt_timeout_ms > s.total_timeout_ms {
        errs.push(
            format!("{path}.attempt_timeout_ms"),
            format!(
                "must be above 0 and at most total_timeout_ms ({})",
                s.total_timeout_ms
            ),
        );
    }
    if let Hedge::Race { n } = s.hedge
        && n < 2
    {
        errs.push(
            format!("{path}.hedge.n"),
            "a race runs at least 2 candidates",
        );
    }
    if s.cost_guard_usd
        .is_some_and(|c| !(c.is_finite() && c >= 0.0))
    {
        errs.push(
            format!("{path}.cost_guard_usd"),
            "must be a finite amount of at least 0",
        );
    }
    if s.backoff.cap_ms < s.backoff.base_ms {
        errs.push(
            format!("{path}.backoff.cap_ms"),
            format!("must be at least base_ms ({})", s.backoff.base_ms),
        );
    }
    if s.region.as_deref().is_some_and(str::is_empty) {
        errs.push(format!("{path}.region"), "must be non-empty");
    }
    if base == BaseClass::ComplianceConstrained {
        if o.region_required == Some(false) {
            errs.push(
                format!("{path}.region_required"),
                "a compliance-constrained class always requires a region",
            );
        }
        if o.allowlist_required == Some(false) {
            errs.push(
                format!("{path}.allowlist_required"),
                "a compliance-constrained class always requires the allowlist",
            );
        }
    }
}

/// Reports every alias node that closes a loop, for any class.
fn check_cycles(p: &ProfileSnapshot, errs: &mut Errors) {
    let classes: Vec<RouteClass> = p
        .classes
        .iter()
        .map(|(n, b, _)| RouteClass {
            name: n.to_owned(),
            base: b,
        })
        .collect();
    for class in &classes {
        for alias in p.aliases.keys() {
            let mut stack = vec![alias.clone()];
            walk(p, class, &mut stack, errs);
        }
    }
}

fn walk(p: &ProfileSnapshot, class: &RouteClass, stack: &mut Vec<String>, errs: &mut Errors) {
    let Some(alias) = stack.last().cloned() else {
        return;
    };
    let Some((key, route)) = p.route(&alias, class) else {
        return;
    };
    for (i, node) in route.nodes.iter().enumerate() {
        let Node::Alias(next) = node else { continue };
        if stack.contains(next) {
            let mut chain = stack.clone();
            chain.push(next.clone());
            errs.push(
                format!("aliases.{alias}.{key}.nodes[{i}].alias"),
                format!("fallback cycle {}", chain.join(" -> ")),
            );
        } else if p.aliases.contains_key(next) {
            stack.push(next.clone());
            walk(p, class, stack, errs);
            stack.pop();
        }
    }
}

/// Every class that demands the allowlist must have, in each route written for it, a target
/// allowlisted in the class's pinned region (any region when it pins none).
fn check_compliance(p: &ProfileSnapshot, errs: &mut Errors) {
    for (name, base, settings) in p.classes.iter() {
        if !settings.allowlist_required {
            continue;
        }
        let pinned = settings.region.as_deref();
        if let Some(region) = pinned
            && !p.allow.iter().any(|r| r.region == region)
        {
            errs.push(
                format!("classes.{name}.region"),
                format!("no allowlisted provider in region {region:?}"),
            );
        }
        let class = RouteClass {
            name: name.to_owned(),
            base,
        };
        for (alias, routes) in &p.aliases {
            if !routes.contains_key(name) {
                continue;
            }
            let mut seen = BTreeSet::new();
            let ok = models_of(p, alias, &class, &mut seen).into_iter().any(|m| {
                p.models.get(&m).is_some_and(|f| {
                    let region = f.target.region.as_deref();
                    region.is_some()
                        && pinned.is_none_or(|r| region == Some(r))
                        && p.allow.iter().any(|r| {
                            r.provider == f.target.provider && Some(r.region.as_str()) == region
                        })
                })
            });
            if !ok {
                let within = pinned
                    .map(|r| format!(" in region {r:?}"))
                    .unwrap_or_default();
                errs.push(
                    format!("aliases.{alias}.{name}"),
                    format!("class {name} needs an allowlisted provider, and no target of this route is allowlisted{within}"),
                );
            }
        }
    }
}

/// Every model a tree names, alias nodes followed once each.
fn models_of(
    p: &ProfileSnapshot,
    alias: &str,
    class: &RouteClass,
    seen: &mut BTreeSet<String>,
) -> Vec<String> {
    if !seen.insert(alias.to_owned()) {
        return Vec::new();
    }
    let Some((_, route)) = p.route(alias, class) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for node in &route.nodes {
        match node {
            Node::Try(m) => out.push(m.clone()),
            Node::Race { models, .. } | Node::CostGuard(models) => {
                out.extend(models.iter().cloned())
            }
            Node::Alias(next) => out.extend(models_of(p, next, class, seen)),
        }
    }
    out
}
