//! Two gateway nodes spend one budget through leases on a shared PostgreSQL ledger: together
//! they never spend more than the limit plus one lease per node, even when real costs run
//! over their estimates, and the ledger never grants more than the limit.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use switchyard_evidence::{EventLog, Store};
use switchyard_gateway::budgets::Budgets;
use switchyard_gateway::config::{BudgetScope, BudgetSpec};
use switchyard_policy::{BudgetLimit, Window};

fn postgres_url() -> String {
    std::env::var("SWITCHYARD_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A fresh database for this run (dropped at the end), so other checkouts cannot interfere.
async fn fresh_database() -> (String, String) {
    let admin = postgres_url();
    let name = format!(
        "switchyard_budgets_{}_{}",
        std::process::id(),
        switchyard_evidence::event::now_ms()
    );
    let pool = sqlx::PgPool::connect(&admin).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let base = &admin[..admin.rfind('/').unwrap()];
    (format!("{base}/{name}"), name)
}

async fn drop_database(name: &str) {
    let pool = sqlx::PgPool::connect(&postgres_url()).await.unwrap();
    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&pool)
    .await;
}

const LIMIT: u64 = 100_000;
const LEASE: u64 = 10_000;
const ESTIMATE: u64 = 1_000;
const WORKERS: u64 = 8;

/// One node: its own store connection, event stream and budgets.
async fn node(url: &str, name: &str) -> Arc<Budgets> {
    let store: Arc<dyn Store> = switchyard_evidence::open(url).await.unwrap();
    let (events, _writer) = EventLog::start(store.clone(), name, 4096).await.unwrap();
    let spec = BudgetSpec {
        scope: BudgetScope::Tenant("acme".into()),
        limit: BudgetLimit {
            limit: LIMIT,
            window: Window::Fixed {
                length_ms: 3_600_000,
            },
        },
        lease: LEASE,
    };
    Budgets::new(vec![spec], store, events)
}

/// A worker spending until its node refuses: real costs from half to one and a half times the
/// estimate. With at most `WORKERS` requests in flight per node, what a node's requests can
/// run over their holds stays under one lease (8 × 500 < 10 000).
async fn spend(node: Arc<Budgets>, worker: u64, spent: Arc<AtomicU64>) -> u64 {
    let scopes = vec!["tenant:acme".to_owned()];
    let mut served = 0;
    for i in 0.. {
        let id = format!("req_{worker}_{i}");
        let Ok(hold) = node.hold(&scopes, ESTIMATE, &id).await else {
            break;
        };
        tokio::task::yield_now().await;
        let actual = ESTIMATE / 2 + (worker * 7_919 + i * 104_729) % (ESTIMATE + 1);
        spent.fetch_add(actual, Ordering::SeqCst);
        hold.settle(Some(actual));
        served += 1;
    }
    served
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_overspend_at_most_one_lease_each() {
    let (url, name) = fresh_database().await;
    let nodes = [node(&url, "node-a").await, node(&url, "node-b").await];
    let spent = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for (n, node) in nodes.iter().enumerate() {
        for w in 0..WORKERS {
            let worker = n as u64 * WORKERS + w;
            tasks.push(tokio::spawn(spend(node.clone(), worker, spent.clone())));
        }
    }
    let mut served = 0;
    for t in tasks {
        served += t.await.unwrap();
    }
    let spent = spent.load(Ordering::SeqCst);
    let nodes_n = nodes.len() as u64;
    eprintln!("{served} requests spent {spent} micro-USD of {LIMIT} (lease {LEASE})");
    assert!(
        spent <= LIMIT + nodes_n * LEASE,
        "spent {spent} > {LIMIT} + {nodes_n} × {LEASE}"
    );
    assert!(
        spent >= LIMIT / 2,
        "the nodes left most of the budget unspent: {spent}"
    );

    // The ledger never granted past the limit; given back, the unspent leases are free again.
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let granted = || async {
        let row: (i64,) = sqlx::query_as(
            "SELECT CAST(COALESCE(SUM(granted), 0) AS BIGINT) FROM budget_ledger WHERE scope = 'tenant:acme'",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        row.0 as u64
    };
    let before = granted().await;
    assert!(before <= LIMIT, "granted {before}");
    for node in &nodes {
        node.surrender().await;
    }
    let after = granted().await;
    assert!(after <= before);
    pool.close().await;
    drop(nodes);
    drop_database(&name).await;
}
