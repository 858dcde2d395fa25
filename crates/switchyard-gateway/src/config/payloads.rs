//! Validation of the evidence settings: payload logging (and its sealing keys from the
//! environment) and how long each kind of artifact is kept.

use super::checker::Checker;
use std::time::Duration;
use toml::Spanned;

pub(super) fn payloads(c: &mut Checker<'_>, raw: &super::raw::RawPayloads) -> super::Payloads {
    use switchyard_evidence::artifact::{ArtifactKey, Keyring};
    let enabled = raw.enabled.unwrap_or(false);
    let encrypt = raw.encrypt.unwrap_or(false);
    let mut out = super::Payloads {
        enabled,
        encrypt,
        keyring: None,
        keyring_problem: None,
    };
    // The key is read even when not every artifact is sealed: compliance-constrained payloads
    // always are.
    let key_env = raw
        .key_env
        .as_ref()
        .map(|k| k.get_ref().clone())
        .unwrap_or_else(|| "SWITCHYARD_ARTIFACT_KEY".into());
    let key_id = raw
        .key_id
        .as_ref()
        .map(|k| k.get_ref().clone())
        .unwrap_or_else(|| "k1".into());
    // A missing key is not a config error: traffic that needs sealing fails closed, the rest
    // is served. A malformed key is an error.
    let Some(hex) = (c.env)(&key_env).filter(|v| !v.is_empty()) else {
        out.keyring_problem = Some(if encrypt {
            format!("artifacts must be encrypted but {key_env} is not set")
        } else {
            format!("compliance-constrained payloads are always sealed, and {key_env} is not set")
        });
        return out;
    };
    let span = raw.key_env.as_ref().map(Spanned::span).unwrap_or(0..0);
    let current = match ArtifactKey::from_hex(&key_id, &hex) {
        Ok(k) => k,
        Err(e) => {
            c.error(span, "payloads.key_env", format!("{key_env}: {e}"));
            return out;
        }
    };
    let mut older = Vec::new();
    for (id, env) in &raw.previous_keys {
        match (c.env)(env.get_ref()).map(|hex| ArtifactKey::from_hex(id, &hex)) {
            Some(Ok(k)) => older.push(k),
            Some(Err(e)) => c.error(
                env.span(),
                format!("payloads.previous_keys.{id}"),
                e.to_string(),
            ),
            None => c.error(
                env.span(),
                format!("payloads.previous_keys.{id}"),
                format!("environment variable {} is not set", env.get_ref()),
            ),
        }
    }
    out.keyring = Some(Keyring::new(current, older));
    out
}

pub(super) fn retention(c: &mut Checker<'_>, raw: &super::raw::RawRetention) -> super::Retention {
    let defaults = super::Retention::default();
    let mut days = |v: &Option<Spanned<i64>>, key: &str, default: Duration| match v {
        None => default,
        Some(d) if *d.get_ref() >= 1 && *d.get_ref() <= 36_500 => {
            Duration::from_secs(u64::try_from(*d.get_ref()).unwrap_or(1) * 86_400)
        }
        Some(d) => {
            c.error(
                d.span(),
                format!("retention.{key}"),
                "must be a whole number of days from 1 to 36500",
            );
            default
        }
    };
    super::Retention {
        prompt: days(&raw.prompt_days, "prompt_days", defaults.prompt),
        completion: days(&raw.completion_days, "completion_days", defaults.completion),
        tool_result: days(
            &raw.tool_result_days,
            "tool_result_days",
            defaults.tool_result,
        ),
    }
}
