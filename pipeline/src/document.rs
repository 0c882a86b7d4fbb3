//! A normalized record made ready for `_bulk`: its index, its deterministic
//! `_id`, and its two NDJSON lines, encoded once on the blocking thread that
//! normalized it so that the async sink only moves bytes.

use chrono::{DateTime, Datelike, Utc};

use crate::ack::Pending;
use crate::budget::Share;
use crate::config::IndexRotation;
use crate::enrich::Additions;
use crate::log_types::{DocId, Normalized};

/// Where a record came from: named in dead letters and logs. The object's
/// identity is shared by all its records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordOrigin {
    pub object: std::sync::Arc<ObjectIdentity>,
    /// The frame's 0-based position in the object.
    pub ordinal: u64,
}

/// What identifies an object's content across deliveries: its bucket, key and
/// version id (or ETag when the bucket is not versioned).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectIdentity {
    pub bucket: String,
    pub key: String,
    pub version: String,
    /// When the object was written (S3's `Last-Modified`): not part of any id,
    /// but the reference of the event-time window, kept in dead letters so
    /// that a redrive picks the index the first read picked.
    pub written_at: Option<chrono::DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct IndexNaming {
    pub prefix: String,
    pub rotation: IndexRotation,
}

impl IndexNaming {
    /// The index of every finding's current state, one document a finding.
    /// Named with `_` so that `<prefix>-*` (every log type's history, whose
    /// counts the dashboards and retention rely on) does not take it in.
    pub fn current_findings(&self) -> String {
        format!("{}_findings_current", self.prefix)
    }

    /// The `_id` of a finding's document in [`IndexNaming::current_findings`].
    pub fn current_finding_id(key: &str) -> String {
        blake3::hash(key.as_bytes()).to_hex()[..32].to_owned()
    }

    /// `<prefix>-<log type>-<YYYY.MM>` or `<prefix>-<log type>-<YYYY.MM.DD>`.
    pub fn index(&self, log_type: &str, at: DateTime<Utc>) -> String {
        match self.rotation {
            IndexRotation::Monthly => format!(
                "{}-{}-{:04}.{:02}",
                self.prefix,
                log_type,
                at.year(),
                at.month()
            ),
            IndexRotation::Daily => format!(
                "{}-{}-{:04}.{:02}.{:02}",
                self.prefix,
                log_type,
                at.year(),
                at.month(),
                at.day()
            ),
        }
    }
}

/// A deterministic `_id`: 128 bits of BLAKE3 over the log type and either the
/// record's natural key or its position, as 32 hex characters. Fields are
/// separated by a byte that cannot occur in keys, so no two inputs collide by
/// concatenation.
pub fn document_id(
    log_type: &str,
    id: &DocId,
    object: &ObjectIdentity,
    ordinal: u64,
    sub: u32,
) -> String {
    let mut h = blake3::Hasher::new();
    h.update(log_type.as_bytes());
    h.update(&[0]);
    match id {
        DocId::Natural(natural) | DocId::Finding { state: natural, .. } => {
            h.update(b"n\0");
            h.update(natural.as_bytes());
        }
        DocId::Positional => {
            h.update(b"p\0");
            h.update(object.bucket.as_bytes());
            h.update(&[0]);
            h.update(object.key.as_bytes());
            h.update(&[0]);
            h.update(object.version.as_bytes());
            h.update(&[0]);
            h.update(&ordinal.to_le_bytes());
            h.update(&sub.to_le_bytes());
        }
    }
    h.finalize().to_hex()[..32].to_owned()
}

/// A document on its way to OpenSearch.
#[derive(Debug)]
pub struct Document {
    pub index: String,
    pub id: String,
    pub log_type: &'static str,
    /// The action line and the source line, each ending in `\n`; a finding
    /// has a second pair for the current-findings index.
    pub bulk: Vec<u8>,
    /// How many actions `bulk` holds (1, or 2 for a finding).
    pub actions: usize,
    /// Whether an earlier attempt created the history document (a 409 on
    /// retry is then this run's own document, not a redelivery).
    pub created: bool,
    /// The record as it was read, for a dead letter.
    pub record: std::sync::Arc<[u8]>,
    pub origin: RecordOrigin,
    /// Done once the document is indexed or dead-lettered.
    pub ack: Pending,
    /// This document's share of `pipeline.max_bytes_in_flight`, returned on drop.
    pub budget: Option<Share>,
    /// Counts it in `siem_documents_in_flight` until it is dropped: settled,
    /// given up, or lost with a task that panicked.
    pub counted: crate::telemetry::events::DocumentInFlight,
}

/// Appends to `bulk` (a `create` pair) the finding's current state: an
/// `index` of the same source into the current-findings index under the
/// finding's key, with external versioning, so that an older state arriving
/// late (`version` lower) never replaces a newer one and the same state twice
/// changes nothing.
pub fn encode_current_state(bulk: &mut Vec<u8>, index: &str, key: &str, version: u64) {
    let start = bulk.iter().position(|b| *b == b'\n').map_or(0, |i| i + 1);
    let source = start..start + source_line(bulk).len();
    bulk.extend_from_slice(b"{\"index\":{\"_index\":");
    let _ = serde_json::to_writer(&mut *bulk, index);
    bulk.extend_from_slice(b",\"_id\":");
    let _ = serde_json::to_writer(&mut *bulk, &IndexNaming::current_finding_id(key));
    bulk.extend_from_slice(
        format!(",\"version\":{version},\"version_type\":\"external_gte\"}}}}\n").as_bytes(),
    );
    bulk.extend_from_within(source);
    bulk.push(b'\n');
}

/// The source line of an encoded bulk pair, without its newline.
pub fn source_line(bulk: &[u8]) -> &[u8] {
    let start = bulk.iter().position(|b| *b == b'\n').map_or(0, |i| i + 1);
    let rest = &bulk[start..];
    let end = rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len());
    &rest[..end]
}

/// Encodes the `create` action and source lines, the source with what
/// enrichment `added` to it. `create` (not `index`) makes a redelivered
/// record a no-op: OpenSearch answers 409 for an existing `_id`, which the
/// sink counts as already indexed.
pub fn encode_bulk(index: &str, id: &str, normalized: &Normalized, added: &Additions) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"{\"create\":{\"_index\":");
    // Index names and ids are plain ASCII built above; serde escapes anyway.
    let _ = serde_json::to_writer(&mut out, index);
    out.extend_from_slice(b",\"_id\":");
    let _ = serde_json::to_writer(&mut out, id);
    out.extend_from_slice(b"}}\n");
    added.write_with(&mut out, &normalized.document);
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn object(version: &str) -> ObjectIdentity {
        ObjectIdentity {
            bucket: "b".into(),
            key: "k".into(),
            version: version.into(),
            written_at: None,
        }
    }

    #[test]
    fn index_name_follows_the_event_time_and_rotation() {
        let at = Utc
            .with_ymd_and_hms(2026, 1, 5, 23, 59, 0)
            .single()
            .expect("time");
        let monthly = IndexNaming {
            prefix: "siem".into(),
            rotation: IndexRotation::Monthly,
        };
        assert_eq!(monthly.index("guardduty", at), "siem-guardduty-2026.01");
        let daily = IndexNaming {
            rotation: IndexRotation::Daily,
            ..monthly
        };
        assert_eq!(daily.index("guardduty", at), "siem-guardduty-2026.01.05");
    }

    #[test]
    fn positional_ids_are_stable_and_distinct_per_position_and_version() {
        let a = document_id("t", &DocId::Positional, &object("v1"), 7, 0);
        assert_eq!(a, document_id("t", &DocId::Positional, &object("v1"), 7, 0));
        assert_eq!(a.len(), 32);
        assert_ne!(a, document_id("t", &DocId::Positional, &object("v1"), 8, 0));
        assert_ne!(a, document_id("t", &DocId::Positional, &object("v1"), 7, 1));
        assert_ne!(a, document_id("t", &DocId::Positional, &object("v2"), 7, 0));
        assert_ne!(a, document_id("u", &DocId::Positional, &object("v1"), 7, 0));
    }

    #[test]
    fn natural_ids_ignore_where_the_record_was_found() {
        let id = DocId::Natural("f1/2026".into());
        assert_eq!(
            document_id("t", &id, &object("v1"), 1, 0),
            document_id("t", &id, &object("v2"), 9, 3)
        );
    }

    #[test]
    fn a_findings_current_state_is_a_second_versioned_pair_of_the_same_source() {
        let n = Normalized {
            document: serde_json::json!({"a": 1})
                .as_object()
                .cloned()
                .expect("object"),
            timestamp: Utc::now(),
            id: DocId::Positional,
        };
        let mut bulk = encode_bulk("h", "x", &n, &Additions::default());
        encode_current_state(
            &mut bulk,
            "siem_findings_current",
            "arn:f1",
            1_764_000_000_000,
        );
        let text = String::from_utf8(bulk).expect("utf8");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[1], lines[3], "the same source");
        let action: serde_json::Value = serde_json::from_str(lines[2]).expect("JSON");
        assert_eq!(action["index"]["_index"], "siem_findings_current");
        assert_eq!(
            action["index"]["_id"],
            IndexNaming::current_finding_id("arn:f1")
        );
        assert_eq!(action["index"]["version"], 1_764_000_000_000u64);
        assert_eq!(action["index"]["version_type"], "external_gte");
    }

    #[test]
    fn the_source_line_is_the_second_line_without_its_newline() {
        assert_eq!(source_line(b"{\"create\":{}}\n{\"a\":1}\n"), b"{\"a\":1}");
        assert_eq!(source_line(b"no newline"), b"no newline");
    }

    #[test]
    fn bulk_encoding_is_a_create_action_and_a_source_line() {
        let n = Normalized {
            document: serde_json::json!({"a": 1})
                .as_object()
                .cloned()
                .expect("object"),
            timestamp: Utc::now(),
            id: DocId::Positional,
        };
        assert_eq!(
            String::from_utf8(encode_bulk("i", "x", &n, &Additions::default())).expect("utf8"),
            "{\"create\":{\"_index\":\"i\",\"_id\":\"x\"}}\n{\"a\":1}\n"
        );
    }
}
