//! Amazon Inspector (v2) findings.
//!
//! # What arrives
//!
//! Inspector findings reach S3 through EventBridge and Firehose, like Security
//! Hub's: concatenated EventBridge events, usually gzip, framed with
//! [`Framing::ConcatenatedJson`]. A frame is an event with `detail-type:
//! Inspector2 Finding` whose `detail` is the finding; Inspector's other known
//! events (`Inspector2 Scan`, `Inspector2 Coverage`, `Inspector2 AutoEnable`,
//! `Inspector Scan`) describe scans and coverage, not findings, and are
//! skipped; any other detail-type is a record error ([`eventbridge`]). Bare
//! findings (one JSON per line, as the `ListFindings` API and exports give
//! them) and `{"findings":[...]}` lists are read too.
//!
//! Routing: a key containing `inspector` (any case); otherwise
//! `normalize --log-type inspector`.
//!
//! Timestamps come as RFC 3339 strings, as `Wed Sep 04 16:59:44.356 UTC 2024`
//! (EventBridge events), as epoch seconds in numbers (`1749165997.322`) or in
//! strings in exponent notation (`"1.663703546405E9"`); all are read, and
//! written as RFC 3339 UTC with milliseconds.
//!
//! # Mapping
//!
//! The finding is kept whole under `aws.inspector` (a `flat_object`: `status`,
//! `fixAvailable`, `exploitAvailable`, `epss`, every fixed version… are
//! searchable there). ECS fields are derived:
//! - `@timestamp` `updatedAt`, `event.start` / `event.end` `firstObservedAt` /
//!   `lastObservedAt`, `event.id` `findingArn`; the document id is `findingArn`
//!   plus the normalized `updatedAt`, so the same update delivered as epoch
//!   seconds and as an ISO string is one document;
//! - a finding describes what *is* (a vulnerable package, an open path), not
//!   something that happened: `event.kind: state`, as ECS uses it for
//!   vulnerability scan results; categories `vulnerability` + `package`
//!   (package vulnerabilities), `vulnerability` (code vulnerabilities),
//!   `network` (network reachability); `event.type: info`;
//! - severity: `siem.severity.label` from `severity` (`UNTRIAGED` has no band
//!   and sets none), `siem.severity.score` the native `inspectorScore` (0–10),
//!   `event.severity` that score × 10, or Security Hub's number for the label
//!   when there is no score;
//! - `rule.name` `title`, `rule.category` `type`, `rule.id` the vulnerability
//!   id (or the code detector's id, or `type` for reachability findings),
//!   `rule.ruleset` `Inspector`, `message` `description`;
//! - package vulnerabilities: `vulnerability.id` (`vulnerabilityId`),
//!   `vulnerability.enumeration` `CVE` for CVE ids, `vulnerability.score.base`
//!   and `.version` from `inspectorScoreDetails.adjustedCvss` (else the highest
//!   `cvss[].baseScore`), `vulnerability.classification` `CVSS`,
//!   `vulnerability.severity` the finding's severity (`High`),
//!   `vulnerability.reference` `sourceUrl`, `vulnerability.scanner.vendor` `AWS`,
//!   `vulnerability.description`; `package.name`, `.version`, `.architecture`,
//!   `.path`, `.type` (the package manager) from `vulnerablePackages` (arrays when
//!   several). ECS has no field for the fixed version: it stays in the vendor
//!   tree (`aws.inspector.packageVulnerabilityDetails.vulnerablePackages.fixedInVersion`);
//! - code vulnerabilities: `vulnerability.id` the CWEs, `file.path` / `file.name`
//!   the affected source file;
//! - network reachability: `network.transport` the protocol, and
//!   `destination.port` the open port when the range is a single port (a range
//!   stays in the vendor tree);
//! - resources: EC2 instance → `cloud.instance.id`, `host.id`, `host.ip`,
//!   `cloud.machine.type`, `host.os.platform`; ECR image → `container.image.name`
//!   (repository), `.tag`, `.hash.all`; Lambda function → `faas.name`, `.id`,
//!   `.version`; `cloud.account.id` `awsAccountId`, `cloud.region` the
//!   resource's region.

use serde_json::Value;

use super::eventbridge::{self, DetailTypes, Unwrapped};
use super::finding::{
    PackageFields, Status, array_at, at, date, ip, iso, label, last_segment, normalized_of_label,
    not_an_object, number, one_or_many, port, push_unique, required_time, state_id, str_at,
    title_case,
};
use super::{DocId, LogType, NormalizeError, Normalized, Normalizer, parse_json};
use crate::decode::Framing;
use crate::ecs::{EcsDocument, Related};

pub struct Inspector;

impl LogType for Inspector {
    fn name(&self) -> &'static str {
        "inspector"
    }
    fn namespace(&self) -> &'static str {
        "aws.inspector"
    }
    fn index_template(&self) -> &'static str {
        include_str!("../../../mappings/index_templates/inspector.json")
    }
    fn framing(&self) -> Framing {
        Framing::ConcatenatedJson
    }
    fn matches_key(&self, key: &str) -> bool {
        key.to_ascii_lowercase().contains("inspector")
    }
    fn normalizer(&self) -> Box<dyn Normalizer> {
        Box::new(InspectorNormalizer)
    }
}

struct InspectorNormalizer;

/// Inspector's EventBridge events: findings, and the events about scans,
/// coverage and automatic activation that Inspector sends beside them.
const DETAIL_TYPES: DetailTypes = DetailTypes {
    findings: &["Inspector2 Finding"],
    skipped: &[
        "Inspector2 Scan",
        "Inspector2 Coverage",
        "Inspector2 AutoEnable",
        "Inspector Scan",
    ],
};

impl Normalizer for InspectorNormalizer {
    fn normalize(&mut self, frame: &[u8], out: &mut Vec<Normalized>) -> Result<(), NormalizeError> {
        let mut value = match eventbridge::unwrap(parse_json(frame)?, &DETAIL_TYPES)? {
            Unwrapped::Skipped => return Ok(()),
            Unwrapped::Event(event) => {
                out.push(normalize_finding(event.detail)?);
                return Ok(());
            }
            Unwrapped::Bare(value) => value,
        };
        if let Some(Value::Array(findings)) = value.get_mut("findings").map(Value::take) {
            for finding in findings {
                out.push(normalize_finding(finding)?);
            }
            return Ok(());
        }
        out.push(normalize_finding(value)?);
        Ok(())
    }
}

fn normalize_finding(f: Value) -> Result<Normalized, NormalizeError> {
    if !f.is_object() {
        return Err(not_an_object("(finding)"));
    }
    let arn = str_at(&f, &["findingArn"]).ok_or(NormalizeError::MissingField("findingArn"))?;
    let updated = required_time("updatedAt", f.get("updatedAt"))?;
    let kind = str_at(&f, &["type"]).unwrap_or_default();

    let mut doc = EcsDocument::new();
    let mut related = Related::default();
    doc.set("@timestamp", iso(updated));
    doc.set("message", str_at(&f, &["description"]));
    doc.set("event.kind", "state");
    doc.set("event.provider", "inspector2.amazonaws.com");
    doc.set("event.id", arn);
    // Inspector has no creation time: a finding is created when first seen.
    doc.set("event.created", date(f.get("firstObservedAt")));
    doc.set("event.start", date(f.get("firstObservedAt")));
    doc.set("event.end", date(f.get("lastObservedAt")));
    let status = match str_at(&f, &["status"]) {
        Some("SUPPRESSED") => Status::Suppressed,
        Some("CLOSED") => Status::Resolved,
        _ => Status::Open,
    };
    doc.set("siem.finding.status", status.label());
    doc.set("observer.vendor", "AWS");
    doc.set("observer.product", "Inspector");

    let vendor_label = str_at(&f, &["severity"]);
    let severity_label = vendor_label.and_then(label);
    let score = number(f.get("inspectorScore"));
    doc.set("siem.severity.label", severity_label);
    match score {
        Some(s) => {
            doc.set("siem.severity.score", s);
            doc.set(
                "event.severity",
                (s * 10.0).clamp(0.0, 100.0).round() as i64,
            );
        }
        None => doc.set(
            "event.severity",
            severity_label.and_then(normalized_of_label),
        ),
    }

    doc.set("rule.name", str_at(&f, &["title"]));
    doc.set("rule.description", str_at(&f, &["description"]));
    doc.set("rule.category", kind);
    doc.set("rule.ruleset", "Inspector");
    doc.set(
        "rule.reference",
        str_at(&f, &["remediation", "recommendation", "Url"]),
    );

    let mut categories = Vec::new();
    let package = f.get("packageVulnerabilityDetails");
    let code = f.get("codeVulnerabilityDetails");
    let reachability = f.get("networkReachabilityDetails");
    if let Some(p) = package {
        categories.extend(["vulnerability", "package"]);
        let id = str_at(p, &["vulnerabilityId"]);
        doc.set("rule.id", id);
        doc.set("vulnerability.id", id);
        doc.set(
            "vulnerability.enumeration",
            id.filter(|i| i.starts_with("CVE-")).map(|_| "CVE"),
        );
        let adjusted = at(&f, &["inspectorScoreDetails", "adjustedCvss"]);
        let best = array_at(p, &["cvss"])
            .iter()
            .filter_map(|c| Some((number(c.get("baseScore"))?, str_at(c, &["version"]))))
            .fold(None, |best: Option<(f64, Option<&str>)>, c| match best {
                Some(b) if b.0 >= c.0 => Some(b),
                _ => Some(c),
            });
        let base = adjusted
            .and_then(|a| Some((number(a.get("score"))?, str_at(a, &["version"]))))
            .or(best);
        if let Some((base, version)) = base {
            doc.set("vulnerability.score.base", base);
            doc.set("vulnerability.score.version", version);
            doc.set("vulnerability.classification", "CVSS");
        }
        doc.set(
            "vulnerability.reference",
            str_at(p, &["sourceUrl"]).or(array_at(p, &["referenceUrls"])
                .iter()
                .find_map(Value::as_str)),
        );
        let mut fields = PackageFields::default();
        for pkg in array_at(p, &["vulnerablePackages"]) {
            fields.add(
                pkg,
                ["name", "version", "arch", "filePath", "packageManager"],
            );
        }
        fields.write(&mut doc);
    }
    if let Some(c) = code {
        categories.push("vulnerability");
        let mut cwes = Vec::new();
        for cwe in array_at(c, &["cwes"]) {
            push_unique(&mut cwes, cwe.as_str());
        }
        doc.set("vulnerability.id", one_or_many(cwes));
        doc.set("rule.id", str_at(c, &["detectorId"]));
        doc.set("file.path", str_at(c, &["filePath", "filePath"]));
        doc.set("file.name", str_at(c, &["filePath", "fileName"]));
    }
    if package.is_some() || code.is_some() {
        doc.set("vulnerability.severity", vendor_label.map(title_case));
        doc.set("vulnerability.scanner.vendor", "AWS");
        doc.set("vulnerability.description", str_at(&f, &["description"]));
    }
    if let Some(r) = reachability {
        categories.push("network");
        doc.set("rule.id", kind);
        doc.set(
            "network.transport",
            str_at(r, &["protocol"]).map(str::to_ascii_lowercase),
        );
        let begin = port(at(r, &["openPortRange", "begin"]));
        if begin.is_some() && begin == port(at(r, &["openPortRange", "end"])) {
            doc.set("destination.port", begin);
        }
    }
    if categories.is_empty() {
        categories.push("vulnerability");
    }
    doc.set("event.category", categories);
    doc.set("event.type", vec!["info"]);

    doc.set("cloud.provider", "aws");
    doc.set("cloud.account.id", str_at(&f, &["awsAccountId"]));
    let resources = array_at(&f, &["resources"]);
    doc.set(
        "cloud.region",
        resources.iter().find_map(|r| str_at(r, &["region"])),
    );
    write_resources(&mut doc, &mut related, resources);

    related.write_to(&mut doc);
    // Exports write times as epoch seconds, events as text: the times are
    // not part of the state (the update time is in the id already).
    let state = state_id(
        arn,
        &iso(updated),
        &f,
        &["updatedAt", "firstObservedAt", "lastObservedAt"],
    );
    let key = arn.to_owned();
    doc.set("aws.inspector", f);
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

fn write_resources(doc: &mut EcsDocument, related: &mut Related, resources: &[Value]) {
    let Some(r) = resources.first() else { return };
    let rid = str_at(r, &["id"]).unwrap_or_default();
    let details = r.get("details").unwrap_or(&Value::Null);
    match str_at(r, &["type"]).unwrap_or_default() {
        "AWS_EC2_INSTANCE" => {
            let ec2 = details.get("awsEc2Instance").unwrap_or(&Value::Null);
            doc.set("cloud.instance.id", rid);
            doc.set("host.id", rid);
            related.host(Some(rid));
            doc.set("cloud.machine.type", str_at(ec2, &["type"]));
            doc.set(
                "host.os.platform",
                str_at(ec2, &["platform"]).map(str::to_ascii_lowercase),
            );
            let mut ips = Vec::new();
            for a in array_at(ec2, &["ipV4Addresses"])
                .iter()
                .chain(array_at(ec2, &["ipV6Addresses"]))
            {
                push_unique(&mut ips, ip(a.as_str()));
            }
            for a in &ips {
                related.ip(Some(a));
            }
            if !ips.is_empty() {
                doc.set("host.ip", ips);
            }
        }
        "AWS_ECR_CONTAINER_IMAGE" => {
            let image = details.get("awsEcrContainerImage").unwrap_or(&Value::Null);
            doc.set("container.image.name", str_at(image, &["repositoryName"]));
            let tags: Vec<String> = array_at(image, &["imageTags"])
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect();
            doc.set("container.image.tag", one_or_many(tags));
            if let Some(hash) = str_at(image, &["imageHash"]) {
                doc.set("container.image.hash.all", vec![hash]);
            }
        }
        "AWS_LAMBDA_FUNCTION" => {
            let function = details.get("awsLambdaFunction").unwrap_or(&Value::Null);
            doc.set(
                "faas.name",
                str_at(function, &["functionName"]).unwrap_or_else(|| last_segment(rid)),
            );
            doc.set("faas.id", rid);
            doc.set("faas.version", str_at(function, &["version"]));
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn package_finding() -> Value {
        json!({
            "awsAccountId": "123456789012", "findingArn": "arn:aws:inspector2:us-east-1:123456789012:finding/f1",
            "type": "PACKAGE_VULNERABILITY", "severity": "HIGH", "status": "ACTIVE", "title": "CVE-2026-0001 - openssl",
            "description": "d", "inspectorScore": 7.5, "firstObservedAt": "1.664363536E9", "updatedAt": 1664363600.5,
            "inspectorScoreDetails": {"adjustedCvss": {"score": 7.5, "version": "3.1"}},
            "packageVulnerabilityDetails": {"vulnerabilityId": "CVE-2026-0001", "sourceUrl": "https://nvd.nist.gov/vuln/detail/CVE-2026-0001",
                "cvss": [{"baseScore": 9.8, "version": "3.1"}],
                "vulnerablePackages": [{"name": "openssl", "version": "3.0.1", "fixedInVersion": "3.0.2", "packageManager": "OS", "arch": "X86_64"}]},
            "resources": [{"type": "AWS_EC2_INSTANCE", "id": "i-0abc", "region": "us-east-1",
                "details": {"awsEc2Instance": {"ipV4Addresses": ["10.0.0.5", "198.51.100.7"], "type": "t3.micro", "platform": "AMAZON_LINUX_2023"}}}]
        })
    }

    #[test]
    fn status_active_is_open_suppressed_is_suppressed_closed_is_resolved() {
        for (status, expected) in [
            ("ACTIVE", "open"),
            ("SUPPRESSED", "suppressed"),
            ("CLOSED", "resolved"),
        ] {
            let mut f = package_finding();
            f["status"] = json!(status);
            let n = run(f).expect("normalizes").remove(0);
            assert_eq!(
                n.document["siem"]["finding"]["status"], expected,
                "{status}"
            );
            assert_eq!(
                n.document["event"]["created"], "2022-09-28T11:12:16.000Z",
                "first seen is when it was made"
            );
        }
    }

    fn run(v: Value) -> Result<Vec<Normalized>, NormalizeError> {
        let mut out = Vec::new();
        InspectorNormalizer.normalize(v.to_string().as_bytes(), &mut out)?;
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
    fn a_package_vulnerability_fills_vulnerability_package_and_host() {
        let n = &run(package_finding()).expect("normalizes")[0];
        assert_eq!(get(n, "event.kind"), "state");
        assert_eq!(
            get(n, "event.category"),
            &json!(["vulnerability", "package"])
        );
        assert_eq!(get(n, "vulnerability.id"), "CVE-2026-0001");
        assert_eq!(
            get(n, "vulnerability.score.base"),
            7.5,
            "Inspector's adjusted score wins"
        );
        assert_eq!(get(n, "vulnerability.severity"), "High");
        assert_eq!(get(n, "package.name"), "openssl");
        assert_eq!(
            get(n, "package.fixed_version"),
            &Value::Null,
            "not an ECS field"
        );
        assert_eq!(get(n, "cloud.instance.id"), "i-0abc");
        assert_eq!(get(n, "host.ip"), &json!(["10.0.0.5", "198.51.100.7"]));
        assert_eq!(get(n, "event.severity"), 75);
        assert_eq!(get(n, "siem.severity.label"), "high");
    }

    #[test]
    fn epoch_and_exponent_timestamps_become_iso_and_shape_the_id() {
        let n = &run(package_finding()).expect("normalizes")[0];
        assert_eq!(get(n, "@timestamp"), "2022-09-28T11:13:20.500Z");
        assert_eq!(get(n, "event.start"), "2022-09-28T11:12:16.000Z");
        let mut iso_shape = package_finding();
        iso_shape["updatedAt"] = json!("2022-09-28T11:13:20.500Z");
        assert_eq!(
            run(iso_shape).expect("normalizes")[0].id,
            n.id,
            "same update, same document"
        );
    }

    #[test]
    fn the_eventbridge_event_is_unwrapped_and_scan_events_are_skipped() {
        let event = json!({"version": "0", "detail-type": "Inspector2 Finding", "source": "aws.inspector2", "detail": package_finding()});
        assert_eq!(run(event).expect("normalizes").len(), 1);
        let scan = json!({"detail-type": "Inspector2 Scan", "source": "aws.inspector2", "detail": {"scan-status": "INITIAL_SCAN_COMPLETE"}});
        assert!(run(scan).expect("skipped").is_empty());
        let other = json!({"detail-type": "GuardDuty Finding", "detail": {}});
        assert!(run(other).is_err());
    }

    #[test]
    fn an_inspector_event_of_an_unknown_detail_type_is_a_record_error_not_skipped() {
        let new_kind = json!({"detail-type": "Inspector2 Finding Summary", "source": "aws.inspector2", "detail": {}});
        let err = run(new_kind).expect_err("dead-lettered, not dropped");
        assert!(
            err.to_string().contains("Inspector2 Finding Summary"),
            "{err}"
        );
    }

    #[test]
    fn a_single_open_port_is_the_destination_port_and_a_range_is_not() {
        let mut f = package_finding();
        let obj = f.as_object_mut().expect("object");
        obj.remove("packageVulnerabilityDetails");
        obj.remove("inspectorScore");
        f["type"] = json!("NETWORK_REACHABILITY");
        f["severity"] = json!("MEDIUM");
        f["networkReachabilityDetails"] =
            json!({"openPortRange": {"begin": 22, "end": 22}, "protocol": "TCP"});
        let n = &run(f.clone()).expect("normalizes")[0];
        assert_eq!(get(n, "destination.port"), 22);
        assert_eq!(get(n, "network.transport"), "tcp");
        assert_eq!(get(n, "event.category"), &json!(["network"]));
        assert_eq!(get(n, "event.severity"), 40);
        f["networkReachabilityDetails"]["openPortRange"]["end"] = json!(1024);
        assert_eq!(
            get(&run(f).expect("normalizes")[0], "destination.port"),
            &Value::Null
        );
    }

    #[test]
    fn ecr_images_and_lambda_functions_are_described() {
        let mut f = package_finding();
        f["resources"] = json!([{"type": "AWS_ECR_CONTAINER_IMAGE", "id": "arn:aws:ecr:us-east-1:123456789012:repository/web/sha256:ab",
            "details": {"awsEcrContainerImage": {"repositoryName": "web", "imageTags": ["1.2", "latest"], "imageHash": "sha256:ab"}}}]);
        let n = &run(f.clone()).expect("normalizes")[0];
        assert_eq!(get(n, "container.image.name"), "web");
        assert_eq!(get(n, "container.image.tag"), &json!(["1.2", "latest"]));
        f["resources"] = json!([{"type": "AWS_LAMBDA_FUNCTION", "id": "arn:aws:lambda:us-east-1:123456789012:function:resize",
            "details": {"awsLambdaFunction": {"functionName": "resize", "version": "$LATEST"}}}]);
        let n = &run(f).expect("normalizes")[0];
        assert_eq!(get(n, "faas.name"), "resize");
    }

    #[test]
    fn untriaged_has_no_severity_band() {
        let mut f = package_finding();
        f["severity"] = json!("UNTRIAGED");
        let n = &run(f).expect("normalizes")[0];
        assert_eq!(get(n, "siem.severity.label"), &Value::Null);
        assert_eq!(get(n, "vulnerability.severity"), "Untriaged");
    }

    #[test]
    fn missing_arn_or_unreadable_update_time_is_a_record_error() {
        let mut f = package_finding();
        f["updatedAt"] = json!("later");
        assert!(run(f.clone()).is_err());
        f.as_object_mut().expect("object").remove("findingArn");
        assert_eq!(
            run(f).err(),
            Some(NormalizeError::MissingField("findingArn"))
        );
    }
}
