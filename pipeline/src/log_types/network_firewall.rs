//! AWS Network Firewall logs, as the firewall writes them to S3 under
//! `AWSLogs/<account>/network-firewall/{alert,flow,tls}/YYYY/MM/DD/HH/…log.gz`:
//! JSON Lines, one Suricata "eve" event per line inside the firewall's
//! envelope (`firewall_name`, `availability_zone`, `event_timestamp`,
//! `event`).
//!
//! # Mapping
//!
//! The whole line is kept under `aws.network_firewall` (a `flat_object`: eve
//! events grow members with every Suricata release). ECS:
//! - `@timestamp` the event's `timestamp` (`2026-11-28T10:15:02.123456+0000`),
//!   else the envelope's `event_timestamp` (epoch seconds);
//! - `observer.name` the firewall, `observer.type: firewall`,
//!   `cloud.availability_zone`;
//! - `source.*`/`destination.*` from `src_ip`/`src_port`/`dest_ip`/`dest_port`,
//!   `network.transport` the protocol lowercased, `network.protocol` the
//!   application protocol (`app_proto`), `network.community_id`;
//! - alerts (`event_type: alert`, also `drop`): `event.kind: alert`,
//!   `event.category: [network, intrusion_detection]`, `event.type` `allowed`
//!   or `denied` by `alert.action` (`blocked` is denied), `rule.id` the
//!   signature id, `rule.name` the signature, `rule.category`,
//!   `event.severity` Suricata's severity (1 is the highest);
//! - flows (`netflow`, `flow`): `event.kind: event`, `event.category: [network]`,
//!   `event.type: [connection]`, `event.start`/`event.end`,
//!   `source.bytes`/`source.packets` (what the flow carried);
//! - TLS inspection logs (an event with `sni` and no `event_type`):
//!   `event.type: [connection]`, `tls.client.server_name`, and
//!   `event.outcome: failure` with `error.message` when the TLS handshake or
//!   the revocation check failed;
//! - `http.*`, `url.*`, `user_agent.original` from an alert's `http` member,
//!   `dns.question.name` from its `dns` member, `tls.client.server_name` from
//!   its `tls.sni`.
//!
//! Lines have no natural id: documents get positional ids.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::finding::{at, count, ip, port, str_at};
use super::{DocId, LogType, NormalizeError, Normalized, Normalizer, parse_json};
use crate::decode::Framing;
use crate::ecs::{EcsDocument, Related};

pub struct NetworkFirewall;

impl LogType for NetworkFirewall {
    fn name(&self) -> &'static str {
        "network_firewall"
    }
    fn namespace(&self) -> &'static str {
        "aws.network_firewall"
    }
    fn index_template(&self) -> &'static str {
        include_str!("../../../mappings/index_templates/network_firewall.json")
    }
    fn framing(&self) -> Framing {
        // One event per line: a broken line is an error of that line alone.
        Framing::Lines
    }
    fn matches_key(&self, key: &str) -> bool {
        key.contains("/network-firewall/")
    }
    fn normalizer(&self) -> Box<dyn Normalizer> {
        Box::new(NetworkFirewallNormalizer)
    }
}

struct NetworkFirewallNormalizer;

impl Normalizer for NetworkFirewallNormalizer {
    fn normalize(&mut self, frame: &[u8], out: &mut Vec<Normalized>) -> Result<(), NormalizeError> {
        out.push(normalize_line(parse_json(frame)?)?);
        Ok(())
    }
}

/// Suricata writes `+0000`, not `+00:00`.
fn event_time(line: &Value) -> Result<DateTime<Utc>, NormalizeError> {
    if let Some(t) = str_at(line, &["event", "timestamp"]) {
        return DateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f%z")
            .or_else(|_| DateTime::parse_from_rfc3339(t))
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| NormalizeError::InvalidField {
                field: "event.timestamp",
                message: format!("{t:?} is not a time: {e}"),
            });
    }
    let seconds = match line.get("event_timestamp") {
        Some(Value::String(s)) => s.parse::<i64>().ok(),
        Some(Value::Number(n)) => n.as_i64(),
        _ => None,
    };
    seconds
        .and_then(|s| DateTime::from_timestamp(s, 0))
        .ok_or(NormalizeError::MissingField("event.timestamp"))
}

fn normalize_line(line: Value) -> Result<Normalized, NormalizeError> {
    if !line.is_object() {
        return Err(NormalizeError::InvalidField {
            field: "(record)",
            message: "a Network Firewall log line must be a JSON object".into(),
        });
    }
    let timestamp = event_time(&line)?;
    let event = line.get("event").unwrap_or(&Value::Null);
    let mut doc = EcsDocument::new();
    let mut related = Related::default();
    doc.set("@timestamp", super::finding::iso(timestamp));
    doc.set("cloud.provider", "aws");
    doc.set(
        "cloud.availability_zone",
        str_at(&line, &["availability_zone"]),
    );
    doc.set("observer.vendor", "AWS");
    doc.set("observer.product", "Network Firewall");
    doc.set("observer.type", "firewall");
    doc.set("observer.name", str_at(&line, &["firewall_name"]));

    let source = ip(str_at(event, &["src_ip"]));
    let destination = ip(str_at(event, &["dest_ip"]));
    doc.set("source.ip", source);
    doc.set("source.address", source);
    doc.set_opt("source.port", port(event.get("src_port")));
    doc.set("destination.ip", destination);
    doc.set("destination.address", destination);
    doc.set_opt("destination.port", port(event.get("dest_port")));
    related.ip(source);
    related.ip(destination);
    doc.set(
        "network.transport",
        str_at(event, &["proto"]).map(str::to_ascii_lowercase),
    );
    doc.set(
        "network.protocol",
        str_at(event, &["app_proto"])
            .filter(|p| *p != "unknown" && *p != "failed")
            .map(str::to_ascii_lowercase),
    );
    doc.set("network.community_id", str_at(event, &["community_id"]));

    match str_at(event, &["event_type"]) {
        Some("alert" | "drop") => alert(event, &mut doc, &mut related),
        Some("netflow" | "flow") => flow(event, &mut doc),
        Some(other) => {
            doc.set("event.kind", "event");
            doc.set("event.category", vec!["network"]);
            doc.set("event.type", vec!["info"]);
            doc.set("event.action", other);
        }
        None => tls_inspection(event, &mut doc, &mut related),
    }
    related.write_to(&mut doc);
    doc.set("aws.network_firewall", line);
    Ok(Normalized {
        document: doc.into_map(),
        timestamp,
        id: DocId::Positional,
    })
}

fn alert(event: &Value, doc: &mut EcsDocument, related: &mut Related) {
    let alert = event.get("alert").unwrap_or(&Value::Null);
    doc.set("event.kind", "alert");
    doc.set("event.category", vec!["network", "intrusion_detection"]);
    let action = str_at(alert, &["action"]);
    let denied = matches!(action, Some("blocked" | "drop" | "reject"))
        || str_at(event, &["event_type"]) == Some("drop");
    doc.set(
        "event.type",
        vec![if denied { "denied" } else { "allowed" }],
    );
    doc.set("event.action", action);
    doc.set_opt(
        "rule.id",
        count(alert.get("signature_id")).map(|id| id.to_string()),
    );
    doc.set("rule.name", str_at(alert, &["signature"]));
    doc.set("rule.category", str_at(alert, &["category"]));
    doc.set_opt("event.severity", count(alert.get("severity")));
    if let Some(http) = event.get("http") {
        doc.set("url.domain", str_at(http, &["hostname"]));
        related.host(str_at(http, &["hostname"]));
        doc.set("url.original", str_at(http, &["url"]));
        doc.set("http.request.method", str_at(http, &["http_method"]));
        doc.set("user_agent.original", str_at(http, &["http_user_agent"]));
        doc.set_opt(
            "http.response.status_code",
            count(http.get("status")).filter(|s| (100..600).contains(s)),
        );
    }
    // Suricata 7 lists the queries; older versions have one `rrname`.
    let first_query = at(event, &["dns", "query"])
        .and_then(|q| q.get(0))
        .and_then(|q| q.get("rrname"))
        .and_then(Value::as_str);
    if let Some(name) = first_query.or(str_at(event, &["dns", "rrname"])) {
        doc.set("dns.question.name", name.trim_end_matches('.'));
        related.host(Some(name.trim_end_matches('.')));
    }
    if let Some(sni) = str_at(event, &["tls", "sni"]) {
        doc.set("tls.client.server_name", sni);
        related.host(Some(sni));
    }
}

fn flow(event: &Value, doc: &mut EcsDocument) {
    doc.set("event.kind", "event");
    doc.set("event.category", vec!["network"]);
    doc.set("event.type", vec!["connection"]);
    let netflow = event
        .get("netflow")
        .or(event.get("flow"))
        .unwrap_or(&Value::Null);
    let time = |key: &str| {
        str_at(netflow, &[key])
            .and_then(|t| DateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f%z").ok())
            .map(|t| super::finding::iso(t.with_timezone(&Utc)))
    };
    doc.set_opt("event.start", time("start"));
    doc.set_opt("event.end", time("end"));
    doc.set_opt(
        "source.bytes",
        count(netflow.get("bytes").or(netflow.get("bytes_toserver"))),
    );
    doc.set_opt(
        "source.packets",
        count(netflow.get("pkts").or(netflow.get("pkts_toserver"))),
    );
    doc.set_opt("destination.bytes", count(netflow.get("bytes_toclient")));
    doc.set_opt("destination.packets", count(netflow.get("pkts_toclient")));
}

fn tls_inspection(event: &Value, doc: &mut EcsDocument, related: &mut Related) {
    doc.set("event.kind", "event");
    doc.set("event.category", vec!["network"]);
    doc.set("event.type", vec!["connection"]);
    let sni = str_at(event, &["sni"]);
    doc.set("tls.client.server_name", sni);
    related.host(sni);
    let error = str_at(event, &["tls_error", "error_message"]).or(str_at(
        event,
        &["revocation_check", "status"],
    )
    .filter(|s| !s.eq_ignore_ascii_case("good")));
    if let Some(error) = error {
        doc.set("event.outcome", "failure");
        doc.set("error.message", error);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn one(v: Value) -> Normalized {
        normalize_line(v).unwrap_or_else(|e| panic!("{e}"))
    }

    fn get<'a>(n: &'a Normalized, path: &str) -> &'a Value {
        let mut parts = path.split('.');
        let first = n
            .document
            .get(parts.next().unwrap_or_default())
            .unwrap_or(&Value::Null);
        parts.fold(first, |v, p| v.get(p).unwrap_or(&Value::Null))
    }

    fn envelope(event: Value) -> Value {
        json!({"firewall_name": "egress-fw", "availability_zone": "us-east-1a", "event_timestamp": "1796033762", "event": event})
    }

    #[test]
    fn a_blocked_alert_is_a_denied_intrusion_detection_alert() {
        let n = one(envelope(json!({
            "timestamp": "2026-11-30T10:16:02.412308+0000", "flow_id": 1_582_438_383_425_873_u64, "event_type": "alert",
            "src_ip": "10.0.1.40", "src_port": 50412, "dest_ip": "198.51.100.23", "dest_port": 4444, "proto": "TCP",
            "app_proto": "unknown",
            "alert": {"action": "blocked", "signature_id": 2_024_897, "rev": 3, "signature": "ET MALWARE Reverse shell", "category": "A Network Trojan was detected", "severity": 1}
        })));
        assert_eq!(get(&n, "@timestamp"), "2026-11-30T10:16:02.412Z");
        assert_eq!(get(&n, "event.kind"), "alert");
        assert_eq!(
            get(&n, "event.category"),
            &json!(["network", "intrusion_detection"])
        );
        assert_eq!(get(&n, "event.type"), &json!(["denied"]));
        assert_eq!(get(&n, "rule.id"), "2024897");
        assert_eq!(get(&n, "rule.name"), "ET MALWARE Reverse shell");
        assert_eq!(get(&n, "event.severity"), 1);
        assert_eq!(get(&n, "network.transport"), "tcp");
        assert_eq!(
            get(&n, "network.protocol"),
            &Value::Null,
            "unknown is no protocol"
        );
        assert_eq!(get(&n, "observer.name"), "egress-fw");
        assert_eq!(get(&n, "destination.port"), 4444);
    }

    #[test]
    fn a_flow_is_a_connection_with_its_bytes_and_times() {
        let n = one(envelope(json!({
            "timestamp": "2026-11-30T10:17:00.000000+0000", "event_type": "netflow", "src_ip": "10.0.1.40", "src_port": 50412,
            "dest_ip": "198.51.100.23", "dest_port": 443, "proto": "TCP", "app_proto": "tls",
            "netflow": {"pkts": 12, "bytes": 4096, "start": "2026-11-30T10:15:55.101010+0000", "end": "2026-11-30T10:16:59.909090+0000", "age": 64}
        })));
        assert_eq!(get(&n, "event.type"), &json!(["connection"]));
        assert_eq!(get(&n, "source.bytes"), 4096);
        assert_eq!(get(&n, "event.start"), "2026-11-30T10:15:55.101Z");
        assert_eq!(get(&n, "network.protocol"), "tls");
    }

    #[test]
    fn a_tls_inspection_error_is_a_failed_connection() {
        let n = one(envelope(json!({
            "timestamp": "2026-11-30T10:18:00.000000+0000", "src_ip": "10.0.1.40", "src_port": 50500, "dest_ip": "192.0.2.80",
            "dest_port": 443, "sni": "updates.example.com",
            "tls_error": {"error_message": "SSL routines::certificate verify failed"}
        })));
        assert_eq!(get(&n, "tls.client.server_name"), "updates.example.com");
        assert_eq!(get(&n, "event.outcome"), "failure");
        assert_eq!(
            get(&n, "error.message"),
            "SSL routines::certificate verify failed"
        );
    }

    #[test]
    fn only_the_envelope_time_is_enough_and_no_time_is_an_error() {
        let n = one(
            json!({"firewall_name": "fw", "event_timestamp": 1_796_033_762, "event": {"event_type": "alert"}}),
        );
        assert_eq!(get(&n, "@timestamp"), "2026-11-30T10:16:02.000Z");
        assert!(normalize_line(json!({"firewall_name": "fw", "event": {}})).is_err());
        assert!(normalize_line(json!(["not", "an", "object"])).is_err());
        assert!(normalize_line(envelope(json!({"timestamp": "noon"}))).is_err());
    }

    #[test]
    fn values_of_the_wrong_type_stay_only_in_the_vendor_tree() {
        let n = one(envelope(json!({
            "timestamp": "2026-11-30T10:16:02.412308+0000", "event_type": "alert", "src_ip": "not-an-ip",
            "src_port": "x", "dest_port": 70000, "alert": {"signature_id": "abc", "severity": -1}
        })));
        assert_eq!(get(&n, "source"), &Value::Null);
        assert_eq!(get(&n, "destination"), &Value::Null);
        assert_eq!(get(&n, "rule.id"), &Value::Null);
        assert_eq!(get(&n, "aws.network_firewall.event.src_ip"), "not-an-ip");
    }
}
