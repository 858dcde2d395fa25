//! What every handler shares: the pinned config snapshot ([`Live`]) and the node's long-lived
//! parts (breakers, pools, the event log, admission, budgets). Never holds a request's state:
//! that is the pipeline's context.

use crate::registry::Registry;
use arc_swap::ArcSwap;
use std::sync::Arc;

/// What a request pins when it starts: the config's providers and the active profile. Swapped
/// whole by a reload or a profile activation; requests in flight keep the one they pinned.
pub struct Live {
    pub registry: Arc<Registry>,
    pub profile: Arc<switchyard_policy::ProfileSnapshot>,
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Live")
            .field("profile", &self.profile.id())
            .finish_non_exhaustive()
    }
}

/// What every handler shares.
pub struct AppState {
    live: ArcSwap<Live>,
    /// Previously active profiles (`name@version`), the last one on top, for rollback.
    pub profile_history: std::sync::Mutex<Vec<String>>,
    /// Circuit breakers per target.
    pub breakers: Arc<crate::health::Breakers>,
    /// The heavy-context pool.
    pub heavy: crate::pools::HeavyPool,
    /// The one pooled upstream client.
    pub http: reqwest::Client,
    /// Where this node's evidence goes.
    pub events: switchyard_evidence::EventLog,
    /// The store behind the event log (artifacts, retention).
    pub store: Arc<dyn switchyard_evidence::Store>,
    /// Where payload artifacts go, for the requests that keep them.
    pub artifacts: crate::artifacts::ArtifactSink,
    /// Renders `/metrics`.
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
    /// API keys → principals, their rates, and the admin key.
    pub admission: Arc<crate::admission::Admission>,
    /// Spending limits, spent from leases on the store's shared ledger.
    pub budgets: Arc<crate::budgets::Budgets>,
}

impl AppState {
    /// The state for `config`, with its active profile live.
    pub fn new(
        config: crate::config::Config,
        http: reqwest::Client,
        events: switchyard_evidence::EventLog,
        store: Arc<dyn switchyard_evidence::Store>,
        metrics: metrics_exporter_prometheus::PrometheusHandle,
    ) -> Result<Arc<Self>, String> {
        let profile = config.routing.active_snapshot().ok_or_else(|| {
            format!(
                "the active profile {:?} is not defined",
                config.routing.active
            )
        })?;
        let artifacts = crate::artifacts::ArtifactSink::new(&config, store.clone(), events.clone());
        let breakers = crate::health::Breakers::new(config.routing.breaker);
        let heavy = crate::pools::HeavyPool::new(
            config.limits.heavy_concurrency,
            config.limits.heavy_queue,
        );
        let admission = Arc::new(crate::admission::Admission::new(
            store.clone(),
            events.clone(),
            config.admin_key.clone(),
        ));
        let budgets =
            crate::budgets::Budgets::new(config.budgets.clone(), store.clone(), events.clone());
        let registry = Arc::new(Registry::build(Arc::new(config)));
        Ok(Arc::new(AppState {
            admission,
            budgets,
            live: ArcSwap::from_pointee(Live { registry, profile }),
            profile_history: std::sync::Mutex::new(Vec::new()),
            breakers,
            heavy,
            http,
            events,
            store,
            artifacts,
            metrics,
        }))
    }

    /// The registry and profile a request starting now pins.
    pub fn live(&self) -> Arc<Live> {
        self.live.load_full()
    }

    /// Makes `live` what requests starting from now pin.
    pub fn swap(&self, live: Live) {
        self.live.store(Arc::new(live));
    }
}

/// The client's address, when the router is served with connect info; admission treats `None`
/// as not loopback.
pub fn peer(extensions: &axum::http::Extensions) -> Option<std::net::SocketAddr> {
    extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0)
}
