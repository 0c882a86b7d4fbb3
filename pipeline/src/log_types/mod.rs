//! Log types: how a record of each source is framed, recognised and normalized
//! to ECS. One file per log type; [`REGISTRY`] lists them all, and routing
//! (by S3 key or by name) only consults the registry.
//!
//! Adding a log type: write its file implementing [`LogType`], add one line to
//! [`REGISTRY`], add its fixtures and golden output under `tests/fixtures/`, its
//! index template under `mappings/index_templates/` (its file includes it), and
//! its dashboard builder in `dashboards/generate.py`. Everything else that lists
//! log types (template installation, the generators in `mappings/` and
//! `dashboards/`, through `siem-pipeline log-types --json`) reads the registry,
//! and a test fails when a log type is missing from a generated artifact.

pub mod cloudfront;
pub mod cloudtrail;
pub mod elb;
pub mod eventbridge;
pub mod finding;
pub mod guardduty;
pub mod inspector;
pub mod linux_auth;
pub mod macie;
pub mod network_firewall;
pub mod route53_resolver;
pub mod s3access;
pub mod securityhub;
pub mod spaced;
pub mod vendor_tree;
pub mod vpcflow;
pub mod waf;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::decode::Framing;
use crate::ecs;

/// Every log type the pipeline knows, in routing order: the first whose
/// [`LogType::matches_key`] accepts a key wins.
pub static REGISTRY: &[&dyn LogType] = &[
    &guardduty::GuardDuty,
    &cloudtrail::CloudTrail,
    &vpcflow::VpcFlow,
    &route53_resolver::Route53Resolver,
    // `aws-waf-logs-` is the prefix AWS requires of a WAF Firehose stream:
    // loose (a substring), but no other log type's name.
    &waf::Waf,
    &linux_auth::LinuxAuth,
    &linux_auth::LinuxAuthFile,
    &elb::Elb,
    &s3access::S3Access,
    &network_firewall::NetworkFirewall,
    &cloudfront::CloudFront,
    // Last: Firehose prefixes are user-chosen, so these match loosely (a
    // substring of the key) and must not take keys AWS itself names.
    &securityhub::SecurityHub,
    &inspector::Inspector,
    &macie::Macie,
];

pub trait LogType: Send + Sync + 'static {
    /// Short lowercase name: the index name's middle part and the metric label.
    fn name(&self) -> &'static str;
    /// The vendor namespace of the original record (`aws.guardduty`).
    fn namespace(&self) -> &'static str;
    /// `event.module`: the ECS module of its documents.
    fn module(&self) -> &'static str {
        "aws"
    }
    /// `event.dataset`: by default its vendor namespace (`aws.guardduty`).
    fn dataset(&self) -> &'static str {
        self.namespace()
    }
    /// The body of its index template, `mappings/index_templates/<name>.json`,
    /// compiled in so that a container needs no files beside it.
    fn index_template(&self) -> &'static str;
    fn framing(&self) -> Framing;
    /// Whether an S3 key holds this log type.
    fn matches_key(&self, key: &str) -> bool;
    /// A normalizer for one object. It may keep state across the object's
    /// frames (a header line, for example).
    fn normalizer(&self) -> Box<dyn Normalizer>;
    /// The ECS fields this log type's documents can hold, as fields
    /// (`source.ip`) or whole objects (`event`, `aws`), or `None` when any
    /// can (findings describe whatever resources they concern). Enrichers
    /// do not look for any other field ([`crate::enrich::Scope`]): looking
    /// for an absent field costs as much as finding one. The golden and
    /// conformance tests hold every document to this list.
    fn ecs_fields(&self) -> Option<&'static [&'static str]> {
        None
    }
    /// Whether `key` is an object that AWS writes beside this log type's
    /// logs and that holds no records (CloudTrail's digest files). Such an
    /// object is not read: its notification is deleted and it is counted as
    /// `skipped`. Any other object that yields nothing is an error of that
    /// object, never a silent zero.
    fn holds_no_records(&self, _key: &str) -> bool {
        false
    }
    /// Whether one frame can be normalized without the frames before it. Not
    /// so for flow logs, whose header line names the fields of the lines
    /// after it: their dead letters cannot be redriven alone.
    fn frames_stand_alone(&self) -> bool {
        true
    }
    /// Whether an object of this log type may be Apache Parquet, read as
    /// text lines ([`crate::decode::parquet`]). Only flow logs are.
    fn reads_parquet(&self) -> bool {
        false
    }
}

pub trait Normalizer: Send {
    /// Normalizes one frame into zero or more documents appended to `out`.
    /// Zero is a skipped frame (a header, a control message), not an error.
    fn normalize(&mut self, frame: &[u8], out: &mut Vec<Normalized>) -> Result<(), NormalizeError>;
}

/// The normalizer of a log type whose every frame is one JSON record, made
/// into one document by `normalize_record`.
pub struct JsonRecords(pub fn(Value) -> Result<Normalized, NormalizeError>);

impl Normalizer for JsonRecords {
    fn normalize(&mut self, frame: &[u8], out: &mut Vec<Normalized>) -> Result<(), NormalizeError> {
        out.push((self.0)(parse_json(frame)?)?);
        Ok(())
    }
}

/// One ECS document ready to be given an index and an id.
#[derive(Debug, Clone, PartialEq)]
pub struct Normalized {
    pub document: Map<String, Value>,
    /// The event time: picks the index (`<prefix>-<type>-<date>`).
    pub timestamp: DateTime<Utc>,
    pub id: DocId,
}

/// What makes a document's `_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocId {
    /// A natural key from the record (a finding's id and update time): the same
    /// finding exported in two objects is one document.
    Natural(String),
    /// The record's position in its object (bucket, key, version or ETag,
    /// ordinal): the same object read twice gives the same ids.
    Positional,
    /// One state of a finding. `state` makes the id of its document in the
    /// finding's history (as [`DocId::Natural`]); `key` is the finding's
    /// identity in every source that reports it (GuardDuty's finding ARN is
    /// Security Hub's `Id` for it), under which the current-findings index
    /// keeps one document, replaced only by a state at least as recent
    /// (`version`: the state's time in epoch milliseconds).
    Finding {
        state: String,
        key: String,
        version: u64,
    },
}

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum NormalizeError {
    #[error("invalid JSON: {0}")]
    InvalidJson(String),
    #[error("not valid UTF-8 at byte {0}")]
    InvalidUtf8(usize),
    #[error("missing required field `{0}`")]
    MissingField(&'static str),
    #[error("field `{field}`: {message}")]
    InvalidField {
        field: &'static str,
        message: String,
    },
}

impl NormalizeError {
    /// Bounded label for metrics and dead letters.
    pub fn label(&self) -> &'static str {
        match self {
            NormalizeError::InvalidJson(_) => "invalid_json",
            NormalizeError::InvalidUtf8(_) => "invalid_utf8",
            NormalizeError::MissingField(_) => "missing_field",
            NormalizeError::InvalidField { .. } => "invalid_field",
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown log type {name:?}; known: {known}")]
pub struct UnknownLogType {
    pub name: String,
    pub known: String,
}

pub fn by_name(name: &str) -> Result<&'static dyn LogType, UnknownLogType> {
    REGISTRY
        .iter()
        .copied()
        .find(|t| t.name() == name)
        .ok_or_else(|| UnknownLogType {
            name: name.to_owned(),
            known: REGISTRY
                .iter()
                .map(|t| t.name())
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// Sets the fields every document carries, whatever its log type:
/// `siem.log_type`, `ecs.version`, `event.module` and `event.dataset`. The
/// pipeline calls it once for every normalized document; normalizers do not
/// set these fields.
pub fn stamp(log_type: &dyn LogType, document: &mut Map<String, Value>) {
    ecs::set_in(document, "siem.log_type", log_type.name());
    ecs::set_in(document, "ecs.version", ecs::ECS_VERSION);
    ecs::set_in(document, "event.module", log_type.module());
    ecs::set_in(document, "event.dataset", log_type.dataset());
}

/// What the generators of `mappings/` and `dashboards/` need to know of every
/// registered log type, in registry order (`siem-pipeline log-types --json`).
pub fn catalogue() -> Value {
    REGISTRY
        .iter()
        .map(|t| {
            serde_json::json!({
                "name": t.name(), "namespace": t.namespace(), "module": t.module(), "dataset": t.dataset(),
            })
        })
        .collect()
}

/// The log type of an S3 key, if any.
pub fn route(key: &str) -> Option<&'static dyn LogType> {
    REGISTRY.iter().copied().find(|t| t.matches_key(key))
}

/// Parses a JSON frame, telling invalid UTF-8 from invalid JSON.
pub fn parse_json(frame: &[u8]) -> Result<Value, NormalizeError> {
    serde_json::from_slice(frame).map_err(|e| match std::str::from_utf8(frame) {
        Err(u) => NormalizeError::InvalidUtf8(u.valid_up_to()),
        Ok(_) => NormalizeError::InvalidJson(e.to_string()),
    })
}

/// Parses an RFC 3339 timestamp field.
pub fn parse_time(
    field: &'static str,
    value: Option<&Value>,
) -> Result<DateTime<Utc>, NormalizeError> {
    let s = value
        .and_then(Value::as_str)
        .ok_or(NormalizeError::MissingField(field))?;
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| NormalizeError::InvalidField {
            field,
            message: format!("{s:?} is not an RFC 3339 time: {e}"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_registered_log_type_has_a_unique_lowercase_name() {
        // A name is part of index names, which must be lowercase.
        let mut names: Vec<_> = REGISTRY.iter().map(|t| t.name()).collect();
        assert!(names.iter().all(|n| {
            n.starts_with(|c: char| c.is_ascii_lowercase())
                && n.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        }));
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), REGISTRY.len());
    }

    #[test]
    fn guardduty_export_keys_route_to_guardduty() {
        let key = "AWSLogs/123456789012/GuardDuty/us-east-1/2026/11/28/0b1c2d3e-aaaa-bbbb-cccc-111122223333.jsonl.gz";
        assert_eq!(route(key).map(|t| t.name()), Some("guardduty"));
        assert!(route("AWSLogs/123456789012/unknown-service/x.log.gz").is_none());
    }

    #[test]
    fn stamping_sets_the_fields_every_document_carries_and_keeps_the_others() {
        let mut document =
            serde_json::json!({"event": {"kind": "event", "module": "by hand"}, "message": "m"});
        let map = document.as_object_mut().expect("object");
        stamp(&cloudtrail::CloudTrail, map);
        assert_eq!(
            document,
            serde_json::json!({"event": {"kind": "event", "module": "aws", "dataset": "aws.cloudtrail"}, "message": "m",
                               "siem": {"log_type": "cloudtrail"}, "ecs": {"version": ecs::ECS_VERSION}})
        );
    }

    #[test]
    fn linux_auth_documents_are_of_the_linux_module_whichever_way_they_arrive() {
        for t in [
            &linux_auth::LinuxAuth as &dyn LogType,
            &linux_auth::LinuxAuthFile,
        ] {
            assert_eq!(
                (t.module(), t.dataset()),
                ("linux", "linux.auth"),
                "{}",
                t.name()
            );
        }
        assert_eq!(
            (
                guardduty::GuardDuty.module(),
                guardduty::GuardDuty.dataset()
            ),
            ("aws", "aws.guardduty")
        );
    }

    #[test]
    fn unknown_name_lists_the_known_ones() {
        let err = by_name("nope").err().expect("unknown").to_string();
        assert!(err.contains("guardduty"), "{err}");
    }

    #[test]
    fn invalid_utf8_is_told_apart_from_invalid_json() {
        assert_eq!(
            parse_json(b"{\"a\":\"\xff\"}"),
            Err(NormalizeError::InvalidUtf8(6))
        );
        assert!(matches!(
            parse_json(b"{\"a\":"),
            Err(NormalizeError::InvalidJson(_))
        ));
    }
}
