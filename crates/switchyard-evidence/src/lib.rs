//! The evidence plane: the hash-chained event log, the batching writer, chain verification,
//! and the price table; and the store, one trait per concern (events, artifacts, keys, budget
//! leases, sessions, idempotency records, counters; see [`store`]) on SQLite (embedded) and
//! PostgreSQL (shared). Nothing here writes prompt or completion text: events carry structured
//! facts only, and the bodies the gateway stores are bytes it chose. `report` reads events
//! back as figures per route class and target.
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
#[doc(hidden)]
pub mod testing;
pub mod verify;
pub mod writer;

pub use event::{Digest, Draft, Event, EventKind};
pub use keys::KeyRecord;
pub use store::{Position, Store, StoreError, open};
pub use writer::{EventLog, Writer};
