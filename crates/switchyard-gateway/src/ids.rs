//! Identifiers for requests and decisions: unique, unguessable enough to not collide across
//! nodes, and cheap. They are labels, never secrets (API keys use a CSPRNG).

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn random_u64() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}

/// `prefix_` followed by 32 hex digits.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{:016x}{:016x}", random_u64(), random_u64())
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_distinct_and_prefixed() {
        let a = super::new_id("req");
        let b = super::new_id("req");
        assert_ne!(a, b);
        assert!(a.starts_with("req_") && a.len() == 36);
    }
}
