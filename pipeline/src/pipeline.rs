//! The order of stages, and the only place that knows it.
//!
//! ```text
//! receive ─▶ parse notification ─▶ for each object: GetObject (stream)
//!   ─▶ [blocking thread: detect compression ─▶ decompress ─▶ frame ─▶ normalize ─▶ enrich ─▶ encode]
//!   ─▶ bounded channel ─▶ batcher ─▶ _bulk ─▶ ack group settles ─▶ DeleteMessageBatch
//! ```
//!
//! [`read_object`] is the synchronous middle, shared with the offline
//! `normalize` command; [`Pipeline::run`] wires the async ends around it.

use std::io::{self, BufRead, BufReader, Read};
use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use backon::{BackoffBuilder, ExponentialBuilder};
use tokio::sync::{Semaphore, mpsc};
use tokio_util::io::SyncIoBridge;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info, warn};

use crate::ack::{AckGroup, Completion, Outcome};
use crate::config::{Config, DeadLetterConfig};
use crate::decode::compression::{LimitedRead, detect_from_reader};
use crate::decode::parquet::{self, ParquetLines};
use crate::decode::{FrameError, Framer};
use crate::document::{Document, IndexNaming, ObjectIdentity, RecordOrigin, document_id, encode_bulk};
use crate::enrich::{Additions, Enrichers, Scope};
use crate::log_types::{self, LogType, NormalizeError};
use crate::sink::dead_letter::{self, DeadLetter, DeadLetterSender, DeadLetterStore, LocalDeadLetters, S3DeadLetters};
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
    /// Largest Parquet object, copied to a temporary file to be read.
    pub max_parquet_bytes: u64,
    /// Largest decompressed/compressed ratio, checked past the first 16 MiB.
    pub max_ratio: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame_bytes: 16 << 20,
            max_decompressed_bytes: 64 << 30,
            max_parquet_bytes: 1 << 30,
            max_ratio: 200,
        }
    }
}

impl Limits {
    pub fn from_config(config: &crate::config::PipelineConfig) -> Self {
        Limits {
            max_frame_bytes: config.max_record_bytes,
            max_decompressed_bytes: config.max_object_bytes,
            max_parquet_bytes: config.max_parquet_bytes,
            max_ratio: config.max_decompression_ratio,
        }
    }
}

/// Past this many decompressed bytes the ratio limit applies: small objects
/// of repetitive text compress far better than large ones.
const RATIO_GRACE_BYTES: u64 = 16 << 20;

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
    Normalize {
        ordinal: u64,
        source: NormalizeError,
        /// The frame as read, for the dead-letter store.
        frame: Vec<u8>,
    },
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

/// Decompresses, frames, normalizes and encodes one object, synchronously,
/// without enrichment. `on_record` receives every document and every record
/// error in order, and may stop the reading by returning `Break`.
pub fn read_object(
    reader: impl Read + Send,
    meta: &ObjectMeta,
    identity: &ObjectIdentity,
    log_type: &dyn LogType,
    naming: &IndexNaming,
    limits: Limits,
    on_record: &mut dyn FnMut(Result<EncodedRecord, RecordError>) -> ControlFlow<()>,
) -> ObjectSummary {
    read_object_enriched(reader, meta, identity, log_type, naming, limits, &Enrichers::none(), on_record)
}

/// [`read_object`], with every document enriched between normalization and
/// encoding.
#[allow(clippy::too_many_arguments)]
pub fn read_object_enriched(
    reader: impl Read + Send,
    meta: &ObjectMeta,
    identity: &ObjectIdentity,
    log_type: &dyn LogType,
    naming: &IndexNaming,
    limits: Limits,
    enrichers: &Enrichers,
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
        let decoded: Box<dyn Read + Send> = if parquet::is_parquet(raw.fill_buf()?) {
            if !log_type.reads_parquet() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("a Parquet object, which log type {} does not read", log_type.name()),
                ));
            }
            Box::new(ParquetLines::spool(raw, limits.max_parquet_bytes)?)
        } else {
            compression.decoder(raw)?
        };
        let decoded = LimitedRead::new(decoded, limits.max_decompressed_bytes);
        let mut framer = Framer::new(
            BufReader::with_capacity(256 << 10, decoded),
            log_type.framing(),
            limits.max_frame_bytes,
        );
        let mut normalizer = log_type.normalizer();
        let scope = Scope::of(log_type, enrichers);
        let mut added = Additions::default();
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
                            for (sub, mut normalized) in out.drain(..).enumerate() {
                                log_types::stamp(log_type, &mut normalized.document);
                                added.clear();
                                enrichers.enrich_in(&scope, &mut normalized.document, &mut added);
                                let index = naming.index(log_type.name(), normalized.timestamp);
                                let id = document_id(log_type.name(), &normalized.id, identity, ordinal, sub as u32);
                                let bulk = encode_bulk(&index, &id, &normalized, &added);
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
                            on_record(Err(RecordError::Normalize {
                                ordinal,
                                source,
                                frame: frame.to_vec(),
                            }))
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
            let out_bytes = framer.bytes_read();
            if out_bytes > RATIO_GRACE_BYTES && out_bytes / compressed.load(Ordering::Relaxed).max(1) > limits.max_ratio {
                let e = FrameError::Io {
                    frames: summary.frames,
                    source: io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("decompression ratio exceeds the limit of {}", limits.max_ratio),
                    ),
                };
                summary.fatal = Some(e.to_string());
                summary.record_errors += 1;
                let _ = on_record(Err(RecordError::Frame(e)));
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
    pub dead_letters: Option<Arc<dyn DeadLetterStore>>,
    pub health: Arc<Health>,
    /// Shared by every reading thread; its data reloads while the run goes on.
    pub enrichers: Arc<Enrichers>,
}

/// Totals of a run, returned when it stops.
#[derive(Debug, Default, Clone)]
pub struct RunSummary {
    pub messages: u64,
    pub indexed: u64,
    pub already_indexed: u64,
    pub rejected: u64,
    pub gave_up: u64,
    /// Whether shutdown had to abandon in-flight work (its messages were
    /// made visible again).
    pub abandoned: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    OpenSearch(#[from] crate::sink::SinkError),
    #[error(transparent)]
    Queue(#[from] crate::source::QueueError),
}

/// State shared by the tasks of one run.
struct Shared {
    queue: Arc<dyn Queue>,
    store: Arc<dyn ObjectStore>,
    naming: IndexNaming,
    limits: Limits,
    documents: mpsc::Sender<Document>,
    dead_letters: DeadLetterSender,
    completions: mpsc::UnboundedSender<Completion>,
    objects: Arc<Semaphore>,
    /// `pipeline.max_bytes_in_flight`, in KiB permits.
    budget: Arc<Semaphore>,
    budget_kib: u32,
    /// Set when shutdown gives up on in-flight work.
    abandoned: Arc<AtomicBool>,
    /// Cancelled to make every in-flight message visible again at once.
    release: CancellationToken,
    heartbeats: TaskTracker,
    visibility_timeout: Duration,
    max_visibility_extension: Duration,
    enrichers: Arc<Enrichers>,
}

impl Pipeline {
    /// Builds the AWS and OpenSearch clients from `config`, checks that
    /// OpenSearch answers and installs the index templates.
    pub async fn connect(config: Config, health: Arc<Health>) -> Result<Pipeline, StartError> {
        let sdk = crate::source::aws_sdk_config(&config.aws).await;
        let (s3, sqs) = crate::source::aws_clients(&sdk, &config.aws);
        let opensearch = OpenSearch::new(&config.opensearch, Some(&sdk))?;
        opensearch.ping().await?;
        crate::sink::templates::install(&opensearch, &config.opensearch.index_prefix).await?;
        let dead_letters: Option<Arc<dyn DeadLetterStore>> = match &config.dead_letter {
            DeadLetterConfig::None => None,
            DeadLetterConfig::S3 { bucket, prefix } => Some(Arc::new(S3DeadLetters {
                client: s3.clone(),
                bucket: bucket.clone(),
                prefix: prefix.clone(),
            })),
            DeadLetterConfig::Directory(directory) => Some(Arc::new(LocalDeadLetters {
                directory: directory.clone(),
            })),
        };
        let fetcher = crate::enrich::Fetcher { s3: Some(s3.clone()) };
        let enrichers = Arc::new(Enrichers::start(&config.enrich, fetcher).await);
        Ok(Pipeline {
            queue: Arc::new(crate::source::sqs::SqsQueue::new(
                sqs,
                config.sqs.queue_url.clone(),
                config.sqs.wait_time,
                config.sqs.max_messages,
            )),
            store: Arc::new(crate::source::s3::S3Store::new(s3)),
            opensearch,
            dead_letters,
            health,
            enrichers,
            config,
        })
    }

    /// Runs until `shutdown` is cancelled (or, when configured, until the queue
    /// stays empty), then finishes in-flight work: within the grace period
    /// after a signal, or completely when the queue ran dry. Work that cannot
    /// finish in time is abandoned and its messages made visible again.
    pub async fn run(self, shutdown: CancellationToken) -> Result<RunSummary, StartError> {
        let Pipeline {
            config,
            queue,
            store,
            opensearch,
            dead_letters,
            health,
            enrichers,
        } = self;
        let visibility_timeout = match config.sqs.visibility_timeout {
            Some(t) => t,
            None => Duration::from_secs(queue.attributes().await?.visibility_timeout_secs.max(2)),
        };
        if dead_letters.is_none() {
            warn!("no dead-letter store configured (dead_letter.s3_url or dead_letter.directory): records that can never be indexed keep their message on the queue until its redrive policy moves it");
        }
        let (dl_sender, dl_writer) = match dead_letters {
            Some(store) => {
                let (s, w) = dead_letter::spawn_writer(store);
                (s, Some(w))
            }
            None => (DeadLetterSender::none(), None),
        };
        let (doc_tx, doc_rx) = mpsc::channel(config.pipeline.channel_capacity);
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        let sink = tokio::spawn(batcher::run(doc_rx, opensearch, config.bulk.clone(), dl_sender.clone()));
        let acker = tokio::spawn(run_acker(done_rx, queue.clone()));
        let depth = tokio::spawn(poll_queue_depth(queue.clone(), health.clone()));
        let enrich_reload = tokio::spawn(enrichers.clone().watch());
        let budget_kib = u32::try_from(config.pipeline.max_bytes_in_flight >> 10).unwrap_or(u32::MAX);
        let shared = Arc::new(Shared {
            queue: queue.clone(),
            store,
            naming: IndexNaming {
                prefix: config.opensearch.index_prefix.clone(),
                rotation: config.opensearch.index_rotation,
            },
            limits: Limits::from_config(&config.pipeline),
            documents: doc_tx,
            dead_letters: dl_sender,
            completions: done_tx,
            objects: Arc::new(Semaphore::new(config.s3.max_concurrent_objects)),
            budget: Arc::new(Semaphore::new(budget_kib as usize)),
            budget_kib,
            abandoned: Arc::new(AtomicBool::new(false)),
            release: CancellationToken::new(),
            heartbeats: TaskTracker::new(),
            visibility_timeout,
            max_visibility_extension: config.sqs.max_visibility_extension,
            enrichers,
        });
        let tasks = TaskTracker::new();
        let stop_receiving = shutdown.child_token();
        let empty_streak = Arc::new(AtomicU32::new(0));
        let received = Arc::new(AtomicU64::new(0));

        let mut receivers = Vec::new();
        for _ in 0..config.sqs.receivers {
            receivers.push(tokio::spawn(receive_loop(ReceiveLoop {
                shared: shared.clone(),
                tasks: tasks.clone(),
                stop: stop_receiving.clone(),
                health: health.clone(),
                empty_streak: empty_streak.clone(),
                exit_after_empty: config.sqs.exit_after_empty_receives,
                received: received.clone(),
            })));
        }
        for r in receivers {
            let _ = r.await;
        }
        depth.abort();
        enrich_reload.abort();
        info!("receiving stopped; finishing in-flight objects");

        // Drain: objects, then the sink, then the dead letters. After a signal
        // this must fit in the grace period; a dry queue waits for all of it.
        tasks.close();
        let release = shared.release.clone();
        let abandoned = shared.abandoned.clone();
        let heartbeats = shared.heartbeats.clone();
        let sink_abort = sink.abort_handle();
        let drain = async move {
            tasks.wait().await;
            drop(shared);
            let bulk = sink.await.unwrap_or_default();
            if let Some(w) = dl_writer {
                let _ = w.await;
            }
            bulk
        };
        let (bulk, was_abandoned) = if shutdown.is_cancelled() {
            match tokio::time::timeout(config.pipeline.shutdown_grace, drain).await {
                Ok(bulk) => (bulk, false),
                Err(_) => {
                    warn!(grace = ?config.pipeline.shutdown_grace, "in-flight work did not finish within the grace period; making its messages visible again");
                    abandoned.store(true, Ordering::Release);
                    release.cancel();
                    sink_abort.abort();
                    (Default::default(), true)
                }
            }
        } else {
            (drain.await, false)
        };
        heartbeats.close();
        let _ = tokio::time::timeout(Duration::from_secs(5), heartbeats.wait()).await;
        // Completions still arrive while abandoned holders drop; bound the wait.
        let _ = tokio::time::timeout(Duration::from_secs(5), acker).await;
        Ok(RunSummary {
            messages: received.load(Ordering::Relaxed),
            indexed: bulk.indexed,
            already_indexed: bulk.already_indexed,
            rejected: bulk.rejected,
            gave_up: bulk.gave_up,
            abandoned: was_abandoned,
        })
    }
}

struct ReceiveLoop {
    shared: Arc<Shared>,
    tasks: TaskTracker,
    stop: CancellationToken,
    health: Arc<Health>,
    empty_streak: Arc<AtomicU32>,
    exit_after_empty: Option<u32>,
    received: Arc<AtomicU64>,
}

fn receive_backoff() -> impl Iterator<Item = Duration> {
    ExponentialBuilder::default()
        .with_max_delay(Duration::from_secs(20))
        .without_max_times()
        .with_jitter()
        .build()
}

async fn receive_loop(l: ReceiveLoop) {
    let queue = l.shared.queue.clone();
    let mut errors = receive_backoff();
    loop {
        l.health.turned();
        if l.stop.is_cancelled() {
            return;
        }
        if let Some(limit) = l.exit_after_empty
            && l.empty_streak.load(Ordering::Relaxed) >= limit
            && l.tasks.is_empty()
        {
            l.stop.cancel();
            return;
        }
        // Receive only while there is room for another object: a full
        // pipeline leaves messages on the queue for other workers.
        let Ok(permit) = l.shared.objects.clone().acquire_owned().await else {
            return;
        };
        drop(permit);
        // A receive is never abandoned: SQS would still hand its messages to
        // the dropped request and hide them for a whole visibility timeout.
        let messages = queue.receive().await;
        if l.stop.is_cancelled() {
            if let Ok(messages) = messages {
                release(&queue, messages).await;
            }
            return;
        }
        let messages = match messages {
            Ok(m) => {
                errors = receive_backoff();
                m
            }
            Err(e) => {
                METRICS.sqs_errors.with_label_values(&["receive"]).inc();
                let delay = errors.next().unwrap_or(Duration::from_secs(20));
                warn!(error = %e, ?delay, "receive failed");
                tokio::select! {
                    () = l.stop.cancelled() => return,
                    () = tokio::time::sleep(delay) => continue,
                }
            }
        };
        if messages.is_empty() {
            l.empty_streak.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        l.empty_streak.store(0, Ordering::Relaxed);
        for message in messages {
            METRICS.messages_received.inc();
            l.received.fetch_add(1, Ordering::Relaxed);
            handle_message(message, &l.shared, &l.tasks).await;
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
            METRICS.messages_in_flight.inc();
            // A group dropped at once completes at once.
            drop(group_for(&message, shared));
            return;
        }
        Ok(Notification::Objects(objects)) => objects,
    };
    METRICS.messages_in_flight.inc();
    let group = group_for(&message, shared);
    shared.heartbeats.spawn(heartbeat(
        shared.queue.clone(),
        message.receipt_handle.clone(),
        group.done(),
        shared.release.clone(),
        shared.visibility_timeout,
        shared.max_visibility_extension,
    ));
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

/// Keeps a message invisible while its objects are in flight: extends the
/// visibility at half the timeout, up to the configured cap, and makes the
/// message visible at once when shutdown abandons it.
async fn heartbeat(
    queue: Arc<dyn Queue>,
    receipt_handle: String,
    done: CancellationToken,
    release: CancellationToken,
    timeout: Duration,
    cap: Duration,
) {
    let started = tokio::time::Instant::now();
    let period = timeout / 2;
    loop {
        tokio::select! {
            () = done.cancelled() => return,
            () = release.cancelled() => {
                let outcome = match queue.change_visibility(receipt_handle, 0).await {
                    Ok(()) => "released",
                    Err(_) => "release_failed",
                };
                METRICS.visibility_extensions.with_label_values(&[outcome]).inc();
                return;
            }
            () = tokio::time::sleep(period) => {
                if started.elapsed() + timeout > cap {
                    METRICS.visibility_extensions.with_label_values(&["capped"]).inc();
                    warn!(cap = ?cap, "message reached the visibility extension cap; it will be delivered again");
                    return;
                }
                let secs = i32::try_from(timeout.as_secs()).unwrap_or(43_200);
                match queue.change_visibility(receipt_handle.clone(), secs).await {
                    Ok(()) => METRICS.visibility_extensions.with_label_values(&["extended"]).inc(),
                    Err(e) => {
                        METRICS.sqs_errors.with_label_values(&["change_visibility"]).inc();
                        debug!(error = %e, "visibility extension failed");
                    }
                }
            }
        }
    }
}

/// Makes messages received during shutdown visible again at once, for
/// another worker.
async fn release(queue: &Arc<dyn Queue>, messages: Vec<Message>) {
    for m in messages {
        let outcome = match queue.change_visibility(m.receipt_handle, 0).await {
            Ok(()) => "released",
            Err(_) => "release_failed",
        };
        METRICS.visibility_extensions.with_label_values(&[outcome]).inc();
    }
}

fn group_for(message: &Message, shared: &Shared) -> AckGroup {
    AckGroup::new(
        message.receipt_handle.clone(),
        message.message_id.clone(),
        message.sent_at,
        shared.abandoned.clone(),
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
    let shared_for_read = shared.clone();
    let reading_group = group.clone();
    let runtime = tokio::runtime::Handle::current();
    let result = tokio::task::spawn_blocking(move || {
        let shared = shared_for_read;
        let warnings = RateLimited::new(Duration::from_secs(10));
        let mut on_record = |record: Result<EncodedRecord, RecordError>| match record {
            Ok(r) => {
                let kib = u32::try_from(r.bulk.len() >> 10).unwrap_or(u32::MAX).clamp(1, shared.budget_kib.max(1));
                let Ok(budget) = runtime.block_on(shared.budget.clone().acquire_many_owned(kib)) else {
                    reading_group.fail();
                    return ControlFlow::Break(());
                };
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
                    budget: Some(budget),
                };
                if shared.documents.blocking_send(doc).is_err() {
                    // The sink is gone (shutdown): stop; the message stays.
                    METRICS.documents_in_flight.dec();
                    reading_group.fail();
                    return ControlFlow::Break(());
                }
                ControlFlow::Continue(())
            }
            Err(error) => {
                METRICS.records.with_label_values(&[name, error.label()]).inc();
                if warnings.allow() {
                    warn!(bucket = %identity.bucket, key = %identity.key, %error, "record not indexed");
                }
                match dead_letter_for(name, &identity, error) {
                    Some(letter) => shared.dead_letters.blocking_send(letter, reading_group.clone()),
                    // The stream broke: what follows is unread, so the whole
                    // object must be read again (redelivery, then redrive).
                    None => reading_group.fail(),
                }
                ControlFlow::Continue(())
            }
        };
        read_object_enriched(
            reader,
            &meta,
            &identity,
            log_type,
            &shared.naming,
            shared.limits,
            &shared.enrichers,
            &mut on_record,
        )
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

/// The dead letter for a record error, or `None` when no record exists to
/// keep (the stream itself broke off).
fn dead_letter_for(log_type: &'static str, identity: &ObjectIdentity, error: RecordError) -> Option<DeadLetter> {
    let label = error.label().to_owned();
    let reason = error.to_string();
    let (ordinal, record) = match error {
        RecordError::Normalize { ordinal, frame, .. } => (ordinal, frame),
        RecordError::Frame(FrameError::TooLong { ordinal, .. }) => (ordinal, Vec::new()),
        RecordError::Frame(FrameError::Garbage { ordinal, sample, .. }) => (ordinal, sample.into_bytes()),
        RecordError::Frame(FrameError::Io { .. } | FrameError::Structure { .. }) => return None,
    };
    Some(DeadLetter {
        log_type,
        origin: RecordOrigin {
            bucket: identity.bucket.clone(),
            key: identity.key.clone(),
            ordinal,
        },
        index: None,
        id: None,
        status: None,
        error_type: label,
        reason,
        record,
    })
}

/// Lets one warning through per period; counts the rest.
struct RateLimited {
    period: Duration,
    last: std::cell::Cell<Option<std::time::Instant>>,
    suppressed: std::cell::Cell<u64>,
}

impl RateLimited {
    fn new(period: Duration) -> Self {
        RateLimited {
            period,
            last: std::cell::Cell::new(None),
            suppressed: std::cell::Cell::new(0),
        }
    }

    fn allow(&self) -> bool {
        let now = std::time::Instant::now();
        match self.last.get() {
            Some(t) if now.duration_since(t) < self.period => {
                self.suppressed.set(self.suppressed.get() + 1);
                false
            }
            _ => {
                if self.suppressed.get() > 0 {
                    warn!(suppressed = self.suppressed.get(), "similar record warnings were suppressed");
                    self.suppressed.set(0);
                }
                self.last.set(Some(now));
                true
            }
        }
    }
}

/// Publishes the queue's depth once a minute, and readiness with it.
async fn poll_queue_depth(queue: Arc<dyn Queue>, health: Arc<Health>) {
    loop {
        match queue.attributes().await {
            Ok(a) => {
                METRICS.queue_messages.with_label_values(&["visible"]).set(a.visible as i64);
                METRICS.queue_messages.with_label_values(&["in_flight"]).set(a.in_flight as i64);
                METRICS.queue_messages.with_label_values(&["delayed"]).set(a.delayed as i64);
                health.set_queue_reachable(true);
            }
            Err(e) => {
                METRICS.sqs_errors.with_label_values(&["get_queue_attributes"]).inc();
                health.set_queue_reachable(false);
                warn!(error = %e, "cannot read queue attributes");
            }
        }
        tokio::time::sleep(Duration::from_secs(60)).await;
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
    let mut delays = ExponentialBuilder::default().with_max_times(3).with_jitter().build();
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
