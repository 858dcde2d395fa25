//! Idempotency records: the first call with a key runs and its answer is kept; a repeat with
//! the same key and the same request gets that answer without running again, on any node.
//!
//! - **Claim first**: a caller claims the key before it runs the call. Exactly one concurrent
//!   claim wins; the others see it in flight (wait, then claim again), done (replay its
//!   answer), or made for another request (`Mismatch`: the key was reused).
//! - **Leases**: a claim holds for `lease_ms`; its holder extends it by claiming again. A claim
//!   whose holder died lets go when its lease ends, and the next claim takes it over (and says
//!   so: the dead holder's call may have reached its target).
//! - **Outcome**: the holder completes the claim with the answer (replayed from then on), or
//!   releases it when the call failed before reaching its target, so that a retry may run.
//! - **Expiry**: a key lives `ttl_ms` from its claim; after that it reads as absent and may be
//!   claimed anew, and [`IdempotencyStore::expire_idempotency`] deletes it.
//!
//! Keys are scoped by tenant: one tenant never sees or replays another's. The fingerprint and
//! the answer are the gateway's (a digest of tenant, target and canonical arguments; the
//! answer as it replays it, sealed where it must be). A record never holds a secret: the
//! gateway decides what it stores, and a store never reads a body.

use crate::store::StoreError;
use async_trait::async_trait;

/// A claim on an idempotency key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdempotencyClaim<'a> {
    pub tenant: &'a str,
    /// The client's key (the gateway checks its length and characters).
    pub key: &'a str,
    /// What identifies the request: the same key with another fingerprint is a reuse.
    pub fingerprint: &'a str,
    /// Who runs the call (a request id): only the holder completes or releases the claim.
    pub holder: &'a str,
    pub now_ms: i64,
    /// How long the holder may run before its claim can be taken over.
    pub lease_ms: i64,
    /// How long the record lives from this claim.
    pub ttl_ms: i64,
}

/// A completed call, as kept for replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub tenant: String,
    pub key: String,
    pub fingerprint: String,
    /// When the call was claimed.
    pub created_ms: i64,
    pub completed_ms: i64,
    pub expires_ms: i64,
    /// The key that sealed `body`; `None` for a body that is not sealed.
    pub key_id: Option<String>,
    /// The answer, as the gateway replays it.
    pub body: Vec<u8>,
}

/// What a claim found.
#[must_use]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The caller holds the key: run the call, then complete or release the claim.
    /// `took_over` is true when the claim of a holder whose lease ended was taken over: that
    /// holder's call may have reached its target.
    Claimed { took_over: bool },
    /// Another holder runs the call until at least `until_ms`: wait, then claim again.
    InFlight { holder: String, until_ms: i64 },
    /// The call is done: replay its answer.
    Done(IdempotencyRecord),
    /// The key was claimed for another request (`fingerprint`): nothing was claimed.
    Mismatch { fingerprint: String },
}

/// The holder's answer to a claimed call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdempotencyAnswer<'a> {
    pub tenant: &'a str,
    pub key: &'a str,
    pub holder: &'a str,
    pub now_ms: i64,
    pub key_id: Option<&'a str>,
    pub body: &'a [u8],
}

/// Where idempotency records live, shared by every node.
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Claims a key, atomically with every other node: see [`Claim`] for what it may find.
    async fn claim_idempotency(&self, claim: &IdempotencyClaim<'_>) -> Result<Claim, StoreError>;

    /// Stores the answer of a call its holder claimed and marks it done; `false` (and nothing
    /// stored) when the holder no longer holds the claim (its lease ended and it was taken
    /// over, or it expired).
    async fn complete_idempotency(
        &self,
        answer: &IdempotencyAnswer<'_>,
    ) -> Result<bool, StoreError>;

    /// Gives up a claim that `holder` holds and that is not done (the call failed before it
    /// reached its target), so that a retry may claim it; returns whether it did.
    async fn release_idempotency(
        &self,
        tenant: &str,
        key: &str,
        holder: &str,
    ) -> Result<bool, StoreError>;

    /// Deletes up to `limit` records that expired at or before `now_ms`; returns how many.
    async fn expire_idempotency(&self, now_ms: i64, limit: u32) -> Result<u64, StoreError>;
}

/// A stored record as a claim sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stored {
    pub fingerprint: String,
    pub holder: String,
    /// `None` while in flight; the answer once done.
    pub done: Option<IdempotencyRecord>,
    pub lease_until_ms: i64,
    pub expires_ms: i64,
}

/// What a claim does to the stored record, decided the same way by every backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// Nothing to write: answer with this.
    Answer(Claim),
    /// Write a fresh claim over the stored record, then answer with this.
    Write(Claim),
}

/// Decides a claim against the record already stored under its key.
pub(crate) fn decide(claim: &IdempotencyClaim<'_>, stored: Stored) -> Step {
    if stored.expires_ms <= claim.now_ms {
        return Step::Write(Claim::Claimed { took_over: false });
    }
    if stored.fingerprint != claim.fingerprint {
        return Step::Answer(Claim::Mismatch {
            fingerprint: stored.fingerprint,
        });
    }
    if let Some(record) = stored.done {
        return Step::Answer(Claim::Done(record));
    }
    if stored.holder == claim.holder {
        return Step::Write(Claim::Claimed { took_over: false });
    }
    if stored.lease_until_ms <= claim.now_ms {
        return Step::Write(Claim::Claimed { took_over: true });
    }
    Step::Answer(Claim::InFlight {
        holder: stored.holder,
        until_ms: stored.lease_until_ms,
    })
}

/// The state column's words.
pub(crate) const IN_FLIGHT: &str = "in_flight";
pub(crate) const DONE: &str = "done";

/// Builds what a claim sees from a row's columns, refusing a state it does not know and a
/// done record without its answer.
#[allow(clippy::too_many_arguments)]
pub(crate) fn row_stored(
    tenant: String,
    key: String,
    fingerprint: String,
    holder: String,
    state: &str,
    created_ms: i64,
    lease_until_ms: i64,
    expires_ms: i64,
    completed_ms: Option<i64>,
    key_id: Option<String>,
    body: Option<Vec<u8>>,
) -> Result<Stored, StoreError> {
    let done = match (state, completed_ms, body) {
        (IN_FLIGHT, _, _) => None,
        (DONE, Some(completed_ms), Some(body)) => Some(IdempotencyRecord {
            tenant,
            key,
            fingerprint: fingerprint.clone(),
            created_ms,
            completed_ms,
            expires_ms,
            key_id,
            body,
        }),
        _ => {
            return Err(StoreError::Corrupt(format!(
                "idempotency key {key} of {tenant}: state \"{state}\" without its answer, or unknown"
            )));
        }
    };
    Ok(Stored {
        fingerprint,
        holder,
        done,
        lease_until_ms,
        expires_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim<'a>(holder: &'a str, fingerprint: &'a str, now_ms: i64) -> IdempotencyClaim<'a> {
        IdempotencyClaim {
            tenant: "acme",
            key: "k",
            fingerprint,
            holder,
            now_ms,
            lease_ms: 100,
            ttl_ms: 1_000,
        }
    }

    fn stored(holder: &str, done: bool) -> Stored {
        Stored {
            fingerprint: "f".into(),
            holder: holder.into(),
            done: done.then(|| IdempotencyRecord {
                tenant: "acme".into(),
                key: "k".into(),
                fingerprint: "f".into(),
                created_ms: 0,
                completed_ms: 50,
                expires_ms: 1_000,
                key_id: None,
                body: b"{}".to_vec(),
            }),
            lease_until_ms: 100,
            expires_ms: 1_000,
        }
    }

    #[test]
    fn a_claim_is_decided_by_expiry_then_fingerprint_then_state() {
        let claimed = |took_over| Step::Write(Claim::Claimed { took_over });
        // Expired: claimed anew, whatever it held.
        assert_eq!(
            decide(&claim("b", "g", 1_000), stored("a", true)),
            claimed(false)
        );
        // Another request under the same key, done or not.
        for done in [false, true] {
            assert_eq!(
                decide(&claim("b", "g", 10), stored("a", done)),
                Step::Answer(Claim::Mismatch {
                    fingerprint: "f".into()
                })
            );
        }
        // Done: replayed, even to its own holder and after its lease.
        assert!(matches!(
            decide(&claim("a", "f", 500), stored("a", true)),
            Step::Answer(Claim::Done(_))
        ));
        // In flight: its holder extends it; another waits until the lease ends, then takes over.
        assert_eq!(
            decide(&claim("a", "f", 10), stored("a", false)),
            claimed(false)
        );
        assert_eq!(
            decide(&claim("b", "f", 99), stored("a", false)),
            Step::Answer(Claim::InFlight {
                holder: "a".into(),
                until_ms: 100
            })
        );
        assert_eq!(
            decide(&claim("b", "f", 100), stored("a", false)),
            claimed(true)
        );
    }
}
