//! What one answer may still spend while it is generated, and the flag that stops the work when
//! its request ends. The generator spends before it allocates, never after, so a refusal costs
//! no more than the limit it names.

use crate::limits::{Exceeded, Limit, Limits, Stop};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set when the request that wants the work has ended (client gone, attempt timed out, server
/// stopping); the generator checks it at every value it writes and every tokenizer segment.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// `Err(Stop::Cancelled)` once cancelled.
    pub fn check(&self) -> Result<(), Stop> {
        if self.is_cancelled() {
            Err(Stop::Cancelled)
        } else {
            Ok(())
        }
    }
}

/// The bytes and JSON values one answer (all its choices) may still hold.
#[derive(Debug)]
pub struct Budget<'a> {
    limits: &'a Limits,
    cancel: &'a Cancel,
    bytes_left: usize,
    values_left: usize,
}

impl<'a> Budget<'a> {
    pub fn new(limits: &'a Limits, cancel: &'a Cancel) -> Self {
        Self {
            limits,
            cancel,
            bytes_left: limits.max_output_bytes,
            values_left: limits.max_output_values,
        }
    }

    pub fn limits(&self) -> &'a Limits {
        self.limits
    }

    pub fn cancel(&self) -> &'a Cancel {
        self.cancel
    }

    /// Takes `values` JSON values and `bytes` bytes of text from the budget, or refuses naming
    /// `keyword` (what multiplied the answer). Stops first if the request has ended.
    pub fn spend(&mut self, values: usize, bytes: usize, keyword: &str) -> Result<(), Stop> {
        self.cancel.check()?;
        if values > self.values_left {
            let allowed = self.limits.max_output_values as u64;
            return Err(Exceeded::new(Limit::OutputValues, keyword, None, allowed).into());
        }
        if bytes > self.bytes_left {
            let allowed = self.limits.max_output_bytes as u64;
            return Err(Exceeded::new(Limit::OutputBytes, keyword, None, allowed).into());
        }
        self.values_left -= values;
        self.bytes_left -= bytes;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spending_past_either_limit_is_refused_by_name_and_cancel_stops_first() {
        let limits = Limits {
            max_output_bytes: 10,
            max_output_values: 3,
            ..Limits::DEFAULT
        };
        let cancel = Cancel::new();
        let mut budget = Budget::new(&limits, &cancel);
        assert_eq!(budget.spend(2, 10, "x"), Ok(()));
        let Err(Stop::Refused(e)) = budget.spend(1, 1, "$ref") else {
            panic!("the 11th byte is refused");
        };
        assert_eq!((e.limit, e.keyword.as_str()), (Limit::OutputBytes, "$ref"));
        let Err(Stop::Refused(e)) = budget.spend(2, 0, "items") else {
            panic!("the 4th value is refused");
        };
        assert_eq!(e.limit, Limit::OutputValues);
        cancel.cancel();
        assert_eq!(budget.spend(0, 0, "x"), Err(Stop::Cancelled));
    }
}
