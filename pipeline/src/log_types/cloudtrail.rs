//! AWS CloudTrail, as a trail delivers it to S3: one gzip JSON document per
//! object, `{"Records":[...]}`, under `AWSLogs/[<org>/]<account>/CloudTrail/…`
//! (management and data events) or `…/CloudTrail-Insight/…` (Insights events).
//! Each element of `Records` is a frame and becomes one document.
//!
//! # Events outside the trail's files
//!
//! The same events also arrive one by one, through Firehose, under any key
//! with `cloudtrail` in it (any case; the delivery stream's prefix): as
//! EventBridge events (`AWS API Call via CloudTrail`, `AWS Console Sign In via
//! CloudTrail`, …, the event in `detail`), as CloudWatch Logs subscription
//! envelopes of a trail's log group (`DATA_MESSAGE`, each `logEvents[].message`
//! an event; `CONTROL_MESSAGE`s hold none), or bare. An object that does not
//! begin with `{"Records"` is read value by value (see [`Framing::JsonArrayField`]).
//! Every path gives an event the same document id, its `eventID`, so an event
//! delivered both ways is one document.
//!
//! # Digest files
//!
//! A trail with log file validation also writes `…/CloudTrail-Digest/…`
//! objects: `{"digestStartTime":…,"logFiles":[…]}`, hashes for integrity, no
//! events. They route here on purpose and are named by
//! [`LogType::holds_no_records`]: an unrouted key leaves its message on the
//! queue for the dead-letter queue, which would make every digest look like a
//! failure; routed here, a digest is skipped unread and its notification
//! deleted. An empty object, or `Records` that is not an array, is an error of
//! its object, not zero records.
//!
//! # Mapping
//!
//! The whole record is kept under `aws.cloudtrail`, a `flat_object`:
//! `requestParameters`, `responseElements`, `additionalEventData` and
//! `serviceEventDetails` differ per API call (the same path is an object in
//! one record and a string in the next), so nothing under them may be typed.
//! Everything typed is ECS:
//! - `@timestamp` eventTime; `event.action` eventName; `event.provider`
//!   eventSource; `event.id` eventID (also the document id: an event delivered
//!   in two objects is one document; records without an eventID, from 2014,
//!   get a positional id);
//! - `event.outcome`: `failure` when there is an errorCode or errorMessage, or a
//!   sign-in event answered `"Failure"` (`responseElements.ConsoleLogin`);
//!   otherwise `success`;
//! - `event.category`/`event.type`, deliberately coarse: sign-in events and
//!   STS credential issuance are `authentication` (`start` for a login or an
//!   `Assume*`); IAM calls are `iam` (plus `user`/`group` when the API names
//!   one); other mutating calls (`Create…`, `Put…`, `Delete…`, …) are
//!   `configuration` with `creation`/`change`/`deletion`; everything else is
//!   `api`, with `access` for reads (`Get…`, `List…`, `Describe…`) and `info`
//!   otherwise;
//! - the identity, for every `userIdentity.type`: `user.id` is the principalId
//!   (for an Identity Center user, `onBehalfOf.userId`), `user.name` the
//!   userName, or the session name of an assumed role (`…:assumed-role/ROLE/SESSION`)
//!   or a federated user (`…:federated-user/NAME`), or `root` for the root user
//!   (whose records carry no userName); the role of an assumed-role session
//!   (`sessionContext.sessionIssuer.userName`) is `user.roles`. An `AWSService`
//!   identity is a service, not a user: it sets no `user.*`, and its
//!   `invokedBy` is `source.address`;
//! - `source.ip` when sourceIPAddress is an IP address, otherwise
//!   `source.address` (and `source.domain` when it is a host name such as
//!   `ec2.amazonaws.com`; "AWS Internal" is neither);
//! - `user.target.name` the user an IAM call acts on (`requestParameters.userName`).
//!
//! A string longer than 16 KiB anywhere in the record is cut in
//! `aws.cloudtrail` (Lucene cannot index it, and would reject the whole
//! document); the document then also carries the untouched record in
//! `event.original` and the tag `cloudtrail_long_value_truncated`.
//!
//! Insights events (`eventType: AwsCloudTrailInsight`) are `event.kind: alert`:
//! CloudTrail itself detected unusual API call or error rates, which is what
//! ECS means by an alert from a detection system outside the stack (`metric`
//! would describe a periodic measurement, and an Insight is not one).
//! `event.action` is the insight type (`ApiCallRateInsight`), `event.type`
//! `start` or `end` from `insightDetails.state`; the API it is about stays in
//! `aws.cloudtrail.insightDetails`.

use serde_json::Value;

use super::eventbridge::{self, DetailTypes, Unwrapped};
use super::{
    DocId, LogType, NormalizeError, Normalized, Normalizer, finding, parse_json, parse_time,
    vendor_tree,
};
use crate::decode::Framing;
use crate::ecs::{EcsDocument, Related};

pub struct CloudTrail;

impl LogType for CloudTrail {
    fn name(&self) -> &'static str {
        "cloudtrail"
    }
    fn namespace(&self) -> &'static str {
        "aws.cloudtrail"
    }
    fn index_template(&self) -> &'static str {
        include_str!("../../../mappings/index_templates/cloudtrail.json")
    }
    fn framing(&self) -> Framing {
        Framing::JsonArrayField("Records")
    }
    fn matches_key(&self, key: &str) -> bool {
        // A trail's files, or a delivery stream's prefix.
        key.as_bytes()
            .windows(b"cloudtrail".len())
            .any(|w| w.eq_ignore_ascii_case(b"cloudtrail"))
    }
    fn holds_no_records(&self, key: &str) -> bool {
        key.contains("/CloudTrail-Digest/")
    }
    fn normalizer(&self) -> Box<dyn Normalizer> {
        Box::new(CloudTrailNormalizer)
    }
    fn ecs_fields(&self) -> Option<&'static [&'static str]> {
        Some(&[
            "@timestamp",
            "aws",
            "cloud",
            "ecs",
            "error",
            "event",
            "message",
            "related",
            "rule",
            "siem.access_key_id",
            "siem.log_type",
            "source",
            "tags",
            "user",
            "user_agent",
        ])
    }
}

struct CloudTrailNormalizer;

/// The EventBridge events whose `detail` is a CloudTrail event.
const DETAIL_TYPES: DetailTypes = DetailTypes {
    findings: &[
        "AWS API Call via CloudTrail",
        "AWS Console Sign In via CloudTrail",
        "AWS Console Action via CloudTrail",
        "AWS Service Event via CloudTrail",
        "AWS Insight via CloudTrail",
    ],
    skipped: &[],
};

impl Normalizer for CloudTrailNormalizer {
    fn normalize(&mut self, frame: &[u8], out: &mut Vec<Normalized>) -> Result<(), NormalizeError> {
        let start = out.len();
        let result = normalize_value(parse_json(frame)?, out);
        if result.is_err() {
            // A frame is one record: all of it is dead-lettered, none of it indexed.
            out.truncate(start);
        }
        result
    }
}

/// A frame: an event, an EventBridge event, a CloudWatch Logs envelope of
/// events, or an object of `Records` whose array was not its first member.
fn normalize_value(value: Value, out: &mut Vec<Normalized>) -> Result<(), NormalizeError> {
    if value.get("messageType").is_some() {
        return normalize_log_events(&value, out);
    }
    if let Some(Value::Array(records)) = value.get("Records") {
        for record in records {
            out.push(normalize_record(record.clone())?);
        }
        return Ok(());
    }
    match eventbridge::unwrap(value, &DETAIL_TYPES)? {
        Unwrapped::Bare(record) => out.push(normalize_record(record)?),
        Unwrapped::Event(event) => out.push(normalize_record(event.detail)?),
        Unwrapped::Skipped => {}
    }
    Ok(())
}

/// A CloudWatch Logs subscription envelope of a trail's log group.
fn normalize_log_events(envelope: &Value, out: &mut Vec<Normalized>) -> Result<(), NormalizeError> {
    match envelope.get("messageType").and_then(Value::as_str) {
        Some("CONTROL_MESSAGE") => return Ok(()),
        Some("DATA_MESSAGE") => {}
        other => {
            return Err(NormalizeError::InvalidField {
                field: "messageType",
                message: format!("{other:?} is neither DATA_MESSAGE nor CONTROL_MESSAGE"),
            });
        }
    }
    let events = envelope
        .get("logEvents")
        .and_then(Value::as_array)
        .ok_or(NormalizeError::MissingField("logEvents"))?;
    for (i, event) in events.iter().enumerate() {
        let message = event
            .get("message")
            .and_then(Value::as_str)
            .ok_or_else(|| NormalizeError::InvalidField {
                field: "logEvents",
                message: format!("event {i} has no message"),
            })?;
        out.push(normalize_record(parse_json(message.as_bytes())?)?);
    }
    Ok(())
}

fn s<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut v = v;
    for p in path {
        v = v.get(p)?;
    }
    v.as_str().filter(|s| !s.is_empty())
}

pub fn normalize_record(record: Value) -> Result<Normalized, NormalizeError> {
    if !record.is_object() {
        return Err(NormalizeError::InvalidField {
            field: "(record)",
            message: "a CloudTrail record must be a JSON object".into(),
        });
    }
    let timestamp = parse_time("eventTime", record.get("eventTime"))?;
    let event_time = s(&record, &["eventTime"]).unwrap_or_default();
    let mut doc = EcsDocument::new();
    let mut related = Related::default();
    doc.set("@timestamp", event_time);
    doc.set("event.id", s(&record, &["eventID"]));
    doc.set("cloud.provider", "aws");
    doc.set("cloud.region", s(&record, &["awsRegion"]));
    doc.set(
        "cloud.account.id",
        s(&record, &["recipientAccountId"]).or(s(&record, &["userIdentity", "accountId"])),
    );

    if s(&record, &["eventType"]) == Some("AwsCloudTrailInsight") {
        insight(&record, &mut doc);
    } else {
        api_event(&record, &mut doc, &mut related);
    }

    related.write_to(&mut doc);
    let id = match s(&record, &["eventID"]) {
        Some(event_id) => DocId::Natural(event_id.to_owned()),
        None => DocId::Positional,
    };
    vendor_tree::set_original(&mut doc, "aws.cloudtrail", record, TRUNCATED_TAG);
    Ok(Normalized {
        document: doc.into_map(),
        timestamp,
        id,
    })
}

/// The tag of a document whose `aws.cloudtrail` had a string cut
/// ([`vendor_tree`]).
pub const TRUNCATED_TAG: &str = "cloudtrail_long_value_truncated";

fn insight(record: &Value, doc: &mut EcsDocument) {
    let details = record.get("insightDetails").unwrap_or(&Value::Null);
    let insight_type = s(details, &["insightType"]);
    let state = s(details, &["state"]);
    doc.set("event.kind", "alert");
    doc.set("event.provider", "cloudtrail.amazonaws.com");
    doc.set("event.action", insight_type);
    doc.set("event.category", vec!["api"]);
    doc.set(
        "event.type",
        vec![match state {
            Some("Start") => "start",
            Some("End") => "end",
            _ => "info",
        }],
    );
    doc.set("rule.name", insight_type);
    doc.set(
        "message",
        format!(
            "CloudTrail Insight {} {} for {} {}",
            insight_type.unwrap_or("(unknown type)"),
            state.unwrap_or("(unknown state)"),
            s(details, &["eventSource"]).unwrap_or("(unknown source)"),
            s(details, &["eventName"]).unwrap_or("(unknown API)"),
        ),
    );
}

fn api_event(record: &Value, doc: &mut EcsDocument, related: &mut Related) {
    let name = s(record, &["eventName"]).unwrap_or_default();
    let source = s(record, &["eventSource"]).unwrap_or_default();
    doc.set("event.kind", "event");
    doc.set("event.action", name);
    doc.set("event.provider", source);
    let (category, types) = categorize(source, name);
    doc.set("event.category", vec![category]);
    doc.set("event.type", types);

    let error_code = s(record, &["errorCode"]);
    let error_message = s(record, &["errorMessage"]);
    doc.set("error.code", error_code);
    doc.set("error.message", error_message);
    let signin_failed = record
        .get("responseElements")
        .and_then(|r| r.get(name))
        .and_then(Value::as_str)
        == Some("Failure");
    let failed = error_code.is_some() || error_message.is_some() || signin_failed;
    doc.set("event.outcome", if failed { "failure" } else { "success" });

    let identity = record.get("userIdentity").unwrap_or(&Value::Null);
    let identity_type = s(identity, &["type"]);
    let mut address = s(record, &["sourceIPAddress"]);
    if identity_type == Some("AWSService") {
        address = s(identity, &["invokedBy"]).or(address);
    } else {
        write_user(identity, doc, related);
    }
    // sourceIPAddress is often a service (`ec2.amazonaws.com`) or
    // "AWS Internal": only an IP address goes to the typed source.ip.
    if let Some(address) = address {
        doc.set("source.address", address);
        if let Some(ip) = finding::ip(Some(address)) {
            doc.set("source.ip", ip);
            related.ip(Some(ip));
        } else if is_host_name(address) {
            doc.set("source.domain", address);
        }
    }
    doc.set("user_agent.original", s(record, &["userAgent"]));
    related.access_key(s(identity, &["accessKeyId"]));
    for instance in instance_ids(record) {
        related.host(Some(instance));
    }
    if source == "iam.amazonaws.com" {
        let target = s(record, &["requestParameters", "userName"]);
        doc.set("user.target.name", target);
        related.user(target);
    }
}

/// The EC2 instances an event names, for `related.hosts`: the instance whose
/// role made the call (an instance profile's session is named after its
/// instance), and those in the request and response of EC2 calls.
fn instance_ids(record: &Value) -> impl Iterator<Item = &str> {
    let caller = s(record, &["userIdentity", "arn"])
        .and_then(session_name)
        .filter(|name| is_instance_id(name));
    let named = s(record, &["requestParameters", "instanceId"]);
    let sets = [
        ["requestParameters", "instancesSet", "items"],
        ["responseElements", "instancesSet", "items"],
    ]
    .into_iter()
    .flat_map(move |path| {
        record
            .pointer(&format!("/{}", path.join("/")))
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
    })
    .filter_map(|item| s(item, &["instanceId"]));
    caller
        .into_iter()
        .chain(named)
        .chain(sets)
        .filter(|id| is_instance_id(id))
}

/// `i-` and 8 or 17 hexadecimal digits.
pub fn is_instance_id(s: &str) -> bool {
    s.strip_prefix("i-").is_some_and(|hex| {
        matches!(hex.len(), 8 | 17)
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// The user fields of any `userIdentity.type`.
fn write_user(identity: &Value, doc: &mut EcsDocument, related: &mut Related) {
    let identity_type = s(identity, &["type"]).unwrap_or_default();
    let arn = s(identity, &["arn"]).unwrap_or_default();
    let name = s(identity, &["userName"])
        .or_else(|| session_name(arn))
        .or((identity_type == "Root").then_some("root"));
    let id = match identity_type {
        "IdentityCenterUser" => {
            s(identity, &["onBehalfOf", "userId"]).or(s(identity, &["principalId"]))
        }
        _ => s(identity, &["principalId"]),
    };
    doc.set("user.name", name);
    doc.set("user.id", id);
    related.user(name);
    let issuer = identity
        .get("sessionContext")
        .and_then(|c| c.get("sessionIssuer"));
    let role = issuer
        .filter(|i| s(i, &["type"]) == Some("Role"))
        .and_then(|i| s(i, &["userName"]));
    if let Some(role) = role {
        doc.set("user.roles", vec![role]);
    }
}

/// The session of `…:assumed-role/ROLE/SESSION` or the name of
/// `…:federated-user/NAME`.
fn session_name(arn: &str) -> Option<&str> {
    let resource = arn.rsplit(':').next()?.trim();
    if let Some(rest) = resource.strip_prefix("assumed-role/") {
        return rest
            .split_once('/')
            .map(|(_, session)| session)
            .filter(|s| !s.is_empty());
    }
    resource
        .strip_prefix("federated-user/")
        .filter(|s| !s.is_empty())
}

fn is_host_name(s: &str) -> bool {
    s.contains('.')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
}

/// `(event.category, event.type)` of an API call.
fn categorize(source: &str, name: &str) -> (&'static str, Vec<&'static str>) {
    let verb_type = verb_type(name);
    match source {
        "signin.amazonaws.com" => (
            "authentication",
            vec![if name == "ConsoleLogin" {
                "start"
            } else {
                "info"
            }],
        ),
        "sts.amazonaws.com"
            if name.starts_with("Assume")
                || matches!(name, "GetSessionToken" | "GetFederationToken") =>
        {
            (
                "authentication",
                vec![if name.starts_with("Assume") {
                    "start"
                } else {
                    "info"
                }],
            )
        }
        "iam.amazonaws.com" => {
            let mut types = vec![verb_type.unwrap_or("info")];
            if name.contains("User") {
                types.push("user");
            }
            if name.contains("Group") {
                types.push("group");
            }
            ("iam", types)
        }
        _ => match verb_type {
            Some(t) => ("configuration", vec![t]),
            None if [
                "Get", "List", "Describe", "Head", "Lookup", "Search", "BatchGet", "Select",
            ]
            .iter()
            .any(|p| name.starts_with(p)) =>
            {
                ("api", vec!["access"])
            }
            None => ("api", vec!["info"]),
        },
    }
}

/// `creation`, `deletion` or `change` for a mutating API name.
fn verb_type(name: &str) -> Option<&'static str> {
    const CREATION: &[&str] = &[
        "Create", "Run", "Register", "Import", "Allocate", "Issue", "Copy",
    ];
    const DELETION: &[&str] = &[
        "Delete",
        "Terminate",
        "Deregister",
        "Remove",
        "Release",
        "Revoke",
        "Detach",
        "Disassociate",
        "Untag",
    ];
    const CHANGE: &[&str] = &[
        "Put",
        "Update",
        "Modify",
        "Attach",
        "Add",
        "Set",
        "Enable",
        "Disable",
        "Authorize",
        "Associate",
        "Tag",
        "Reset",
        "Restore",
        "Change",
        "Start",
        "Stop",
        "Reboot",
        "Replace",
        "Upload",
        "Apply",
    ];
    let starts = |list: &[&str]| list.iter().any(|p| name.starts_with(p));
    if starts(CREATION) {
        Some("creation")
    } else if starts(DELETION) {
        Some("deletion")
    } else if starts(CHANGE) {
        Some("change")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log_types::vendor_tree::MAX_FLAT_STRING_BYTES;
    use serde_json::json;

    fn record(identity: Value) -> Value {
        json!({
            "eventVersion": "1.09", "userIdentity": identity, "eventTime": "2026-11-28T07:00:00Z",
            "eventSource": "ec2.amazonaws.com", "eventName": "DescribeInstances", "awsRegion": "us-east-1",
            "sourceIPAddress": "203.0.113.10", "userAgent": "aws-cli/2.22.0", "requestParameters": null,
            "responseElements": null, "eventID": "11111111-2222-3333-4444-555555555555",
            "eventType": "AwsApiCall", "recipientAccountId": "123456789012"
        })
    }

    fn one(v: Value) -> Normalized {
        let mut out = Vec::new();
        CloudTrailNormalizer
            .normalize(v.to_string().as_bytes(), &mut out)
            .expect("normalizes");
        assert_eq!(out.len(), 1);
        out.remove(0)
    }

    fn get<'a>(n: &'a Normalized, path: &str) -> &'a Value {
        path.split('.')
            .fold(None, |v: Option<&Value>, p| match v {
                None => n.document.get(p),
                Some(v) => v.get(p),
            })
            .unwrap_or(&Value::Null)
    }

    #[test]
    fn digest_insight_and_log_keys_route_here() {
        let t = CloudTrail;
        assert!(t.matches_key("AWSLogs/123456789012/CloudTrail/us-east-1/2026/11/28/x.json.gz"));
        assert!(t.matches_key(
            "AWSLogs/o-abc/123456789012/CloudTrail-Insight/us-east-1/2026/11/28/x.json.gz"
        ));
        assert!(
            t.matches_key("AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2026/11/28/x.json.gz")
        );
        assert!(!t.matches_key("AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/11/28/x.log.gz"));
    }

    #[test]
    fn a_trail_under_a_prefix_naming_another_service_still_routes_here() {
        let key =
            "security-hub-account/AWSLogs/123456789012/CloudTrail/us-east-1/2026/11/28/x.json.gz";
        assert_eq!(
            crate::log_types::route(key).map(|t| t.name()),
            Some("cloudtrail")
        );
    }

    #[test]
    fn digest_files_hold_no_records_and_logs_do() {
        assert!(CloudTrail.holds_no_records(
            "AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2026/11/28/x.json.gz"
        ));
        assert!(
            !CloudTrail
                .holds_no_records("AWSLogs/123456789012/CloudTrail/us-east-1/2026/11/28/x.json.gz")
        );
    }

    /// The documents of an object, as the reader frames and normalizes it.
    fn object(bytes: &[u8]) -> Result<Vec<Normalized>, NormalizeError> {
        let mut framer = crate::decode::Framer::new(bytes, CloudTrail.framing(), 1 << 20);
        let mut out = Vec::new();
        while let Some((_, frame)) = framer.next_frame().expect("frames") {
            CloudTrailNormalizer.normalize(frame, &mut out)?;
        }
        Ok(out)
    }

    fn ids(docs: &[Normalized]) -> Vec<String> {
        docs.iter()
            .map(|d| match &d.id {
                DocId::Natural(id) => id.clone(),
                other => panic!("not a natural id: {other:?}"),
            })
            .collect()
    }

    fn event(id: &str) -> Value {
        let mut r =
            record(json!({"type": "IAMUser", "userName": "alice", "accountId": "123456789012"}));
        r["eventID"] = json!(id);
        r
    }

    #[test]
    fn an_event_has_the_same_id_in_a_trail_file_alone_through_eventbridge_and_through_cloudwatch_logs()
     {
        let trail = json!({"Records": [event("e-1"), event("e-2")]}).to_string();
        let bare = format!("{}{}", event("e-1"), event("e-2"));
        let eventbridge: String = ["e-1", "e-2"]
            .iter()
            .map(|id| {
                json!({"version": "0", "id": "x", "detail-type": "AWS API Call via CloudTrail", "source": "aws.s3",
                       "account": "123456789012", "time": "2026-11-28T10:00:00Z", "region": "us-east-1",
                       "resources": [], "detail": event(id)})
                .to_string()
            })
            .collect();
        let cloudwatch = format!(
            "{}{}",
            json!({"messageType": "CONTROL_MESSAGE", "owner": "CloudwatchLogs", "logGroup": "", "logStream": "",
                   "subscriptionFilters": [], "logEvents": [{"id": "", "timestamp": 1, "message": "CWL CONTROL MESSAGE"}]}),
            json!({"messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": "aws-cloudtrail-logs",
                   "logStream": "123456789012_CloudTrail_us-east-1", "subscriptionFilters": ["f"],
                   "logEvents": [{"id": "1", "timestamp": 1, "message": event("e-1").to_string()},
                                 {"id": "2", "timestamp": 1, "message": event("e-2").to_string()}]})
        );
        for (how, text) in [
            ("trail", trail),
            ("bare", bare),
            ("EventBridge", eventbridge),
            ("CloudWatch Logs", cloudwatch),
        ] {
            let docs = object(text.as_bytes()).unwrap_or_else(|e| panic!("{how}: {e}"));
            assert_eq!(ids(&docs), ["e-1", "e-2"], "{how}");
            assert_eq!(get(&docs[1], "user.name"), "alice", "{how}");
        }
    }

    #[test]
    fn an_eventbridge_event_that_is_not_a_cloudtrail_event_is_an_error_of_its_record() {
        let other = json!({"version": "0", "detail-type": "EC2 Instance State-change Notification", "detail": {}});
        let err = object(other.to_string().as_bytes()).expect_err("not CloudTrail");
        assert!(
            err.to_string()
                .contains("EC2 Instance State-change Notification"),
            "{err}"
        );
    }

    #[test]
    fn keys_with_cloudtrail_in_any_case_route_here() {
        for key in [
            "AWSLogs/123456789012/CloudTrail/us-east-1/2026/11/28/x.json.gz",
            "firehose/cloudtrail-events/2026/11/28/10/stream-1-2026-11-28-10-00-00-x.gz",
            "exports/CLOUDTRAIL/x.gz",
        ] {
            assert!(CloudTrail.matches_key(key), "{key}");
        }
        assert!(!CloudTrail.matches_key("AWSLogs/123456789012/GuardDuty/x.jsonl.gz"));
    }

    #[test]
    fn assumed_role_session_is_the_user_and_the_issuer_role_is_in_roles() {
        let n = one(record(json!({
            "type": "AssumedRole", "principalId": "AROAEXAMPLE:alice@example.com",
            "arn": "arn:aws:sts::123456789012:assumed-role/Admin/alice@example.com", "accountId": "123456789012",
            "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLE",
                "arn": "arn:aws:iam::123456789012:role/Admin", "accountId": "123456789012", "userName": "Admin"}}
        })));
        assert_eq!(get(&n, "user.name"), "alice@example.com");
        assert_eq!(get(&n, "user.id"), "AROAEXAMPLE:alice@example.com");
        assert_eq!(get(&n, "user.roles"), &json!(["Admin"]));
        assert_eq!(get(&n, "related.user"), &json!(["alice@example.com"]));
    }

    #[test]
    fn root_has_no_user_name_in_the_record_and_is_called_root() {
        let n = one(record(
            json!({"type": "Root", "principalId": "123456789012",
            "arn": "arn:aws:iam::123456789012:root", "accountId": "123456789012"}),
        ));
        assert_eq!(get(&n, "user.name"), "root");
    }

    #[test]
    fn the_access_key_and_the_instances_an_event_names_are_pivots() {
        let mut r = record(
            json!({"type": "AssumedRole", "principalId": "AROAEXAMPLE:i-0123456789abcdef0",
            "arn": "arn:aws:sts::123456789012:assumed-role/app-role/i-0123456789abcdef0",
            "accountId": "123456789012", "accessKeyId": "ASIAEXAMPLESTOLEN01"}),
        );
        r["eventSource"] = json!("ec2.amazonaws.com");
        r["eventName"] = json!("StopInstances");
        r["requestParameters"] = json!({"instancesSet": {"items": [{"instanceId": "i-0aaaaaaaaaaaaaaa1"}, {"instanceId": "i-0aaaaaaaaaaaaaaa1"}]}});
        r["responseElements"] = json!({"instancesSet": {"items": [{"instanceId": "i-0bbbbbbbbbbbbbbb2"}, {"instanceId": "not-an-instance"}]}});
        let n = one(r);
        assert_eq!(
            get(&n, "siem.access_key_id"),
            &json!(["ASIAEXAMPLESTOLEN01"])
        );
        assert_eq!(
            get(&n, "related.hosts"),
            &json!([
                "i-0123456789abcdef0",
                "i-0aaaaaaaaaaaaaaa1",
                "i-0bbbbbbbbbbbbbbb2"
            ]),
            "the caller's instance first, each once"
        );
    }

    #[test]
    fn instance_ids_are_i_and_8_or_17_hex_digits() {
        assert!(is_instance_id("i-0123abcd"));
        assert!(is_instance_id("i-0123456789abcdef0"));
        for not in [
            "i-",
            "i-0123ABCD",
            "i-0123456789abcdef",
            "session-name",
            "i-0123abcz",
        ] {
            assert!(!is_instance_id(not), "{not}");
        }
    }

    #[test]
    fn federated_user_name_comes_from_the_arn() {
        let n = one(record(
            json!({"type": "FederatedUser", "principalId": "123456789012:bob",
            "arn": "arn:aws:sts::123456789012:federated-user/bob", "accountId": "123456789012"}),
        ));
        assert_eq!(get(&n, "user.name"), "bob");
    }

    #[test]
    fn aws_service_sets_source_address_and_no_user() {
        let mut r = record(json!({"type": "AWSService", "invokedBy": "ec2.amazonaws.com"}));
        r["sourceIPAddress"] = json!("ec2.amazonaws.com");
        let n = one(r);
        assert_eq!(get(&n, "source.address"), "ec2.amazonaws.com");
        assert_eq!(get(&n, "source.domain"), "ec2.amazonaws.com");
        assert_eq!(get(&n, "source.ip"), &Value::Null);
        assert_eq!(get(&n, "user"), &Value::Null);
    }

    #[test]
    fn cloudtrail_source_ip_address_that_is_a_service_name_is_not_source_ip() {
        let mut r = record(
            json!({"type": "AssumedRole", "principalId": "AROAEXAMPLE:s",
            "arn": "arn:aws:sts::123456789012:assumed-role/R/s"}),
        );
        r["sourceIPAddress"] = json!("lambda.amazonaws.com");
        let n = one(r);
        assert_eq!(get(&n, "source.ip"), &Value::Null);
        assert_eq!(get(&n, "related.ip"), &Value::Null);
        assert_eq!(get(&n, "source.address"), "lambda.amazonaws.com");
        assert_eq!(get(&n, "source.domain"), "lambda.amazonaws.com");
        assert_eq!(
            get(&n, "aws.cloudtrail.sourceIPAddress"),
            "lambda.amazonaws.com"
        );
    }

    #[test]
    fn source_ip_is_set_only_for_addresses() {
        let n = one(record(
            json!({"type": "IAMUser", "userName": "alice", "principalId": "AIDAEXAMPLE"}),
        ));
        assert_eq!(get(&n, "source.ip"), "203.0.113.10");
        assert_eq!(get(&n, "related.ip"), &json!(["203.0.113.10"]));
        let mut internal = record(json!({"type": "IAMUser", "userName": "alice"}));
        internal["sourceIPAddress"] = json!("AWS Internal");
        let n = one(internal);
        assert_eq!(get(&n, "source.address"), "AWS Internal");
        assert_eq!(get(&n, "source.domain"), &Value::Null);
    }

    #[test]
    fn an_error_code_is_a_failure() {
        let mut r = record(json!({"type": "IAMUser", "userName": "alice"}));
        r["errorCode"] = json!("AccessDenied");
        r["errorMessage"] = json!("User is not authorized");
        let n = one(r);
        assert_eq!(get(&n, "event.outcome"), "failure");
        assert_eq!(get(&n, "error.code"), "AccessDenied");
    }

    #[test]
    fn a_console_login_answered_failure_is_a_failure() {
        let mut r = record(json!({"type": "IAMUser", "userName": "alice"}));
        r["eventSource"] = json!("signin.amazonaws.com");
        r["eventName"] = json!("ConsoleLogin");
        r["responseElements"] = json!({"ConsoleLogin": "Failure"});
        let n = one(r);
        assert_eq!(get(&n, "event.outcome"), "failure");
        assert_eq!(get(&n, "event.category"), &json!(["authentication"]));
        assert_eq!(get(&n, "event.type"), &json!(["start"]));
    }

    #[test]
    fn categories_follow_the_service_and_the_verb() {
        assert_eq!(
            categorize("iam.amazonaws.com", "CreateUser"),
            ("iam", vec!["creation", "user"])
        );
        assert_eq!(
            categorize("iam.amazonaws.com", "AddUserToGroup"),
            ("iam", vec!["change", "user", "group"])
        );
        assert_eq!(
            categorize("s3.amazonaws.com", "PutBucketPolicy"),
            ("configuration", vec!["change"])
        );
        assert_eq!(
            categorize("ec2.amazonaws.com", "TerminateInstances"),
            ("configuration", vec!["deletion"])
        );
        assert_eq!(
            categorize("ec2.amazonaws.com", "DescribeInstances"),
            ("api", vec!["access"])
        );
        assert_eq!(
            categorize("sts.amazonaws.com", "AssumeRoleWithSAML"),
            ("authentication", vec!["start"])
        );
        assert_eq!(
            categorize("kms.amazonaws.com", "Decrypt"),
            ("api", vec!["info"])
        );
    }

    #[test]
    fn the_event_id_is_the_document_id_and_the_record_is_kept_whole() {
        let n = one(record(json!({"type": "IAMUser", "userName": "alice"})));
        assert_eq!(
            n.id,
            DocId::Natural("11111111-2222-3333-4444-555555555555".into())
        );
        assert_eq!(get(&n, "aws.cloudtrail.eventName"), "DescribeInstances");
        let mut old = record(json!({"type": "IAMUser", "userName": "alice"}));
        old.as_object_mut().expect("object").remove("eventID");
        assert_eq!(one(old).id, DocId::Positional);
    }

    #[test]
    fn a_string_too_long_to_index_is_cut_and_the_record_kept_in_event_original() {
        let mut r = record(json!({"type": "IAMUser", "userName": "alice"}));
        r["requestParameters"] = json!({"policy": "é".repeat(20_000), "short": "x"});
        let n = one(r);
        let kept = get(&n, "aws.cloudtrail.requestParameters.policy")
            .as_str()
            .expect("string");
        assert!(kept.len() <= MAX_FLAT_STRING_BYTES && kept.len() > MAX_FLAT_STRING_BYTES - 4);
        assert_eq!(get(&n, "aws.cloudtrail.requestParameters.short"), "x");
        let original: Value =
            serde_json::from_str(get(&n, "event.original").as_str().expect("original"))
                .expect("json");
        assert_eq!(
            original["requestParameters"]["policy"]
                .as_str()
                .map(str::len),
            Some(40_000)
        );
        assert_eq!(get(&n, "tags"), &json!([TRUNCATED_TAG]));
        let short = one(record(json!({"type": "IAMUser", "userName": "alice"})));
        assert_eq!(
            get(&short, "event.original"),
            &Value::Null,
            "kept only when needed"
        );
    }

    #[test]
    fn an_insight_is_an_alert_about_an_api() {
        let n = one(
            json!({"eventVersion": "1.07", "eventTime": "2026-11-28T07:00:00Z", "awsRegion": "us-east-1",
            "eventID": "i-1", "eventType": "AwsCloudTrailInsight", "recipientAccountId": "123456789012",
            "insightDetails": {"state": "Start", "eventSource": "ssm.amazonaws.com",
                "eventName": "UpdateInstanceInformation", "insightType": "ApiCallRateInsight"},
            "eventCategory": "Insight"}),
        );
        assert_eq!(get(&n, "event.kind"), "alert");
        assert_eq!(get(&n, "event.action"), "ApiCallRateInsight");
        assert_eq!(get(&n, "event.type"), &json!(["start"]));
        assert_eq!(get(&n, "event.outcome"), &Value::Null);
    }

    #[test]
    fn a_record_without_a_time_or_not_an_object_is_an_error() {
        let mut out = Vec::new();
        assert_eq!(
            CloudTrailNormalizer.normalize(br#"{"eventName":"x"}"#, &mut out),
            Err(NormalizeError::MissingField("eventTime"))
        );
        assert!(CloudTrailNormalizer.normalize(b"\"s\"", &mut out).is_err());
        assert!(out.is_empty());
    }
}
