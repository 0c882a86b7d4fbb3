//! The order of stages, and the only place that knows it.
//!
//! ```text
//! receive ─▶ parse notification ─▶ for each object: GetObject (stream)
//!   ─▶ [blocking thread: detect compression ─▶ decompress ─▶ frame ─▶ normalize ─▶ encode]
//!   ─▶ bounded channel ─▶ batcher ─▶ _bulk ─▶ ack group settles ─▶ DeleteMessageBatch
//! ```
//!
//! [`read_object`] is the synchronous middle, shared with the offline
//! `normalize` command; [`Pipeline::run`] wires the async ends around it.

use std::io::{self, BufReader, Read};
use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime};

use backon::{BackoffBuilder, ExponentialBuilder};
use tokio::sync::{Semaphore, mpsc};
use tokio_util::io::SyncIoBridge;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info, warn};

use crate::ack::{AckGroup, Completion, Outcome};
use crate::config::Config;
use crate::decode::compression::{LimitedRead, detect_from_reader};
use crate::decode::{FrameError, Framer};
use crate::document::{Document, IndexNaming, ObjectIdentity, RecordOrigin, document_id, encode_bulk};
use crate::log_types::{self, LogType, NormalizeError};
use crate::sink::{OpenSearch, batcher};
use crate::source::{Message, Notification, ObjectError, ObjectRef, ObjectStore, Queue, notification};
use crate::telemetry::METRICS;
use crate::telemetry::http::Health;

/// Limits that protect a worker from one bad object.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest frame (line or JSON record) accepted, in bytes.
    pub max_frame_bytes: usize,
    /// Most bytes one object may decompress to.
    pub max_decompressed_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame_bytes: 16 << 20,
            max_decompressed_bytes: 64 << 30,
        }
    }
}

/// What S3 told us about an object, for compression detection and ids.
#[derive(Debug, Clone, Default)]
pub struct ObjectMeta {
    pub content_encoding: Option<String>,
    pub content_type: Option<String>,
}

/// One record made ready for the sink, before it is tied to a message.
#[derive(Debug)]
pub struct EncodedRecord {
    pub index: String,
    pub id: String,
    pub bulk: Vec<u8>,
    pub ordinal: u64,
}

/// A record that could not become a document.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("record {ordinal}: {source}")]
    Normalize { ordinal: u64, source: NormalizeError },
    #[error(transparent)]
    Frame(FrameError),
}

impl RecordError {
    pub fn label(&self) -> &'static str {
        match self {
            RecordError::Normalize { source, .. } => source.label(),
            RecordError::Frame(FrameError::TooLong { .. }) => "too_long",
            RecordError::Frame(FrameError::Garbage { .. }) => "garbage",
            RecordError::Frame(FrameError::Io { .. }) => "stream",
            RecordError::Frame(FrameError::Structure { .. }) => "structure",
        }
    }
}

/// What reading one object amounted to.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ObjectSummary {
    pub frames: u64,
    pub documents: u64,
    pub record_errors: u64,
    pub compressed_bytes: u64,
    pub decompressed_bytes: u64,
    /// Set when the stream broke off: records after this point were not read.
    pub fatal: Option<String>,
    /// Set when the consumer asked to stop.
    pub stopped: bool,
}

/// Counts bytes that pass through a reader.
struct Counted<R> {
    inner: R,
    count: Arc<std::sync::atomic::AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Decompresses, frames, normalizes and encodes one object, synchronously.
/// `on_record` receives every document and every record error in order, and
/// may stop the reading by returning `Break`.
pub fn read_object(
    reader: impl Read + Send,
    meta: &ObjectMeta,
    identity: &ObjectIdentity,
    log_type: &dyn LogType,
    naming: &IndexNaming,
    limits: Limits,
    on_record: &mut dyn FnMut(Result<EncodedRecord, RecordError>) -> ControlFlow<()>,
) -> ObjectSummary {
    let compressed = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut summary = ObjectSummary::default();
    let mut raw = BufReader::with_capacity(
        128 << 10,
        Counted {
            inner: reader,
            count: compressed.clone(),
        },
    );
    let result = (|| -> io::Result<()> {
        let compression = detect_from_reader(
            &mut raw,
            meta.content_encoding.as_deref(),
            meta.content_type.as_deref(),
            &identity.key,
        )?;
        let decoded = LimitedRead::new(compression.decoder(raw)?, limits.max_decompressed_bytes);
        let mut framer = Framer::new(
            BufReader::with_capacity(256 << 10, decoded),
            log_type.framing(),
            limits.max_frame_bytes,
        );
        let mut normalizer = log_type.normalizer();
        let mut out = Vec::new();
        loop {
            let step = match framer.next_frame() {
                Ok(None) => break,
                Ok(Some((ordinal, frame))) => {
                    summary.frames += 1;
                    out.clear();
                    match normalizer.normalize(frame, &mut out) {
                        Ok(()) => {
                            let mut step = ControlFlow::Continue(());
                            for (sub, normalized) in out.drain(..).enumerate() {
                                let index = naming.index(log_type.name(), normalized.timestamp);
                                let id = document_id(log_type.name(), &normalized.id, identity, ordinal, sub as u32);
                                let bulk = encode_bulk(&index, &id, &normalized);
                                summary.documents += 1;
                                step = on_record(Ok(EncodedRecord {
                                    index,
                                    id,
                                    bulk,
                                    ordinal,
                                }));
                                if step.is_break() {
                                    break;
                                }
                            }
                            step
                        }
                        Err(source) => {
                            summary.record_errors += 1;
                            on_record(Err(RecordError::Normalize { ordinal, source }))
                        }
                    }
                }
                Err(e) if e.is_fatal() => {
                    summary.fatal = Some(e.to_string());
                    summary.record_errors += 1;
                    let _ = on_record(Err(RecordError::Frame(e)));
                    break;
                }
                Err(e) => {
                    summary.record_errors += 1;
                    on_record(Err(RecordError::Frame(e)))
                }
            };
            if step.is_break() {
                summary.stopped = true;
                break;
            }
        }
        summary.decompressed_bytes = framer.bytes_read();
        Ok(())
    })();
    if let Err(e) = result {
        summary.fatal = Some(e.to_string());
        summary.record_errors += 1;
        let _ = on_record(Err(RecordError::Frame(FrameError::Io {
            frames: summary.frames,
            source: e,
        })));
    }
    summary.compressed_bytes = compressed.load(Ordering::Relaxed);
    summary
}

/// Everything a running pipeline needs.
pub struct Pipeline {
    pub config: Config,
    pub queue: Arc<dyn Queue>,
    pub store: Arc<dyn ObjectStore>,
    pub opensearch: OpenSearch,
    pub health: Arc<Health>,
    pub limits: Limits,
}

/// Totals of a run, returned when it stops.
#[derive(Debug, Default, Clone)]
pub struct RunSummary {
    pub messages: u64,
    pub indexed: u64,
    pub already_indexed: u64,
    pub rejected: u64,
}

/// State shared by the tasks of one run.
struct Shared {
    store: Arc<dyn ObjectStore>,
    naming: IndexNaming,
    limits: Limits,
    documents: mpsc::Sender<Document>,
    completions: mpsc::UnboundedSender<Completion>,
    objects: Arc<Semaphore>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    OpenSearch(#[from] crate::sink::SinkError),
}

impl Pipeline {
    /// Builds the AWS and OpenSearch clients from `config`, checks that
    /// OpenSearch answers and installs the index templates.
    pub async fn connect(config: Config, health: Arc<Health>) -> Result<Pipeline, StartError> {
        let (s3, sqs) = crate::source::aws_clients(&config.aws).await;
        let opensearch = OpenSearch::new(&config.opensearch)?;
        opensearch.ping().await?;
        crate::sink::templates::install(&opensearch, &config.opensearch.index_prefix).await?;
        Ok(Pipeline {
            queue: Arc::new(crate::source::sqs::SqsQueue::new(
                sqs,
                config.sqs.queue_url.clone(),
                config.sqs.wait_time,
                config.sqs.max_messages,
            )),
            store: Arc::new(crate::source::s3::S3Store::new(s3)),
            opensearch,
            health,
            limits: Limits::default(),
            config,
        })
    }

    /// Runs until `shutdown` is cancelled (or, when configured, until the queue
    /// stays empty), then finishes in-flight work within the grace period.
    pub async fn run(self, shutdown: CancellationToken) -> RunSummary {
        let Pipeline {
            config,
            queue,
            store,
            opensearch,
            health,
            limits,
        } = self;
        let (doc_tx, doc_rx) = mpsc::channel(config.pipeline.channel_capacity);
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        let sink = tokio::spawn(batcher::run(doc_rx, opensearch, config.bulk.clone()));
        let acker = tokio::spawn(run_acker(done_rx, queue.clone()));
        let shared = Arc::new(Shared {
            store,
            naming: IndexNaming {
                prefix: config.opensearch.index_prefix.clone(),
                rotation: config.opensearch.index_rotation,
            },
            limits,
            documents: doc_tx,
            completions: done_tx,
            objects: Arc::new(Semaphore::new(config.s3.max_concurrent_objects)),
        });
        let tasks = TaskTracker::new();
        let stop_receiving = shutdown.child_token();
        let empty_streak = Arc::new(AtomicU32::new(0));
        let received = Arc::new(std::sync::atomic::AtomicU64::new(0));

        let mut receivers = Vec::new();
        for _ in 0..config.sqs.receivers {
            receivers.push(tokio::spawn(receive_loop(
                queue.clone(),
                shared.clone(),
                tasks.clone(),
                stop_receiving.clone(),
                health.clone(),
                empty_streak.clone(),
                config.sqs.exit_after_empty_receives,
                received.clone(),
            )));
        }
        for r in receivers {
            let _ = r.await;
        }
        info!("receiving stopped; finishing in-flight objects");
        tasks.close();
        if tokio::time::timeout(config.pipeline.shutdown_grace, tasks.wait()).await.is_err() && shutdown.is_cancelled() {
            warn!(grace = ?config.pipeline.shutdown_grace, "in-flight objects did not finish within the grace period");
        }
        drop(shared);
        let bulk = sink.await.unwrap_or_default();
        let _ = acker.await;
        RunSummary {
            messages: received.load(Ordering::Relaxed),
            indexed: bulk.indexed,
            already_indexed: bulk.already_indexed,
            rejected: bulk.rejected + bulk.gave_up,
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn receive_loop(
    queue: Arc<dyn Queue>,
    shared: Arc<Shared>,
    tasks: TaskTracker,
    stop: CancellationToken,
    health: Arc<Health>,
    empty_streak: Arc<AtomicU32>,
    exit_after_empty: Option<u32>,
    received: Arc<std::sync::atomic::AtomicU64>,
) {
    let mut errors = ExponentialBuilder::default()
        .with_max_delay(Duration::from_secs(20))
        .without_max_times()
        .with_jitter()
        .build();
    loop {
        health.turned();
        if stop.is_cancelled() {
            return;
        }
        if let Some(limit) = exit_after_empty {
            if empty_streak.load(Ordering::Relaxed) >= limit && tasks.is_empty() {
                stop.cancel();
                return;
            }
        }
        // Keep receiving only while there is room for another object: a full
        // pipeline leaves messages on the queue for other workers.
        let Ok(permit) = shared.objects.clone().acquire_owned().await else {
            return;
        };
        drop(permit);
        // A receive is never abandoned: SQS would still hand its messages to
        // the dropped request and hide them for a whole visibility timeout.
        let messages = queue.receive().await;
        if stop.is_cancelled() {
            if let Ok(messages) = messages {
                release(&queue, messages).await;
            }
            return;
        }
        let messages = match messages {
            Ok(m) => {
                errors = ExponentialBuilder::default()
                    .with_max_delay(Duration::from_secs(20))
                    .without_max_times()
                    .with_jitter()
                    .build();
                m
            }
            Err(e) => {
                METRICS.sqs_errors.with_label_values(&["receive"]).inc();
                let delay = errors.next().unwrap_or(Duration::from_secs(20));
                warn!(error = %e, ?delay, "receive failed");
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(delay) => continue,
                }
            }
        };
        if messages.is_empty() {
            empty_streak.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        empty_streak.store(0, Ordering::Relaxed);
        for message in messages {
            METRICS.messages_received.inc();
            received.fetch_add(1, Ordering::Relaxed);
            handle_message(message, &shared, &tasks).await;
        }
    }
}

async fn handle_message(message: Message, shared: &Arc<Shared>, tasks: &TaskTracker) {
    let objects = match notification::parse(&message.body) {
        Err(error) => {
            METRICS.messages_invalid.with_label_values(&[error.label()]).inc();
            warn!(message_id = %message.message_id, %error, "not an S3 notification; leaving it for the redrive policy");
            return;
        }
        Ok(Notification::Discard(reason)) => {
            METRICS.messages_discarded.with_label_values(&[reason.label()]).inc();
            debug!(message_id = %message.message_id, ?reason, "nothing to read; deleting");
            // A group dropped at once completes at once.
            drop(group_for(&message, shared));
            return;
        }
        Ok(Notification::Objects(objects)) => objects,
    };
    METRICS.messages_in_flight.inc();
    let group = group_for(&message, shared);
    for object in objects {
        let Ok(permit) = shared.objects.clone().acquire_owned().await else {
            group.fail();
            break;
        };
        let shared = shared.clone();
        let group = group.clone();
        tasks.spawn(async move {
            METRICS.objects_in_flight.inc();
            process_object(object, group, &shared).await;
            METRICS.objects_in_flight.dec();
            drop(permit);
        });
    }
}

/// Makes messages received during shutdown visible again at once, for
/// another worker.
async fn release(queue: &Arc<dyn Queue>, messages: Vec<Message>) {
    for m in messages {
        if let Err(e) = queue.change_visibility(m.receipt_handle, 0).await {
            METRICS.sqs_errors.with_label_values(&["change_visibility"]).inc();
            debug!(error = %e, "could not release a message received during shutdown");
        }
    }
}

fn group_for(message: &Message, shared: &Shared) -> AckGroup {
    AckGroup::new(
        message.receipt_handle.clone(),
        message.message_id.clone(),
        message.sent_at,
        shared.completions.clone(),
    )
}

async fn process_object(object: ObjectRef, group: AckGroup, shared: &Arc<Shared>) {
    let Some(log_type) = log_types::route(&object.key) else {
        METRICS.objects.with_label_values(&["unknown", "unrouted"]).inc();
        warn!(bucket = %object.bucket, key = %object.key, "no log type matches this key; leaving the message for the redrive policy");
        group.fail();
        return;
    };
    let name = log_type.name();
    let body = match shared.store.get(&object).await {
        Ok(body) => body,
        Err(ObjectError::NotFound { bucket, key }) => {
            // Deleted (or expired) before we got to it: nothing left to read.
            METRICS.objects.with_label_values(&[name, "not_found"]).inc();
            warn!(%bucket, %key, "object no longer exists; deleting its notification");
            return;
        }
        Err(error) => {
            METRICS.objects.with_label_values(&[name, error.label()]).inc();
            warn!(%error, "cannot read object; leaving the message for redelivery");
            group.fail();
            return;
        }
    };
    let identity = ObjectIdentity {
        bucket: object.bucket.clone(),
        key: object.key.clone(),
        version: body
            .version_id
            .clone()
            .or_else(|| body.etag.clone())
            .unwrap_or_default(),
    };
    let meta = ObjectMeta {
        content_encoding: body.content_encoding.clone(),
        content_type: body.content_type.clone(),
    };
    let reader = SyncIoBridge::new(body.reader);
    let documents = shared.documents.clone();
    let naming = shared.naming.clone();
    let limits = shared.limits;
    let reading_group = group.clone();
    let result = tokio::task::spawn_blocking(move || {
        let mut on_record = |record: Result<EncodedRecord, RecordError>| match record {
            Ok(r) => {
                METRICS.documents_in_flight.inc();
                let doc = Document {
                    index: r.index,
                    id: r.id,
                    log_type: name,
                    bulk: r.bulk,
                    origin: RecordOrigin {
                        bucket: identity.bucket.clone(),
                        key: identity.key.clone(),
                        ordinal: r.ordinal,
                    },
                    ack: reading_group.clone(),
                };
                if documents.blocking_send(doc).is_err() {
                    // The sink is gone (shutdown): stop; the message stays.
                    METRICS.documents_in_flight.dec();
                    reading_group.fail();
                    return ControlFlow::Break(());
                }
                ControlFlow::Continue(())
            }
            Err(error) => {
                METRICS.records.with_label_values(&[name, error.label()]).inc();
                warn!(bucket = %identity.bucket, key = %identity.key, %error, "record not indexed");
                // Without a dead-letter store the only safe place for the
                // record is the queue: keep the message for redelivery.
                reading_group.fail();
                ControlFlow::Continue(())
            }
        };
        read_object(reader, &meta, &identity, log_type, &naming, limits, &mut on_record)
    })
    .await;
    match result {
        Ok(summary) => {
            METRICS.object_bytes.with_label_values(&[name]).inc_by(summary.compressed_bytes);
            METRICS.decompressed_bytes.with_label_values(&[name]).inc_by(summary.decompressed_bytes);
            let outcome = if summary.fatal.is_some() {
                "truncated"
            } else if summary.record_errors > 0 {
                "partial"
            } else {
                "ok"
            };
            METRICS.objects.with_label_values(&[name, outcome]).inc();
            info!(
                bucket = %object.bucket,
                key = %object.key,
                log_type = name,
                documents = summary.documents,
                errors = summary.record_errors,
                bytes = summary.compressed_bytes,
                "object read"
            );
        }
        Err(join_error) => {
            METRICS.objects.with_label_values(&[name, "panic"]).inc();
            warn!(bucket = %object.bucket, key = %object.key, error = %join_error, "reading the object failed");
            group.fail();
        }
    }
}

/// Deletes completed messages in batches of up to ten.
async fn run_acker(mut completions: mpsc::UnboundedReceiver<Completion>, queue: Arc<dyn Queue>) {
    let mut pending: Vec<Completion> = Vec::with_capacity(10);
    loop {
        let next = if pending.is_empty() {
            completions.recv().await
        } else {
            match tokio::time::timeout(Duration::from_millis(50), completions.recv()).await {
                Ok(c) => c,
                Err(_) => {
                    delete(&queue, &mut pending).await;
                    continue;
                }
            }
        };
        let Some(completion) = next else { break };
        match completion.outcome {
            Outcome::Complete => {
                pending.push(completion);
                if pending.len() == 10 {
                    delete(&queue, &mut pending).await;
                }
            }
            Outcome::Failed => {
                METRICS.messages_returned.inc();
                METRICS.messages_in_flight.dec();
                info!(message_id = %completion.message_id, "message left on the queue for redelivery");
            }
        }
    }
    delete(&queue, &mut pending).await;
}

async fn delete(queue: &Arc<dyn Queue>, pending: &mut Vec<Completion>) {
    if pending.is_empty() {
        return;
    }
    let batch = std::mem::take(pending);
    let handles: Vec<String> = batch.iter().map(|c| c.receipt_handle.clone()).collect();
    let mut delays = ExponentialBuilder::default()
        .with_max_times(3)
        .with_jitter()
        .build();
    let failed = loop {
        match queue.delete_batch(handles.clone()).await {
            Ok(failed) => break failed,
            Err(e) => {
                METRICS.sqs_errors.with_label_values(&["delete"]).inc();
                match delays.next() {
                    Some(d) => tokio::time::sleep(d).await,
                    None => {
                        warn!(error = %e, "deleting messages failed; they will be redelivered and deduplicated by id");
                        break handles.clone();
                    }
                }
            }
        }
    };
    let now = SystemTime::now();
    for c in &batch {
        METRICS.messages_in_flight.dec();
        if failed.contains(&c.receipt_handle) {
            continue;
        }
        METRICS.messages_deleted.inc();
        if let Some(lag) = c.sent_at.and_then(|s| now.duration_since(s).ok()) {
            METRICS.ack_lag.observe(lag.as_secs_f64());
        }
    }
}
