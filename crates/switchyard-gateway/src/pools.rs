//! Queue isolation: heavy-context requests (the decision says so: reasoning-heavy, or a large
//! estimated input) run in their own bounded pool with a bounded queue, so they can never take
//! the capacity interactive traffic needs. A full queue is a 503 with `Retry-After`, at once.

use crate::error::ApiError;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The heavy-context pool.
pub struct HeavyPool {
    slots: Arc<Semaphore>,
    size: usize,
    waiting: AtomicUsize,
    queue: usize,
}

/// A slot in the pool, held until the request (its stream included) is done.
pub struct Slot {
    _permit: OwnedSemaphorePermit,
}

struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
        metrics::gauge!("switchyard_heavy_pool_waiting").decrement(1.0);
    }
}

impl HeavyPool {
    pub fn new(size: usize, queue: usize) -> Self {
        HeavyPool {
            slots: Arc::new(Semaphore::new(size.max(1))),
            size: size.max(1),
            waiting: AtomicUsize::new(0),
            queue,
        }
    }

    fn full(&self, why: String) -> ApiError {
        ApiError::Refused {
            status: 503,
            code: "heavy_queue_full",
            message: why,
            retry_after: Some(Duration::from_secs(1)),
        }
    }

    /// A slot, waiting in the queue until `deadline` when all are taken; refused at once when
    /// the queue is full too.
    pub async fn enter(&self, deadline: Instant) -> Result<Slot, ApiError> {
        if let Ok(permit) = self.slots.clone().try_acquire_owned() {
            return Ok(Slot { _permit: permit });
        }
        let before = self.waiting.fetch_add(1, Ordering::AcqRel);
        metrics::gauge!("switchyard_heavy_pool_waiting").increment(1.0);
        let _waiting = Waiting(&self.waiting);
        if before >= self.queue {
            return Err(self.full(format!(
                "the heavy-context pool is full ({} running, {} waiting); retry shortly or send a smaller request",
                self.size, self.queue
            )));
        }
        let acquire = self.slots.clone().acquire_owned();
        match tokio::time::timeout_at(deadline.into(), acquire).await {
            Ok(Ok(permit)) => Ok(Slot { _permit: permit }),
            _ => Err(self
                .full("no heavy-context slot came free within the request's time budget".into())),
        }
    }

    /// Requests running in the pool now.
    pub fn in_use(&self) -> usize {
        self.size - self.slots.available_permits()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_queue_is_bounded_and_refusals_are_immediate() {
        let pool = Arc::new(HeavyPool::new(1, 1));
        let far = Instant::now() + Duration::from_secs(30);
        let held = pool.enter(far).await.unwrap();
        let waiter = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.enter(far).await.map(|_| ()) })
        };
        while pool.waiting.load(Ordering::Acquire) == 0 {
            tokio::task::yield_now().await;
        }
        let refused = pool.enter(far).await.err().unwrap();
        assert_eq!(refused.status().as_u16(), 503);
        assert_eq!(refused.retry_after(), Some(Duration::from_secs(1)));
        drop(held);
        waiter.await.unwrap().unwrap();
        assert_eq!(pool.in_use(), 0);
    }
}
