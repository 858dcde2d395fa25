//! Keys: stored by hash, found only while active, listed by tenant, revoked once.

use crate::{Backend, unique};
use serde_json::json;
use switchyard_evidence::keys::{KeyRecord, hash_secret};
use switchyard_evidence::store::KeyStore;

on_both_backends!(contract);

async fn contract(backend: &Backend) {
    let store: &dyn KeyStore = backend.store.as_ref();
    let (acme, other) = (unique("acme"), unique("other"));
    let before = store.count_active_keys().await.unwrap();
    let policy = json!({"models": ["fast"], "rpm": 60});
    let (a, secret_a) = KeyRecord::mint(&acme, Some("ci"), policy.clone(), 1_000).unwrap();
    let (b, secret_b) = KeyRecord::mint(&acme, None, json!({}), 2_000).unwrap();
    let (c, _) = KeyRecord::mint(&other, Some("x"), json!({}), 3_000).unwrap();
    for k in [&a, &b, &c] {
        store.put_key(k).await.unwrap();
    }
    assert_eq!(store.count_active_keys().await.unwrap(), before + 3);

    // Found by the hash of the secret, with every column intact; never by the secret itself.
    let found = store
        .find_key_by_hash(&hash_secret(&secret_a))
        .await
        .unwrap();
    assert_eq!(found.as_ref(), Some(&a));
    assert_eq!(found.unwrap().policy, policy);
    assert_eq!(store.find_key_by_hash(&secret_a).await.unwrap(), None);
    assert_eq!(
        store
            .find_key_by_hash(&hash_secret("sy-unknown"))
            .await
            .unwrap(),
        None
    );

    // Listed per tenant, oldest first; all tenants without a filter.
    assert_eq!(
        store.list_keys(Some(&acme)).await.unwrap(),
        vec![a.clone(), b.clone()]
    );
    let all = store.list_keys(None).await.unwrap();
    assert!(all.contains(&a) && all.contains(&b) && all.contains(&c));

    // A hash is unique: the same secret cannot be stored twice.
    let mut twin = c.clone();
    twin.id = format!("{}x", c.id);
    assert!(store.put_key(&twin).await.is_err());

    // Revoked once: no longer found, still listed with its time, not revoked twice.
    let revoked = store.revoke_key(&b.id, 5_000).await.unwrap().unwrap();
    assert_eq!(revoked.revoked_ms, Some(5_000));
    assert_eq!(revoked.hash, b.hash);
    assert!(!revoked.is_active());
    assert_eq!(
        store
            .find_key_by_hash(&hash_secret(&secret_b))
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.revoke_key(&b.id, 6_000).await.unwrap(), None);
    assert_eq!(store.revoke_key("key_missing", 6_000).await.unwrap(), None);
    let listed = store.list_keys(Some(&acme)).await.unwrap();
    assert_eq!(listed[1].revoked_ms, Some(5_000));
    assert_eq!(store.count_active_keys().await.unwrap(), before + 2);
    store.revoke_key(&a.id, 7_000).await.unwrap().unwrap();
    store.revoke_key(&c.id, 7_000).await.unwrap().unwrap();
    assert_eq!(store.count_active_keys().await.unwrap(), before);
}
