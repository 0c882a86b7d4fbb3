//! What the pipeline tells operators, one struct per event: `emit()` writes
//! the log line and updates the metrics together, so a count and its log never
//! disagree. Labels come from closed vocabularies (enums, log type names, the
//! `label()` of an error), never from data. Per-record warnings are
//! rate-limited.
//!
//! Events carry labels and displayable errors, not the other modules' types:
//! every module may emit, and telemetry depends on none of them.

use std::fmt::Display;
use std::time::Duration;

use tracing::{debug, error, info, warn};

use super::METRICS;
use super::metrics::status_class;
use super::rate_limit::RateLimit;

/// An event that can be told.
pub trait Emit {
    fn emit(self);
}

/// Per-record warnings: one per period per kind, the rest counted.
static RECORD_WARNINGS: RateLimit = RateLimit::new(Duration::from_secs(10));
static DOCUMENT_WARNINGS: RateLimit = RateLimit::new(Duration::from_secs(10));

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueOperation {
    Receive,
    Delete,
    ChangeVisibility,
    GetAttributes,
}

impl QueueOperation {
    pub fn label(self) -> &'static str {
        match self {
            QueueOperation::Receive => "receive",
            QueueOperation::Delete => "delete",
            QueueOperation::ChangeVisibility => "change_visibility",
            QueueOperation::GetAttributes => "get_queue_attributes",
        }
    }
}

pub struct MessageReceived;

impl Emit for MessageReceived {
    fn emit(self) {
        METRICS.messages_received.inc();
        METRICS.messages_in_flight.inc();
    }
}

pub struct MessageInvalid<'a> {
    pub message_id: &'a str,
    /// The error's label.
    pub reason: &'static str,
    pub error: &'a dyn Display,
}

impl Emit for MessageInvalid<'_> {
    fn emit(self) {
        METRICS
            .messages_invalid
            .with_label_values(&[self.reason])
            .inc();
        warn!(message_id = self.message_id, error = %self.error, "not an S3 notification; leaving it for the redrive policy");
    }
}

pub struct MessageDiscarded<'a> {
    pub message_id: &'a str,
    pub reason: &'static str,
}

impl Emit for MessageDiscarded<'_> {
    fn emit(self) {
        METRICS
            .messages_discarded
            .with_label_values(&[self.reason])
            .inc();
        debug!(
            message_id = self.message_id,
            reason = self.reason,
            "nothing to read; deleting"
        );
    }
}

/// A message left on the queue, to be delivered again.
pub struct MessageReturned<'a> {
    pub message_id: &'a str,
}

impl Emit for MessageReturned<'_> {
    fn emit(self) {
        METRICS.messages_returned.inc();
        METRICS.messages_in_flight.dec();
        info!(
            message_id = self.message_id,
            "message left on the queue for redelivery"
        );
    }
}

/// A completed message, and whether `DeleteMessageBatch` took it.
pub struct MessageDeleted<'a> {
    pub message_id: &'a str,
    pub deleted: bool,
    pub lag: Option<Duration>,
}

impl Emit for MessageDeleted<'_> {
    fn emit(self) {
        METRICS.messages_in_flight.dec();
        if !self.deleted {
            warn!(
                message_id = self.message_id,
                "deleting the message failed; it will be redelivered and deduplicated by id"
            );
            return;
        }
        METRICS.messages_deleted.inc();
        if let Some(lag) = self.lag {
            METRICS.ack_lag.observe(lag.as_secs_f64());
        }
    }
}

pub struct QueueCallFailed<'a> {
    pub operation: QueueOperation,
    pub error: &'a dyn Display,
}

impl Emit for QueueCallFailed<'_> {
    fn emit(self) {
        METRICS
            .sqs_errors
            .with_label_values(&[self.operation.label()])
            .inc();
        warn!(operation = self.operation.label(), error = %self.error, "queue call failed");
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VisibilityChange {
    /// The heartbeat kept a message in flight hidden.
    Extended,
    /// An extension failed (it is retried before the next period).
    ExtendFailed,
    /// The message reached `sqs.max_visibility_extension` and will reappear.
    Capped,
    /// Shutdown made the message visible again at once.
    Released,
    ReleaseFailed,
}

impl VisibilityChange {
    pub fn label(self) -> &'static str {
        match self {
            VisibilityChange::Extended => "extended",
            VisibilityChange::ExtendFailed => "extend_failed",
            VisibilityChange::Capped => "capped",
            VisibilityChange::Released => "released",
            VisibilityChange::ReleaseFailed => "release_failed",
        }
    }
}

pub struct VisibilityChanged<'a> {
    pub message_id: &'a str,
    pub change: VisibilityChange,
    pub error: Option<&'a dyn Display>,
}

impl Emit for VisibilityChanged<'_> {
    fn emit(self) {
        METRICS
            .visibility_extensions
            .with_label_values(&[self.change.label()])
            .inc();
        match (self.change, self.error) {
            (VisibilityChange::Capped, _) => {
                warn!(
                    message_id = self.message_id,
                    "message reached the visibility extension cap; it will be delivered again"
                )
            }
            (_, Some(error)) => {
                METRICS
                    .sqs_errors
                    .with_label_values(&[QueueOperation::ChangeVisibility.label()])
                    .inc();
                warn!(message_id = self.message_id, change = self.change.label(), %error, "visibility change failed");
            }
            _ => {}
        }
    }
}

pub struct ObjectUnrouted<'a> {
    pub bucket: &'a str,
    pub key: &'a str,
}

impl Emit for ObjectUnrouted<'_> {
    fn emit(self) {
        METRICS
            .objects
            .with_label_values(&["unknown", "unrouted"])
            .inc();
        warn!(
            bucket = self.bucket,
            key = self.key,
            "no log type matches this key; leaving the message for the redrive policy"
        );
    }
}

/// `GetObject` failed: the object is gone, or cannot be read now.
pub struct ObjectNotRead<'a> {
    pub log_type: &'static str,
    /// The error's label (`not_found`, `access_denied`, …).
    pub reason: &'static str,
    /// The object no longer exists: its notification is deleted.
    pub gone: bool,
    pub error: &'a dyn Display,
}

impl Emit for ObjectNotRead<'_> {
    fn emit(self) {
        METRICS
            .objects
            .with_label_values(&[self.log_type, self.reason])
            .inc();
        if self.gone {
            warn!(log_type = self.log_type, error = %self.error, "object no longer exists; deleting its notification")
        } else {
            warn!(log_type = self.log_type, error = %self.error, "cannot read object; leaving the message for redelivery")
        }
    }
}

/// An object that holds no records by design (a CloudTrail digest): not read.
pub struct ObjectSkipped<'a> {
    pub log_type: &'static str,
    pub bucket: &'a str,
    pub key: &'a str,
}

impl Emit for ObjectSkipped<'_> {
    fn emit(self) {
        METRICS
            .objects
            .with_label_values(&[self.log_type, "skipped"])
            .inc();
        debug!(
            bucket = self.bucket,
            key = self.key,
            log_type = self.log_type,
            "object holds no records; skipped"
        );
    }
}

/// An object read to its end, or to the error that ended it.
pub struct ObjectRead<'a> {
    pub log_type: &'static str,
    pub bucket: &'a str,
    pub key: &'a str,
    /// `ok`, `partial` (some records failed) or `truncated` (the rest is unread).
    pub outcome: &'static str,
    pub documents: u64,
    pub record_errors: u64,
    pub compressed_bytes: u64,
    pub decompressed_bytes: u64,
    pub fatal: Option<&'a str>,
}

impl Emit for ObjectRead<'_> {
    fn emit(self) {
        METRICS
            .object_bytes
            .with_label_values(&[self.log_type])
            .inc_by(self.compressed_bytes);
        METRICS
            .decompressed_bytes
            .with_label_values(&[self.log_type])
            .inc_by(self.decompressed_bytes);
        METRICS
            .objects
            .with_label_values(&[self.log_type, self.outcome])
            .inc();
        info!(
            bucket = self.bucket,
            key = self.key,
            log_type = self.log_type,
            documents = self.documents,
            errors = self.record_errors,
            bytes = self.compressed_bytes,
            fatal = self.fatal,
            "object read"
        );
    }
}

/// Reading an object panicked: a bug; its message is left on the queue.
pub struct ObjectPanicked<'a> {
    pub log_type: &'static str,
    pub bucket: &'a str,
    pub key: &'a str,
    pub error: &'a dyn Display,
}

impl Emit for ObjectPanicked<'_> {
    fn emit(self) {
        METRICS
            .objects
            .with_label_values(&[self.log_type, "panic"])
            .inc();
        error!(bucket = self.bucket, key = self.key, log_type = self.log_type, error = %self.error, "reading the object failed");
    }
}

/// An object being read; counted in `siem_objects_in_flight` until the guard
/// is dropped, also by a panic.
#[must_use]
pub struct ObjectInFlight(());

impl ObjectInFlight {
    pub fn enter() -> ObjectInFlight {
        METRICS.objects_in_flight.inc();
        ObjectInFlight(())
    }
}

impl Drop for ObjectInFlight {
    fn drop(&mut self) {
        METRICS.objects_in_flight.dec();
    }
}

/// A document between normalization and its settlement.
#[must_use]
#[derive(Debug)]
pub struct DocumentInFlight(());

impl DocumentInFlight {
    pub fn enter() -> DocumentInFlight {
        METRICS.documents_in_flight.inc();
        DocumentInFlight(())
    }
}

impl Drop for DocumentInFlight {
    fn drop(&mut self) {
        METRICS.documents_in_flight.dec();
    }
}

/// A record that did not become a document.
pub struct RecordFailed<'a> {
    pub log_type: &'static str,
    pub bucket: &'a str,
    pub key: &'a str,
    /// The error's label.
    pub reason: &'static str,
    pub error: &'a dyn Display,
}

impl Emit for RecordFailed<'_> {
    fn emit(self) {
        METRICS
            .records
            .with_label_values(&[self.log_type, self.reason])
            .inc();
        if RECORD_WARNINGS.allow("record not indexed") {
            warn!(bucket = self.bucket, key = self.key, log_type = self.log_type, error = %self.error, "record not indexed");
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    Indexed,
    /// The `_id` existed already: a redelivery.
    Duplicate,
    /// OpenSearch will never take it: dead-lettered.
    Rejected,
    /// Its retries ran out: its message returns to the queue.
    RetriesExhausted,
    /// The sink stopped before it was sent (shutdown).
    NotSent,
}

impl Settled {
    pub fn label(self) -> &'static str {
        match self {
            Settled::Indexed => "indexed",
            Settled::Duplicate => "duplicate",
            Settled::Rejected => "rejected",
            Settled::RetriesExhausted => "retries_exhausted",
            Settled::NotSent => "not_sent",
        }
    }
}

/// How one document left the sink.
pub struct DocumentSettled<'a> {
    pub log_type: &'static str,
    pub outcome: Settled,
    pub index: &'a str,
    pub id: &'a str,
    pub bucket: &'a str,
    pub key: &'a str,
    pub ordinal: u64,
    pub reason: &'a str,
}

impl Emit for DocumentSettled<'_> {
    fn emit(self) {
        METRICS
            .records
            .with_label_values(&[self.log_type, self.outcome.label()])
            .inc();
        if matches!(self.outcome, Settled::Indexed | Settled::Duplicate) {
            return;
        }
        if DOCUMENT_WARNINGS.allow("document not indexed") {
            warn!(
                index = self.index,
                id = self.id,
                bucket = self.bucket,
                key = self.key,
                ordinal = self.ordinal,
                outcome = self.outcome.label(),
                reason = self.reason,
                "document not indexed"
            );
        }
    }
}

/// One `_bulk` request's answer, before its items are judged.
pub struct BulkAnswered {
    /// `ok`, `throttled`, `client_error`, `server_error` or `transport_error`.
    pub outcome: &'static str,
    pub elapsed: Duration,
}

impl Emit for BulkAnswered {
    fn emit(self) {
        METRICS
            .bulk_requests
            .with_label_values(&[self.outcome])
            .inc();
        METRICS
            .bulk_duration
            .with_label_values(&[self.outcome])
            .observe(self.elapsed.as_secs_f64());
    }
}

pub struct BulkItemAnswered {
    pub status: u16,
}

impl Emit for BulkItemAnswered {
    fn emit(self) {
        METRICS
            .bulk_items
            .with_label_values(&[status_class(self.status)])
            .inc();
    }
}

pub struct BulkRetried<'a> {
    /// Whole request, or some of its items.
    pub whole_request: bool,
    pub documents: usize,
    pub delay: Duration,
    pub reason: &'a str,
}

impl Emit for BulkRetried<'_> {
    fn emit(self) {
        let label = if self.whole_request {
            "request"
        } else {
            "item"
        };
        let n = if self.whole_request {
            1
        } else {
            self.documents as u64
        };
        METRICS.bulk_retries.with_label_values(&[label]).inc_by(n);
        debug!(documents = self.documents, delay = ?self.delay, reason = self.reason, "retrying bulk");
    }
}

/// A batch of dead letters reached the store, or never will.
pub struct DeadLettersStored<'a> {
    pub log_types: &'a [&'static str],
    pub store: &'a str,
    pub name: &'a str,
    pub error: Option<&'a dyn Display>,
}

impl Emit for DeadLettersStored<'_> {
    fn emit(self) {
        let outcome = if self.error.is_some() {
            "failed"
        } else {
            "written"
        };
        for log_type in self.log_types {
            METRICS
                .dead_letters
                .with_label_values(&[log_type, outcome])
                .inc();
        }
        match self.error {
            None => info!(
                count = self.log_types.len(),
                store = self.store,
                name = self.name,
                "dead letters written"
            ),
            Some(e) => error!(
                count = self.log_types.len(),
                store = self.store,
                error = %e,
                "dead letters could not be written; their messages stay on the queue"
            ),
        }
    }
}

/// The size of `pipeline.max_bytes_in_flight`, set when a run starts.
pub struct BytesBudget {
    pub bytes: usize,
}

impl Emit for BytesBudget {
    fn emit(self) {
        METRICS
            .bytes_in_flight_limit
            .set(i64::try_from(self.bytes).unwrap_or(i64::MAX));
    }
}

/// Bytes taken from, or given back to, `pipeline.max_bytes_in_flight`.
pub struct BytesInFlight {
    pub delta: i64,
}

impl Emit for BytesInFlight {
    fn emit(self) {
        METRICS.bytes_in_flight.add(self.delta);
    }
}

/// OpenSearch stopped answering (receiving pauses), or answers again.
pub struct OpenSearchAvailability {
    pub available: bool,
}

impl Emit for OpenSearchAvailability {
    fn emit(self) {
        METRICS.opensearch_available.set(i64::from(self.available));
        if self.available {
            info!("OpenSearch answers again; receiving resumes");
        } else {
            error!("OpenSearch does not answer; receiving paused until it does");
        }
    }
}
