//! Every upstream URL of every family is built here, from typed parts: the endpoint's base URL
//! (checked and parsed once per process), path text this crate wrote, single segments for
//! configured values, the segments of a model id its family's grammar accepted
//! ([`ModelPath`]), and query pairs. Each value is percent-encoded into its own segment, so no
//! value can change the scheme, host or port, the path outside its segment, or the query.
//! Never pastes text into a URL unencoded, and never returns a URL whose path differs from the
//! one written (a dot segment a parser would fold away is refused instead).

#[cfg(test)]
mod tests;

use crate::Endpoint;
use crate::model_id::ModelPath;
use reqwest::Url;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, RwLock};
use switchyard_protocol::{ErrorKind, ProviderError};

/// One piece of an upstream path, in order after the base URL's own path.
#[derive(Debug, Clone, Copy)]
pub enum Piece<'a> {
    /// Path text of the family's API, written in this crate: one or more segments joined by
    /// `/` (`chat/completions`, `openai/deployments`).
    Fixed(&'static str),
    /// A configured value that fills exactly one segment (the Workers AI account id).
    Value(&'a str),
    /// The segments of a model id that passed its family's grammar.
    Model(ModelPath<'a>),
    /// Google's custom method, joined to the previous segment by `:` (`:generateContent`);
    /// written in this crate, letters only.
    Verb(&'static str),
}

/// An endpoint's base URL: `http` or `https`, with a host, without query or fragment, its path
/// kept without a trailing slash. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Base(Arc<Url>);

impl Base {
    /// Parses and checks `text`; a trailing slash is dropped.
    pub fn parse(text: &str) -> Result<Base, &'static str> {
        let url = Url::parse(text.trim_end_matches('/')).map_err(|_| "is not a URL")?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("must start with http:// or https://");
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err("has no host");
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err("must not have a query (`?`) or fragment (`#`)");
        }
        Ok(Base(Arc::new(url)))
    }

    /// The endpoint's base, parsed on first use and kept for the process.
    pub fn of(endpoint: &Endpoint) -> Result<Base, ProviderError> {
        let text = endpoint.base_url.as_str();
        if let Some(kept) = KEPT
            .read()
            .ok()
            .and_then(|kept| kept.get(text).map(|k| k.base.clone()))
        {
            return Ok(kept);
        }
        let base = Base::parse(text).map_err(|problem| {
            // The URL itself is not echoed: some operators put keys in it.
            ProviderError::transport(format!(
                "provider \"{}\": base_url {problem}",
                endpoint.name
            ))
        })?;
        if let Ok(mut kept) = KEPT.write()
            && kept.len() < MAX_BASES
        {
            kept.entry(text.to_owned()).or_insert_with(|| Kept {
                base: base.clone(),
                fixed: Vec::new(),
            });
        }
        Ok(base)
    }

    /// The base's path without its trailing slash (`` for a host's root).
    fn path(&self) -> &str {
        self.0.path().trim_end_matches('/')
    }

    /// Whether the base's path ends with the segment `segment` (`/v1beta`).
    pub fn ends_with_segment(&self, segment: &str) -> bool {
        self.path()
            .rsplit_once('/')
            .is_some_and(|(_, last)| last == segment)
    }
}

/// Base URLs kept at most (one per configured endpoint; reloads may add a few).
const MAX_BASES: usize = 256;

/// A kept base and the whole URLs of its operations that have no per-request segment.
struct Kept {
    base: Base,
    fixed: Vec<(&'static str, Url)>,
}

static KEPT: LazyLock<RwLock<HashMap<String, Kept>>> = LazyLock::new(Default::default);

/// `{base}/{operation}`, built once per endpoint and operation and then cloned: parsing a URL
/// per request was ~5% of a plain request's instructions.
pub fn fixed(endpoint: &Endpoint, operation: &'static str) -> Result<Url, ProviderError> {
    let text = endpoint.base_url.as_str();
    if let Some(url) = KEPT.read().ok().and_then(|kept| {
        let ops = &kept.get(text)?.fixed;
        ops.iter()
            .find(|(op, _)| *op == operation)
            .map(|(_, url)| url.clone())
    }) {
        return Ok(url);
    }
    let url = build(&Base::of(endpoint)?, [Piece::Fixed(operation)], &[])?;
    if let Ok(mut kept) = KEPT.write()
        && let Some(kept) = kept.get_mut(text)
        && !kept.fixed.iter().any(|(op, _)| *op == operation)
    {
        kept.fixed.push((operation, url.clone()));
    }
    Ok(url)
}

/// The URL of `base` followed by `path`, with `query` (pairs encoded, in order) as its whole
/// query. Refuses an empty, `.` or `..` segment.
pub fn build<'a>(
    base: &Base,
    path: impl IntoIterator<Item = Piece<'a>>,
    query: &[(&str, &str)],
) -> Result<Url, ProviderError> {
    let mut written = String::with_capacity(base.0.path().len() + 96);
    written.push_str(base.path());
    for piece in path {
        match piece {
            Piece::Fixed(text) => {
                for segment in text.split('/') {
                    push_segment(&mut written, segment)?;
                }
            }
            Piece::Value(value) => push_segment(&mut written, value)?,
            Piece::Model(model) => {
                for segment in model.segments() {
                    push_segment(&mut written, segment)?;
                }
            }
            Piece::Verb(verb) => {
                if verb.is_empty() || !verb.bytes().all(|b| b.is_ascii_alphabetic()) {
                    return Err(outside_segment());
                }
                written.push(':');
                written.push_str(verb);
            }
        }
    }
    let mut url = Url::clone(&base.0);
    url.set_path(&written);
    if url.path() != written {
        return Err(outside_segment());
    }
    if !query.is_empty() {
        let mut text = String::new();
        for (i, (key, value)) in query.iter().enumerate() {
            if i > 0 {
                text.push('&');
            }
            encode(&mut text, key, b"");
            text.push('=');
            encode(&mut text, value, b"");
        }
        url.set_query(Some(&text));
    }
    Ok(url)
}

/// Characters a segment keeps as they are besides RFC 3986's unreserved ones: `@` (a path
/// character with no meaning of its own, spelled plainly in Workers AI's `@cf/…` ids).
const SEGMENT_KEEPS: &[u8] = b"@";

fn push_segment(out: &mut String, segment: &str) -> Result<(), ProviderError> {
    if matches!(segment, "" | "." | "..") {
        return Err(outside_segment());
    }
    out.push('/');
    encode(out, segment, SEGMENT_KEEPS);
    Ok(())
}

/// Appends `text` with every byte but RFC 3986's unreserved characters (`A-Z a-z 0-9 - . _ ~`)
/// and `keeps` percent-encoded, as the AWS SDKs encode a URI label (`:` as `%3A`, `/` as
/// `%2F`, `%` as `%25`).
fn encode(out: &mut String, text: &str, keeps: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') || keeps.contains(&b)
        {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xF)]));
        }
    }
}

/// A value that would not stay in its segment; the grammars refuse such model ids first, so
/// this is a configured value's doing or a bug, and is refused without I/O either way.
fn outside_segment() -> ProviderError {
    ProviderError::new(
        ErrorKind::BadRequest,
        "a model id or configured value would not stay in its URL path segment",
    )
    .with_status(400)
}
