//! Counters: an add returns the window's new total, concurrent adds from many callers sum
//! exactly (each sees a distinct total), names and windows are independent, and windows that
//! ended are pruned.

use crate::{Backend, at_once, unique};
use std::sync::Arc;
use switchyard_evidence::store::CounterStore;

on_both_backends!(contract);

const MINUTE: i64 = 60_000;

async fn contract(backend: &Backend) {
    let store: Arc<dyn CounterStore> = backend.store.clone();
    let (rpm, tpm) = (unique("rpm:key"), unique("tpm:key"));
    let w = 1_000 * MINUTE;
    assert_eq!(store.read_counter(&rpm, w).await.unwrap(), 0);
    assert_eq!(store.add_to_counter(&rpm, w, 1).await.unwrap(), 1);
    assert_eq!(store.add_to_counter(&rpm, w, 2).await.unwrap(), 3);
    assert_eq!(store.add_to_counter(&rpm, w, 0).await.unwrap(), 3);
    assert_eq!(store.add_to_counter(&rpm, w + MINUTE, 5).await.unwrap(), 5);
    assert_eq!(store.add_to_counter(&tpm, w, 1_200).await.unwrap(), 1_200);
    assert_eq!(store.read_counter(&rpm, w).await.unwrap(), 3);
    assert_eq!(store.read_counter(&rpm, w + MINUTE).await.unwrap(), 5);
    assert_eq!(store.read_counter(&tpm, w).await.unwrap(), 1_200);

    // Twenty callers adding 3 ten times each, at once: 600 in all, and every add saw its
    // own total, so none was lost or counted twice.
    let name = Arc::new(unique("rpm:race"));
    let seen = at_once(20, |_| {
        let (store, name) = (store.clone(), name.clone());
        async move {
            let mut totals = Vec::new();
            for _ in 0..10 {
                totals.push(store.add_to_counter(&name, w, 3).await.unwrap());
            }
            totals
        }
    })
    .await;
    let mut totals: Vec<u64> = seen.into_iter().flatten().collect();
    totals.sort_unstable();
    assert_eq!(totals, (1..=200).map(|i| i * 3).collect::<Vec<u64>>());
    assert_eq!(store.read_counter(&name, w).await.unwrap(), 600);

    // Windows that started before the cut are pruned, of every counter; later ones stay.
    let pruned = store.prune_counters(w + MINUTE).await.unwrap();
    assert!(pruned >= 3, "rpm, tpm and the race in window w: {pruned}");
    assert_eq!(store.read_counter(&rpm, w).await.unwrap(), 0);
    assert_eq!(store.read_counter(&name, w).await.unwrap(), 0);
    assert_eq!(store.read_counter(&rpm, w + MINUTE).await.unwrap(), 5);
    assert_eq!(store.prune_counters(w + MINUTE).await.unwrap(), 0);
    // A pruned window starts again from nothing.
    assert_eq!(store.add_to_counter(&rpm, w, 4).await.unwrap(), 4);
}
