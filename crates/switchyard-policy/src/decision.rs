//! What `decide` reads and writes: the request summary and the rest of its input, the
//! `Decision` (a `Plan` plus limits and reasons) and the `Refusal`. Plain serialisable data for
//! the evidence plane; nothing here decides anything.

use crate::backoff::Backoff;
use crate::breaker::HealthSnapshot;
use crate::budget::{BudgetState, MicroUsd};
use crate::digest::digest;
use crate::profile::ProfileSnapshot;
use crate::route_class::{Hedge, RouteClass};
use crate::{DataClasses, Target};
use serde::{Deserialize, Serialize};
use std::fmt;
use switchyard_protocol::{ChatRequest, ErrorKind, Part};

/// What `decide` needs to know of the request itself.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RequestSummary {
    /// The model as asked: an alias (`fast`) or `provider/model`.
    pub model: String,
    /// Estimated prompt tokens.
    pub estimated_input_tokens: u64,
    /// The request's `max_tokens`, when it set one.
    pub max_output_tokens: Option<u64>,
    /// Whether the client asked for a stream.
    pub stream: bool,
    /// Whether the request carries tool definitions.
    pub tools: bool,
}

impl RequestSummary {
    /// The summary of a chat request. Input tokens are estimated without a tokenizer: a
    /// quarter of the text's bytes plus a few per message, an upper-leaning figure for English
    /// and code that costs one pass over the text (the real count comes back in the usage).
    pub fn of_chat(req: &ChatRequest) -> Self {
        let mut bytes = 0usize;
        for m in &req.messages {
            bytes += 16;
            for part in &m.content {
                bytes += match part {
                    Part::Text { text } => text.len(),
                    // An image costs the provider hundreds of tokens whatever its URL length.
                    Part::Image { .. } => 3_000,
                };
            }
            for call in &m.tool_calls {
                bytes += call.name.len() + call.arguments.len() + 16;
            }
        }
        for tool in &req.tools {
            bytes += tool.name.len()
                + tool.description.as_deref().map_or(0, str::len)
                + tool.parameters.to_string().len();
        }
        let choices = u64::from(req.n.max(1));
        RequestSummary {
            model: req.model.clone(),
            estimated_input_tokens: bytes.div_ceil(4) as u64,
            max_output_tokens: req.max_tokens.map(|t| u64::from(t) * choices),
            stream: req.stream,
            tools: !req.tools.is_empty(),
        }
    }

    /// The summary of an embeddings request over `inputs` of `bytes` bytes in all.
    pub fn of_embeddings(model: &str, bytes: usize) -> Self {
        RequestSummary {
            model: model.to_owned(),
            estimated_input_tokens: bytes.div_ceil(4) as u64,
            max_output_tokens: Some(0),
            stream: false,
            tools: false,
        }
    }
}

/// Everything one decision depends on; time and state included, so `decide` reads nothing else.
#[derive(Debug, Clone)]
pub struct DecisionInput<'p> {
    /// The request.
    pub request: RequestSummary,
    /// Its route class, as parsed against `profile.classes()`.
    pub route_class: RouteClass,
    /// Declared and found data classes.
    pub data_classes: DataClasses,
    /// The region the request asks for (`x-switchyard-region`).
    pub request_region: Option<String>,
    /// The region its API key is pinned to.
    pub key_region: Option<String>,
    /// The profile snapshot the request pinned.
    pub profile: &'p ProfileSnapshot,
    /// Budget left per scope.
    pub budget: BudgetState,
    /// Breaker state per target.
    pub health: HealthSnapshot,
    /// Now, in epoch milliseconds.
    pub now_ms: u64,
}

#[derive(Serialize)]
struct Canonical<'a> {
    request: &'a RequestSummary,
    route_class: &'a RouteClass,
    data_classes: DataClasses,
    request_region: &'a Option<String>,
    key_region: &'a Option<String>,
    profile: String,
    profile_digest: &'a str,
    budget: &'a BudgetState,
    health: &'a HealthSnapshot,
    now_ms: u64,
}

impl DecisionInput<'_> {
    /// Stable digest of the canonical input (the profile by id and content digest).
    pub fn digest(&self) -> String {
        digest(&Canonical {
            request: &self.request,
            route_class: &self.route_class,
            data_classes: self.data_classes,
            request_region: &self.request_region,
            key_region: &self.key_region,
            profile: self.profile.id(),
            profile_digest: self.profile.digest(),
            budget: &self.budget,
            health: &self.health,
            now_ms: self.now_ms,
        })
    }
}

/// One target the plan may send the request to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    /// Where to send it.
    pub target: Target,
    /// The most this attempt can cost (its `max_tokens` or the model's default output).
    pub estimated_cost: MicroUsd,
    /// The target's breaker is half-open: this attempt must take its probe permit.
    pub probe: bool,
}

/// One step of the plan: an attempt, or parallel attempts of which the first good one wins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Step {
    /// One attempt.
    Try(Candidate),
    /// Attempts in parallel; with `hedge_ms`, each next one starts that long after the previous.
    Race {
        /// The candidates, in start order.
        candidates: Vec<Candidate>,
        /// Delay between starts (ms); all at once when `None`.
        hedge_ms: Option<u64>,
    },
}

impl Step {
    /// The candidates of this step, in start order.
    pub fn candidates(&self) -> &[Candidate] {
        match self {
            Step::Try(c) => std::slice::from_ref(c),
            Step::Race { candidates, .. } => candidates,
        }
    }
}

/// The ordered steps to walk, and the error kinds that move on to the next step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Steps in order; the executor never goes past the last.
    pub steps: Vec<Step>,
    /// Error kinds that move on; any other error ends the request.
    pub fallback_on: Vec<ErrorKind>,
}

impl Plan {
    /// Every candidate of every step, in order.
    pub fn targets(&self) -> impl Iterator<Item = &Candidate> {
        self.steps.iter().flat_map(Step::candidates)
    }
}

/// Time limits of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeouts {
    /// For the whole request, every attempt included (ms).
    pub total_ms: u64,
    /// For one attempt (ms), never past the total.
    pub attempt_ms: u64,
    /// `now_ms + total_ms`: when the request must be done (epoch ms).
    pub deadline_ms: u64,
}

/// Why one candidate target is in the plan or out of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    /// The target's `provider/model`.
    pub model: String,
    /// The target's region, when known.
    pub region: Option<String>,
    /// In the plan or not.
    pub included: bool,
    /// Why, in words an operator reads.
    pub why: String,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.included {
            "included"
        } else {
            "excluded"
        };
        match &self.region {
            Some(r) => write!(f, "{} ({r}) {verdict}: {}", self.model, self.why),
            None => write!(f, "{} {verdict}: {}", self.model, self.why),
        }
    }
}

/// A decision: what to try in which order, within which limits, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// `name@version` of the profile used.
    pub profile: String,
    /// The class the request ran under.
    pub route_class: RouteClass,
    /// The model or alias asked.
    pub requested: String,
    /// The profile route used (`fast.latency-critical`); `None` for a `provider/model` ask.
    pub route: Option<String>,
    /// The steps.
    pub plan: Plan,
    /// Time limits.
    pub timeouts: Timeouts,
    /// Steps after the first the executor may take (the plan holds no more than that).
    pub max_retries: u32,
    /// Parallel candidates allowed by the class.
    pub hedge: Hedge,
    /// The region every target is in, when one is pinned.
    pub region: Option<String>,
    /// Most the request may spend over all its attempts; the executor starts no attempt past it.
    pub cost_cap: Option<MicroUsd>,
    /// Wait between retries (jitter seeded by the executor).
    pub backoff: Backoff,
    /// Runs in the heavy-context pool.
    pub heavy_queue: bool,
    /// Data classes to redact from the request before it goes upstream: the class's setting,
    /// narrowed to the classes the request holds.
    pub redact_upstream: DataClasses,
    /// The class's payload-logging setting (`None`: the config's default).
    pub log_payloads: Option<bool>,
    /// One reason per candidate target, included or excluded, in tree order.
    pub reasons: Vec<Reason>,
    /// Choices that concern the whole request (region source, flattened races, ordering).
    pub notes: Vec<String>,
    /// Digest of the canonical input.
    pub input_digest: String,
    /// `now_ms` of the input.
    pub decided_at_ms: u64,
}

impl Decision {
    /// The step attempt `n` (0 for the first) runs: the plan's steps in order, then the last
    /// one again while retries remain; `None` once `1 + max_retries` attempts are spent.
    pub fn step_for_attempt(&self, n: usize) -> Option<&Step> {
        if n > self.max_retries as usize {
            return None;
        }
        self.plan.steps.get(n).or(self.plan.steps.last())
    }
}

/// Why a request is refused before any attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalKind {
    /// The route class is not in the profile (400).
    UnknownClass,
    /// The model or alias is unknown, or has no route for the class (404).
    UnknownModel,
    /// The input is over the class's context limit (413).
    ContextTooLarge,
    /// The class needs a region and neither request nor key gives one (400).
    RegionRequired,
    /// Request, key and class name different regions (403).
    RegionConflict,
    /// No candidate is allowlisted for the data classes in the region (403).
    NotAllowlisted,
    /// No candidate fits the request: context window or tools (400).
    NoModelFits,
    /// Candidates pass policy but none is healthy (503).
    NoHealthyTarget,
    /// The budget left cannot pay for any candidate (429).
    BudgetExhausted,
}

impl RefusalKind {
    /// The HTTP status the gateway answers with.
    pub fn status(self) -> u16 {
        match self {
            RefusalKind::UnknownClass | RefusalKind::RegionRequired | RefusalKind::NoModelFits => {
                400
            }
            RefusalKind::UnknownModel => 404,
            RefusalKind::ContextTooLarge => 413,
            RefusalKind::RegionConflict | RefusalKind::NotAllowlisted => 403,
            RefusalKind::NoHealthyTarget => 503,
            RefusalKind::BudgetExhausted => 429,
        }
    }
}

/// A request `decide` will not route, with the reasons, for the client and the evidence plane.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    /// What kind of refusal (gives the status).
    pub kind: RefusalKind,
    /// What was wrong and what would be right, safe to show the client.
    pub message: String,
    /// One reason per candidate considered, when it got that far.
    pub reasons: Vec<Reason>,
    /// `name@version` of the profile used.
    pub profile: String,
    /// Digest of the canonical input.
    pub input_digest: String,
}

impl Refusal {
    /// The HTTP status the gateway answers with.
    pub fn status(&self) -> u16 {
        self.kind.status()
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Refusal {}
