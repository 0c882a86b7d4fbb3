//! Amazon VPC Flow Logs delivered to S3 in the text format: gzip, one record
//! per line, fields separated by spaces, `-` for "no value", under
//! `AWSLogs/<account>/vpcflowlogs/<region>/YYYY/MM/DD/…log.gz` (or the
//! Hive-style `aws-service=vpcflowlogs/` prefixes).
//!
//! # The header
//!
//! S3 delivery starts every object with a header line naming the fields
//! (`version account-id interface-id srcaddr …`), and a custom format puts any
//! of the v2–v8 fields in any order. The normalizer therefore keeps the
//! header as state for the rest of its object ([`LogType::normalizer`] returns
//! a fresh one per object); a later header line replaces it. A data line
//! before any header (records copied out of CloudWatch Logs or a document)
//! is read in the documented order of all fields, cut to the line's length:
//! 14 fields is the v2 default format, 21 adds the v3 fields, and so on up to
//! the 40 fields of v8. A 36-field line whose fourth field is a transit
//! gateway (`tgw-…`) is the Transit Gateway default format.
//!
//! # Mapping
//!
//! - a flow is unidirectional: `source`/`destination` are srcaddr/dstaddr and
//!   their ports, and packets/bytes, which count what the source sent, are
//!   both `source.packets`/`source.bytes` and `network.packets`/`network.bytes`;
//! - `network.iana_number` is the protocol number; `network.transport` its
//!   name for the common ones (tcp, udp, icmp, ipv6-icmp, gre, esp, ah, sctp);
//! - `event.action` is `accept`/`reject`, `event.outcome` success/failure,
//!   `event.type` [connection, allowed|denied];
//! - `@timestamp` is `start` (the start of the aggregation window; `end` when
//!   there is no start; the time of reading for a custom format that has
//!   neither, which is valid, and the record is still worth having);
//!   `event.start`, `event.end`, `event.duration`;
//! - `network.direction` is flow-direction as is (`ingress`/`egress`, which
//!   ECS allows): relative to the interface, not to the network;
//! - `cloud.account.id`, `cloud.instance.id`, `cloud.region`. az-id is an AZ
//!   id (`use1-az5`), not the AZ name ECS wants in `cloud.availability_zone`,
//!   so it stays in `aws.vpcflow.az_id`;
//! - every other field is kept under `aws.vpcflow.<field_with_underscores>`,
//!   typed as `mappings/index_templates/vpcflow.json` maps it (numbers for
//!   version, tcp-flags, traffic-path; addresses checked to be IPs, since a
//!   malformed value would fail the whole document in OpenSearch). tcp-flags
//!   is also spelled out in `aws.vpcflow.tcp_flags_array`.
//!
//! NODATA and SKIPDATA records (log-status) carry no addresses and no action.
//! They are indexed anyway: NODATA says an interface was idle, SKIPDATA that
//! records were lost, which an analyst needs to know to trust an absence.
//! They get `event.type: [info]` and neither `event.action` nor
//! `event.outcome`: nothing was accepted or rejected.
//!
//! Document ids are positional: a record has no natural key.
//!
//! # Parquet
//!
//! Flow logs can also be delivered as Apache Parquet (`….log.parquet`, one
//! column per field, named with underscores: `account_id`). The decode stage
//! renders such an object in this text layout ([`crate::decode::parquet`]):
//! a header line of the column names, then one line per row with `-` for a
//! null. Header names are read with underscores or hyphens alike, so both
//! formats go through the same code below and give the same documents.
//!
//! Transit Gateway flow logs share the format; their own fields (`tgw_id`,
//! `packets_lost_*`, …) are kept in `_source` under `aws.vpcflow` but are not
//! mapped (the subtree is `dynamic: false`), the common ones are.

use std::net::IpAddr;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};

use super::{DocId, LogType, NormalizeError, Normalized, Normalizer};
use crate::decode::Framing;
use crate::ecs::{EcsDocument, Related};

pub struct VpcFlow;

impl LogType for VpcFlow {
    fn name(&self) -> &'static str {
        "vpcflow"
    }
    fn namespace(&self) -> &'static str {
        "aws.vpcflow"
    }
    fn index_template(&self) -> &'static str {
        include_str!("../../../mappings/index_templates/vpcflow.json")
    }
    fn framing(&self) -> Framing {
        Framing::Lines
    }
    fn matches_key(&self, key: &str) -> bool {
        key.contains("/vpcflowlogs/") || key.contains("aws-service=vpcflowlogs/")
    }
    fn normalizer(&self) -> Box<dyn Normalizer> {
        Box::new(VpcFlowNormalizer {
            header: None,
            clock: Utc::now,
        })
    }
    fn frames_stand_alone(&self) -> bool {
        false
    }
    fn reads_parquet(&self) -> bool {
        true
    }
    fn ecs_fields(&self) -> Option<&'static [&'static str]> {
        Some(&[
            "@timestamp",
            "aws",
            "cloud",
            "destination.address",
            "destination.ip",
            "destination.port",
            "ecs",
            "event",
            "network",
            "related.ip",
            "siem.log_type",
            "source.address",
            "source.bytes",
            "source.ip",
            "source.packets",
            "source.port",
        ])
    }
}

/// Every VPC field in the documented order: v2 (14), v3 (21), v4 (25), v5
/// (29), v7 (39), v8 (40).
const VPC_FIELDS: &[&str] = &[
    "version",
    "account-id",
    "interface-id",
    "srcaddr",
    "dstaddr",
    "srcport",
    "dstport",
    "protocol",
    "packets",
    "bytes",
    "start",
    "end",
    "action",
    "log-status", // v2
    "vpc-id",
    "subnet-id",
    "instance-id",
    "tcp-flags",
    "type",
    "pkt-srcaddr",
    "pkt-dstaddr", // v3
    "region",
    "az-id",
    "sublocation-type",
    "sublocation-id", // v4
    "pkt-src-aws-service",
    "pkt-dst-aws-service",
    "flow-direction",
    "traffic-path", // v5
    "ecs-cluster-arn",
    "ecs-cluster-name",
    "ecs-container-instance-arn",
    "ecs-container-instance-id",
    "ecs-container-id",
    "ecs-second-container-id",
    "ecs-service-name",
    "ecs-task-definition-arn",
    "ecs-task-arn",
    "ecs-task-id",   // v7
    "reject-reason", // v8
];
const VPC_LAYOUT_LENGTHS: &[usize] = &[14, 21, 25, 29, 39, 40];

/// The Transit Gateway flow log default format.
const TGW_FIELDS: &[&str] = &[
    "version",
    "resource-type",
    "account-id",
    "tgw-id",
    "tgw-attachment-id",
    "tgw-src-vpc-account-id",
    "tgw-dst-vpc-account-id",
    "tgw-src-vpc-id",
    "tgw-dst-vpc-id",
    "tgw-src-subnet-id",
    "tgw-dst-subnet-id",
    "tgw-src-eni",
    "tgw-dst-eni",
    "tgw-src-az-id",
    "tgw-dst-az-id",
    "tgw-pair-attachment-id",
    "srcaddr",
    "dstaddr",
    "srcport",
    "dstport",
    "protocol",
    "packets",
    "bytes",
    "start",
    "end",
    "log-status",
    "type",
    "packets-lost-no-route",
    "packets-lost-blackhole",
    "packets-lost-mtu-exceeded",
    "packets-lost-ttl-expired",
    "tcp-flags",
    "region",
    "flow-direction",
    "pkt-src-aws-service",
    "pkt-dst-aws-service",
];

/// Fields written to ECS only (their ECS form is complete).
const ECS_ONLY: &[&str] = &[
    "srcport", "dstport", "protocol", "packets", "bytes", "start", "end",
];
const NUMERIC: &[&str] = &[
    "version",
    "tcp-flags",
    "traffic-path",
    "packets-lost-no-route",
    "packets-lost-blackhole",
    "packets-lost-mtu-exceeded",
    "packets-lost-ttl-expired",
];
const ADDRESSES: &[&str] = &["srcaddr", "dstaddr", "pkt-srcaddr", "pkt-dstaddr"];

struct VpcFlowNormalizer {
    /// The field names of the object's header, once seen.
    header: Option<Vec<String>>,
    /// Dates the records of a custom format that has neither start nor end.
    clock: fn() -> DateTime<Utc>,
}

impl Normalizer for VpcFlowNormalizer {
    fn normalize(&mut self, frame: &[u8], out: &mut Vec<Normalized>) -> Result<(), NormalizeError> {
        let line =
            std::str::from_utf8(frame).map_err(|e| NormalizeError::InvalidUtf8(e.valid_up_to()))?;
        let values: Vec<&str> = line.split_ascii_whitespace().collect();
        if let Some(header) = header(&values) {
            self.header = Some(header);
            return Ok(());
        }
        let names: Vec<&str> = match &self.header {
            Some(h) => h.iter().map(String::as_str).collect(),
            None => default_layout(&values)?.to_vec(),
        };
        if names.len() != values.len() {
            return Err(NormalizeError::InvalidField {
                field: "(line)",
                message: format!(
                    "{} fields, but the header names {}",
                    values.len(),
                    names.len()
                ),
            });
        }
        let record: Vec<(&str, &str)> = names
            .into_iter()
            .zip(values)
            .filter(|(_, v)| *v != "-")
            .collect();
        out.push(normalize_record(&record, self.clock)?);
        Ok(())
    }
}

/// A header names fields: every token is a lowercase name, the first a
/// known one. Names come back with hyphens (`account-id`), as the text
/// format spells them; Parquet column names use underscores.
fn header(values: &[&str]) -> Option<Vec<String>> {
    let first = values.first()?;
    // Data lines start with a number or `-`: most fail this first test.
    let same = |known: &&str| {
        known.len() == first.len()
            && known
                .bytes()
                .zip(first.bytes())
                .all(|(k, f)| k == f || (k == b'-' && f == b'_'))
    };
    if !(VPC_FIELDS.iter().any(same) || TGW_FIELDS.iter().any(same)) {
        return None;
    }
    let is_name = |v: &&str| {
        *v != "-"
            && v.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    };
    values
        .iter()
        .all(is_name)
        .then(|| values.iter().map(|v| v.replace('_', "-")).collect())
}

fn default_layout(values: &[&str]) -> Result<&'static [&'static str], NormalizeError> {
    if values.len() == TGW_FIELDS.len() && values.get(3).is_some_and(|v| v.starts_with("tgw-")) {
        return Ok(TGW_FIELDS);
    }
    if VPC_LAYOUT_LENGTHS.contains(&values.len()) {
        return Ok(&VPC_FIELDS[..values.len()]);
    }
    Err(NormalizeError::InvalidField {
        field: "(line)",
        message: format!(
            "no header line yet, and {} fields match no default format (14, 21, 25, 29, 39 or 40 fields)",
            values.len()
        ),
    })
}

fn invalid(field: &'static str, message: String) -> NormalizeError {
    NormalizeError::InvalidField { field, message }
}

fn number<T: std::str::FromStr>(
    record: &[(&str, &str)],
    field: &'static str,
) -> Result<Option<T>, NormalizeError> {
    match get(record, field) {
        None => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| invalid(field, format!("{v:?} is not a valid number here"))),
    }
}

fn get<'a>(record: &[(&str, &'a str)], field: &str) -> Option<&'a str> {
    record.iter().find(|(n, _)| *n == field).map(|(_, v)| *v)
}

fn epoch(
    record: &[(&str, &str)],
    field: &'static str,
) -> Result<Option<DateTime<Utc>>, NormalizeError> {
    match number::<i64>(record, field)? {
        None => Ok(None),
        Some(secs) => DateTime::from_timestamp(secs, 0)
            .map(Some)
            .ok_or_else(|| invalid(field, format!("{secs} is out of range"))),
    }
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn normalize_record(
    record: &[(&str, &str)],
    clock: fn() -> DateTime<Utc>,
) -> Result<Normalized, NormalizeError> {
    let start = epoch(record, "start")?;
    let end = epoch(record, "end")?;
    let timestamp = start.or(end).unwrap_or_else(clock);
    let mut doc = EcsDocument::new();
    let mut related = Related::default();
    doc.set("@timestamp", rfc3339(timestamp));
    doc.set("event.kind", "event");
    doc.set("event.category", vec!["network"]);
    doc.set_opt("event.start", start.map(rfc3339));
    doc.set_opt("event.end", end.map(rfc3339));
    if let (Some(s), Some(e)) = (start, end) {
        doc.set_opt(
            "event.duration",
            (e - s).num_nanoseconds().filter(|d| *d >= 0),
        );
    }

    for field in ADDRESSES {
        if let Some(v) = get(record, field) {
            v.parse::<IpAddr>()
                .map_err(|_| invalid("(address)", format!("{field} {v:?} is not an IP address")))?;
            related.ip(Some(v));
        }
    }
    let protocol = number::<u8>(record, "protocol")?;
    // AWS writes 0 for the ports of protocols that have none (ICMP, GRE, …).
    let has_ports = protocol.is_none_or(|p| matches!(p, 6 | 17 | 132));
    for (side, addr, port) in [
        ("source", "srcaddr", "srcport"),
        ("destination", "dstaddr", "dstport"),
    ] {
        doc.set(&format!("{side}.ip"), get(record, addr));
        doc.set(&format!("{side}.address"), get(record, addr));
        let port = number::<u16>(record, port)?;
        doc.set_opt(&format!("{side}.port"), port.filter(|_| has_ports));
    }
    let packets = number::<u64>(record, "packets")?;
    let bytes = number::<u64>(record, "bytes")?;
    doc.set_opt("source.packets", packets);
    doc.set_opt("source.bytes", bytes);
    doc.set_opt("network.packets", packets);
    doc.set_opt("network.bytes", bytes);
    if let Some(protocol) = protocol {
        doc.set("network.iana_number", protocol.to_string());
        doc.set_opt("network.transport", transport(protocol));
    }
    let ip_type = get(record, "type")
        .map(str::to_ascii_lowercase)
        .or_else(|| {
            get(record, "srcaddr")
                .and_then(|a| a.parse::<IpAddr>().ok())
                .map(|ip| match ip {
                    IpAddr::V4(_) => "ipv4".to_owned(),
                    IpAddr::V6(_) => "ipv6".to_owned(),
                })
        });
    doc.set_opt(
        "network.type",
        ip_type.filter(|t| t == "ipv4" || t == "ipv6"),
    );
    doc.set("network.direction", get(record, "flow-direction"));

    match get(record, "action") {
        Some("ACCEPT") => {
            doc.set("event.action", "accept");
            doc.set("event.outcome", "success");
            doc.set("event.type", vec!["connection", "allowed"]);
        }
        Some("REJECT") => {
            doc.set("event.action", "reject");
            doc.set("event.outcome", "failure");
            doc.set("event.type", vec!["connection", "denied"]);
        }
        Some(other) => {
            return Err(invalid(
                "action",
                format!("{other:?} is neither ACCEPT nor REJECT"),
            ));
        }
        None if get(record, "srcaddr").is_some() => doc.set("event.type", vec!["connection"]),
        None => doc.set("event.type", vec!["info"]),
    }
    doc.set("event.reason", get(record, "reject-reason"));

    doc.set("cloud.provider", "aws");
    doc.set("cloud.account.id", get(record, "account-id"));
    doc.set("cloud.instance.id", get(record, "instance-id"));
    doc.set("cloud.region", get(record, "region"));
    related.write_to(&mut doc);

    let mut vendor = Map::new();
    for (name, value) in record {
        if ECS_ONLY.contains(name) {
            continue;
        }
        let key = name.replace('-', "_");
        let value = if NUMERIC.contains(name) {
            let field = NUMERIC
                .iter()
                .find(|n| *n == name)
                .copied()
                .unwrap_or("(number)");
            Value::from(
                value
                    .parse::<u64>()
                    .map_err(|_| invalid(field, format!("{value:?} is not a number")))?,
            )
        } else {
            Value::from(*value)
        };
        vendor.insert(key, value);
    }
    if let Some(flags) = number::<u64>(record, "tcp-flags")? {
        let names = tcp_flag_names(flags);
        if !names.is_empty() {
            vendor.insert("tcp_flags_array".into(), Value::from(names));
        }
    }
    doc.set("aws.vpcflow", Value::Object(vendor));
    Ok(Normalized {
        document: doc.into_map(),
        timestamp,
        id: DocId::Positional,
    })
}

fn transport(protocol: u8) -> Option<&'static str> {
    Some(match protocol {
        1 => "icmp",
        2 => "igmp",
        6 => "tcp",
        17 => "udp",
        47 => "gre",
        50 => "esp",
        51 => "ah",
        58 => "ipv6-icmp",
        132 => "sctp",
        _ => return None,
    })
}

/// The flags of VPC Flow Logs' tcp-flags, OR-ed over the aggregation window:
/// FIN 1, SYN 2, RST 4, PSH 8, ACK 16, URG 32; SYN and ACK together are
/// spelled `syn-ack`, as the documentation does (18).
pub fn tcp_flag_names(flags: u64) -> Vec<&'static str> {
    let syn_ack = flags & 18 == 18;
    let mut names = Vec::new();
    if flags & 1 != 0 {
        names.push("fin");
    }
    if syn_ack {
        names.push("syn-ack");
    } else if flags & 2 != 0 {
        names.push("syn");
    }
    if flags & 4 != 0 {
        names.push("rst");
    }
    if flags & 8 != 0 {
        names.push("psh");
    }
    if flags & 16 != 0 && !syn_ack {
        names.push("ack");
    }
    if flags & 32 != 0 {
        names.push("urg");
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(lines: &[&str]) -> Vec<Result<Vec<Normalized>, NormalizeError>> {
        let mut n = VpcFlow.normalizer();
        lines
            .iter()
            .map(|l| {
                let mut out = Vec::new();
                n.normalize(l.as_bytes(), &mut out).map(|()| out)
            })
            .collect()
    }

    fn doc(lines: &[&str]) -> Value {
        let mut results = run(lines);
        let last = results.pop().expect("a line").expect("normalizes");
        assert_eq!(last.len(), 1);
        Value::Object(last[0].document.clone())
    }

    fn at<'a>(v: &'a Value, path: &str) -> &'a Value {
        path.split('.')
            .fold(v, |v, p| v.get(p).unwrap_or(&Value::Null))
    }

    const V2: &str = "2 123456789012 eni-0a1b2c3d4e5f60718 198.51.100.7 10.0.0.5 49152 22 6 20 4249 1795849200 1795849260 ACCEPT OK";

    #[test]
    fn flow_log_keys_route_here_in_both_prefix_styles() {
        assert!(
            VpcFlow.matches_key("AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/11/28/x.log.gz")
        );
        assert!(VpcFlow.matches_key("p/AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-east-1/x.log.gz"));
        assert!(!VpcFlow.matches_key("AWSLogs/123456789012/CloudTrail/us-east-1/x.json.gz"));
    }

    #[test]
    fn a_flow_log_under_a_prefix_naming_another_service_still_routes_here() {
        let key = "inspector-vpc/AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/11/28/x.log.gz";
        assert_eq!(
            crate::log_types::route(key).map(|t| t.name()),
            Some("vpcflow")
        );
    }

    #[test]
    fn a_line_without_header_is_read_in_the_v2_default_order() {
        let d = doc(&[V2]);
        assert_eq!(at(&d, "source.ip"), "198.51.100.7");
        assert_eq!(at(&d, "destination.port"), 22);
        assert_eq!(at(&d, "network.transport"), "tcp");
        assert_eq!(at(&d, "network.iana_number"), "6");
        assert_eq!(at(&d, "source.bytes"), 4249);
        assert_eq!(at(&d, "network.packets"), 20);
        assert_eq!(at(&d, "@timestamp"), "2026-11-28T07:00:00Z");
        assert_eq!(at(&d, "event.end"), "2026-11-28T07:01:00Z");
        assert_eq!(at(&d, "event.duration"), 60_000_000_000_i64);
        assert_eq!(at(&d, "event.type"), &json!(["connection", "allowed"]));
        assert_eq!(at(&d, "aws.vpcflow.interface_id"), "eni-0a1b2c3d4e5f60718");
        assert_eq!(at(&d, "aws.vpcflow.version"), 2);
        assert_eq!(
            at(&d, "aws.vpcflow.srcport"),
            &Value::Null,
            "ports live in ECS only"
        );
    }

    #[test]
    fn a_header_sets_the_order_for_the_lines_after_it() {
        let d = doc(&[
            "srcaddr dstaddr action start version tcp-flags log-status",
            "203.0.113.5 10.0.0.5 REJECT 1795849200 3 19 OK",
        ]);
        assert_eq!(at(&d, "source.ip"), "203.0.113.5");
        assert_eq!(at(&d, "event.action"), "reject");
        assert_eq!(at(&d, "event.outcome"), "failure");
        assert_eq!(at(&d, "aws.vpcflow.tcp_flags"), 19);
        assert_eq!(
            at(&d, "aws.vpcflow.tcp_flags_array"),
            &json!(["fin", "syn-ack"])
        );
    }

    #[test]
    fn parquet_column_names_with_underscores_are_a_header_too() {
        let d = doc(&[
            "version account_id srcaddr dstaddr action log_status pkt_srcaddr flow_direction",
            "5 123456789012 203.0.113.5 10.0.0.5 ACCEPT OK 203.0.113.5 ingress",
        ]);
        assert_eq!(at(&d, "cloud.account.id"), "123456789012");
        assert_eq!(at(&d, "network.direction"), "ingress");
        assert_eq!(at(&d, "aws.vpcflow.pkt_srcaddr"), "203.0.113.5");
        assert_eq!(at(&d, "aws.vpcflow.log_status"), "OK");
    }

    #[test]
    fn the_header_itself_is_no_document() {
        assert!(
            run(&["version account-id interface-id"])[0]
                .as_ref()
                .expect("ok")
                .is_empty()
        );
    }

    #[test]
    fn a_custom_format_without_times_is_dated_when_read() {
        let mut n = VpcFlowNormalizer {
            header: None,
            clock: || DateTime::from_timestamp(1_795_849_200, 0).unwrap_or_default(),
        };
        let mut out = Vec::new();
        n.normalize(b"instance-id interface-id srcaddr dstaddr", &mut out)
            .expect("header");
        n.normalize(b"- eni-1 10.0.1.5 203.0.113.5", &mut out)
            .expect("record");
        assert_eq!(out[0].document["@timestamp"], "2026-11-28T07:00:00Z");
    }

    #[test]
    fn icmp_flows_have_no_ports() {
        let d = doc(&[
            "2 123456789012 eni-1 203.0.113.12 10.0.0.5 0 0 1 4 336 1795849200 1795849260 ACCEPT OK",
        ]);
        assert_eq!(at(&d, "network.transport"), "icmp");
        assert_eq!(at(&d, "source.port"), &Value::Null);
        assert_eq!(at(&d, "destination.port"), &Value::Null);
    }

    #[test]
    fn nodata_has_no_action_and_no_outcome_but_is_indexed() {
        let d = doc(&[
            "2 123456789012 eni-0a1b2c3d4e5f60718 - - - - - - - 1795849200 1795849260 - NODATA",
        ]);
        assert_eq!(at(&d, "aws.vpcflow.log_status"), "NODATA");
        assert_eq!(at(&d, "event.type"), &json!(["info"]));
        assert_eq!(at(&d, "event.action"), &Value::Null);
        assert_eq!(at(&d, "event.outcome"), &Value::Null);
        assert_eq!(at(&d, "source"), &Value::Null);
    }

    #[test]
    fn ipv6_flows_are_ipv6() {
        let d = doc(&[
            "2 123456789012 eni-1 2001:db8::1 2001:db8::2 34892 22 6 54 8855 1795849200 1795849260 ACCEPT OK",
        ]);
        assert_eq!(at(&d, "network.type"), "ipv6");
        assert_eq!(at(&d, "related.ip"), &json!(["2001:db8::1", "2001:db8::2"]));
    }

    #[test]
    fn flow_direction_and_reject_reason_are_ecs_fields() {
        let d = doc(&[
            "version start srcaddr dstaddr action flow-direction reject-reason log-status",
            "8 1795849200 203.0.113.9 10.0.0.5 REJECT ingress BPA OK",
        ]);
        assert_eq!(at(&d, "network.direction"), "ingress");
        assert_eq!(at(&d, "event.reason"), "BPA");
    }

    #[test]
    fn tcp_flags_are_named() {
        assert_eq!(tcp_flag_names(2), vec!["syn"]);
        assert_eq!(tcp_flag_names(18), vec!["syn-ack"]);
        assert_eq!(tcp_flag_names(3), vec!["fin", "syn"]);
        assert_eq!(tcp_flag_names(4), vec!["rst"]);
        assert!(tcp_flag_names(0).is_empty());
    }

    #[test]
    fn a_line_that_does_not_fit_the_header_is_an_error_and_the_next_one_is_read() {
        let r = run(&[
            "version srcaddr start",
            "2 10.0.0.1",
            "2 10.0.0.1 1795849200",
        ]);
        assert!(
            r[1].as_ref()
                .is_err_and(|e| e.to_string().contains("2 fields"))
        );
        assert_eq!(r[2].as_ref().map(Vec::len), Ok(1));
    }

    #[test]
    fn bad_numbers_and_addresses_are_record_errors() {
        let r = run(&[
            "version srcaddr start srcport",
            "2 not-an-ip 1795849200 1",
            "2 10.0.0.1 1795849200 70000",
            "2 10.0.0.1 yesterday 1",
        ]);
        assert!(r[1..].iter().all(Result::is_err), "{:?}", r);
    }

    #[test]
    fn a_headerless_line_of_unknown_length_is_an_error() {
        assert!(run(&["- eni-1 10.0.0.1 10.0.0.2"])[0].is_err());
    }
}
