//! Admission: who is asking, and may they. Turns a request's API key into a [`Principal`]
//! (tenant + [`KeyPolicy`]), enforces the key's rates, and guards the admin API. Secrets are
//! only ever hashed here: never stored, logged or recorded.
//!
//! With no keys configured at all (no admin key and no active key in the store), the gateway
//! serves loopback clients only, as the anonymous tenant `local`, whatever bearer token they
//! send. Once a key exists, every request needs a valid one.

pub mod cli;
pub mod keys;
pub mod policy;
pub mod rate;

pub use keys::{CreatedKey, KeyView, NewKey};
pub use policy::KeyPolicy;
pub use rate::{OverRate, RateLimits, Rates};

use crate::config::AdminKey;
use crate::error::ApiError;
use axum::http::HeaderMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use switchyard_evidence::{EventLog, Store, event::now_ms, keys::hash_secret};

/// How long a found key is trusted without asking the store again. A key revoked on this node
/// stops at once; one revoked elsewhere (another node, the CLI) stops within this time.
const KEY_TTL: Duration = Duration::from_secs(1);

/// The tenant of requests admitted without a key (loopback, no keys configured).
pub const LOCAL_TENANT: &str = "local";

/// Who a request is: its tenant, its key (none for the anonymous loopback principal), and what
/// that key may do.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    pub tenant: String,
    pub key_id: Option<String>,
    pub policy: KeyPolicy,
}

impl Principal {
    /// The anonymous principal of a loopback client when no keys are configured: no limits.
    pub fn local() -> Principal {
        Principal {
            tenant: LOCAL_TENANT.into(),
            key_id: None,
            policy: KeyPolicy::default(),
        }
    }

    fn limits(&self) -> RateLimits {
        RateLimits {
            rpm: self.policy.rpm,
            tpm: self.policy.tpm,
        }
    }
}

/// The admission service, one per gateway, shared by every request.
pub struct Admission {
    store: Arc<dyn Store>,
    events: EventLog,
    admin_key: Option<AdminKey>,
    /// Key hash → principal, for keys found within the key TTL ([`KEY_TTL`] unless
    /// [`Admission::with_key_ttl`] says otherwise; unknown keys are never cached).
    found: moka::future::Cache<String, Arc<Principal>>,
    /// Whether any key is configured, re-read from the store at most once per key TTL.
    configured: moka::future::Cache<(), bool>,
    rates: Rates,
    /// The anonymous loopback principal, shared rather than built per request.
    local: Arc<Principal>,
}

/// The credential a request presents: `Authorization: Bearer …`, else `x-api-key`.
pub fn presented_key(headers: &HeaderMap) -> Option<&str> {
    let bearer = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    bearer
        .or_else(|| {
            headers
                .get("x-api-key")
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
        })
        .filter(|k| !k.is_empty())
}

fn unauthorized(message: &str) -> ApiError {
    ApiError::Unauthorized(message.to_owned())
}

impl Admission {
    /// The admission service over `store`; key changes are recorded in `events`.
    pub fn new(store: Arc<dyn Store>, events: EventLog, admin_key: Option<AdminKey>) -> Self {
        Self::with_key_ttl(store, events, admin_key, KEY_TTL)
    }

    /// [`Admission::new`] trusting what it read from the store for `ttl` instead of a second,
    /// so that a test of a key changed elsewhere need not wait a second for it.
    pub fn with_key_ttl(
        store: Arc<dyn Store>,
        events: EventLog,
        admin_key: Option<AdminKey>,
        ttl: Duration,
    ) -> Self {
        Admission {
            store,
            events,
            admin_key,
            found: moka::future::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(ttl)
                .build(),
            configured: moka::future::Cache::builder().time_to_live(ttl).build(),
            rates: Rates::new(),
            local: Arc::new(Principal::local()),
        }
    }

    /// True when an admin key is set or the store holds an active key: from then on every
    /// request needs a valid key and non-loopback addresses may be served.
    pub async fn keys_configured(&self) -> Result<bool, ApiError> {
        if self.admin_key.is_some() {
            return Ok(true);
        }
        let store = self.store.clone();
        self.configured
            .try_get_with(
                (),
                async move { store.count_active_keys().await.map(|n| n > 0) },
            )
            .await
            .map_err(|e| ApiError::Internal(format!("cannot read the key store: {e}")))
    }

    /// Admits a request at the door: authenticates its key (401 when missing, unknown or
    /// revoked) and counts it against the key's rates (429 with `Retry-After`). `peer` is the
    /// client's address; `None` (unknown) is treated as not loopback. Call first, before the
    /// body is parsed; then check the model, class, region and data classes with
    /// [`Principal::policy`].
    pub async fn admit(
        &self,
        headers: &HeaderMap,
        peer: Option<SocketAddr>,
    ) -> Result<Arc<Principal>, ApiError> {
        if !self.keys_configured().await? {
            return match peer {
                Some(addr) if addr.ip().is_loopback() => Ok(self.local.clone()),
                _ => Err(unauthorized(
                    "no API keys are configured, so this gateway serves loopback clients only",
                )),
            };
        }
        let Some(secret) = presented_key(headers) else {
            return Err(unauthorized(
                "missing API key: send it as \"Authorization: Bearer KEY\" or \"x-api-key: KEY\"",
            ));
        };
        let principal = self.principal(secret).await?;
        if let Some(key_id) = &principal.key_id {
            self.rates
                .admit(key_id, principal.limits())
                .map_err(|over| rate_limited(&over))?;
        }
        Ok(principal)
    }

    /// The principal of a presented secret, from the cache or the store.
    async fn principal(&self, secret: &str) -> Result<Arc<Principal>, ApiError> {
        let hash = hash_secret(secret);
        let store = self.store.clone();
        let lookup = hash.clone();
        let found = self
            .found
            .try_get_with(hash, async move {
                let record = match store.find_key_by_hash(&lookup).await {
                    Ok(Some(record)) => record,
                    Ok(None) => return Err(Lookup::Unknown),
                    Err(e) => return Err(Lookup::Failed(e.to_string())),
                };
                let view = KeyView::of(&record).map_err(|e| Lookup::Failed(e.message()))?;
                Ok(Arc::new(Principal {
                    tenant: view.tenant,
                    key_id: Some(view.id),
                    policy: view.policy,
                }))
            })
            .await;
        found.map_err(|e| match &*e {
            Lookup::Unknown => unauthorized("invalid API key: it is unknown or has been revoked"),
            Lookup::Failed(message) => {
                ApiError::Internal(format!("cannot read the key store: {message}"))
            }
        })
    }

    /// Charges `tokens` to the principal's tokens-per-minute bucket: the estimated input once
    /// the body is parsed, before any upstream call. No-op for keys without `tpm`.
    pub fn charge_tokens(&self, principal: &Principal, tokens: u64) {
        if let Some(key_id) = &principal.key_id {
            self.rates.charge(key_id, principal.limits(), tokens);
        }
    }

    /// Settles a request charged `charged` tokens (see [`Admission::charge_tokens`]) that
    /// really used `used` (input + output from the answer's usage): charges the rest or refunds
    /// the overestimate. Over the rate, the request is still served; the key's next ones wait.
    pub fn settle_tokens(&self, principal: &Principal, charged: u64, used: u64) {
        if let Some(key_id) = &principal.key_id {
            self.rates.settle(key_id, principal.limits(), charged, used);
        }
    }

    /// Lets the request through to the admin API only with the admin key: 403 when none is
    /// configured (the admin API is off), 401 when it is missing or wrong.
    pub fn check_admin(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        let Some(admin) = &self.admin_key else {
            return Err(ApiError::Forbidden {
                message: "the admin API is disabled: set admin_key in the config or SWITCHYARD_ADMIN_KEY in the environment".into(),
                code: "admin_api_disabled",
            });
        };
        match presented_key(headers) {
            Some(k) if admin.matches(k) => Ok(()),
            Some(_) => Err(unauthorized("invalid admin key")),
            None => Err(unauthorized(
                "missing admin key: send it as \"Authorization: Bearer KEY\"",
            )),
        }
    }

    /// Creates a key (see [`keys::create`]); it authenticates at once on this node.
    pub async fn create_key(&self, new: NewKey) -> Result<CreatedKey, ApiError> {
        let created = keys::create(self.store.as_ref(), &self.events, new, now_ms()).await?;
        self.configured.invalidate(&()).await;
        Ok(created)
    }

    /// Every key of `tenant` (or all), without secrets or hashes.
    pub async fn list_keys(&self, tenant: Option<&str>) -> Result<Vec<KeyView>, ApiError> {
        keys::list(self.store.as_ref(), tenant).await
    }

    /// Revokes a key; on this node it stops authenticating at once.
    pub async fn revoke_key(&self, id: &str) -> Result<KeyView, ApiError> {
        let record = keys::revoke(self.store.as_ref(), &self.events, id, now_ms()).await?;
        self.found.invalidate(&record.hash).await;
        self.configured.invalidate(&()).await;
        self.rates.forget(&record.id);
        KeyView::of(&record)
    }
}

/// Why a key lookup found no principal (never cached, so a key created later is found).
#[derive(Debug)]
enum Lookup {
    Unknown,
    Failed(String),
}

/// The 429 for a rate a key is over.
fn rate_limited(over: &OverRate) -> ApiError {
    let message = match over {
        OverRate::Requests { rpm, .. } => {
            format!("this API key is over its rate of {rpm} requests per minute")
        }
        OverRate::Tokens { tpm, .. } => {
            format!("this API key is over its rate of {tpm} tokens per minute")
        }
    };
    ApiError::RateLimited {
        message,
        retry_after: over.retry_after(),
    }
}
