//! Linux authentication logs (`/var/log/secure`, `/var/log/auth.log`): sshd,
//! sudo, su, PAM and the account tools, in two deliveries.
//!
//! # Two log types, one parser
//!
//! A log type has one framing, chosen before the first byte is read, and the
//! two ways these logs reach S3 need different ones:
//! - [`LinuxAuth`] (`linux_auth`): a CloudWatch Logs subscription delivered by
//!   Firehose. Objects are gzip concatenated JSON, no delimiter
//!   ([`Framing::ConcatenatedJson`]); each value is a `DATA_MESSAGE` with
//!   `logGroup`, `logStream`, `owner`, `subscriptionFilters` and `logEvents`
//!   (`id`, `timestamp`, `message`), or a `CONTROL_MESSAGE` (a delivery check:
//!   zero documents). One document per log event. Routed by the Firehose
//!   prefix `linux-auth/` anywhere in the key.
//! - [`LinuxAuthFile`] (`linux_auth_file`): the files themselves, uploaded
//!   as they are ([`Framing::Lines`]). Routed by the file name (`secure…`,
//!   `auth.log…`), outside `linux-auth/`.
//!
//! Detecting the shape per frame cannot work: line framing would make a whole
//! Firehose object one line (no newlines between values), JSON framing would
//! skip a text file as garbage. So there are two log types, sharing the line
//! parser ([`syslog`]) and the message rules (`messages`); their indices are
//! `<prefix>-linux_auth-*` and `<prefix>-linux_auth_file-*` (`<prefix>-linux_auth*`
//! covers both), with the same mapping.
//!
//! # Documents
//!
//! `@timestamp` is the syslog timestamp (see [`syslog`] for the year of a BSD
//! timestamp: the CloudWatch event time is the reference when there is one);
//! a CloudWatch event whose line has none falls back to the event time, a file
//! line without one is a record error. `message` is the text after the
//! program tag, `event.original` the whole line; `host.hostname`/`host.name`,
//! `process.name`/`process.pid` and `log.syslog.*` come from the syslog
//! header. What the message means is `messages::describe`'s: a message it
//! does not recognise is still indexed, with its text and no category.
//! The CloudWatch envelope is `aws.cloudwatch_logs.*`, the event id `event.id`
//! and, with the log group and stream, the document id; file lines get
//! positional ids.

mod messages;
pub mod syslog;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

use super::{DocId, LogType, NormalizeError, Normalized, Normalizer, parse_json};
use crate::decode::Framing;
use crate::ecs::{EcsDocument, Related};

/// CloudWatch Logs subscription objects delivered by Firehose.
pub struct LinuxAuth;

/// Auth log files uploaded as they are.
pub struct LinuxAuthFile;

fn under_firehose_prefix(key: &str) -> bool {
    key.starts_with("linux-auth/") || key.contains("/linux-auth/")
}

impl LogType for LinuxAuth {
    fn name(&self) -> &'static str {
        "linux_auth"
    }
    fn namespace(&self) -> &'static str {
        "aws.cloudwatch_logs"
    }
    fn module(&self) -> &'static str {
        "linux"
    }
    fn dataset(&self) -> &'static str {
        "linux.auth"
    }
    fn index_template(&self) -> &'static str {
        include_str!("../../../mappings/index_templates/linux_auth.json")
    }
    fn framing(&self) -> Framing {
        Framing::ConcatenatedJson
    }
    fn matches_key(&self, key: &str) -> bool {
        under_firehose_prefix(key)
    }
    fn normalizer(&self) -> Box<dyn Normalizer> {
        Box::new(CloudWatchNormalizer)
    }
    fn ecs_fields(&self) -> Option<&'static [&'static str]> {
        Some(ECS_FIELDS)
    }
}

impl LogType for LinuxAuthFile {
    fn name(&self) -> &'static str {
        "linux_auth_file"
    }
    fn namespace(&self) -> &'static str {
        "aws.cloudwatch_logs"
    }
    fn module(&self) -> &'static str {
        "linux"
    }
    fn dataset(&self) -> &'static str {
        "linux.auth"
    }
    fn index_template(&self) -> &'static str {
        include_str!("../../../mappings/index_templates/linux_auth_file.json")
    }
    fn framing(&self) -> Framing {
        Framing::Lines
    }
    fn matches_key(&self, key: &str) -> bool {
        let file = key.rsplit('/').next().unwrap_or(key);
        !under_firehose_prefix(key) && (file.starts_with("secure") || file.starts_with("auth.log"))
    }
    fn normalizer(&self) -> Box<dyn Normalizer> {
        Box::new(FileNormalizer { clock: Utc::now })
    }
    fn ecs_fields(&self) -> Option<&'static [&'static str]> {
        Some(ECS_FIELDS)
    }
}

/// The ECS fields of both Linux auth log types' documents, as whole
/// objects (a file upload has no `aws` or `cloud`).
const ECS_FIELDS: &[&str] = &[
    "@timestamp",
    "aws",
    "cloud",
    "ecs",
    "event",
    "group",
    "host",
    "log",
    "message",
    "process",
    "related",
    "siem.log_type",
    "source",
    "user",
];

struct FileNormalizer {
    /// The reference for BSD timestamps, which have no year.
    clock: fn() -> DateTime<Utc>,
}

impl Normalizer for FileNormalizer {
    fn normalize(&mut self, frame: &[u8], out: &mut Vec<Normalized>) -> Result<(), NormalizeError> {
        let line =
            std::str::from_utf8(frame).map_err(|e| NormalizeError::InvalidUtf8(e.valid_up_to()))?;
        let (doc, timestamp) = line_document(line, (self.clock)(), None)?;
        out.push(Normalized {
            document: doc.into_map(),
            timestamp,
            id: DocId::Positional,
        });
        Ok(())
    }
}

struct CloudWatchNormalizer;

impl Normalizer for CloudWatchNormalizer {
    fn normalize(&mut self, frame: &[u8], out: &mut Vec<Normalized>) -> Result<(), NormalizeError> {
        let value = parse_json(frame)?;
        match value.get("messageType").and_then(Value::as_str) {
            Some("CONTROL_MESSAGE") => return Ok(()),
            Some("DATA_MESSAGE") => {}
            Some(other) => {
                return Err(NormalizeError::InvalidField {
                    field: "messageType",
                    message: format!("{other:?} is neither DATA_MESSAGE nor CONTROL_MESSAGE"),
                });
            }
            None => return Err(NormalizeError::MissingField("messageType")),
        }
        let str_of = |k: &str| {
            value
                .get(k)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        };
        let (group, stream, owner) = (str_of("logGroup"), str_of("logStream"), str_of("owner"));
        let filters = value
            .get("subscriptionFilters")
            .cloned()
            .unwrap_or(Value::Null);
        let events = value
            .get("logEvents")
            .and_then(Value::as_array)
            .ok_or(NormalizeError::MissingField("logEvents"))?;
        let start = out.len();
        for (i, event) in events.iter().enumerate() {
            let bad = |message: String| NormalizeError::InvalidField {
                field: "logEvents",
                message,
            };
            let message = event
                .get("message")
                .and_then(Value::as_str)
                .ok_or_else(|| bad(format!("event {i} has no message")))?;
            let created = match event.get("timestamp") {
                None => None,
                Some(ms) => Some(
                    ms.as_i64()
                        .and_then(DateTime::from_timestamp_millis)
                        .ok_or_else(|| {
                            bad(format!(
                                "event {i}: timestamp {ms} is not epoch milliseconds"
                            ))
                        })?,
                ),
            };
            let event_id = event
                .get("id")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty());
            let line = message.trim_end_matches(['\n', '\r']);
            let result = line_document(line, created.unwrap_or_else(Utc::now), created);
            let (mut doc, timestamp) = match result {
                Ok(ok) => ok,
                Err(e) => {
                    out.truncate(start);
                    return Err(e);
                }
            };
            doc.set("event.id", event_id);
            doc.set_opt("event.created", created.map(rfc3339));
            doc.set("cloud.provider", "aws");
            doc.set("cloud.account.id", owner);
            doc.set("aws.cloudwatch_logs.log_group", group);
            doc.set("aws.cloudwatch_logs.log_stream", stream);
            // The CloudWatch agent names a host's stream after its instance.
            doc.set(
                "cloud.instance.id",
                stream.filter(|s| super::cloudtrail::is_instance_id(s)),
            );
            doc.set("aws.cloudwatch_logs.owner", owner);
            doc.set("aws.cloudwatch_logs.subscription_filters", filters.clone());
            let id = match event_id {
                Some(id) => DocId::Natural(format!(
                    "{}\u{1f}{}\u{1f}{id}",
                    group.unwrap_or_default(),
                    stream.unwrap_or_default()
                )),
                None => DocId::Positional,
            };
            out.push(Normalized {
                document: doc.into_map(),
                timestamp,
                id,
            });
        }
        Ok(())
    }
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// The document of one syslog line. `fallback` dates a line without a
/// timestamp of its own.
fn line_document(
    line: &str,
    reference: DateTime<Utc>,
    fallback: Option<DateTime<Utc>>,
) -> Result<(EcsDocument, DateTime<Utc>), NormalizeError> {
    let parsed = syslog::parse(line, reference);
    let timestamp = parsed
        .timestamp
        .or(fallback)
        .ok_or_else(|| NormalizeError::InvalidField {
            field: "(line)",
            message: "no syslog timestamp at the start of the line".into(),
        })?;
    let mut doc = EcsDocument::new();
    let mut related = Related::default();
    doc.set("@timestamp", rfc3339(timestamp));
    doc.set("event.kind", "event");
    doc.set("event.original", line);
    doc.set("message", parsed.message.trim());
    doc.set("host.hostname", parsed.hostname);
    doc.set("host.name", parsed.hostname);
    related.host(parsed.hostname);
    doc.set("log.syslog.hostname", parsed.hostname);
    doc.set("log.syslog.appname", parsed.program);
    doc.set_opt("log.syslog.procid", parsed.pid.map(|p| p.to_string()));
    doc.set("process.name", parsed.program);
    doc.set_opt("process.pid", parsed.pid);
    messages::describe(parsed.program, parsed.message, &mut doc, &mut related);
    related.write_to(&mut doc);
    Ok((doc, timestamp))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at<'a>(v: &'a Value, path: &str) -> &'a Value {
        path.split('.')
            .fold(v, |v, p| v.get(p).unwrap_or(&Value::Null))
    }

    fn normalize(n: &mut dyn Normalizer, frame: &str) -> Result<Vec<Value>, NormalizeError> {
        let mut out = Vec::new();
        n.normalize(frame.as_bytes(), &mut out)?;
        Ok(out.into_iter().map(|d| Value::Object(d.document)).collect())
    }

    fn fixed() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-28T12:00:00Z")
            .expect("time")
            .with_timezone(&Utc)
    }

    #[test]
    fn firehose_prefix_and_file_names_route_to_their_log_type() {
        assert!(
            LinuxAuth
                .matches_key("linux-auth/2026/11/28/07/auth-stream-1-2026-11-28-07-00-00-abc.gz")
        );
        assert!(LinuxAuthFile.matches_key("hosts/web-1/var/log/secure-20261128.gz"));
        assert!(LinuxAuthFile.matches_key("hosts/web-1/auth.log.1.gz"));
        assert!(!LinuxAuthFile.matches_key("x/linux-auth/2026/11/28/secure-stream-1.gz"));
        assert!(!LinuxAuthFile.matches_key("AWSLogs/123456789012/securityhub/x.gz"));
    }

    #[test]
    fn a_file_line_keeps_header_fields_and_the_original() {
        let mut n = FileNormalizer { clock: fixed };
        let line = "Nov 28 06:59:01 web-1 sshd[4242]: Accepted password for alice from 198.51.100.4 port 50022 ssh2";
        let d = normalize(&mut n, line).expect("normalizes").remove(0);
        assert_eq!(at(&d, "@timestamp"), "2026-11-28T06:59:01Z");
        assert_eq!(at(&d, "host.hostname"), "web-1");
        assert_eq!(at(&d, "process.name"), "sshd");
        assert_eq!(at(&d, "process.pid"), 4242);
        assert_eq!(at(&d, "log.syslog.procid"), "4242");
        assert_eq!(at(&d, "event.original"), line);
        assert_eq!(
            at(&d, "message"),
            "Accepted password for alice from 198.51.100.4 port 50022 ssh2"
        );
        assert_eq!(at(&d, "event.action"), "ssh_login");
    }

    #[test]
    fn a_sudo_line_is_the_sudo_process_with_the_command_it_ran() {
        let mut n = FileNormalizer { clock: fixed };
        let line = "Nov 28 07:02:00 web-1 sudo[4400]: alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; \
                    COMMAND=/bin/cat /etc/shadow";
        let d = normalize(&mut n, line).expect("normalizes").remove(0);
        assert_eq!(at(&d, "process.name"), "sudo");
        assert_eq!(at(&d, "process.pid"), 4400);
        assert_eq!(at(&d, "process.command_line"), "/bin/cat /etc/shadow");
        assert_eq!(at(&d, "process.args"), &json!(["/bin/cat", "/etc/shadow"]));
        assert_eq!(at(&d, "user.name"), "alice");
        assert_eq!(at(&d, "user.effective.name"), "root");
        assert_eq!(at(&d, "related.user"), &json!(["alice", "root"]));
    }

    #[test]
    fn an_unrecognised_message_is_indexed_with_its_text() {
        let mut n = FileNormalizer { clock: fixed };
        let d = normalize(
            &mut n,
            "Nov 28 06:00:00 web-1 systemd[1]: Started Session 5 of user alice.",
        )
        .expect("normalizes")
        .remove(0);
        assert_eq!(at(&d, "message"), "Started Session 5 of user alice.");
        assert_eq!(at(&d, "event.category"), &Value::Null);
    }

    #[test]
    fn a_file_line_without_a_timestamp_is_an_error() {
        let mut n = FileNormalizer { clock: fixed };
        assert!(normalize(&mut n, "garbage without a date").is_err());
    }

    #[test]
    fn a_control_message_is_no_document() {
        let frame = r#"{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"",
            "subscriptionFilters":[],"logEvents":[{"id":"","timestamp":1795849200000,"message":"CWL CONTROL MESSAGE: Checking health of destination Firehose."}]}"#;
        assert!(
            normalize(&mut CloudWatchNormalizer, frame)
                .expect("ok")
                .is_empty()
        );
    }

    #[test]
    fn each_log_event_is_a_document_with_the_envelope() {
        let frame = json!({"messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": "/var/log/secure",
        "logStream": "i-0123456789abcdef0", "subscriptionFilters": ["to-firehose"],
        "logEvents": [
            {"id": "1", "timestamp": 1795849200000_i64, "message": "Nov 28 06:59:59 web-1 sshd[1]: Invalid user x from 203.0.113.9"},
            {"id": "2", "timestamp": 1795849200000_i64, "message": "no header at all"}
        ]});
        let mut out = Vec::new();
        CloudWatchNormalizer
            .normalize(frame.to_string().as_bytes(), &mut out)
            .expect("normalizes");
        assert_eq!(out.len(), 2);
        assert_eq!(
            out[0].id,
            DocId::Natural("/var/log/secure\u{1f}i-0123456789abcdef0\u{1f}1".into())
        );
        let d = Value::Object(out[0].document.clone());
        assert_eq!(at(&d, "aws.cloudwatch_logs.log_group"), "/var/log/secure");
        assert_eq!(
            at(&d, "aws.cloudwatch_logs.subscription_filters"),
            &json!(["to-firehose"])
        );
        assert_eq!(at(&d, "cloud.account.id"), "123456789012");
        assert_eq!(at(&d, "event.created"), "2026-11-28T07:00:00Z");
        let undated = Value::Object(out[1].document.clone());
        assert_eq!(
            at(&undated, "@timestamp"),
            "2026-11-28T07:00:00Z",
            "falls back to the event time"
        );
    }

    #[test]
    fn the_cloudwatch_event_time_gives_a_bsd_line_its_year() {
        let frame = json!({"messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": "g", "logStream": "s",
            "subscriptionFilters": [], "logEvents": [
                {"id": "1", "timestamp": 1767225605000_i64, "message": "Dec 31 23:59:59 web-1 su: (to root) alice on pts/0"}]});
        let d = normalize(&mut CloudWatchNormalizer, &frame.to_string())
            .expect("ok")
            .remove(0);
        assert_eq!(at(&d, "@timestamp"), "2025-12-31T23:59:59Z");
    }

    /// Every document of the Linux auth fixtures, in order; the lines that
    /// are record errors (checked by the golden test) give none.
    fn fixture_documents() -> Vec<Value> {
        let mut docs = Vec::new();
        let firehose = include_str!("../../../tests/fixtures/linux_auth/firehose-cloudwatch.json");
        for value in serde_json::Deserializer::from_str(firehose).into_iter::<Value>() {
            let frame = value.expect("the fixture is concatenated JSON").to_string();
            docs.extend(normalize(&mut CloudWatchNormalizer, &frame).expect("normalizes"));
        }
        for file in [
            include_str!("../../../tests/fixtures/linux_auth_file/auth-log-rfc3339.log"),
            include_str!("../../../tests/fixtures/linux_auth_file/ssh-password-guessing.log"),
        ] {
            let mut n = FileNormalizer { clock: fixed };
            docs.extend(
                file.lines()
                    .filter_map(|line| normalize(&mut n, line).ok())
                    .flatten(),
            );
        }
        docs
    }

    fn has(d: &Value, path: &str, value: &str) -> bool {
        at(d, path)
            .as_array()
            .is_some_and(|a| a.iter().any(|v| v == value))
    }

    /// An authentication attempt, as the module documents it.
    fn is_attempt(d: &Value) -> bool {
        has(d, "event.category", "authentication") && has(d, "event.type", "start")
    }

    #[test]
    fn the_fixtures_hold_one_attempt_event_per_authentication_attempt() {
        let documents = fixture_documents();
        let attempts: Vec<(&str, &str)> = documents
            .iter()
            .filter(|d| is_attempt(d))
            .map(|d| {
                let outcome = at(d, "event.outcome").as_str().unwrap_or("(none)");
                (outcome, at(d, "message").as_str().unwrap_or_default())
            })
            .collect();
        let expected = [
            (
                "failure",
                "Failed password for root from 203.0.113.60 port 52000 ssh2",
            ),
            (
                "failure",
                "Failed password for root from 203.0.113.60 port 52000 ssh2",
            ),
            (
                "success",
                "Accepted publickey for ec2-user from 198.51.100.4 port 50400 ssh2: \
                 RSA SHA256:Zz2examplefingerprintCCCCCCCCCCCCCCCCCCCCCC",
            ),
            (
                "success",
                "Accepted publickey for alice from 198.51.100.4 port 50022 ssh2: \
                 ED25519 SHA256:Xq0examplefingerprintAAAAAAAAAAAAAAAAAAAAAA",
            ),
            (
                "success",
                "Accepted password for deploy from 198.51.100.5 port 50110 ssh2",
            ),
            (
                "failure",
                "Failed password for invalid user oracle from 203.0.113.50 port 41000 ssh2",
            ),
            (
                "failure",
                "Failed publickey for root from 203.0.113.51 port 41022 ssh2: \
                 RSA SHA256:Yy1examplefingerprintBBBBBBBBBBBBBBBBBBBBBB",
            ),
            ("success", "(to postgres) alice on pts/0"),
            ("failure", "FAILED SU (to root) deploy on pts/1"),
            (
                "failure",
                "Failed password for root from 203.0.113.70 port 53110 ssh2",
            ),
            (
                "failure",
                "Failed password for root from 203.0.113.70 port 53110 ssh2",
            ),
            (
                "failure",
                "Failed password for root from 203.0.113.70 port 53110 ssh2",
            ),
            (
                "failure",
                "Failed password for invalid user admin from 203.0.113.71 port 40222 ssh2",
            ),
        ];
        assert_eq!(attempts, expected);
    }

    #[test]
    fn only_attempt_events_have_an_authentication_outcome() {
        for d in fixture_documents().iter().filter(|d| !is_attempt(d)) {
            let authentication = has(d, "event.category", "authentication");
            assert!(
                !authentication || at(d, "event.outcome").is_null(),
                "{}",
                at(d, "event.original")
            );
        }
    }

    /// The Lucene query of a visualization of the Linux auth dashboard.
    fn panel_query(id: &str) -> String {
        let (_, ndjson) = crate::dashboards::SAVED_OBJECTS
            .iter()
            .find(|(file, _)| *file == "siem-linux-auth.ndjson")
            .expect("the Linux auth dashboard is embedded");
        let object: Value = ndjson
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|o| o["id"] == id)
            .unwrap_or_else(|| panic!("no saved object {id}"));
        let source = object["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"]
            .as_str()
            .expect("search source");
        let source: Value = serde_json::from_str(source).expect("search source is JSON");
        source["query"]["query"]
            .as_str()
            .expect("a Lucene query")
            .to_owned()
    }

    /// Whether `d` matches `query`, a conjunction of `field:value` terms (all
    /// the Lucene this dashboard's failed login panels use).
    fn matches(d: &Value, query: &str) -> bool {
        query.split(" AND ").all(|term| {
            let (field, value) = term
                .split_once(':')
                .unwrap_or_else(|| panic!("not field:value: {term}"));
            assert!(
                !value.contains([' ', '*', '(', '"']),
                "not a plain term: {term}"
            );
            at(d, field) == value || has(d, field, value)
        })
    }

    #[test]
    fn the_failed_logins_panels_count_each_failed_attempt_of_the_fixtures_once() {
        let documents = fixture_documents();
        let failed_attempts: Vec<&Value> = documents
            .iter()
            .filter(|d| is_attempt(d) && at(d, "event.outcome") == "failure")
            .collect();
        assert_eq!(failed_attempts.len(), 9);
        for id in [
            "siem-linux-auth-metric-failed",
            "siem-linux-auth-failed-over-time",
            "siem-linux-auth-failed-by-source",
            "siem-linux-auth-failed-by-user",
        ] {
            let query = panel_query(id);
            let counted: Vec<&Value> = documents.iter().filter(|d| matches(d, &query)).collect();
            assert_eq!(counted, failed_attempts, "{id}: {query}");
        }
    }

    #[test]
    fn other_message_types_are_errors() {
        assert!(
            normalize(
                &mut CloudWatchNormalizer,
                r#"{"messageType":"X","logEvents":[]}"#
            )
            .is_err()
        );
        assert!(normalize(&mut CloudWatchNormalizer, r#"{"logEvents":[]}"#).is_err());
    }
}
