//! The policy plane: pure functions that decide where a request may go. This crate never does
//! I/O and never reads the clock: time and state are inputs.
#![forbid(unsafe_code)]

#[warn(missing_docs)]
pub mod breaker;
#[warn(missing_docs)]
pub mod budget;
#[warn(missing_docs)]
pub mod classify;
#[warn(missing_docs)]
pub mod data_class;
#[warn(missing_docs)]
pub mod digest;
#[warn(missing_docs)]
pub mod redact;
#[warn(missing_docs)]
pub mod route_class;
pub mod target;

pub use classify::{
    Classification, CustomDetector, DetectorError, Detectors, DetectorsConfig, Field, Finding, Hit,
    classify,
};
pub use data_class::{DataClass, DataClasses, UnknownDataClass};
pub use redact::{Action, RedactionPolicy, redact_json, redact_request, redact_text};
pub use target::Target;
