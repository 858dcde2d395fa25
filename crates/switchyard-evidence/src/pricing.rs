//! Prices per model and the cost of an attempt from its token usage. Adapters never compute
//! cost: they report usage, and this table prices it.

use serde::{Deserialize, Serialize};
use switchyard_protocol::Usage;

/// US dollars per million tokens of each kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Price {
    pub input: f64,
    pub output: f64,
    /// Cached input tokens; the input price when unset.
    pub cached_input: Option<f64>,
    /// Tokens written to a prompt cache; the input price when unset.
    pub cache_write: Option<f64>,
}

impl Price {
    /// Cost of one attempt in dollars. Cached and cache-write tokens are part of
    /// `usage.input_tokens` and are priced at their own rates; reasoning tokens are part of
    /// the output.
    pub fn cost(&self, usage: &Usage) -> f64 {
        let cached = usage.cached_input_tokens.min(usage.input_tokens);
        let written = usage.cache_write_tokens.min(usage.input_tokens - cached);
        let plain = usage.input_tokens - cached - written;
        let per = |tokens: u64, usd_per_mtok: f64| tokens as f64 * usd_per_mtok / 1_000_000.0;
        per(plain, self.input)
            + per(cached, self.cached_input.unwrap_or(self.input))
            + per(written, self.cache_write.unwrap_or(self.input))
            + per(usage.output_tokens, self.output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_each_kind_of_token() {
        let price = Price {
            input: 1.0,
            output: 4.0,
            cached_input: Some(0.1),
            cache_write: Some(1.25),
        };
        let usage = Usage {
            input_tokens: 1_000_000,
            output_tokens: 500_000,
            cached_input_tokens: 400_000,
            cache_write_tokens: 100_000,
            reasoning_tokens: 0,
        };
        let cost = price.cost(&usage);
        assert!((cost - (0.5 + 0.04 + 0.125 + 2.0)).abs() < 1e-9, "{cost}");
    }
}
