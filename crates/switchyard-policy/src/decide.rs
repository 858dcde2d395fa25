//! `decide`: from a request summary, its class, data classes, region, the pinned profile,
//! budgets, breaker health and `now`, the `Decision` (an ordered plan with limits and a reason
//! for every candidate) or a `Refusal`. Pure and deterministic: never reads the clock or state.

use crate::breaker::Health;
use crate::budget::MicroUsd;
use crate::decision::{
    Candidate, Decision, DecisionInput, Plan, Reason, Refusal, RefusalKind, Step, Timeouts,
};
use crate::profile::{Node, ProfileSnapshot, Route, default_fallback_on};
use crate::route_class::{ClassSettings, Hedge, RouteClass};
use std::collections::{BTreeMap, BTreeSet};
use switchyard_protocol::ErrorKind;

/// How far a candidate got through the checks; the furthest any got picks the refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    Unknown,
    Region,
    Allowlist,
    Fit,
    Health,
    Cost,
    Included,
}

/// A node of the expanded tree (alias nodes followed).
enum Raw {
    Try(String),
    Race(Vec<String>, Option<u64>),
    Guard(Vec<String>),
}

/// The expanded tree of the model asked: the route used, its fallback kinds and its nodes.
struct Tree {
    route: Option<String>,
    fallback_on: Vec<ErrorKind>,
    nodes: Vec<Raw>,
}

struct Verdict {
    stage: Stage,
    why: String,
    candidate: Option<Candidate>,
}

struct Judge<'a> {
    input: &'a DecisionInput<'a>,
    settings: &'a ClassSettings,
    region: Option<&'a str>,
    verdicts: BTreeMap<String, Verdict>,
    order: Vec<String>,
}

/// Decides where a request goes; same input, same result.
pub fn decide(input: &DecisionInput<'_>) -> Result<Decision, Refusal> {
    let profile = input.profile;
    let input_digest = input.digest();
    let refuse = |kind, message: String, reasons: Vec<Reason>| Refusal {
        kind,
        message,
        reasons,
        profile: profile.id(),
        input_digest: input_digest.clone(),
    };
    let class = &input.route_class;
    let Some(settings) = profile.classes().settings(class) else {
        let known = profile.classes().names().join(", ");
        let message = format!("unknown route class {:?}; known: {known}", class.name);
        return Err(refuse(RefusalKind::UnknownClass, message, Vec::new()));
    };
    let req = &input.request;
    if req.estimated_input_tokens > settings.context_limit_tokens {
        let message = format!(
            "about {} input tokens is over the {class} limit of {} tokens",
            req.estimated_input_tokens, settings.context_limit_tokens
        );
        return Err(refuse(RefusalKind::ContextTooLarge, message, Vec::new()));
    }
    let mut notes = Vec::new();
    let region = pick_region(input, settings, &mut notes)
        .map_err(|(kind, message)| refuse(kind, message, Vec::new()))?;
    if let Some((scope, 0)) = input.budget.tightest() {
        let message = format!("budget {scope} is exhausted for this window");
        return Err(refuse(RefusalKind::BudgetExhausted, message, Vec::new()));
    }
    let Tree {
        route,
        fallback_on,
        nodes: tree,
    } = expand(profile, &req.model, class)
        .map_err(|message| refuse(RefusalKind::UnknownModel, message, Vec::new()))?;

    let mut judge = Judge {
        input,
        settings,
        region: region.as_deref(),
        verdicts: BTreeMap::new(),
        order: Vec::new(),
    };
    let mut steps = judge.steps(&tree, &mut notes);
    if settings.smallest_fallback && steps.len() > 2 {
        let rank = |s: &Step| {
            s.candidates()
                .iter()
                .filter_map(|c| profile.models().facts(&c.target.model))
                .map(|f| f.size_rank)
                .min()
                .unwrap_or(u32::MAX)
        };
        steps[1..].sort_by_key(rank);
        notes.push("fallbacks ordered smallest model first".to_owned());
    }
    let max_steps = 1 + settings.max_retries as usize;
    if steps.len() > max_steps {
        for step in steps.drain(max_steps..) {
            for c in step.candidates() {
                judge.set(
                    &c.target.model,
                    format!(
                        "beyond the retry cap: class {class} takes at most {max_steps} step(s)"
                    ),
                );
            }
        }
    }
    for (i, step) in steps.iter().enumerate() {
        for c in step.candidates() {
            let probe = if c.probe {
                ", half-open: takes the probe"
            } else {
                ""
            };
            let why = format!(
                "step {} of {}, estimated cost at most {}{probe}",
                i + 1,
                steps.len(),
                usd(c.estimated_cost)
            );
            judge.set_included(&c.target.model, why);
        }
    }
    let reasons = judge.reasons();
    if steps.is_empty() {
        let (kind, message) = judge.refusal(&req.model);
        return Err(refuse(kind, message, reasons));
    }
    let heavy_queue = settings.heavy_queue
        || settings
            .heavy_above_tokens
            .is_some_and(|t| req.estimated_input_tokens > t);
    if heavy_queue && !settings.heavy_queue {
        notes.push(format!(
            "heavy-context pool: about {} input tokens",
            req.estimated_input_tokens
        ));
    }
    let guard = settings.cost_guard_usd.map(crate::budget::micro_usd);
    let budget = input.budget.tightest().map(|(_, left)| left);
    let cost_cap = match (guard, budget) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    Ok(Decision {
        profile: profile.id(),
        route_class: class.clone(),
        requested: req.model.clone(),
        route,
        plan: Plan { steps, fallback_on },
        timeouts: Timeouts {
            total_ms: settings.total_timeout_ms,
            attempt_ms: settings.attempt_timeout_ms.min(settings.total_timeout_ms),
            deadline_ms: input.now_ms.saturating_add(settings.total_timeout_ms),
        },
        max_retries: settings.max_retries,
        hedge: settings.hedge,
        region,
        cost_cap,
        backoff: settings.backoff,
        heavy_queue,
        redact_upstream: settings.redact_upstream.intersection(input.data_classes),
        log_payloads: settings.log_payloads,
        reasons,
        notes,
        input_digest,
        decided_at_ms: input.now_ms,
    })
}

/// The region of the request: class pin, key, request, which must agree where given.
fn pick_region(
    input: &DecisionInput<'_>,
    settings: &ClassSettings,
    notes: &mut Vec<String>,
) -> Result<Option<String>, (RefusalKind, String)> {
    let sources = [
        ("route class", settings.region.as_deref()),
        ("key", input.key_region.as_deref()),
        ("request", input.request_region.as_deref()),
    ];
    let mut given = sources
        .into_iter()
        .filter_map(|(source, r)| r.map(|r| (source, r)));
    let Some((source, region)) = given.next() else {
        if settings.region_required {
            let message = format!(
                "route class {} requires a region: send x-switchyard-region or use a key pinned to one",
                input.route_class
            );
            return Err((RefusalKind::RegionRequired, message));
        }
        return Ok(None);
    };
    if let Some((other, theirs)) = given.find(|(_, r)| *r != region) {
        let message =
            format!("the {other} asks for region {theirs} but the {source} pins {region}");
        return Err((RefusalKind::RegionConflict, message));
    }
    notes.push(format!("region {region} pinned by the {source}"));
    Ok(Some(region.to_owned()))
}

/// The expanded tree of `model` for `class`: the route name, its fallback kinds and nodes.
fn expand(profile: &ProfileSnapshot, model: &str, class: &RouteClass) -> Result<Tree, String> {
    if profile.has_alias(model) {
        let Some((key, route)) = profile.route(model, class) else {
            return Err(format!(
                "alias {model:?} has no route for class {class}, {}, or default",
                class.base
            ));
        };
        let mut seen = BTreeSet::from([model.to_owned()]);
        let mut out = Vec::new();
        push_nodes(profile, route, class, &mut seen, &mut out);
        return Ok(Tree {
            route: Some(format!("{model}.{key}")),
            fallback_on: route.fallback_on.clone(),
            nodes: out,
        });
    }
    if profile.models().facts(model).is_some() {
        return Ok(Tree {
            route: None,
            fallback_on: default_fallback_on(),
            nodes: vec![Raw::Try(model.to_owned())],
        });
    }
    let aliases: Vec<&str> = profile.alias_names().collect();
    Err(format!(
        "unknown model or alias {model:?}; aliases: {}; or a provider/model id",
        aliases.join(", ")
    ))
}

fn push_nodes(
    profile: &ProfileSnapshot,
    route: &Route,
    class: &RouteClass,
    seen: &mut BTreeSet<String>,
    out: &mut Vec<Raw>,
) {
    for node in &route.nodes {
        match node {
            Node::Try(m) => out.push(Raw::Try(m.clone())),
            Node::Race { models, hedge_ms } => out.push(Raw::Race(models.clone(), *hedge_ms)),
            Node::CostGuard(models) => out.push(Raw::Guard(models.clone())),
            Node::Alias(next) => {
                if seen.insert(next.clone())
                    && let Some((_, r)) = profile.route(next, class)
                {
                    push_nodes(profile, r, class, seen, out);
                }
            }
        }
    }
}

/// Micro-USD as dollars for reasons.
fn usd(micros: MicroUsd) -> String {
    format!("${}.{:06}", micros / 1_000_000, micros % 1_000_000)
}

impl Judge<'_> {
    /// Turns the expanded tree into steps, judging each distinct model once, in tree order.
    fn steps(&mut self, tree: &[Raw], notes: &mut Vec<String>) -> Vec<Step> {
        let mut steps = Vec::new();
        for node in tree {
            match node {
                Raw::Try(m) => steps.extend(self.take(m, false).map(Step::Try)),
                Raw::Guard(models) => {
                    for m in models {
                        steps.extend(self.take(m, true).map(Step::Try));
                    }
                }
                Raw::Race(models, hedge_ms) => {
                    let mut cs: Vec<Candidate> =
                        models.iter().filter_map(|m| self.take(m, false)).collect();
                    let width = self.settings.hedge.width();
                    if cs.len() > width {
                        let names: Vec<&str> = cs.iter().map(|c| c.target.model.as_str()).collect();
                        notes.push(format!(
                            "race of {} runs {width} at a time: class {} allows no more",
                            names.join(", "),
                            self.input.route_class
                        ));
                    }
                    let rest = cs.split_off(width.min(cs.len()));
                    let hedge = hedge_ms.or(match self.settings.hedge {
                        Hedge::Delay { after_ms } => Some(after_ms),
                        Hedge::Off | Hedge::Race { .. } => None,
                    });
                    match cs.len() {
                        0 => {}
                        1 => steps.extend(cs.into_iter().map(Step::Try)),
                        _ => steps.push(Step::Race {
                            candidates: cs,
                            hedge_ms: hedge,
                        }),
                    }
                    steps.extend(rest.into_iter().map(Step::Try));
                }
            }
        }
        steps
    }

    /// Judges `model` the first time it appears; `None` when excluded or already judged.
    fn take(&mut self, model: &str, guarded: bool) -> Option<Candidate> {
        if self.verdicts.contains_key(model) {
            return None;
        }
        let verdict = self.judge(model, guarded);
        let candidate = verdict.candidate.clone();
        self.order.push(model.to_owned());
        self.verdicts.insert(model.to_owned(), verdict);
        candidate
    }

    fn judge(&self, model: &str, guarded: bool) -> Verdict {
        let out = |stage, why: String| Verdict {
            stage,
            why,
            candidate: None,
        };
        let input = self.input;
        let Some(facts) = input.profile.models().facts(model) else {
            return out(Stage::Unknown, "not in the model table".to_owned());
        };
        let target = &facts.target;
        if let Some(region) = self.region
            && target.region.as_deref() != Some(region)
        {
            let serves = target.region.as_deref().unwrap_or("no region");
            return out(
                Stage::Region,
                format!("outside region {region} (serves {serves})"),
            );
        }
        if self.settings.allowlist_required
            && let Some(why) = input.profile.allowlist_refusal(target, input.data_classes)
        {
            return out(Stage::Allowlist, why);
        }
        let req = &input.request;
        let needed = req
            .estimated_input_tokens
            .saturating_add(req.max_output_tokens.unwrap_or(0));
        if needed > facts.context_window {
            return out(
                Stage::Fit,
                format!(
                    "context window {} < {needed} tokens needed",
                    facts.context_window
                ),
            );
        }
        if req.tools && !facts.tools {
            return out(Stage::Fit, "does not take tools".to_owned());
        }
        let probe = match input.health.get(model) {
            Health::Closed => false,
            Health::Open { retry_at_ms } if input.now_ms < retry_at_ms => {
                return out(
                    Stage::Health,
                    format!("circuit open until {retry_at_ms} ms"),
                );
            }
            Health::HalfOpen {
                probe_in_flight: true,
            } => {
                return out(
                    Stage::Health,
                    "circuit half-open, its probe is in flight".to_owned(),
                );
            }
            Health::Open { .. } | Health::HalfOpen { .. } => true,
        };
        let cost = facts.estimate(req.estimated_input_tokens, req.max_output_tokens);
        if let Some(guard) = self.settings.cost_guard_usd.map(crate::budget::micro_usd)
            && cost > guard
        {
            return out(
                Stage::Cost,
                format!(
                    "estimated cost {} exceeds the class guardrail {}",
                    usd(cost),
                    usd(guard)
                ),
            );
        }
        if guarded
            && let Some((scope, left)) = input.budget.tightest()
            && cost > left
        {
            return out(
                Stage::Cost,
                format!(
                    "estimated cost {} exceeds the {} left in budget {scope}",
                    usd(cost),
                    usd(left)
                ),
            );
        }
        Verdict {
            stage: Stage::Included,
            why: String::new(),
            candidate: Some(Candidate {
                target: target.clone(),
                estimated_cost: cost,
                probe,
            }),
        }
    }

    fn set(&mut self, model: &str, why: String) {
        if let Some(v) = self.verdicts.get_mut(model) {
            v.candidate = None;
            v.why = why;
        }
    }

    fn set_included(&mut self, model: &str, why: String) {
        if let Some(v) = self.verdicts.get_mut(model) {
            v.why = why;
        }
    }

    fn reasons(&self) -> Vec<Reason> {
        self.order
            .iter()
            .filter_map(|m| self.verdicts.get(m).map(|v| (m, v)))
            .map(|(m, v)| Reason {
                model: m.clone(),
                region: self
                    .input
                    .profile
                    .models()
                    .facts(m)
                    .and_then(|f| f.target.region.clone()),
                included: v.candidate.is_some(),
                why: v.why.clone(),
            })
            .collect()
    }

    /// The refusal when nothing is left: picked by the furthest stage any candidate reached.
    fn refusal(&self, requested: &str) -> (RefusalKind, String) {
        let furthest = self.verdicts.values().map(|v| v.stage).max();
        let within = self
            .region
            .map(|r| format!(" in region {r}"))
            .unwrap_or_default();
        let classes = if self.input.data_classes.is_empty() {
            "public".to_owned()
        } else {
            self.input.data_classes.to_string()
        };
        match furthest {
            Some(Stage::Health) => (
                RefusalKind::NoHealthyTarget,
                format!(
                    "no healthy target for {requested}{within}: every allowed one has an open circuit"
                ),
            ),
            Some(Stage::Cost) => (
                RefusalKind::BudgetExhausted,
                format!(
                    "every target for {requested} costs more than the budget or guardrail allows"
                ),
            ),
            Some(Stage::Fit) => (
                RefusalKind::NoModelFits,
                format!(
                    "no target for {requested}{within} fits this request (context window or tools)"
                ),
            ),
            Some(Stage::Allowlist) | Some(Stage::Region) if self.settings.allowlist_required => (
                RefusalKind::NotAllowlisted,
                format!(
                    "no provider for {requested} is allowlisted for data classes {classes}{within}"
                ),
            ),
            _ => (
                RefusalKind::NotAllowlisted,
                format!("no target for {requested}{within} may serve this request"),
            ),
        }
    }
}

#[cfg(test)]
mod tests;
