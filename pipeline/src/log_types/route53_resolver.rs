//! Amazon Route 53 Resolver query logs: one JSON record per DNS query a VPC
//! sent to the Resolver, with its answers and, when a DNS Firewall rule
//! matched, the rule's action.
//!
//! # What arrives
//!
//! Query logging to S3 writes gzip objects under
//! `AWSLogs/<account>/vpcdnsquerylogs/<vpc>/YYYY/MM/DD/…log.gz`, one record
//! per line. They are framed with [`Framing::ConcatenatedJson`], which reads
//! JSON Lines and the same records concatenated without newlines (Firehose).
//!
//! # Mapping
//!
//! The record is kept whole under `aws.route53_resolver` (a `flat_object`:
//! `vpc_id`, `srcids.resolver_endpoint`, `firewall_domain_list_id` stay
//! searchable there). ECS fields are derived:
//! - `@timestamp` `query_timestamp`; `event.category` `network`,
//!   `event.type` `protocol`, `event.action` `dns_query`;
//! - `dns.type` `answer` (a record is a query and its answer together),
//!   `dns.question.name` `query_name` without its trailing dot,
//!   `dns.question.type` / `class`, `dns.response_code` `rcode`,
//!   `dns.answers` (`data` / `type` / `class` of each answer's `Rdata` /
//!   `Type` / `Class`), `dns.resolved_ip` the A and AAAA answers that are IP
//!   addresses;
//! - `source.ip` / `source.address` / `source.port` `srcaddr` / `srcport`,
//!   `network.transport` `transport` lowercased, `network.protocol` `dns`,
//!   `network.type` from the source address;
//! - `cloud.account.id` `account_id`, `cloud.region` `region`,
//!   `cloud.instance.id` `srcids.instance` (when it is an instance id);
//! - DNS Firewall: `rule.id` / `rule.name` `firewall_rule_group_id`; a rule's
//!   `firewall_rule_action` adds `denied` to `event.type` and makes the
//!   outcome `failure` for BLOCK, `allowed` and `success` for ALLOW and ALERT,
//!   and an ALERT is `event.kind: alert` (the firewall raised it);
//! - `related.ip` the source and the resolved addresses, `related.hosts` the
//!   question name and the instance.
//!
//! Records have no natural key: document ids are positional.

use serde_json::Value;

use super::finding::{array_at, ip, iso, not_an_object, port, push_unique, required_time, str_at};
use super::{DocId, JsonRecords, LogType, NormalizeError, Normalized, Normalizer};
use crate::decode::Framing;
use crate::ecs::{EcsDocument, Related};

pub struct Route53Resolver;

impl LogType for Route53Resolver {
    fn name(&self) -> &'static str {
        "route53_resolver"
    }
    fn namespace(&self) -> &'static str {
        "aws.route53_resolver"
    }
    fn index_template(&self) -> &'static str {
        include_str!("../../../mappings/index_templates/route53_resolver.json")
    }
    fn framing(&self) -> Framing {
        Framing::ConcatenatedJson
    }
    fn matches_key(&self, key: &str) -> bool {
        key.contains("/vpcdnsquerylogs/")
    }
    fn normalizer(&self) -> Box<dyn Normalizer> {
        Box::new(JsonRecords(normalize_record))
    }
    fn ecs_fields(&self) -> Option<&'static [&'static str]> {
        Some(&[
            "@timestamp",
            "aws",
            "cloud",
            "dns",
            "ecs",
            "event",
            "network",
            "related.hosts",
            "related.ip",
            "rule",
            "siem.log_type",
            "source.address",
            "source.ip",
            "source.port",
        ])
    }
}

fn normalize_record(record: Value) -> Result<Normalized, NormalizeError> {
    if !record.is_object() {
        return Err(not_an_object("(record)"));
    }
    let timestamp = required_time("query_timestamp", record.get("query_timestamp"))?;
    let s = |field: &str| str_at(&record, &[field]);
    let mut doc = EcsDocument::new();
    let mut related = Related::default();
    doc.set("@timestamp", iso(timestamp));
    doc.set("event.action", "dns_query");
    doc.set("event.category", vec!["network"]);
    firewall(s("firewall_rule_action"), &mut doc);
    doc.set("rule.id", s("firewall_rule_group_id"));
    doc.set("rule.name", s("firewall_rule_group_id"));

    let source = s("srcaddr");
    doc.set("source.address", source);
    doc.set("source.ip", ip(source));
    doc.set("source.port", port(record.get("srcport")));
    related.ip(ip(source));
    doc.set(
        "network.type",
        ip(source).map(|a| if a.contains(':') { "ipv6" } else { "ipv4" }),
    );

    let name = s("query_name").map(|n| n.strip_suffix('.').unwrap_or(n));
    doc.set("dns.type", "answer");
    doc.set("dns.question.name", name);
    doc.set("dns.question.type", s("query_type"));
    doc.set("dns.question.class", s("query_class"));
    doc.set("dns.response_code", s("rcode"));
    related.host(name);
    let mut answers = Vec::new();
    let mut resolved = Vec::new();
    for answer in array_at(&record, &["answers"]) {
        let (data, kind) = (str_at(answer, &["Rdata"]), str_at(answer, &["Type"]));
        let mut a = EcsDocument::new();
        a.set("data", data);
        a.set("type", kind);
        a.set("class", str_at(answer, &["Class"]));
        if !a.as_map().is_empty() {
            answers.push(Value::Object(a.into_map()));
        }
        if matches!(kind, Some("A" | "AAAA")) {
            push_unique(&mut resolved, ip(data));
        }
    }
    if !answers.is_empty() {
        doc.set("dns.answers", answers);
    }
    for address in &resolved {
        related.ip(Some(address));
    }
    if !resolved.is_empty() {
        doc.set("dns.resolved_ip", resolved);
    }

    doc.set(
        "network.transport",
        s("transport").map(str::to_ascii_lowercase),
    );
    doc.set("network.protocol", "dns");

    doc.set("cloud.provider", "aws");
    doc.set("cloud.account.id", s("account_id"));
    doc.set("cloud.region", s("region"));
    let instance = str_at(&record, &["srcids", "instance"]).filter(|i| is_instance_id(i));
    doc.set("cloud.instance.id", instance);
    related.host(instance);
    related.write_to(&mut doc);

    doc.set("aws.route53_resolver", record);
    Ok(Normalized {
        document: doc.into_map(),
        timestamp,
        id: DocId::Positional,
    })
}

/// `event.kind`, `event.type` and `event.outcome` from the DNS Firewall
/// action, if a rule matched.
fn firewall(action: Option<&str>, doc: &mut EcsDocument) {
    let (kind, verdict, outcome) = match action {
        Some("BLOCK") => ("event", Some("denied"), Some("failure")),
        Some("ALLOW") => ("event", Some("allowed"), Some("success")),
        Some("ALERT") => ("alert", Some("allowed"), Some("success")),
        _ => ("event", None, None),
    };
    let mut types = vec!["protocol"];
    types.extend(verdict);
    doc.set("event.kind", kind);
    doc.set("event.type", types);
    doc.set_opt("event.outcome", outcome);
}

/// An EC2 instance id: `i-` and letters or digits (8 or 17 hexadecimal
/// digits in practice; the documentation's examples write `i-…example`).
fn is_instance_id(id: &str) -> bool {
    id.strip_prefix("i-").is_some_and(|rest| {
        (1..=32).contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_alphanumeric())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record() -> Value {
        json!({
            "version": "1.100000", "account_id": "123456789012", "region": "eu-west-1",
            "vpc_id": "vpc-0a1b2c3d4e5f60718", "query_timestamp": "2026-11-28T07:00:00Z",
            "query_name": "shop.example.com.", "query_type": "A", "query_class": "IN",
            "rcode": "NOERROR",
            "answers": [{"Rdata": "shop-1.example.net.", "Type": "CNAME", "Class": "IN"},
                        {"Rdata": "198.51.100.20", "Type": "A", "Class": "IN"}],
            "srcaddr": "10.0.1.25", "srcport": "41523", "transport": "UDP",
            "srcids": {"instance": "i-0123456789abcdef0"}
        })
    }

    fn normalize(record: Value) -> Result<Value, NormalizeError> {
        let mut out = Vec::new();
        JsonRecords(normalize_record).normalize(record.to_string().as_bytes(), &mut out)?;
        assert_eq!(out.len(), 1);
        Ok(Value::Object(out.remove(0).document))
    }

    fn doc(record: Value) -> Value {
        normalize(record).expect("normalizes")
    }

    fn get<'a>(v: &'a Value, path: &str) -> &'a Value {
        path.split('.')
            .fold(v, |v, p| v.get(p).unwrap_or(&Value::Null))
    }

    #[test]
    fn query_log_keys_route_here_and_flow_log_keys_do_not() {
        let key = "AWSLogs/123456789012/vpcdnsquerylogs/vpc-0a1b2c3d4e5f60718/2026/11/28/vpc-0a1b2c3d4e5f60718_vpcdnsquerylogs_123456789012_20261128T0700Z_0b1c2d3e.log.gz";
        assert_eq!(
            crate::log_types::route(key).map(|t| t.name()),
            Some("route53_resolver")
        );
        assert!(
            !Route53Resolver.matches_key("AWSLogs/123456789012/vpcflowlogs/eu-west-1/x.log.gz")
        );
    }

    #[test]
    fn a_query_gives_its_question_answers_and_resolved_addresses() {
        let d = doc(record());
        assert_eq!(get(&d, "@timestamp"), "2026-11-28T07:00:00.000Z");
        assert_eq!(get(&d, "dns.question.name"), "shop.example.com");
        assert_eq!(get(&d, "dns.question.type"), "A");
        assert_eq!(get(&d, "dns.response_code"), "NOERROR");
        assert_eq!(
            get(&d, "dns.answers"),
            &json!([{"data": "shop-1.example.net.", "type": "CNAME", "class": "IN"},
                    {"data": "198.51.100.20", "type": "A", "class": "IN"}])
        );
        assert_eq!(get(&d, "dns.resolved_ip"), &json!(["198.51.100.20"]));
        assert_eq!(get(&d, "event.type"), &json!(["protocol"]));
        assert_eq!(get(&d, "event.outcome"), &Value::Null);
        assert_eq!(get(&d, "rule"), &Value::Null);
    }

    #[test]
    fn the_source_instance_and_network_are_ecs_fields() {
        let d = doc(record());
        assert_eq!(get(&d, "source.ip"), "10.0.1.25");
        assert_eq!(get(&d, "source.port"), 41523);
        assert_eq!(get(&d, "network.transport"), "udp");
        assert_eq!(get(&d, "network.type"), "ipv4");
        assert_eq!(get(&d, "cloud.instance.id"), "i-0123456789abcdef0");
        assert_eq!(get(&d, "cloud.account.id"), "123456789012");
        assert_eq!(
            get(&d, "related.ip"),
            &json!(["10.0.1.25", "198.51.100.20"])
        );
        assert_eq!(
            get(&d, "related.hosts"),
            &json!(["shop.example.com", "i-0123456789abcdef0"])
        );
        assert_eq!(
            get(&d, "aws.route53_resolver.vpc_id"),
            "vpc-0a1b2c3d4e5f60718"
        );
    }

    #[test]
    fn a_dns_firewall_block_is_denied_and_names_its_rule_group() {
        let mut r = record();
        r["firewall_rule_action"] = json!("BLOCK");
        r["firewall_rule_group_id"] = json!("rslvr-frg-0123456789abcdef");
        r["firewall_domain_list_id"] = json!("rslvr-fdl-0123456789abcdef");
        let d = doc(r);
        assert_eq!(get(&d, "event.type"), &json!(["protocol", "denied"]));
        assert_eq!(get(&d, "event.outcome"), "failure");
        assert_eq!(get(&d, "event.kind"), "event");
        assert_eq!(get(&d, "rule.id"), "rslvr-frg-0123456789abcdef");
        assert_eq!(
            get(&d, "aws.route53_resolver.firewall_domain_list_id"),
            "rslvr-fdl-0123456789abcdef"
        );
    }

    #[test]
    fn a_dns_firewall_alert_is_an_alert_on_an_allowed_query() {
        let mut r = record();
        r["firewall_rule_action"] = json!("ALERT");
        let d = doc(r);
        assert_eq!(get(&d, "event.kind"), "alert");
        assert_eq!(get(&d, "event.type"), &json!(["protocol", "allowed"]));
    }

    #[test]
    fn values_of_the_wrong_shape_stay_out_of_typed_fields() {
        let mut r = record();
        r["srcaddr"] = json!("10.0.1.300");
        r["srcport"] = json!("99999");
        r["srcids"] = json!({"instance": "ip-10-0-1-25"});
        r["answers"] = json!([{"Rdata": "not-an-ip", "Type": "A"}, "junk", {"Rdata": 5}]);
        let d = doc(r);
        assert_eq!(get(&d, "source.address"), "10.0.1.300");
        assert_eq!(get(&d, "source.ip"), &Value::Null);
        assert_eq!(get(&d, "source.port"), &Value::Null);
        assert_eq!(get(&d, "network.type"), &Value::Null);
        assert_eq!(get(&d, "cloud.instance"), &Value::Null);
        assert_eq!(get(&d, "dns.resolved_ip"), &Value::Null);
        assert_eq!(
            get(&d, "dns.answers"),
            &json!([{"data": "not-an-ip", "type": "A"}])
        );
    }

    #[test]
    fn an_ipv6_source_is_ipv6() {
        let mut r = record();
        r["srcaddr"] = json!("2001:db8:1::25");
        assert_eq!(get(&doc(r), "network.type"), "ipv6");
    }

    #[test]
    fn a_missing_or_unreadable_query_timestamp_is_a_record_error() {
        let mut r = record();
        r.as_object_mut().map(|o| o.remove("query_timestamp"));
        assert_eq!(
            normalize(r),
            Err(NormalizeError::MissingField("query_timestamp"))
        );
        let mut r = record();
        r["query_timestamp"] = json!("yesterday");
        assert!(normalize(r).is_err());
        assert!(normalize(json!("a string")).is_err());
    }

    #[test]
    fn instance_ids_are_recognised() {
        assert!(is_instance_id("i-0123456789abcdef0"));
        assert!(is_instance_id("i-0123abcd"));
        assert!(is_instance_id("i-0d15cd0d3example"));
        assert!(!is_instance_id("i-"));
        assert!(!is_instance_id("i-0123/../x"));
        assert!(!is_instance_id("rslvr-in-1"));
    }
}
