//! Amazon Macie (`macie2`) findings and sensitive data discovery results.
//!
//! # What arrives
//!
//! - Findings reach S3 through EventBridge and Firehose: concatenated
//!   EventBridge events (`detail-type: Macie Finding`, the finding in
//!   `detail`), usually gzip. Bare findings and `{"findings":[...]}` lists (the
//!   `GetFindings` shape) are read too. Events of any other detail-type
//!   (`Macie Alert`, the classic Macie) are record errors ([`eventbridge`]).
//! - Sensitive data discovery results: the analysis record Macie writes to its
//!   discovery results bucket for every S3 object it analyses (gzip JSON Lines,
//!   under `AWSLogs/<account>/Macie/<region>/…`). They share the finding's
//!   `classificationDetails` and `resourcesAffected` but carry no `type` or
//!   `severity`; a record without both is read as a discovery result.
//!
//! Both are framed with [`Framing::ConcatenatedJson`] (JSON Lines are a special
//! case of it). Routing: a key containing `macie` (any case); otherwise
//! `normalize --log-type macie`.
//!
//! # Mapping
//!
//! The record is kept whole under `aws.macie` (a `flat_object`): sensitive data
//! categories, detection types and counts
//! (`aws.macie.classificationDetails.result.sensitiveData.detections.type`),
//! bucket public-access and encryption settings are searchable there; ECS has
//! no field set for them. ECS fields are derived:
//! - findings: `event.kind: alert`, `@timestamp` `updatedAt`, `event.created`
//!   `createdAt`, `event.id` `id`, document id `id` + `updatedAt`; `rule.name`
//!   and `rule.id` the finding `type` (`SensitiveData:S3Object/Personal`),
//!   `rule.category` its part before `:`, `rule.description` `title`, `message`
//!   `description`, `rule.ruleset` `Macie`;
//! - severity: `siem.severity.label` from `severity.description` (or the score
//!   1/2/3 → low/medium/high), `siem.severity.score` the native score (1–3),
//!   `event.severity` Security Hub's number for the label (1, 40, 70);
//! - sensitive data findings (`category: CLASSIFICATION`): `event.category:
//!   file`; the affected object as `file.path` (`s3://bucket/key`), `file.name`,
//!   `file.directory`, `file.extension`, `file.size`, `file.mtime` and
//!   `file.mime_type` (the classified MIME type);
//! - policy findings (`category: POLICY`): `event.category: configuration`;
//!   the API call that changed the policy, when given, as `event.action`, its
//!   caller as `source.ip` / `source.geo.*` / `source.as.*` and `user.name` /
//!   `user.id`;
//! - discovery results: `event.kind: event`, `event.category: file`,
//!   `event.type: info`, the same `file.*` and `cloud.*`, `@timestamp`
//!   `createdAt` (or `updatedAt`), and a positional document id (a result has
//!   no update history: the same object read twice gives the same ids).

use serde_json::Value;

use super::eventbridge::{self, DetailTypes, Unwrapped};
use super::finding::{
    Status, count, date, ip, iso, label, normalized_of_label, not_an_object, number, required_time,
    state_id, str_at,
};
use super::{DocId, LogType, NormalizeError, Normalized, Normalizer, parse_json};
use crate::decode::Framing;
use crate::ecs::{EcsDocument, Related};

pub struct Macie;

impl LogType for Macie {
    fn name(&self) -> &'static str {
        "macie"
    }
    fn namespace(&self) -> &'static str {
        "aws.macie"
    }
    fn index_template(&self) -> &'static str {
        include_str!("../../../mappings/index_templates/macie.json")
    }
    fn framing(&self) -> Framing {
        Framing::ConcatenatedJson
    }
    fn matches_key(&self, key: &str) -> bool {
        key.to_ascii_lowercase().contains("macie")
    }
    fn normalizer(&self) -> Box<dyn Normalizer> {
        Box::new(MacieNormalizer)
    }
}

struct MacieNormalizer;

/// Macie's EventBridge events: only findings (a `Macie Alert` of the classic
/// Macie is not of this schema).
const DETAIL_TYPES: DetailTypes = DetailTypes {
    findings: &["Macie Finding"],
    skipped: &[],
};

impl Normalizer for MacieNormalizer {
    fn normalize(&mut self, frame: &[u8], out: &mut Vec<Normalized>) -> Result<(), NormalizeError> {
        let mut value = match eventbridge::unwrap(parse_json(frame)?, &DETAIL_TYPES)? {
            Unwrapped::Skipped => return Ok(()),
            Unwrapped::Event(event) => {
                out.push(normalize_record(event.detail)?);
                return Ok(());
            }
            Unwrapped::Bare(value) => value,
        };
        if let Some(Value::Array(findings)) = value.get_mut("findings").map(Value::take) {
            for finding in findings {
                out.push(normalize_record(finding)?);
            }
            return Ok(());
        }
        out.push(normalize_record(value)?);
        Ok(())
    }
}

fn normalize_record(r: Value) -> Result<Normalized, NormalizeError> {
    if !r.is_object() {
        return Err(not_an_object("(record)"));
    }
    if r.get("type").is_some() && r.get("severity").is_some() {
        normalize_finding(r)
    } else {
        normalize_discovery_result(r)
    }
}

fn base(doc: &mut EcsDocument, r: &Value) {
    doc.set("event.provider", "macie2.amazonaws.com");
    doc.set("observer.vendor", "AWS");
    doc.set("observer.product", "Macie");
    doc.set("cloud.provider", "aws");
    doc.set("cloud.account.id", str_at(r, &["accountId"]));
    doc.set("cloud.region", str_at(r, &["region"]));
}

fn normalize_finding(f: Value) -> Result<Normalized, NormalizeError> {
    let id = str_at(&f, &["id"]).ok_or(NormalizeError::MissingField("id"))?;
    let updated = required_time("updatedAt", f.get("updatedAt"))?;
    let finding_type = str_at(&f, &["type"]).unwrap_or_default();

    let mut doc = EcsDocument::new();
    let mut related = Related::default();
    doc.set("@timestamp", iso(updated));
    doc.set("message", str_at(&f, &["description"]));
    doc.set("event.kind", "alert");
    doc.set("event.id", id);
    doc.set("event.created", date(f.get("createdAt")));
    doc.set(
        "siem.finding.status",
        Status::archived_or_open(f.get("archived")).label(),
    );
    base(&mut doc, &f);

    let score = number(f.get("severity").and_then(|s| s.get("score")));
    let severity_label = str_at(&f, &["severity", "description"])
        .and_then(label)
        .or(match score {
            Some(s) if s >= 3.0 => Some("high"),
            Some(s) if s >= 2.0 => Some("medium"),
            Some(s) if s >= 1.0 => Some("low"),
            _ => None,
        });
    doc.set("siem.severity.label", severity_label);
    doc.set("siem.severity.score", score);
    doc.set(
        "event.severity",
        severity_label.and_then(normalized_of_label),
    );

    doc.set("rule.name", finding_type);
    doc.set("rule.id", finding_type);
    doc.set(
        "rule.category",
        finding_type
            .split_once(':')
            .map_or(finding_type, |(c, _)| c),
    );
    doc.set("rule.description", str_at(&f, &["title"]));
    doc.set("rule.ruleset", "Macie");

    let is_policy =
        str_at(&f, &["category"]) == Some("POLICY") || finding_type.starts_with("Policy:");
    doc.set(
        "event.category",
        vec![if is_policy { "configuration" } else { "file" }],
    );
    doc.set("event.type", vec!["info"]);
    write_object(&mut doc, &f);
    if is_policy {
        write_actor(&mut doc, &mut related, &f);
    }

    related.write_to(&mut doc);
    let state = state_id(id, &iso(updated), &f, &[]);
    let key = id.to_owned();
    doc.set("aws.macie", f);
    Ok(Normalized {
        document: doc.into_map(),
        timestamp: updated,
        id: DocId::Finding {
            state,
            key,
            version: super::finding::version(updated),
        },
    })
}

fn normalize_discovery_result(r: Value) -> Result<Normalized, NormalizeError> {
    if r.get("classificationDetails").is_none() && r.get("resourcesAffected").is_none() {
        return Err(NormalizeError::MissingField("type"));
    }
    let (field, time) = match r.get("createdAt") {
        Some(v) if !v.is_null() => ("createdAt", Some(v)),
        _ => ("updatedAt", r.get("updatedAt")),
    };
    let created = required_time(field, time)?;

    let mut doc = EcsDocument::new();
    doc.set("@timestamp", iso(created));
    doc.set("event.kind", "event");
    doc.set("event.category", vec!["file"]);
    doc.set("event.type", vec!["info"]);
    doc.set("event.id", str_at(&r, &["id"]));
    doc.set(
        "event.outcome",
        match str_at(&r, &["classificationDetails", "result", "status", "code"]) {
            Some("COMPLETE") => Some("success"),
            Some("PARTIAL" | "SKIPPED") => Some("failure"),
            _ => None,
        },
    );
    base(&mut doc, &r);
    write_object(&mut doc, &r);
    doc.set("aws.macie", r);
    Ok(Normalized {
        document: doc.into_map(),
        timestamp: created,
        id: DocId::Positional,
    })
}

/// The affected S3 object as `file.*`.
fn write_object(doc: &mut EcsDocument, r: &Value) {
    let Some(object) = r.get("resourcesAffected").and_then(|a| a.get("s3Object")) else {
        return;
    };
    let key = str_at(object, &["key"]);
    let bucket = str_at(r, &["resourcesAffected", "s3Bucket", "name"])
        .or(str_at(object, &["path"])
            .and_then(|p| p.split_once('/'))
            .map(|(b, _)| b))
        .or(str_at(object, &["bucketArn"]).and_then(|a| a.rsplit(':').next()));
    if let (Some(bucket), Some(key)) = (bucket, key) {
        doc.set("file.path", format!("s3://{bucket}/{key}"));
        let directory = key
            .rsplit_once('/')
            .map_or(String::new(), |(d, _)| format!("/{d}"));
        doc.set("file.directory", format!("s3://{bucket}{directory}"));
    }
    doc.set("file.name", key.map(|k| k.rsplit('/').next().unwrap_or(k)));
    doc.set("file.extension", str_at(object, &["extension"]));
    doc.set("file.size", count(object.get("size")));
    doc.set("file.mtime", date(object.get("lastModified")));
    doc.set(
        "file.mime_type",
        str_at(r, &["classificationDetails", "result", "mimeType"]),
    );
}

/// Who changed a bucket's policy, for policy findings that say so.
fn write_actor(doc: &mut EcsDocument, related: &mut Related, f: &Value) {
    let Some(details) = f.get("policyDetails") else {
        return;
    };
    doc.set(
        "event.action",
        str_at(details, &["action", "apiCallDetails", "api"]),
    );
    let actor = details.get("actor").unwrap_or(&Value::Null);
    let address = actor.get("ipAddressDetails").unwrap_or(&Value::Null);
    let source = ip(str_at(address, &["ipAddressV4"]));
    doc.set("source.ip", source);
    doc.set("source.address", source);
    related.ip(source);
    if source.is_some() {
        doc.set(
            "source.geo.country_iso_code",
            str_at(address, &["ipCountry", "code"]),
        );
        doc.set(
            "source.geo.country_name",
            str_at(address, &["ipCountry", "name"]),
        );
        doc.set("source.geo.city_name", str_at(address, &["ipCity", "name"]));
        if let (Some(lat), Some(lon)) = (
            number(address.get("ipGeoLocation").and_then(|g| g.get("lat"))),
            number(address.get("ipGeoLocation").and_then(|g| g.get("lon"))),
        ) {
            doc.set(
                "source.geo.location",
                serde_json::json!({"lat": lat, "lon": lon}),
            );
        }
        if let Some(asn) =
            count(address.get("ipOwner").and_then(|o| o.get("asn"))).filter(|a| *a > 0)
        {
            doc.set("source.as.number", asn);
        }
        doc.set(
            "source.as.organization.name",
            str_at(address, &["ipOwner", "asnOrg"]),
        );
    }
    doc.set(
        "source.domain",
        str_at(actor, &["domainDetails", "domainName"]),
    );
    let identity = actor.get("userIdentity").unwrap_or(&Value::Null);
    let (name, id) = match str_at(identity, &["type"]).unwrap_or_default() {
        "IAMUser" => (
            str_at(identity, &["iamUser", "userName"]),
            str_at(identity, &["iamUser", "principalId"]),
        ),
        "AssumedRole" => (
            str_at(
                identity,
                &["assumedRole", "sessionContext", "sessionIssuer", "userName"],
            ),
            str_at(identity, &["assumedRole", "principalId"]),
        ),
        "FederatedUser" => (
            str_at(
                identity,
                &[
                    "federatedUser",
                    "sessionContext",
                    "sessionIssuer",
                    "userName",
                ],
            ),
            str_at(identity, &["federatedUser", "principalId"]),
        ),
        "Root" => (Some("root"), str_at(identity, &["root", "principalId"])),
        "AWSService" => (str_at(identity, &["awsService", "invokedBy"]), None),
        _ => (None, None),
    };
    doc.set("user.name", name);
    doc.set("user.id", id);
    related.user(name);
    if let Some(kind) = ["iamUser", "assumedRole", "federatedUser", "root"]
        .into_iter()
        .find(|k| identity.get(*k).is_some())
    {
        related.access_key(str_at(identity, &[kind, "accessKeyId"]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sensitive() -> Value {
        json!({
            "schemaVersion": "1.0", "id": "m1", "accountId": "123456789012", "region": "us-east-1", "partition": "aws",
            "type": "SensitiveData:S3Object/Personal", "category": "CLASSIFICATION", "title": "t", "description": "d",
            "severity": {"score": 2, "description": "Medium"}, "count": 1, "archived": false,
            "createdAt": "2026-11-27T10:00:00.000Z", "updatedAt": "2026-11-28T10:00:00.000Z",
            "classificationDetails": {"result": {"mimeType": "text/csv", "sizeClassified": 2048,
                "sensitiveData": [{"category": "PERSONAL_INFORMATION", "totalCount": 30,
                    "detections": [{"type": "USA_SOCIAL_SECURITY_NUMBER", "count": 30}]}]}},
            "resourcesAffected": {"s3Bucket": {"name": "hr-exports"},
                "s3Object": {"key": "2026/11/payroll.csv", "extension": "csv", "size": 2048, "lastModified": "2026-11-26T08:00:00Z"}}
        })
    }

    #[test]
    fn an_archived_finding_is_suppressed() {
        let mut f = sensitive();
        let n = run(f.clone()).expect("normalizes").remove(0);
        assert_eq!(n.document["siem"]["finding"]["status"], "open");
        f["archived"] = json!(true);
        let n = run(f).expect("normalizes").remove(0);
        assert_eq!(n.document["siem"]["finding"]["status"], "suppressed");
    }

    fn run(v: Value) -> Result<Vec<Normalized>, NormalizeError> {
        let mut out = Vec::new();
        MacieNormalizer.normalize(v.to_string().as_bytes(), &mut out)?;
        Ok(out)
    }

    fn get<'a>(n: &'a Normalized, path: &str) -> &'a Value {
        let mut parts = path.split('.');
        let first = n
            .document
            .get(parts.next().unwrap_or_default())
            .unwrap_or(&Value::Null);
        parts.fold(first, |v, p| v.get(p).unwrap_or(&Value::Null))
    }

    #[test]
    fn a_sensitive_data_finding_names_the_s3_object_as_a_file() {
        let n = &run(sensitive()).expect("normalizes")[0];
        assert_eq!(get(n, "event.kind"), "alert");
        assert_eq!(get(n, "event.category"), &json!(["file"]));
        assert_eq!(get(n, "file.path"), "s3://hr-exports/2026/11/payroll.csv");
        assert_eq!(get(n, "file.directory"), "s3://hr-exports/2026/11");
        assert_eq!(get(n, "file.name"), "payroll.csv");
        assert_eq!(get(n, "file.size"), 2048);
        assert_eq!(get(n, "file.mime_type"), "text/csv");
        assert_eq!(get(n, "rule.category"), "SensitiveData");
        assert_eq!(get(n, "siem.severity.label"), "medium");
        assert_eq!(get(n, "event.severity"), 40);
        assert_eq!(
            get(n, "aws.macie.classificationDetails.result.sensitiveData")[0]["detections"][0]["type"],
            "USA_SOCIAL_SECURITY_NUMBER"
        );
        assert!(
            matches!(&n.id, DocId::Finding { state, key, .. } if state.starts_with("m1\u{1f}2026-11-28T10:00:00.000Z") && state.len() == "m1\u{1f}2026-11-28T10:00:00.000Z".len() + 17 && key == "m1"),
            "the finding's id, its update time and a hash of its state: {:?}",
            n.id
        );
    }

    #[test]
    fn a_policy_finding_names_the_caller() {
        let mut f = sensitive();
        f["type"] = json!("Policy:IAMUser/S3BlockPublicAccessDisabled");
        f["category"] = json!("POLICY");
        f["severity"] = json!({"score": 3});
        f["policyDetails"] = json!({"action": {"actionType": "AWS_API_CALL", "apiCallDetails": {"api": "PutBucketPublicAccessBlock"}},
            "actor": {"ipAddressDetails": {"ipAddressV4": "203.0.113.40", "ipOwner": {"asn": "64500"}},
                      "userIdentity": {"type": "IAMUser", "iamUser": {"userName": "alice", "principalId": "AIDAEXAMPLE"}}}});
        let n = &run(f).expect("normalizes")[0];
        assert_eq!(get(n, "event.category"), &json!(["configuration"]));
        assert_eq!(get(n, "event.action"), "PutBucketPublicAccessBlock");
        assert_eq!(get(n, "source.ip"), "203.0.113.40");
        assert_eq!(get(n, "source.as.number"), 64500);
        assert_eq!(get(n, "user.name"), "alice");
        assert_eq!(
            get(n, "siem.severity.label"),
            "high",
            "from the score when there is no description"
        );
    }

    #[test]
    fn a_discovery_result_is_an_event_with_a_positional_id() {
        let r = json!({"accountId": "123456789012", "region": "us-east-1", "createdAt": "2026-11-28T10:00:00Z",
            "classificationDetails": {"result": {"status": {"code": "COMPLETE"}, "mimeType": "application/json"}},
            "resourcesAffected": {"s3Object": {"path": "data-lake/raw/a.json", "key": "raw/a.json"}}});
        let n = &run(r).expect("normalizes")[0];
        assert_eq!(get(n, "event.kind"), "event");
        assert_eq!(get(n, "event.outcome"), "success");
        assert_eq!(get(n, "file.path"), "s3://data-lake/raw/a.json");
        assert_eq!(n.id, DocId::Positional);
    }

    #[test]
    fn the_eventbridge_event_is_unwrapped_and_other_events_are_errors() {
        let event =
            json!({"detail-type": "Macie Finding", "source": "aws.macie", "detail": sensitive()});
        assert_eq!(run(event).expect("normalizes").len(), 1);
        assert!(run(json!({"detail-type": "Macie Alert", "detail": {}})).is_err());
        assert!(run(json!({"hello": 1})).is_err());
    }
}
