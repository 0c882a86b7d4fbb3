//! Amazon GuardDuty findings, as GuardDuty exports them to S3: gzip JSON Lines
//! under `AWSLogs/<account>/GuardDuty/<region>/YYYY/MM/DD/<uuid>.jsonl.gz`.
//! A line may also be an EventBridge event wrapping the finding
//! (`detail-type: GuardDuty Finding`; any other detail-type is a record error,
//! see [`eventbridge`]) or a `{"findings":[...]}` list.
//!
//! The finding is kept whole under `aws.guardduty`; ECS fields are derived:
//! - `@timestamp` is `updatedAt`, and the document id is the finding id plus
//!   `updatedAt`, so every update of a finding is a document of its own and
//!   history is kept (the latest state is the newest `@timestamp` per `event.id`);
//! - `event.severity` is the severity on a 0–100 scale (GuardDuty's 0–10 × 10),
//!   `siem.severity.label` its band: low < 4, medium < 7, high < 9, critical ≥ 9;
//! - the finding type `ThreatPurpose:ResourceTypeAffected/ThreatFamilyName.DetectionMechanism!Artifact`
//!   gives `rule.name` (the whole type), `rule.category` (the threat purpose) and,
//!   where the purpose is a MITRE ATT&CK tactic, `threat.tactic.name`;
//! - a network connection is oriented so that `source` is the remote actor of
//!   an inbound connection and the instance of an outbound one;
//! - Runtime Monitoring findings (`service.runtimeDetails.process`) give
//!   `process.*` (name, executable, pid, `hash.sha256`, working directory,
//!   entity id, start, user, and the parent when the lineage names it);
//! - Malware Protection findings (`service.ebsVolumeScanDetails.scanDetections`)
//!   give `file.path` / `file.name` / `file.hash.sha256` of the first detected
//!   file and `related.hash` of all of them (the threat names and every path stay
//!   in the vendor tree);
//! - containers (`resource.containerDetails`) give `container.*`, Kubernetes
//!   workloads `orchestrator.namespace` / `orchestrator.resource.*`, Lambda
//!   functions (`resource.lambdaDetails`) `faas.name` / `faas.id` / `faas.version`;
//! - `observer.vendor` / `observer.product` are `AWS` / `GuardDuty`, as for the
//!   other finding log types.
//! - dates (`event.created`, `event.start`, `event.end`, `process.start`) are
//!   written RFC 3339 UTC with milliseconds, and addresses and ports go to
//!   `*.ip` / `*.port` only when they are ones (`finding::ip` and the
//!   other checkers): anything else stays only in `aws.guardduty` (and an
//!   address in `*.address`), without making the record an error.
//!
//! The latest state of a finding is its newest document: in OpenSearch,
//! `{"collapse": {"field": "event.id"}, "sort": [{"@timestamp": "desc"}]}`
//! returns one document per finding, the last update of each.

use serde_json::Value;

use super::eventbridge::{self, DetailTypes, Unwrapped};
use super::finding::{Status, count, date, ip, number, port, state_id};
use super::{DocId, LogType, NormalizeError, Normalized, Normalizer, parse_json, parse_time};
use crate::decode::Framing;
use crate::ecs::{EcsDocument, Related};

pub struct GuardDuty;

impl LogType for GuardDuty {
    fn name(&self) -> &'static str {
        "guardduty"
    }
    fn namespace(&self) -> &'static str {
        "aws.guardduty"
    }
    fn index_template(&self) -> &'static str {
        include_str!("../../../mappings/index_templates/guardduty.json")
    }
    fn framing(&self) -> Framing {
        Framing::Lines
    }
    fn matches_key(&self, key: &str) -> bool {
        key.contains("/GuardDuty/")
    }
    fn normalizer(&self) -> Box<dyn Normalizer> {
        Box::new(GuardDutyNormalizer)
    }
}

struct GuardDutyNormalizer;

/// GuardDuty's EventBridge events: only findings.
const DETAIL_TYPES: DetailTypes = DetailTypes {
    findings: &["GuardDuty Finding"],
    skipped: &[],
};

impl Normalizer for GuardDutyNormalizer {
    fn normalize(&mut self, frame: &[u8], out: &mut Vec<Normalized>) -> Result<(), NormalizeError> {
        let finding = match eventbridge::unwrap(parse_json(frame)?, &DETAIL_TYPES)? {
            Unwrapped::Skipped => return Ok(()),
            Unwrapped::Event(event) => event.detail,
            Unwrapped::Bare(Value::Object(mut obj)) => {
                if let Some(Value::Array(findings)) = obj.remove("findings") {
                    for finding in findings {
                        out.push(normalize_finding(finding)?);
                    }
                    return Ok(());
                }
                Value::Object(obj)
            }
            Unwrapped::Bare(_) => {
                return Err(NormalizeError::InvalidField {
                    field: "(record)",
                    message: "a finding must be a JSON object".into(),
                });
            }
        };
        out.push(normalize_finding(finding)?);
        Ok(())
    }
}

/// GuardDuty's severity bands.
pub fn severity_label(severity: f64) -> &'static str {
    match severity {
        s if s >= 9.0 => "critical",
        s if s >= 7.0 => "high",
        s if s >= 4.0 => "medium",
        s if s >= 1.0 => "low",
        _ => "informational",
    }
}

/// GuardDuty threat purposes that are MITRE ATT&CK tactics, with their ids.
fn mitre_tactic(purpose: &str) -> Option<(&'static str, &'static str)> {
    Some(match purpose {
        "InitialAccess" => ("TA0001", "Initial Access"),
        "Execution" => ("TA0002", "Execution"),
        "Persistence" => ("TA0003", "Persistence"),
        "PrivilegeEscalation" => ("TA0004", "Privilege Escalation"),
        "DefenseEvasion" => ("TA0005", "Defense Evasion"),
        "CredentialAccess" => ("TA0006", "Credential Access"),
        "Discovery" => ("TA0007", "Discovery"),
        "Exfiltration" => ("TA0010", "Exfiltration"),
        "Impact" => ("TA0040", "Impact"),
        "Recon" => ("TA0043", "Reconnaissance"),
        _ => return None,
    })
}

/// Parts of `ThreatPurpose:ResourceTypeAffected/ThreatFamilyName.DetectionMechanism!Artifact`.
#[derive(Debug, PartialEq, Eq)]
pub struct FindingType<'a> {
    pub purpose: &'a str,
    pub resource_type: Option<&'a str>,
    pub family: Option<&'a str>,
}

pub fn split_finding_type(t: &str) -> FindingType<'_> {
    let (purpose, rest) = t.split_once(':').unwrap_or((t, ""));
    let (resource, family) = match rest.split_once('/') {
        Some((r, f)) => (Some(r), Some(f)),
        None => (Some(rest), None),
    };
    let family = family.map(|f| f.split(['.', '!']).next().unwrap_or(f));
    FindingType {
        purpose,
        resource_type: resource.filter(|r| !r.is_empty()),
        family: family.filter(|f| !f.is_empty()),
    }
}

fn s<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    at(v, path)?.as_str()
}

fn at<'a>(mut v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    for p in path {
        v = v.get(p)?;
    }
    Some(v)
}

fn normalize_finding(finding: Value) -> Result<Normalized, NormalizeError> {
    if !finding.is_object() {
        return Err(NormalizeError::InvalidField {
            field: "(finding)",
            message: "a finding must be a JSON object".into(),
        });
    }
    let id = s(&finding, &["id"]).ok_or(NormalizeError::MissingField("id"))?;
    let updated_raw =
        s(&finding, &["updatedAt"]).ok_or(NormalizeError::MissingField("updatedAt"))?;
    let timestamp = parse_time("updatedAt", finding.get("updatedAt"))?;
    let finding_type = s(&finding, &["type"]).unwrap_or_default();
    let severity = number(finding.get("severity"));

    let mut doc = EcsDocument::new();
    let mut related = Related::default();
    doc.set("@timestamp", updated_raw);
    doc.set("message", s(&finding, &["description"]));
    doc.set("event.kind", "alert");
    doc.set("event.provider", "guardduty.amazonaws.com");
    doc.set("event.id", id);
    // Typed fields: a value that is not a date stays only in aws.guardduty.
    doc.set("event.created", date(finding.get("createdAt")));
    doc.set(
        "event.start",
        date(at(&finding, &["service", "eventFirstSeen"])),
    );
    doc.set(
        "event.end",
        date(at(&finding, &["service", "eventLastSeen"])),
    );
    let status = Status::archived_or_open(at(&finding, &["service", "archived"]));
    doc.set("siem.finding.status", status.label());
    if let Some(sev) = severity {
        doc.set("event.severity", (sev * 10.0).round() as i64);
        doc.set("siem.severity.label", severity_label(sev));
        doc.set("siem.severity.score", sev);
    }

    let parts = split_finding_type(finding_type);
    doc.set("rule.name", finding_type);
    doc.set("rule.id", finding_type);
    doc.set("rule.category", parts.purpose);
    doc.set("rule.description", s(&finding, &["title"]));
    doc.set("rule.ruleset", "GuardDuty");
    if let Some((tactic_id, tactic_name)) = mitre_tactic(parts.purpose) {
        doc.set("threat.framework", "MITRE ATT&CK");
        doc.set("threat.tactic.id", vec![tactic_id]);
        doc.set("threat.tactic.name", vec![tactic_name]);
    }

    doc.set("cloud.provider", "aws");
    doc.set("cloud.account.id", s(&finding, &["accountId"]));
    doc.set("cloud.region", s(&finding, &["region"]));
    doc.set("cloud.service.name", "guardduty");
    doc.set("observer.vendor", "AWS");
    doc.set("observer.product", "GuardDuty");

    let resource = finding.get("resource").unwrap_or(&Value::Null);
    let action_type = s(&finding, &["service", "action", "actionType"]);
    let mut categories = vec!["intrusion_detection"];
    let mut types = vec!["info"];
    if matches!(parts.purpose, "Trojan" | "Backdoor" | "CryptoCurrency")
        || finding_type.contains("Malware")
    {
        categories.push("malware");
    }

    // The affected resource.
    if let Some(instance) = resource.get("instanceDetails") {
        doc.set("cloud.instance.id", s(instance, &["instanceId"]));
        related.host(s(instance, &["instanceId"]));
        doc.set("cloud.machine.type", s(instance, &["instanceType"]));
        doc.set(
            "cloud.availability_zone",
            s(instance, &["availabilityZone"]),
        );
        doc.set("host.id", s(instance, &["instanceId"]));
        if let Some(nics) = instance.get("networkInterfaces").and_then(Value::as_array) {
            let ips: Vec<&str> = nics
                .iter()
                .flat_map(|n| [ip(s(n, &["privateIpAddress"])), ip(s(n, &["publicIp"]))])
                .flatten()
                .collect();
            let mut unique: Vec<&str> = Vec::with_capacity(ips.len());
            for ip in ips {
                related.ip(Some(ip));
                if !unique.contains(&ip) {
                    unique.push(ip);
                }
            }
            if !unique.is_empty() {
                doc.set("host.ip", unique);
            }
            for n in nics {
                related.host(s(n, &["privateDnsName"]));
            }
        }
    }
    if let Some(key) = resource.get("accessKeyDetails") {
        doc.set("user.name", s(key, &["userName"]));
        doc.set("user.id", s(key, &["principalId"]));
        related.user(s(key, &["userName"]));
        related.access_key(s(key, &["accessKeyId"]));
    }
    if let Some(eks) = resource.get("eksClusterDetails") {
        doc.set("orchestrator.cluster.name", s(eks, &["name"]));
        doc.set("orchestrator.type", "kubernetes");
    }
    if let Some(k8s_user) = at(resource, &["kubernetesDetails", "kubernetesUserDetails"]) {
        doc.set("user.name", s(k8s_user, &["username"]));
        related.user(s(k8s_user, &["username"]));
    }
    if let Some(db_user) = resource.get("rdsDbUserDetails") {
        doc.set("user.name", s(db_user, &["user"]));
        related.user(s(db_user, &["user"]));
    }

    // The action: who did what, from where.
    let action = at(&finding, &["service", "action"]).unwrap_or(&Value::Null);
    doc.set("event.action", action_type.map(|a| a.to_ascii_lowercase()));
    if let Some(conn) = action.get("networkConnectionAction") {
        categories.push("network");
        types.push("connection");
        let direction = s(conn, &["connectionDirection"]).unwrap_or("UNKNOWN");
        let remote = Endpoint::remote(conn.get("remoteIpDetails"), conn.get("remotePortDetails"));
        let local = Endpoint::local(conn.get("localIpDetails"), conn.get("localPortDetails"));
        let (src, dst) = match direction {
            "OUTBOUND" => (local, remote),
            _ => (remote, local),
        };
        src.write(&mut doc, "source", &mut related);
        dst.write(&mut doc, "destination", &mut related);
        doc.set(
            "network.direction",
            match direction {
                "INBOUND" => "inbound",
                "OUTBOUND" => "outbound",
                _ => "unknown",
            },
        );
        doc.set(
            "network.transport",
            s(conn, &["protocol"]).map(str::to_ascii_lowercase),
        );
        types.push(
            if conn.get("blocked").and_then(Value::as_bool) == Some(true) {
                "denied"
            } else {
                "allowed"
            },
        );
    } else if let Some(probe) = action.get("portProbeAction") {
        categories.push("network");
        types.push("connection");
        if let Some(first) = probe
            .get("portProbeDetails")
            .and_then(Value::as_array)
            .and_then(|d| d.first())
        {
            Endpoint::remote(first.get("remoteIpDetails"), None).write(
                &mut doc,
                "source",
                &mut related,
            );
            Endpoint::local(first.get("localIpDetails"), first.get("localPortDetails")).write(
                &mut doc,
                "destination",
                &mut related,
            );
            doc.set("network.direction", "inbound");
        }
    } else if let Some(dns) = action.get("dnsRequestAction") {
        categories.push("network");
        types.push("protocol");
        doc.set("dns.question.name", s(dns, &["domain"]));
        doc.set("network.protocol", "dns");
        doc.set(
            "network.transport",
            s(dns, &["protocol"]).map(str::to_ascii_lowercase),
        );
        related.host(s(dns, &["domain"]));
    } else if let Some(call) = action.get("awsApiCallAction") {
        Endpoint::remote(call.get("remoteIpDetails"), None).write(&mut doc, "source", &mut related);
        doc.set("event.action", s(call, &["api"]));
        // Exported findings carry the full user agent in additionalInfo; the
        // action's own `userAgent` is a plain string in the API model.
        doc.set(
            "user_agent.original",
            s(call, &["userAgent", "fullUserAgent"])
                .or(s(call, &["userAgent"]))
                .or(s(
                    &finding,
                    &["service", "additionalInfo", "userAgent", "fullUserAgent"],
                )),
        );
        doc.set("error.code", s(call, &["errorCode"]));
        doc.set("source.domain", s(call, &["domainDetails", "domain"]));
    } else if let Some(call) = action.get("kubernetesApiCallAction") {
        Endpoint::remote(call.get("remoteIpDetails"), None).write(&mut doc, "source", &mut related);
        doc.set("event.action", s(call, &["verb"]));
        doc.set("url.original", s(call, &["requestUri"]));
        doc.set("user_agent.original", s(call, &["userAgent"]));
        doc.set(
            "http.response.status_code",
            call.get("statusCode").and_then(Value::as_u64),
        );
    } else if let Some(login) = action.get("rdsLoginAttemptAction") {
        categories.push("authentication");
        types.push("start");
        Endpoint::remote(login.get("remoteIpDetails"), None).write(
            &mut doc,
            "source",
            &mut related,
        );
    }

    write_runtime(
        &mut doc,
        &mut related,
        at(&finding, &["service", "runtimeDetails"]),
    );
    write_malware_scan(
        &mut doc,
        &mut related,
        at(&finding, &["service", "ebsVolumeScanDetails"]),
    );
    write_workload(&mut doc, resource);

    // Threat-intelligence evidence GuardDuty attached.
    if let Some(intel) = at(
        &finding,
        &["service", "evidence", "threatIntelligenceDetails"],
    )
    .and_then(Value::as_array)
    {
        let names: Vec<&str> = intel
            .iter()
            .filter_map(|t| s(t, &["threatListName"]))
            .collect();
        if !names.is_empty() {
            doc.set("threat.indicator.provider", names.first().copied());
        }
    }

    doc.set("event.category", categories);
    doc.set("event.type", types);
    related.write_to(&mut doc);
    let state = state_id(id, updated_raw, &finding, &[]);
    // Security Hub's `Id` of a GuardDuty finding is its ARN.
    let key = s(&finding, &["arn"]).unwrap_or(id).to_owned();
    doc.set("aws.guardduty", finding);
    Ok(Normalized {
        document: doc.into_map(),
        timestamp,
        id: DocId::Finding {
            state,
            key,
            version: super::finding::version(timestamp),
        },
    })
}

/// Runtime Monitoring: the process GuardDuty's agent saw, and its parent
/// when the lineage names it.
fn write_runtime(doc: &mut EcsDocument, related: &mut Related, runtime: Option<&Value>) {
    let Some(process) = runtime.and_then(|r| r.get("process")) else {
        return;
    };
    doc.set("process.name", s(process, &["name"]));
    doc.set("process.executable", s(process, &["executablePath"]));
    doc.set("process.pid", count(process.get("pid")));
    doc.set("process.hash.sha256", s(process, &["executableSha256"]));
    doc.set("process.working_directory", s(process, &["pwd"]));
    doc.set("process.entity_id", s(process, &["uuid"]));
    doc.set("process.start", date(process.get("startTime")));
    doc.set("process.user.name", s(process, &["user"]));
    doc.set(
        "process.user.id",
        number(process.get("userId")).map(|u| format!("{u}")),
    );
    related.hash(s(process, &["executableSha256"]));
    related.user(s(process, &["user"]));
    let parent_uuid = s(process, &["parentUuid"]);
    doc.set("process.parent.entity_id", parent_uuid);
    let parent = process
        .get("lineage")
        .and_then(Value::as_array)
        .and_then(|l| {
            l.iter()
                .find(|p| parent_uuid.is_some() && s(p, &["uuid"]) == parent_uuid)
        });
    if let Some(parent) = parent {
        doc.set("process.parent.name", s(parent, &["name"]));
        doc.set("process.parent.executable", s(parent, &["executablePath"]));
        doc.set("process.parent.pid", count(parent.get("pid")));
    }
}

/// Malware Protection for EC2: the first detected file as `file.*`; every
/// detected file's hash in `related.hash` (all paths stay in the vendor tree).
fn write_malware_scan(doc: &mut EcsDocument, related: &mut Related, scan: Option<&Value>) {
    let Some(threats) = scan
        .and_then(|d| {
            at(
                d,
                &["scanDetections", "threatDetectedByName", "threatNames"],
            )
        })
        .and_then(Value::as_array)
    else {
        return;
    };
    let files: Vec<&Value> = threats
        .iter()
        .flat_map(|t| {
            t.get("filePaths")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        })
        .collect();
    if let Some(first) = files.first() {
        doc.set("file.path", s(first, &["filePath"]));
        doc.set("file.name", s(first, &["fileName"]));
        doc.set("file.hash.sha256", s(first, &["hash"]));
    }
    for f in files {
        related.hash(s(f, &["hash"]));
    }
}

/// The workload a finding is about: a container, a Lambda function.
fn write_workload(doc: &mut EcsDocument, resource: &Value) {
    if let Some(container) = resource.get("containerDetails") {
        doc.set("container.id", s(container, &["id"]));
        doc.set("container.name", s(container, &["name"]));
        doc.set("container.runtime", s(container, &["containerRuntime"]));
        if let Some((name, tag)) = s(container, &["image"]).map(split_image) {
            doc.set("container.image.name", name);
            doc.set("container.image.tag", tag);
        }
        doc.set(
            "container.security_context.privileged",
            at(container, &["securityContext", "privileged"]).and_then(Value::as_bool),
        );
    }
    if let Some(workload) = at(
        resource,
        &["kubernetesDetails", "kubernetesWorkloadDetails"],
    ) {
        doc.set("orchestrator.namespace", s(workload, &["namespace"]));
        doc.set("orchestrator.resource.name", s(workload, &["name"]));
        doc.set("orchestrator.resource.type", s(workload, &["type"]));
    }
    if let Some(lambda) = resource.get("lambdaDetails") {
        doc.set("faas.name", s(lambda, &["functionName"]));
        doc.set("faas.id", s(lambda, &["functionArn"]));
        doc.set("faas.version", s(lambda, &["functionVersion"]));
    }
}

/// `registry/repo:tag` → (`registry/repo`, `tag`); a digest or no tag gives no tag.
fn split_image(image: &str) -> (&str, Option<&str>) {
    match image.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') && !name.ends_with("@sha256") => (name, Some(tag)),
        _ => (image, None),
    }
}

/// One end of a connection as GuardDuty describes it.
#[derive(Default)]
struct Endpoint<'a> {
    /// The address as written, which need not be an IP address.
    address: Option<&'a str>,
    port: Option<u64>,
    geo: Option<&'a Value>,
}

impl<'a> Endpoint<'a> {
    fn remote(details: Option<&'a Value>, port: Option<&'a Value>) -> Self {
        Endpoint {
            geo: details,
            ..Endpoint::local(details, port)
        }
    }

    fn local(details: Option<&'a Value>, port: Option<&'a Value>) -> Self {
        Endpoint {
            address: details.and_then(|i| s(i, &["ipAddressV4"]).or(s(i, &["ipAddressV6"]))),
            port: port.and_then(port_of),
            geo: None,
        }
    }

    /// `<side>.address` as written; `<side>.ip` and `related.ip` only when
    /// it is an IP address (the index rejects a document whose `ip` is not).
    fn write(&self, doc: &mut EcsDocument, side: &str, related: &mut Related) {
        doc.set(&format!("{side}.ip"), ip(self.address));
        doc.set(&format!("{side}.address"), self.address);
        doc.set(&format!("{side}.port"), self.port);
        related.ip(ip(self.address));
        let Some(g) = self.geo else { return };
        doc.set(
            &format!("{side}.geo.country_name"),
            s(g, &["country", "countryName"]),
        );
        doc.set(
            &format!("{side}.geo.country_iso_code"),
            s(g, &["country", "countryCode"]),
        );
        doc.set(
            &format!("{side}.geo.city_name"),
            s(g, &["city", "cityName"]),
        );
        if let (Some(lat), Some(lon)) = (
            number(at(g, &["geoLocation", "lat"])),
            number(at(g, &["geoLocation", "lon"])),
        ) {
            doc.set(
                &format!("{side}.geo.location"),
                serde_json::json!({"lat": lat, "lon": lon}),
            );
        }
        if let Some(asn) = number(at(g, &["organization", "asn"])).filter(|a| *a > 0.0) {
            doc.set(&format!("{side}.as.number"), asn as u64);
        }
        doc.set(
            &format!("{side}.as.organization.name"),
            s(g, &["organization", "asnOrg"]).or(s(g, &["organization", "org"])),
        );
    }
}

fn port_of(p: &Value) -> Option<u64> {
    port(p.get("port"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn finding(severity: f64, action: Value) -> Value {
        json!({
            "schemaVersion": "2.0", "accountId": "123456789012", "region": "us-east-1", "partition": "aws",
            "id": "f1", "arn": "arn:aws:guardduty:us-east-1:123456789012:detector/d/finding/f1",
            "type": "UnauthorizedAccess:EC2/SSHBruteForce", "title": "t", "description": "d",
            "severity": severity, "createdAt": "2026-11-27T10:00:00.000Z", "updatedAt": "2026-11-28T10:00:00.000Z",
            "resource": {"resourceType": "Instance", "instanceDetails": {"instanceId": "i-1", "networkInterfaces": [
                {"privateIpAddress": "10.0.0.5", "publicIp": "198.51.100.7"}]}},
            "service": {"serviceName": "guardduty", "action": action, "count": 3}
        })
    }

    fn one(v: Value) -> Normalized {
        let mut out = Vec::new();
        GuardDutyNormalizer
            .normalize(v.to_string().as_bytes(), &mut out)
            .expect("normalizes");
        assert_eq!(out.len(), 1);
        out.remove(0)
    }

    #[test]
    fn an_archived_finding_is_suppressed_and_any_other_open() {
        let mut f = finding(5.0, json!({"actionType": "PORT_PROBE"}));
        assert_eq!(get(&one(f.clone()), "siem.finding.status"), "open");
        f["service"]["archived"] = json!(true);
        assert_eq!(get(&one(f), "siem.finding.status"), "suppressed");
    }

    fn get<'a>(n: &'a Normalized, path: &str) -> &'a Value {
        let mut v = n
            .document
            .get(path.split('.').next().expect("path"))
            .unwrap_or(&Value::Null);
        for p in path.split('.').skip(1) {
            v = v.get(p).unwrap_or(&Value::Null);
        }
        v
    }

    #[test]
    fn severity_bands_include_critical() {
        assert_eq!(severity_label(9.0), "critical");
        assert_eq!(severity_label(10.0), "critical");
        assert_eq!(severity_label(8.9), "high");
        assert_eq!(severity_label(7.0), "high");
        assert_eq!(severity_label(5.0), "medium");
        assert_eq!(severity_label(2.0), "low");
        let n = one(finding(9.5, json!({})));
        assert_eq!(get(&n, "siem.severity.label"), "critical");
        assert_eq!(get(&n, "event.severity"), 95);
    }

    #[test]
    fn finding_type_is_split_into_purpose_resource_and_family() {
        assert_eq!(
            split_finding_type("Trojan:EC2/BlackholeTraffic!DNS"),
            FindingType {
                purpose: "Trojan",
                resource_type: Some("EC2"),
                family: Some("BlackholeTraffic")
            }
        );
        assert_eq!(
            split_finding_type("CredentialAccess:RDS/AnomalousBehavior.SuccessfulLogin").family,
            Some("AnomalousBehavior")
        );
        assert_eq!(
            split_finding_type("AttackSequence:IAM/CompromisedCredentials").purpose,
            "AttackSequence"
        );
        assert_eq!(split_finding_type("weird").resource_type, None);
    }

    #[test]
    fn inbound_connection_puts_the_remote_actor_in_source() {
        let n = one(finding(
            5.0,
            json!({"actionType": "NETWORK_CONNECTION", "networkConnectionAction": {
                "connectionDirection": "INBOUND", "protocol": "TCP", "blocked": false,
                "remoteIpDetails": {"ipAddressV4": "203.0.113.9", "country": {"countryName": "X"},
                                     "geoLocation": {"lat": 1.5, "lon": 2.5}, "organization": {"asn": "64500", "asnOrg": "Org"}},
                "remotePortDetails": {"port": 40000}, "localIpDetails": {"ipAddressV4": "10.0.0.5"},
                "localPortDetails": {"port": 22}}}),
        ));
        assert_eq!(get(&n, "source.ip"), "203.0.113.9");
        assert_eq!(get(&n, "source.port"), 40000);
        assert_eq!(get(&n, "source.as.number"), 64500);
        assert_eq!(
            get(&n, "source.geo.location"),
            &json!({"lat": 1.5, "lon": 2.5})
        );
        assert_eq!(get(&n, "destination.ip"), "10.0.0.5");
        assert_eq!(get(&n, "destination.port"), 22);
        assert_eq!(get(&n, "network.direction"), "inbound");
        assert_eq!(get(&n, "network.transport"), "tcp");
    }

    #[test]
    fn outbound_connection_puts_the_instance_in_source() {
        let n = one(finding(
            5.0,
            json!({"actionType": "NETWORK_CONNECTION", "networkConnectionAction": {
                "connectionDirection": "OUTBOUND", "protocol": "UDP",
                "remoteIpDetails": {"ipAddressV4": "203.0.113.9"}, "remotePortDetails": {"port": 53},
                "localIpDetails": {"ipAddressV4": "10.0.0.5"}, "localPortDetails": {"port": 5353}}}),
        ));
        assert_eq!(get(&n, "source.ip"), "10.0.0.5");
        assert_eq!(get(&n, "destination.ip"), "203.0.113.9");
        assert_eq!(get(&n, "network.direction"), "outbound");
    }

    #[test]
    fn id_is_the_finding_id_and_update_time_and_the_original_is_kept() {
        let n = one(finding(2.0, json!({})));
        assert!(
            matches!(&n.id, DocId::Finding { state, key, version } if state.starts_with("f1\u{1f}2026-11-28T10:00:00.000Z") && state.len() == "f1\u{1f}2026-11-28T10:00:00.000Z".len() + 17
                && key == "arn:aws:guardduty:us-east-1:123456789012:detector/d/finding/f1" && *version == 1_795_860_000_000),
            "the finding's id, its update time and a hash of its state: {:?}",
            n.id
        );
        assert_eq!(get(&n, "aws.guardduty.service.count"), 3);
        assert_eq!(get(&n, "@timestamp"), "2026-11-28T10:00:00.000Z");
        assert_eq!(
            get(&n, "threat.tactic.name"),
            &Value::Null,
            "UnauthorizedAccess is not a tactic"
        );
    }

    #[test]
    fn eventbridge_wrapper_and_findings_list_are_unwrapped() {
        let wrapped = json!({"version": "0", "detail-type": "GuardDuty Finding", "source": "aws.guardduty",
                             "detail": finding(3.0, json!({}))});
        assert_eq!(get(&one(wrapped), "event.id"), "f1");
        let mut out = Vec::new();
        GuardDutyNormalizer
            .normalize(br#"{"findings":[]}"#, &mut out)
            .expect("empty list is fine");
        assert!(out.is_empty());
    }

    #[test]
    fn an_eventbridge_event_of_another_detail_type_is_a_record_error() {
        let scan = json!({"detail-type": "GuardDuty Malware Protection Object Scan Result", "source": "aws.guardduty",
                          "detail": {"scanStatus": "COMPLETED"}});
        let err = GuardDutyNormalizer
            .normalize(scan.to_string().as_bytes(), &mut Vec::new())
            .expect_err("not a finding");
        assert!(
            err.to_string()
                .contains("GuardDuty Malware Protection Object Scan Result"),
            "{err}"
        );
    }

    #[test]
    fn runtime_monitoring_names_the_process_and_its_parent() {
        let mut f = finding(8.0, json!({}));
        f["service"]["runtimeDetails"] = json!({"process": {
            "name": "xmrig", "executablePath": "/tmp/xmrig", "executableSha256": "ab12", "pwd": "/tmp",
            "pid": 4242, "startTime": 1794711764.871, "uuid": "u2", "parentUuid": "u1", "user": "jenkins", "userId": 112,
            "lineage": [{"uuid": "u1", "name": "bash", "pid": 4200, "executablePath": "/usr/bin/bash"}]}});
        let n = one(f);
        assert_eq!(get(&n, "process.name"), "xmrig");
        assert_eq!(get(&n, "process.pid"), 4242);
        assert_eq!(get(&n, "process.hash.sha256"), "ab12");
        assert_eq!(get(&n, "process.working_directory"), "/tmp");
        assert_eq!(get(&n, "process.user.id"), "112");
        assert_eq!(get(&n, "process.start"), "2026-11-15T03:02:44.871Z");
        assert_eq!(get(&n, "process.parent.name"), "bash");
        assert_eq!(get(&n, "related.hash"), &json!(["ab12"]));
    }

    #[test]
    fn malware_protection_names_the_first_detected_file() {
        let mut f = finding(8.0, json!({}));
        f["service"]["ebsVolumeScanDetails"] = json!({"scanDetections": {"threatDetectedByName": {"threatNames": [
            {"name": "EICAR", "filePaths": [{"filePath": "/tmp/a", "fileName": "a", "hash": "h1"},
                                              {"filePath": "/tmp/b", "fileName": "b", "hash": "h2"}]}]}}});
        let n = one(f);
        assert_eq!(get(&n, "file.path"), "/tmp/a");
        assert_eq!(get(&n, "file.hash.sha256"), "h1");
        assert_eq!(get(&n, "related.hash"), &json!(["h1", "h2"]));
    }

    #[test]
    fn lambda_and_container_workloads_are_described() {
        let mut f = finding(8.0, json!({}));
        f["resource"] = json!({"resourceType": "Lambda", "lambdaDetails": {"functionName": "thumb",
            "functionArn": "arn:aws:lambda:us-west-2:123456789012:function:thumb", "functionVersion": "$LATEST"},
            "containerDetails": {"id": "c1", "image": "registry.example.com:5000/tools/app:1.2"}});
        let n = one(f);
        assert_eq!(get(&n, "faas.name"), "thumb");
        assert_eq!(
            get(&n, "container.image.name"),
            "registry.example.com:5000/tools/app"
        );
        assert_eq!(get(&n, "container.image.tag"), "1.2");
        assert_eq!(
            split_image("registry.example.com:5000/app"),
            ("registry.example.com:5000/app", None)
        );
    }

    #[test]
    fn a_guardduty_finding_with_an_unparseable_created_at_keeps_ecs_dates_typed() {
        let mut f = finding(5.0, json!({}));
        f["createdAt"] = json!("last Tuesday");
        f["service"]["eventFirstSeen"] = json!("2026-11-27T09:00:00Z");
        f["service"]["eventLastSeen"] = json!(12);
        let n = one(f);
        assert_eq!(
            get(&n, "event.created"),
            &Value::Null,
            "not a date: not in the ECS field"
        );
        assert_eq!(
            get(&n, "aws.guardduty.createdAt"),
            "last Tuesday",
            "kept in the vendor tree"
        );
        assert_eq!(get(&n, "event.start"), "2026-11-27T09:00:00.000Z");
        assert_eq!(
            get(&n, "event.end"),
            "1970-01-01T00:00:12.000Z",
            "epoch seconds are a date"
        );
    }

    #[test]
    fn a_guardduty_remote_address_that_is_not_an_ip_is_only_an_address() {
        let n = one(finding(
            5.0,
            json!({"actionType": "AWS_API_CALL", "awsApiCallAction": {"api": "GetObject",
                "remoteIpDetails": {"ipAddressV4": "internal.example"}}}),
        ));
        assert_eq!(get(&n, "source.address"), "internal.example");
        assert_eq!(get(&n, "source.ip"), &Value::Null);
        assert_eq!(
            get(&n, "related.ip"),
            &json!(["10.0.0.5", "198.51.100.7"]),
            "only the instance's addresses"
        );
    }

    #[test]
    fn a_guardduty_instance_address_that_is_not_an_ip_is_not_a_host_ip() {
        let mut f = finding(5.0, json!({}));
        f["resource"]["instanceDetails"]["networkInterfaces"] =
            json!([{"privateIpAddress": "10.0.0.5", "publicIp": "n/a"}]);
        let n = one(f);
        assert_eq!(get(&n, "host.ip"), &json!(["10.0.0.5"]));
        assert_eq!(get(&n, "related.ip"), &json!(["10.0.0.5"]));
    }

    #[test]
    fn a_guardduty_port_out_of_range_is_not_a_port() {
        let n = one(finding(
            5.0,
            json!({"actionType": "NETWORK_CONNECTION", "networkConnectionAction": {"connectionDirection": "INBOUND",
                "remoteIpDetails": {"ipAddressV4": "203.0.113.9"}, "remotePortDetails": {"port": 70000},
                "localIpDetails": {"ipAddressV4": "10.0.0.5"}, "localPortDetails": {"port": 22.5}}}),
        ));
        assert_eq!(get(&n, "source.port"), &Value::Null);
        assert_eq!(get(&n, "destination.port"), &Value::Null);
        assert_eq!(
            get(
                &n,
                "aws.guardduty.service.action.networkConnectionAction.remotePortDetails.port"
            ),
            70000
        );
    }

    #[test]
    fn missing_id_or_bad_time_is_a_record_error() {
        let mut f = finding(1.0, json!({}));
        f["updatedAt"] = json!("yesterday");
        let mut out = Vec::new();
        let err = GuardDutyNormalizer
            .normalize(f.to_string().as_bytes(), &mut out)
            .expect_err("a bad time is an error");
        assert!(err.to_string().contains("updatedAt"), "{err}");
        f.as_object_mut().expect("object").remove("id");
        assert_eq!(
            GuardDutyNormalizer.normalize(f.to_string().as_bytes(), &mut out),
            Err(NormalizeError::MissingField("id"))
        );
        assert!(GuardDutyNormalizer.normalize(b"[1]", &mut out).is_err());
    }
}
