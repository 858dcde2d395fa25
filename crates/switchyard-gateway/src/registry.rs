//! The provider registry: each configured provider's adapter and endpoint, built once per
//! config, and the resolution of a requested model name (alias or `provider/model`) into the
//! targets that may serve it.

use crate::config::{Config, ModelKind};
use crate::error::ApiError;
use crate::mock_provider::MockProvider;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use switchyard_evidence::pricing::Price;
use switchyard_policy::Target;
use switchyard_providers::{Endpoint, Family, Provider};

/// One configured upstream.
pub struct Upstream {
    pub adapter: Arc<dyn Provider>,
    pub endpoint: Endpoint,
    pub timeout: Duration,
}

/// Adapters and endpoints by provider name, for one config snapshot.
pub struct Registry {
    pub config: Arc<Config>,
    upstreams: BTreeMap<String, Upstream>,
}

impl Registry {
    pub fn build(config: Arc<Config>) -> Self {
        let upstreams = config
            .providers
            .iter()
            .filter_map(|(name, p)| {
                let adapter: Arc<dyn Provider> = match p.endpoint.family {
                    Family::Mock => Arc::new(MockProvider),
                    family => family.adapter()?,
                };
                Some((
                    name.clone(),
                    Upstream {
                        adapter,
                        endpoint: p.endpoint.clone(),
                        timeout: p.timeout.unwrap_or(config.limits.attempt_timeout),
                    },
                ))
            })
            .collect();
        Self { config, upstreams }
    }

    pub fn upstream(&self, provider: &str) -> Option<&Upstream> {
        self.upstreams.get(provider)
    }

    /// Families whose adapter is not built in yet are configured but unusable; say so.
    pub fn unavailable_providers(&self) -> Vec<String> {
        self.config
            .providers
            .keys()
            .filter(|name| !self.upstreams.contains_key(*name))
            .cloned()
            .collect()
    }

    /// The price of a target; zero when the table does not know the model.
    pub fn price(&self, target: &Target) -> Option<Price> {
        self.config.models.get(&target.model).map(|m| m.price)
    }

    /// The targets for a requested model, in fallback order. `kind` is what the endpoint
    /// serves, so an embedding model on the chat door is a clear 400.
    pub fn resolve(&self, requested: &str, kind: ModelKind) -> Result<Vec<Target>, ApiError> {
        let ids: Vec<&str> = match self.config.aliases.get(requested) {
            Some(targets) => targets.iter().map(String::as_str).collect(),
            None => vec![requested],
        };
        let mut targets = Vec::with_capacity(ids.len());
        for id in ids {
            let Some((provider, model)) = Target::parse(id) else {
                return Err(self.not_found(requested));
            };
            let Some(upstream) = self.upstreams.get(provider) else {
                return Err(self.not_found(requested));
            };
            let configured = self.config.models.get(id);
            if let Some(m) = configured
                && m.kind != kind
            {
                if targets.is_empty() && !self.config.aliases.contains_key(requested) {
                    return Err(ApiError::bad_request(match kind {
                        ModelKind::Chat => {
                            format!("\"{id}\" is an embedding model; use /v1/embeddings")
                        }
                        ModelKind::Embedding => {
                            format!("\"{id}\" is a chat model, not an embedding model")
                        }
                    }));
                }
                continue;
            }
            targets.push(Target {
                provider: provider.to_owned(),
                model: id.to_owned(),
                upstream_model: configured
                    .map(|m| m.upstream.clone())
                    .unwrap_or_else(|| model.to_owned()),
                region: upstream.endpoint.region.clone(),
            });
        }
        if targets.is_empty() {
            return Err(ApiError::bad_request(format!(
                "alias \"{requested}\" has no target of the kind this endpoint serves"
            )));
        }
        Ok(targets)
    }

    fn not_found(&self, requested: &str) -> ApiError {
        let aliases: Vec<&str> = self.config.aliases.keys().map(String::as_str).collect();
        let providers: Vec<&str> = self.upstreams.keys().map(String::as_str).collect();
        ApiError::ModelNotFound(format!(
            "model \"{requested}\" does not exist: use an alias ({}) or provider/model with a configured provider ({})",
            aliases.join(", "),
            providers.join(", ")
        ))
    }
}
