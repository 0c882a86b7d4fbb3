//! Groups documents into batches bounded by bytes, by count and by time, and
//! keeps at most `concurrency` batches in flight. Waiting for a free slot
//! stops reading the channel, which fills, which blocks the normalizers, which
//! stops new objects: that is how OpenSearch's pace reaches SQS.

use std::sync::Arc;

use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;

use super::BulkApi;
use super::bulk::{BatchSummary, send_batch};
use super::circuit::Circuit;
use super::dead_letter::DeadLetterSender;
use crate::batch::{BatchLimits, Batches};
use crate::config::BulkConfig;
use crate::document::Document;

/// Runs until `documents` is closed and every batch is settled.
pub async fn run(
    documents: mpsc::Receiver<Document>,
    client: Arc<dyn BulkApi>,
    config: BulkConfig,
    dead_letters: DeadLetterSender,
    circuit: Circuit,
) -> BatchSummary {
    let limits = BatchLimits {
        max_items: config.max_documents,
        max_weight: config.max_bytes,
        linger: config.flush_interval,
    };
    let mut batches = Batches::new(documents, limits, |d: &Document| d.bulk.len());
    let slots = Arc::new(Semaphore::new(config.concurrency));
    let config = Arc::new(config);
    let mut in_flight: JoinSet<BatchSummary> = JoinSet::new();
    let mut total = BatchSummary::default();
    while let Some(batch) = batches.next().await {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            break;
        };
        let (client, config, dead_letters, circuit) = (
            client.clone(),
            config.clone(),
            dead_letters.clone(),
            circuit.clone(),
        );
        in_flight.spawn(async move {
            let summary =
                send_batch(client.as_ref(), batch, &config, &dead_letters, &circuit).await;
            drop(slot);
            summary
        });
        while let Some(done) = in_flight.try_join_next() {
            let done = done.unwrap_or_default();
            adapt(batches.limits_mut(), &done);
            total.add(done);
        }
    }
    while let Some(done) = in_flight.join_next().await {
        // A batch task that panicked dropped its documents unsettled, which
        // failed their messages; only its totals are lost here.
        total.add(done.unwrap_or_default());
    }
    total
}

/// Smallest batch size that adapting to 413 answers may come down to.
const MIN_BATCH_BYTES: usize = 64 << 10;

/// After a request too large for the cluster, later batches stay under half
/// its size: one split, not one per batch.
fn adapt(limits: &mut BatchLimits, done: &BatchSummary) {
    if let Some(bytes) = done.too_large_bytes {
        let lower = (bytes / 2).max(MIN_BATCH_BYTES);
        if lower < limits.max_weight {
            tracing::warn!(
                bytes,
                max_bytes = lower,
                "the cluster refused a request as too large; sending smaller batches"
            );
            limits.max_weight = lower;
        }
    }
}
