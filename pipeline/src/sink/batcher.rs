//! Groups documents into batches bounded by bytes, by count and by time, and
//! keeps at most `concurrency` batches in flight. Waiting for a free slot
//! stops reading the channel, which fills, which blocks the normalizers, which
//! stops new objects: that is how OpenSearch's pace reaches SQS.

use std::sync::Arc;

use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep_until};

use super::OpenSearch;
use super::dead_letter::DeadLetterSender;
use super::bulk::{BatchSummary, send_batch};
use crate::config::BulkConfig;
use crate::document::Document;
use crate::telemetry::METRICS;

/// Runs until `documents` is closed and every batch is settled.
pub async fn run(
    mut documents: mpsc::Receiver<Document>,
    client: OpenSearch,
    config: BulkConfig,
    dead_letters: DeadLetterSender,
) -> BatchSummary {
    let slots = Arc::new(Semaphore::new(config.concurrency));
    let client = Arc::new((client, dead_letters));
    let config = Arc::new(config);
    let mut in_flight: JoinSet<BatchSummary> = JoinSet::new();
    let mut total = BatchSummary::default();
    let mut batch: Vec<Document> = Vec::new();
    let mut batch_bytes = 0usize;
    let mut deadline: Option<Instant> = None;

    loop {
        let next = tokio::select! {
            doc = documents.recv() => doc,
            () = sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                flush(&mut batch, &mut batch_bytes, &mut deadline, &slots, &client, &config, &mut in_flight).await;
                continue;
            }
        };
        let Some(doc) = next else { break };
        if !batch.is_empty() && batch_bytes + doc.bulk.len() > config.max_bytes {
            flush(&mut batch, &mut batch_bytes, &mut deadline, &slots, &client, &config, &mut in_flight).await;
        }
        if batch.is_empty() {
            deadline = Some(Instant::now() + config.flush_interval);
        }
        batch_bytes += doc.bulk.len();
        batch.push(doc);
        if batch.len() >= config.max_documents || batch_bytes >= config.max_bytes {
            flush(&mut batch, &mut batch_bytes, &mut deadline, &slots, &client, &config, &mut in_flight).await;
        }
        while let Some(done) = in_flight.try_join_next() {
            add(&mut total, done.unwrap_or_default());
        }
    }
    flush(&mut batch, &mut batch_bytes, &mut deadline, &slots, &client, &config, &mut in_flight).await;
    while let Some(done) = in_flight.join_next().await {
        add(&mut total, done.unwrap_or_default());
    }
    total
}

async fn flush(
    batch: &mut Vec<Document>,
    batch_bytes: &mut usize,
    deadline: &mut Option<Instant>,
    slots: &Arc<Semaphore>,
    client: &Arc<(OpenSearch, DeadLetterSender)>,
    config: &Arc<BulkConfig>,
    in_flight: &mut JoinSet<BatchSummary>,
) {
    *deadline = None;
    if batch.is_empty() {
        return;
    }
    let docs = std::mem::take(batch);
    *batch_bytes = 0;
    let Ok(slot) = slots.clone().acquire_owned().await else {
        return;
    };
    let client = client.clone();
    let config = config.clone();
    let count = docs.len() as i64;
    in_flight.spawn(async move {
        let (opensearch, dead_letters) = &*client;
        let summary = send_batch(opensearch, docs, &config, dead_letters).await;
        METRICS.documents_in_flight.sub(count);
        drop(slot);
        summary
    });
}

fn add(total: &mut BatchSummary, s: BatchSummary) {
    total.indexed += s.indexed;
    total.already_indexed += s.already_indexed;
    total.rejected += s.rejected;
    total.gave_up += s.gave_up;
    total.retries += s.retries;
}
