//! Reading one object: the synchronous middle of the pipeline, shared by the
//! service, the offline `normalize` command and the benchmarks.
//!
//! ```text
//! bytes ─▶ detect compression (or Parquet) ─▶ decompress (bounded) ─▶ frame
//!       ─▶ normalize ─▶ enrich ─▶ index name, _id, bulk pair ─▶ on_record
//! ```
//!
//! [`read_object`] runs on a blocking thread: it is CPU work over a stream that
//! never lives in memory as a whole. It hands every document and every record
//! error, in order, to its caller's `on_record`, and returns an
//! [`ObjectSummary`]. An error that ends the object (a broken stream, a
//! decompression bomb, a structure that cannot be framed) is reported once,
//! the same way whichever stage found it: as the last record error and as
//! [`ObjectSummary::fatal`]. This module never sends, waits or acknowledges:
//! what a record becomes is the caller's business.

use std::io::{self, BufReader, Read};
use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};

use crate::decode::compression::{Compression, LimitedRead, read_head};
use crate::decode::parquet::{self, ParquetLines};
use crate::decode::{FrameError, Framer};
use crate::document::{
    IndexNaming, ObjectIdentity, document_id, encode_bulk, encode_current_state,
};
use crate::enrich::{Additions, Enrichers, Scope};
use crate::log_types::{DocId, LogType, NormalizeError};

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
    /// Event times this long before the object was written, or
    /// `max_event_future` after, do not pick their own index.
    pub max_event_age: std::time::Duration,
    pub max_event_future: std::time::Duration,
}

impl Default for Limits {
    /// The limits of a default `[pipeline]` section.
    fn default() -> Self {
        Limits::from_config(&crate::config::PipelineConfig::default())
    }
}

impl Limits {
    pub fn from_config(config: &crate::config::PipelineConfig) -> Self {
        Limits {
            max_frame_bytes: config.max_record_bytes,
            max_decompressed_bytes: config.max_object_bytes,
            max_parquet_bytes: config.max_parquet_bytes,
            max_ratio: config.max_decompression_ratio,
            max_event_age: config.max_event_age,
            max_event_future: config.max_event_future,
        }
    }
}

/// Past this many decompressed bytes the ratio limit applies: small objects
/// of repetitive text compress far better than large ones.
const RATIO_GRACE_BYTES: u64 = 16 << 20;

/// What S3 told us about an object, for compression detection and index
/// choice.
#[derive(Debug, Clone, Default)]
pub struct ObjectMeta {
    pub content_encoding: Option<String>,
    pub content_type: Option<String>,
    /// When the object was written: the index of an event whose time is far
    /// from it (see [`Limits::max_event_age`]). The same on every delivery.
    pub written_at: Option<DateTime<Utc>>,
}

/// The time whose index a document goes to: its own, unless it is out of
/// the window around the object's time, then the object's time (`true`).
fn index_time(event: DateTime<Utc>, meta: &ObjectMeta, limits: &Limits) -> (DateTime<Utc>, bool) {
    let Some(written) = meta.written_at else {
        return (event, false);
    };
    let too_old = written
        .signed_duration_since(event)
        .to_std()
        .is_ok_and(|d| d > limits.max_event_age);
    let too_new = event
        .signed_duration_since(written)
        .to_std()
        .is_ok_and(|d| d > limits.max_event_future);
    if too_old || too_new {
        (written, true)
    } else {
        (event, false)
    }
}

/// Marks a document whose index was chosen by its object's time.
fn flag_out_of_range(document: &mut serde_json::Map<String, serde_json::Value>) {
    let siem = document
        .entry("siem")
        .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
    if let serde_json::Value::Object(siem) = siem {
        siem.insert(
            "timestamp_out_of_range".into(),
            serde_json::Value::Bool(true),
        );
    }
}

/// One record made ready for the sink.
#[derive(Debug)]
pub struct EncodedRecord {
    pub index: String,
    pub id: String,
    /// The `create` action line and the source line, each ending in `\n`,
    /// and for a finding the pair that sets its current state.
    pub bulk: Vec<u8>,
    /// Actions in `bulk`: 1, or 2 for a finding.
    pub actions: usize,
    pub ordinal: u64,
    /// The record as it was read (shared by the documents of one frame): what
    /// a dead letter keeps if OpenSearch refuses the document.
    pub frame: Arc<[u8]>,
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
    /// Bounded label for metrics and dead letters.
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

impl ObjectSummary {
    /// The `outcome` label of `siem_s3_objects_total`.
    pub fn outcome(&self) -> &'static str {
        if self.fatal.is_some() {
            "truncated"
        } else if self.record_errors > 0 {
            "partial"
        } else {
            "ok"
        }
    }
}

/// Where a read object came from and what it becomes.
#[derive(Clone, Copy)]
struct ReadContext<'a> {
    meta: &'a ObjectMeta,
    identity: &'a ObjectIdentity,
    log_type: &'a dyn LogType,
    naming: &'a IndexNaming,
    limits: Limits,
    enrichers: &'a Enrichers,
}

/// Counts bytes that pass through a reader.
struct Counted<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Decompresses, frames, normalizes and encodes one object, without
/// enrichment. `on_record` receives every document and every record error
/// in order, and may stop the reading by returning `Break`.
pub fn read_object(
    reader: impl Read + Send,
    meta: &ObjectMeta,
    identity: &ObjectIdentity,
    log_type: &dyn LogType,
    naming: &IndexNaming,
    limits: Limits,
    on_record: &mut dyn FnMut(Result<EncodedRecord, RecordError>) -> ControlFlow<()>,
) -> ObjectSummary {
    read_object_enriched(
        reader,
        meta,
        identity,
        log_type,
        naming,
        limits,
        &Enrichers::none(),
        on_record,
    )
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
    let context = ReadContext {
        meta,
        identity,
        log_type,
        naming,
        limits,
        enrichers,
    };
    let compressed = Arc::new(AtomicU64::new(0));
    let counted = Counted {
        inner: reader,
        count: compressed.clone(),
    };
    let mut summary = ObjectSummary::default();
    if let Err(fatal) = read_frames(counted, &context, &compressed, &mut summary, on_record) {
        // The one place an object ends early: counted, summarized, reported.
        summary.fatal = Some(fatal.to_string());
        summary.record_errors += 1;
        let _ = on_record(Err(RecordError::Frame(fatal)));
    }
    summary.compressed_bytes = compressed.load(Ordering::Relaxed);
    summary
}

/// What is done to every frame: normalize, stamp, enrich, pick the index and
/// the id, encode. Reading does it to each frame of an object; a redrive to
/// the record of a dead letter, with the ordinal the record had.
pub struct FrameEncoder<'a> {
    log_type: &'a dyn LogType,
    identity: &'a ObjectIdentity,
    meta: &'a ObjectMeta,
    naming: &'a IndexNaming,
    limits: Limits,
    enrichers: &'a Enrichers,
    normalizer: Box<dyn crate::log_types::Normalizer>,
    scope: Scope,
    added: Additions,
    out: Vec<crate::log_types::Normalized>,
    /// The current-findings index, named once.
    current_findings: String,
}

impl<'a> FrameEncoder<'a> {
    pub fn new(
        log_type: &'a dyn LogType,
        identity: &'a ObjectIdentity,
        meta: &'a ObjectMeta,
        naming: &'a IndexNaming,
        limits: Limits,
        enrichers: &'a Enrichers,
    ) -> Self {
        FrameEncoder {
            log_type,
            identity,
            meta,
            naming,
            limits,
            enrichers,
            normalizer: log_type.normalizer(),
            scope: Scope::of(log_type, enrichers),
            added: Additions::default(),
            out: Vec::new(),
            current_findings: naming.current_findings(),
        }
    }

    /// Hands the frame's documents, or its error, to `on_record`.
    pub fn encode(
        &mut self,
        ordinal: u64,
        frame: &[u8],
        summary: &mut ObjectSummary,
        on_record: &mut dyn FnMut(Result<EncodedRecord, RecordError>) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        let log_type = self.log_type;
        self.out.clear();
        if let Err(source) = self.normalizer.normalize(frame, &mut self.out) {
            summary.record_errors += 1;
            return on_record(Err(RecordError::Normalize {
                ordinal,
                source,
                frame: frame.to_vec(),
            }));
        }
        let shared_frame: Arc<[u8]> = Arc::from(frame);
        for (sub, mut normalized) in self.out.drain(..).enumerate() {
            crate::log_types::stamp(log_type, &mut normalized.document);
            self.added.clear();
            self.enrichers
                .enrich_in(&self.scope, &mut normalized.document, &mut self.added);
            let (at, out_of_range) = index_time(normalized.timestamp, self.meta, &self.limits);
            if out_of_range {
                flag_out_of_range(&mut normalized.document);
            }
            if let DocId::Finding { key, .. } = &normalized.id {
                crate::ecs::set_in(&mut normalized.document, "siem.finding.key", key.as_str());
            }
            let index = self.naming.index(log_type.name(), at);
            let id = document_id(
                log_type.name(),
                &normalized.id,
                self.identity,
                ordinal,
                sub as u32,
            );
            let mut bulk = encode_bulk(&index, &id, &normalized, &self.added);
            let mut actions = 1;
            if let DocId::Finding { key, version, .. } = &normalized.id {
                encode_current_state(&mut bulk, &self.current_findings, key, *version);
                actions = 2;
            }
            summary.documents += 1;
            let step = on_record(Ok(EncodedRecord {
                index,
                id,
                bulk,
                actions,
                ordinal,
                frame: shared_frame.clone(),
            }));
            if step.is_break() {
                return step;
            }
        }
        ControlFlow::Continue(())
    }
}

/// Reads until the end, a stop from `on_record`, or an error that ends the
/// object (returned).
fn read_frames(
    reader: impl Read + Send,
    context: &ReadContext<'_>,
    compressed: &AtomicU64,
    summary: &mut ObjectSummary,
    on_record: &mut dyn FnMut(Result<EncodedRecord, RecordError>) -> ControlFlow<()>,
) -> Result<(), FrameError> {
    let ReadContext {
        meta,
        identity,
        log_type,
        naming,
        limits,
        enrichers,
    } = *context;
    let stream_error = |source: io::Error| FrameError::Io { frames: 0, source };
    let (head, reader) = read_head(reader).map_err(stream_error)?;
    let compression = Compression::detect(
        &head,
        meta.content_encoding.as_deref(),
        meta.content_type.as_deref(),
        &identity.key,
    );
    let raw = BufReader::with_capacity(128 << 10, reader);
    let decoded: Box<dyn Read + Send + '_> = if parquet::is_parquet(&head) {
        if !log_type.reads_parquet() {
            return Err(stream_error(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "a Parquet object, which log type {} does not read",
                    log_type.name()
                ),
            )));
        }
        Box::new(ParquetLines::spool(raw, limits.max_parquet_bytes).map_err(stream_error)?)
    } else {
        compression.decoder(raw).map_err(stream_error)?
    };
    let decoded = LimitedRead::new(decoded, limits.max_decompressed_bytes);
    let mut framer = Framer::new(
        BufReader::with_capacity(256 << 10, decoded),
        log_type.framing(),
        limits.max_frame_bytes,
    )
    // A record over the limit is kept on disk for its dead letter; it
    // cannot be longer than its object.
    .keeping_over_long(limits.max_decompressed_bytes);
    let mut encoder = FrameEncoder::new(log_type, identity, meta, naming, limits, enrichers);
    let result = loop {
        let step = match framer.next_frame() {
            Ok(None) => break Ok(()),
            Ok(Some((ordinal, frame))) => {
                summary.frames += 1;
                encoder.encode(ordinal, frame, summary, on_record)
            }
            Err(e) if e.is_fatal() => break Err(e),
            Err(e) => {
                summary.record_errors += 1;
                on_record(Err(RecordError::Frame(e)))
            }
        };
        if step.is_break() {
            summary.stopped = true;
            break Ok(());
        }
        let out_bytes = framer.bytes_read();
        if out_bytes > RATIO_GRACE_BYTES
            && out_bytes / compressed.load(Ordering::Relaxed).max(1) > limits.max_ratio
        {
            break Err(FrameError::Io {
                frames: summary.frames,
                source: io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "decompression ratio exceeds the limit of {}",
                        limits.max_ratio
                    ),
                ),
            });
        }
    };
    summary.decompressed_bytes = framer.bytes_read();
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 0, 0, 0)
            .single()
            .expect("a time")
    }

    fn written(at: DateTime<Utc>) -> ObjectMeta {
        ObjectMeta {
            written_at: Some(at),
            ..ObjectMeta::default()
        }
    }

    /// A reader whose every read returns one byte, as a slow stream may.
    struct ByteByByte<'a>(&'a [u8]);

    impl Read for ByteByByte<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.0.len().min(out.len()).min(1);
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn documents_of(reader: impl Read + Send, key: &str) -> (u64, u64) {
        let identity = ObjectIdentity {
            bucket: "b".into(),
            key: key.into(),
            version: "v".into(),
            written_at: None,
        };
        let naming = IndexNaming {
            prefix: "siem".into(),
            rotation: crate::config::IndexRotation::Monthly,
        };
        let log_type = crate::log_types::by_name("cloudtrail").expect("cloudtrail");
        let summary = read_object(
            reader,
            &ObjectMeta::default(),
            &identity,
            log_type,
            &naming,
            Limits::default(),
            &mut |_| ControlFlow::Continue(()),
        );
        (summary.documents, summary.record_errors)
    }

    #[test]
    fn a_compressed_object_whose_first_read_holds_one_byte_is_still_decompressed() {
        // Its magic number was looked for in the first read alone: a gzip
        // object was then read as text.
        let record = br#"{"Records":[{"eventVersion":"1.08","eventTime":"2026-11-02T10:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","eventID":"e1"}]}"#;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, record).expect("gzip in memory");
        let gz = gz.finish().expect("gzip in memory");
        assert_eq!(documents_of(&gz[..], "a.json"), (1, 0), "read whole");
        assert_eq!(
            documents_of(ByteByByte(&gz), "a.json"),
            (1, 0),
            "byte by byte"
        );
        assert_eq!(
            documents_of(ByteByByte(record), "a.json.gz"),
            (1, 0),
            "a plain object named .gz is not gunzipped"
        );
    }

    #[test]
    fn an_event_time_near_its_object_picks_its_own_index() {
        let limits = Limits::default();
        assert_eq!(
            index_time(at(2026, 11, 1), &written(at(2026, 11, 2)), &limits),
            (at(2026, 11, 1), false)
        );
        assert_eq!(
            index_time(at(2019, 3, 1), &written(at(2026, 11, 2)), &limits),
            (at(2019, 3, 1), false),
            "a backfill"
        );
    }

    #[test]
    fn a_garbage_event_time_goes_to_the_index_of_its_objects_time() {
        let limits = Limits::default();
        // A flow log's `start` of 164000066: 1975.
        assert_eq!(
            index_time(at(1975, 3, 14), &written(at(2026, 11, 2)), &limits),
            (at(2026, 11, 2), true)
        );
        assert_eq!(
            index_time(at(2031, 1, 1), &written(at(2026, 11, 2)), &limits),
            (at(2026, 11, 2), true)
        );
    }

    #[test]
    fn without_an_object_time_the_event_time_is_kept() {
        assert_eq!(
            index_time(at(1975, 3, 14), &ObjectMeta::default(), &Limits::default()),
            (at(1975, 3, 14), false)
        );
    }
}
