//! Scripted behaviour: how the mock misbehaves (or not) for a request. A scenario comes from
//! the mock's config per model, overridden per request by the `x-mock-scenario` header or the
//! `mock` query parameter, both written `key=value` pairs separated by `,` or `;`.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// What the mock does with one request.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Scenario {
    /// Delay before the response head.
    pub latency_ms: u64,
    /// Streams: extra delay before the first content chunk.
    pub ttft_ms: u64,
    /// Streams: pace of content chunks (0 = as fast as possible).
    pub tokens_per_sec: f64,
    /// Streams: number of text chunks (default one per word).
    pub chunks: Option<usize>,
    /// Words in a plain answer.
    pub words: Option<usize>,
    /// Answer with this HTTP error status ...
    pub status: Option<u16>,
    /// ... for this share of requests (1.0 when unset and `status` is set).
    pub error_rate: Option<f64>,
    /// `Retry-After` seconds on error answers.
    pub retry_after: Option<u64>,
    /// Send the head, then drop the connection without a body.
    pub reset: bool,
    /// Streams: end the stream after this many chunks, with no end marker.
    pub cut_after: Option<usize>,
    /// Answer 200 with a body that is not what the API promises.
    pub malformed: bool,
    /// Label answered in `x-mock-region`.
    pub region: Option<String>,
    /// Content seed (otherwise derived from the request).
    pub seed: Option<u64>,
    /// Report no usage, in answers and streams (zero where the family's wire must hold some),
    /// as many OpenAI-compatible servers (vLLM, Ollama, older ones) stream.
    pub no_usage: bool,
}

impl Scenario {
    /// Applies `key=value` overrides; unknown keys and bad values are errors.
    pub fn apply(&mut self, spec: &str) -> Result<(), String> {
        for pair in spec
            .split([',', ';'])
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| format!("scenario item \"{pair}\" is not key=value"))?;
            let bad = |what: &str| format!("scenario {key}: \"{value}\" is not {what}");
            let int = || value.parse::<u64>().map_err(|_| bad("a whole number"));
            match key.trim() {
                "latency_ms" => self.latency_ms = int()?,
                "ttft_ms" => self.ttft_ms = int()?,
                "tokens_per_sec" => {
                    self.tokens_per_sec = value.parse().map_err(|_| bad("a number"))?
                }
                "chunks" => self.chunks = Some(int()? as usize),
                "words" => {
                    let words = int()?;
                    let max = crate::Limits::DEFAULT.max_words;
                    if words > max as u64 {
                        return Err(format!(
                            "scenario words: {words} is above the mock's limit of {max} words (max_words)"
                        ));
                    }
                    self.words = Some(words as usize);
                }
                "status" => self.status = Some(value.parse().map_err(|_| bad("an HTTP status"))?),
                "error_rate" => self.error_rate = Some(value.parse().map_err(|_| bad("a number"))?),
                "retry_after" => self.retry_after = Some(int()?),
                "reset" => self.reset = value.parse().map_err(|_| bad("true or false"))?,
                "cut_after" => self.cut_after = Some(int()? as usize),
                "malformed" => self.malformed = value.parse().map_err(|_| bad("true or false"))?,
                "region" => self.region = Some(value.to_owned()),
                "seed" => self.seed = Some(int()?),
                "no_usage" => self.no_usage = value.parse().map_err(|_| bad("true or false"))?,
                other => return Err(format!("unknown scenario key \"{other}\"")),
            }
        }
        Ok(())
    }

    pub fn latency(&self) -> Duration {
        Duration::from_millis(self.latency_ms)
    }

    /// Gap between stream chunks (a rate too small for a `Duration` waits forever).
    pub fn chunk_gap(&self) -> Duration {
        if self.tokens_per_sec > 0.0 {
            Duration::try_from_secs_f64(1.0 / self.tokens_per_sec).unwrap_or(Duration::MAX)
        } else {
            Duration::ZERO
        }
    }
}

/// The mock upstream's configuration (`switchyard mock-upstream --script FILE`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MockConfig {
    /// The only credential accepted; any non-empty one when unset.
    pub api_key: Option<String>,
    /// AWS secret key for the `api_key` access key id, to verify SigV4 signatures.
    pub aws_secret_access_key: Option<String>,
    /// Behaviour for every request.
    pub default: Scenario,
    /// Behaviour per model id, over the default.
    pub models: BTreeMap<String, Scenario>,
    /// Vector size of embeddings.
    pub embedding_dims: Option<u32>,
}

/// Counts requests per model so `error_rate` fails a deterministic share of them.
#[derive(Debug, Default)]
pub struct ErrorClock {
    counts: Mutex<BTreeMap<String, u64>>,
}

impl ErrorClock {
    /// True when this request should fail: the n-th request fails when ⌊n·rate⌋ grows.
    pub fn should_fail(&self, model: &str, rate: f64) -> bool {
        if rate >= 1.0 {
            return true;
        }
        if rate <= 0.0 {
            return false;
        }
        let Ok(mut counts) = self.counts.lock() else {
            return false;
        };
        let n = counts.entry(model.to_owned()).or_insert(0);
        *n += 1;
        let before = ((*n - 1) as f64 * rate).floor();
        let after = (*n as f64 * rate).floor();
        after > before
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_overrides_and_rejects_unknown_keys() {
        let mut s = Scenario::default();
        assert!(s.apply("status=429, retry_after=2;ttft_ms=50").is_ok());
        assert_eq!(s.status, Some(429));
        assert_eq!(s.retry_after, Some(2));
        assert_eq!(s.ttft_ms, 50);
        assert!(s.apply("bogus=1").is_err());
        assert!(s.apply("status=abc").is_err());
    }

    #[test]
    fn request_driven_sizes_are_bounded() {
        let mut s = Scenario::default();
        let refused = s.apply("words=100000000000").err().unwrap_or_default();
        assert!(refused.contains("max_words"), "{refused}");
        assert!(s.apply("words=100000").is_ok());
        // 1e-300 tokens a second used to panic converting 1e300 s into a Duration.
        assert!(s.apply("tokens_per_sec=1e-300").is_ok());
        assert_eq!(s.chunk_gap(), Duration::MAX);
    }

    #[test]
    fn error_rate_fails_an_exact_share() {
        let clock = ErrorClock::default();
        let fails = (0..100).filter(|_| clock.should_fail("m", 0.25)).count();
        assert_eq!(fails, 25);
    }
}
