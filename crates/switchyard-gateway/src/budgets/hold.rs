//! A request's hold on its budgets: reserved after the decision, settled exactly once with the
//! real cost when the request ends (answered, failed, or its stream finished or abandoned).
//! A hold dropped unsettled is charged in full: a request can never leave a budget unpaid.

use super::{Book, Budgets, Exhausted, usd};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use switchyard_evidence::telemetry;
use switchyard_evidence::{Draft, EventKind};
use switchyard_policy::{MicroUsd, Reservation};

/// Reservations taken together: per scope, the reservation and the lease bucket it was in.
pub(super) type Taken = Vec<(String, Reservation, u64)>;

/// Reserves `amount` in every book of `scopes` (the caller checked each has room).
pub(super) fn reserve_all(
    books: &mut BTreeMap<String, Book>,
    scopes: &[String],
    amount: MicroUsd,
    now_ms: u64,
) -> Taken {
    let mut taken = Vec::new();
    for scope in scopes {
        if let Some(book) = books.get_mut(scope)
            && let Ok(r) = book.reserve(amount, now_ms)
        {
            taken.push((scope.clone(), r, book.lease.bucket_ms));
        }
    }
    taken
}

/// What is left of each scope, for events and the gauge.
fn left(books: &BTreeMap<String, Book>, scopes: &[&str], now_ms: u64) -> Value {
    let mut out = Vec::new();
    for scope in scopes {
        if let Some(book) = books.get(*scope) {
            let remaining = book.remaining(now_ms);
            telemetry::observe_budget(scope, remaining as f64 / 1_000_000.0);
            out.push(json!({
                "scope": scope,
                "limit_microusd": book.spec.limit.limit,
                "remaining_microusd": remaining,
            }));
        }
    }
    Value::Array(out)
}

/// A request's reservation on its budgets.
pub struct Hold {
    budgets: Arc<Budgets>,
    request_id: String,
    decision_id: String,
    amount: MicroUsd,
    taken: Mutex<Option<Taken>>,
}

impl std::fmt::Debug for Hold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hold")
            .field("request_id", &self.request_id)
            .field("amount", &self.amount)
            .finish_non_exhaustive()
    }
}

impl Hold {
    pub(super) fn new(
        budgets: Arc<Budgets>,
        (request_id, decision_id): (&str, &str),
        amount: MicroUsd,
        taken: Taken,
    ) -> Self {
        Hold {
            budgets,
            request_id: request_id.to_owned(),
            decision_id: decision_id.to_owned(),
            amount,
            taken: Mutex::new(Some(taken)),
        }
    }

    /// The amount held in each budget (micro-USD).
    pub fn amount(&self) -> MicroUsd {
        self.amount
    }

    fn scopes(&self) -> Vec<String> {
        self.taken
            .lock()
            .map(|t| {
                t.iter()
                    .flatten()
                    .map(|(s, _, _)| s.clone())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    }

    /// Records the reservation: scopes, amount held, and what is left of each budget.
    pub(super) async fn record_reserved(&self, now_ms: u64) {
        let scopes = self.scopes();
        let refs: Vec<&str> = scopes.iter().map(String::as_str).collect();
        let remaining = left(&self.budgets.books(), &refs, now_ms);
        let payload = json!({
            "action": "reserve",
            "decision_id": self.decision_id,
            "amount_microusd": self.amount,
            "budgets": remaining,
        });
        self.budgets
            .events
            .record(Draft::new(
                EventKind::Budget,
                Some(&self.request_id),
                payload,
            ))
            .await;
    }

    /// Settles the hold with the request's real cost; `None` (a served answer whose usage
    /// never came, such as an abandoned stream) charges the whole hold. Only the first call
    /// counts. Records the settlement (queued on the runtime: this runs where nothing can be
    /// awaited).
    pub fn settle(&self, actual: Option<MicroUsd>) {
        let Some(taken) = self.taken.lock().ok().and_then(|mut t| t.take()) else {
            return;
        };
        let cost = actual.unwrap_or(self.amount);
        let now = crate::health::now_ms();
        let remaining = {
            let mut books = self.budgets.books();
            let mut scopes = Vec::new();
            for (scope, r, bucket) in taken {
                if let Some(book) = books.get_mut(&scope) {
                    book.settle(r, bucket, cost);
                }
                scopes.push(scope);
            }
            let refs: Vec<&str> = scopes.iter().map(String::as_str).collect();
            left(&books, &refs, now)
        };
        if cost > self.amount {
            tracing::warn!(
                request_id = %self.request_id,
                held = %usd(self.amount),
                cost = %usd(cost),
                "a request cost more than its budget hold"
            );
        }
        let payload = json!({
            "action": "settle",
            "decision_id": self.decision_id,
            "held_microusd": self.amount,
            "cost_microusd": cost,
            "cost_known": actual.is_some(),
            "budgets": remaining,
        });
        let draft = Draft::new(EventKind::Budget, Some(&self.request_id), payload);
        let log = self.budgets.events.clone();
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move { log.record(draft).await });
        }
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        self.settle(None);
    }
}

/// Records a reservation refused for lack of budget.
pub(super) async fn record_refused(budgets: &Budgets, ids: super::Ids<'_>, e: &Exhausted) {
    let payload = json!({
        "action": "refuse",
        "decision_id": ids.decision,
        "scope": e.scope,
        "amount_microusd": e.estimate,
        "remaining_microusd": e.remaining,
    });
    budgets
        .events
        .record(Draft::new(EventKind::Budget, Some(ids.request), payload))
        .await;
}
