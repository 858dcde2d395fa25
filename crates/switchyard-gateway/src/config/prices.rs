//! `switchyard prices`: the effective price of every configured model and where it comes from
//! (the config file, the shipped table, or its provider's default), and the models nothing
//! prices, which are recorded as unpriced rather than free. Never prints a credential.

use super::{Config, PricedBy};

/// The table `switchyard prices` prints: one line per model, then each provider's default.
pub fn table(config: &Config) -> String {
    let mut rows =
        vec![["model", "kind", "input", "output", "cached in", "from"].map(str::to_owned)];
    for (id, m) in &config.models {
        let default = config
            .providers
            .get(&m.provider)
            .and_then(|p| p.default_price);
        let (price, from) = match (&m.priced_by, default) {
            (Some(PricedBy::Config(file)), _) => (Some(m.price), file.clone()),
            (Some(PricedBy::Shipped), _) => (Some(m.price), super::models::SHIPPED.to_owned()),
            (None, Some(d)) => (Some(d), format!("providers.{} default", m.provider)),
            (None, None) => (None, "unpriced: recorded without a cost".to_owned()),
        };
        let usd = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.4}"));
        let kind = match m.kind {
            super::ModelKind::Chat => "chat",
            super::ModelKind::Embedding => "embedding",
        };
        rows.push([
            id.clone(),
            kind.to_owned(),
            usd(price.map(|p| p.input)),
            usd(price.map(|p| p.output)),
            usd(price.map(|p| p.cached_input.unwrap_or(p.input))),
            from,
        ]);
    }
    let widths: Vec<usize> = (0..6)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::from("USD per million tokens\n");
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    for (name, p) in &config.providers {
        let other = match (p.default_price, p.passthrough) {
            (Some(d), _) => format!("{:.4} in, {:.4} out", d.input, d.output),
            (None, true) => "unpriced (no default price)".to_owned(),
            (None, false) => continue,
        };
        out.push_str(&format!("other {name}/ models: {other}\n"));
    }
    out
}
