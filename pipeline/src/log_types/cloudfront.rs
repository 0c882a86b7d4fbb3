//! Amazon CloudFront standard (access) logs, as CloudFront writes them to the
//! logging bucket: gzip W3C files named
//! `<prefix>/<distribution id>.YYYY-MM-DD-HH.<unique id>.gz`, a `#Version`
//! and a `#Fields` header line, then one tab-separated line per request.
//!
//! # Reading a file
//!
//! The `#Fields` line names the fields of the lines after it (CloudFront has
//! added fields over time and may again); lines before any header are read
//! in the documented order of the 33 fields. Extra fields beyond the header
//! are kept as `aws.cloudfront.extra`; a line with fewer fields than its
//! header is an error of that record. Field names are kept as CloudFront
//! writes them, made identifiers: `cs(User-Agent)` is `cs_user_agent`. Values
//! CloudFront URL-encodes (the user agent, the referrer, the query, cookies)
//! are decoded for ECS and kept as written under `aws.cloudfront`. A line of a
//! file means nothing without its header: letters cannot be redriven alone.
//!
//! # Mapping
//!
//! `@timestamp` from `date` and `time` (UTC); `event.category: [web]`,
//! `event.type: [access]`, `event.outcome` from the status (failure from
//! 400 on); `source.ip`/`source.port` the viewer; `url.*` from the host
//! header the viewer sent (else the distribution's domain), the URI and
//! query; `http.*`, `user_agent.original`, `tls.*`, `event.duration` the
//! time taken; `observer.geo.name` the edge location; `http.request.id` the
//! edge request id, which is also the document id (a request is logged once:
//! a file delivered twice adds nothing).

use std::borrow::Cow;
use std::time::Duration;

use chrono::{NaiveDate, NaiveTime, TimeZone, Utc};
use percent_encoding::percent_decode_str;
use serde_json::{Map, Value};

use super::{DocId, LogType, NormalizeError, Normalized, Normalizer, finding};
use crate::decode::Framing;
use crate::ecs::{EcsDocument, Related};

pub struct CloudFront;

impl LogType for CloudFront {
    fn name(&self) -> &'static str {
        "cloudfront"
    }
    fn namespace(&self) -> &'static str {
        "aws.cloudfront"
    }
    fn index_template(&self) -> &'static str {
        include_str!("../../../mappings/index_templates/cloudfront.json")
    }
    fn framing(&self) -> Framing {
        Framing::Lines
    }
    fn matches_key(&self, key: &str) -> bool {
        is_log_file_name(key.rsplit('/').next().unwrap_or(key))
    }
    fn normalizer(&self) -> Box<dyn Normalizer> {
        Box::new(CloudFrontNormalizer { fields: None })
    }
    fn frames_stand_alone(&self) -> bool {
        false
    }
}

/// `EMLARXS9EXAMPLE.2026-11-28-10.a1b2c3d4.gz`.
fn is_log_file_name(name: &str) -> bool {
    let parts: Vec<&str> = name.split('.').collect();
    let [distribution, hour, unique, "gz"] = parts.as_slice() else {
        return false;
    };
    distribution.starts_with('E')
        && (8..=20).contains(&distribution.len())
        && distribution
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        && hour.len() == 13
        && hour.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 | 10 => b == b'-',
            _ => b.is_ascii_digit(),
        })
        && !unique.is_empty()
        && unique.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The documented fields, in order, for lines before any `#Fields` header.
const DEFAULT_FIELDS: &[&str] = &[
    "date",
    "time",
    "x-edge-location",
    "sc-bytes",
    "c-ip",
    "cs-method",
    "cs(Host)",
    "cs-uri-stem",
    "sc-status",
    "cs(Referer)",
    "cs(User-Agent)",
    "cs-uri-query",
    "cs(Cookie)",
    "x-edge-result-type",
    "x-edge-request-id",
    "x-host-header",
    "cs-protocol",
    "cs-bytes",
    "time-taken",
    "x-forwarded-for",
    "ssl-protocol",
    "ssl-cipher",
    "x-edge-response-result-type",
    "cs-protocol-version",
    "fle-status",
    "fle-encrypted-fields",
    "c-port",
    "time-to-first-byte",
    "x-edge-detailed-result-type",
    "sc-content-type",
    "sc-content-len",
    "sc-range-start",
    "sc-range-end",
];

/// `cs(User-Agent)` → `cs_user_agent`.
fn identifier(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    for c in field.chars() {
        match c {
            'a'..='z' | '0'..='9' => out.push(c),
            'A'..='Z' => out.push(c.to_ascii_lowercase()),
            _ if !out.ends_with('_') => out.push('_'),
            _ => {}
        }
    }
    out.trim_end_matches('_').to_owned()
}

struct CloudFrontNormalizer {
    /// The identifiers of the current `#Fields` header, if one was read.
    fields: Option<Vec<String>>,
}

impl Normalizer for CloudFrontNormalizer {
    fn normalize(&mut self, frame: &[u8], out: &mut Vec<Normalized>) -> Result<(), NormalizeError> {
        let line =
            std::str::from_utf8(frame).map_err(|e| NormalizeError::InvalidUtf8(e.valid_up_to()))?;
        let line = line.trim_end_matches(['\r', '\n']);
        if let Some(header) = line.strip_prefix("#Fields:") {
            self.fields = Some(header.split_whitespace().map(identifier).collect());
            return Ok(());
        }
        if line.starts_with('#') {
            // #Version and any other directive.
            return Ok(());
        }
        let default;
        let names: &[String] = match &self.fields {
            Some(fields) => fields,
            None => {
                default = DEFAULT_FIELDS
                    .iter()
                    .map(|f| identifier(f))
                    .collect::<Vec<_>>();
                &default
            }
        };
        out.push(normalize_line(line, names)?);
        Ok(())
    }
}

struct Record<'a> {
    fields: Vec<(&'a str, &'a str)>,
}

impl Record<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
            .filter(|v| !v.is_empty() && *v != "-")
    }

    fn decoded(&self, name: &str) -> Option<String> {
        self.get(name).map(|v| decode(v).into_owned())
    }

    fn count(&self, name: &str) -> Option<u64> {
        self.get(name).and_then(|v| v.parse().ok())
    }
}

/// CloudFront URL-encodes spaces and other characters of some values; a
/// value that does not decode to UTF-8 is kept as written.
fn decode(value: &str) -> Cow<'_, str> {
    percent_decode_str(value)
        .decode_utf8()
        .unwrap_or(Cow::Borrowed(value))
}

fn normalize_line(line: &str, names: &[String]) -> Result<Normalized, NormalizeError> {
    let values: Vec<&str> = line.split('\t').collect();
    if values.len() < names.len() {
        return Err(NormalizeError::InvalidField {
            field: "(line)",
            message: format!("{} fields, the header names {}", values.len(), names.len()),
        });
    }
    let record = Record {
        fields: names
            .iter()
            .map(String::as_str)
            .zip(values.iter().copied())
            .collect(),
    };
    let extra: Vec<&str> = values[names.len()..]
        .iter()
        .copied()
        .filter(|v| !v.is_empty())
        .collect();

    let date = record
        .get("date")
        .ok_or(NormalizeError::MissingField("date"))?;
    let time = record
        .get("time")
        .ok_or(NormalizeError::MissingField("time"))?;
    let timestamp = NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .ok()
        .zip(NaiveTime::parse_from_str(time, "%H:%M:%S%.f").ok())
        .map(|(d, t)| Utc.from_utc_datetime(&d.and_time(t)))
        .ok_or_else(|| NormalizeError::InvalidField {
            field: "date",
            message: format!("{date:?} {time:?} is not a date and a time"),
        })?;

    let mut doc = EcsDocument::new();
    let mut related = Related::default();
    doc.set("@timestamp", finding::iso(timestamp));
    doc.set("event.kind", "event");
    doc.set("event.category", vec!["web"]);
    doc.set("event.type", vec!["access"]);
    doc.set("cloud.provider", "aws");
    doc.set("observer.vendor", "AWS");
    doc.set("observer.product", "CloudFront");
    doc.set("observer.geo.name", record.get("x_edge_location"));
    doc.set("network.protocol", "http");

    let client = finding::ip(record.get("c_ip"));
    doc.set("source.ip", client);
    doc.set("source.address", client);
    doc.set_opt(
        "source.port",
        finding::port(record.get("c_port").map(Value::from).as_ref()),
    );
    related.ip(client);
    if let Some(forwarded) = record
        .get("x_forwarded_for")
        .and_then(|f| finding::ip(Some(f.trim())))
    {
        doc.set("network.forwarded_ip", forwarded);
        related.ip(Some(forwarded));
    }

    doc.set("http.request.method", record.get("cs_method"));
    if let Some(version) = record
        .get("cs_protocol_version")
        .and_then(|v| v.strip_prefix("HTTP/"))
    {
        doc.set("http.version", version);
    }
    let status = record.count("sc_status").filter(|s| (100..600).contains(s));
    doc.set_opt("http.response.status_code", status);
    if let Some(status) = status {
        doc.set(
            "event.outcome",
            if status < 400 { "success" } else { "failure" },
        );
    }
    doc.set_opt("http.response.bytes", record.count("sc_bytes"));
    doc.set_opt("http.request.bytes", record.count("cs_bytes"));
    doc.set("http.request.referrer", record.decoded("cs_referer"));
    doc.set("http.request.id", record.get("x_edge_request_id"));
    doc.set("user_agent.original", record.decoded("cs_user_agent"));
    if let Some(seconds) = record
        .get("time_taken")
        .and_then(|t| t.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
    {
        let nanos = Duration::from_secs_f64(seconds.min(1e9)).as_nanos();
        doc.set("event.duration", u64::try_from(nanos).unwrap_or(u64::MAX));
    }
    doc.set("tls.cipher", record.get("ssl_cipher"));
    if let Some(version) = record
        .get("ssl_protocol")
        .and_then(|p| p.strip_prefix("TLSv"))
    {
        doc.set("tls.version", version);
        doc.set("tls.version_protocol", "tls");
    }
    let host = record.get("x_host_header").or(record.get("cs_host"));
    doc.set("url.domain", host);
    related.host(host);
    doc.set("url.scheme", record.get("cs_protocol"));
    doc.set("url.path", record.decoded("cs_uri_stem"));
    doc.set("url.query", record.decoded("cs_uri_query"));

    related.write_to(&mut doc);
    let mut vendor = Map::new();
    for (name, value) in &record.fields {
        if !value.is_empty() && *value != "-" {
            vendor.insert((*name).to_owned(), Value::String((*value).to_owned()));
        }
    }
    if !extra.is_empty() {
        vendor.insert("extra".into(), extra.into());
    }
    doc.set("aws.cloudfront", Value::Object(vendor));
    let id = match record.get("x_edge_request_id") {
        Some(request) => DocId::Natural(request.to_owned()),
        None => DocId::Positional,
    };
    Ok(Normalized {
        document: doc.into_map(),
        timestamp,
        id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = "2026-11-28\t10:15:02\tFRA56-P4\t3221\t198.51.100.23\tGET\td111111abcdef8.cloudfront.net\t/cart\t200\thttps://shop.example.com/\tMozilla/5.0%20(X11;%20Linux%20x86_64)\titem=42\t-\tMiss\tSOX4xwn4XV6Q4rgb7XiVGOHms_BGlTAC4KyHmureZmBNrjGdRLiNIQ==\tshop.example.com\thttps\t612\t0.049\t-\tTLSv1.3\tTLS_AES_128_GCM_SHA256\tMiss\tHTTP/2.0\t-\t-\t50131\t0.048\tMiss\ttext/html\t3100\t-\t-";

    fn run(lines: &[&str]) -> Result<Vec<Normalized>, NormalizeError> {
        let mut normalizer = CloudFront.normalizer();
        let mut out = Vec::new();
        for line in lines {
            normalizer.normalize(line.as_bytes(), &mut out)?;
        }
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
    fn a_request_without_a_header_is_read_in_the_documented_order() {
        let out = run(&[LINE]).expect("normalizes");
        let n = &out[0];
        assert_eq!(get(n, "@timestamp"), "2026-11-28T10:15:02.000Z");
        assert_eq!(get(n, "source.ip"), "198.51.100.23");
        assert_eq!(get(n, "source.port"), 50131);
        assert_eq!(
            get(n, "url.domain"),
            "shop.example.com",
            "the host the viewer asked for"
        );
        assert_eq!(get(n, "url.path"), "/cart");
        assert_eq!(get(n, "url.query"), "item=42");
        assert_eq!(
            get(n, "user_agent.original"),
            "Mozilla/5.0 (X11; Linux x86_64)"
        );
        assert_eq!(get(n, "http.version"), "2.0");
        assert_eq!(get(n, "event.duration"), 49_000_000);
        assert_eq!(get(n, "observer.geo.name"), "FRA56-P4");
        assert_eq!(get(n, "tls.version"), "1.3");
        assert_eq!(
            get(n, "aws.cloudfront.cs_user_agent"),
            "Mozilla/5.0%20(X11;%20Linux%20x86_64)"
        );
        assert_eq!(
            n.id,
            DocId::Natural("SOX4xwn4XV6Q4rgb7XiVGOHms_BGlTAC4KyHmureZmBNrjGdRLiNIQ==".into())
        );
    }

    #[test]
    fn the_fields_header_names_the_fields_whatever_their_order() {
        let out = run(&[
            "#Version: 1.0",
            "#Fields: time date c-ip sc-status x-edge-request-id a-new-field",
            "10:15:02\t2026-11-28\t203.0.113.9\t403\tREQ1\tnew\tbeyond",
        ])
        .expect("normalizes");
        assert_eq!(out.len(), 1, "headers are no documents");
        assert_eq!(get(&out[0], "source.ip"), "203.0.113.9");
        assert_eq!(get(&out[0], "event.outcome"), "failure");
        assert_eq!(get(&out[0], "aws.cloudfront.a_new_field"), "new");
        assert_eq!(
            get(&out[0], "aws.cloudfront.extra"),
            &serde_json::json!(["beyond"])
        );
    }

    #[test]
    fn short_lines_and_bad_dates_are_errors_of_the_record() {
        assert!(run(&["#Fields: date time c-ip", "2026-11-28\t10:15:02"]).is_err());
        assert!(run(&["#Fields: date time c-ip", "yesterday\t10:15:02\t192.0.2.1"]).is_err());
    }

    #[test]
    fn log_files_are_recognized_by_their_name() {
        assert!(CloudFront.matches_key("cf-logs/EMLARXS9EXAMPLE.2026-11-28-10.a1b2c3d4.gz"));
        assert!(CloudFront.matches_key("EMLARXS9EXAMPLE.2026-11-28-10.a1b2c3d4.gz"));
        for key in [
            "cf-logs/EMLARXS9EXAMPLE.2026-11-28-10.a1b2c3d4",
            "cf-logs/emlarxs9example.2026-11-28-10.a1b2c3d4.gz",
            "cf-logs/EMLARXS9EXAMPLE.2026-11-28.a1b2c3d4.gz",
        ] {
            assert!(!CloudFront.matches_key(key), "{key}");
        }
    }

    #[test]
    fn field_names_become_identifiers() {
        assert_eq!(identifier("cs(User-Agent)"), "cs_user_agent");
        assert_eq!(identifier("x-edge-request-id"), "x_edge_request_id");
        assert_eq!(identifier("sc-range-end"), "sc_range_end");
    }
}
