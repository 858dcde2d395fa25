//! Sessions: records are scoped by tenant, advance by compare-and-swap (of two writers of the
//! same version exactly one wins, on any backend), list by session, kind and state page by
//! page, expire, and delete with what they hold; a session's lock has one holder at a time,
//! extended by its holder, taken over once its lease ends.

use crate::{Backend, at_once, unique};
use std::sync::Arc;
use switchyard_evidence::store::{
    LockOutcome, SessionLock, SessionQuery, SessionRecord, SessionStore, SessionWrite,
};

on_both_backends!(contract);

async fn contract(backend: &Backend) {
    let store: Arc<dyn SessionStore> = backend.store.clone();
    versions_advance_one_at_a_time(store.as_ref()).await;
    two_writers_of_one_version_one_wins(&store).await;
    lists_page_by_filter(store.as_ref()).await;
    expiry_and_deletion(store.as_ref()).await;
    locks_have_one_holder(&store).await;
}

const NOW: i64 = 1_000_000;

fn record(tenant: &str, id: &str, session: &str, version: u64) -> SessionRecord {
    SessionRecord {
        tenant: tenant.into(),
        id: id.into(),
        session: session.into(),
        kind: "session".into(),
        state: String::new(),
        version,
        created_ms: NOW,
        updated_ms: NOW,
        expires_ms: NOW + 60_000,
        key_id: Some("k1".into()),
        body: vec![0, 159, 146, 150, 255, version as u8],
    }
}

fn conflict(current: Option<u64>) -> SessionWrite {
    SessionWrite::Conflict { current }
}

async fn versions_advance_one_at_a_time(store: &dyn SessionStore) {
    let (acme, other, id) = (unique("acme"), unique("other"), unique("sess"));
    let v1 = record(&acme, &id, &id, 1);
    assert_eq!(store.put_session(&v1).await.unwrap(), SessionWrite::Written);
    assert_eq!(
        store.get_session(&acme, &id, NOW).await.unwrap(),
        Some(v1.clone())
    );
    // Another tenant never sees it, and has its own record under the same id.
    assert_eq!(store.get_session(&other, &id, NOW).await.unwrap(), None);
    let theirs = record(&other, &id, &id, 1);
    assert_eq!(
        store.put_session(&theirs).await.unwrap(),
        SessionWrite::Written
    );
    // A second create of a live record is refused.
    assert_eq!(store.put_session(&v1).await.unwrap(), conflict(Some(1)));

    // Version 2 replaces version 1, once; it keeps the record's creation time.
    let mut v2 = record(&acme, &id, &id, 2);
    v2.state = "in_progress".into();
    v2.created_ms = NOW + 5;
    v2.updated_ms = NOW + 10;
    v2.key_id = None;
    assert_eq!(store.put_session(&v2).await.unwrap(), SessionWrite::Written);
    assert_eq!(store.put_session(&v2).await.unwrap(), conflict(Some(2)));
    let read = store
        .get_session(&acme, &id, NOW + 10)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        read,
        SessionRecord {
            created_ms: NOW,
            ..v2.clone()
        }
    );
    // A version that does not follow the stored one writes nothing.
    for version in [0, 1, 4] {
        let stale = record(&acme, &id, &id, version);
        assert_eq!(store.put_session(&stale).await.unwrap(), conflict(Some(2)));
    }
    assert_eq!(
        store.get_session(&other, &id, NOW).await.unwrap(),
        Some(theirs)
    );
    // Replacing what does not exist writes nothing.
    let ghost = record(&acme, &unique("ghost"), "s", 2);
    assert_eq!(store.put_session(&ghost).await.unwrap(), conflict(None));
}

async fn two_writers_of_one_version_one_wins(store: &Arc<dyn SessionStore>) {
    let tenant = Arc::new(unique("race"));
    // Eight creates of one record at once: one is written.
    let id = Arc::new(unique("sess"));
    let writes = at_once(8, |i| {
        let (store, tenant, id) = (store.clone(), tenant.clone(), id.clone());
        async move {
            let mut r = record(&tenant, &id, &id, 1);
            r.body = vec![i as u8];
            store.put_session(&r).await.unwrap()
        }
    })
    .await;
    let won: Vec<usize> = (0..8)
        .filter(|i| writes[*i] == SessionWrite::Written)
        .collect();
    assert_eq!(won.len(), 1, "{writes:?}");
    assert!(
        writes
            .iter()
            .all(|w| *w == SessionWrite::Written || *w == conflict(Some(1)))
    );
    // Eight writers that all read version 1 write version 2 at once: one wins, and the
    // record holds the winner's body.
    let writes = at_once(8, |i| {
        let (store, tenant, id) = (store.clone(), tenant.clone(), id.clone());
        async move {
            let mut r = record(&tenant, &id, &id, 2);
            r.body = vec![100 + i as u8];
            store.put_session(&r).await.unwrap()
        }
    })
    .await;
    let won: Vec<usize> = (0..8)
        .filter(|i| writes[*i] == SessionWrite::Written)
        .collect();
    assert_eq!(won.len(), 1, "{writes:?}");
    let stored = store.get_session(&tenant, &id, NOW).await.unwrap().unwrap();
    assert_eq!((stored.version, stored.body), (2, vec![100 + won[0] as u8]));
}

async fn lists_page_by_filter(store: &dyn SessionStore) {
    let (acme, other) = (unique("acme"), unique("other"));
    let (s1, s2) = (unique("s1"), unique("s2"));
    // s1 holds four responses (one still in progress) and s2 one, created in this order.
    let mut made = Vec::new();
    for (i, (tenant, session, kind, state)) in [
        (&acme, &s1, "session", ""),
        (&acme, &s1, "response", "completed"),
        (&acme, &s1, "response", "in_progress"),
        (&acme, &s2, "session", ""),
        (&acme, &s1, "response", "completed"),
        (&other, &s1, "response", "in_progress"),
        (&acme, &s1, "response", "completed"),
    ]
    .into_iter()
    .enumerate()
    {
        let id = if kind == "session" {
            session.to_string()
        } else {
            format!("resp_{i}")
        };
        let mut r = record(tenant, &id, session, 1);
        (r.kind, r.state) = (kind.into(), state.into());
        r.created_ms = NOW + i as i64 / 2; // two at a time share a creation time
        assert_eq!(store.put_session(&r).await.unwrap(), SessionWrite::Written);
        made.push(r);
    }
    let query = |tenant, session, kind, state| SessionQuery {
        tenant,
        session,
        kind,
        state,
        now_ms: NOW,
        after: None,
        limit: 100,
    };
    let ids = |records: Vec<SessionRecord>| -> Vec<String> {
        records.into_iter().map(|r| r.id).collect()
    };
    let list = |q| async move { ids(store.list_sessions(&q).await.unwrap()) };
    assert_eq!(
        list(query(Some(&acme), Some(&s1), None, None)).await,
        ["resp_1", s1.as_str(), "resp_2", "resp_4", "resp_6"],
        "by creation time, then id"
    );
    assert_eq!(
        list(query(
            Some(&acme),
            Some(&s1),
            Some("response"),
            Some("completed")
        ))
        .await,
        ["resp_1", "resp_4", "resp_6"]
    );
    assert_eq!(
        list(query(Some(&acme), None, Some("session"), None)).await,
        [s1.clone(), s2.clone()]
    );
    assert_eq!(
        list(query(Some(&other), None, None, None)).await,
        ["resp_5"],
        "one tenant never lists another's"
    );
    // Every tenant's in-progress records (an operator's sweep), ordered by time and tenant.
    let in_progress = store
        .list_sessions(&query(None, Some(&s1), None, Some("in_progress")))
        .await
        .unwrap();
    let found: Vec<(&str, &str)> = in_progress
        .iter()
        .map(|r| (r.tenant.as_str(), r.id.as_str()))
        .collect();
    assert_eq!(
        found,
        [(acme.as_str(), "resp_2"), (other.as_str(), "resp_5")]
    );

    // Pages of two cover the tenant's records once each, in order.
    let mut paged = Vec::new();
    let mut page = query(Some(&acme), None, None, None);
    page.limit = 2;
    let mut last: Option<SessionRecord> = None;
    loop {
        let q = match &last {
            Some(r) => page.next_page(r),
            None => page,
        };
        let got = store.list_sessions(&q).await.unwrap();
        assert!(got.len() <= 2);
        let Some(end) = got.last().cloned() else {
            break;
        };
        paged.extend(got);
        last = Some(end);
    }
    let mut expected: Vec<SessionRecord> =
        made.iter().filter(|r| r.tenant == acme).cloned().collect();
    expected.sort_by(|a, b| (a.created_ms, &a.id).cmp(&(b.created_ms, &b.id)));
    assert_eq!(paged, expected);
}

async fn expiry_and_deletion(store: &dyn SessionStore) {
    let tenant = unique("exp");
    let (s, short) = (unique("s"), unique("short"));
    let mut r = record(&tenant, &short, &short, 1);
    r.expires_ms = NOW + 100;
    assert_eq!(store.put_session(&r).await.unwrap(), SessionWrite::Written);
    // Live until its expiry, then absent: not read, not listed, not replaced.
    assert!(
        store
            .get_session(&tenant, &short, NOW + 99)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        store.get_session(&tenant, &short, NOW + 100).await.unwrap(),
        None
    );
    let mut late = record(&tenant, &short, &short, 2);
    late.updated_ms = NOW + 100;
    assert_eq!(store.put_session(&late).await.unwrap(), conflict(None));
    let q = SessionQuery {
        tenant: Some(&tenant),
        session: None,
        kind: None,
        state: None,
        now_ms: NOW + 100,
        after: None,
        limit: 10,
    };
    assert!(store.list_sessions(&q).await.unwrap().is_empty());
    // A create replaces an expired record.
    let mut again = record(&tenant, &short, &short, 1);
    (again.updated_ms, again.created_ms) = (NOW + 200, NOW + 200);
    again.expires_ms = NOW + 300;
    assert_eq!(
        store.put_session(&again).await.unwrap(),
        SessionWrite::Written
    );
    assert_eq!(
        store.get_session(&tenant, &short, NOW + 200).await.unwrap(),
        Some(again)
    );

    // Expired records are deleted a batch at a time and named; live ones stay.
    let live = record(&tenant, &s, &s, 1);
    assert_eq!(
        store.put_session(&live).await.unwrap(),
        SessionWrite::Written
    );
    let refs = store.expire_sessions(NOW + 300, 10).await.unwrap();
    assert_eq!(refs.len(), 1);
    assert_eq!(
        (
            refs[0].tenant.as_str(),
            refs[0].id.as_str(),
            refs[0].kind.as_str()
        ),
        (tenant.as_str(), short.as_str(), "session")
    );
    assert!(
        store
            .expire_sessions(NOW + 300, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Deleting a session deletes what it holds, and nothing of another tenant or session.
    let other = unique("other");
    for (t, id, session) in [
        (&tenant, "r1", &s),
        (&tenant, "r2", &s),
        (&other, "r3", &s),
        (&tenant, "r4", &short),
    ] {
        let r = record(t, id, session, 1);
        assert_eq!(store.put_session(&r).await.unwrap(), SessionWrite::Written);
    }
    assert_eq!(
        store.delete_session(&other, &s).await.unwrap(),
        1,
        "only r3"
    );
    assert_eq!(store.delete_session(&tenant, &s).await.unwrap(), 3);
    assert_eq!(store.get_session(&tenant, "r1", NOW).await.unwrap(), None);
    assert!(
        store
            .get_session(&tenant, "r4", NOW)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(store.delete_session(&tenant, &s).await.unwrap(), 0);
    // Deleting one record of a session leaves the rest.
    assert_eq!(store.delete_session(&tenant, "r4").await.unwrap(), 1);
}

async fn locks_have_one_holder(store: &Arc<dyn SessionStore>) {
    let (tenant, session) = (unique("lock"), unique("s"));
    let lock = |holder, now_ms| SessionLock {
        tenant: &tenant,
        session: &session,
        holder,
        now_ms,
        ttl_ms: 100,
    };
    let acquired = |until_ms| LockOutcome::Acquired { until_ms };
    let busy = |holder: &str, until_ms| LockOutcome::Busy {
        holder: holder.into(),
        until_ms,
    };
    assert_eq!(
        store.lock_session(&lock("a", NOW)).await.unwrap(),
        acquired(NOW + 100)
    );
    assert_eq!(
        store.lock_session(&lock("b", NOW + 50)).await.unwrap(),
        busy("a", NOW + 100)
    );
    // Its holder extends it.
    assert_eq!(
        store.lock_session(&lock("a", NOW + 60)).await.unwrap(),
        acquired(NOW + 160)
    );
    assert_eq!(
        store.lock_session(&lock("b", NOW + 100)).await.unwrap(),
        busy("a", NOW + 160)
    );
    // Another tenant's session of the same name is another lock.
    let theirs = unique("them");
    let mut other = lock("c", NOW);
    other.tenant = &theirs;
    assert_eq!(
        store.lock_session(&other).await.unwrap(),
        acquired(NOW + 100)
    );
    // Once its lease ends, another holder takes it; the old holder cannot release it.
    assert_eq!(
        store.lock_session(&lock("b", NOW + 160)).await.unwrap(),
        acquired(NOW + 260)
    );
    assert!(!store.unlock_session(&tenant, &session, "a").await.unwrap());
    assert!(store.unlock_session(&tenant, &session, "b").await.unwrap());
    assert!(!store.unlock_session(&tenant, &session, "b").await.unwrap());
    assert_eq!(
        store.lock_session(&lock("a", NOW + 170)).await.unwrap(),
        acquired(NOW + 270)
    );
    assert!(store.unlock_session(&tenant, &session, "a").await.unwrap());

    // Eight holders asking at once: one gets it, seven are told who has it.
    let (tenant, session) = (Arc::new(tenant), Arc::new(unique("race")));
    let outcomes = at_once(8, |i| {
        let (store, tenant, session) = (store.clone(), tenant.clone(), session.clone());
        async move {
            let holder = format!("h{i}");
            let ask = SessionLock {
                tenant: &tenant,
                session: &session,
                holder: &holder,
                now_ms: NOW,
                ttl_ms: 1_000,
            };
            (holder.clone(), store.lock_session(&ask).await.unwrap())
        }
    })
    .await;
    let winners: Vec<&String> = outcomes
        .iter()
        .filter(|(_, o)| *o == acquired(NOW + 1_000))
        .map(|(h, _)| h)
        .collect();
    assert_eq!(winners.len(), 1, "{outcomes:?}");
    for (_, outcome) in &outcomes {
        assert!(*outcome == acquired(NOW + 1_000) || *outcome == busy(winners[0], NOW + 1_000));
    }
}
