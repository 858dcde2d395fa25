//! `[providers.NAME]`: the family, where it is (`base_url`, `region`), how to authenticate,
//! whether clients may name models the config does not list, and its quirks, checked into the
//! [`Endpoint`] its adapter is handed with every call. Never echoes a base URL (some carry a
//! key) or a credential in an error.

use super::ProviderConfig;
use super::checker::Checker;
use super::raw::RawProvider;
use std::time::Duration;
use switchyard_evidence::pricing::Price;
use switchyard_providers::url::Base;
use switchyard_providers::{Credentials, Endpoint, Family};
use toml::Spanned;

fn family_of(name: &str) -> Option<Family> {
    Some(match name {
        "openai" => Family::Openai,
        "anthropic" => Family::Anthropic,
        "gemini" => Family::Gemini,
        "workers-ai" => Family::WorkersAi,
        "bedrock" => Family::Bedrock,
        "mock" => Family::Mock,
        _ => return None,
    })
}

/// The base URL a family uses when the config gives none.
pub fn default_base_url(family: Family, region: Option<&str>) -> String {
    match family {
        Family::Openai => "https://api.openai.com/v1".into(),
        Family::Anthropic => "https://api.anthropic.com/v1".into(),
        Family::Gemini => "https://generativelanguage.googleapis.com".into(),
        Family::WorkersAi => "https://api.cloudflare.com/client/v4".into(),
        Family::Bedrock => {
            switchyard_providers::bedrock::default_base_url(region.unwrap_or("us-east-1"))
        }
        Family::Mock => "mock://in-process".into(),
    }
}

/// Checks one provider; `None` (with the errors recorded) when it cannot be used.
pub(super) fn provider(
    c: &mut Checker<'_>,
    name: &str,
    p: &RawProvider,
    key: &str,
) -> Option<ProviderConfig> {
    let Some(family) = family_of(p.family.get_ref()) else {
        c.error(
            p.family.span(),
            format!("{key}.family"),
            format!(
                "unknown family \"{}\"; known: openai, anthropic, gemini, workers-ai, bedrock, mock",
                p.family.get_ref()
            ),
        );
        return None;
    };
    let region = match (&p.region, family) {
        (None, Family::Bedrock) => {
            c.error(
                p.family.span(),
                format!("{key}.region"),
                "bedrock needs a region (e.g. \"us-east-1\")",
            );
            return None;
        }
        // It names the host of the default base URL.
        (Some(r), Family::Bedrock) if !aws_region(r.get_ref()) => {
            c.error(
                r.span(),
                format!("{key}.region"),
                format!(
                    "{:?} is not an AWS region name: lowercase letters, digits and '-' (e.g. \"us-east-1\")",
                    r.get_ref()
                ),
            );
            return None;
        }
        (r, _) => r.as_ref().map(|r| r.get_ref().clone()),
    };
    let base_url = match &p.base_url {
        None => default_base_url(family, region.as_deref()),
        Some(u) => {
            let url = c.expand(u, &format!("{key}.base_url"))?;
            // Checked as every upstream URL will be built on it.
            if let Err(problem) = Base::parse(&url) {
                c.error(u.span(), format!("{key}.base_url"), problem);
                return None;
            }
            url.trim_end_matches('/').to_owned()
        }
    };
    let credentials = credentials(c, family, p, key)?;
    let mut quirks = p.quirks.clone();
    quirks.account_id = account_id(c, family, p, key)?;
    let timeout = match &p.timeout_ms {
        Some(t) if *t.get_ref() == 0 => {
            c.error(
                t.span(),
                format!("{key}.timeout_ms"),
                "must be greater than 0",
            );
            None
        }
        Some(t) => Some(Duration::from_millis(*t.get_ref())),
        None => None,
    };
    let passthrough = p
        .passthrough
        .as_ref()
        .map_or(quirks.azure_api_version.is_none(), |b| *b.get_ref());
    let default_price = default_price(c, p, key);
    Some(ProviderConfig {
        endpoint: Endpoint {
            name: name.to_owned(),
            family,
            base_url,
            credentials,
            region,
            quirks,
        },
        timeout,
        passthrough,
        default_price,
    })
}

/// `[a-z0-9-]+`, as AWS region names are.
fn aws_region(region: &str) -> bool {
    !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The provider's secret: `api_key`, or for Bedrock both `aws_*` keys, else a Bedrock API key in
/// `api_key`, else the AWS credential chain.
fn credentials(
    c: &mut Checker<'_>,
    family: Family,
    p: &RawProvider,
    key: &str,
) -> Option<Credentials> {
    let aws = [
        &p.aws_access_key_id,
        &p.aws_secret_access_key,
        &p.aws_session_token,
    ];
    if family != Family::Bedrock {
        if aws.iter().any(|k| k.is_some()) {
            c.error(
                p.family.span(),
                key,
                "aws_* credentials are only for the bedrock family; use api_key",
            );
            return None;
        }
        return match &p.api_key {
            Some(k) => Some(Credentials::ApiKey(c.expand(k, &format!("{key}.api_key"))?)),
            None => Some(Credentials::None),
        };
    }
    let expand = |c: &mut Checker<'_>, v: &Spanned<String>, field: &str| {
        c.expand(v, &format!("{key}.{field}"))
    };
    match (&p.aws_access_key_id, &p.aws_secret_access_key, &p.api_key) {
        (Some(id), Some(secret), _) => {
            let access_key_id = expand(c, id, "aws_access_key_id")?;
            let secret_access_key = expand(c, secret, "aws_secret_access_key")?;
            let session_token = match &p.aws_session_token {
                Some(t) => Some(expand(c, t, "aws_session_token")?).filter(|t| !t.is_empty()),
                None => None,
            };
            Some(Credentials::Aws {
                access_key_id,
                secret_access_key,
                session_token,
            })
        }
        (Some(given), None, _) | (None, Some(given), _) => {
            c.error(
                given.span(),
                key,
                "give both aws_access_key_id and aws_secret_access_key, or neither to use the AWS credential chain",
            );
            None
        }
        (None, None, Some(k)) => Some(Credentials::ApiKey(expand(c, k, "api_key")?)),
        (None, None, None) => match super::aws_credentials::from_chain(c.env) {
            Ok(found) => Some(found),
            Err(looked) => {
                c.error(
                    p.family.span(),
                    key,
                    format!(
                        "bedrock found no AWS credentials: the file names none (aws_access_key_id and aws_secret_access_key, or a Bedrock API key in api_key); {looked}"
                    ),
                );
                None
            }
        },
    }
}

/// The Workers AI account id: `account_id`, or `quirks.account_id` as it was first spelt; both
/// may be given only with the same value.
fn account_id(
    c: &mut Checker<'_>,
    family: Family,
    p: &RawProvider,
    key: &str,
) -> Option<Option<String>> {
    let field = match &p.account_id {
        Some(a) if family != Family::WorkersAi => {
            c.error(
                a.span(),
                format!("{key}.account_id"),
                "account_id is for the workers-ai family only",
            );
            return None;
        }
        Some(a) => Some((c.expand(a, &format!("{key}.account_id"))?, a.span())),
        None => None,
    };
    match (field, &p.quirks.account_id) {
        (Some((id, span)), Some(quirk)) if id != *quirk => {
            c.error(
                span,
                format!("{key}.account_id"),
                "account_id and quirks.account_id differ; keep account_id",
            );
            None
        }
        (Some((id, span)), _) if id.trim().is_empty() => {
            c.error(span, format!("{key}.account_id"), "must not be empty");
            None
        }
        (Some((id, _)), _) => Some(Some(id)),
        (None, None) if family == Family::WorkersAi => {
            c.error(
                p.family.span(),
                format!("{key}.account_id"),
                "workers-ai needs account_id (the Cloudflare account id)",
            );
            None
        }
        (None, quirk) => Some(quirk.clone()),
    }
}

/// The provider's default price: `Some` when either default is given (the other is then 0).
fn default_price(c: &mut Checker<'_>, p: &RawProvider, key: &str) -> Option<Price> {
    let input = c.price(
        &p.default_input_usd_per_mtok,
        key,
        "default_input_usd_per_mtok",
    );
    let output = c.price(
        &p.default_output_usd_per_mtok,
        key,
        "default_output_usd_per_mtok",
    );
    (input.is_some() || output.is_some()).then(|| Price {
        input: input.unwrap_or(0.0),
        output: output.unwrap_or(0.0),
        cached_input: None,
        cache_write: None,
    })
}
