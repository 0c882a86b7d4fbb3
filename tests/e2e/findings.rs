//! The finding log types end to end: a Firehose-style object (EventBridge
//! events concatenated, gzip) or an export in S3, its notification on SQS, ECS
//! documents in OpenSearch under each type's index template. And every valid
//! public sample (`../shared/samples`) indexed with no item rejected by the
//! mappings.

use std::path::PathBuf;

use serde_json::{Value, json};
use siem_pipeline::normalize::{self, Routing};
use siem_pipeline_tests::{Delivery, Scenario, at, fixture, gzip, shared};

fn read(rel: &str) -> String {
    std::fs::read_to_string(fixture(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The documents `normalize --log-type` makes of `files`: how many, how many
/// distinct (by index and `_id`), and its record errors.
fn offline_documents(log_type: &str, files: &[PathBuf]) -> (u64, u64, u64) {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let summary = normalize::run(
        files,
        &Routing::LogType(log_type.to_owned()),
        "siem",
        &mut out,
        &mut err,
    )
    .expect("normalize");
    let distinct: std::collections::BTreeSet<(String, String)> = String::from_utf8(out)
        .expect("utf8")
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("JSON");
            (
                v["_index"].as_str().unwrap_or_default().to_owned(),
                v["_id"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    (summary.documents, distinct.len() as u64, summary.errors)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_hub_events_from_firehose_become_one_document_per_finding() {
    let s = Scenario::new("sh-firehose", Delivery::Direct).await;
    // Firehose writes the events back to back; the multi-finding event gives three.
    let object = read("securityhub/controls-multi-finding-event.json")
        + &read("securityhub/products-custom-action.jsonl");
    s.put(
        "firehose/securityhub/2026/11/28/10/siem-findings-1-2026-11-28-10-15-02-5b1d0c2e.gz",
        gzip(object.as_bytes()),
    )
    .await;

    let summary = s.run_pipeline("").await;

    assert_eq!(summary.indexed, 7, "{summary:?}");
    assert_eq!(summary.rejected, 0, "{summary:?}");
    let os = s.opensearch();
    let failed = os.sources_where("rule.id", "S3.8").await;
    assert_eq!(failed.len(), 1);
    assert_eq!(at(&failed[0], "event.kind"), "state");
    assert_eq!(at(&failed[0], "event.outcome"), "failure");
    assert_eq!(at(&failed[0], "aws.securityhub.Workflow.Status"), "NEW");
    // The vendor tree is searchable by dotted path (flat_object).
    let r = os
        .search(
            json!({"size": 0, "query": {"term": {"aws.securityhub.Compliance.Status": "PASSED"}}}),
        )
        .await;
    assert_eq!(at(&r, "hits.total.value"), 1, "{r}");
    let gd = os.sources_where("observer.product", "GuardDuty").await;
    assert_eq!(at(&gd[0], "source.ip"), "203.0.113.25");
    assert_eq!(s.queue_depth().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inspector_findings_with_every_timestamp_shape_are_indexed() {
    let s = Scenario::new("inspector", Delivery::Direct).await;
    let exports: String = read("inspector/exports-epoch-timestamps.jsonl")
        .lines()
        .filter(|l| !l.contains("not a time"))
        .map(|l| format!("{l}\n"))
        .collect();
    let object = read("inspector/eventbridge-package-ec2.json") + &exports;
    s.put(
        "firehose/inspector2/2026/11/28/06/siem-inspector-1-2026-11-28-06-21-47.gz",
        gzip(object.as_bytes()),
    )
    .await;

    let summary = s.run_pipeline("").await;

    assert_eq!(summary.indexed, 7, "{summary:?}");
    assert_eq!(summary.rejected, 0, "{summary:?}");
    let os = s.opensearch();
    let sudo = os.sources_where("vulnerability.id", "CVE-2026-32463").await;
    assert_eq!(at(&sudo[0], "@timestamp"), "2026-11-28T06:21:45.870Z");
    let reachable = os.sources_where("destination.port", "22").await;
    assert_eq!(
        at(&reachable[0], "event.start"),
        "2026-11-15T02:40:00.000Z",
        "exponent notation"
    );
    let r = os
        .search(json!({"size": 0, "query": {"range": {"vulnerability.score.base": {"gte": 7.0}}}}))
        .await;
    assert_eq!(
        at(&r, "hits.total.value"),
        1,
        "only the sudo finding scores 7 or more: {r}"
    );
    assert_eq!(s.queue_depth().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn macie_findings_and_discovery_results_are_indexed() {
    let s = Scenario::new("macie", Delivery::Direct).await;
    s.put(
        "firehose/macie/2026/11/28/09/siem-macie-1-2026-11-28-09-02-41.gz",
        gzip(read("macie/findings-eventbridge.json").as_bytes()),
    )
    .await;
    s.put(
        "AWSLogs/123456789012/Macie/us-east-1/5d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a/7e6d5c4b-3a2f-4e1d-9c0b-8a7f6e5d4c3b.jsonl.gz",
        gzip(read("macie/discovery-results.jsonl").as_bytes()),
    )
    .await;

    let summary = s.run_pipeline("").await;

    assert_eq!(summary.indexed, 5, "{summary:?}");
    assert_eq!(summary.rejected, 0, "{summary:?}");
    let os = s.opensearch();
    let payroll = os
        .sources_where(
            "file.path",
            "s3://hr-exports-123456789012/exports/2026/11/payroll-2026-11.csv",
        )
        .await;
    let kinds: Vec<&Value> = payroll.iter().map(|d| at(d, "event.kind")).collect();
    assert_eq!(payroll.len(), 2, "the finding and the discovery result");
    assert!(
        kinds.contains(&&json!("alert")) && kinds.contains(&&json!("event")),
        "{kinds:?}"
    );
    let public = os
        .sources_where("rule.id", "Policy:IAMUser/S3BucketPublic")
        .await;
    assert_eq!(at(&public[0], "user.name"), "web-deployer");
    assert_eq!(s.queue_depth().await, 0);
}

/// One sample set: the files, their log type, and the S3 key prefix routing them.
struct SampleSet {
    log_type: &'static str,
    key_prefix: &'static str,
    files: Vec<PathBuf>,
}

fn sample_files(rel: &str, suffix: &str) -> Vec<PathBuf> {
    let Some(dir) = shared(&format!("samples/{rel}")) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.to_string_lossy().ends_with(suffix) && !p.to_string_lossy().ends_with("LICENSE.txt")
        })
        .collect();
    files.sort();
    files
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_valid_finding_sample_is_indexed_without_a_mapping_rejection() {
    if shared("samples").is_none() {
        eprintln!("skipped: ../shared/samples is not present");
        return;
    }
    let sets = [
        SampleSet {
            log_type: "guardduty",
            key_prefix: "AWSLogs/123456789012/GuardDuty/us-east-1/2026/11/28/",
            files: sample_files("elastic-integrations/guardduty", ".log"),
        },
        SampleSet {
            log_type: "inspector",
            key_prefix: "firehose/inspector/",
            files: sample_files("elastic-integrations/inspector", ".log"),
        },
        SampleSet {
            log_type: "securityhub",
            key_prefix: "firehose/securityhub/",
            files: [
                sample_files("aws-solutions-asr/securityhub_eventbridge", ".json"),
                sample_files("awsdocs/securityhub_asff/extracted", ".json"),
                sample_files("awsdocs/guardduty/extracted", ".json"),
            ]
            .concat(),
        },
    ];
    let s = Scenario::new("finding-samples", Delivery::Direct).await;
    let (mut expected, mut distinct) = (0, 0);
    for set in &sets {
        let (documents, unique, errors) = offline_documents(set.log_type, &set.files);
        assert_eq!(
            errors, 0,
            "{}: the valid samples normalize offline",
            set.log_type
        );
        expected += documents;
        distinct += unique;
        for (i, file) in set.files.iter().enumerate() {
            let body = std::fs::read(file).expect("sample");
            s.put(&format!("{}{i:03}-sample.gz", set.key_prefix), gzip(&body))
                .await;
        }
    }

    let summary = s.run_pipeline("").await;

    assert_eq!(summary.rejected, 0, "{summary:?}");
    // Samples repeating a finding update (same id and time) are one document;
    // a message read twice (a slow machine) only adds to the duplicates.
    assert_eq!(summary.indexed, distinct, "{summary:?}");
    assert!(
        summary.indexed + summary.already_indexed >= expected,
        "{summary:?}"
    );
    assert_eq!(s.opensearch().count().await, distinct);
    assert_eq!(s.queue_depth().await, 0);
}

/// The S3.8 finding of the fixture with `status` as its workflow status and
/// `processed_at` as Security Hub's processing time, in an event of its own.
fn s3_8_event(status: &str, processed_at: &str) -> String {
    let mut event: Value =
        serde_json::from_str(&read("securityhub/controls-multi-finding-event.json")).expect("JSON");
    let findings = event["detail"]["findings"]
        .as_array_mut()
        .expect("findings");
    findings.truncate(1);
    findings[0]["Workflow"] = json!({"Status": status});
    findings[0]["ProcessedAt"] = json!(processed_at);
    event.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_workflow_state_of_a_finding_is_kept_once_whatever_the_order_and_the_redeliveries() {
    let s = Scenario::new("sh-lifecycle", Delivery::Direct).await;
    // BatchUpdateFindings keeps UpdatedAt: only the state changes. Each state
    // arrives twice (re-imported, with another ProcessedAt), out of order.
    let states = ["NEW", "NOTIFIED", "SUPPRESSED", "RESOLVED"];
    let mut events = Vec::new();
    for (i, status) in states.iter().enumerate() {
        events.push(s3_8_event(status, &format!("2026-11-28T11:0{i}:00.000Z")));
        events.push(s3_8_event(status, &format!("2026-11-28T12:0{i}:00.000Z")));
    }
    let order = [5, 0, 7, 2, 1, 6, 3, 4];
    for (n, chunk) in order.chunks(4).enumerate() {
        let object: String = chunk.iter().map(|i| events[*i].clone() + "\n").collect();
        s.put(
            &format!("firehose/securityhub/2026/11/28/12/siem-findings-1-2026-11-28-12-0{n}-00-lifecycle.gz"),
            gzip(object.as_bytes()),
        )
        .await;
    }

    let summary = s.run_pipeline("").await;

    assert_eq!(
        (summary.indexed, summary.already_indexed),
        (4, 4),
        "{summary:?}"
    );
    let history = s.opensearch().sources_where("rule.id", "S3.8").await;
    let mut seen: Vec<String> = history
        .iter()
        .filter_map(|d| {
            at(d, "aws.securityhub.Workflow.Status")
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        ["NEW", "NOTIFIED", "RESOLVED", "SUPPRESSED"],
        "every state once in the history"
    );
    let current = current_findings(&s).sources_where("rule.id", "S3.8").await;
    assert_eq!(
        current.len(),
        1,
        "one current document for the finding: {current:?}"
    );
    assert_eq!(
        at(&current[0], "aws.securityhub.Workflow.Status"),
        "RESOLVED",
        "the latest state, whatever the order it arrived in"
    );
    assert_eq!(
        at(&current[0], "siem.finding.status"),
        "resolved",
        "what triage counts"
    );
    let mut statuses: Vec<&str> = history
        .iter()
        .filter_map(|d| at(d, "siem.finding.status").as_str())
        .collect();
    statuses.sort_unstable();
    assert_eq!(
        statuses,
        ["open", "open", "resolved", "suppressed"],
        "the history says when it was suppressed"
    );
    assert_eq!(s.queue_depth().await, 0);
}

/// The scenario's current-findings index.
fn current_findings(s: &Scenario) -> siem_pipeline_tests::OpenSearchProbe {
    siem_pipeline_tests::OpenSearchProbe {
        url: s.stack.opensearch_url.clone(),
        pattern: format!("{}_findings_current", s.index_prefix),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guardduty_finding_seen_directly_and_through_security_hub_is_one_current_finding() {
    let s = Scenario::new("gd-and-sh", Delivery::Direct).await;
    let sh_event = read("securityhub/products-custom-action.jsonl")
        .lines()
        .find(|l| l.contains("\"ProductName\": \"GuardDuty\""))
        .expect("a GuardDuty finding through Security Hub")
        .to_owned();
    let event: Value = serde_json::from_str(&sh_event).expect("JSON");
    let arn = event["detail"]["findings"][0]["Id"]
        .as_str()
        .expect("Id")
        .to_owned();
    // GuardDuty's own export of the same finding, updated after Security Hub's copy.
    let export = json!({"schemaVersion": "2.0", "accountId": "123456789012", "region": "us-east-1", "partition": "aws",
        "id": arn.rsplit('/').next(), "arn": arn, "type": "Recon:EC2/PortProbeUnprotectedPort",
        "title": "Unprotected port on EC2 instance is being probed.", "description": "probed",
        "severity": 5.0, "createdAt": "2026-11-01T00:00:00.000Z", "updatedAt": "2026-12-01T00:00:00.000Z",
        "resource": {"resourceType": "Instance"}, "service": {"serviceName": "guardduty", "count": 2, "archived": false}});
    s.put(
        "firehose/securityhub/2026/11/28/10/siem-findings-1-2026-11-28-10-15-02-gd.gz",
        gzip(sh_event.as_bytes()),
    )
    .await;
    s.put(
        "AWSLogs/123456789012/GuardDuty/us-east-1/2026/12/01/gd-and-sh.jsonl.gz",
        gzip(format!("{export}\n").as_bytes()),
    )
    .await;

    let summary = s.run_pipeline("").await;

    assert_eq!(summary.indexed, 2, "{summary:?}");
    let current = current_findings(&s)
        .sources_where("siem.finding.key", &arn)
        .await;
    assert_eq!(current.len(), 1, "counted once: {current:?}");
    assert_eq!(
        at(&current[0], "siem.log_type"),
        "guardduty",
        "the later state is GuardDuty's own"
    );
    assert_eq!(s.opensearch().count().await, 2, "both stay in the history");
}
