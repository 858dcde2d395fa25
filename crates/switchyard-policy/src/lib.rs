//! The policy plane: pure functions that decide where a request may go. This crate never does
//! I/O and never reads the clock: time and state are inputs.
#![forbid(unsafe_code)]

#[warn(missing_docs)]
pub mod backoff;
#[warn(missing_docs)]
pub mod breaker;
#[warn(missing_docs)]
pub mod budget;
#[warn(missing_docs)]
pub mod classify;
#[warn(missing_docs)]
pub mod data_class;
#[warn(missing_docs)]
pub mod decide;
#[warn(missing_docs)]
pub mod decision;
#[warn(missing_docs)]
pub mod digest;
#[warn(missing_docs)]
pub mod model;
#[warn(missing_docs)]
pub mod profile;
#[warn(missing_docs)]
pub mod redact;
#[warn(missing_docs)]
pub mod route_class;
pub mod target;

/// Lets the shared test fixtures name this crate as integration tests do.
#[cfg(test)]
extern crate self as switchyard_policy;
#[cfg(test)]
#[path = "../tests/common/mod.rs"]
mod test_fixtures;

pub use backoff::Backoff;
pub use breaker::{Breaker, BreakerConfig, Health, HealthSnapshot, Outcome, Permit};
pub use budget::{BudgetLimit, BudgetState, Ledger, MicroUsd, OverBudget, Reservation, Window};
pub use classify::{
    Classification, CustomDetector, DetectorError, Detectors, DetectorsConfig, Field, Finding, Hit,
    classify,
};
pub use data_class::{DataClass, DataClasses, UnknownDataClass};
pub use decide::decide;
pub use decision::{
    Candidate, Decision, DecisionInput, Plan, Reason, Refusal, RefusalKind, RequestSummary, Step,
    Timeouts,
};
pub use model::{ModelFacts, ModelTable};
pub use profile::{
    AllowRule, Node, NodeSpec, Profile, ProfileError, ProfileErrors, ProfileSnapshot, Route,
    RouteSpec, Slo,
};
pub use redact::{
    Action, RedactionPolicy, redact_embed_request, redact_json, redact_request, redact_text,
};
pub use route_class::{
    BaseClass, ClassOverrides, ClassSettings, Hedge, RouteClass, RouteClassError, RouteClasses,
    UnknownRouteClass,
};
pub use target::Target;
