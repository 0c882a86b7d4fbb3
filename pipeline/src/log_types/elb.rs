//! Elastic Load Balancing access logs: Application (`app.`), Network (`net.`,
//! TLS listeners) and Classic load balancers, as ELB writes them to S3 under
//! `AWSLogs/<account>/elasticloadbalancing/<region>/YYYY/MM/DD/…log.gz`. One
//! line is one request (ALB, CLB) or one TLS connection (NLB).
//!
//! # Reading a line
//!
//! Fields are separated by single spaces; a field in double quotes may hold
//! spaces (the request line, the user agent), with `\"` for a quote inside.
//! Which balancer wrote a line shows in its first field: an ALB request type
//! (`http`, `https`, `h2`, `grpcs`, `ws`, `wss`), `tls` for an NLB, and a
//! time for a Classic load balancer. Fields are read by position in the
//! documented order; ALB and NLB add fields at the end over time, and a line
//! with more fields than known keeps the extra ones as `aws.elb.extra` instead
//! of failing. A line with fewer fields than its format's oldest version is an
//! error of that record. `-` is an empty field.
//!
//! # Mapping
//!
//! Every field is kept, as read, under `aws.elb` (named as AWS documents it).
//! Typed fields are ECS:
//! - `@timestamp` the time the response was sent (`time`; a CLB's first
//!   field); `event.start` an ALB's `request_creation_time`; `event.duration`
//!   the sum of the processing times (ALB, CLB), or an NLB's connection time;
//! - `source.ip`/`source.port` the client, `destination.ip`/`destination.port`
//!   the target (backend), when there is one;
//! - ALB and CLB requests: `event.category: [web]`, `event.type: [access]`,
//!   `network.protocol: http`, `http.request.method`,
//!   `http.version`, `url.*` from the request line, `http.response.status_code`
//!   the load balancer's status (the target's stays in `aws.elb`),
//!   `http.request.bytes`/`http.response.bytes`, `user_agent.original`,
//!   `event.outcome` `failure` from status 400 on, `tls.cipher` and
//!   `tls.version` for HTTPS listeners, and `error.message` an ALB's
//!   `error_reason`;
//! - an NLB's connections, and a Classic load balancer's TCP listener (no
//!   request line): `event.category: [network]`, `event.type: [connection]`,
//!   `network.transport: tcp`; an NLB also `source.bytes`/`destination.bytes`,
//!   `tls.*`, `tls.client.server_name` the SNI domain, `event.outcome:
//!   failure` on a TLS alert;
//! - `cloud.account.id`/`cloud.region` from the target group's ARN (ALB),
//!   `observer.name` the load balancer.
//!
//! A line has no natural id: documents get positional ids.

use std::borrow::Cow;
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{Map, Value};

use super::spaced::split;
use super::{DocId, LogType, NormalizeError, Normalized, Normalizer, finding};
use crate::decode::Framing;
use crate::ecs::{EcsDocument, Related};

pub struct Elb;

impl LogType for Elb {
    fn name(&self) -> &'static str {
        "elb"
    }
    fn namespace(&self) -> &'static str {
        "aws.elb"
    }
    fn index_template(&self) -> &'static str {
        include_str!("../../../mappings/index_templates/elb.json")
    }
    fn framing(&self) -> Framing {
        Framing::Lines
    }
    fn matches_key(&self, key: &str) -> bool {
        key.contains("/elasticloadbalancing/")
    }
    fn normalizer(&self) -> Box<dyn Normalizer> {
        Box::new(ElbNormalizer)
    }
}

/// The fields of an Application Load Balancer line, in order (2025: 32 with
/// the transform fields; the first 25 are the oldest format still written).
const ALB_FIELDS: &[&str] = &[
    "type",
    "time",
    "elb",
    "client_port",
    "target_port",
    "request_processing_time",
    "target_processing_time",
    "response_processing_time",
    "elb_status_code",
    "target_status_code",
    "received_bytes",
    "sent_bytes",
    "request",
    "user_agent",
    "ssl_cipher",
    "ssl_protocol",
    "target_group_arn",
    "trace_id",
    "domain_name",
    "chosen_cert_arn",
    "matched_rule_priority",
    "request_creation_time",
    "actions_executed",
    "redirect_url",
    "error_reason",
    "target_port_list",
    "target_status_code_list",
    "classification",
    "classification_reason",
    "conn_trace_id",
    "transformed_host",
    "transformed_uri",
    "request_transform_status",
];
const ALB_MIN_FIELDS: usize = 25;

/// The fields of a Network Load Balancer (TLS listener) line, in order.
const NLB_FIELDS: &[&str] = &[
    "type",
    "version",
    "time",
    "elb",
    "listener",
    "client_port",
    "destination_port",
    "connection_time",
    "tls_handshake_time",
    "received_bytes",
    "sent_bytes",
    "incoming_tls_alert",
    "chosen_cert_arn",
    "chosen_cert_serial",
    "tls_cipher",
    "tls_protocol_version",
    "tls_named_group",
    "domain_name",
    "alpn_fe_protocol",
    "alpn_be_protocol",
    "alpn_client_preference_list",
    "tls_connection_creation_time",
];
const NLB_MIN_FIELDS: usize = 21;

/// The fields of a Classic Load Balancer line, in order.
const CLB_FIELDS: &[&str] = &[
    "time",
    "elb",
    "client_port",
    "backend_port",
    "request_processing_time",
    "backend_processing_time",
    "response_processing_time",
    "elb_status_code",
    "backend_status_code",
    "received_bytes",
    "sent_bytes",
    "request",
    "user_agent",
    "ssl_cipher",
    "ssl_protocol",
];
const CLB_MIN_FIELDS: usize = 11;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Balancer {
    Application,
    Network,
    Classic,
}

impl Balancer {
    fn of(first: &str) -> Balancer {
        match first {
            "http" | "https" | "h2" | "grpcs" | "ws" | "wss" => Balancer::Application,
            "tls" => Balancer::Network,
            _ => Balancer::Classic,
        }
    }

    fn fields(self) -> (&'static [&'static str], usize) {
        match self {
            Balancer::Application => (ALB_FIELDS, ALB_MIN_FIELDS),
            Balancer::Network => (NLB_FIELDS, NLB_MIN_FIELDS),
            Balancer::Classic => (CLB_FIELDS, CLB_MIN_FIELDS),
        }
    }

    fn label(self) -> &'static str {
        match self {
            Balancer::Application => "application",
            Balancer::Network => "network",
            Balancer::Classic => "classic",
        }
    }
}

struct ElbNormalizer;

impl Normalizer for ElbNormalizer {
    fn normalize(&mut self, frame: &[u8], out: &mut Vec<Normalized>) -> Result<(), NormalizeError> {
        let line =
            std::str::from_utf8(frame).map_err(|e| NormalizeError::InvalidUtf8(e.valid_up_to()))?;
        out.push(normalize_line(line)?);
        Ok(())
    }
}

/// The named fields of a line, `-` and `""` left out.
struct Record<'a> {
    balancer: Balancer,
    fields: Vec<(&'static str, Cow<'a, str>)>,
    extra: Vec<Cow<'a, str>>,
}

impl Record<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_ref())
            .filter(|v| !v.is_empty() && *v != "-")
    }

    /// A number of seconds; ELB writes -1 where a time does not apply.
    fn seconds(&self, name: &str) -> Option<f64> {
        self.get(name)
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
    }

    fn count(&self, name: &str) -> Option<u64> {
        self.get(name).and_then(|v| v.parse().ok())
    }

    fn vendor(&self) -> Value {
        let mut map = Map::new();
        map.insert("balancer".into(), self.balancer.label().into());
        for (name, value) in &self.fields {
            if !value.is_empty() && value != "-" {
                map.insert((*name).into(), Value::String(value.to_string()));
            }
        }
        if !self.extra.is_empty() {
            let extra: Vec<Value> = self
                .extra
                .iter()
                .map(|v| Value::String(v.to_string()))
                .collect();
            map.insert("extra".into(), Value::Array(extra));
        }
        Value::Object(map)
    }
}

fn record(line: &str) -> Result<Record<'_>, NormalizeError> {
    let mut values = split(line)?;
    let Some(first) = values.first() else {
        return Err(NormalizeError::MissingField("time"));
    };
    let balancer = Balancer::of(first);
    let (names, minimum) = balancer.fields();
    if values.len() < minimum {
        return Err(NormalizeError::InvalidField {
            field: "(line)",
            message: format!(
                "{} fields, fewer than the {minimum} of a {} load balancer's line",
                values.len(),
                balancer.label()
            ),
        });
    }
    let extra = values.split_off(values.len().min(names.len()));
    Ok(Record {
        balancer,
        fields: names.iter().copied().zip(values).collect(),
        extra,
    })
}

/// An ISO 8601 time: with a zone (ALB, CLB), or UTC without one (NLB).
fn time(record: &Record, name: &'static str) -> Result<Option<DateTime<Utc>>, NormalizeError> {
    record
        .get(name)
        .map(|t| {
            DateTime::parse_from_rfc3339(t)
                .map(|t| t.with_timezone(&Utc))
                .or_else(|_| {
                    NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f").map(|t| t.and_utc())
                })
                .map_err(|e| NormalizeError::InvalidField {
                    field: name,
                    message: format!("{t:?} is not an ISO 8601 time: {e}"),
                })
        })
        .transpose()
}

/// `ip:port`, also for IPv6 addresses (`2001:db8::1:443`); `None` for `-`.
fn endpoint(value: Option<&str>) -> (Option<&str>, Option<u64>) {
    let Some((ip, port)) = value.and_then(|v| v.rsplit_once(':')) else {
        return (None, None);
    };
    let ip = ip.trim_start_matches('[').trim_end_matches(']');
    (
        finding::ip(Some(ip)),
        port.parse().ok().filter(|p| *p <= 65_535),
    )
}

fn normalize_line(line: &str) -> Result<Normalized, NormalizeError> {
    let record = record(line)?;
    let timestamp = time(&record, "time")?.ok_or(NormalizeError::MissingField("time"))?;
    let mut doc = EcsDocument::new();
    let mut related = Related::default();
    doc.set("@timestamp", finding::iso(timestamp));
    doc.set("event.kind", "event");
    doc.set("cloud.provider", "aws");
    doc.set("observer.vendor", "AWS");
    doc.set("observer.product", "Elastic Load Balancing");
    doc.set("observer.name", record.get("elb"));

    let (client, client_port) = endpoint(record.get("client_port"));
    doc.set("source.ip", client);
    doc.set("source.address", client);
    doc.set_opt("source.port", client_port);
    related.ip(client);
    let target = record
        .get("target_port")
        .or(record.get("backend_port"))
        .or(record.get("destination_port"));
    let (target, target_port) = endpoint(target);
    doc.set("destination.ip", target);
    doc.set("destination.address", target);
    doc.set_opt("destination.port", target_port);
    related.ip(target);

    match record.balancer {
        Balancer::Network => network(&record, &mut doc),
        Balancer::Application | Balancer::Classic => web(&record, &mut doc, &mut related)?,
    }
    if let Some(arn) = record.get("target_group_arn") {
        // arn:aws:elasticloadbalancing:<region>:<account>:targetgroup/…
        let mut parts = arn.split(':').skip(3);
        doc.set("cloud.region", parts.next());
        doc.set("cloud.account.id", parts.next());
    }
    related.write_to(&mut doc);
    doc.set("aws.elb", record.vendor());
    Ok(Normalized {
        document: doc.into_map(),
        timestamp,
        id: DocId::Positional,
    })
}

fn web(
    record: &Record,
    doc: &mut EcsDocument,
    related: &mut Related,
) -> Result<(), NormalizeError> {
    // A Classic load balancer's TCP listener writes `- - -` for the request.
    let request = record.get("request").filter(|r| !r.starts_with('-'));
    if request.is_some() {
        doc.set("event.category", vec!["web"]);
        doc.set("event.type", vec!["access"]);
        doc.set("network.protocol", "http");
    } else {
        doc.set("event.category", vec!["network"]);
        doc.set("event.type", vec!["connection"]);
        doc.set("network.transport", "tcp");
    }
    if record.balancer == Balancer::Application {
        doc.set_opt(
            "event.start",
            time(record, "request_creation_time")?.map(finding::iso),
        );
        doc.set("error.message", record.get("error_reason"));
        doc.set("url.domain", record.get("domain_name"));
    }
    let processing: Vec<f64> = ["request", "target", "backend", "response"]
        .iter()
        .filter_map(|p| record.seconds(&format!("{p}_processing_time")))
        .collect();
    if !processing.is_empty() {
        let total = Duration::from_secs_f64(processing.iter().sum::<f64>().min(1e9));
        doc.set(
            "event.duration",
            u64::try_from(total.as_nanos()).unwrap_or(u64::MAX),
        );
    }
    let status = record
        .count("elb_status_code")
        .filter(|s| (100..600).contains(s));
    doc.set_opt("http.response.status_code", status);
    if let Some(status) = status {
        doc.set(
            "event.outcome",
            if status < 400 { "success" } else { "failure" },
        );
    }
    doc.set_opt("http.request.bytes", record.count("received_bytes"));
    doc.set_opt("http.response.bytes", record.count("sent_bytes"));
    doc.set("user_agent.original", record.get("user_agent"));
    doc.set("tls.cipher", record.get("ssl_cipher"));
    if let Some(version) = record
        .get("ssl_protocol")
        .and_then(|p| p.strip_prefix("TLSv"))
    {
        doc.set("tls.version", version);
        doc.set("tls.version_protocol", "tls");
    }
    if let Some(request) = request {
        request_line(request, doc, related);
    }
    Ok(())
}

/// `GET https://example.com:443/path?query HTTP/1.1`; a TCP listener's `- - -`
/// has none of it.
fn request_line(request: &str, doc: &mut EcsDocument, related: &mut Related) {
    let mut parts = request.splitn(3, ' ');
    let (method, target, version) = (parts.next(), parts.next(), parts.next());
    if let Some(method) = method.filter(|m| *m != "-" && m.bytes().all(|b| b.is_ascii_alphabetic()))
    {
        doc.set("http.request.method", method.to_ascii_uppercase());
    }
    if let Some(version) = version.and_then(|v| v.strip_prefix("HTTP/")) {
        doc.set("http.version", version);
    }
    let Some(target) = target.filter(|t| *t != "-") else {
        return;
    };
    doc.set("url.original", target);
    if let Ok(url) = url::Url::parse(target) {
        doc.set("url.scheme", url.scheme());
        if let Some(host) = url.host_str() {
            let host = host.trim_start_matches('[').trim_end_matches(']');
            doc.set("url.domain", host);
            related.host(Some(host));
        }
        doc.set_opt("url.port", url.port_or_known_default());
        doc.set("url.path", url.path());
        doc.set("url.query", url.query());
    }
}

fn network(record: &Record, doc: &mut EcsDocument) {
    doc.set("event.category", vec!["network"]);
    doc.set("event.type", vec!["connection"]);
    doc.set("network.transport", "tcp");
    if let Some(ms) = record.seconds("connection_time") {
        doc.set("event.duration", (ms * 1_000_000.0).min(9.0e18) as u64);
    }
    doc.set_opt("source.bytes", record.count("received_bytes"));
    doc.set_opt("destination.bytes", record.count("sent_bytes"));
    doc.set("tls.cipher", record.get("tls_cipher"));
    if let Some(version) = record
        .get("tls_protocol_version")
        .and_then(|p| p.strip_prefix("tlsv"))
    {
        // tlsv12 → 1.2, tlsv13 → 1.3
        let mut digits = version.chars();
        if let (Some(major), Some(minor)) = (digits.next(), digits.next()) {
            doc.set("tls.version", format!("{major}.{minor}"));
            doc.set("tls.version_protocol", "tls");
        }
    }
    doc.set("tls.client.server_name", record.get("domain_name"));
    doc.set("tls.next_protocol", record.get("alpn_fe_protocol"));
    if record.get("incoming_tls_alert").is_some() {
        doc.set("event.outcome", "failure");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn one(line: &str) -> Normalized {
        normalize_line(line).unwrap_or_else(|e| panic!("{line}: {e}"))
    }

    fn get<'a>(n: &'a Normalized, path: &str) -> &'a Value {
        let mut parts = path.split('.');
        let first = n
            .document
            .get(parts.next().unwrap_or_default())
            .unwrap_or(&Value::Null);
        parts.fold(first, |v, p| v.get(p).unwrap_or(&Value::Null))
    }

    const ALB: &str = r#"https 2026-11-28T10:15:02.123456Z app/web-prod/50dc6c495c0c9188 198.51.100.23:50131 10.0.1.40:443 0.001 0.048 0.000 200 200 612 3221 "GET https://shop.example.com:443/cart?item=42 HTTP/1.1" "Mozilla/5.0 (X11; Linux x86_64) \"quoted\"" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/73e2d6bc24d8a067 "Root=1-674844c6-0d6c5b8e1a2b3c4d5e6f7a8b" "shop.example.com" "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012" 1 2026-11-28T10:15:02.074000Z "forward" "-" "-" "10.0.1.40:443" "200" "-" "-" TID_b7a1c9e2"#;

    #[test]
    fn an_application_load_balancer_request_is_a_web_access() {
        let n = one(ALB);
        assert_eq!(get(&n, "@timestamp"), "2026-11-28T10:15:02.123Z");
        assert_eq!(get(&n, "event.start"), "2026-11-28T10:15:02.074Z");
        assert_eq!(get(&n, "event.category"), &json!(["web"]));
        assert_eq!(get(&n, "event.outcome"), "success");
        assert_eq!(get(&n, "event.duration"), 49_000_000);
        assert_eq!(get(&n, "source.ip"), "198.51.100.23");
        assert_eq!(get(&n, "source.port"), 50131);
        assert_eq!(get(&n, "destination.ip"), "10.0.1.40");
        assert_eq!(get(&n, "http.request.method"), "GET");
        assert_eq!(get(&n, "http.version"), "1.1");
        assert_eq!(get(&n, "http.response.status_code"), 200);
        assert_eq!(get(&n, "url.domain"), "shop.example.com");
        assert_eq!(get(&n, "url.path"), "/cart");
        assert_eq!(get(&n, "url.query"), "item=42");
        assert_eq!(get(&n, "url.port"), 443);
        assert_eq!(
            get(&n, "user_agent.original"),
            "Mozilla/5.0 (X11; Linux x86_64) \"quoted\""
        );
        assert_eq!(get(&n, "tls.version"), "1.2");
        assert_eq!(get(&n, "cloud.account.id"), "123456789012");
        assert_eq!(get(&n, "cloud.region"), "us-east-1");
        assert_eq!(get(&n, "observer.name"), "app/web-prod/50dc6c495c0c9188");
        assert_eq!(get(&n, "aws.elb.conn_trace_id"), "TID_b7a1c9e2");
        assert_eq!(get(&n, "aws.elb.balancer"), "application");
        assert!(
            n.document["aws"]["elb"].get("redirect_url").is_none(),
            "- is empty"
        );
    }

    #[test]
    fn fields_added_after_the_known_ones_are_kept_not_fatal() {
        let line = format!("{ALB} \"host\" \"/uri\" \"TransformSuccess\" \"a-future-field\" 7");
        let n = one(&line);
        assert_eq!(
            get(&n, "aws.elb.request_transform_status"),
            "TransformSuccess"
        );
        assert_eq!(get(&n, "aws.elb.extra"), &json!(["a-future-field", "7"]));
    }

    #[test]
    fn a_request_that_never_reached_a_target_fails_with_its_reason() {
        let line = r#"http 2026-11-28T10:16:00.000000Z app/web-prod/50dc6c495c0c9188 203.0.113.9:4411 - -1 -1 -1 503 - 120 326 "POST http://shop.example.com:80/login HTTP/1.1" "curl/8.5.0" - - arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/73e2d6bc24d8a067 "Root=1-6748450a-1b2c3d4e5f6a7b8c9d0e1f2a" "-" "-" 0 2026-11-28T10:16:00.000000Z "forward" "-" "-" "-" "-""#;
        let n = one(line);
        assert_eq!(get(&n, "http.response.status_code"), 503);
        assert_eq!(get(&n, "event.outcome"), "failure");
        assert_eq!(get(&n, "destination"), &Value::Null);
        assert_eq!(
            get(&n, "event.duration"),
            &Value::Null,
            "-1: no time applies"
        );
    }

    #[test]
    fn a_network_load_balancer_tls_connection_is_a_network_event() {
        let line = "tls 2.0 2026-11-28T10:20:00 net/tls-front/a1b2c3d4e5f60718 a1b2c3d4e5f60718 203.0.113.44:50001 10.0.2.15:443 512 4 1024 2048 - arn:aws:acm:us-east-1:123456789012:certificate/abc - ECDHE-RSA-AES128-GCM-SHA256 tlsv12 - api.example.com h2 h2 \"h2\",\"http/1.1\" 2026-11-28T10:19:59";
        let n = one(line);
        assert_eq!(get(&n, "event.category"), &json!(["network"]));
        assert_eq!(get(&n, "network.transport"), "tcp");
        assert_eq!(get(&n, "event.duration"), 512_000_000);
        assert_eq!(get(&n, "tls.version"), "1.2");
        assert_eq!(get(&n, "tls.client.server_name"), "api.example.com");
        assert_eq!(get(&n, "source.bytes"), 1024);
        assert_eq!(get(&n, "destination.port"), 443);
        assert_eq!(
            get(&n, "aws.elb.alpn_client_preference_list"),
            "\"h2\",\"http/1.1\""
        );
        assert_eq!(
            get(&n, "@timestamp"),
            "2026-11-28T10:20:00.000Z",
            "NLB times are UTC without a zone"
        );
    }

    #[test]
    fn a_classic_load_balancer_line_has_no_type_field() {
        let line = r#"2026-11-28T10:30:00.000000Z legacy-web 192.0.2.77:2817 10.0.0.8:80 0.000073 0.001048 0.000057 404 404 0 29 "GET http://legacy.example.com:80/admin HTTP/1.1" "python-requests/2.31.0" - -"#;
        let n = one(line);
        assert_eq!(get(&n, "aws.elb.balancer"), "classic");
        assert_eq!(get(&n, "http.response.status_code"), 404);
        assert_eq!(get(&n, "url.path"), "/admin");
        assert_eq!(get(&n, "destination.ip"), "10.0.0.8");
        let tcp = one(
            r#"2026-11-28T10:31:10.000000Z legacy-tcp 198.51.100.12:40000 10.0.0.10:5432 0.001069 0.000028 0.000041 - - 82 305 "- - - " "-" - -"#,
        );
        assert_eq!(
            get(&tcp, "event.category"),
            &json!(["network"]),
            "a TCP listener has no request"
        );
        assert_eq!(get(&tcp, "network.protocol"), &Value::Null);
    }

    #[test]
    fn an_ipv6_client_keeps_its_address_and_port() {
        assert_eq!(
            endpoint(Some("2001:db8::1:443")),
            (Some("2001:db8::1"), Some(443))
        );
        assert_eq!(
            endpoint(Some("[2001:db8::1]:443")),
            (Some("2001:db8::1"), Some(443))
        );
        assert_eq!(endpoint(Some("-")), (None, None));
        assert_eq!(endpoint(Some("not-an-ip:99999")), (None, None));
    }

    #[test]
    fn short_lines_unclosed_quotes_and_bad_times_are_errors_of_the_record() {
        for line in [
            "https 2026-11-28T10:15:02Z app/x 1.2.3.4:1",
            r#"https 2026-11-28T10:15:02.123456Z app/web 198.51.100.23:50131 "GET /"#,
            &ALB.replace("2026-11-28T10:15:02.123456Z", "yesterday"),
            "",
        ] {
            assert!(normalize_line(line).is_err(), "{line}");
        }
    }

    #[test]
    fn garbage_in_typed_positions_stays_in_the_vendor_tree_only() {
        let line = ALB
            .replace(" 200 200 612 3221 ", " abc 200 -5 x ")
            .replace("198.51.100.23:50131", "not-an-address");
        let n = one(&line);
        assert_eq!(get(&n, "http.response.status_code"), &Value::Null);
        assert_eq!(get(&n, "http.request.bytes"), &Value::Null);
        assert_eq!(get(&n, "source.ip"), &Value::Null);
        assert_eq!(get(&n, "aws.elb.elb_status_code"), "abc");
    }
}
