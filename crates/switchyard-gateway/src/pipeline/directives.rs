//! What a client asks of Switchyard in its headers, read once at admission into one typed
//! value: the route class, the region, the declared data classes, the attribution metadata, the
//! session key, the idempotency key and the caller's trace context. A malformed header is one
//! 400 that names it and never quotes it. Nothing after admission reads these headers again.

use crate::error::ApiError;
use axum::http::HeaderMap;
use std::collections::BTreeMap;
use switchyard_policy::{DataClass, DataClasses};

pub const CLASS: &str = "x-switchyard-class";
pub const REGION: &str = "x-switchyard-region";
pub const DATA_CLASS: &str = "x-switchyard-data-class";
pub const METADATA: &str = "x-switchyard-metadata";
pub const SESSION: &str = "x-switchyard-session";
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// Metadata entries a request may carry, and their sizes.
const METADATA_KEYS: usize = 16;
const METADATA_KEY_BYTES: usize = 64;
const METADATA_VALUE_BYTES: usize = 256;
/// Session and idempotency keys: visible ASCII, as long as a UUID or a hash needs and more.
const KEY_BYTES: usize = 256;

/// The request's Switchyard headers, parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Directives {
    /// `x-switchyard-class`: the route class asked for (checked against the profile later).
    pub class: Option<String>,
    /// `x-switchyard-region`: a region name.
    pub region: Option<String>,
    /// `x-switchyard-data-class`: the classes the client declares (classification may raise
    /// them, never lower).
    pub data_classes: DataClasses,
    /// `x-switchyard-metadata`: attribution tags, as sent (records keep them scrubbed).
    pub metadata: BTreeMap<String, String>,
    /// `x-switchyard-session`: the client's session key.
    pub session: Option<String>,
    /// `Idempotency-Key`: names a side effect that must happen once.
    pub idempotency_key: Option<String>,
    /// W3C `traceparent`, when well formed (a malformed one starts a new trace, as the
    /// recommendation says, rather than refusing the request).
    pub traceparent: Option<String>,
}

impl Directives {
    /// Reads every Switchyard header of `headers`; the first malformed one is the error.
    pub fn parse(headers: &HeaderMap) -> Result<Self, ApiError> {
        Ok(Directives {
            class: text(headers, CLASS)?.map(str::to_owned),
            region: region(text(headers, REGION)?)?,
            data_classes: match text(headers, DATA_CLASS)? {
                None => DataClasses::EMPTY,
                Some(t) => DataClasses::parse_header(t).map_err(|_| {
                    let known: Vec<&str> = DataClass::ALL.iter().map(|c| c.as_str()).collect();
                    bad(
                        DATA_CLASS,
                        format!(
                            "{DATA_CLASS} names an unknown data class; known: {}",
                            known.join(", ")
                        ),
                    )
                })?,
            },
            metadata: match text(headers, METADATA)? {
                None => BTreeMap::new(),
                Some(t) => metadata(t)?,
            },
            session: key(headers, SESSION)?,
            idempotency_key: key(headers, IDEMPOTENCY_KEY)?,
            traceparent: text(headers, "traceparent")
                .ok()
                .flatten()
                .filter(|t| is_traceparent(t))
                .map(str::to_owned),
        })
    }
}

fn bad(name: &str, message: String) -> ApiError {
    ApiError::BadRequest {
        message,
        param: Some(name.to_owned()),
    }
}

/// A header's trimmed text; absent or blank is `None`.
fn text<'h>(headers: &'h HeaderMap, name: &str) -> Result<Option<&'h str>, ApiError> {
    match headers.get(name) {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .map(|s| Some(s.trim()).filter(|s| !s.is_empty()))
            .map_err(|_| bad(name, format!("{name} is not visible ASCII"))),
    }
}

/// Region names as providers and profiles spell them (`eu`, `us-east-1`, `europe-west4`): a
/// region is recorded with the decision, so only a region name may get that far.
fn region(text: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(region) = text else {
        return Ok(None);
    };
    let name = region.len() <= 64
        && region
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !name {
        return Err(bad(
            REGION,
            format!("{REGION} takes a region name: 1-64 letters, digits, '-', '_' or '.'"),
        ));
    }
    Ok(Some(region.to_owned()))
}

/// A session or idempotency key: 1-256 visible ASCII characters.
fn key(headers: &HeaderMap, name: &str) -> Result<Option<String>, ApiError> {
    let Some(key) = text(headers, name)? else {
        return Ok(None);
    };
    if key.len() > KEY_BYTES || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad(
            name,
            format!("{name} takes 1-{KEY_BYTES} visible ASCII characters"),
        ));
    }
    Ok(Some(key.to_owned()))
}

/// A JSON object of at most 16 short keys with string, number or boolean values.
fn metadata(text: &str) -> Result<BTreeMap<String, String>, ApiError> {
    let refuse = |why: &str| bad(METADATA, format!("{METADATA} {why}"));
    let parsed: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(text).map_err(|_| refuse("must be a JSON object"))?;
    if parsed.len() > METADATA_KEYS {
        return Err(refuse(&format!("takes at most {METADATA_KEYS} keys")));
    }
    parsed
        .into_iter()
        .map(|(key, value)| {
            let value = match value {
                serde_json::Value::String(s) => s,
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Bool(b) => b.to_string(),
                _ => return Err(refuse("values are strings, numbers or booleans")),
            };
            if key.is_empty()
                || key.len() > METADATA_KEY_BYTES
                || value.len() > METADATA_VALUE_BYTES
            {
                return Err(refuse(&format!(
                    "keys are 1-{METADATA_KEY_BYTES} bytes, values at most {METADATA_VALUE_BYTES}"
                )));
            }
            Ok((key, value))
        })
        .collect()
}

/// `version-traceid-parentid-flags` in lowercase hex, as W3C Trace Context spells it.
fn is_traceparent(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    let hex = |s: &str, len: usize| {
        s.len() == len
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    parts.len() >= 4
        && hex(parts[0], 2)
        && parts[0] != "ff"
        && hex(parts[1], 32)
        && hex(parts[2], 16)
        && hex(parts[3], 2)
}

/// Hands the kept `traceparent` to OpenTelemetry's propagator.
impl opentelemetry::propagation::Extractor for Directives {
    fn get(&self, key: &str) -> Option<&str> {
        (key == "traceparent")
            .then_some(self.traceparent.as_deref())
            .flatten()
    }

    fn keys(&self) -> Vec<&str> {
        self.traceparent.iter().map(|_| "traceparent").collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<Directives, ApiError> {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(
                axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                axum::http::HeaderValue::from_str(value).unwrap(),
            );
        }
        Directives::parse(&headers)
    }

    fn param(e: ApiError) -> Option<String> {
        match e {
            ApiError::BadRequest { param, .. } => param,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn reads_every_header_once_into_one_value() {
        let d = parse(&[
            (CLASS, " latency-critical "),
            (REGION, "eu-west-1"),
            (DATA_CLASS, "pii"),
            (METADATA, r#"{"team": "payments", "n": 3, "beta": true}"#),
            (SESSION, "sess-42"),
            (IDEMPOTENCY_KEY, "7f1c"),
            (
                "traceparent",
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            ),
        ])
        .unwrap();
        assert_eq!(d.class.as_deref(), Some("latency-critical"));
        assert_eq!(d.region.as_deref(), Some("eu-west-1"));
        assert!(!d.data_classes.is_empty());
        assert_eq!(d.metadata["n"], "3");
        assert_eq!(d.metadata["beta"], "true");
        assert_eq!(d.session.as_deref(), Some("sess-42"));
        assert_eq!(d.idempotency_key.as_deref(), Some("7f1c"));
        assert!(d.traceparent.is_some());
        assert_eq!(parse(&[]).unwrap(), Directives::default());
    }

    #[test]
    fn each_malformed_header_is_one_error_naming_it_without_quoting_it() {
        let secret = "sk-proj-NOTQUOTED0123456789abcdef";
        for (name, value) in [
            (REGION, format!("eu {secret}")),
            (DATA_CLASS, secret.to_owned()),
            (METADATA, format!("[\"{secret}\"]")),
            (METADATA, format!("{{\"k\": {{\"{secret}\": 1}}}}")),
            (SESSION, "x".repeat(300)),
            (IDEMPOTENCY_KEY, format!("a b{secret}")),
        ] {
            let e = parse(&[(name, &value)]).unwrap_err();
            assert!(
                !e.message().contains("NOTQUOTED"),
                "{name}: {}",
                e.message()
            );
            assert_eq!(param(e).as_deref(), Some(name));
        }
    }

    #[test]
    fn a_malformed_traceparent_starts_a_new_trace() {
        let d = parse(&[("traceparent", "00-zz-b7ad6b7169203331-01")]).unwrap();
        assert_eq!(d.traceparent, None);
    }
}
