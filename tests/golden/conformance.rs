//! Conformance over the public sample data beside the repository
//! (`../shared/samples`, see its README): every valid sample normalizes
//! without a record error, and the documentation blocks that are not valid
//! JSON as published (`*.txt`) are reported as record errors, never a panic.
//! Each test runs when its folder exists and says that it skipped otherwise.
//!
//! The samples are read in place, never copied into the repository.

use std::path::{Path, PathBuf};

use serde_json::Value;
use siem_pipeline::normalize::{self, Routing};
use siem_pipeline_tests::shared;

/// What normalizing some files gave.
struct Outcome {
    documents: Vec<Value>,
    errors: Vec<String>,
}

/// Normalizes `files` as `siem-pipeline normalize --log-type <log_type>` does.
fn normalize_files(log_type: &str, files: &[PathBuf]) -> Outcome {
    let mut out = Vec::new();
    let mut err = Vec::new();
    normalize::run(
        files,
        &Routing::LogType(log_type.to_owned()),
        "siem",
        &mut out,
        &mut err,
    )
    .unwrap_or_else(|e| panic!("{log_type}: {e}"));
    let documents: Vec<Value> = String::from_utf8(out)
        .expect("utf8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("normalize prints JSON lines"))
        .collect();
    // Enrichers read only the fields a log type declares: real records must
    // stay within them too, not only the project's fixtures.
    for doc in &documents {
        let undeclared = crate::undeclared_fields(log_type, &doc["_source"]);
        assert!(
            undeclared.is_empty(),
            "{log_type}: a sample gives {undeclared:?}, not in its ecs_fields"
        );
    }
    let errors = String::from_utf8(err)
        .expect("utf8")
        .lines()
        .filter(|l| !l.contains(" file(s), "))
        .map(str::to_owned)
        .collect();
    Outcome { documents, errors }
}

/// The files of `dir` whose name ends with `suffix`, sorted.
fn files_in(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.to_string_lossy().ends_with(suffix))
        .collect();
    files.sort();
    files
}

/// The sample folder, or `None` after saying that the test skipped.
fn samples(rel: &str) -> Option<PathBuf> {
    let dir = shared(&format!("samples/{rel}"));
    if dir.is_none() {
        eprintln!("skipped: ../shared/samples/{rel} is not present");
    }
    dir
}

/// Every documentation block published as invalid JSON is reported, one or
/// more record errors per file, and none gives a document by accident of
/// framing that a valid one would not.
fn assert_invalid_blocks_are_reported(log_type: &str, dir: &Path) {
    for block in files_in(dir, ".txt") {
        let outcome = normalize_files(log_type, std::slice::from_ref(&block));
        assert!(
            !outcome.errors.is_empty(),
            "{}: not valid JSON as published, yet no record error was reported",
            block.display()
        );
    }
}

fn assert_no_errors(what: &str, outcome: &Outcome) {
    assert!(
        outcome.errors.is_empty(),
        "{what}:\n{}",
        outcome.errors.join("\n")
    );
}

fn field<'a>(doc: &'a Value, path: &str) -> &'a Value {
    path.split('.')
        .fold(&doc["_source"], |v, p| v.get(p).unwrap_or(&Value::Null))
}

#[test]
fn guardduty_samples_normalize_without_errors() {
    let Some(dir) = samples("elastic-integrations/guardduty") else {
        return;
    };
    let outcome = normalize_files("guardduty", &files_in(&dir, ".log"));
    assert_no_errors("elastic-integrations/guardduty", &outcome);
    assert!(!outcome.documents.is_empty());
    for doc in &outcome.documents {
        assert_eq!(field(doc, "event.kind"), "alert", "{doc}");
        assert!(field(doc, "event.id").is_string(), "{doc}");
    }
}

#[test]
fn guardduty_documentation_samples_normalize_or_are_reported() {
    let Some(dir) = samples("awsdocs/guardduty/extracted") else {
        return;
    };
    // The GuardDuty guide shows a finding as Security Hub receives it: ASFF,
    // which is the `securityhub` log type's input.
    let asff = normalize_files("securityhub", &files_in(&dir, ".json"));
    assert_no_errors("awsdocs/guardduty/extracted/*.json", &asff);
    assert!(
        asff.documents
            .iter()
            .all(|d| field(d, "observer.product") == "GuardDuty"
                || field(d, "event.provider") == "guardduty")
    );
    assert_invalid_blocks_are_reported("guardduty", &dir);
}

#[test]
fn inspector_samples_normalize_with_every_timestamp_shape() {
    let Some(dir) = samples("elastic-integrations/inspector") else {
        return;
    };
    let files = files_in(&dir, ".log");
    let lines: usize = files
        .iter()
        .map(|f| {
            std::fs::read_to_string(f)
                .expect("readable")
                .lines()
                .filter(|l| !l.trim().is_empty())
                .count()
        })
        .sum();
    let outcome = normalize_files("inspector", &files);
    assert_no_errors("elastic-integrations/inspector", &outcome);
    assert_eq!(outcome.documents.len(), lines, "one document per finding");
    for doc in &outcome.documents {
        let ts = field(doc, "@timestamp").as_str().unwrap_or_default();
        assert!(chrono::DateTime::parse_from_rfc3339(ts).is_ok(), "{ts}");
    }
}

#[test]
fn security_hub_eventbridge_samples_give_one_document_per_finding() {
    let Some(dir) = samples("aws-solutions-asr/securityhub_eventbridge") else {
        return;
    };
    let files = files_in(&dir, ".json");
    let findings: usize = files
        .iter()
        .filter_map(|f| serde_json::from_str::<Value>(&std::fs::read_to_string(f).ok()?).ok())
        .map(|e| e["detail"]["findings"].as_array().map_or(0, Vec::len))
        .sum();
    let outcome = normalize_files("securityhub", &files);
    assert_no_errors("aws-solutions-asr/securityhub_eventbridge", &outcome);
    assert_eq!(outcome.documents.len(), findings);
    for doc in &outcome.documents {
        // Every one of these samples is a control evaluation.
        assert_eq!(field(doc, "event.kind"), "state", "{doc}");
        assert!(field(doc, "event.outcome").is_string(), "{doc}");
    }
}

#[test]
fn security_hub_documentation_samples_normalize_or_are_reported() {
    let Some(dir) = samples("awsdocs/securityhub_asff/extracted") else {
        return;
    };
    let outcome = normalize_files("securityhub", &files_in(&dir, ".json"));
    assert_no_errors("awsdocs/securityhub_asff/extracted/*.json", &outcome);
    assert!(!outcome.documents.is_empty());
    assert_invalid_blocks_are_reported("securityhub", &dir);
}

// -- CloudTrail, VPC Flow Logs, Linux auth -------------------------------------

/// A scratch file for samples that must be reshaped before they are read.
fn scratch(name: &str, content: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("siem-conformance-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let path = dir.join(name);
    std::fs::write(&path, content).expect("scratch file");
    path
}

/// CloudTrail's documentation blocks are `{"Records":[...]}` log files, single
/// events, or `lookup-events` output (`{"Events":[...]}`); the last two are put
/// in a log file as a trail would deliver them.
#[test]
fn cloudtrail_documentation_records_normalize_or_are_reported() {
    let Some(dir) = samples("awsdocs/cloudtrail/extracted") else {
        return;
    };
    let mut checked = 0;
    for file in files_in(&dir, ".json") {
        let text = std::fs::read_to_string(&file).expect("readable sample");
        let value: Value = serde_json::from_str(&text).expect("a .json block is valid JSON");
        let records: Vec<Value> = match (value.get("Records"), value.get("Events")) {
            (Some(Value::Array(r)), _) | (None, Some(Value::Array(r))) => r.clone(),
            _ => vec![value],
        };
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("sample");
        let log_file = scratch(
            name,
            serde_json::json!({ "Records": records })
                .to_string()
                .as_bytes(),
        );
        let outcome = normalize_files("cloudtrail", &[log_file]);
        // A record says when it happened; one block is a bare `userIdentity`
        // fragment, which must be reported, not indexed.
        let dated = records
            .iter()
            .filter(|r| r.get("eventTime").is_some())
            .count();
        assert_eq!(
            outcome.documents.len(),
            dated,
            "{name}: {:?}",
            outcome.errors
        );
        assert_eq!(
            outcome.errors.len(),
            records.len() - dated,
            "{name}: {:?}",
            outcome.errors
        );
        checked += records.len();
    }
    assert!(checked >= 20, "only {checked} records checked");
    assert_invalid_blocks_are_reported("cloudtrail", &dir);
}

#[test]
fn vpc_flow_samples_normalize_without_errors() {
    let Some(dir) = samples("elastic-integrations/vpcflow") else {
        return;
    };
    for file in files_in(&dir, ".log") {
        let text = std::fs::read_to_string(&file).expect("readable sample");
        let records = text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with("version "))
            .count();
        let outcome = normalize_files("vpcflow", std::slice::from_ref(&file));
        assert_no_errors(&file.display().to_string(), &outcome);
        assert_eq!(outcome.documents.len(), records, "{}", file.display());
    }
}

/// The documentation page read top to bottom is one stream: each header block
/// applies to the examples after it, and the first examples have none.
#[test]
fn vpc_flow_documentation_examples_normalize_except_the_annotations() {
    let Some(dir) = samples("awsdocs/vpcflow/extracted") else {
        return;
    };
    let mut page = Vec::new();
    for block in files_in(&dir, ".txt")
        .iter()
        .filter(|p| p.to_string_lossy().contains("flow-logs-records-examples"))
    {
        page.extend(std::fs::read(block).expect("block"));
        page.push(b'\n');
    }
    let outcome = normalize_files(
        "vpcflow",
        &[scratch("flow-logs-records-examples.log", &page)],
    );
    // Three lines annotate the page rather than being records: a `...`
    // elision and two records followed by `#comments`.
    assert_eq!(outcome.errors.len(), 3, "{:?}", outcome.errors);
    assert!(
        outcome
            .errors
            .iter()
            .all(|e| e.contains("but the header names")),
        "{:?}",
        outcome.errors
    );
    assert_eq!(outcome.documents.len(), 25);
    assert!(
        outcome
            .documents
            .iter()
            .any(|d| field(d, "aws.vpcflow.log_status") == "NODATA")
    );
    assert!(
        outcome
            .documents
            .iter()
            .any(|d| field(d, "network.type") == "ipv6")
    );
}

#[test]
fn linux_auth_sample_lines_normalize_without_errors() {
    let Some(dir) = samples("elastic-integrations/linux_secure") else {
        return;
    };
    let outcome = normalize_files("linux_auth_file", &files_in(&dir, ".log"));
    assert_no_errors("elastic-integrations/linux_secure", &outcome);
    assert_eq!(outcome.documents.len(), 12);
    let logins = outcome
        .documents
        .iter()
        .filter(|d| field(d, "event.action") == "ssh_login")
        .count();
    assert_eq!(logins, 3, "two accepted, one failed");
}

// -- S3 server access logs -------------------------------------------------------

/// The documentation's example lines (numbered on the page: the numbers go)
/// are a log object as S3 writes it.
#[test]
fn s3_access_documentation_examples_normalize_without_errors() {
    let Some(dir) = samples("awsdocs/s3access/extracted") else {
        return;
    };
    let mut object = Vec::new();
    for block in files_in(&dir, ".txt") {
        let text = std::fs::read_to_string(&block).expect("block");
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let record = line
                .split_once(". ")
                .filter(|(n, _)| n.bytes().all(|b| b.is_ascii_digit()))
                .map_or(line, |(_, rest)| rest);
            object.extend_from_slice(record.as_bytes());
            object.push(b'\n');
        }
    }
    let outcome = normalize_files(
        "s3access",
        &[scratch("2019-02-06-00-00-38-5A1B2C3D4E5F6A7B", &object)],
    );
    assert_no_errors("S3 access log examples", &outcome);
    assert_eq!(outcome.documents.len(), 5);
    for doc in &outcome.documents {
        assert!(
            field(doc, "@timestamp")
                .as_str()
                .is_some_and(|t| t.starts_with("2019-02-06T00:0")),
            "{doc}"
        );
        assert_eq!(field(doc, "source.ip"), "192.0.2.3");
        assert_eq!(field(doc, "aws.s3access.bucket"), "awsexamplebucket1");
        assert!(
            field(doc, "event.action")
                .as_str()
                .is_some_and(|a| a.starts_with("REST."))
        );
    }
    assert!(
        outcome
            .documents
            .iter()
            .any(|d| field(d, "error.code") == "NoSuchBucketPolicy")
    );
}

// -- CloudFront ------------------------------------------------------------------

#[test]
fn cloudfront_documentation_example_normalizes_without_errors() {
    let Some(dir) = samples("awsdocs/cloudfront/extracted") else {
        return;
    };
    let outcome = normalize_files("cloudfront", &files_in(&dir, ".txt"));
    assert_no_errors("CloudFront log example", &outcome);
    assert_eq!(outcome.documents.len(), 6);
    assert!(
        outcome
            .documents
            .iter()
            .all(|d| field(d, "source.ip").is_string())
    );
    assert!(
        outcome
            .documents
            .iter()
            .any(|d| field(d, "aws.cloudfront.x_edge_detailed_result_type") == "OriginDnsError")
    );
    assert!(
        outcome
            .documents
            .iter()
            .any(|d| field(d, "user_agent.original") == "curl/7.55.1")
    );
}

// -- AWS WAF, Route 53 Resolver --------------------------------------------------

/// The documentation prints each record pretty, over many lines; AWS delivers
/// one record per line or records concatenated (Firehose). Both deliveries
/// are tried: every block gives its one document and no record error.
fn documentation_records_as_delivered(log_type: &str, dir: &Path) -> Vec<Value> {
    let blocks = files_in(dir, ".json");
    assert!(!blocks.is_empty(), "{}: no .json block", dir.display());
    let records: Vec<Value> = blocks
        .iter()
        .map(|b| {
            let text = std::fs::read_to_string(b).expect("readable sample");
            serde_json::from_str(&text).expect("a .json block is valid JSON")
        })
        .collect();
    let lines: String = records.iter().map(|r| format!("{r}\n")).collect();
    let concatenated: String = records.iter().map(Value::to_string).collect();
    let mut documents = Vec::new();
    for (name, content) in [("lines.log", lines), ("firehose.json", concatenated)] {
        let file = scratch(&format!("{log_type}-{name}"), content.as_bytes());
        let outcome = normalize_files(log_type, &[file]);
        assert_no_errors(&format!("{log_type} {name}"), &outcome);
        assert_eq!(outcome.documents.len(), records.len(), "{log_type} {name}");
        documents = outcome.documents;
    }
    documents
}

#[test]
fn waf_documentation_examples_normalize_as_delivered() {
    let Some(dir) = samples("awsdocs/waf/extracted") else {
        return;
    };
    let documents = documentation_records_as_delivered("waf", &dir);
    for doc in &documents {
        assert_eq!(field(doc, "observer.product"), "WAF", "{doc}");
        assert!(field(doc, "source.ip").is_string(), "{doc}");
        assert!(field(doc, "cloud.account.id").is_string(), "{doc}");
    }
    let actions: Vec<&str> = documents
        .iter()
        .filter_map(|d| field(d, "event.action").as_str())
        .collect();
    assert!(
        ["allow", "block", "captcha"]
            .iter()
            .all(|a| actions.contains(a)),
        "{actions:?}"
    );
    // One example names its headers in lowercase (`user-agent`).
    assert!(
        documents
            .iter()
            .filter(|d| field(d, "user_agent.original").is_string())
            .count()
            >= 4
    );
    assert_invalid_blocks_are_reported("waf", &dir);
}

#[test]
fn route53_resolver_documentation_example_normalizes_as_delivered() {
    let Some(dir) = samples("awsdocs/route53_resolver/extracted") else {
        return;
    };
    let documents = documentation_records_as_delivered("route53_resolver", &dir);
    let doc = documents.first().expect("one example");
    assert_eq!(field(doc, "dns.question.name"), "15.3.4.32.in-addr.arpa");
    assert_eq!(
        field(doc, "event.outcome"),
        "failure",
        "a DNS Firewall BLOCK"
    );
    assert_eq!(field(doc, "source.port"), 56067);
    assert_eq!(field(doc, "cloud.instance.id"), "i-0d15cd0d3example");
    assert_invalid_blocks_are_reported("route53_resolver", &dir);
}
