//! The shared budget ledger: how much of each budget the gateway nodes have taken as leases,
//! per time bucket. A node spends from its lease locally and asks the ledger for more; the
//! ledger grants only what keeps the leases counted in a window within the limit, so nodes
//! together never lease more than the budget. It never sees requests, only amounts.

/// A request for a lease on one budget scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseAsk<'a> {
    /// The budget's scope (`tenant:acme`, `tag:team=search`).
    pub scope: &'a str,
    /// The start (epoch ms) of the bucket the lease is taken in.
    pub bucket_ms: i64,
    /// Leases of buckets starting at or after this count against the limit.
    pub since_ms: i64,
    /// How much the node would like (micro-USD).
    pub want: u64,
    /// The least that is worth granting; less room than this grants nothing.
    pub at_least: u64,
    /// The budget's limit per window (micro-USD).
    pub limit: u64,
}

/// What the ledger granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LeaseGrant {
    /// Micro-USD granted now (0 when the room left was under `at_least`).
    pub granted: u64,
    /// Everything leased in the counted buckets, this grant included.
    pub leased: u64,
}

impl LeaseGrant {
    /// The grant out of `leased_before` (what the counted buckets held) for `ask`.
    pub fn decide(ask: &LeaseAsk<'_>, leased_before: u64) -> LeaseGrant {
        let room = ask.limit.saturating_sub(leased_before);
        let granted = if room < ask.at_least.max(1) {
            0
        } else {
            ask.want.min(room)
        };
        LeaseGrant {
            granted,
            leased: leased_before.saturating_add(granted),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(want: u64, at_least: u64) -> LeaseAsk<'static> {
        LeaseAsk {
            scope: "tenant:acme",
            bucket_ms: 0,
            since_ms: 0,
            want,
            at_least,
            limit: 1_000,
        }
    }

    #[test]
    fn grants_what_fits_and_nothing_below_the_floor() {
        assert_eq!(LeaseGrant::decide(&ask(100, 10), 0).granted, 100);
        assert_eq!(LeaseGrant::decide(&ask(100, 10), 950).granted, 50);
        assert_eq!(LeaseGrant::decide(&ask(100, 60), 950).granted, 0);
        assert_eq!(LeaseGrant::decide(&ask(100, 0), 1_000).granted, 0);
        assert_eq!(LeaseGrant::decide(&ask(100, 10), 1_200).leased, 1_200);
    }
}
