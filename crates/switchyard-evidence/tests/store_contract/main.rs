//! The store contract, one suite per concern, each written once and run against SQLite (a
//! fresh file) and against the real PostgreSQL server (a fresh database per test, dropped at
//! its end, so parallel runs and other checkouts sharing the server never collide). Test
//! names are `CONCERN::sqlite` and `CONCERN::postgres`: `cargo test --test store_contract
//! sessions::` runs one concern on both backends.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use switchyard_evidence::store::{Store, open};

// The two tests of a concern's suite: `contract(&Backend)` on SQLite and on PostgreSQL, on a
// runtime with two workers so that concurrent calls really run at once.
macro_rules! on_both_backends {
    ($contract:path) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn sqlite() {
            $contract(&crate::Backend::sqlite().await).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn postgres() {
            $contract(&crate::Backend::postgres().await).await;
        }
    };
}

mod artifacts;
mod counters;
mod events;
mod idempotency;
mod keys;
mod leases;
mod sessions;

/// A name no other test, run or checkout uses.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}-{}",
        std::process::id(),
        switchyard_evidence::event::now_ms(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A store under test, with the URL it was opened from (for tampering with raw SQL).
pub struct Backend {
    pub store: Arc<dyn Store>,
    pub url: String,
    /// The PostgreSQL database to drop when the test ends, however it ends.
    _database: Option<Database>,
}

impl Backend {
    pub async fn sqlite() -> Backend {
        let dir = std::env::temp_dir().join(unique("switchyard-store"));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}", dir.join("events.db").display());
        Backend {
            store: open(&url).await.unwrap(),
            url,
            _database: None,
        }
    }

    pub async fn postgres() -> Backend {
        let database = Database::create().await;
        let url = database.url.clone();
        Backend {
            store: open(&url).await.unwrap(),
            url,
            _database: Some(database),
        }
    }
}

fn postgres_url() -> String {
    std::env::var("SWITCHYARD_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A fresh database on the PostgreSQL server, dropped (connections and all) when this is.
struct Database {
    name: String,
    url: String,
}

impl Database {
    async fn create() -> Database {
        let admin = postgres_url();
        let name = unique("switchyard_contract").replace('-', "_");
        let pool = sqlx::PgPool::connect(&admin).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
        let base = &admin[..admin.rfind('/').unwrap()];
        let url = format!("{base}/{name}");
        Database { name, url }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        // A runtime of its own on a thread of its own: this may run inside the test's runtime,
        // or while a failed test unwinds.
        let name = self.name.clone();
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let pool = sqlx::PgPool::connect(&postgres_url()).await.ok()?;
                let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .execute(&pool)
                    .await
                    .ok()
            })
        });
        let _ = dropped.join();
    }
}

/// Runs raw SQL against the store's database, to tamper with it or to inspect it.
pub async fn raw(url: &str, sql: &str) {
    if url.starts_with("sqlite") {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(&pool)
            .await
            .unwrap();
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(&pool)
            .await
            .unwrap();
    }
}

/// Runs `n` copies of `call` at once (each told its index) and returns their results in order.
pub async fn at_once<T, F>(n: usize, call: impl Fn(usize) -> F) -> Vec<T>
where
    T: Send + 'static,
    F: std::future::Future<Output = T> + Send + 'static,
{
    let barrier = Arc::new(tokio::sync::Barrier::new(n));
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let (barrier, call) = (barrier.clone(), call(i));
            tokio::spawn(async move {
                barrier.wait().await;
                call.await
            })
        })
        .collect();
    let mut out = Vec::with_capacity(n);
    for task in tasks {
        out.push(task.await.unwrap());
    }
    out
}
