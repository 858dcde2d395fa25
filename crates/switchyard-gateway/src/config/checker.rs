//! What every section's validation writes to: the file being checked, the errors found so
//! far (each with its line and key) and the environment `${VAR}` references read. The
//! section files use it and `validate` drives them; it uses none of them.

use super::{ConfigError, line_of};
use std::ops::Range;
use std::time::Duration;
use toml::Spanned;

pub(super) struct Checker<'a> {
    pub(super) file: &'a str,
    pub(super) text: &'a str,
    pub(super) errors: Vec<ConfigError>,
    pub(super) env: &'a dyn Fn(&str) -> Option<String>,
}

impl Checker<'_> {
    pub(super) fn error(
        &mut self,
        span: Range<usize>,
        key: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.errors.push(ConfigError {
            file: self.file.to_owned(),
            line: line_of(self.text, span.start),
            key: key.into(),
            message: message.into(),
        });
    }

    /// Expands `${VAR}` and `${VAR:-default}` references.
    pub(super) fn expand(&mut self, value: &Spanned<String>, key: &str) -> Option<String> {
        let mut out = String::new();
        let mut rest = value.get_ref().as_str();
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let Some(end) = rest[start..].find('}') else {
                self.error(value.span(), key, "unclosed ${ in value");
                return None;
            };
            let reference = &rest[start + 2..start + end];
            let (name, default) = match reference.split_once(":-") {
                Some((n, d)) => (n, Some(d)),
                None => (reference, None),
            };
            match ((self.env)(name), default) {
                (Some(v), _) if !v.is_empty() => out.push_str(&v),
                (_, Some(d)) => out.push_str(d),
                _ => {
                    self.error(
                        value.span(),
                        key,
                        format!("environment variable {name} is not set"),
                    );
                    return None;
                }
            }
            rest = &rest[start + end + 1..];
        }
        out.push_str(rest);
        Some(out)
    }

    /// A price in USD per million tokens at `key.field`: absent, or finite and not negative
    /// (anything else is an error here, and `None`).
    pub(super) fn price(
        &mut self,
        v: &Option<Spanned<f64>>,
        key: &str,
        field: &str,
    ) -> Option<f64> {
        let v = v.as_ref()?;
        let x = *v.get_ref();
        if !x.is_finite() || x < 0.0 {
            self.error(
                v.span(),
                format!("{key}.{field}"),
                "prices are finite and not negative",
            );
            return None;
        }
        Some(x)
    }

    pub(super) fn positive_count(
        &mut self,
        v: &Option<Spanned<u64>>,
        key: &str,
        default: usize,
    ) -> usize {
        match v {
            None => default,
            Some(n) if *n.get_ref() == 0 => {
                self.error(n.span(), key, "must be at least 1");
                default
            }
            Some(n) => usize::try_from(*n.get_ref()).unwrap_or(usize::MAX),
        }
    }

    pub(super) fn positive_ms(
        &mut self,
        v: &Option<Spanned<u64>>,
        key: &str,
        default: Duration,
    ) -> Duration {
        match v {
            None => default,
            Some(ms) if *ms.get_ref() == 0 => {
                self.error(ms.span(), key, "must be greater than 0");
                default
            }
            Some(ms) => Duration::from_millis(*ms.get_ref()),
        }
    }
}
