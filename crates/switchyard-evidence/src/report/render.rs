//! The human forms of a report and of a baseline comparison: aligned plain-text tables. The
//! machine form is the serde JSON of the same types; nothing here computes a figure.

use super::compare::{Change, Comparison, Presence};
use super::{Figures, Report};
use std::fmt::Write as _;

/// The report as tables: figures per class and target, errors by kind, SLO verdicts.
pub fn render_table(report: &Report) -> String {
    let mut out = format!(
        "Switchyard report: {}\n\n",
        window(report.since_ms, report.until_ms)
    );
    if report.classes.is_empty() {
        out.push_str("No requests in this window.\n");
    } else {
        let mut rows = vec![
            [
                "class / target",
                "reqs",
                "err%",
                "aband%",
                "retry/ok",
                "ttft p50",
                "p95",
                "p99",
                "lat p50",
                "p95",
                "p99",
                "cost usd",
                "of it est.",
                "tok in",
                "tok out",
            ]
            .map(str::to_owned)
            .to_vec(),
        ];
        for class in &report.classes {
            rows.push(figure_row(&class.class, &class.totals));
            for t in &class.targets {
                rows.push(figure_row(&format!("  {}", t.target), &t.figures));
            }
        }
        out.push_str(&table(&rows, 1));
        out.push_str(
            "\nlatency and TTFT in ms, nearest-rank percentiles; latency over successes; \"of it est.\" is\nthe cost of requests whose usage the gateway counted because the provider sent none\n",
        );
        for class in &report.classes {
            for t in class.targets.iter().filter(|t| t.figures.unpriced > 0) {
                out.push_str(&format!(
                    "unpriced: {} requests of {} / {} have no cost (the model has no price)\n",
                    t.figures.unpriced, class.class, t.target
                ));
            }
        }
        let mut errors = vec![
            [
                "class / target",
                "errors by kind",
                "failed attempts by kind",
            ]
            .map(str::to_owned)
            .to_vec(),
        ];
        for class in &report.classes {
            for (label, f) in std::iter::once((class.class.clone(), &class.totals)).chain(
                class
                    .targets
                    .iter()
                    .map(|t| (format!("  {}", t.target), &t.figures)),
            ) {
                if !f.errors_by_kind.is_empty() || !f.attempt_errors.is_empty() {
                    rows_push_errors(&mut errors, label, f);
                }
            }
        }
        if errors.len() > 1 {
            out.push('\n');
            out.push_str(&table(&errors, 3));
        }
    }
    if !report.slos.is_empty() {
        let mut rows = vec![
            ["SLO class", "objective", "target", "measured", "verdict"]
                .map(str::to_owned)
                .to_vec(),
        ];
        for slo in &report.slos {
            for o in &slo.objectives {
                let name = o.objective.as_str();
                rows.push(vec![
                    slo.class.clone(),
                    name.to_owned(),
                    format!(
                        "{} {}",
                        if name == "success_rate" { ">=" } else { "<" },
                        value(name, Some(o.target))
                    ),
                    value(name, o.measured),
                    o.verdict.as_str().to_owned(),
                ]);
            }
            rows.push(vec![
                slo.class.clone(),
                "(all)".to_owned(),
                String::new(),
                String::new(),
                slo.verdict.as_str().to_owned(),
            ]);
        }
        out.push('\n');
        out.push_str(&table(&rows, 2));
    }
    out
}

fn rows_push_errors(rows: &mut Vec<Vec<String>>, label: String, f: &Figures) {
    let list = |m: &std::collections::BTreeMap<String, u64>| {
        if m.is_empty() {
            "-".to_owned()
        } else {
            m.iter()
                .map(|(k, n)| format!("{k}={n}"))
                .collect::<Vec<_>>()
                .join(" ")
        }
    };
    rows.push(vec![
        label,
        list(&f.errors_by_kind),
        list(&f.attempt_errors),
    ]);
}

fn figure_row(label: &str, f: &Figures) -> Vec<String> {
    vec![
        label.to_owned(),
        f.requests.to_string(),
        percent(f.error_rate),
        percent(f.abandoned_ratio),
        fixed(f.retries_per_success, 2),
        fixed(f.ttft_ms.p50, 1),
        fixed(f.ttft_ms.p95, 1),
        fixed(f.ttft_ms.p99, 1),
        fixed(f.latency_ms.p50, 1),
        fixed(f.latency_ms.p95, 1),
        fixed(f.latency_ms.p99, 1),
        format!("{:.6}", f.cost_usd),
        format!("{:.6}", f.estimated_cost_usd),
        f.input_tokens.to_string(),
        f.output_tokens.to_string(),
    ]
}

/// The comparison as a table: every figure either report measured, per class and target, then
/// every SLO objective with both verdicts.
pub fn render_comparison(c: &Comparison) -> String {
    let mut out = format!(
        "Switchyard report: {}\ncompared with baseline: {}\n\n",
        window(c.current_window.0, c.current_window.1),
        window(c.baseline_window.0, c.baseline_window.1)
    );
    let mut rows = vec![
        [
            "class / target",
            "figure",
            "baseline",
            "current",
            "change",
            "relative",
        ]
        .map(str::to_owned)
        .to_vec(),
    ];
    for r in &c.rows {
        let mut label = match &r.target {
            None => r.class.clone(),
            Some(t) => format!("  {t}"),
        };
        match r.presence {
            Presence::Both => {}
            Presence::BaselineOnly => label.push_str(" (gone)"),
            Presence::CurrentOnly => label.push_str(" (new)"),
        }
        // A figure neither report measured says nothing; JSON still holds it.
        for change in r
            .changes
            .iter()
            .filter(|c| c.baseline.is_some() || c.current.is_some())
        {
            rows.push(change_row(std::mem::take(&mut label), change));
        }
    }
    out.push_str(&table(&rows, 2));
    if !c.slos.is_empty() {
        let mut rows = vec![
            [
                "SLO class",
                "objective",
                "baseline",
                "current",
                "change",
                "relative",
            ]
            .map(str::to_owned)
            .to_vec(),
        ];
        for s in &c.slos {
            let mut row = change_row(s.class.clone(), &s.change);
            if let Some(objective) = row.get_mut(1) {
                *objective = bound(objective, s.target);
            }
            for (cell, verdict) in [(2, s.baseline_verdict), (3, s.current_verdict)] {
                if let (Some(text), Some(v)) = (row.get_mut(cell), verdict) {
                    text.push_str(&format!(" ({})", v.as_str()));
                }
            }
            rows.push(row);
        }
        out.push('\n');
        out.push_str(&table(&rows, 2));
    }
    out
}

/// An objective with its bound: `ttft_p95_ms < 800.0`, `success_rate >= 99.50%`.
fn bound(objective: &str, target: f64) -> String {
    let op = if objective == "success_rate" {
        ">="
    } else {
        "<"
    };
    format!("{objective} {op} {}", value(objective, Some(target)))
}

fn change_row(label: String, c: &Change) -> Vec<String> {
    vec![
        label,
        c.figure.clone(),
        value(&c.figure, c.baseline),
        value(&c.figure, c.current),
        delta(&c.figure, c.delta),
        match c.relative {
            Some(r) => format!("{:+.1}%", r * 100.0),
            None => "-".to_owned(),
        },
    ]
}

/// Rates, ratios and the success rate are fractions shown as percentages.
fn is_rate(figure: &str) -> bool {
    matches!(figure, "error_rate" | "abandoned_ratio" | "success_rate")
}

fn value(figure: &str, v: Option<f64>) -> String {
    match figure {
        f if is_rate(f) => percent(v),
        "cost_usd" | "estimated_cost_usd" => fixed(v, 6),
        "retries_per_success" => fixed(v, 2),
        f if f.ends_with("_ms") => fixed(v, 1),
        _ => fixed(v, 0),
    }
}

fn delta(figure: &str, d: Option<f64>) -> String {
    let Some(d) = d else { return "-".to_owned() };
    match figure {
        f if is_rate(f) => format!("{:+.2}pp", d * 100.0),
        "cost_usd" | "estimated_cost_usd" => format!("{d:+.6}"),
        "retries_per_success" => format!("{d:+.2}"),
        f if f.ends_with("_ms") => format!("{d:+.1}"),
        _ => format!("{d:+.0}"),
    }
}

fn percent(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{:.2}%", v * 100.0))
}

fn fixed(v: Option<f64>, decimals: usize) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.decimals$}"))
}

/// Rows as columns: the first `left` columns aligned left, the rest right, two spaces apart.
fn table(rows: &[Vec<String>], left: usize) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, (cell, width)) in row.iter().zip(&widths).enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            let _ = if i < left {
                write!(line, "{cell:<width$}")
            } else {
                write!(line, "{cell:>width$}")
            };
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `since … until` in UTC.
fn window(since: Option<i64>, until: Option<i64>) -> String {
    let at = |t: Option<i64>, open: &str| t.map_or_else(|| open.to_owned(), utc);
    format!(
        "outcomes from {} to {}",
        at(since, "the first"),
        at(until, "the last")
    )
}

/// Milliseconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ` (proleptic Gregorian calendar).
fn utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(utc(1_795_000_000_123), "2026-11-18T11:06:40Z");
        assert_eq!(utc(-1000), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn columns_align() {
        let rows = vec![
            vec!["a".to_owned(), "1".to_owned()],
            vec!["bbb".to_owned(), "100".to_owned()],
        ];
        assert_eq!(table(&rows, 1), "a      1\nbbb  100\n");
    }
}
