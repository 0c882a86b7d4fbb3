//! `siem-pipeline redrive`: the records of a dead-letter store, read again
//! and indexed, once what kept them out is fixed (a template, a parser).
//!
//! Each letter's record is normalized anew, with the object identity and the
//! ordinal it had, so it gets the `_id` it would have had: a redrive twice, or
//! a redrive of a record that was indexed meanwhile, adds nothing (409). A
//! record over `pipeline.max_record_bytes` is read from the `record_object`
//! its letter names. A letter without its record (one the disk could not
//! take while it was read), or whose record means nothing alone (a flow log
//! line, without its object's header), cannot be redriven: its object must be
//! read again, by sending its notification again. Nothing is deleted from the
//! store.

use std::sync::Arc;

use base64::Engine;
use base64::prelude::BASE64_STANDARD;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::ack::InFlight;
use crate::config::Config;
use crate::document::{Document, IndexNaming, ObjectIdentity, RecordOrigin};
use crate::enrich::Enrichers;
use crate::log_types;
use crate::read::{EncodedRecord, FrameEncoder, Limits, ObjectMeta, ObjectSummary};
use crate::sink::BulkApi;
use crate::sink::bulk::{BatchSummary, send_batch};
use crate::sink::circuit::Circuit;
use crate::sink::dead_letter::{DeadLetterError, DeadLetterSender, DeadLetterStore};
use crate::source::Message;

/// What a redrive did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RedriveSummary {
    pub files: u64,
    pub letters: u64,
    pub indexed: u64,
    /// Already in OpenSearch (a redrive run before, or indexed meanwhile).
    pub already_indexed: u64,
    /// Refused again by OpenSearch, or retries ran out.
    pub failed: u64,
    /// The record does not normalize, still.
    pub invalid: u64,
    /// No record to send again (not kept, unknown log type, unreadable line).
    pub not_redrivable: u64,
}

/// A dead-letter line, as [`crate::sink::dead_letter::DeadLetter::to_line`] writes it.
#[derive(Debug, Deserialize)]
struct Letter {
    log_type: String,
    bucket: String,
    key: String,
    #[serde(default)]
    version: String,
    ordinal: u64,
    #[serde(default)]
    written_at: Option<String>,
    /// As read: a string is a text record, anything else JSON as it was.
    #[serde(default)]
    record: Option<Box<RawValue>>,
    #[serde(default)]
    record_base64: Option<String>,
    /// A record too long for the letter, stored beside it.
    #[serde(default)]
    record_object: Option<String>,
}

impl Letter {
    /// The record's bytes, as they were read.
    fn record(&self) -> Option<Vec<u8>> {
        let json = self
            .record
            .as_deref()
            .map(RawValue::get)
            .filter(|raw| *raw != "null" && !raw.starts_with('"'));
        let text = self
            .record
            .as_deref()
            .and_then(|raw| serde_json::from_str::<String>(raw.get()).ok())
            .filter(|text| !text.is_empty());
        match (json, text, &self.record_base64) {
            (Some(json), _, _) => Some(json.as_bytes().to_vec()),
            (None, Some(text), _) => Some(text.into_bytes()),
            (None, None, Some(b64)) => BASE64_STANDARD.decode(b64).ok(),
            (None, None, None) => None,
        }
    }
}

/// The record a dead-letter line carries, as a redrive reads it back: `None`
/// for a line that is not a letter, or a letter whose record is not in the
/// line (kept in `record_object`, or not kept at all).
pub fn record_of_letter(line: &[u8]) -> Option<Vec<u8>> {
    serde_json::from_slice::<Letter>(line).ok()?.record()
}

/// Reads every letter of `store` and indexes its record again.
pub async fn redrive(
    store: &dyn DeadLetterStore,
    client: Arc<dyn BulkApi>,
    config: &Config,
    enrichers: &Enrichers,
) -> Result<RedriveSummary, DeadLetterError> {
    let naming = IndexNaming {
        prefix: config.opensearch.index_prefix.clone(),
        rotation: config.opensearch.index_rotation,
    };
    let limits = Limits::from_config(&config.pipeline);
    let circuit = Circuit::default();
    let mut summary = RedriveSummary::default();
    for name in store.list().await? {
        let body = store.read(name.clone()).await?;
        summary.files += 1;
        let (in_flight, _completions) = InFlight::new();
        let file = in_flight.receive(&Message {
            message_id: name.clone(),
            receipt_handle: name.clone(),
            body: String::new(),
            sent_at: None,
            receive_count: 1,
        });
        let mut documents = Vec::new();
        for line in body.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            summary.letters += 1;
            let Ok(letter) = serde_json::from_slice::<Letter>(line) else {
                tracing::warn!(file = %name, "a line that is not a dead letter; skipped");
                summary.not_redrivable += 1;
                continue;
            };
            let record = match (letter.record(), &letter.record_object) {
                (Some(record), _) => Some(record),
                (None, Some(name)) => match store.read(name.clone()).await {
                    Ok(record) => Some(record),
                    Err(error) => {
                        tracing::warn!(file = %name, %error, "the record of a letter cannot be read");
                        None
                    }
                },
                (None, None) => None,
            };
            let (Ok(log_type), Some(record)) = (log_types::by_name(&letter.log_type), record)
            else {
                summary.not_redrivable += 1;
                continue;
            };
            if !log_type.frames_stand_alone() {
                // A flow log line means nothing without its object's header.
                summary.not_redrivable += 1;
                continue;
            }
            let identity = Arc::new(ObjectIdentity {
                bucket: letter.bucket,
                key: letter.key,
                version: letter.version,
                written_at: letter
                    .written_at
                    .as_deref()
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                    .map(|t| t.with_timezone(&chrono::Utc)),
            });
            let meta = ObjectMeta {
                written_at: identity.written_at,
                ..ObjectMeta::default()
            };
            let mut encoder =
                FrameEncoder::new(log_type, &identity, &meta, &naming, limits, enrichers);
            let mut read = ObjectSummary::default();
            let mut encoded: Vec<EncodedRecord> = Vec::new();
            let _ = encoder.encode(letter.ordinal, &record, &mut read, &mut |r| {
                if let Ok(r) = r {
                    encoded.push(r);
                }
                std::ops::ControlFlow::Continue(())
            });
            summary.invalid += read.record_errors;
            documents.extend(encoded.into_iter().map(|r| Document {
                index: r.index,
                id: r.id,
                log_type: log_type.name(),
                bulk: r.bulk,
                actions: r.actions,
                created: false,
                record: r.frame,
                origin: RecordOrigin {
                    object: identity.clone(),
                    ordinal: r.ordinal,
                },
                ack: file.split(),
                budget: None,
                counted: crate::telemetry::events::DocumentInFlight::enter(),
            }));
        }
        file.done();
        let mut sent = BatchSummary::default();
        while !documents.is_empty() {
            let rest = documents.split_off(documents.len().min(config.bulk.max_documents));
            let batch = std::mem::replace(&mut documents, rest);
            let none = DeadLetterSender::none();
            sent.add(send_batch(client.as_ref(), batch, &config.bulk, &none, &circuit).await);
        }
        summary.indexed += sent.indexed;
        summary.already_indexed += sent.already_indexed;
        summary.failed += sent.rejected + sent.gave_up;
    }
    Ok(summary)
}
