//! Artifacts: stored as given (bytes that are not UTF-8 included), read back, and deleted once
//! expired (and only then), each deletion named so the gateway can record it.

use crate::{Backend, unique};
use switchyard_evidence::artifact::{Artifact, ArtifactKind};
use switchyard_evidence::store::ArtifactStore;

on_both_backends!(contract);

async fn contract(backend: &Backend) {
    let store: &dyn ArtifactStore = backend.store.as_ref();
    let prefix = unique("art");
    let now = switchyard_evidence::event::now_ms();
    let art = |id: &str, kind, expires_ms: i64| Artifact {
        id: format!("{prefix}-{id}"),
        request_id: "req_a".into(),
        kind,
        created_ms: now,
        expires_ms,
        key_id: Some("k1".into()),
        body: vec![0, 159, 146, 150, 255],
    };
    let old = art("old", ArtifactKind::Prompt, now - 1);
    let new = art("new", ArtifactKind::ToolResult, now + 60_000);
    store.put_artifact(&old).await.unwrap();
    store.put_artifact(&new).await.unwrap();
    assert_eq!(
        store.get_artifact(&old.id).await.unwrap(),
        Some(old.clone())
    );
    assert_eq!(
        store.get_artifact(&new.id).await.unwrap(),
        Some(new.clone())
    );
    assert_eq!(store.get_artifact("missing").await.unwrap(), None);
    // An id is stored once.
    assert!(store.put_artifact(&old).await.is_err());

    let deleted = store.delete_expired(now, 10_000).await.unwrap();
    let named = deleted.iter().find(|d| d.id == old.id).unwrap();
    assert_eq!(
        (named.request_id.as_str(), named.kind),
        ("req_a", ArtifactKind::Prompt)
    );
    assert!(!deleted.iter().any(|d| d.id == new.id));
    assert_eq!(store.get_artifact(&old.id).await.unwrap(), None);
    assert!(store.get_artifact(&new.id).await.unwrap().is_some());

    // Deleted in order of expiry, at most `limit` at a time.
    for i in 0..5 {
        let a = art(
            &format!("batch-{i}"),
            ArtifactKind::Completion,
            now - 100 + i,
        );
        store.put_artifact(&a).await.unwrap();
    }
    let mut first: Vec<String> = store
        .delete_expired(now, 3)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.id)
        .collect();
    first.sort();
    let earliest: Vec<String> = (0..3).map(|i| format!("{prefix}-batch-{i}")).collect();
    assert_eq!(first, earliest, "the three that expired first");
    assert_eq!(store.delete_expired(now, 10).await.unwrap().len(), 2);
    assert!(store.delete_expired(now, 10).await.unwrap().is_empty());
}
