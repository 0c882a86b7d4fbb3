//! The EventBridge envelope findings arrive in when a rule sends them to S3
//! through Firehose: `{"version":"0","detail-type":…,"source":…,"account":…,
//! "region":…,"detail":{…}}`. Every finding log type (GuardDuty, Security Hub,
//! Inspector, Macie) takes it off here, with one rule.
//!
//! # The rule for `detail-type`
//!
//! A value is an EventBridge event when it is an object with a string
//! `detail-type` (no finding has that member). Each log type declares its
//! [`DetailTypes`]: the detail-types whose `detail` carries its findings, and
//! the ones it knows carry none (Inspector's scan and coverage events, Security
//! Hub's insight results), which are skipped: zero documents, not an error.
//!
//! Any other detail-type is an error of the record that names it and the
//! detail-types the log type reads. The record is then dead-lettered whole, so
//! nothing is lost, and an event of a new kind shows up as dead letters with a
//! reason, instead of being dropped unseen or read as a finding it is not.
//!
//! This module never looks inside `detail`: what a finding holds is each log
//! type's business.

use serde_json::Value;

use super::NormalizeError;

/// The detail-types a log type reads and the ones it skips.
#[derive(Debug, Clone, Copy)]
pub struct DetailTypes {
    /// Events whose `detail` holds this log type's findings.
    pub findings: &'static [&'static str],
    /// Events this log type knows that hold no findings.
    pub skipped: &'static [&'static str],
}

/// A frame once its envelope, if any, is off.
#[derive(Debug, PartialEq)]
pub enum Unwrapped {
    /// Not an EventBridge event: the value as it came.
    Bare(Value),
    /// A findings event.
    Event(Event),
    /// A known event that holds no findings.
    Skipped,
}

/// A findings event: its `detail` and what the envelope says about it.
#[derive(Debug, PartialEq)]
pub struct Event {
    pub detail_type: String,
    pub account: Option<String>,
    pub region: Option<String>,
    pub detail: Value,
}

/// Takes the EventBridge envelope off `value`, by the rule of the module doc.
pub fn unwrap(value: Value, types: &DetailTypes) -> Result<Unwrapped, NormalizeError> {
    let Value::Object(mut event) = value else {
        return Ok(Unwrapped::Bare(value));
    };
    let detail_type = match event.get("detail-type") {
        Some(Value::String(t)) => t.clone(),
        _ => return Ok(Unwrapped::Bare(Value::Object(event))),
    };
    if types.skipped.contains(&detail_type.as_str()) {
        return Ok(Unwrapped::Skipped);
    }
    if !types.findings.contains(&detail_type.as_str()) {
        return Err(NormalizeError::InvalidField {
            field: "detail-type",
            message: format!(
                "{detail_type:?} is not an event this log type reads (findings: {}; skipped: {})",
                list(types.findings),
                list(types.skipped)
            ),
        });
    }
    let detail = match event.remove("detail") {
        Some(detail @ Value::Object(_)) => detail,
        Some(_) => {
            return Err(NormalizeError::InvalidField {
                field: "detail",
                message: format!("the detail of a {detail_type:?} event is not a JSON object"),
            });
        }
        None => return Err(NormalizeError::MissingField("detail")),
    };
    let text = |key: &str| {
        event
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    Ok(Unwrapped::Event(Event {
        account: text("account"),
        region: text("region"),
        detail_type,
        detail,
    }))
}

fn list(names: &[&str]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names
            .iter()
            .map(|n| format!("{n:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TYPES: DetailTypes = DetailTypes {
        findings: &["Thing Finding"],
        skipped: &["Thing Scan"],
    };

    #[test]
    fn a_findings_event_gives_its_detail_account_and_region() {
        let event = json!({"version": "0", "detail-type": "Thing Finding", "source": "aws.thing",
                           "account": "123456789012", "region": "eu-west-1", "detail": {"id": "f1"}});
        assert_eq!(
            unwrap(event, &TYPES),
            Ok(Unwrapped::Event(Event {
                detail_type: "Thing Finding".into(),
                account: Some("123456789012".into()),
                region: Some("eu-west-1".into()),
                detail: json!({"id": "f1"}),
            }))
        );
    }

    #[test]
    fn a_value_without_a_detail_type_is_bare() {
        for bare in [
            json!({"id": "f1", "detail": {}}),
            json!([1]),
            json!({"detail-type": 3}),
        ] {
            assert_eq!(unwrap(bare.clone(), &TYPES), Ok(Unwrapped::Bare(bare)));
        }
    }

    #[test]
    fn a_known_event_without_findings_is_skipped() {
        assert_eq!(
            unwrap(json!({"detail-type": "Thing Scan", "detail": {}}), &TYPES),
            Ok(Unwrapped::Skipped)
        );
    }

    #[test]
    fn an_unknown_detail_type_is_a_record_error_that_names_it() {
        let err = unwrap(json!({"detail-type": "Thing Alert", "detail": {}}), &TYPES)
            .expect_err("unknown");
        assert_eq!(err.label(), "invalid_field");
        let message = err.to_string();
        assert!(
            message.contains("\"Thing Alert\"") && message.contains("\"Thing Finding\""),
            "{message}"
        );
    }

    #[test]
    fn a_findings_event_without_an_object_detail_is_a_record_error() {
        assert_eq!(
            unwrap(json!({"detail-type": "Thing Finding"}), &TYPES),
            Err(NormalizeError::MissingField("detail"))
        );
        assert!(
            unwrap(
                json!({"detail-type": "Thing Finding", "detail": "x"}),
                &TYPES
            )
            .is_err()
        );
    }
}
