//! Every shape in which an SQS message can announce S3 objects, reduced to a
//! list of [`ObjectRef`]s or a [`Discard`].
//!
//! Shapes understood:
//! - an S3 event notification (`{"Records":[{"eventSource":"aws:s3",...}]}`), every record;
//! - the same wrapped by SNS (`{"Type":"Notification","Message":"<json>"}`), or delivered
//!   raw by an SNS subscription with raw message delivery (then it is the S3 event itself);
//! - an EventBridge `Object Created` event (`{"source":"aws.s3","detail":{...}}`);
//! - CloudTrail's own SNS notification (`{"s3Bucket":...,"s3ObjectKey":[...]}`);
//! - `s3:TestEvent`, SNS subscription confirmations and non-`ObjectCreated` events,
//!   which are [`Discard`]ed (deleted and counted by the caller).
//!
//! This module does no I/O and never panics on input: anything else is a
//! [`NotificationError`], which the caller counts and leaves on the queue so the
//! queue's redrive policy moves it to its dead-letter queue.

use percent_encoding::percent_decode_str;
use serde_json::Value;

/// One S3 object to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRef {
    pub bucket: String,
    /// The key as S3 knows it (notification keys are URL-decoded here).
    pub key: String,
    pub size: Option<u64>,
    pub version_id: Option<String>,
    pub etag: Option<String>,
}

/// A well-formed message that names nothing to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Discard {
    /// S3 sends this once when a notification configuration is saved.
    TestEvent,
    /// An event other than object creation (`ObjectRemoved:*`, `Object Deleted`, …).
    NotObjectCreated { event: String },
    /// An SNS subscription or unsubscription confirmation.
    SnsControl { kind: String },
}

impl Discard {
    /// Bounded label for metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Discard::TestEvent => "test_event",
            Discard::NotObjectCreated { .. } => "not_object_created",
            Discard::SnsControl { .. } => "sns_control",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notification {
    Objects(Vec<ObjectRef>),
    Discard(Discard),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NotificationError {
    #[error("message body is not JSON: {0}")]
    NotJson(String),
    #[error("message is not a known S3 notification shape (top-level keys: {0})")]
    UnknownShape(String),
    #[error("S3 event record {index} lacks {field}")]
    MissingField { index: usize, field: &'static str },
    #[error("object key {key:?} is not valid percent-encoded UTF-8")]
    BadKeyEncoding { key: String },
    #[error("SNS envelope: {0}")]
    Sns(String),
}

impl NotificationError {
    /// Bounded label for metrics.
    pub fn label(&self) -> &'static str {
        match self {
            NotificationError::NotJson(_) => "not_json",
            NotificationError::UnknownShape(_) => "unknown_shape",
            NotificationError::MissingField { .. } => "missing_field",
            NotificationError::BadKeyEncoding { .. } => "bad_key_encoding",
            NotificationError::Sns(_) => "sns_envelope",
        }
    }
}

/// Parses one SQS message body.
pub fn parse(body: &str) -> Result<Notification, NotificationError> {
    let value: Value =
        serde_json::from_str(body).map_err(|e| NotificationError::NotJson(e.to_string()))?;
    parse_value(&value, true)
}

fn parse_value(value: &Value, allow_sns: bool) -> Result<Notification, NotificationError> {
    let Some(obj) = value.as_object() else {
        return Err(NotificationError::UnknownShape(format!(
            "not an object but {}",
            kind_of(value)
        )));
    };
    if allow_sns && obj.get("TopicArn").is_some() && obj.get("Type").is_some() {
        return parse_sns(obj);
    }
    if let Some(records) = obj.get("Records") {
        return parse_s3_event(records);
    }
    if obj.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
        return Ok(Notification::Discard(Discard::TestEvent));
    }
    if obj.get("source").and_then(Value::as_str) == Some("aws.s3") && obj.contains_key("detail") {
        return parse_eventbridge(obj);
    }
    if let (Some(bucket), Some(keys)) = (obj.get("s3Bucket"), obj.get("s3ObjectKey")) {
        return parse_cloudtrail(bucket, keys);
    }
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).take(8).collect();
    keys.sort_unstable();
    Err(NotificationError::UnknownShape(keys.join(", ")))
}

fn parse_sns(obj: &serde_json::Map<String, Value>) -> Result<Notification, NotificationError> {
    let kind = obj.get("Type").and_then(Value::as_str).unwrap_or_default();
    if kind != "Notification" {
        return Ok(Notification::Discard(Discard::SnsControl {
            kind: kind.to_owned(),
        }));
    }
    let message = obj
        .get("Message")
        .and_then(Value::as_str)
        .ok_or_else(|| NotificationError::Sns("no `Message` string".into()))?;
    let inner: Value = serde_json::from_str(message)
        .map_err(|e| NotificationError::Sns(format!("`Message` is not JSON: {e}")))?;
    // An SNS message never wraps another SNS envelope.
    parse_value(&inner, false)
}

fn parse_s3_event(records: &Value) -> Result<Notification, NotificationError> {
    let Some(records) = records.as_array() else {
        return Err(NotificationError::UnknownShape(
            "`Records` is not an array".into(),
        ));
    };
    let mut objects = Vec::with_capacity(records.len());
    let mut first_other = None;
    for (index, record) in records.iter().enumerate() {
        let event = record
            .get("eventName")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !event.starts_with("ObjectCreated:") {
            first_other.get_or_insert_with(|| event.to_owned());
            continue;
        }
        let s3 = record
            .get("s3")
            .ok_or(NotificationError::MissingField { index, field: "s3" })?;
        let bucket = str_at(s3, &["bucket", "name"]).ok_or(NotificationError::MissingField {
            index,
            field: "s3.bucket.name",
        })?;
        let raw_key = str_at(s3, &["object", "key"]).ok_or(NotificationError::MissingField {
            index,
            field: "s3.object.key",
        })?;
        let object = &s3["object"];
        objects.push(ObjectRef {
            bucket: bucket.to_owned(),
            key: decode_key(raw_key)?,
            size: object.get("size").and_then(Value::as_u64),
            version_id: object
                .get("versionId")
                .and_then(Value::as_str)
                .map(str::to_owned),
            etag: object
                .get("eTag")
                .and_then(Value::as_str)
                .map(str::to_owned),
        });
    }
    if objects.is_empty() {
        return Ok(Notification::Discard(Discard::NotObjectCreated {
            event: first_other.unwrap_or_default(),
        }));
    }
    Ok(Notification::Objects(objects))
}

/// EventBridge carries the key as S3 stores it: no URL decoding.
fn parse_eventbridge(
    obj: &serde_json::Map<String, Value>,
) -> Result<Notification, NotificationError> {
    let detail_type = obj
        .get("detail-type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if detail_type != "Object Created" {
        return Ok(Notification::Discard(Discard::NotObjectCreated {
            event: detail_type.to_owned(),
        }));
    }
    let detail = &obj["detail"];
    let bucket = str_at(detail, &["bucket", "name"]).ok_or(NotificationError::MissingField {
        index: 0,
        field: "detail.bucket.name",
    })?;
    let key = str_at(detail, &["object", "key"]).ok_or(NotificationError::MissingField {
        index: 0,
        field: "detail.object.key",
    })?;
    let object = &detail["object"];
    Ok(Notification::Objects(vec![ObjectRef {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        size: object.get("size").and_then(Value::as_u64),
        version_id: object
            .get("version-id")
            .and_then(Value::as_str)
            .map(str::to_owned),
        etag: object
            .get("etag")
            .and_then(Value::as_str)
            .map(str::to_owned),
    }]))
}

/// CloudTrail's SNS notification lists keys verbatim (not URL-encoded).
fn parse_cloudtrail(bucket: &Value, keys: &Value) -> Result<Notification, NotificationError> {
    let bucket = bucket.as_str().ok_or(NotificationError::MissingField {
        index: 0,
        field: "s3Bucket",
    })?;
    let keys = keys.as_array().ok_or(NotificationError::MissingField {
        index: 0,
        field: "s3ObjectKey",
    })?;
    let mut objects = Vec::with_capacity(keys.len());
    for (index, key) in keys.iter().enumerate() {
        let key = key.as_str().ok_or(NotificationError::MissingField {
            index,
            field: "s3ObjectKey[]",
        })?;
        objects.push(ObjectRef {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            size: None,
            version_id: None,
            etag: None,
        });
    }
    if objects.is_empty() {
        return Err(NotificationError::MissingField {
            index: 0,
            field: "s3ObjectKey[0]",
        });
    }
    Ok(Notification::Objects(objects))
}

/// S3 event notifications URL-encode keys as an HTML form does: `+` is a space,
/// then `%XX` escapes. Decoding `%2B` after replacing `+` keeps a literal plus.
pub fn decode_key(raw: &str) -> Result<String, NotificationError> {
    let spaced = raw.replace('+', " ");
    percent_decode_str(&spaced)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| NotificationError::BadKeyEncoding {
            key: raw.to_owned(),
        })
}

fn str_at<'a>(mut v: &'a Value, path: &[&str]) -> Option<&'a str> {
    for p in path {
        v = v.get(p)?;
    }
    v.as_str()
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn s3_record(event: &str, bucket: &str, key: &str) -> Value {
        json!({
            "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
            "eventTime": "2026-11-28T07:00:00.000Z", "eventName": event,
            "s3": {"s3SchemaVersion": "1.0", "configurationId": "logs",
                   "bucket": {"name": bucket, "arn": format!("arn:aws:s3:::{bucket}")},
                   "object": {"key": key, "size": 1234, "eTag": "0123abcd", "versionId": "v1", "sequencer": "00"}}
        })
    }

    fn objects(n: Notification) -> Vec<ObjectRef> {
        match n {
            Notification::Objects(o) => o,
            other => panic!("expected objects, got {other:?}"),
        }
    }

    #[test]
    fn s3_event_yields_every_created_object_with_size_etag_and_version() {
        let body = json!({"Records": [
            s3_record("ObjectCreated:Put", "logs", "AWSLogs/1/GuardDuty/a.jsonl.gz"),
            s3_record("ObjectCreated:CompleteMultipartUpload", "logs", "b.gz"),
        ]});
        let objs = objects(parse(&body.to_string()).expect("parses"));
        assert_eq!(objs.len(), 2);
        assert_eq!(objs[0].bucket, "logs");
        assert_eq!(objs[0].key, "AWSLogs/1/GuardDuty/a.jsonl.gz");
        assert_eq!(objs[0].size, Some(1234));
        assert_eq!(objs[0].etag.as_deref(), Some("0123abcd"));
        assert_eq!(objs[0].version_id.as_deref(), Some("v1"));
        assert_eq!(objs[1].key, "b.gz");
    }

    #[test]
    fn s3_event_keys_are_url_decoded_plus_first_then_percent() {
        let body = json!({"Records": [s3_record("ObjectCreated:Put", "b", "dir/a+b%2Bc%3A1%20%C3%A9.gz")]});
        let objs = objects(parse(&body.to_string()).expect("parses"));
        assert_eq!(objs[0].key, "dir/a b+c:1 é.gz");
    }

    #[test]
    fn s3_event_with_invalid_utf8_escape_is_an_error() {
        let body = json!({"Records": [s3_record("ObjectCreated:Put", "b", "bad%FF")]});
        assert!(matches!(
            parse(&body.to_string()),
            Err(NotificationError::BadKeyEncoding { .. })
        ));
    }

    #[test]
    fn sns_wrapped_s3_event_is_unwrapped() {
        let inner = json!({"Records": [s3_record("ObjectCreated:Put", "b", "k%3D1")]});
        let body = json!({
            "Type": "Notification", "MessageId": "m", "TopicArn": "arn:aws:sns:us-east-1:1:t",
            "Subject": "Amazon S3 Notification", "Message": inner.to_string(), "Timestamp": "2026-11-28T07:00:00Z"
        });
        let objs = objects(parse(&body.to_string()).expect("parses"));
        assert_eq!(objs[0].key, "k=1");
    }

    #[test]
    fn sns_wrapped_test_event_is_discarded() {
        let inner = json!({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "b"});
        let body = json!({"Type": "Notification", "TopicArn": "t", "Message": inner.to_string()});
        assert_eq!(
            parse(&body.to_string()),
            Ok(Notification::Discard(Discard::TestEvent))
        );
    }

    #[test]
    fn sns_subscription_confirmation_is_discarded() {
        let body = json!({"Type": "SubscriptionConfirmation", "TopicArn": "t", "Message": "You have chosen..."});
        assert!(matches!(
            parse(&body.to_string()),
            Ok(Notification::Discard(Discard::SnsControl { .. }))
        ));
    }

    #[test]
    fn sns_message_that_is_not_json_is_an_error() {
        let body = json!({"Type": "Notification", "TopicArn": "t", "Message": "hello"});
        assert!(matches!(
            parse(&body.to_string()),
            Err(NotificationError::Sns(_))
        ));
    }

    #[test]
    fn eventbridge_object_created_is_read_without_url_decoding() {
        let body = json!({
            "version": "0", "id": "x", "detail-type": "Object Created", "source": "aws.s3",
            "account": "1", "time": "2026-11-28T07:00:00Z", "region": "us-east-1", "resources": ["arn:aws:s3:::b"],
            "detail": {"version": "0", "bucket": {"name": "b"},
                       "object": {"key": "a+b.gz", "size": 5, "etag": "e", "version-id": "v", "sequencer": "1"},
                       "request-id": "r", "requester": "1", "reason": "PutObject"}
        });
        let objs = objects(parse(&body.to_string()).expect("parses"));
        assert_eq!(
            objs,
            vec![ObjectRef {
                bucket: "b".into(),
                key: "a+b.gz".into(),
                size: Some(5),
                version_id: Some("v".into()),
                etag: Some("e".into())
            }]
        );
    }

    #[test]
    fn eventbridge_object_deleted_is_discarded() {
        let body = json!({"source": "aws.s3", "detail-type": "Object Deleted", "detail": {}});
        assert_eq!(
            parse(&body.to_string()),
            Ok(Notification::Discard(Discard::NotObjectCreated {
                event: "Object Deleted".into()
            }))
        );
    }

    #[test]
    fn test_event_is_discarded() {
        let body = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-11-28T07:00:00.000Z","Bucket":"b","RequestId":"r","HostId":"h"}"#;
        assert_eq!(parse(body), Ok(Notification::Discard(Discard::TestEvent)));
    }

    #[test]
    fn object_removed_event_is_discarded_with_its_name() {
        let body = json!({"Records": [s3_record("ObjectRemoved:Delete", "b", "k")]});
        assert_eq!(
            parse(&body.to_string()),
            Ok(Notification::Discard(Discard::NotObjectCreated {
                event: "ObjectRemoved:Delete".into()
            }))
        );
    }

    #[test]
    fn cloudtrail_sns_notification_lists_every_key() {
        let inner = json!({"s3Bucket": "trail", "s3ObjectKey": ["AWSLogs/1/CloudTrail/a.json.gz", "AWSLogs/1/CloudTrail/b.json.gz"]});
        let body = json!({"Type": "Notification", "TopicArn": "t", "Message": inner.to_string()});
        let objs = objects(parse(&body.to_string()).expect("parses"));
        assert_eq!(objs.len(), 2);
        assert_eq!(objs[1].key, "AWSLogs/1/CloudTrail/b.json.gz");
    }

    #[test]
    fn malformed_bodies_are_errors_not_panics() {
        for body in [
            "",
            "not json",
            "[]",
            "42",
            "null",
            r#"{"Records": 5}"#,
            r#"{"Records": [{"eventName": "ObjectCreated:Put"}]}"#,
            r#"{"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": 1}}}]}"#,
            r#"{"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "b"}, "object": {}}}]}"#,
            r#"{"source": "aws.s3", "detail-type": "Object Created", "detail": {"bucket": {}}}"#,
            r#"{"s3Bucket": "b", "s3ObjectKey": []}"#,
            r#"{"s3Bucket": "b", "s3ObjectKey": [1]}"#,
            r#"{"Type": "Notification", "TopicArn": "t"}"#,
            r#"{"hello": "world"}"#,
        ] {
            let result = parse(body);
            assert!(result.is_err(), "{body:?} gave {result:?}");
            assert!(!result.expect_err("an error").label().is_empty());
        }
    }
}
