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

    /// Checks a target's upstream id with its family's grammar, as its adapter would before
    /// any I/O. Config ids were checked at load, so a refusal here is of an id the client named
    /// (`provider/model`): the client's 400 `invalid_model_id`, not an upstream failure.
    pub fn check_model(&self, target: &Target) -> Result<(), ApiError> {
        let Some(upstream) = self.upstreams.get(&target.provider) else {
            return Ok(());
        };
        upstream
            .adapter
            .check_model(&upstream.endpoint, &target.upstream_model)
            .map_err(|e| ApiError::Refused {
                status: 400,
                code: "invalid_model_id",
                message: format!("provider \"{}\": {}", target.provider, e.message),
                retry_after: None,
            })
    }

    /// The price of a target: its own (config or shipped table), else its provider's default;
    /// `None` when nothing prices it (its requests are unpriced, never free).
    pub fn price(&self, target: &Target) -> Option<Price> {
        let own = self.config.models.get(&target.model);
        own.filter(|m| m.priced_by.is_some())
            .map(|m| m.price)
            .or_else(|| {
                let provider = own.map_or(target.provider.as_str(), |m| m.provider.as_str());
                self.config.providers.get(provider)?.default_price
            })
    }

    /// A `provider/model` of the wrong kind for the door is a clear 400 before routing (an
    /// embedding model on the chat door); aliases are the profile's to route.
    pub fn check_kind(&self, requested: &str, kind: ModelKind) -> Result<(), ApiError> {
        match self.config.models.get(requested) {
            Some(m) if m.kind != kind => Err(ApiError::bad_request(match kind {
                ModelKind::Chat => {
                    format!("\"{requested}\" is an embedding model; use /v1/embeddings")
                }
                ModelKind::Embedding => {
                    format!("\"{requested}\" is a chat model, not an embedding model")
                }
            })),
            _ => Ok(()),
        }
    }

    /// A plan whose every target is a configured model of the other kind (an embeddings alias
    /// on the chat door) is a 400 too.
    pub fn check_plan_kind(
        &self,
        requested: &str,
        targets: &mut dyn Iterator<Item = &Target>,
        kind: ModelKind,
    ) -> Result<(), ApiError> {
        let mut all_other = true;
        for t in targets {
            all_other &= self
                .config
                .models
                .get(&t.model)
                .is_some_and(|m| m.kind != kind);
        }
        if all_other {
            let serves = match kind {
                ModelKind::Chat => "chat",
                ModelKind::Embedding => "embedding",
            };
            return Err(ApiError::bad_request(format!(
                "\"{requested}\" has no {serves} model; use the endpoint its models serve"
            )));
        }
        Ok(())
    }
}
