//! AWS Security Hub findings in the AWS Security Finding Format (ASFF).
//!
//! # What arrives
//!
//! Security Hub has no S3 export of its own: findings reach S3 through an
//! EventBridge rule and a Firehose stream, so an object holds EventBridge
//! events concatenated with no delimiter (usually gzip), framed with
//! [`Framing::ConcatenatedJson`] (JSON Lines are a special case of it). Each
//! frame may be:
//! - an EventBridge event with `detail-type` `Security Hub Findings - Imported`
//!   or `Security Hub Findings - Custom Action`, whose `detail.findings` is an
//!   array: one event gives one document per finding;
//! - a `Security Hub Insight Results` event: aggregate counts of a saved
//!   insight, sent when someone runs a custom action on it. It holds no
//!   finding and is skipped (zero documents, not an error);
//! - an event of any other detail-type (the OCSF `Findings Imported V2`, for
//!   one) is a record error, not read as ASFF ([`eventbridge`]);
//! - plain ASFF: `{"Findings":[...]}` (the `GetFindings` / `BatchImportFindings`
//!   shape), an array of findings, or one bare finding.
//!
//! A frame is one record: if one finding of a multi-finding event cannot be
//! normalized, the whole event is reported as the record error (and the queue
//! message is retried, then dead-lettered), so no finding is lost silently.
//!
//! Routing: Firehose prefixes are chosen by the user, so a key routes here when
//! it contains `securityhub`, `security-hub` or `security_hub` (any case).
//! Any other prefix works with `normalize --log-type securityhub`.
//!
//! # Mapping
//!
//! The finding is kept whole under `aws.securityhub` (a `flat_object`), which
//! is also where `Workflow.Status`, `RecordState`, `Compliance.StatusReasons`,
//! `ProductFields` and every `Resources[].Details` stay searchable, e.g.
//! `aws.securityhub.Workflow.Status: NEW`. ECS fields are derived:
//! - `@timestamp` `UpdatedAt`, `event.created` `CreatedAt`, `event.start` /
//!   `event.end` `FirstObservedAt` / `LastObservedAt`, all rewritten as RFC 3339
//!   UTC with milliseconds; `event.id` `Id`;
//! - `event.severity` `Severity.Normalized` (0–100; from the label with
//!   Security Hub's own 0/1/40/70/90 when only a label is given),
//!   `siem.severity.label` `Severity.Label` lowercased (or the band of the
//!   normalized score), `siem.severity.score` the product's native score
//!   (`Severity.Original` when numeric, else the normalized one);
//! - `rule.name` `Title`, `rule.description` and `message` `Description`,
//!   `rule.id` the control id (`Compliance.SecurityControlId`,
//!   `ProductFields.ControlId` or `.RuleId`) else `GeneratorId`, `rule.ruleset`
//!   the standards (`Compliance.AssociatedStandards`, `ProductFields.StandardsArn`
//!   or `.StandardsGuideArn`, without their `standards/` or `ruleset/` prefix)
//!   else the product name, `rule.category` the finding `Types`,
//!   `rule.reference` the remediation URL;
//! - the producing product (Security Hub controls, GuardDuty, Inspector, Macie,
//!   IAM Access Analyzer, Config, Health, third parties) in `observer.vendor`
//!   (`CompanyName`) and `observer.product` (`ProductName`), and its short name
//!   from `ProductArn` in `event.provider`;
//! - kind: ECS has no compliance field set. A finding with a
//!   `Compliance.Status` is a control evaluation, the state of a resource:
//!   `event.kind: state`, `event.category: configuration`, and `event.outcome`
//!   `success` for `PASSED`, `failure` for `FAILED`, `unknown` for `WARNING`
//!   and `NOT_AVAILABLE` (the status itself stays in the vendor tree). A finding
//!   with `Vulnerabilities` is also a state (`vulnerability`, plus `package`
//!   when packages are named). Everything else is a detection: `event.kind: alert`;
//! - `Resources[]`: `cloud.account.id` (`AwsAccountId`), `cloud.region`,
//!   `cloud.instance.id` / `host.id` / `host.ip` / `cloud.machine.type` for the
//!   first `AwsEc2Instance`, `user.name` for IAM users, roles and access keys,
//!   `container.image.*` for ECR images, `faas.*` for Lambda functions,
//!   `related.*` for every one of them;
//! - `Network` → `source.*`, `destination.*`, `network.*`; `Process` → `process.*`;
//!   `Vulnerabilities[]` → `vulnerability.*` (ids, highest CVSS base score and
//!   its version, reference, scanner vendor) and `package.*` (name, version,
//!   architecture, path, package manager; the fixed version has no ECS field
//!   and stays in the vendor tree). Several vulnerabilities or packages give
//!   arrays.
//! - A `Custom Action` event's action name is `event.action`; otherwise
//!   `event.action` is the finding's `Action.ActionType`, lowercased.
//!
//! A finding of an unknown product, or with parts missing or shaped
//! unexpectedly, still normalizes with what it has: only `Id` and a readable
//! `UpdatedAt` are required.
//!
//! # Updates and the current state
//!
//! Every distinct state of a finding is a document of its own (its history):
//! the id is `Id`, `UpdatedAt` and a hash of the finding, so that a
//! `BatchUpdateFindings` change that keeps `UpdatedAt` (a workflow status, a
//! note) is kept too, and the same state delivered twice (or once through
//! `Imported` and once through a custom action) is one document. The newest
//! state of each finding is also kept in the current-findings index, under
//! the finding key it shares with GuardDuty's own export.
//! `siem.finding.status` says where it stands: `suppressed` for
//! `Workflow.Status: SUPPRESSED`, `resolved` for `RESOLVED` or
//! `RecordState: ARCHIVED`, `open` otherwise.

use serde_json::Value;

use super::eventbridge::{self, DetailTypes, Unwrapped};
use super::finding::{
    PackageFields, Status, array_at, at, count, date, ip, iso, label, label_of_normalized,
    last_segment, normalized_of_label, not_an_object, number, one_or_many, port, push_unique,
    required_time, state_id, str_at, title_case,
};
use super::{DocId, LogType, NormalizeError, Normalized, Normalizer, parse_json};
use crate::decode::Framing;
use crate::ecs::{EcsDocument, Related};

pub struct SecurityHub;

impl LogType for SecurityHub {
    fn name(&self) -> &'static str {
        "securityhub"
    }
    fn namespace(&self) -> &'static str {
        "aws.securityhub"
    }
    fn index_template(&self) -> &'static str {
        include_str!("../../../mappings/index_templates/securityhub.json")
    }
    fn framing(&self) -> Framing {
        Framing::ConcatenatedJson
    }
    fn matches_key(&self, key: &str) -> bool {
        let key = key.to_ascii_lowercase();
        ["securityhub", "security-hub", "security_hub"]
            .iter()
            .any(|p| key.contains(p))
    }
    fn normalizer(&self) -> Box<dyn Normalizer> {
        Box::new(SecurityHubNormalizer)
    }
}

struct SecurityHubNormalizer;

const CUSTOM_ACTION: &str = "Security Hub Findings - Custom Action";

/// Security Hub's EventBridge events: findings, imported or sent to a custom
/// action, and insight results (aggregate counts, no findings).
const DETAIL_TYPES: DetailTypes = DetailTypes {
    findings: &["Security Hub Findings - Imported", CUSTOM_ACTION],
    skipped: &["Security Hub Insight Results"],
};

/// What the EventBridge envelope adds to the findings it carries.
#[derive(Default)]
struct Envelope {
    custom_action: Option<String>,
    account: Option<String>,
    region: Option<String>,
}

impl Normalizer for SecurityHubNormalizer {
    fn normalize(&mut self, frame: &[u8], out: &mut Vec<Normalized>) -> Result<(), NormalizeError> {
        let (findings, envelope) = match eventbridge::unwrap(parse_json(frame)?, &DETAIL_TYPES)? {
            Unwrapped::Skipped => return Ok(()),
            Unwrapped::Event(mut event) => {
                let envelope = Envelope {
                    custom_action: (event.detail_type == CUSTOM_ACTION)
                        .then(|| str_at(&event.detail, &["actionName"]).map(str::to_owned))
                        .flatten(),
                    account: event.account,
                    region: event.region,
                };
                match event.detail.get_mut("findings").map(Value::take) {
                    Some(Value::Array(findings)) => (findings, envelope),
                    _ => {
                        return Err(NormalizeError::InvalidField {
                            field: "detail.findings",
                            message: format!(
                                "a {:?} event without a findings array",
                                event.detail_type
                            ),
                        });
                    }
                }
            }
            Unwrapped::Bare(value) => match value {
                Value::Array(findings) => (findings, Envelope::default()),
                Value::Object(mut obj) => {
                    match obj.remove("Findings").or_else(|| obj.remove("findings")) {
                        Some(Value::Array(findings)) => (findings, Envelope::default()),
                        Some(_) => return Err(not_an_object("Findings")),
                        None => (vec![Value::Object(obj)], Envelope::default()),
                    }
                }
                _ => return Err(not_an_object("(record)")),
            },
        };
        for finding in findings {
            out.push(normalize_finding(finding, &envelope)?);
        }
        Ok(())
    }
}

/// `ProductFields["aws/securityhub/<name>"]`, where older findings keep what
/// newer ones have at the top level.
fn product_field<'a>(f: &'a Value, name: &str) -> Option<&'a str> {
    f.get("ProductFields")?
        .get(format!("aws/securityhub/{name}"))?
        .as_str()
}

/// `Workflow.Status` (or the older `WorkflowState`), then `RecordState`: an
/// archived finding is no longer present at its source.
fn status(f: &Value) -> Status {
    let workflow = str_at(f, &["Workflow", "Status"]).or(str_at(f, &["WorkflowState"]));
    match (workflow, str_at(f, &["RecordState"])) {
        (Some("SUPPRESSED"), _) => Status::Suppressed,
        (Some("RESOLVED"), _) | (_, Some("ARCHIVED")) => Status::Resolved,
        _ => Status::Open,
    }
}

/// `arn:aws:securityhub:us-east-1::product/aws/guardduty` → (`aws`, `guardduty`).
fn product_arn_parts(f: &Value) -> (Option<&str>, Option<&str>) {
    let Some(rest) = str_at(f, &["ProductArn"])
        .and_then(|a| a.split_once("product/"))
        .map(|(_, r)| r)
    else {
        return (None, None);
    };
    let mut parts = rest.splitn(2, '/');
    (
        parts.next().filter(|s| !s.is_empty()),
        parts.next().filter(|s| !s.is_empty()),
    )
}

/// The key a finding has in every source: Security Hub's `Id` is GuardDuty's
/// and Inspector's finding ARN already; for Macie, an `Id` written as a
/// Macie finding ARN becomes the finding id that Macie's own events carry.
fn finding_key(id: &str, product: Option<&str>) -> String {
    match (product, id.split_once(":finding/")) {
        (Some("macie"), Some((arn, finding)))
            if arn.starts_with("arn:aws") && arn.contains(":macie2:") =>
        {
            finding.to_owned()
        }
        _ => id.to_owned(),
    }
}

/// `arn:aws:securityhub:::standards/aws-foundational-security-best-practices/v/1.0.0`
/// or `standards/…` → `aws-foundational-security-best-practices/v/1.0.0`.
fn standard_name(s: &str) -> &str {
    let s = s.rsplit_once(":::").map_or(s, |(_, r)| r);
    s.strip_prefix("standards/")
        .or_else(|| s.strip_prefix("ruleset/"))
        .unwrap_or(s)
}

fn normalize_finding(f: Value, envelope: &Envelope) -> Result<Normalized, NormalizeError> {
    if !f.is_object() {
        return Err(not_an_object("(finding)"));
    }
    let id = str_at(&f, &["Id"]).ok_or(NormalizeError::MissingField("Id"))?;
    let updated = required_time("UpdatedAt", f.get("UpdatedAt"))?;

    let mut doc = EcsDocument::new();
    let mut related = Related::default();
    doc.set("@timestamp", iso(updated));
    doc.set("message", str_at(&f, &["Description"]));
    doc.set("event.id", id);
    doc.set("event.created", date(f.get("CreatedAt")));
    doc.set("event.start", date(f.get("FirstObservedAt")));
    doc.set("event.end", date(f.get("LastObservedAt")));
    doc.set("event.reference", str_at(&f, &["SourceUrl"]));
    doc.set("siem.finding.status", status(&f).label());

    // Who produced the finding.
    let (arn_company, arn_product) = product_arn_parts(&f);
    let company = str_at(&f, &["CompanyName"])
        .or(product_field(&f, "CompanyName"))
        .or(arn_company);
    let product = str_at(&f, &["ProductName"])
        .or(product_field(&f, "ProductName"))
        .or(arn_product);
    doc.set("observer.vendor", company);
    doc.set("observer.product", product);
    doc.set("event.provider", arn_product.or(product));

    // Severity.
    let vendor_label = str_at(&f, &["Severity", "Label"]).and_then(label);
    let normalized = number(at(&f, &["Severity", "Normalized"]))
        .map(|n| n.clamp(0.0, 100.0).round() as i64)
        .or_else(|| vendor_label.and_then(normalized_of_label));
    if let Some(n) = normalized {
        doc.set("event.severity", n);
    }
    let severity_label = vendor_label.or(normalized.map(|n| label_of_normalized(n as f64)));
    doc.set("siem.severity.label", severity_label);
    if let Some(score) = number(at(&f, &["Severity", "Original"])).or(normalized.map(|n| n as f64))
    {
        doc.set("siem.severity.score", score);
    }

    // The rule: a control of a standard, or the product's detector.
    let compliance = str_at(&f, &["Compliance", "Status"]);
    let control_id = str_at(&f, &["Compliance", "SecurityControlId"])
        .or(str_at(&f, &["ProductFields", "ControlId"]))
        .or(str_at(&f, &["ProductFields", "RuleId"]));
    let mut standards = Vec::new();
    for s in array_at(&f, &["Compliance", "AssociatedStandards"]) {
        push_unique(
            &mut standards,
            str_at(s, &["StandardsId"]).map(standard_name),
        );
    }
    if standards.is_empty() {
        let from_fields = str_at(&f, &["ProductFields", "StandardsArn"])
            .or(str_at(&f, &["ProductFields", "StandardsGuideArn"]));
        push_unique(&mut standards, from_fields.map(standard_name));
    }
    doc.set("rule.name", str_at(&f, &["Title"]));
    doc.set("rule.description", str_at(&f, &["Description"]));
    doc.set("rule.id", control_id.or(str_at(&f, &["GeneratorId"])));
    doc.set(
        "rule.ruleset",
        if standards.is_empty() {
            product.map(Value::from).unwrap_or_default()
        } else {
            one_or_many(standards)
        },
    );
    let types: Vec<String> = array_at(&f, &["Types"])
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    doc.set("rule.category", one_or_many(types.clone()));
    doc.set(
        "rule.reference",
        str_at(&f, &["Remediation", "Recommendation", "Url"]),
    );

    // Kind and categories.
    let vulnerabilities = array_at(&f, &["Vulnerabilities"]);
    let has_packages = vulnerabilities
        .iter()
        .any(|v| !array_at(v, &["VulnerablePackages"]).is_empty());
    let mut categories = Vec::new();
    if let Some(status) = compliance {
        categories.push("configuration");
        doc.set(
            "event.outcome",
            match status {
                "PASSED" => "success",
                "FAILED" => "failure",
                _ => "unknown",
            },
        );
    }
    if !vulnerabilities.is_empty() {
        categories.push("vulnerability");
        if has_packages {
            categories.push("package");
        }
    }
    let is_state = !categories.is_empty();
    if !is_state {
        let is_configuration = types
            .iter()
            .any(|t| t.starts_with("Software and Configuration Checks"));
        categories.push(if is_configuration {
            "configuration"
        } else {
            "intrusion_detection"
        });
    }
    doc.set("event.kind", if is_state { "state" } else { "alert" });
    doc.set("event.category", categories);
    doc.set("event.type", vec!["info"]);
    let action = envelope
        .custom_action
        .clone()
        .or(str_at(&f, &["Action", "ActionType"]).map(str::to_ascii_lowercase));
    doc.set("event.action", action);

    // Where.
    doc.set("cloud.provider", "aws");
    doc.set(
        "cloud.account.id",
        str_at(&f, &["AwsAccountId"]).or(envelope.account.as_deref()),
    );
    let resources = array_at(&f, &["Resources"]);
    let region = str_at(&f, &["Region"])
        .or(resources.iter().find_map(|r| str_at(r, &["Region"])))
        .or(envelope.region.as_deref());
    doc.set("cloud.region", region);
    write_resources(&mut doc, &mut related, resources);
    write_network(&mut doc, &mut related, f.get("Network"));
    write_process(&mut doc, f.get("Process"));
    write_vulnerabilities(
        &mut doc,
        vulnerabilities,
        company,
        str_at(&f, &["Severity", "Label"]),
    );

    related.write_to(&mut doc);
    // Security Hub sets ProcessedAt on every import, also of an unchanged state.
    let state = state_id(id, &iso(updated), &f, &["ProcessedAt"]);
    // A workflow change keeps UpdatedAt but not ProcessedAt: the later of the
    // two orders the states of a finding.
    let processed = f.get("ProcessedAt").and_then(super::finding::flexible_time);
    let current_version = super::finding::version(processed.map_or(updated, |p| p.max(updated)));
    let key = finding_key(id, arn_product);
    doc.set("aws.securityhub", f);
    Ok(Normalized {
        document: doc.into_map(),
        timestamp: updated,
        id: DocId::Finding {
            state,
            key,
            version: current_version,
        },
    })
}

fn write_resources(doc: &mut EcsDocument, related: &mut Related, resources: &[Value]) {
    let mut users = Vec::new();
    let mut instance_done = false;
    let mut image_done = false;
    let mut function_done = false;
    for r in resources {
        let rid = str_at(r, &["Id"]).unwrap_or_default();
        let details = r.get("Details").unwrap_or(&Value::Null);
        match str_at(r, &["Type"]).unwrap_or_default() {
            "AwsEc2Instance" if !instance_done => {
                instance_done = true;
                let instance = last_segment(rid);
                doc.set("cloud.instance.id", instance);
                doc.set("host.id", instance);
                related.host(Some(instance));
                let ec2 = details.get("AwsEc2Instance").unwrap_or(&Value::Null);
                doc.set("cloud.machine.type", str_at(ec2, &["Type"]));
                let mut ips = Vec::new();
                for a in array_at(ec2, &["IpV4Addresses"])
                    .iter()
                    .chain(array_at(ec2, &["IpV6Addresses"]))
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
            "AwsIamUser" => {
                let name = str_at(details, &["AwsIamUser", "UserName"])
                    .unwrap_or_else(|| last_segment(rid));
                push_unique(&mut users, Some(name));
            }
            "AwsIamRole" => {
                let name = str_at(details, &["AwsIamRole", "RoleName"])
                    .unwrap_or_else(|| last_segment(rid));
                push_unique(&mut users, Some(name));
            }
            "AwsIamAccessKey" => {
                let key = details.get("AwsIamAccessKey").unwrap_or(&Value::Null);
                push_unique(
                    &mut users,
                    str_at(key, &["PrincipalName"]).or(str_at(key, &["UserName"])),
                );
                // GuardDuty names the key in the resource id.
                related.access_key(
                    str_at(key, &["AccessKeyId"]).or(rid.strip_prefix("AWS::IAM::AccessKey:")),
                );
            }
            "AwsEcrContainerImage" if !image_done => {
                image_done = true;
                let image = details.get("AwsEcrContainerImage").unwrap_or(&Value::Null);
                doc.set(
                    "container.image.name",
                    str_at(image, &["RepositoryName"]).or(str_at(image, &["Name"])),
                );
                let tags: Vec<String> = array_at(image, &["ImageTags"])
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect();
                doc.set("container.image.tag", one_or_many(tags));
                if let Some(digest) = str_at(image, &["ImageDigest"]) {
                    doc.set("container.image.hash.all", vec![digest]);
                }
            }
            "AwsLambdaFunction" if !function_done => {
                function_done = true;
                let function = details.get("AwsLambdaFunction").unwrap_or(&Value::Null);
                doc.set(
                    "faas.name",
                    str_at(function, &["FunctionName"]).unwrap_or_else(|| last_segment(rid)),
                );
                doc.set("faas.id", rid);
                doc.set("faas.version", str_at(function, &["Version"]));
            }
            _ => {}
        }
    }
    for u in &users {
        related.user(Some(u));
    }
    doc.set("user.name", users.first().cloned());
}

fn write_network(doc: &mut EcsDocument, related: &mut Related, network: Option<&Value>) {
    let Some(n) = network else { return };
    for (side, prefix) in [("source", "Source"), ("destination", "Destination")] {
        let v4 = ip(str_at(n, &[&format!("{prefix}IpV4")]));
        let v6 = ip(str_at(n, &[&format!("{prefix}IpV6")]));
        // ECS has one address a side: the IPv4 one when there are both. Both
        // are pivots, so both go to related.ip.
        let addr = v4.or(v6);
        doc.set(&format!("{side}.ip"), addr);
        doc.set(&format!("{side}.address"), addr);
        doc.set(
            &format!("{side}.port"),
            port(n.get(format!("{prefix}Port"))),
        );
        doc.set(
            &format!("{side}.domain"),
            str_at(n, &[&format!("{prefix}Domain")]),
        );
        related.ip(v4);
        related.ip(v6);
        related.host(str_at(n, &[&format!("{prefix}Domain")]));
    }
    doc.set(
        "network.direction",
        match str_at(n, &["Direction"]) {
            Some("IN") => Some("inbound"),
            Some("OUT") => Some("outbound"),
            _ => None,
        },
    );
    doc.set(
        "network.transport",
        str_at(n, &["Protocol"]).map(str::to_ascii_lowercase),
    );
}

fn write_process(doc: &mut EcsDocument, process: Option<&Value>) {
    let Some(p) = process else { return };
    doc.set("process.name", str_at(p, &["Name"]));
    doc.set("process.executable", str_at(p, &["Path"]));
    doc.set("process.pid", count(p.get("Pid")));
    doc.set("process.parent.pid", count(p.get("ParentPid")));
    doc.set("process.start", date(p.get("LaunchedAt")));
}

fn write_vulnerabilities(
    doc: &mut EcsDocument,
    vulnerabilities: &[Value],
    company: Option<&str>,
    finding_label: Option<&str>,
) {
    if vulnerabilities.is_empty() {
        return;
    }
    let mut ids = Vec::new();
    let mut references = Vec::new();
    let mut best: Option<(f64, Option<&str>)> = None;
    let mut package = PackageFields::default();
    for v in vulnerabilities {
        push_unique(&mut ids, str_at(v, &["Id"]));
        push_unique(&mut references, str_at(v, &["Vendor", "Url"]));
        for r in array_at(v, &["ReferenceUrls"]) {
            push_unique(&mut references, r.as_str());
        }
        for c in array_at(v, &["Cvss"]) {
            if let Some(score) = number(c.get("BaseScore"))
                && best.is_none_or(|(b, _)| score > b)
            {
                best = Some((score, str_at(c, &["Version"])));
            }
        }
        for p in array_at(v, &["VulnerablePackages"]) {
            package.add(
                p,
                [
                    "Name",
                    "Version",
                    "Architecture",
                    "FilePath",
                    "PackageManager",
                ],
            );
        }
    }
    let cve = ids.iter().any(|i| i.starts_with("CVE-"));
    doc.set("vulnerability.id", one_or_many(ids));
    doc.set("vulnerability.enumeration", cve.then_some("CVE"));
    if let Some((score, version)) = best {
        doc.set("vulnerability.score.base", score);
        doc.set("vulnerability.score.version", version);
        doc.set("vulnerability.classification", "CVSS");
    }
    doc.set("vulnerability.reference", references.into_iter().next());
    doc.set("vulnerability.scanner.vendor", company);
    let vendor_severity = vulnerabilities
        .iter()
        .find_map(|v| str_at(v, &["Vendor", "VendorSeverity"]));
    doc.set(
        "vulnerability.severity",
        finding_label.or(vendor_severity).map(title_case),
    );
    package.write(doc);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn control(status: &str) -> Value {
        json!({
            "SchemaVersion": "2018-10-08",
            "Id": "arn:aws:securityhub:us-east-1:123456789012:security-control/S3.8/finding/f1",
            "ProductArn": "arn:aws:securityhub:us-east-1::product/aws/securityhub",
            "ProductName": "Security Hub", "CompanyName": "AWS", "Region": "us-east-1",
            "GeneratorId": "security-control/S3.8", "AwsAccountId": "123456789012",
            "Types": ["Software and Configuration Checks/Industry and Regulatory Standards"],
            "CreatedAt": "2026-11-01T10:00:00.000Z", "UpdatedAt": "2026-11-28T10:00:00Z",
            "Severity": {"Label": "HIGH", "Normalized": 70, "Original": "HIGH"},
            "Title": "S3 general purpose buckets should block public access", "Description": "d",
            "Compliance": {"Status": status, "SecurityControlId": "S3.8",
                           "AssociatedStandards": [{"StandardsId": "standards/aws-foundational-security-best-practices/v/1.0.0"}]},
            "Workflow": {"Status": "NEW"}, "RecordState": "ACTIVE",
            "Resources": [{"Type": "AwsS3Bucket", "Id": "arn:aws:s3:::b", "Region": "us-east-1"}]
        })
    }

    fn run(v: Value) -> Result<Vec<Normalized>, NormalizeError> {
        let mut out = Vec::new();
        SecurityHubNormalizer.normalize(v.to_string().as_bytes(), &mut out)?;
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
    fn an_access_key_resource_is_a_pivot_whether_named_in_its_details_or_its_id() {
        let mut f = control("FAILED");
        f["Resources"] = json!([
            {"Type": "AwsIamAccessKey", "Id": "AWS::IAM::AccessKey:ASIAFROMTHEID000001",
             "Details": {"AwsIamAccessKey": {"PrincipalName": "ci-deploy"}}},
            {"Type": "AwsIamAccessKey", "Id": "k2",
             "Details": {"AwsIamAccessKey": {"AccessKeyId": "AKIAFROMDETAILS00002", "UserName": "bob"}}}
        ]);
        let n = run(f).expect("normalizes").remove(0);
        assert_eq!(
            get(&n, "siem.access_key_id"),
            &json!(["ASIAFROMTHEID000001", "AKIAFROMDETAILS00002"])
        );
    }

    #[test]
    fn a_macie_finding_has_the_key_of_macie_s_own_events() {
        let key = |id: &str| {
            let mut f = control("FAILED");
            f["ProductArn"] = json!("arn:aws:securityhub:us-east-1::product/aws/macie");
            f["Id"] = json!(id);
            match run(f).expect("normalizes").remove(0).id {
                DocId::Finding { key, .. } => key,
                other => panic!("not a finding: {other:?}"),
            }
        };
        assert_eq!(
            key("arn:aws:macie2:us-east-1:123456789012:finding/4c2a1f0e9b8d7c6a5f4e3d2c1b0a9f8e"),
            "4c2a1f0e9b8d7c6a5f4e3d2c1b0a9f8e"
        );
        assert_eq!(
            key("4c2a1f0e9b8d7c6a5f4e3d2c1b0a9f8e"),
            "4c2a1f0e9b8d7c6a5f4e3d2c1b0a9f8e"
        );
    }

    #[test]
    fn the_workflow_and_record_state_say_whether_a_finding_is_open() {
        let status = |workflow: &str, record: &str| {
            let mut f = control("FAILED");
            f["Workflow"] = json!({"Status": workflow});
            f["RecordState"] = json!(record);
            let n = run(f).expect("normalizes").remove(0);
            get(&n, "siem.finding.status").clone()
        };
        assert_eq!(status("NEW", "ACTIVE"), "open");
        assert_eq!(status("NOTIFIED", "ACTIVE"), "open");
        assert_eq!(status("SUPPRESSED", "ACTIVE"), "suppressed");
        assert_eq!(status("RESOLVED", "ACTIVE"), "resolved");
        assert_eq!(
            status("NEW", "ARCHIVED"),
            "resolved",
            "no longer present at its source"
        );
        assert_eq!(
            status("SUPPRESSED", "ARCHIVED"),
            "suppressed",
            "an analyst's decision stands"
        );
    }

    fn event(detail_type: &str, findings: Vec<Value>) -> Value {
        json!({"version": "0", "id": "e1", "detail-type": detail_type, "source": "aws.securityhub",
               "account": "123456789012", "time": "2026-11-28T10:00:01Z", "region": "us-east-1",
               "resources": [], "detail": {"actionName": "send-to-soc", "findings": findings}})
    }

    #[test]
    fn one_imported_event_gives_one_document_per_finding() {
        let out = run(event(
            "Security Hub Findings - Imported",
            vec![control("FAILED"), control("PASSED")],
        ))
        .expect("normalizes");
        assert_eq!(out.len(), 2);
        assert_eq!(
            get(&out[0], "event.action"),
            &Value::Null,
            "only custom actions name an action"
        );
    }

    #[test]
    fn a_failed_control_is_a_state_with_a_failure_outcome_and_its_control_id() {
        let n = &run(control("FAILED")).expect("normalizes")[0];
        assert_eq!(get(n, "event.kind"), "state");
        assert_eq!(get(n, "event.category"), &json!(["configuration"]));
        assert_eq!(get(n, "event.outcome"), "failure");
        assert_eq!(get(n, "rule.id"), "S3.8");
        assert_eq!(
            get(n, "rule.ruleset"),
            "aws-foundational-security-best-practices/v/1.0.0"
        );
        assert_eq!(get(n, "siem.severity.label"), "high");
        assert_eq!(get(n, "event.severity"), 70);
        assert_eq!(get(n, "@timestamp"), "2026-11-28T10:00:00.000Z");
        assert_eq!(get(n, "aws.securityhub.Workflow.Status"), "NEW");
        let passed = &run(control("PASSED")).expect("normalizes")[0];
        assert_eq!(get(passed, "event.outcome"), "success");
        let warning = &run(control("WARNING")).expect("normalizes")[0];
        assert_eq!(get(warning, "event.outcome"), "unknown");
    }

    #[test]
    fn a_custom_action_names_the_action() {
        let out = run(event(
            "Security Hub Findings - Custom Action",
            vec![control("FAILED")],
        ))
        .expect("normalizes");
        assert_eq!(get(&out[0], "event.action"), "send-to-soc");
    }

    #[test]
    fn a_security_hub_event_of_an_unknown_detail_type_is_a_record_error() {
        let err = run(event("Findings Imported V2", vec![control("FAILED")]))
            .expect_err("not read as ASFF");
        assert!(err.to_string().contains("Findings Imported V2"), "{err}");
    }

    #[test]
    fn insight_results_are_skipped_without_error() {
        let v = json!({"detail-type": "Security Hub Insight Results", "detail": {"insightResults": [{"a": 1}]}});
        assert!(run(v).expect("skipped").is_empty());
    }

    #[test]
    fn plain_asff_lists_arrays_and_bare_findings_are_read() {
        assert_eq!(
            run(json!({"Findings": [control("FAILED"), control("PASSED")]}))
                .expect("list")
                .len(),
            2
        );
        assert_eq!(run(json!([control("FAILED")])).expect("array").len(), 1);
        assert_eq!(run(control("FAILED")).expect("bare").len(), 1);
    }

    #[test]
    fn severity_with_only_a_label_gets_security_hubs_number_and_a_numeric_original_is_the_score() {
        let mut f = control("FAILED");
        f["Severity"] = json!({"Label": "MEDIUM"});
        let n = &run(f.clone()).expect("normalizes")[0];
        assert_eq!(get(n, "event.severity"), 40);
        assert_eq!(get(n, "siem.severity.score"), 40.0);
        f["Severity"] = json!({"Normalized": 50, "Original": "5.0"});
        let n = &run(f).expect("normalizes")[0];
        assert_eq!(get(n, "siem.severity.label"), "medium");
        assert_eq!(get(n, "siem.severity.score"), 5.0);
    }

    #[test]
    fn a_third_party_finding_with_odd_shapes_normalizes_with_what_it_has() {
        let f = json!({"Id": "x-1", "UpdatedAt": "2026-11-28T10:00:00Z",
                       "ProductArn": "arn:aws:securityhub:us-east-1:123456789012:product/example/edr",
                       "Severity": "high", "Resources": "none", "Network": {"SourceIpV4": "string", "SourcePort": "x"},
                       "Types": ["TTPs/Execution"]});
        let n = &run(f).expect("normalizes")[0];
        assert_eq!(get(n, "event.kind"), "alert");
        assert_eq!(get(n, "observer.vendor"), "example");
        assert_eq!(get(n, "event.provider"), "edr");
        assert_eq!(get(n, "source.ip"), &Value::Null, "not an IP address");
        assert_eq!(get(n, "event.severity"), &Value::Null);
    }

    #[test]
    fn vulnerabilities_fill_vulnerability_and_package() {
        let mut f = control("FAILED");
        f.as_object_mut().expect("object").remove("Compliance");
        f["Vulnerabilities"] = json!([{"Id": "CVE-2026-0001", "Cvss": [{"BaseScore": 7.5, "Version": "3.1"}, {"BaseScore": 9.8, "Version": "3.1"}],
            "Vendor": {"Name": "NVD", "Url": "https://nvd.nist.gov/vuln/detail/CVE-2026-0001"},
            "VulnerablePackages": [{"Name": "openssl", "Version": "3.0.1", "PackageManager": "OS", "FixedInVersion": "3.0.2"}]}]);
        let n = &run(f).expect("normalizes")[0];
        assert_eq!(get(n, "event.kind"), "state");
        assert_eq!(
            get(n, "event.category"),
            &json!(["vulnerability", "package"])
        );
        assert_eq!(get(n, "vulnerability.id"), "CVE-2026-0001");
        assert_eq!(get(n, "vulnerability.score.base"), 9.8);
        assert_eq!(get(n, "vulnerability.severity"), "High");
        assert_eq!(get(n, "package.name"), "openssl");
        assert_eq!(get(n, "package.type"), "os");
    }

    #[test]
    fn missing_id_or_update_time_is_a_record_error() {
        let mut f = control("FAILED");
        f["UpdatedAt"] = json!("string");
        assert!(matches!(
            run(f.clone()),
            Err(NormalizeError::InvalidField {
                field: "UpdatedAt",
                ..
            })
        ));
        f.as_object_mut().expect("object").remove("Id");
        assert_eq!(run(f).err(), Some(NormalizeError::MissingField("Id")));
        assert!(run(json!("text")).is_err());
    }

    #[test]
    fn a_finding_with_an_ipv4_and_an_ipv6_address_keeps_both_as_pivots() {
        let mut f = control("FAILED");
        f["Network"] = json!({"Direction": "IN", "SourceIpV4": "198.51.100.7", "SourceIpV6": "2001:db8::7",
            "DestinationIpV4": "10.0.0.5", "DestinationIpV6": "2001:db8::5"});
        let n = &run(f).expect("normalizes")[0];
        assert_eq!(get(n, "source.ip"), "198.51.100.7");
        let related = get(n, "related.ip");
        for a in ["198.51.100.7", "2001:db8::7", "10.0.0.5", "2001:db8::5"] {
            assert!(
                related.as_array().is_some_and(|r| r.iter().any(|v| v == a)),
                "{a} in {related}"
            );
        }
    }

    #[test]
    fn a_workflow_change_without_a_new_update_time_is_a_new_document_and_a_redelivery_is_not() {
        // BatchUpdateFindings keeps UpdatedAt: NEW, then NOTIFIED, then SUPPRESSED.
        let state = |f: Value| match run(f).expect("normalizes").remove(0).id {
            DocId::Finding { state, .. } => state,
            other => panic!("not a finding's id: {other:?}"),
        };
        let ids: Vec<String> = ["NEW", "NOTIFIED", "SUPPRESSED"]
            .iter()
            .map(|status| {
                let mut f = control("FAILED");
                f["Workflow"] = json!({"Status": status});
                state(f)
            })
            .collect();
        assert_ne!(ids[0], ids[1]);
        assert_ne!(ids[1], ids[2]);
        let mut again = control("FAILED");
        again["Workflow"] = json!({"Status": "NEW"});
        again["ProcessedAt"] = json!("2026-12-01T00:00:00.000Z");
        assert_eq!(
            state(again),
            ids[0],
            "the same state imported again is one document"
        );
    }

    #[test]
    fn the_current_state_is_ordered_by_the_later_of_update_and_processing_time() {
        let mut f = control("FAILED");
        f["UpdatedAt"] = json!("2026-11-28T10:00:00.000Z");
        f["ProcessedAt"] = json!("2026-11-28T11:00:00.000Z");
        let n = run(f).expect("normalizes").remove(0);
        let DocId::Finding { key, version, .. } = n.id else {
            panic!("not a finding")
        };
        assert_eq!(
            key,
            "arn:aws:securityhub:us-east-1:123456789012:security-control/S3.8/finding/f1"
        );
        assert_eq!(
            version, 1_795_863_600_000,
            "ProcessedAt, an hour after UpdatedAt"
        );
    }

    #[test]
    fn the_id_is_the_finding_id_and_update_time() {
        let n = &run(control("FAILED")).expect("normalizes")[0];
        let prefix = "arn:aws:securityhub:us-east-1:123456789012:security-control/S3.8/finding/f1\u{1f}2026-11-28T10:00:00.000Z\u{1f}";
        assert!(
            matches!(&n.id, DocId::Finding { state, .. } if state.starts_with(prefix) && state.len() == prefix.len() + 16),
            "{:?}",
            n.id
        );
    }

    #[test]
    fn keys_route_by_conservative_patterns() {
        assert!(SecurityHub.matches_key("firehose/SecurityHub/2026/11/28/x.gz"));
        assert!(SecurityHub.matches_key("security-hub-findings/x"));
        assert!(!SecurityHub.matches_key("AWSLogs/123456789012/GuardDuty/x"));
    }
}
