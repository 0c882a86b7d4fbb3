//! The import of `siem-pipeline setup`, against a fake OpenSearch Dashboards
//! that checks each request as the saved-objects API does (path,
//! `overwrite=true`, `osd-xsrf`, a multipart `file` part of NDJSON saved
//! objects, credentials, tenant) and answers as it does, in full or with
//! per-object errors.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use siem_pipeline::config::{DashboardsConfig, OpenSearchAuth};
use siem_pipeline::dashboards::{Dashboards, DashboardsError, SAVED_OBJECTS};

/// One import request as the fake saw it.
#[derive(Debug, Clone)]
struct Import {
    filename: String,
    tenant: Option<String>,
    objects: Vec<Value>,
}

#[derive(Default)]
struct Fake {
    /// `Authorization` header required, if any.
    authorization: Option<String>,
    /// Objects (by id) answered with an error.
    failing: BTreeSet<String>,
    imports: Mutex<Vec<Import>>,
}

fn reply(status: StatusCode, body: Value) -> Response {
    (
        status,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn bad_request(message: &str) -> Response {
    reply(
        StatusCode::BAD_REQUEST,
        json!({"statusCode": 400, "error": "Bad Request", "message": message}),
    )
}

async fn import(
    State(fake): State<Arc<Fake>>,
    uri: Uri,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if uri.path() != "/api/saved_objects/_import" {
        return reply(
            StatusCode::NOT_FOUND,
            json!({"statusCode": 404, "error": "Not Found"}),
        );
    }
    if headers.get("osd-xsrf").and_then(|v| v.to_str().ok()) != Some("true") {
        return bad_request("Request must contain a osd-xsrf header.");
    }
    if let Some(expected) = &fake.authorization
        && headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected)
    {
        return reply(
            StatusCode::UNAUTHORIZED,
            json!({"statusCode": 401, "error": "Unauthorized", "message": "Authentication required"}),
        );
    }
    if query.as_deref() != Some("overwrite=true") {
        return bad_request("expected overwrite=true");
    }
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let Some(boundary) = content_type.strip_prefix("multipart/form-data; boundary=") else {
        return reply(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            json!({"statusCode": 415, "error": "Unsupported Media Type"}),
        );
    };
    let Some((filename, content)) = file_part(&body, boundary) else {
        return bad_request(
            "[request body.file]: expected value of type [object] but got [undefined]",
        );
    };
    if !filename.ends_with(".ndjson") {
        return bad_request(&format!("Invalid file extension {filename}"));
    }
    let mut objects = Vec::new();
    for line in content.lines().filter(|l| !l.trim().is_empty()) {
        match serde_json::from_str::<Value>(line) {
            Ok(o)
                if o["type"].is_string() && o["id"].is_string() && o["attributes"].is_object() =>
            {
                objects.push(o)
            }
            _ => return bad_request("not a saved object"),
        }
    }
    let errors: Vec<Value> = objects
        .iter()
        .filter(|o| fake.failing.contains(o["id"].as_str().unwrap_or_default()))
        .map(|o| {
            json!({"id": o["id"], "type": o["type"], "title": o["attributes"]["title"],
                   "error": {"type": "missing_references", "references": [{"type": "index-pattern", "id": "gone"}]}})
        })
        .collect();
    let success_count = objects.len() - errors.len();
    fake.imports.lock().expect("lock").push(Import {
        filename,
        tenant: headers
            .get("securitytenant")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        objects,
    });
    reply(
        StatusCode::OK,
        json!({"success": errors.is_empty(), "successCount": success_count, "errors": errors}),
    )
}

/// The `file` part of a multipart body: its filename and content.
fn file_part(body: &[u8], boundary: &str) -> Option<(String, String)> {
    let body = std::str::from_utf8(body).ok()?;
    let delimiter = format!("--{boundary}");
    for part in body.split(&delimiter).skip(1) {
        let part = part.strip_prefix("\r\n")?;
        let (head, content) = part.split_once("\r\n\r\n")?;
        let disposition = head
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))?;
        if disposition.contains("name=\"file\"") {
            let filename = disposition
                .split("filename=\"")
                .nth(1)?
                .split('"')
                .next()?
                .to_owned();
            return Some((filename, content.strip_suffix("\r\n")?.to_owned()));
        }
    }
    None
}

async fn start(fake: Fake) -> (String, Arc<Fake>) {
    let fake = Arc::new(fake);
    let app = Router::new().fallback(import).with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), fake)
}

fn config(url: &str, auth: OpenSearchAuth, tenant: Option<&str>) -> DashboardsConfig {
    DashboardsConfig {
        url: url.to_owned(),
        auth,
        tenant: tenant.map(str::to_owned),
        request_timeout: Duration::from_secs(10),
    }
}

fn basic(user: &str, password: &str) -> OpenSearchAuth {
    OpenSearchAuth::Basic {
        username: user.into(),
        password: password.into(),
    }
}

/// Standard base64 of `user:password`, for the expected header.
fn basic_header(user: &str, password: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let input = format!("{user}:{password}").into_bytes();
    let mut out = String::from("Basic ");
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[tokio::test]
async fn every_file_is_imported_with_the_headers_the_api_requires() {
    let (url, fake) = start(Fake {
        authorization: Some(basic_header("admin", "s3cret")),
        ..Fake::default()
    })
    .await;
    let client = Dashboards::new(&config(
        &format!("{url}/"),
        basic("admin", "s3cret"),
        Some("global"),
    ))
    .expect("client");
    let outcomes = client.import_all("siem").await;
    assert_eq!(outcomes.len(), SAVED_OBJECTS.len());
    for (outcome, (file, ndjson)) in outcomes.iter().zip(SAVED_OBJECTS) {
        let imported = outcome.as_ref().unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(imported.file, *file);
        assert!(imported.failures.is_empty(), "{:?}", imported.failures);
        assert_eq!(
            imported.success_count as usize,
            ndjson.lines().count(),
            "{file}"
        );
    }
    let imports = fake.imports.lock().expect("lock").clone();
    let files: Vec<&str> = imports.iter().map(|i| i.filename.as_str()).collect();
    let expected: Vec<&str> = SAVED_OBJECTS.iter().map(|(f, _)| *f).collect();
    assert_eq!(files, expected, "one request per file, named like the file");
    assert!(
        imports
            .iter()
            .all(|i| i.tenant.as_deref() == Some("global"))
    );
}

#[tokio::test]
async fn importing_twice_overwrites_and_succeeds_again() {
    let (url, fake) = start(Fake::default()).await;
    let client = Dashboards::new(&config(&url, OpenSearchAuth::None, None)).expect("client");
    for _ in 0..2 {
        assert!(
            client
                .import_all("siem")
                .await
                .iter()
                .all(|o| o.as_ref().is_ok_and(|f| f.failures.is_empty()))
        );
    }
    let imports = fake.imports.lock().expect("lock");
    assert_eq!(imports.len(), 2 * SAVED_OBJECTS.len());
    assert!(
        imports.iter().all(|i| i.tenant.is_none()),
        "no tenant header unless configured"
    );
}

#[tokio::test]
async fn a_partial_failure_is_reported_object_by_object() {
    let (url, _fake) = start(Fake {
        failing: [
            "siem-overview-source-map".to_owned(),
            "siem-overview".to_owned(),
        ]
        .into(),
        ..Fake::default()
    })
    .await;
    let client = Dashboards::new(&config(&url, OpenSearchAuth::None, None)).expect("client");
    let outcomes = client.import_all("siem").await;
    let overview = outcomes
        .iter()
        .filter_map(|o| o.as_ref().ok())
        .find(|f| f.file == "siem-overview.ndjson")
        .expect("overview imported");
    let messages: Vec<String> = overview.failures.iter().map(ToString::to_string).collect();
    assert_eq!(
        messages,
        vec![
            "visualization siem-overview-source-map (\"Source addresses\"): missing_references: index-pattern gone",
            "dashboard siem-overview (\"SIEM: Security overview\"): missing_references: index-pattern gone",
        ]
    );
    let others_failed = outcomes
        .iter()
        .filter_map(|o| o.as_ref().ok())
        .filter(|f| f.file != "siem-overview.ndjson")
        .any(|f| !f.failures.is_empty());
    assert!(!others_failed);
}

#[tokio::test]
async fn rejected_credentials_fail_each_file_with_the_status() {
    let (url, _fake) = start(Fake {
        authorization: Some(basic_header("admin", "right")),
        ..Fake::default()
    })
    .await;
    let client = Dashboards::new(&config(&url, basic("admin", "wrong"), None)).expect("client");
    for outcome in client.import_all("siem").await {
        let err = outcome.expect_err("401");
        assert!(
            matches!(err, DashboardsError::Status { status: 401, .. }),
            "{err}"
        );
        assert!(err.to_string().contains(".ndjson: HTTP 401"), "{err}");
    }
}

#[tokio::test]
async fn another_index_prefix_renames_the_index_patterns() {
    let (url, fake) = start(Fake::default()).await;
    let client = Dashboards::new(&config(&url, OpenSearchAuth::None, None)).expect("client");
    client.import_all("acme").await;
    let imports = fake.imports.lock().expect("lock");
    let titles: Vec<&str> = imports
        .iter()
        .flat_map(|i| &i.objects)
        .filter(|o| o["type"] == "index-pattern")
        .filter_map(|o| o["attributes"]["title"].as_str())
        .collect();
    assert!(!titles.is_empty());
    assert!(
        titles
            .iter()
            .all(|t| t.starts_with("acme-") || *t == "acme_findings_current"),
        "{titles:?}"
    );
    assert!(titles.contains(&"acme_findings_current"), "{titles:?}");
}

#[test]
fn sigv4_is_refused_with_a_clear_message() {
    let err = Dashboards::new(&config(
        "https://d/_dashboards",
        OpenSearchAuth::SigV4 {
            service: "es".into(),
        },
        None,
    ))
    .expect_err("not supported");
    assert!(
        err.to_string().contains("SigV4 is not yet supported"),
        "{err}"
    );
}

#[test]
fn basic_header_is_standard_base64() {
    assert_eq!(basic_header("admin", "admin"), "Basic YWRtaW46YWRtaW4=");
    assert_eq!(basic_header("a", "bc"), "Basic YTpiYw==");
}
