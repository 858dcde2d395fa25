//! Model facts `decide` needs (context window, prices, size rank), as an input table the
//! gateway fills from its config. Never read from config types here: policy sees only this.

use crate::Target;
use crate::budget::{MicroUsd, token_cost};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

fn yes() -> bool {
    true
}

fn default_max_output() -> u64 {
    4_096
}

/// What policy knows of one model at one provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelFacts {
    /// Where it runs: provider, `provider/model` id, upstream id and region.
    pub target: Target,
    /// Input plus output tokens the model accepts.
    pub context_window: u64,
    /// Price of input tokens (USD per million).
    pub input_usd_per_mtok: f64,
    /// Price of output tokens (USD per million).
    pub output_usd_per_mtok: f64,
    /// Relative size, smaller first: "smallest acceptable model" orders by this.
    pub size_rank: u32,
    /// Whether the model takes tool definitions.
    #[serde(default = "yes")]
    pub tools: bool,
    /// Output tokens assumed when a request sets no `max_tokens`.
    #[serde(default = "default_max_output")]
    pub max_output_tokens: u64,
}

impl ModelFacts {
    /// Facts with tools supported and a 4096-token default output.
    pub fn new(
        target: Target,
        context_window: u64,
        usd_per_mtok: (f64, f64),
        size_rank: u32,
    ) -> Self {
        ModelFacts {
            target,
            context_window,
            input_usd_per_mtok: usd_per_mtok.0,
            output_usd_per_mtok: usd_per_mtok.1,
            size_rank,
            tools: true,
            max_output_tokens: default_max_output(),
        }
    }

    /// The most a request of `input` tokens with `max_output` (or the model's default) can cost.
    pub fn estimate(&self, input: u64, max_output: Option<u64>) -> MicroUsd {
        let output = max_output.unwrap_or(self.max_output_tokens);
        token_cost(input, self.input_usd_per_mtok)
            .saturating_add(token_cost(output, self.output_usd_per_mtok))
    }
}

/// Every model policy may route to, by `provider/model` id, and the providers whose other
/// models a client may name directly (`provider/any-model`), with the region each serves.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ModelTable {
    models: BTreeMap<String, ModelFacts>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    passthrough: BTreeMap<String, Option<String>>,
    /// The price (input, output USD per million tokens) of a passthrough provider's models
    /// that the table does not list, when its config gives one.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    passthrough_prices: BTreeMap<String, (f64, f64)>,
}

impl ModelTable {
    /// An empty table.
    pub fn new() -> Self {
        ModelTable::default()
    }

    /// Adds `facts` under its target's model id, replacing an earlier entry.
    pub fn insert(&mut self, facts: ModelFacts) {
        self.models.insert(facts.target.model.clone(), facts);
    }

    /// Lets clients name any model of `provider` directly; a model the table does not list is
    /// then routed with unknown facts: no context window check, no price, largest size rank.
    pub fn allow_passthrough(&mut self, provider: &str, region: Option<&str>) {
        self.passthrough
            .insert(provider.to_owned(), region.map(str::to_owned));
    }

    /// Prices the models of passthrough provider `provider` that the table does not list.
    pub fn price_passthrough(&mut self, provider: &str, price: (f64, f64)) {
        self.passthrough_prices.insert(provider.to_owned(), price);
    }

    /// The facts of `model` (`provider/model`) as listed.
    pub fn get(&self, model: &str) -> Option<&ModelFacts> {
        self.models.get(model)
    }

    /// The facts of `model`: listed ones, or unknown-fact defaults for a model of a
    /// passthrough provider.
    pub fn facts(&self, model: &str) -> Option<Cow<'_, ModelFacts>> {
        if let Some(f) = self.models.get(model) {
            return Some(Cow::Borrowed(f));
        }
        let (provider, upstream) = Target::parse(model)?;
        let region = self.passthrough.get(provider)?;
        let target = Target {
            provider: provider.to_owned(),
            model: model.to_owned(),
            upstream_model: upstream.to_owned(),
            region: region.clone(),
        };
        let price = self
            .passthrough_prices
            .get(provider)
            .copied()
            .unwrap_or((0.0, 0.0));
        Some(Cow::Owned(ModelFacts::new(
            target,
            u64::MAX,
            price,
            u32::MAX,
        )))
    }

    /// Every listed model id, in order.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.models.keys().map(String::as_str)
    }

    /// Every listed model's facts, in id order.
    pub fn iter(&self) -> impl Iterator<Item = &ModelFacts> {
        self.models.values()
    }

    /// The regions a provider serves (a provider with no region gives none); `None` for a
    /// provider the table does not know.
    pub fn provider_regions(&self, provider: &str) -> Option<BTreeSet<&str>> {
        let mut found = false;
        let mut regions = BTreeSet::new();
        for facts in self
            .models
            .values()
            .filter(|f| f.target.provider == provider)
        {
            found = true;
            regions.extend(facts.target.region.as_deref());
        }
        if let Some(region) = self.passthrough.get(provider) {
            found = true;
            regions.extend(region.as_deref());
        }
        found.then_some(regions)
    }
}

impl FromIterator<ModelFacts> for ModelTable {
    fn from_iter<I: IntoIterator<Item = ModelFacts>>(iter: I) -> Self {
        let mut table = ModelTable::new();
        for facts in iter {
            table.insert(facts);
        }
        table
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn target(model: &str, region: &str) -> Target {
        let (provider, upstream) = Target::parse(model).unwrap();
        Target {
            provider: provider.to_owned(),
            model: model.to_owned(),
            upstream_model: upstream.to_owned(),
            region: Some(region.to_owned()),
        }
    }

    #[test]
    fn estimates_use_max_tokens_or_the_model_default() {
        let m = ModelFacts::new(target("openai/gpt-4o-mini", "us"), 128_000, (0.15, 0.60), 1);
        assert_eq!(m.estimate(1_000_000, Some(0)), 150_000);
        assert_eq!(m.estimate(0, Some(1_000)), 600);
        assert_eq!(m.estimate(0, None), 2_458);
    }

    #[test]
    fn provider_regions() {
        let table: ModelTable = [
            ModelFacts::new(target("a/x", "eu"), 1, (0.0, 0.0), 1),
            ModelFacts::new(target("a/y", "us"), 1, (0.0, 0.0), 1),
        ]
        .into_iter()
        .collect();
        let regions = table.provider_regions("a").unwrap();
        assert_eq!(regions.into_iter().collect::<Vec<_>>(), ["eu", "us"]);
        assert!(table.provider_regions("b").is_none());
    }

    #[test]
    fn passthrough_providers_give_default_facts() {
        let mut table: ModelTable = [ModelFacts::new(target("a/x", "eu"), 9, (1.0, 2.0), 1)]
            .into_iter()
            .collect();
        assert!(table.facts("b/anything").is_none());
        table.allow_passthrough("b", Some("us"));
        let f = table.facts("b/anything").unwrap();
        assert_eq!(f.target.upstream_model, "anything");
        assert_eq!(f.target.region.as_deref(), Some("us"));
        assert_eq!(f.estimate(1_000, Some(1_000)), 0);
        table.price_passthrough("b", (1.0, 2.0));
        let priced = table.facts("b/anything").unwrap();
        assert_eq!(priced.estimate(1_000_000, Some(1_000_000)), 3_000_000);
        assert_eq!(table.facts("a/x").unwrap().context_window, 9);
        assert!(table.facts("b/").is_none());
        assert_eq!(
            table
                .provider_regions("b")
                .unwrap()
                .into_iter()
                .collect::<Vec<_>>(),
            ["us"]
        );
    }
}
