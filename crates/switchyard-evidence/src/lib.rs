//! The evidence plane: the hash-chained event log, its stores (SQLite embedded, PostgreSQL
//! shared), the batching writer, chain verification, and the price table. Nothing here writes
//! prompt or completion text: events carry structured facts only. `report` reads them back as
//! figures per route class and target.
#![forbid(unsafe_code)]

pub mod artifact;
pub mod budget_ledger;
pub mod event;
pub mod integrity;
pub mod keys;
pub mod postgres;
pub mod pricing;
pub mod report;
pub mod sqlite;
pub mod store;
pub mod telemetry;
pub mod verify;
pub mod writer;

pub use event::{Digest, Draft, Event, EventKind};
pub use keys::KeyRecord;
pub use store::{Position, Store, StoreError, open};
pub use writer::{EventLog, Writer};
