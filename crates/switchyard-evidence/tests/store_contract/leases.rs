//! The shared budget ledger: grants what fits under the limit across the counted buckets,
//! nothing below the floor, takes back what is returned, and never grants more than the
//! limit to nodes asking at once.

use crate::{Backend, at_once, unique};
use std::sync::Arc;
use switchyard_evidence::budget_ledger::LeaseAsk;
use switchyard_evidence::store::LeaseStore;

on_both_backends!(contract);

async fn contract(backend: &Backend) {
    let store: Arc<dyn LeaseStore> = backend.store.clone();
    let scope = unique("tenant:lease");
    let ask = |bucket_ms, since_ms, want, at_least| LeaseAsk {
        scope: &scope,
        bucket_ms,
        since_ms,
        want,
        at_least,
        limit: 1_000,
    };
    let g = store.take_lease(&ask(0, 0, 600, 10)).await.unwrap();
    assert_eq!((g.granted, g.leased), (600, 600));
    let g = store.take_lease(&ask(100, 0, 600, 10)).await.unwrap();
    assert_eq!((g.granted, g.leased), (400, 1_000), "both buckets count");
    let g = store.take_lease(&ask(100, 0, 600, 1)).await.unwrap();
    assert_eq!(g.granted, 0, "nothing left");
    let g = store.take_lease(&ask(100, 100, 700, 700)).await.unwrap();
    assert_eq!(
        g.granted, 0,
        "600 left once bucket 0 stops counting: under the floor"
    );
    store.return_lease(&scope, 100, 300).await.unwrap();
    let g = store.take_lease(&ask(100, 100, 900, 900)).await.unwrap();
    assert_eq!((g.granted, g.leased), (900, 1_000));

    // Sixteen nodes asking for 100 at once against a limit of 1,000: exactly 1,000 granted.
    let scope = Arc::new(unique("tenant:race"));
    let grants = at_once(16, |_| {
        let (store, scope) = (store.clone(), scope.clone());
        async move {
            let ask = LeaseAsk {
                scope: &scope,
                bucket_ms: 0,
                since_ms: 0,
                want: 100,
                at_least: 100,
                limit: 1_000,
            };
            store.take_lease(&ask).await.unwrap().granted
        }
    })
    .await;
    assert_eq!(grants.iter().sum::<u64>(), 1_000, "{grants:?}");
    assert_eq!(grants.iter().filter(|g| **g == 100).count(), 10);
}
