//! What the finding log types (`guardduty`, `securityhub`, `inspector`,
//! `macie`) share: lookups in untrusted JSON that never panic, the timestamp
//! shapes AWS services use, values checked against the type their ECS field
//! is mapped with, and severity bands.
//!
//! The index settings set `ignore_malformed: false`, so one badly typed value
//! rejects the whole document: every date, IP address and port that any log
//! type copies from a record into a typed ECS field passes through a checker
//! here first ([`date`], [`ip`], [`port`], [`count`]), and a value that does
//! not pass is simply not copied (the original stays in the vendor tree; it is
//! not an error of the record).

use std::net::IpAddr;

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use serde_json::Value;

use super::NormalizeError;
use crate::ecs::EcsDocument;

/// The natural id of one state of a finding: its id, its update time, and a
/// hash of everything it says except `volatile` top-level keys. A finding
/// changed without a new update time (Security Hub's `BatchUpdateFindings`:
/// workflow status, notes, severity; an archive) is a new state and so a new
/// document of its history; the same state delivered twice is one document.
/// `serde_json` maps are sorted, so the hash does not depend on key order.
pub fn state_id(id: &str, updated: &str, finding: &Value, volatile: &[&str]) -> String {
    // Serialized into one buffer and hashed once: the serializer's many small
    // writes, each a hasher update, cost more than the hash itself.
    let mut text = Vec::with_capacity(4096);
    match finding.as_object() {
        Some(fields) => {
            for (key, value) in fields
                .iter()
                .filter(|(k, _)| !volatile.contains(&k.as_str()))
            {
                text.extend_from_slice(key.as_bytes());
                text.push(0);
                // Writing into a Vec cannot fail.
                let _ = serde_json::to_writer(&mut text, value);
                text.push(0);
            }
        }
        None => {
            let _ = serde_json::to_writer(&mut text, finding);
        }
    }
    format!(
        "{id}\u{1f}{updated}\u{1f}{}",
        &blake3::hash(&text).to_hex()[..16]
    )
}

/// Where a finding stands in its review, in the same words for every source
/// (`siem.finding.status`): triage views count the open ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// New, notified, active: someone has to look at it.
    Open,
    /// Archived or suppressed, by an analyst or a rule.
    Suppressed,
    /// Fixed, closed, passed, or no longer present.
    Resolved,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Suppressed => "suppressed",
            Status::Resolved => "resolved",
        }
    }

    /// Suppressed when `archived` is `true` (GuardDuty, Macie), open otherwise.
    pub fn archived_or_open(archived: Option<&Value>) -> Status {
        if archived.and_then(Value::as_bool) == Some(true) {
            Status::Suppressed
        } else {
            Status::Open
        }
    }
}

/// A time as the version of a finding's current state: epoch milliseconds.
pub fn version(t: DateTime<Utc>) -> u64 {
    u64::try_from(t.timestamp_millis()).unwrap_or(0)
}

/// The value at `path` under `v`.
pub fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, p| v.get(p))
}

/// The string at `path` under `v`.
pub fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    at(v, path)?.as_str().filter(|s| !s.is_empty())
}

/// The array at `path` under `v`, empty when absent or not an array.
pub fn array_at<'a>(v: &'a Value, path: &[&str]) -> &'a [Value] {
    at(v, path)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// A number, or a string holding one ("5", "1.664363536E9").
pub fn number(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|n| n.is_finite())
}

/// A timestamp as AWS services write them: an RFC 3339 string, Inspector's
/// EventBridge spelling (`Wed Sep 04 16:59:44.356 UTC 2024`), or epoch
/// seconds (Inspector exports) as a number or a string, exponent notation
/// included (`"1.664363536E9"`). Values above 10^11 are taken as epoch milliseconds
/// (10^11 seconds is in the year 5138).
pub fn flexible_time(v: &Value) -> Option<DateTime<Utc>> {
    if let Some(s) = v.as_str() {
        if let Ok(t) = DateTime::parse_from_rfc3339(s.trim()) {
            return Some(t.with_timezone(&Utc));
        }
        // Inspector's EventBridge events: `Wed Sep 04 16:59:44.356 UTC 2024`.
        if let Ok(t) = NaiveDateTime::parse_from_str(s.trim(), "%a %b %d %H:%M:%S%.f UTC %Y") {
            return Some(t.and_utc());
        }
    }
    let n = number(Some(v))?;
    let millis = if n.abs() >= 1e11 { n } else { n * 1000.0 };
    if !(-8.2e15..=8.2e15).contains(&millis) {
        return None;
    }
    DateTime::from_timestamp_millis(millis.round() as i64)
}

/// A required timestamp field.
pub fn required_time(
    field: &'static str,
    v: Option<&Value>,
) -> Result<DateTime<Utc>, NormalizeError> {
    let v = v
        .filter(|v| !v.is_null())
        .ok_or(NormalizeError::MissingField(field))?;
    flexible_time(v).ok_or_else(|| NormalizeError::InvalidField {
        field,
        message: format!("{v} is neither an RFC 3339 time nor epoch seconds"),
    })
}

/// RFC 3339 in UTC with milliseconds: the one shape every emitted date has.
pub fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// An optional date field, normalized; `None` when absent or unreadable.
pub fn date(v: Option<&Value>) -> Option<String> {
    v.and_then(flexible_time).map(iso)
}

/// `s` when it is an IP address.
pub fn ip(s: Option<&str>) -> Option<&str> {
    s.filter(|s| s.parse::<IpAddr>().is_ok())
}

/// A port number (0–65535) from a number or a numeric string.
pub fn port(v: Option<&Value>) -> Option<u64> {
    number(v)
        .filter(|p| (0.0..=65535.0).contains(p) && p.fract() == 0.0)
        .map(|p| p as u64)
}

/// A non-negative integer (sizes, counts, pids).
pub fn count(v: Option<&Value>) -> Option<u64> {
    number(v)
        .filter(|n| *n >= 0.0 && n.fract() == 0.0 && *n < 9.0e15)
        .map(|n| n as u64)
}

/// The last segment of an ARN or path (`arn:…:instance/i-1` → `i-1`).
pub fn last_segment(s: &str) -> &str {
    s.rsplit(['/', ':']).next().unwrap_or(s)
}

/// One value as a scalar, several as an array, none as nothing.
pub fn one_or_many(mut values: Vec<String>) -> Value {
    values.dedup();
    match values.len() {
        0 => Value::Null,
        1 => Value::String(values.remove(0)),
        _ => Value::from(values),
    }
}

/// Pushes `v` to `list` unless absent or already there.
pub fn push_unique(list: &mut Vec<String>, v: Option<&str>) {
    if let Some(v) = v.map(str::trim).filter(|v| !v.is_empty())
        && !list.iter().any(|x| x == v)
    {
        list.push(v.to_owned());
    }
}

/// The `siem.severity.label` band of a 0–100 score, with Security Hub's
/// bands: 0 informational, 1–39 low, 40–69 medium, 70–89 high, 90–100 critical.
pub fn label_of_normalized(n: f64) -> &'static str {
    match n {
        n if n >= 90.0 => "critical",
        n if n >= 70.0 => "high",
        n if n >= 40.0 => "medium",
        n if n >= 1.0 => "low",
        _ => "informational",
    }
}

/// A vendor severity label in the `siem.severity.label` vocabulary, if it is
/// one of its words (`UNTRIAGED`, for one, is not).
pub fn label(vendor: &str) -> Option<&'static str> {
    Some(match vendor.trim().to_ascii_lowercase().as_str() {
        "informational" | "info" => "informational",
        "low" => "low",
        "medium" => "medium",
        "high" => "high",
        "critical" => "critical",
        _ => return None,
    })
}

/// The 0–100 score Security Hub gives a finding that has only a label:
/// 0, 1, 40, 70 and 90. Used wherever a product gives a label and no number,
/// so that `event.severity` means the same in every index.
pub fn normalized_of_label(label: &str) -> Option<i64> {
    Some(match label {
        "informational" => 0,
        "low" => 1,
        "medium" => 40,
        "high" => 70,
        "critical" => 90,
        _ => return None,
    })
}

/// `HIGH` → `High`: the spelling ECS gives as example for `vulnerability.severity`.
pub fn title_case(s: &str) -> String {
    let lower = s.trim().to_ascii_lowercase();
    let mut chars = lower.chars();
    match chars.next() {
        Some(c) => c.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

pub fn not_an_object(field: &'static str) -> NormalizeError {
    NormalizeError::InvalidField {
        field,
        message: "expected a JSON object".into(),
    }
}

/// `package.*` gathered over every vulnerable package of a finding; several
/// packages give arrays (the pairing of name and version stays in the vendor tree).
#[derive(Default)]
pub struct PackageFields {
    name: Vec<String>,
    version: Vec<String>,
    architecture: Vec<String>,
    path: Vec<String>,
    kind: Vec<String>,
}

impl PackageFields {
    /// Adds one package; `keys` names its name, version, architecture, path
    /// and package-manager members in the vendor's spelling.
    pub fn add(&mut self, p: &Value, keys: [&str; 5]) {
        push_unique(&mut self.name, str_at(p, &[keys[0]]));
        push_unique(&mut self.version, str_at(p, &[keys[1]]));
        push_unique(&mut self.architecture, str_at(p, &[keys[2]]));
        push_unique(&mut self.path, str_at(p, &[keys[3]]));
        push_unique(
            &mut self.kind,
            str_at(p, &[keys[4]])
                .map(str::to_ascii_lowercase)
                .as_deref(),
        );
    }

    pub fn write(self, doc: &mut EcsDocument) {
        doc.set("package.name", one_or_many(self.name));
        doc.set("package.version", one_or_many(self.version));
        doc.set("package.architecture", one_or_many(self.architecture));
        doc.set("package.path", one_or_many(self.path));
        doc.set("package.type", one_or_many(self.kind));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_finding_changed_without_a_new_update_time_is_a_new_state() {
        let new = serde_json::json!({"Id": "f1", "UpdatedAt": "2026-11-01T00:00:00Z", "Workflow": {"Status": "NEW"}});
        let suppressed = serde_json::json!({"Id": "f1", "UpdatedAt": "2026-11-01T00:00:00Z", "Workflow": {"Status": "SUPPRESSED"}});
        assert_ne!(
            state_id("f1", "t", &new, &[]),
            state_id("f1", "t", &suppressed, &[])
        );
    }

    #[test]
    fn the_same_state_is_one_id_whatever_its_key_order_or_volatile_fields() {
        let a: Value =
            serde_json::from_str(r#"{"Id":"f1","Severity":{"Label":"HIGH"},"ProcessedAt":"1"}"#)
                .expect("json");
        let b: Value =
            serde_json::from_str(r#"{"Severity":{"Label":"HIGH"},"ProcessedAt":"2","Id":"f1"}"#)
                .expect("json");
        assert_eq!(
            state_id("f1", "t", &a, &["ProcessedAt"]),
            state_id("f1", "t", &b, &["ProcessedAt"])
        );
        assert_ne!(state_id("f1", "t", &a, &[]), state_id("f1", "t", &b, &[]));
    }
    use serde_json::json;

    #[test]
    fn timestamps_are_read_in_every_shape_aws_writes() {
        let expected = "2022-09-28T11:12:16.000Z";
        for v in [
            json!("2022-09-28T11:12:16Z"),
            json!("2022-09-28T13:12:16+02:00"),
            json!(1664363536),
            json!(1664363536.0),
            json!("1.664363536E9"),
            json!("1664363536"),
            json!(1664363536000u64),
        ] {
            assert_eq!(date(Some(&v)).as_deref(), Some(expected), "{v}");
        }
        assert_eq!(
            date(Some(&json!("1.663703546405E9"))).as_deref(),
            Some("2022-09-20T19:52:26.405Z")
        );
        assert_eq!(
            date(Some(&json!("Wed Sep 04 16:59:44.356 UTC 2024"))).as_deref(),
            Some("2024-09-04T16:59:44.356Z")
        );
        assert_eq!(date(Some(&json!("yesterday"))), None);
        assert_eq!(date(Some(&json!(1e300))), None);
        assert_eq!(date(Some(&json!({"a": 1}))), None);
    }

    #[test]
    fn a_required_time_that_is_missing_or_unreadable_is_a_record_error() {
        assert_eq!(
            required_time("updatedAt", None),
            Err(NormalizeError::MissingField("updatedAt"))
        );
        assert!(matches!(
            required_time("updatedAt", Some(&json!("soon"))),
            Err(NormalizeError::InvalidField {
                field: "updatedAt",
                ..
            })
        ));
    }

    #[test]
    fn typed_values_that_would_be_rejected_by_the_mapping_are_dropped() {
        assert_eq!(ip(Some("string")), None);
        assert_eq!(ip(Some("2001:db8::1")), Some("2001:db8::1"));
        assert_eq!(port(Some(&json!(70000))), None);
        assert_eq!(port(Some(&json!("443"))), Some(443));
        assert_eq!(count(Some(&json!(-1))), None);
    }

    #[test]
    fn severity_bands_follow_security_hub() {
        assert_eq!(label_of_normalized(0.0), "informational");
        assert_eq!(label_of_normalized(1.0), "low");
        assert_eq!(label_of_normalized(39.0), "low");
        assert_eq!(label_of_normalized(40.0), "medium");
        assert_eq!(label_of_normalized(70.0), "high");
        assert_eq!(label_of_normalized(90.0), "critical");
        assert_eq!(label("INFORMATIONAL"), Some("informational"));
        assert_eq!(label("UNTRIAGED"), None);
        assert_eq!(normalized_of_label("medium"), Some(40));
        assert_eq!(title_case("CRITICAL"), "Critical");
    }

    #[test]
    fn arn_segments_and_lists() {
        assert_eq!(
            last_segment("arn:aws:ec2:us-east-1:123456789012:instance/i-0abc"),
            "i-0abc"
        );
        assert_eq!(
            last_segment("arn:aws:lambda:us-east-1:123456789012:function:f"),
            "f"
        );
        assert_eq!(one_or_many(vec!["a".into()]), json!("a"));
        assert_eq!(one_or_many(vec!["a".into(), "b".into()]), json!(["a", "b"]));
        assert_eq!(one_or_many(vec![]), Value::Null);
    }
}
