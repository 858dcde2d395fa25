//! Retry backoff with jitter. The jitter comes from a seed the caller passes (a request id's
//! hash, say), so the same seed gives the same wait: no randomness and no clock in here.

use serde::{Deserialize, Serialize};

/// Exponential backoff between retries, capped, with "equal jitter".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Backoff {
    /// Wait before the first retry, before jitter (ms).
    pub base_ms: u64,
    /// Largest wait, before `Retry-After` (ms).
    pub cap_ms: u64,
}

/// SplitMix64: one well-mixed 64-bit value from a seed.
fn mix(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Backoff {
    /// Wait before retry number `retry` (1 for the first): half of `min(cap, base·2^(retry-1))`
    /// plus a seeded share of the other half, and never less than the upstream's `Retry-After`.
    pub fn delay_ms(self, retry: u32, seed: u64, retry_after_ms: Option<u64>) -> u64 {
        let doublings = retry.saturating_sub(1).min(63);
        let ceiling = self
            .base_ms
            .saturating_mul(1u64 << doublings)
            .min(self.cap_ms);
        let half = ceiling / 2;
        let span = ceiling - half;
        let jitter = if span == 0 {
            0
        } else {
            mix(seed ^ u64::from(retry)) % (span + 1)
        };
        (half + jitter).max(retry_after_ms.unwrap_or(0))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    const B: Backoff = Backoff {
        base_ms: 100,
        cap_ms: 1_000,
    };

    #[test]
    fn grows_within_bounds_and_caps() {
        for seed in 0..200 {
            let d1 = B.delay_ms(1, seed, None);
            assert!((50..=100).contains(&d1), "{d1}");
            let d3 = B.delay_ms(3, seed, None);
            assert!((200..=400).contains(&d3), "{d3}");
            let d9 = B.delay_ms(9, seed, None);
            assert!((500..=1_000).contains(&d9), "{d9}");
            assert!(B.delay_ms(u32::MAX, seed, None) <= 1_000);
        }
    }

    #[test]
    fn same_seed_same_wait_and_seeds_spread() {
        assert_eq!(B.delay_ms(2, 42, None), B.delay_ms(2, 42, None));
        let distinct: std::collections::BTreeSet<u64> =
            (0..100).map(|s| B.delay_ms(2, s, None)).collect();
        assert!(distinct.len() > 20);
    }

    #[test]
    fn retry_after_is_a_floor() {
        assert_eq!(B.delay_ms(1, 7, Some(5_000)), 5_000);
        let zero = Backoff {
            base_ms: 0,
            cap_ms: 0,
        };
        assert_eq!(zero.delay_ms(4, 1, None), 0);
    }
}
