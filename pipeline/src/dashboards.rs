//! The OpenSearch Dashboards saved objects of `dashboards/` (index patterns,
//! visualizations, searches, one dashboard per source), compiled into the
//! binary so that a container needs no files beside it, and their import
//! through the Dashboards saved-objects API.
//!
//! One `POST /api/saved_objects/_import?overwrite=true` per file, as
//! `multipart/form-data` with a `file` part: importing twice changes nothing.
//! The API answers 200 even when objects fail; every failed object is
//! reported with its type, id, title and error.
//!
//! The files name index patterns `siem-…` (and `siem_findings_current`); for another index prefix the
//! titles are rewritten (the ids stay, so two prefixes in one tenant share
//! the same objects: give each its own tenant).

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use crate::config::{DashboardsConfig, OpenSearchAuth};

/// The index prefix the files are written for.
pub const FILE_PREFIX: &str = "siem";

/// `(file name, NDJSON)`, index patterns first.
pub const SAVED_OBJECTS: &[(&str, &str)] = &[
    (
        "siem-index-patterns.ndjson",
        include_str!("../../dashboards/siem-index-patterns.ndjson"),
    ),
    (
        "siem-overview.ndjson",
        include_str!("../../dashboards/siem-overview.ndjson"),
    ),
    (
        "siem-findings.ndjson",
        include_str!("../../dashboards/siem-findings.ndjson"),
    ),
    (
        "siem-investigate.ndjson",
        include_str!("../../dashboards/siem-investigate.ndjson"),
    ),
    (
        "siem-guardduty.ndjson",
        include_str!("../../dashboards/siem-guardduty.ndjson"),
    ),
    (
        "siem-securityhub.ndjson",
        include_str!("../../dashboards/siem-securityhub.ndjson"),
    ),
    (
        "siem-inspector.ndjson",
        include_str!("../../dashboards/siem-inspector.ndjson"),
    ),
    (
        "siem-macie.ndjson",
        include_str!("../../dashboards/siem-macie.ndjson"),
    ),
    (
        "siem-cloudtrail.ndjson",
        include_str!("../../dashboards/siem-cloudtrail.ndjson"),
    ),
    (
        "siem-vpcflow.ndjson",
        include_str!("../../dashboards/siem-vpcflow.ndjson"),
    ),
    (
        "siem-linux-auth.ndjson",
        include_str!("../../dashboards/siem-linux-auth.ndjson"),
    ),
    (
        "siem-elb.ndjson",
        include_str!("../../dashboards/siem-elb.ndjson"),
    ),
    (
        "siem-s3access.ndjson",
        include_str!("../../dashboards/siem-s3access.ndjson"),
    ),
    (
        "siem-network-firewall.ndjson",
        include_str!("../../dashboards/siem-network-firewall.ndjson"),
    ),
    (
        "siem-cloudfront.ndjson",
        include_str!("../../dashboards/siem-cloudfront.ndjson"),
    ),
    (
        "siem-waf.ndjson",
        include_str!("../../dashboards/siem-waf.ndjson"),
    ),
    (
        "siem-route53-resolver.ndjson",
        include_str!("../../dashboards/siem-route53-resolver.ndjson"),
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum DashboardsError {
    #[error("dashboards.url {url:?}: {message}")]
    Url { url: String, message: String },
    #[error(
        "SigV4 is not yet supported for the Dashboards import; set dashboards.auth = \"basic\" \
         (Dashboards' internal users) or import dashboards/*.ndjson by hand (see dashboards/README.md)"
    )]
    SigV4Unsupported,
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    #[error("{file} line {line}: {message}")]
    File {
        file: String,
        line: usize,
        message: String,
    },
    #[error("importing {file}: {message}")]
    Transport { file: String, message: String },
    #[error("importing {file}: HTTP {status}: {body}")]
    Status {
        file: String,
        status: u16,
        body: String,
    },
    #[error("importing {file}: unexpected response: {message}")]
    Response { file: String, message: String },
}

/// One object the import rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectFailure {
    pub object_type: String,
    pub id: String,
    pub title: Option<String>,
    /// The error type (`conflict`, `missing_references`, `unsupported_type`,
    /// `unknown`), with its details.
    pub error: String,
}

impl std::fmt::Display for ObjectFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.object_type, self.id)?;
        if let Some(title) = &self.title {
            write!(f, " ({title:?})")?;
        }
        write!(f, ": {}", self.error)
    }
}

/// The outcome of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileImport {
    pub file: String,
    pub success_count: u64,
    pub failures: Vec<ObjectFailure>,
}

/// `{"success":bool,"successCount":n,"errors":[{"id","type","title","error":{"type",…}}]}`
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ImportResponse {
    success: bool,
    #[serde(default)]
    success_count: u64,
    #[serde(default)]
    errors: Vec<ImportError>,
}

#[derive(Debug, Deserialize)]
struct ImportError {
    id: String,
    #[serde(rename = "type")]
    object_type: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    error: Value,
}

/// Rewrites index-pattern titles `siem-…` to `<prefix>-…`; checks that every
/// line is a saved object.
pub fn render(file: &str, ndjson: &str, prefix: &str) -> Result<String, DashboardsError> {
    let mut out = String::with_capacity(ndjson.len());
    for (i, line) in ndjson
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let bad = |message: String| DashboardsError::File {
            file: file.to_owned(),
            line: i + 1,
            message,
        };
        let mut object: Value =
            serde_json::from_str(line).map_err(|e| bad(format!("not JSON: {e}")))?;
        if object.get("type").and_then(Value::as_str).is_none()
            || object.get("id").and_then(Value::as_str).is_none()
        {
            return Err(bad("not a saved object (no type or id)".into()));
        }
        if prefix != FILE_PREFIX
            && object["type"] == "index-pattern"
            && let Some(title) = object.pointer_mut("/attributes/title")
            && let Some(rest) = title.as_str().and_then(|t| t.strip_prefix(FILE_PREFIX))
        {
            *title = Value::String(format!("{prefix}{rest}"));
        }
        out.push_str(&object.to_string());
        out.push('\n');
    }
    Ok(out)
}

/// A client of the Dashboards saved-objects API.
#[derive(Debug, Clone)]
pub struct Dashboards {
    http: reqwest::Client,
    import_url: String,
    basic: Option<(String, String)>,
    tenant: Option<String>,
}

impl Dashboards {
    pub fn new(config: &DashboardsConfig) -> Result<Self, DashboardsError> {
        let basic = match &config.auth {
            OpenSearchAuth::None => None,
            OpenSearchAuth::Basic { username, password } => {
                Some((username.clone(), password.clone()))
            }
            OpenSearchAuth::SigV4 { .. } => return Err(DashboardsError::SigV4Unsupported),
        };
        let base = config.url.trim_end_matches('/');
        reqwest::Url::parse(base).map_err(|e| DashboardsError::Url {
            url: config.url.clone(),
            message: e.to_string(),
        })?;
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(Duration::from_secs(10))
            .no_proxy()
            .build()
            .map_err(|e| DashboardsError::Client(e.to_string()))?;
        Ok(Dashboards {
            http,
            import_url: format!("{base}/api/saved_objects/_import?overwrite=true"),
            basic,
            tenant: config.tenant.clone(),
        })
    }

    /// Imports every embedded file for `prefix`, one request each; a file
    /// that fails whole does not stop the others.
    pub async fn import_all(&self, prefix: &str) -> Vec<Result<FileImport, DashboardsError>> {
        let mut outcomes = Vec::with_capacity(SAVED_OBJECTS.len());
        for (file, ndjson) in SAVED_OBJECTS {
            let outcome = match render(file, ndjson, prefix) {
                Ok(body) => self.import(file, body).await,
                Err(e) => Err(e),
            };
            outcomes.push(outcome);
        }
        outcomes
    }

    /// Imports one NDJSON file, overwriting objects with the same ids.
    pub async fn import(&self, file: &str, ndjson: String) -> Result<FileImport, DashboardsError> {
        let (content_type, body) = multipart_file(file, ndjson.as_bytes());
        let mut request = self
            .http
            .post(&self.import_url)
            .header("osd-xsrf", "true")
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body);
        if let Some((user, password)) = &self.basic {
            request = request.basic_auth(user, Some(password));
        }
        if let Some(tenant) = &self.tenant {
            request = request.header("securitytenant", tenant);
        }
        let transport = |e: reqwest::Error| DashboardsError::Transport {
            file: file.to_owned(),
            message: crate::telemetry::error_chain(&e),
        };
        let response = request.send().await.map_err(transport)?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(transport)?;
        if !(200..300).contains(&status) {
            return Err(DashboardsError::Status {
                file: file.to_owned(),
                status,
                body: String::from_utf8_lossy(&body[..body.len().min(2000)]).into_owned(),
            });
        }
        parse_response(file, &body)
    }
}

/// Reads the import API's answer into per-object failures.
pub fn parse_response(file: &str, body: &[u8]) -> Result<FileImport, DashboardsError> {
    let response: ImportResponse =
        serde_json::from_slice(body).map_err(|e| DashboardsError::Response {
            file: file.to_owned(),
            message: format!(
                "{e}: {}",
                String::from_utf8_lossy(&body[..body.len().min(500)])
            ),
        })?;
    let failures: Vec<ObjectFailure> = response
        .errors
        .into_iter()
        .map(|e| ObjectFailure {
            error: describe_error(&e.error),
            object_type: e.object_type,
            id: e.id,
            title: e.title,
        })
        .collect();
    if !response.success && failures.is_empty() {
        return Err(DashboardsError::Response {
            file: file.to_owned(),
            message: "success is false and no object is named".into(),
        });
    }
    Ok(FileImport {
        file: file.to_owned(),
        success_count: response.success_count,
        failures,
    })
}

/// `{"type":"missing_references","references":[{"type","id"}]}` →
/// `missing_references: index-pattern siem-all`.
fn describe_error(error: &Value) -> String {
    let kind = error
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("unknown");
    let mut details: Vec<String> = error
        .get("references")
        .and_then(Value::as_array)
        .map(|refs| {
            refs.iter()
                .map(|r| {
                    format!(
                        "{} {}",
                        r.get("type").and_then(Value::as_str).unwrap_or("?"),
                        r.get("id").and_then(Value::as_str).unwrap_or("?")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    for key in ["message", "error"] {
        if let Some(m) = error.get(key).and_then(Value::as_str) {
            details.push(m.to_owned());
        }
    }
    if details.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}: {}", details.join(", "))
    }
}

/// A `multipart/form-data` body with one `file` part. The boundary is derived
/// from the content's hash, so it cannot occur in the content.
fn multipart_file(file: &str, content: &[u8]) -> (String, Vec<u8>) {
    let hash = blake3::hash(content).to_hex();
    let boundary = format!("siem-pipeline-{}", &hash[..32]);
    let file = file.replace(['"', '\r', '\n'], "_");
    let mut body = Vec::with_capacity(content.len() + 256);
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file}\"\r\n\
             Content-Type: application/ndjson\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(content);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_file_renders_for_the_default_and_another_prefix() {
        for (file, ndjson) in SAVED_OBJECTS {
            assert_eq!(
                render(file, ndjson, "siem")
                    .expect("renders")
                    .lines()
                    .count(),
                ndjson.lines().count()
            );
            let other = render(file, ndjson, "acme").expect("renders");
            for line in other.lines() {
                let o: Value = serde_json::from_str(line).expect("json");
                if o["type"] == "index-pattern" {
                    assert!(
                        o["attributes"]["title"]
                            .as_str()
                            .is_some_and(|t| t.starts_with("acme-") || t == "acme_findings_current"),
                        "{file}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_line_that_is_not_a_saved_object_is_named() {
        let err = render(
            "x.ndjson",
            "{\"type\":\"dashboard\",\"id\":\"a\"}\n{\"id\":1}\n",
            "siem",
        )
        .expect_err("line 2");
        assert!(err.to_string().contains("x.ndjson line 2"), "{err}");
    }

    #[test]
    fn partial_failures_are_reported_object_by_object() {
        let body = br#"{"success":false,"successCount":2,"errors":[
            {"id":"v1","type":"visualization","title":"Top users","error":{"type":"missing_references","references":[{"type":"index-pattern","id":"siem-all"}]}},
            {"id":"d1","type":"dashboard","error":{"type":"unknown","message":"boom","statusCode":500}}]}"#;
        let r = parse_response("f.ndjson", body).expect("parsed");
        assert_eq!(r.success_count, 2);
        assert_eq!(
            r.failures[0].to_string(),
            "visualization v1 (\"Top users\"): missing_references: index-pattern siem-all"
        );
        assert_eq!(r.failures[1].to_string(), "dashboard d1: unknown: boom");
    }

    #[test]
    fn the_multipart_body_has_one_file_part() {
        let (content_type, body) = multipart_file("a.ndjson", b"{}\n");
        let boundary = content_type
            .strip_prefix("multipart/form-data; boundary=")
            .expect("boundary");
        let text = String::from_utf8(body).expect("utf8");
        assert!(text.starts_with(&format!("--{boundary}\r\n")));
        assert!(text.contains("name=\"file\"; filename=\"a.ndjson\""));
        assert!(text.ends_with(&format!("\r\n{{}}\n\r\n--{boundary}--\r\n")));
    }

    /// The saved objects of one embedded file.
    fn objects(file: &str) -> Vec<Value> {
        let (_, ndjson) = SAVED_OBJECTS
            .iter()
            .find(|(f, _)| *f == file)
            .expect("embedded file");
        ndjson
            .lines()
            .map(|l| serde_json::from_str(l).expect("json"))
            .collect()
    }

    /// `*`-only glob matching, as index patterns use.
    fn glob(pattern: &str, name: &str) -> bool {
        match pattern.split_once('*') {
            None => pattern == name,
            Some((head, rest)) => name.strip_prefix(head).is_some_and(|tail| {
                (0..=tail.len()).any(|i| tail.is_char_boundary(i) && glob(rest, &tail[i..]))
            }),
        }
    }

    /// Whether a file holds a dashboard with a panel on an index pattern of
    /// `log_type`'s indices (one that is not the `siem-*` of every log type).
    fn has_dashboard_of(file: &str, log_type: &str, own_pattern: bool) -> bool {
        let objects = objects(file);
        let index = format!("{FILE_PREFIX}-{log_type}-2026.11");
        let matching: Vec<&Value> = objects
            .iter()
            .filter(|o| o["type"] == "index-pattern")
            .filter(|o| {
                o["attributes"]["title"]
                    .as_str()
                    .is_some_and(|t| glob(t, &index))
            })
            .filter(|o| !own_pattern || o["attributes"]["title"] != format!("{FILE_PREFIX}-*"))
            .collect();
        objects
            .iter()
            .filter(|o| o["type"] == "visualization" || o["type"] == "search")
            .any(|o| {
                o["references"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|r| matching.iter().any(|p| p["id"] == r["id"]))
            })
            && objects.iter().any(|o| o["type"] == "dashboard")
    }

    #[test]
    fn every_registered_log_type_has_an_index_pattern_a_dashboard_and_a_place_in_the_overview() {
        let patterns = objects("siem-index-patterns.ndjson");
        for t in crate::log_types::REGISTRY {
            let name = t.name();
            assert!(
                patterns
                    .iter()
                    .any(|p| p["id"] == format!("siem-index-pattern-{name}")),
                "{name} has no index pattern in siem-index-patterns.ndjson: run python3 dashboards/generate.py"
            );
            assert!(
                SAVED_OBJECTS
                    .iter()
                    .filter(
                        |(f, _)| *f != "siem-overview.ndjson" && *f != "siem-index-patterns.ndjson"
                    )
                    .any(|(f, _)| has_dashboard_of(f, name, true)),
                "{name} has no dashboard: add its builder to dashboards/generate.py"
            );
            assert!(
                has_dashboard_of("siem-overview.ndjson", name, false),
                "{name} is not in the overview"
            );
        }
    }
}
