//! Verifies AWS Signature Version 4 on requests to the mock's Bedrock routes, as AWS does:
//! the canonical request is rebuilt from what arrived (method, double-encoded path, sorted
//! query, the headers the client said it signed, the body's SHA-256), signed with the
//! configured secret and compared. Written from AWS's SigV4 reference, independently of the
//! adapter's signing code; only the HMAC key chain comes from `aws-sigv4`. Never logs a secret.

use axum::http::HeaderMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The signing name Bedrock Runtime expects in the credential scope.
const SERVICE: &str = "bedrock";
const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// How far a request's `x-amz-date` may be from the server's clock.
const MAX_SKEW: Duration = Duration::from_secs(15 * 60);

/// What arrived, as the wire carried it.
pub(crate) struct Received<'a> {
    pub method: &'a str,
    /// The path exactly as sent (still percent-encoded).
    pub path: &'a str,
    pub query: Option<&'a str>,
    /// The request target's authority, for `host` when HTTP/2 carried it as `:authority`.
    pub authority: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// Why a signed request was refused; each maps to the exception AWS answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Rejection {
    /// `UnrecognizedClientException`: the access key id is not known.
    UnknownKey,
    /// `IncompleteSignatureException`: the Authorization header is not a SigV4 one.
    Incomplete(String),
    /// `InvalidSignatureException`: the signature does not verify, or is stale.
    Invalid(String),
}

/// The parts of `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`.
struct Authorization<'a> {
    access_key_id: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

fn parse_authorization(value: &str) -> Result<Authorization<'_>, Rejection> {
    let incomplete = |what: &str| Rejection::Incomplete(what.to_owned());
    let rest = value.strip_prefix(ALGORITHM).ok_or_else(|| {
        incomplete("Authorization header requires the AWS4-HMAC-SHA256 algorithm")
    })?;
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for item in rest.split(',').map(str::trim) {
        match item.split_once('=') {
            Some(("Credential", v)) => credential = Some(v),
            Some(("SignedHeaders", v)) => signed = Some(v),
            Some(("Signature", v)) => signature = Some(v),
            _ => {}
        }
    }
    let credential = credential
        .ok_or_else(|| incomplete("Authorization header requires 'Credential' parameter"))?;
    let signed = signed
        .ok_or_else(|| incomplete("Authorization header requires 'SignedHeaders' parameter"))?;
    let signature = signature
        .ok_or_else(|| incomplete("Authorization header requires 'Signature' parameter"))?;
    let scope: Vec<&str> = credential.split('/').collect();
    let [access_key_id, date, region, service, "aws4_request"] = scope.as_slice() else {
        return Err(incomplete(
            "Credential must have exactly 5 slash-delimited elements ending in aws4_request",
        ));
    };
    Ok(Authorization {
        access_key_id,
        date,
        region,
        service,
        signed_headers: signed.split(';').collect(),
        signature,
    })
}

/// Checks the request's SigV4 signature. `expected_key` is the one accepted access key id
/// (any when `None`); without a `secret` the signature cannot be checked and only the key is.
pub(crate) fn verify(
    req: &Received<'_>,
    authorization: &str,
    expected_key: Option<&str>,
    secret: Option<&str>,
    now: SystemTime,
) -> Result<(), Rejection> {
    let auth = parse_authorization(authorization)?;
    if expected_key.is_some_and(|k| k != auth.access_key_id) || auth.access_key_id.is_empty() {
        return Err(Rejection::UnknownKey);
    }
    let Some(secret) = secret else {
        return Ok(());
    };
    if auth.service != SERVICE {
        return Err(Rejection::Invalid(format!(
            "Credential should be scoped to correct service: '{SERVICE}'."
        )));
    }
    let amz_date = header_text(req.headers, "x-amz-date").ok_or_else(|| {
        Rejection::Incomplete(
            "Authorization header requires existence of an x-amz-date header".into(),
        )
    })?;
    let signed_at = parse_amz_date(&amz_date)
        .ok_or_else(|| Rejection::Incomplete(format!("x-amz-date {amz_date} is not a date")))?;
    if !amz_date.starts_with(auth.date) {
        return Err(Rejection::Invalid(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}'",
            auth.date,
            amz_date.get(..8).unwrap_or_default()
        )));
    }
    let skew = now
        .duration_since(signed_at)
        .unwrap_or_else(|e| e.duration());
    if skew > MAX_SKEW {
        return Err(Rejection::Invalid(format!(
            "Signature expired: {amz_date} is more than 15 minutes from the server's time."
        )));
    }
    if !auth.signed_headers.contains(&"host") {
        return Err(Rejection::Invalid(
            "'Host' must be a signed header".to_owned(),
        ));
    }
    let canonical = canonical_request(req, &auth.signed_headers)?;
    let string_to_sign = format!(
        "{ALGORITHM}\n{amz_date}\n{}/{}/{}/aws4_request\n{}",
        auth.date,
        auth.region,
        auth.service,
        sha256_hex(canonical.as_bytes())
    );
    let key =
        aws_sigv4::sign::v4::generate_signing_key(secret, signed_at, auth.region, auth.service);
    let expected = aws_sigv4::sign::v4::calculate_signature(key, string_to_sign.as_bytes());
    if expected.eq_ignore_ascii_case(auth.signature) {
        Ok(())
    } else {
        Err(Rejection::Invalid(
            "The request signature we calculated does not match the signature you provided. \
             Check your AWS Secret Access Key and signing method. Consult the service \
             documentation for details."
                .to_owned(),
        ))
    }
}

/// The canonical request of SigV4: method, URI, query, headers, signed header names and the
/// payload hash, one per line.
fn canonical_request(req: &Received<'_>, signed: &[&str]) -> Result<String, Rejection> {
    let mut names: Vec<String> = signed.iter().map(|n| n.to_ascii_lowercase()).collect();
    names.sort();
    let mut headers = String::new();
    for name in &names {
        let values: Vec<String> = req
            .headers
            .get_all(name.as_str())
            .iter()
            .map(|v| collapse_spaces(&String::from_utf8_lossy(v.as_bytes())))
            .collect();
        let values = match (values.is_empty(), name.as_str(), req.authority) {
            (true, "host", Some(authority)) => vec![authority.to_owned()],
            _ => values,
        };
        if values.is_empty() {
            return Err(Rejection::Invalid(format!(
                "signed header {name} is not in the request"
            )));
        }
        headers.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    let payload_hash = sha256_hex(req.body);
    if let Some(claimed) = header_text(req.headers, "x-amz-content-sha256")
        && claimed != payload_hash
    {
        return Err(Rejection::Invalid(
            "The provided 'x-amz-content-sha256' header does not match what was computed."
                .to_owned(),
        ));
    }
    Ok(format!(
        "{}\n{}\n{}\n{headers}\n{}\n{payload_hash}",
        req.method,
        canonical_uri(req.path),
        canonical_query(req.query.unwrap_or_default()),
        names.join(";"),
    ))
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_owned())
}

/// Trims a header value and folds runs of spaces into one.
fn collapse_spaces(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Services other than S3 encode each path segment once more, as sent: `%3A` becomes `%253A`.
fn canonical_uri(path: &str) -> String {
    if path.is_empty() {
        return "/".into();
    }
    path.split('/')
        .map(|segment| uri_encode(segment.as_bytes()))
        .collect::<Vec<_>>()
        .join("/")
}

/// Query parameters decoded, re-encoded the SigV4 way, and sorted by name then value.
fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                uri_encode(&percent_decode(k)),
                uri_encode(&percent_decode(v)),
            )
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// SigV4's URI encoding: every byte but `A-Z a-z 0-9 - _ . ~` as `%XX`.
fn uri_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn percent_decode(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// `YYYYMMDDTHHMMSSZ` as a point in time.
fn parse_amz_date(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| s.get(range)?.parse::<u64>().ok();
    let (year, month, day) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (hour, minute, second) = (num(9..11)?, num(11..13)?, num(13..15)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    // Days since 1970-01-01 of a civil date (proleptic Gregorian), for years from 1970.
    let (y, m) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y / 400;
    let year_of_era = y - era * 400;
    let day_of_year = (153 * m + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = (era * 146_097 + day_of_era).checked_sub(719_468)?;
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second;
    Some(UNIX_EPOCH + Duration::from_secs(secs))
}

/// SHA-256 as lowercase hex.
fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
#[path = "sigv4_tests.rs"]
mod tests;
