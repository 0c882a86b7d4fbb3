//! Amazon S3 server access logs: one line per request to a bucket, in
//! objects S3 names `YYYY-MM-DD-HH-MM-SS-<16 characters>` (no extension, not
//! compressed) under the prefix the bucket owner chose, or under the
//! date-partitioned prefix `<account>/<region>/<bucket>/YYYY/MM/DD/`. That
//! object name routes here, whatever the prefix.
//!
//! # Reading a line
//!
//! Space-separated fields ([`super::spaced`]): the time in brackets
//! (`[06/Feb/2019:00:00:38 +0000]`), the request line, referrer and user agent
//! in quotes, `-` for an empty field. Fields are read by position in the
//! documented order; S3 appends new fields over time, and a line with more
//! fields than known keeps them as `aws.s3access.extra`. A line with fewer
//! than the 18 fields every version has is an error of that record.
//!
//! # Mapping
//!
//! Every field is kept, as read, under `aws.s3access`. ECS:
//! - `@timestamp` the time; `event.category: [web]`, `event.type: [access]`,
//!   `event.action` the operation (`REST.GET.OBJECT`), `event.outcome`
//!   `failure` from HTTP status 400 on, `event.duration` the total time;
//! - `source.ip` the remote address; `user.id` the requester (a canonical
//!   user id or an IAM ARN), `user.name` the last part of an IAM ARN (the user,
//!   or an assumed role's session);
//! - `http.*` and `url.*` from the request line and status, `url.domain` the
//!   Host header, `error.code` S3's error code, `http.request.id` the request
//!   id, `http.request.referrer`, `user_agent.original`, `tls.*`;
//! - the bucket and key stay in `aws.s3access` (`bucket`, `key`).
//!
//! The document id is the request id and host id: S3 delivers its access
//! logs on a best-effort basis and may write a record twice; the two are one
//! document.

use std::borrow::Cow;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::spaced::split;
use super::{DocId, LogType, NormalizeError, Normalized, Normalizer, finding};
use crate::decode::Framing;
use crate::ecs::{EcsDocument, Related};

pub struct S3Access;

impl LogType for S3Access {
    fn name(&self) -> &'static str {
        "s3access"
    }
    fn namespace(&self) -> &'static str {
        "aws.s3access"
    }
    fn index_template(&self) -> &'static str {
        include_str!("../../../mappings/index_templates/s3access.json")
    }
    fn framing(&self) -> Framing {
        Framing::Lines
    }
    fn matches_key(&self, key: &str) -> bool {
        is_log_object_name(key.rsplit('/').next().unwrap_or(key))
    }
    fn normalizer(&self) -> Box<dyn Normalizer> {
        Box::new(S3AccessNormalizer)
    }
}

/// `2026-11-28-10-15-02-7E1B2C3D4E5F6A7B`: a time to the second and 16
/// letters or digits.
fn is_log_object_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 | 10 | 13 | 16 | 19 => *b == b'-',
            0..=18 => b.is_ascii_digit(),
            _ => b.is_ascii_alphanumeric(),
        })
}

/// The fields of a line, in the documented order.
const FIELDS: &[&str] = &[
    "bucket_owner",
    "bucket",
    "time",
    "remote_ip",
    "requester",
    "request_id",
    "operation",
    "key",
    "request_uri",
    "http_status",
    "error_code",
    "bytes_sent",
    "object_size",
    "total_time",
    "turn_around_time",
    "referrer",
    "user_agent",
    "version_id",
    "host_id",
    "signature_version",
    "cipher_suite",
    "authentication_type",
    "host_header",
    "tls_version",
    "access_point_arn",
    "acl_required",
    "source_region",
];
const MIN_FIELDS: usize = 18;

struct S3AccessNormalizer;

impl Normalizer for S3AccessNormalizer {
    fn normalize(&mut self, frame: &[u8], out: &mut Vec<Normalized>) -> Result<(), NormalizeError> {
        let line =
            std::str::from_utf8(frame).map_err(|e| NormalizeError::InvalidUtf8(e.valid_up_to()))?;
        out.push(normalize_line(line)?);
        Ok(())
    }
}

struct Record<'a> {
    fields: Vec<(&'static str, Cow<'a, str>)>,
    extra: Vec<Cow<'a, str>>,
}

impl Record<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_ref())
            .filter(|v| !v.is_empty() && *v != "-")
    }

    fn count(&self, name: &str) -> Option<u64> {
        self.get(name).and_then(|v| v.parse().ok())
    }

    fn vendor(&self) -> Value {
        let mut map = Map::new();
        for (name, value) in &self.fields {
            if !value.is_empty() && value != "-" {
                map.insert((*name).into(), Value::String(value.to_string()));
            }
        }
        if !self.extra.is_empty() {
            let extra: Vec<Value> = self
                .extra
                .iter()
                .map(|v| Value::String(v.to_string()))
                .collect();
            map.insert("extra".into(), Value::Array(extra));
        }
        Value::Object(map)
    }
}

fn normalize_line(line: &str) -> Result<Normalized, NormalizeError> {
    let mut values = split(line)?;
    if values.len() < MIN_FIELDS {
        return Err(NormalizeError::InvalidField {
            field: "(line)",
            message: format!(
                "{} fields, fewer than the {MIN_FIELDS} of every S3 access log line",
                values.len()
            ),
        });
    }
    let extra = values.split_off(values.len().min(FIELDS.len()));
    let record = Record {
        fields: FIELDS.iter().copied().zip(values).collect(),
        extra,
    };
    let time = record
        .get("time")
        .ok_or(NormalizeError::MissingField("time"))?;
    let timestamp = DateTime::parse_from_str(time, "%d/%b/%Y:%H:%M:%S %z")
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| NormalizeError::InvalidField {
            field: "time",
            message: format!("{time:?} is not a time like 06/Feb/2019:00:00:38 +0000: {e}"),
        })?;

    let mut doc = EcsDocument::new();
    let mut related = Related::default();
    doc.set("@timestamp", finding::iso(timestamp));
    doc.set("event.kind", "event");
    doc.set("event.category", vec!["web"]);
    doc.set("event.type", vec!["access"]);
    doc.set("event.action", record.get("operation"));
    doc.set("cloud.provider", "aws");
    doc.set("cloud.region", record.get("source_region"));
    doc.set("network.protocol", "http");

    let client = finding::ip(record.get("remote_ip"));
    doc.set("source.ip", client);
    doc.set("source.address", client);
    related.ip(client);
    if let Some(requester) = record.get("requester") {
        doc.set("user.id", requester);
        // arn:aws:iam::123456789012:user/alice, arn:aws:sts::…:assumed-role/ROLE/SESSION
        let name = requester
            .strip_prefix("arn:")
            .and_then(|_| requester.rsplit(['/', ':']).next())
            .filter(|n| !n.is_empty());
        doc.set("user.name", name);
        related.user(name);
    }

    let status = record
        .count("http_status")
        .filter(|s| (100..600).contains(s));
    doc.set_opt("http.response.status_code", status);
    if let Some(status) = status {
        doc.set(
            "event.outcome",
            if status < 400 { "success" } else { "failure" },
        );
    }
    doc.set("error.code", record.get("error_code"));
    doc.set_opt("http.response.bytes", record.count("bytes_sent"));
    doc.set("http.request.id", record.get("request_id"));
    doc.set("http.request.referrer", record.get("referrer"));
    doc.set("user_agent.original", record.get("user_agent"));
    if let Some(ms) = record.count("total_time") {
        let nanos = Duration::from_millis(ms).as_nanos();
        doc.set("event.duration", u64::try_from(nanos).unwrap_or(u64::MAX));
    }
    doc.set("tls.cipher", record.get("cipher_suite"));
    if let Some(version) = record
        .get("tls_version")
        .and_then(|v| v.strip_prefix("TLSv").or(v.strip_prefix("TLSV")))
    {
        doc.set("tls.version", version);
        doc.set("tls.version_protocol", "tls");
    }
    if let Some(host) = record.get("host_header") {
        doc.set("url.domain", host);
        related.host(Some(host));
    }
    if let Some(request) = record.get("request_uri") {
        request_line(request, &mut doc);
    }

    related.write_to(&mut doc);
    let id = match (record.get("request_id"), record.get("host_id")) {
        (Some(request), Some(host)) => DocId::Natural(format!("{request}\u{1f}{host}")),
        _ => DocId::Positional,
    };
    doc.set("aws.s3access", record.vendor());
    Ok(Normalized {
        document: doc.into_map(),
        timestamp,
        id,
    })
}

/// `GET /bucket/key?versionId=x HTTP/1.1`.
fn request_line(request: &str, doc: &mut EcsDocument) {
    let mut parts = request.splitn(3, ' ');
    let (method, target, version) = (parts.next(), parts.next(), parts.next());
    if let Some(method) =
        method.filter(|m| !m.is_empty() && m.bytes().all(|b| b.is_ascii_alphabetic()))
    {
        doc.set("http.request.method", method.to_ascii_uppercase());
    }
    if let Some(version) = version.and_then(|v| v.strip_prefix("HTTP/")) {
        doc.set("http.version", version);
    }
    if let Some(target) = target.filter(|t| t.starts_with('/')) {
        doc.set("url.original", target);
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        doc.set("url.path", path);
        doc.set("url.query", query);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first example of the S3 documentation, with a few fields changed.
    const LINE: &str = r#"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be payroll-exports [28/Nov/2026:10:16:10 +0000] 198.51.100.23 arn:aws:sts::123456789012:assumed-role/web-app-role/i-0a5b7c9d1e3f50617 3E57427F3EXAMPLE REST.GET.OBJECT 2026/11/salaries.csv "GET /payroll-exports/2026/11/salaries.csv?x-id=GetObject HTTP/1.1" 200 - 48213 48213 27 25 "-" "aws-cli/2.22.0 Python/3.12.6 Linux/6.8" - s9lzHYrFp76ZVxRcpX9+5cjAnEH2ROuNkd2BHfIa6UkFVdtjf5mKR3/eTPFvsiP/XV/VLi31234= SigV4 ECDHE-RSA-AES128-GCM-SHA256 AuthHeader payroll-exports.s3.us-east-1.amazonaws.com TLSv1.2 - - us-east-1"#;

    fn get<'a>(n: &'a Normalized, path: &str) -> &'a Value {
        let mut parts = path.split('.');
        let first = n
            .document
            .get(parts.next().unwrap_or_default())
            .unwrap_or(&Value::Null);
        parts.fold(first, |v, p| v.get(p).unwrap_or(&Value::Null))
    }

    #[test]
    fn a_get_object_by_an_assumed_role_is_a_web_access_by_its_session() {
        let n = normalize_line(LINE).expect("normalizes");
        assert_eq!(get(&n, "@timestamp"), "2026-11-28T10:16:10.000Z");
        assert_eq!(get(&n, "event.action"), "REST.GET.OBJECT");
        assert_eq!(get(&n, "event.outcome"), "success");
        assert_eq!(get(&n, "event.duration"), 27_000_000);
        assert_eq!(get(&n, "source.ip"), "198.51.100.23");
        assert_eq!(get(&n, "user.name"), "i-0a5b7c9d1e3f50617");
        assert_eq!(get(&n, "http.request.method"), "GET");
        assert_eq!(get(&n, "url.path"), "/payroll-exports/2026/11/salaries.csv");
        assert_eq!(get(&n, "url.query"), "x-id=GetObject");
        assert_eq!(
            get(&n, "url.domain"),
            "payroll-exports.s3.us-east-1.amazonaws.com"
        );
        assert_eq!(get(&n, "tls.version"), "1.2");
        assert_eq!(get(&n, "cloud.region"), "us-east-1");
        assert_eq!(get(&n, "aws.s3access.bucket"), "payroll-exports");
        assert_eq!(get(&n, "aws.s3access.key"), "2026/11/salaries.csv");
        assert!(
            matches!(n.id, DocId::Natural(ref id) if id.starts_with("3E57427F3EXAMPLE\u{1f}s9lz"))
        );
    }

    #[test]
    fn a_denied_request_of_a_canonical_user_fails_with_s3_s_error_code() {
        let line = LINE
            .replace(" 200 - 48213 48213 ", " 403 AccessDenied 243 - ")
            .replace(
                "arn:aws:sts::123456789012:assumed-role/web-app-role/i-0a5b7c9d1e3f50617",
                "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be",
            );
        let n = normalize_line(&line).expect("normalizes");
        assert_eq!(get(&n, "event.outcome"), "failure");
        assert_eq!(get(&n, "error.code"), "AccessDenied");
        assert_eq!(
            get(&n, "user.name"),
            &Value::Null,
            "a canonical id names nobody"
        );
        assert_eq!(
            get(&n, "user.id"),
            "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"
        );
    }

    #[test]
    fn the_oldest_format_reads_and_new_fields_are_kept() {
        assert_eq!(split(LINE).expect("splits").len(), FIELDS.len());
        let n = normalize_line(&format!("{LINE} new-field")).expect("normalizes");
        assert_eq!(
            get(&n, "aws.s3access.extra"),
            &serde_json::json!(["new-field"])
        );
        let short = r#"o b [28/Nov/2026:10:16:10 +0000] 192.0.2.3 - R1 REST.GET.OBJECT k "GET /b/k HTTP/1.1" 200 - 1 1 1 1 "-" "ua" -"#;
        assert!(
            normalize_line(short).is_ok(),
            "18 fields: the oldest format"
        );
        assert!(normalize_line("o b [28/Nov/2026:10:16:10 +0000] 192.0.2.3").is_err());
    }

    #[test]
    fn log_objects_are_recognized_by_their_name_whatever_the_prefix() {
        for key in [
            "logs/2026-11-28-10-15-02-7E1B2C3D4E5F6A7B",
            "123456789012/us-east-1/payroll-exports/2026/11/28/2026-11-28-10-15-02-7E1B2C3D4E5F6A7B",
            "2026-11-28-10-15-02-7e1b2c3d4e5f6a7b",
        ] {
            assert!(S3Access.matches_key(key), "{key}");
        }
        for key in [
            "logs/2026-11-28-10-15-02-7E1B2C3D4E5F6A7B.gz",
            "logs/2026-11-28-10-15-02",
            "AWSLogs/x.log.gz",
        ] {
            assert!(!S3Access.matches_key(key), "{key}");
        }
    }

    #[test]
    fn a_bad_time_is_an_error_of_the_record() {
        let line = LINE.replace("28/Nov/2026:10:16:10 +0000", "yesterday");
        assert!(normalize_line(&line).is_err());
    }
}
