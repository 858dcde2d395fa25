//! The Switchyard gateway: admission, execution, the front doors, config and the command line.
//! The only crate that wires the others together.
#![forbid(unsafe_code)]

pub mod admin;
pub mod admission;
pub mod artifacts;
pub mod budgets;
pub mod cli;
pub mod config;
pub mod doors;
pub mod error;
pub mod health;
pub mod idle;
pub mod ids;
pub mod listen;
pub mod mock_provider;
pub mod pipeline;
pub mod pools;
pub mod profiles;
pub mod registry;
pub mod scrub;
pub mod server;
pub mod state;
pub mod traces;
