//! The shared store: PostgreSQL, for several gateway nodes writing their own streams and
//! sharing everything else (one module per concern). A write that reads before it decides (a
//! lease, a claim, a lock) locks what it reads first, so nodes take turns on it.

mod artifacts;
mod counters;
mod events;
mod idempotency;
mod keys;
mod leases;
mod sessions;

use crate::store::StoreError;
use sqlx::postgres::{PgPool, PgPoolOptions};
use std::time::Duration;

/// Every concern in PostgreSQL.
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to `postgres://…` and migrates.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let fail = |e: &dyn std::fmt::Display| StoreError::Open {
            url: redact_password(url),
            message: e.to_string(),
        };
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(5))
            .connect(url)
            .await
            .map_err(|e| fail(&e))?;
        sqlx::migrate!("migrations/postgres")
            .run(&pool)
            .await
            .map_err(|e| fail(&e))?;
        Ok(Self { pool })
    }
}

/// A URL fit for an error message: the password replaced.
fn redact_password(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}
