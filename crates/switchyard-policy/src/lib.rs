//! The policy plane: pure functions that decide where a request may go. This crate never does
//! I/O and never reads the clock: time and state are inputs.
#![forbid(unsafe_code)]

pub mod target;

pub use target::Target;
