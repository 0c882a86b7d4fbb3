//! `pipeline.max_bytes_in_flight`: the bytes of documents between
//! normalization and OpenSearch. A reader takes a share for each document
//! before handing it on and the share comes back when the document is
//! settled, so a slow cluster stops the readers, and through them the
//! receives, before memory grows.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::telemetry::events::{BytesBudget, BytesInFlight, Emit};

/// The budget, counted in KiB permits.
#[derive(Debug, Clone)]
pub struct Budget {
    permits: Arc<Semaphore>,
    kib: u32,
}

/// A document's share of the budget, given back on drop.
#[derive(Debug)]
pub struct Share {
    _permit: OwnedSemaphorePermit,
    bytes: i64,
}

impl Drop for Share {
    fn drop(&mut self) {
        BytesInFlight { delta: -self.bytes }.emit();
    }
}

impl Budget {
    pub fn new(bytes: usize) -> Self {
        BytesBudget { bytes }.emit();
        let kib = u32::try_from(bytes >> 10).unwrap_or(u32::MAX).max(1);
        Budget {
            permits: Arc::new(Semaphore::new(kib as usize)),
            kib,
        }
    }

    /// Waits for room for `bytes` (a document larger than the whole budget
    /// takes all of it).
    pub async fn take(&self, bytes: usize) -> Option<Share> {
        let kib = u32::try_from(bytes.div_ceil(1024))
            .unwrap_or(u32::MAX)
            .clamp(1, self.kib);
        let permit = self.permits.clone().acquire_many_owned(kib).await.ok()?;
        let bytes = i64::try_from(bytes).unwrap_or(i64::MAX);
        BytesInFlight { delta: bytes }.emit();
        Some(Share {
            _permit: permit,
            bytes,
        })
    }

    /// [`Budget::take`], for blocking threads.
    pub fn take_blocking(&self, bytes: usize) -> Option<Share> {
        futures::executor::block_on(self.take(bytes))
    }

    /// Wakes every waiter with `None`: the run is stopping.
    pub fn close(&self) {
        self.permits.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_share_comes_back_when_its_document_is_settled() {
        let budget = Budget::new(4 << 10);
        let a = budget.take(3 << 10).await.expect("room");
        let waiting = tokio::spawn({
            let budget = budget.clone();
            async move { budget.take(2 << 10).await.is_some() }
        });
        tokio::task::yield_now().await;
        assert!(
            !waiting.is_finished(),
            "no room until the first share is back"
        );
        drop(a);
        assert!(waiting.await.expect("joins"));
    }

    #[tokio::test]
    async fn a_document_larger_than_the_budget_takes_all_of_it() {
        let budget = Budget::new(4 << 10);
        assert!(budget.take(1 << 20).await.is_some());
    }
}
