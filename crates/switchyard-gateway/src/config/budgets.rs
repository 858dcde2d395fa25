//! `[[budgets]]`: spending limits per tenant, API key, route class or `x-switchyard-metadata`
//! tag, over a fixed or sliding window. Checked here into [`BudgetSpec`]s; spending them is
//! `crate::budgets`' job. Never holds money spent, only limits.

use super::checker::Checker;
use super::raw::RawBudget;
use std::collections::BTreeMap;
use switchyard_policy::budget::micro_usd;
use switchyard_policy::{BudgetLimit, MicroUsd, Window};
use toml::Spanned;

/// What a budget applies to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum BudgetScope {
    /// Every request of a tenant.
    Tenant(String),
    /// Every request made with one API key (`key_…`).
    Key(String),
    /// Every request that runs under a route class.
    RouteClass(String),
    /// Every request whose `x-switchyard-metadata` holds `name` with this value.
    Tag { name: String, value: String },
}

impl BudgetScope {
    /// The scope's name in events, metrics and refusals: `tenant:acme`, `key:key_1`,
    /// `class:reasoning-heavy`, `tag:team=search`.
    pub fn name(&self) -> String {
        match self {
            BudgetScope::Tenant(t) => format!("tenant:{t}"),
            BudgetScope::Key(k) => format!("key:{k}"),
            BudgetScope::RouteClass(c) => format!("class:{c}"),
            BudgetScope::Tag { name, value } => format!("tag:{name}={value}"),
        }
    }
}

/// One validated budget.
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetSpec {
    pub scope: BudgetScope,
    /// The limit (micro-USD) and its window.
    pub limit: BudgetLimit,
    /// How much a node takes from the shared ledger at a time (micro-USD, at least 1).
    pub lease: MicroUsd,
}

/// Checks every `[[budgets]]` entry; two budgets on one scope are an error.
pub(super) fn budgets(c: &mut Checker<'_>, raw: &[Spanned<RawBudget>]) -> Vec<BudgetSpec> {
    let mut out = Vec::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (i, entry) in raw.iter().enumerate() {
        let key = format!("budgets[{i}]");
        let Some(spec) = budget(c, entry.get_ref(), entry.span(), &key) else {
            continue;
        };
        let name = spec.scope.name();
        if let Some(first) = seen.insert(name.clone(), i) {
            c.error(
                entry.span(),
                &key,
                format!("budget {name} is already defined by budgets[{first}]"),
            );
            continue;
        }
        out.push(spec);
    }
    out
}

fn budget(
    c: &mut Checker<'_>,
    b: &RawBudget,
    span: std::ops::Range<usize>,
    key: &str,
) -> Option<BudgetSpec> {
    let scopes = [
        ("tenant", &b.tenant),
        ("key", &b.key),
        ("route_class", &b.route_class),
        ("tag", &b.tag),
    ];
    let given: Vec<(&str, &Spanned<String>)> = scopes
        .iter()
        .filter_map(|(field, v)| v.as_ref().map(|v| (*field, v)))
        .collect();
    let [(field, value)] = given[..] else {
        c.error(
            span,
            key,
            "a budget needs exactly one scope: tenant, key, route_class or tag",
        );
        return None;
    };
    let text = value.get_ref().trim();
    let field_key = format!("{key}.{field}");
    let scope = match field {
        "tag" => match text.split_once('=') {
            Some((name, v)) if !name.trim().is_empty() && !v.trim().is_empty() => {
                BudgetScope::Tag {
                    name: name.trim().to_owned(),
                    value: v.trim().to_owned(),
                }
            }
            _ => {
                c.error(
                    value.span(),
                    field_key,
                    format!("tag {text:?} is not name=value (an x-switchyard-metadata entry)"),
                );
                return None;
            }
        },
        _ if text.is_empty() || text.len() > 128 => {
            c.error(value.span(), field_key, "must be 1-128 characters");
            return None;
        }
        "tenant" => BudgetScope::Tenant(text.to_owned()),
        "key" => BudgetScope::Key(text.to_owned()),
        _ => BudgetScope::RouteClass(text.to_owned()),
    };
    let usd = |c: &mut Checker<'_>, v: &Spanned<f64>, field: &str| {
        let x = *v.get_ref();
        if x.is_finite() && x > 0.0 {
            Some(micro_usd(x))
        } else {
            c.error(
                v.span(),
                format!("{key}.{field}"),
                "must be a positive number of US dollars",
            );
            None
        }
    };
    let Some(limit_usd) = &b.limit_usd else {
        c.error(span, format!("{key}.limit_usd"), "a budget needs limit_usd");
        return None;
    };
    let limit = usd(c, limit_usd, "limit_usd")?;
    let length_ms = match &b.window_secs {
        None => {
            c.error(
                span,
                format!("{key}.window_secs"),
                "a budget needs window_secs",
            );
            return None;
        }
        Some(s) if *s.get_ref() == 0 || *s.get_ref() > 366 * 86_400 => {
            c.error(
                s.span(),
                format!("{key}.window_secs"),
                "must be from 1 second to 366 days",
            );
            return None;
        }
        Some(s) => s.get_ref() * 1_000,
    };
    let window = match b.window.as_ref().map(|w| (w, w.get_ref().as_str())) {
        None | Some((_, "fixed")) => Window::Fixed { length_ms },
        Some((_, "sliding")) => Window::Sliding { length_ms },
        Some((w, other)) => {
            c.error(
                w.span(),
                format!("{key}.window"),
                format!("unknown window {other:?}; expected fixed or sliding"),
            );
            return None;
        }
    };
    let lease = match &b.lease_usd {
        None => (limit / 10).max(1),
        Some(l) => {
            let lease = usd(c, l, "lease_usd")?;
            if lease > limit {
                c.error(
                    l.span(),
                    format!("{key}.lease_usd"),
                    "a lease cannot be larger than the limit",
                );
                return None;
            }
            lease
        }
    };
    Some(BudgetSpec {
        scope,
        limit: BudgetLimit { limit, window },
        lease,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn parse(text: &str) -> Result<Vec<BudgetSpec>, String> {
        crate::config::parse("b.toml", text, &|_| None)
            .map(|c| c.budgets)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn every_scope_and_window() {
        let specs = parse(
            r#"
[[budgets]]
tenant = "acme"
limit_usd = 10.0
window_secs = 86400

[[budgets]]
key = "key_1"
limit_usd = 1.0
window = "sliding"
window_secs = 3600
lease_usd = 0.05

[[budgets]]
route_class = "reasoning-heavy"
limit_usd = 2.5
window_secs = 60

[[budgets]]
tag = "team = search"
limit_usd = 0.5
window_secs = 60
"#,
        )
        .unwrap();
        let names: Vec<String> = specs.iter().map(|s| s.scope.name()).collect();
        assert_eq!(
            names,
            [
                "tenant:acme",
                "key:key_1",
                "class:reasoning-heavy",
                "tag:team=search"
            ]
        );
        assert_eq!(specs[0].limit.limit, 10_000_000);
        assert_eq!(specs[0].lease, 1_000_000);
        assert_eq!(
            specs[0].limit.window,
            Window::Fixed {
                length_ms: 86_400_000
            }
        );
        assert_eq!(
            specs[1].limit.window,
            Window::Sliding {
                length_ms: 3_600_000
            }
        );
        assert_eq!(specs[1].lease, 50_000);
    }

    #[test]
    fn errors_name_the_line_and_field() {
        let e =
            parse("[[budgets]]\ntenant = \"a\"\nkey = \"k\"\nlimit_usd = 1.0\nwindow_secs = 1\n")
                .unwrap_err();
        assert!(
            e.starts_with("b.toml:1: budgets[0]: a budget needs exactly one scope"),
            "{e}"
        );
        let e =
            parse("[[budgets]]\ntenant = \"a\"\nlimit_usd = -1.0\nwindow_secs = 1\n").unwrap_err();
        assert!(
            e.starts_with("b.toml:3: budgets[0].limit_usd: must be a positive"),
            "{e}"
        );
        let e =
            parse("[[budgets]]\ntag = \"team\"\nlimit_usd = 1.0\nwindow_secs = 1\n").unwrap_err();
        assert!(
            e.contains("b.toml:2: budgets[0].tag: tag \"team\" is not name=value"),
            "{e}"
        );
        let e = parse(
            "[[budgets]]\ntenant = \"a\"\nlimit_usd = 1.0\nwindow = \"rolling\"\nwindow_secs = 1\n",
        )
        .unwrap_err();
        assert!(
            e.contains("b.toml:4: budgets[0].window: unknown window"),
            "{e}"
        );
        let e = parse(
            "[[budgets]]\ntenant = \"a\"\nlimit_usd = 1.0\nwindow_secs = 1\n\n[[budgets]]\ntenant = \"a\"\nlimit_usd = 2.0\nwindow_secs = 1\n",
        )
        .unwrap_err();
        assert!(
            e.contains("b.toml:6: budgets[1]: budget tenant:a is already defined by budgets[0]"),
            "{e}"
        );
        let e = parse(
            "[[budgets]]\ntenant = \"a\"\nlimit_usd = 1.0\nwindow_secs = 1\nlease_usd = 2.0\n",
        )
        .unwrap_err();
        assert!(
            e.contains("budgets[0].lease_usd: a lease cannot be larger"),
            "{e}"
        );
    }
}
