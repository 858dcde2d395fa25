//! A `Target`: one place a request can be sent, a provider's model in a region.

use serde::{Deserialize, Serialize};

/// One place a request can be sent.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Target {
    /// The provider's name in config (`openai`).
    pub provider: String,
    /// `provider/model`, as clients and config name it.
    pub model: String,
    /// The model id the upstream knows.
    pub upstream_model: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

impl Target {
    /// Splits `provider/model`; `None` when it has no provider part.
    pub fn parse(id: &str) -> Option<(&str, &str)> {
        id.split_once('/')
            .filter(|(p, m)| !p.is_empty() && !m.is_empty())
    }
}
