//! Idempotency records: of concurrent claims of one key exactly one runs; a done call replays
//! its answer to every later claim; the same key for another request is a mismatch; a claim
//! is completed or released only by its holder, taken over once its lease ends, and forgotten
//! once it expires. Keys are scoped by tenant.

use crate::{Backend, at_once, unique};
use std::sync::Arc;
use switchyard_evidence::store::{
    Claim, IdempotencyAnswer, IdempotencyClaim, IdempotencyRecord, IdempotencyStore,
};

on_both_backends!(contract);

async fn contract(backend: &Backend) {
    let store: Arc<dyn IdempotencyStore> = backend.store.clone();
    first_claim_runs_then_replays(store.as_ref()).await;
    only_the_holder_ends_a_claim(store.as_ref()).await;
    leases_and_expiry(store.as_ref()).await;
    concurrent_claims_run_once(&store).await;
}

const NOW: i64 = 1_000_000;
const LEASE: i64 = 100;
const TTL: i64 = 10_000;

fn claim<'a>(
    tenant: &'a str,
    key: &'a str,
    fingerprint: &'a str,
    holder: &'a str,
    now_ms: i64,
) -> IdempotencyClaim<'a> {
    IdempotencyClaim {
        tenant,
        key,
        fingerprint,
        holder,
        now_ms,
        lease_ms: LEASE,
        ttl_ms: TTL,
    }
}

fn answer<'a>(
    tenant: &'a str,
    key: &'a str,
    holder: &'a str,
    now_ms: i64,
    body: &'a [u8],
) -> IdempotencyAnswer<'a> {
    IdempotencyAnswer {
        tenant,
        key,
        holder,
        now_ms,
        key_id: Some("k1"),
        body,
    }
}

const CLAIMED: Claim = Claim::Claimed { took_over: false };

fn in_flight(holder: &str, until_ms: i64) -> Claim {
    Claim::InFlight {
        holder: holder.into(),
        until_ms,
    }
}

async fn first_claim_runs_then_replays(store: &dyn IdempotencyStore) {
    let (acme, other, key) = (unique("acme"), unique("other"), unique("key"));
    assert_eq!(
        store
            .claim_idempotency(&claim(&acme, &key, "f1", "a", NOW))
            .await
            .unwrap(),
        CLAIMED
    );
    // While it runs: the same request waits, another request under the key is a reuse.
    assert_eq!(
        store
            .claim_idempotency(&claim(&acme, &key, "f1", "b", NOW + 10))
            .await
            .unwrap(),
        in_flight("a", NOW + LEASE)
    );
    assert_eq!(
        store
            .claim_idempotency(&claim(&acme, &key, "f2", "b", NOW + 10))
            .await
            .unwrap(),
        Claim::Mismatch {
            fingerprint: "f1".into()
        }
    );
    // Another tenant's key of the same name is another key.
    assert_eq!(
        store
            .claim_idempotency(&claim(&other, &key, "f2", "c", NOW))
            .await
            .unwrap(),
        CLAIMED
    );

    // Done: every later claim of the same request replays the answer, bytes as stored.
    let body = [0u8, 159, 146, 150, 255];
    assert!(
        store
            .complete_idempotency(&answer(&acme, &key, "a", NOW + 20, &body))
            .await
            .unwrap()
    );
    let done = IdempotencyRecord {
        tenant: acme.clone(),
        key: key.clone(),
        fingerprint: "f1".into(),
        created_ms: NOW,
        completed_ms: NOW + 20,
        expires_ms: NOW + TTL,
        key_id: Some("k1".into()),
        body: body.to_vec(),
    };
    for (holder, at) in [("b", NOW + 30), ("a", NOW + 40), ("d", NOW + 5_000)] {
        assert_eq!(
            store
                .claim_idempotency(&claim(&acme, &key, "f1", holder, at))
                .await
                .unwrap(),
            Claim::Done(done.clone()),
            "past the lease too: a done call never runs again"
        );
    }
    assert_eq!(
        store
            .claim_idempotency(&claim(&acme, &key, "f2", "b", NOW + 30))
            .await
            .unwrap(),
        Claim::Mismatch {
            fingerprint: "f1".into()
        }
    );
    // Done once: neither completed again nor released.
    assert!(
        !store
            .complete_idempotency(&answer(&acme, &key, "a", NOW + 50, b"x"))
            .await
            .unwrap()
    );
    assert!(!store.release_idempotency(&acme, &key, "a").await.unwrap());
    // The other tenant's claim is still its own, in flight.
    assert_eq!(
        store
            .claim_idempotency(&claim(&other, &key, "f2", "e", NOW + 10))
            .await
            .unwrap(),
        in_flight("c", NOW + LEASE)
    );
}

async fn only_the_holder_ends_a_claim(store: &dyn IdempotencyStore) {
    let (tenant, key) = (unique("acme"), unique("key"));
    assert_eq!(
        store
            .claim_idempotency(&claim(&tenant, &key, "f", "a", NOW))
            .await
            .unwrap(),
        CLAIMED
    );
    assert!(
        !store
            .complete_idempotency(&answer(&tenant, &key, "b", NOW + 1, b"no"))
            .await
            .unwrap()
    );
    assert!(!store.release_idempotency(&tenant, &key, "b").await.unwrap());
    assert!(
        !store
            .release_idempotency("someone-else", &key, "a")
            .await
            .unwrap()
    );
    // Its holder claims again to extend its lease.
    assert_eq!(
        store
            .claim_idempotency(&claim(&tenant, &key, "f", "a", NOW + 50))
            .await
            .unwrap(),
        CLAIMED
    );
    assert_eq!(
        store
            .claim_idempotency(&claim(&tenant, &key, "f", "b", NOW + LEASE))
            .await
            .unwrap(),
        in_flight("a", NOW + 50 + LEASE)
    );
    // Released (the call never reached its target): the next claim runs it, even with
    // other arguments, since nothing was kept.
    assert!(store.release_idempotency(&tenant, &key, "a").await.unwrap());
    assert!(!store.release_idempotency(&tenant, &key, "a").await.unwrap());
    assert!(
        !store
            .complete_idempotency(&answer(&tenant, &key, "a", NOW + 60, b"late"))
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .claim_idempotency(&claim(&tenant, &key, "g", "b", NOW + 70))
            .await
            .unwrap(),
        CLAIMED
    );
}

async fn leases_and_expiry(store: &dyn IdempotencyStore) {
    let (tenant, key) = (unique("acme"), unique("key"));
    assert_eq!(
        store
            .claim_idempotency(&claim(&tenant, &key, "f", "a", NOW))
            .await
            .unwrap(),
        CLAIMED
    );
    // The holder died: once its lease ends the claim is taken over, and says so; the dead
    // holder's late answer is refused, the new holder's kept.
    assert_eq!(
        store
            .claim_idempotency(&claim(&tenant, &key, "f", "b", NOW + LEASE))
            .await
            .unwrap(),
        Claim::Claimed { took_over: true }
    );
    assert!(
        !store
            .complete_idempotency(&answer(&tenant, &key, "a", NOW + 101, b"a"))
            .await
            .unwrap()
    );
    assert!(
        store
            .complete_idempotency(&answer(&tenant, &key, "b", NOW + 102, b"b"))
            .await
            .unwrap()
    );
    let Claim::Done(done) = store
        .claim_idempotency(&claim(&tenant, &key, "f", "c", NOW + 103))
        .await
        .unwrap()
    else {
        panic!("the taken-over claim is done");
    };
    assert_eq!(
        (done.body.as_slice(), done.created_ms),
        (&b"b"[..], NOW + LEASE)
    );
    // A mismatch never takes over a lapsed claim.
    let lapsed = unique("lapsed");
    assert_eq!(
        store
            .claim_idempotency(&claim(&tenant, &lapsed, "f", "a", NOW))
            .await
            .unwrap(),
        CLAIMED
    );
    assert_eq!(
        store
            .claim_idempotency(&claim(&tenant, &lapsed, "g", "b", NOW + 5 * LEASE))
            .await
            .unwrap(),
        Claim::Mismatch {
            fingerprint: "f".into()
        }
    );

    // Expired (whether done or in flight): forgotten, claimed anew with any arguments.
    let expires = NOW + LEASE + TTL;
    assert_eq!(
        store
            .claim_idempotency(&claim(&tenant, &key, "other", "d", expires))
            .await
            .unwrap(),
        CLAIMED
    );
    assert!(
        !store
            .complete_idempotency(&answer(&tenant, &lapsed, "a", NOW + TTL, b"late"))
            .await
            .unwrap()
    );
    // Deleted a batch at a time once expired: the lapsed claim and the first done record
    // (whose key was claimed anew) are gone; the new claim is not.
    let survivors = unique("survivor");
    let first = claim(&tenant, &survivors, "f", "a", NOW + TTL);
    assert_eq!(store.claim_idempotency(&first).await.unwrap(), CLAIMED);
    let deleted = store.expire_idempotency(NOW + TTL, 100).await.unwrap();
    assert!(deleted >= 1, "the lapsed claim, expired at {}", NOW + TTL);
    assert_eq!(
        store
            .claim_idempotency(&claim(&tenant, &lapsed, "g", "b", NOW + TTL))
            .await
            .unwrap(),
        CLAIMED
    );
    assert_eq!(
        store
            .claim_idempotency(&claim(&tenant, &survivors, "f", "b", NOW + TTL))
            .await
            .unwrap(),
        in_flight("a", NOW + TTL + LEASE)
    );
}

async fn concurrent_claims_run_once(store: &Arc<dyn IdempotencyStore>) {
    let (tenant, key) = (Arc::new(unique("race")), Arc::new(unique("key")));
    // Claims by holders `{prefix}{i}` at `now_ms`.
    let (tenant, key) = (&tenant, &key);
    let ask_at = |prefix: &'static str, now_ms: i64| {
        move |i: usize| {
            let (store, tenant, key) = (store.clone(), tenant.clone(), key.clone());
            async move {
                let holder = format!("{prefix}{i}");
                store
                    .claim_idempotency(&claim(&tenant, &key, "f", &holder, now_ms))
                    .await
                    .unwrap()
            }
        }
    };
    let ask = ask_at("h", NOW);
    // Sixteen claims at once: one runs, fifteen see it in flight.
    let claims = at_once(16, ask).await;
    let winner = claims.iter().position(|c| *c == CLAIMED).unwrap();
    assert_eq!(
        claims.iter().filter(|c| **c == CLAIMED).count(),
        1,
        "{claims:?}"
    );
    let holder = format!("h{winner}");
    for (i, c) in claims.iter().enumerate() {
        if i != winner {
            assert_eq!(*c, in_flight(&holder, NOW + LEASE), "{claims:?}");
        }
    }
    // The holder dies; once its lease ends, sixteen claims at once: one takes it over.
    let later = NOW + LEASE;
    let claims = at_once(16, ask_at("t", later)).await;
    let took_over = Claim::Claimed { took_over: true };
    let winner = claims.iter().position(|c| *c == took_over).unwrap();
    assert_eq!(
        claims.iter().filter(|c| **c == took_over).count(),
        1,
        "{claims:?}"
    );
    let holder = format!("t{winner}");
    for (i, c) in claims.iter().enumerate() {
        if i != winner {
            assert_eq!(*c, in_flight(&holder, later + LEASE), "{claims:?}");
        }
    }
    // Once done, sixteen more at once all replay the one answer.
    let done = answer(tenant, key, &holder, later + 1, b"{\"sent\":1}");
    assert!(store.complete_idempotency(&done).await.unwrap());
    let replays = at_once(16, ask).await;
    for r in replays {
        let Claim::Done(record) = r else {
            panic!("a replay, not {r:?}")
        };
        assert_eq!(record.body, b"{\"sent\":1}");
    }
}
