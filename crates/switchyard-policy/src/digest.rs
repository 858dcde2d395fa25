//! Input digests: a stable FNV-1a 64-bit hash of a value's canonical JSON. Never a secret's
//! protection (not cryptographic): it names inputs so the evidence plane can match decisions.

use serde::Serialize;
use std::cell::RefCell;
use std::io;

const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a over the bytes written to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Fnv1a(OFFSET)
    }
}

impl Fnv1a {
    /// Feeds `bytes`.
    pub fn update(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(PRIME);
        }
    }

    /// The hash of everything fed so far.
    pub fn finish(self) -> u64 {
        self.0
    }
}

impl io::Write for Fnv1a {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// `fnv1a64:<16 hex digits>` of `value`'s JSON. Canonical because every map in the policy
/// types is a `BTreeMap` and struct fields serialise in declaration order.
pub fn digest<T: Serialize + ?Sized>(value: &T) -> String {
    /// The most text kept between digests on one thread.
    const MAX_KEPT: usize = 64 * 1024;
    thread_local! {
        /// The JSON text of the last value digested on this thread, its buffer kept: a
        /// decision's input is about a kilobyte, regrown from nothing on every request.
        static TEXT: RefCell<String> = const { RefCell::new(String::new()) };
    }
    let mut h = Fnv1a::default();
    let mut hash = |text: &mut String| {
        text.clear();
        match switchyard_protocol::json::append(text, value) {
            Ok(()) => h.update(text.as_bytes()),
            Err(e) => {
                // Not reachable for policy types; still deterministic if it ever is.
                h.update(b"\0serialise-error:");
                h.update(e.to_string().as_bytes());
            }
        }
        if text.capacity() > MAX_KEPT {
            // A rare huge input (a profile with thousands of targets) is not kept for good.
            *text = String::new();
        }
    };
    TEXT.with(|kept| match kept.try_borrow_mut() {
        Ok(mut text) => hash(&mut text),
        Err(_) => hash(&mut String::new()),
    });
    format!("fnv1a64:{:016x}", h.finish())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn known_vectors() {
        let mut h = Fnv1a::default();
        assert_eq!(h.finish(), 0xcbf2_9ce4_8422_2325);
        h.update(b"a");
        assert_eq!(h.finish(), 0xaf63_dc4c_8601_ec8c);
        let mut h = Fnv1a::default();
        h.update(b"foobar");
        assert_eq!(h.finish(), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn maps_digest_the_same_whatever_the_insertion_order() {
        let a: BTreeMap<&str, u32> = [("x", 1), ("y", 2)].into_iter().collect();
        let b: BTreeMap<&str, u32> = [("y", 2), ("x", 1)].into_iter().collect();
        assert_eq!(digest(&a), digest(&b));
        assert_ne!(digest(&a), digest(&[1, 2]));
        assert!(digest(&a).starts_with("fnv1a64:"));
    }

    /// Digests recorded before the gateway wrote JSON itself hashed serde_json's text: the same
    /// value still digests the same, small or past the kept buffer, and again after either.
    #[test]
    fn digests_hash_serde_json_text_whatever_the_size() {
        let of_serde_json = |v: &serde_json::Value| {
            let mut h = Fnv1a::default();
            h.update(serde_json::to_string(v).unwrap().as_bytes());
            format!("fnv1a64:{:016x}", h.finish())
        };
        let small = serde_json::json!({"model": "fast", "text": "a \"quoted\"\nline", "n": 1.5});
        let big = serde_json::json!({"targets": vec!["openai/gpt-4o-mini"; 10_000]});
        for v in [&small, &big, &small, &big] {
            assert_eq!(digest(v), of_serde_json(v));
        }
    }
}
