//! Budgets in the request path: which budgets a request falls under (tenant, key, route class,
//! `x-switchyard-metadata` tags), what is left of them for `decide`, and the [`Hold`] a request
//! takes after its decision and settles with its real cost when it ends. Each node spends from
//! leases taken from the store's shared ledger, so the nodes together stay within the limit.
//! Never lets a request start an attempt its hold does not cover.

mod book;
mod hold;

pub use book::{Book, Lease, bucket_len, bucket_of, counted_since};
pub use hold::Hold;

use crate::config::{BudgetScope, BudgetSpec};
use crate::error::ApiError;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use switchyard_evidence::budget_ledger::LeaseAsk;
use switchyard_evidence::{Draft, EventKind, EventLog, Store};
use switchyard_policy::{BudgetState, Decision, MicroUsd};

/// How many times a reservation asks the shared ledger for more before it is refused.
const REFILL_ROUNDS: usize = 4;

/// What picks the budgets a request falls under: who pays for it and under what class.
#[derive(Debug, Clone, Copy)]
pub struct Spender<'a> {
    pub tenant: &'a str,
    /// The API key's id, when the request came with a stored key.
    pub key: Option<&'a str>,
    /// Its route class (`none` until decided).
    pub route_class: &'a str,
    /// Its `x-switchyard-metadata` tags.
    pub tags: &'a BTreeMap<String, String>,
}

/// A request's ids, as its budget events name it.
#[derive(Debug, Clone, Copy)]
pub struct Ids<'a> {
    pub request: &'a str,
    pub decision: &'a str,
}

/// Every budget of the gateway, as this node spends them.
pub struct Budgets {
    specs: Vec<BudgetSpec>,
    store: Arc<dyn Store>,
    events: EventLog,
    books: Mutex<BTreeMap<String, Book>>,
    /// One lease request at a time per scope, so a burst takes one lease, not one each.
    refill: BTreeMap<String, tokio::sync::Mutex<()>>,
}

/// A reservation refused: which budget, and what was left of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exhausted {
    pub scope: String,
    pub estimate: MicroUsd,
    pub remaining: MicroUsd,
}

/// Micro-USD as dollars.
pub fn usd(micros: MicroUsd) -> String {
    format!("${}.{:06}", micros / 1_000_000, micros % 1_000_000)
}

impl Budgets {
    /// The budgets of `specs`, leasing from `store` and recording in `events`.
    pub fn new(specs: Vec<BudgetSpec>, store: Arc<dyn Store>, events: EventLog) -> Arc<Self> {
        let books = specs
            .iter()
            .map(|s| (s.scope.name(), Book::new(s.clone())))
            .collect();
        let refill = specs
            .iter()
            .map(|s| (s.scope.name(), tokio::sync::Mutex::new(())))
            .collect();
        Arc::new(Budgets {
            specs,
            store,
            events,
            books: Mutex::new(books),
            refill,
        })
    }

    fn books(&self) -> MutexGuard<'_, BTreeMap<String, Book>> {
        // A panic while holding the lock leaves plain numbers behind: keep using them.
        self.books.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The budgets a request falls under, by scope name: its tenant, its key, its route class
    /// (once decided), and each `x-switchyard-metadata` entry a budget names.
    pub fn scopes(&self, who: &Spender<'_>) -> Vec<String> {
        if self.specs.is_empty() {
            return Vec::new();
        }
        self.specs
            .iter()
            .filter(|s| match &s.scope {
                BudgetScope::Tenant(t) => t == who.tenant,
                BudgetScope::Key(k) => Some(k.as_str()) == who.key,
                BudgetScope::RouteClass(c) => c == who.route_class,
                BudgetScope::Tag { name, value } => who.tags.get(name) == Some(value),
            })
            .map(|s| s.scope.name())
            .collect()
    }

    /// What is left of each budget `scopes` names at `now_ms`, for `decide`.
    pub fn state(&self, scopes: &[String], now_ms: u64) -> BudgetState {
        let books = self.books();
        BudgetState(
            scopes
                .iter()
                .filter_map(|s| books.get(s).map(|b| (s.clone(), b.remaining(now_ms))))
                .collect(),
        )
    }

    /// The budget state of the request `who` describes (see [`Budgets::scopes`]).
    pub fn state_for(&self, who: &Spender<'_>, now_ms: u64) -> BudgetState {
        self.state(&self.scopes(who), now_ms)
    }

    /// Reserves `amount` in every budget of `scopes` at once, taking leases from the shared
    /// ledger as needed. Returns the reservations (scope, reservation, bucket).
    async fn take(
        &self,
        scopes: &[String],
        amount: MicroUsd,
        now_ms: u64,
    ) -> Result<hold::Taken, Reserve> {
        for _ in 0..REFILL_ROUNDS {
            let mut returns = Vec::new();
            let short = {
                let mut books = self.books();
                let mut short = None;
                for scope in scopes {
                    let Some(book) = books.get_mut(scope) else {
                        continue;
                    };
                    returns.extend(book.roll(now_ms).map(|(b, n)| (scope.clone(), b, n)));
                    if let Err(over) = book.check(amount, now_ms) {
                        short = Some(Err(Exhausted {
                            scope: scope.clone(),
                            estimate: amount,
                            remaining: over.remaining,
                        }));
                        break;
                    }
                    if short.is_none() && book.room() < amount {
                        short = Some(Ok(scope.clone()));
                    }
                }
                if short.is_none() {
                    return Ok(hold::reserve_all(&mut books, scopes, amount, now_ms));
                }
                short
            };
            self.give_back(returns).await;
            match short {
                Some(Err(exhausted)) => return Err(Reserve::Exhausted(exhausted)),
                Some(Ok(scope)) => self.refill(&scope, amount, now_ms).await?,
                None => {}
            }
        }
        Err(Reserve::Exhausted(Exhausted {
            scope: scopes.first().cloned().unwrap_or_default(),
            estimate: amount,
            remaining: 0,
        }))
    }

    /// Takes a lease for `scope` big enough for `amount` more (one lease, or more when
    /// `amount` is larger); refused when the shared ledger has less room than that.
    async fn refill(&self, scope: &str, amount: MicroUsd, now_ms: u64) -> Result<(), Reserve> {
        let _one_at_a_time = match self.refill.get(scope) {
            Some(m) => Some(m.lock().await),
            None => None,
        };
        let (ask_scope, bucket, since, need, want, limit) = {
            let books = self.books();
            let Some(book) = books.get(scope) else {
                return Ok(());
            };
            if book.room() >= amount {
                return Ok(()); // another request refilled it meanwhile
            }
            let window = book.spec.limit.window;
            let need = amount.saturating_add(book.lease.used.saturating_sub(book.lease.granted))
                - book.room();
            (
                scope.to_owned(),
                book.lease.bucket_ms,
                counted_since(window, now_ms),
                need,
                need.max(book.spec.lease),
                book.spec.limit.limit,
            )
        };
        let ask = LeaseAsk {
            scope: &ask_scope,
            bucket_ms: sql_ms(bucket),
            since_ms: sql_ms(since),
            want,
            at_least: need,
            limit,
        };
        let grant = self.store.take_lease(&ask).await.map_err(|e| {
            tracing::error!(scope, error = %e, "cannot take a budget lease");
            Reserve::Ledger(e.to_string())
        })?;
        if grant.granted == 0 {
            let left = self.books().get(scope).map_or(0, Book::room);
            return Err(Reserve::Exhausted(Exhausted {
                scope: scope.to_owned(),
                estimate: amount,
                remaining: left.saturating_add(limit.saturating_sub(grant.leased)),
            }));
        }
        let kept = self
            .books()
            .get_mut(scope)
            .is_some_and(|b| b.add_grant(bucket, grant.granted, grant.leased));
        self.lease_event("lease", scope, bucket, grant.granted, Some(grant.leased))
            .await;
        if !kept {
            self.give_back(vec![(scope.to_owned(), bucket, grant.granted)])
                .await;
        }
        Ok(())
    }

    /// Gives unspent leases back to the shared ledger, recording each.
    async fn give_back(&self, returns: Vec<(String, u64, MicroUsd)>) {
        for (scope, bucket, amount) in returns {
            match self
                .store
                .return_lease(&scope, sql_ms(bucket), amount)
                .await
            {
                Ok(()) => {
                    self.lease_event("lease_return", &scope, bucket, amount, None)
                        .await;
                }
                Err(e) => tracing::warn!(scope, error = %e, "cannot give back a budget lease"),
            }
        }
    }

    /// Holds `amount` in every budget of `scopes` for one request and records it: what
    /// [`reserve`] does once it has priced the plan. Refused when a budget has no room.
    pub async fn hold(
        self: &Arc<Self>,
        scopes: &[String],
        amount: MicroUsd,
        request_id: &str,
    ) -> Result<Hold, String> {
        let now = crate::health::now_ms();
        match self.take(scopes, amount, now).await {
            Ok(taken) => {
                let hold = Hold::new(self.clone(), (request_id, ""), amount, taken);
                hold.record_reserved(now).await;
                Ok(hold)
            }
            Err(Reserve::Exhausted(e)) => Err(format!("budget {} is exhausted", e.scope)),
            Err(Reserve::Ledger(m)) => Err(m),
        }
    }

    /// Gives back every unspent lease (at shutdown), so other nodes may spend it.
    pub async fn surrender(&self) {
        let returns: Vec<_> = self
            .books()
            .iter_mut()
            .filter_map(|(s, b)| b.surrender().map(|(bucket, n)| (s.clone(), bucket, n)))
            .collect();
        self.give_back(returns).await;
    }

    async fn lease_event(
        &self,
        action: &str,
        scope: &str,
        bucket: u64,
        amount: MicroUsd,
        leased: Option<MicroUsd>,
    ) {
        let payload = json!({
            "action": action,
            "scope": scope,
            "bucket_ms": bucket,
            "amount_microusd": amount,
            "leased_in_window_microusd": leased,
        });
        self.events
            .record(Draft::new(EventKind::Budget, None, payload))
            .await;
    }
}

/// Why a reservation failed.
#[derive(Debug)]
enum Reserve {
    Exhausted(Exhausted),
    /// The shared ledger could not be reached: fail closed.
    Ledger(String),
}

fn sql_ms(ms: u64) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX)
}

/// What the executor may commit of `decision`'s plan under `cap`: the first step always, then
/// each next step while the sum stays within `cap` (the executor's own rule, see
/// `execute::run`), so a hold of this amount covers every attempt it can start.
pub fn plan_cost(decision: &Decision, cap: MicroUsd) -> (MicroUsd, MicroUsd) {
    let mut steps = decision.plan.steps.iter().map(|s| {
        s.candidates()
            .iter()
            .map(|c| c.estimated_cost)
            .sum::<MicroUsd>()
    });
    let first = steps.next().unwrap_or(0);
    let mut committed = first;
    for cost in steps {
        if committed.saturating_add(cost) > cap {
            break;
        }
        committed = committed.saturating_add(cost);
    }
    (first, committed)
}

/// Reserves the request's budgets after its decision: the estimated cost of as much of the
/// plan as its cost cap allows, or of its first step alone when the budgets have no room for
/// more. The decision's cost cap becomes the amount held, so the executor never starts an
/// attempt the hold does not cover. Refused: 429 with the budget and what is left. No hold
/// when no budget applies.
pub async fn reserve(
    budgets: &Arc<Budgets>,
    ids: Ids<'_>,
    who: &Spender<'_>,
    decision: &mut Decision,
) -> Result<Option<Hold>, ApiError> {
    let scopes = budgets.scopes(who);
    if scopes.is_empty() {
        return Ok(None);
    }
    let now = crate::health::now_ms();
    let (first, whole) = plan_cost(decision, decision.cost_cap.unwrap_or(MicroUsd::MAX));
    let mut taken = budgets.take(&scopes, whole, now).await;
    let mut amount = whole;
    if whole > first && matches!(taken, Err(Reserve::Exhausted(_))) {
        amount = first;
        taken = budgets.take(&scopes, first, now).await;
    }
    match taken {
        Ok(taken) => {
            decision.cost_cap = Some(amount);
            let hold = Hold::new(budgets.clone(), (ids.request, ids.decision), amount, taken);
            hold.record_reserved(now).await;
            Ok(Some(hold))
        }
        Err(Reserve::Exhausted(e)) => {
            hold::record_refused(budgets, ids, &e).await;
            Err(ApiError::Refused {
                status: 429,
                code: "budget_exhausted",
                message: format!(
                    "over budget {}: this request may cost up to {} and {} is left in this window",
                    e.scope,
                    usd(e.estimate),
                    usd(e.remaining)
                ),
                retry_after: None,
            })
        }
        Err(Reserve::Ledger(message)) => Err(ApiError::Refused {
            status: 503,
            code: "budget_ledger_unavailable",
            message: format!(
                "the budget ledger cannot be reached, so budgeted requests are refused: {message}"
            ),
            retry_after: Some(std::time::Duration::from_secs(1)),
        }),
    }
}
