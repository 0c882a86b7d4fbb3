//! AWS WAF (v2) web ACL logs: one JSON record per web request inspected.
//!
//! # What arrives
//!
//! Logging to S3 writes gzip objects under
//! `AWSLogs/<account>/WAFLogs/<region>/<web-acl>/YYYY/MM/DD/HH/mm/…log.gz`, one
//! record per line. Logging through Firehose needs a delivery stream whose
//! name starts with `aws-waf-logs-`, and Firehose puts records one after
//! another, with or without a newline between them: a key routes here when it
//! contains `/WAFLogs/` or `aws-waf-logs-`, and objects are framed with
//! [`Framing::ConcatenatedJson`], which reads both.
//!
//! # Mapping
//!
//! The record is kept whole under `aws.waf` (a `flat_object`: rule groups,
//! labels, match details and headers stay searchable there, e.g.
//! `aws.waf.labels.name: awswaf:managed:aws:bot-control:bot:verified`).
//! ECS fields are derived:
//! - `@timestamp` `timestamp` (epoch milliseconds);
//! - `event.action` the action lowercased (`allow`, `block`, `count`,
//!   `captcha`, `challenge`); `event.category` `web` and `network`, plus
//!   `intrusion_detection` for a block; `event.type` `access` and `allowed`
//!   (ALLOW, COUNT: the request went on) or `denied` (BLOCK, and a terminating
//!   CAPTCHA or Challenge: the client got a puzzle instead of the resource);
//!   `event.outcome` `success` or `failure` likewise;
//! - `rule.id` / `rule.name` `terminatingRuleId`, `rule.ruleset`
//!   `terminatingRuleType`, unless no rule terminated the request
//!   (`Default_Action`: the web ACL's default action applied);
//! - `source.ip` / `source.address` `httpRequest.clientIp`,
//!   `source.geo.country_iso_code` `httpRequest.country` (not `-`, AWS's
//!   "unknown"): the GeoIP enricher then leaves this side's `geo` alone;
//! - `http.request.method`, `http.version` (`HTTP/1.1` → `1.1`),
//!   `http.request.id` `requestId`, `http.response.status_code`
//!   `responseCodeSent` (a custom response); `url.path` `uri`, `url.query`
//!   `args`; `url.domain` / `url.port` the `Host` header, `user_agent.original`
//!   `User-Agent`, `http.request.referrer` `Referer` (header names in any
//!   letter case);
//! - `cloud.account.id` / `cloud.region` from the web ACL's ARN
//!   (`arn:aws:wafv2:<region>:<account>:…`), `observer.*` AWS / WAF / `waf`.
//!
//! Every header is the client's to write: a value is copied to a typed ECS
//! field only when it has that field's shape, and a string too long to index
//! is cut in `aws.waf` ([`vendor_tree`]). Records have no natural key, so
//! document ids are positional.

use serde_json::Value;

use super::finding::{array_at, at, count, ip, not_an_object, required_time, str_at};
use super::{
    DocId, JsonRecords, LogType, NormalizeError, Normalized, Normalizer, finding, vendor_tree,
};
use crate::decode::Framing;
use crate::ecs::{EcsDocument, Related};

pub struct Waf;

/// The tag of a document whose `aws.waf` had a string cut.
pub const TRUNCATED_TAG: &str = "waf_long_value_truncated";

impl LogType for Waf {
    fn name(&self) -> &'static str {
        "waf"
    }
    fn namespace(&self) -> &'static str {
        "aws.waf"
    }
    fn index_template(&self) -> &'static str {
        include_str!("../../../mappings/index_templates/waf.json")
    }
    fn framing(&self) -> Framing {
        Framing::ConcatenatedJson
    }
    fn matches_key(&self, key: &str) -> bool {
        key.contains("/WAFLogs/") || key.contains("aws-waf-logs-")
    }
    fn normalizer(&self) -> Box<dyn Normalizer> {
        Box::new(JsonRecords(normalize_record))
    }
    fn ecs_fields(&self) -> Option<&'static [&'static str]> {
        Some(&[
            "@timestamp",
            "aws",
            "cloud",
            "ecs",
            "event",
            "http",
            "network.protocol",
            "observer",
            "related.hosts",
            "related.ip",
            "rule",
            "siem.log_type",
            "source.address",
            "source.geo.country_iso_code",
            "source.ip",
            "tags",
            "url",
            "user_agent",
        ])
    }
}

fn normalize_record(record: Value) -> Result<Normalized, NormalizeError> {
    if !record.is_object() {
        return Err(not_an_object("(record)"));
    }
    let timestamp = required_time("timestamp", record.get("timestamp"))?;
    let request = record.get("httpRequest").unwrap_or(&Value::Null);
    let mut doc = EcsDocument::new();
    let mut related = Related::default();
    doc.set("@timestamp", finding::iso(timestamp));
    doc.set("event.kind", "event");
    action(str_at(&record, &["action"]), &mut doc);
    // `Default_Action`: no rule matched, the web ACL's default applied.
    if let Some(rule) = str_at(&record, &["terminatingRuleId"]).filter(|r| *r != "Default_Action") {
        doc.set("rule.id", rule);
        doc.set("rule.name", rule);
        doc.set("rule.ruleset", str_at(&record, &["terminatingRuleType"]));
    }
    doc.set("observer.vendor", "AWS");
    doc.set("observer.product", "WAF");
    doc.set("observer.type", "waf");
    doc.set("network.protocol", "http");
    doc.set("cloud.provider", "aws");
    if let Some((region, account)) = str_at(&record, &["webaclId"]).and_then(arn_region_account) {
        doc.set("cloud.region", region);
        doc.set("cloud.account.id", account);
    }

    let client = str_at(request, &["clientIp"]);
    doc.set("source.address", client);
    doc.set("source.ip", ip(client));
    related.ip(ip(client));
    doc.set(
        "source.geo.country_iso_code",
        str_at(request, &["country"]).filter(|c| is_country_code(c)),
    );

    doc.set("http.request.method", str_at(request, &["httpMethod"]));
    doc.set(
        "http.version",
        str_at(request, &["httpVersion"]).and_then(|v| v.strip_prefix("HTTP/")),
    );
    doc.set("http.request.id", str_at(request, &["requestId"]));
    doc.set(
        "http.response.status_code",
        count(record.get("responseCodeSent")).filter(|c| (100..=599).contains(c)),
    );
    doc.set("url.path", str_at(request, &["uri"]));
    doc.set("url.query", str_at(request, &["args"]));
    let headers = array_at(request, &["headers"]);
    if let Some((domain, port)) = header(headers, "host").and_then(host_and_port) {
        doc.set("url.domain", domain);
        doc.set_opt("url.port", port);
        related.host(Some(domain));
    }
    doc.set("user_agent.original", header(headers, "user-agent"));
    doc.set("http.request.referrer", header(headers, "referer"));
    related.write_to(&mut doc);

    vendor_tree::set_original(&mut doc, "aws.waf", record, TRUNCATED_TAG);
    Ok(Normalized {
        document: doc.into_map(),
        timestamp,
        id: DocId::Positional,
    })
}

/// The ECS categorization of WAF's `action`.
fn action(action: Option<&str>, doc: &mut EcsDocument) {
    let Some(action) = action else {
        doc.set("event.category", vec!["web", "network"]);
        doc.set("event.type", vec!["access"]);
        return;
    };
    doc.set("event.action", action.to_ascii_lowercase());
    let (category, verdict, outcome) = match action {
        "ALLOW" | "COUNT" => (None, Some("allowed"), Some("success")),
        "BLOCK" => (Some("intrusion_detection"), Some("denied"), Some("failure")),
        "CAPTCHA" | "CHALLENGE" => (None, Some("denied"), Some("failure")),
        _ => (None, None, None),
    };
    let mut categories = vec!["web", "network"];
    categories.extend(category);
    let mut types = vec!["access"];
    types.extend(verdict);
    doc.set("event.category", categories);
    doc.set("event.type", types);
    doc.set_opt("event.outcome", outcome);
}

/// The value of the first header named `name` (any letter case).
fn header<'a>(headers: &'a [Value], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|h| str_at(h, &["name"]).is_some_and(|n| n.eq_ignore_ascii_case(name)))
        .and_then(|h| at(h, &["value"])?.as_str())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// A `Host` header's name and port: `example.com:8443`, `[2001:db8::1]:443`;
/// `None` when the name is not one a URL could hold.
fn host_and_port(host: &str) -> Option<(&str, Option<u16>)> {
    let (name, port) = match host.strip_prefix('[') {
        Some(rest) => {
            let (addr, after) = rest.split_once(']')?;
            (addr, after.strip_prefix(':'))
        }
        None => match host.rsplit_once(':') {
            Some((name, port)) if !name.contains(':') => (name, Some(port)),
            Some(_) => return None,
            None => (host, None),
        },
    };
    let port = match port {
        Some(p) => Some(p.parse::<u16>().ok()?),
        None => None,
    };
    let valid = !name.is_empty()
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':'));
    valid.then_some((name, port))
}

/// `(region, account)` of an ARN `arn:<partition>:<service>:<region>:<account>:…`.
fn arn_region_account(arn: &str) -> Option<(&str, &str)> {
    let mut parts = arn.splitn(6, ':');
    let (arn_word, _partition, _service) = (parts.next()?, parts.next()?, parts.next()?);
    let (region, account) = (parts.next()?, parts.next()?);
    let account_ok = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
    let region_ok = region
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    (arn_word == "arn" && account_ok && region_ok).then_some((region, account))
}

/// An ISO 3166-1 alpha-2 code (`US`); WAF writes `-` when it cannot tell.
fn is_country_code(c: &str) -> bool {
    c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record() -> Value {
        json!({
            "timestamp": 1_795_849_200_123_u64, "formatVersion": 1,
            "webaclId": "arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/shop/0b1c2d3e",
            "terminatingRuleId": "Default_Action", "terminatingRuleType": "REGULAR", "action": "ALLOW",
            "httpSourceName": "ALB", "httpSourceId": "123456789012-app/shop/50dc6c495c0c9188",
            "ruleGroupList": [], "rateBasedRuleList": [], "nonTerminatingMatchingRules": [],
            "httpRequest": {
                "clientIp": "203.0.113.7", "country": "NL",
                "headers": [{"name": "host", "value": "shop.example.com"},
                            {"name": "USER-AGENT", "value": "curl/8.5.0"}],
                "uri": "/cart", "args": "id=7", "httpVersion": "HTTP/2.0", "httpMethod": "POST",
                "requestId": "1-674c8a70-0123456789abcdef01234567"
            }
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
    fn s3_and_firehose_keys_route_here() {
        let s3 = "AWSLogs/123456789012/WAFLogs/eu-west-1/shop/2026/11/28/07/05/123456789012_waflogs_eu-west-1_shop_20261128T0705Z_1a2b3c4d.log.gz";
        let firehose = "waf/2026/11/28/07/aws-waf-logs-shop-1-2026-11-28-07-05-00-0b1c2d3e.gz";
        assert_eq!(crate::log_types::route(s3).map(|t| t.name()), Some("waf"));
        assert_eq!(
            crate::log_types::route(firehose).map(|t| t.name()),
            Some("waf")
        );
        assert!(!Waf.matches_key("AWSLogs/123456789012/vpcflowlogs/eu-west-1/x.log.gz"));
    }

    #[test]
    fn an_allowed_request_is_web_access_with_its_http_fields() {
        let d = doc(record());
        assert_eq!(get(&d, "@timestamp"), "2026-11-28T07:00:00.123Z");
        assert_eq!(get(&d, "event.action"), "allow");
        assert_eq!(get(&d, "event.category"), &json!(["web", "network"]));
        assert_eq!(get(&d, "event.type"), &json!(["access", "allowed"]));
        assert_eq!(get(&d, "event.outcome"), "success");
        assert_eq!(get(&d, "source.ip"), "203.0.113.7");
        assert_eq!(get(&d, "source.geo.country_iso_code"), "NL");
        assert_eq!(get(&d, "http.request.method"), "POST");
        assert_eq!(get(&d, "http.version"), "2.0");
        assert_eq!(get(&d, "url.path"), "/cart");
        assert_eq!(get(&d, "url.query"), "id=7");
        assert_eq!(
            get(&d, "rule"),
            &Value::Null,
            "the default action is no rule"
        );
        assert_eq!(get(&d, "cloud.account.id"), "123456789012");
        assert_eq!(get(&d, "cloud.region"), "eu-west-1");
        assert_eq!(get(&d, "aws.waf.httpSourceName"), "ALB");
    }

    #[test]
    fn header_names_are_matched_in_any_letter_case() {
        let d = doc(record());
        assert_eq!(get(&d, "url.domain"), "shop.example.com");
        assert_eq!(get(&d, "user_agent.original"), "curl/8.5.0");
        assert_eq!(get(&d, "related.hosts"), &json!(["shop.example.com"]));
    }

    #[test]
    fn a_block_is_denied_and_an_intrusion_detection() {
        let mut r = record();
        r["action"] = json!("BLOCK");
        r["terminatingRuleId"] = json!("AWS-AWSManagedRulesSQLiRuleSet");
        r["terminatingRuleType"] = json!("MANAGED_RULE_GROUP");
        let d = doc(r);
        assert_eq!(get(&d, "event.action"), "block");
        assert_eq!(
            get(&d, "event.category"),
            &json!(["web", "network", "intrusion_detection"])
        );
        assert_eq!(get(&d, "event.type"), &json!(["access", "denied"]));
        assert_eq!(get(&d, "event.outcome"), "failure");
        assert_eq!(get(&d, "rule.id"), "AWS-AWSManagedRulesSQLiRuleSet");
        assert_eq!(get(&d, "rule.ruleset"), "MANAGED_RULE_GROUP");
    }

    #[test]
    fn a_terminating_captcha_denies_the_request_without_an_intrusion() {
        let mut r = record();
        r["action"] = json!("CAPTCHA");
        r["responseCodeSent"] = json!(405);
        let d = doc(r);
        assert_eq!(get(&d, "event.type"), &json!(["access", "denied"]));
        assert_eq!(get(&d, "event.category"), &json!(["web", "network"]));
        assert_eq!(get(&d, "http.response.status_code"), 405);
    }

    #[test]
    fn a_host_header_gives_the_domain_and_port_and_ipv6_hosts_are_unbracketed() {
        assert_eq!(
            host_and_port("localhost:1989"),
            Some(("localhost", Some(1989)))
        );
        assert_eq!(
            host_and_port("[2001:db8::1]:443"),
            Some(("2001:db8::1", Some(443)))
        );
        assert_eq!(host_and_port("example.com"), Some(("example.com", None)));
        assert_eq!(host_and_port("example.com:99999"), None);
        assert_eq!(host_and_port("evil.com/<script>"), None);
        assert_eq!(host_and_port(":80"), None);
    }

    #[test]
    fn values_of_the_wrong_shape_stay_out_of_typed_fields() {
        let mut r = record();
        r["httpRequest"]["clientIp"] = json!("not-an-ip");
        r["httpRequest"]["country"] = json!("-");
        r["httpRequest"]["headers"] =
            json!([{"name": "Host", "value": 7}, "junk", {"name": ["User-Agent"]}]);
        r["responseCodeSent"] = json!("teapot");
        r["webaclId"] = json!("arn:aws:wafv2:eu-west-1:12345:regional/webacl/x/y");
        let d = doc(r);
        assert_eq!(get(&d, "source.address"), "not-an-ip");
        assert_eq!(get(&d, "source.ip"), &Value::Null);
        assert_eq!(get(&d, "source.geo"), &Value::Null);
        assert_eq!(get(&d, "url.domain"), &Value::Null);
        assert_eq!(get(&d, "user_agent"), &Value::Null);
        assert_eq!(get(&d, "http.response"), &Value::Null);
        assert_eq!(get(&d, "cloud.account"), &Value::Null);
        assert_eq!(get(&d, "related.ip"), &Value::Null);
    }

    #[test]
    fn a_record_without_http_request_or_action_is_still_indexed() {
        let d = doc(json!({"timestamp": 1_795_849_200_000_u64}));
        assert_eq!(get(&d, "event.type"), &json!(["access"]));
        assert_eq!(get(&d, "event.outcome"), &Value::Null);
        assert_eq!(get(&d, "observer.product"), "WAF");
    }

    #[test]
    fn a_huge_header_is_cut_in_the_vendor_tree_and_kept_in_event_original() {
        let mut r = record();
        r["httpRequest"]["headers"] = json!([{"name": "User-Agent", "value": "A".repeat(100_000)}]);
        let d = doc(r);
        let kept = get(&d, "aws.waf.httpRequest.headers")[0]["value"]
            .as_str()
            .map(str::len);
        assert_eq!(kept, Some(vendor_tree::MAX_FLAT_STRING_BYTES));
        assert!(
            get(&d, "event.original")
                .as_str()
                .is_some_and(|o| o.len() > 100_000)
        );
        assert_eq!(get(&d, "tags"), &json!([TRUNCATED_TAG]));
    }

    #[test]
    fn a_missing_or_unreadable_timestamp_is_a_record_error() {
        let mut r = record();
        r.as_object_mut().map(|o| o.remove("timestamp"));
        assert_eq!(normalize(r), Err(NormalizeError::MissingField("timestamp")));
        let mut r = record();
        r["timestamp"] = json!("soon");
        assert!(matches!(
            normalize(r),
            Err(NormalizeError::InvalidField {
                field: "timestamp",
                ..
            })
        ));
        assert!(normalize(json!([1, 2])).is_err());
    }
}
