//! The published CloudTrail, VPC Flow Logs and Linux auth samples
//! (`../shared/samples`), delivered as S3 objects and indexed by the real
//! pipeline into a real node: no item is rejected. Which records are valid is
//! the golden conformance test's business (`tests/golden/conformance.rs`);
//! here only those are delivered, so that every message completes.

use serde_json::{Value, json};
use siem_pipeline::normalize::{self, Routing};
use siem_pipeline_tests::{Delivery, Scenario, gzip, shared};

/// How many documents the pipeline should make of `body` stored at `key`.
fn expected_documents(key: &str, body: &[u8]) -> u64 {
    let dir = std::env::temp_dir().join(format!("siem-e2e-conformance-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let file = dir.join(key.replace('/', "_"));
    std::fs::write(&file, body).expect("scratch file");
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let summary = normalize::run(
        &[&file],
        &Routing::Key(key.into()),
        "siem",
        &mut out,
        &mut err,
    )
    .expect("normalize");
    assert_eq!(
        summary.errors,
        0,
        "{key}: {}",
        String::from_utf8_lossy(&err)
    );
    summary.documents
}

fn files(dir: &std::path::Path, suffix: &str) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("sample dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    files.sort();
    files
}

/// `(key, body)` of every object to deliver.
fn objects() -> Option<Vec<(String, Vec<u8>)>> {
    let cloudtrail = shared("samples/awsdocs/cloudtrail/extracted")?;
    let vpc_docs = shared("samples/awsdocs/vpcflow/extracted")?;
    let vpc_elastic = shared("samples/elastic-integrations/vpcflow")?;
    let auth = shared("samples/elastic-integrations/linux_secure/test-auth.log")?;
    let mut objects = Vec::new();

    let mut records = Vec::new();
    for file in files(&cloudtrail, ".json") {
        let v: Value = serde_json::from_str(&std::fs::read_to_string(file).ok()?).ok()?;
        match (v.get("Records"), v.get("Events")) {
            (Some(Value::Array(r)), _) | (None, Some(Value::Array(r))) => {
                records.extend(r.iter().cloned())
            }
            _ => records.push(v),
        }
    }
    records.retain(|r| r.get("eventTime").is_some());
    objects.push((
        "AWSLogs/123456789012/CloudTrail/us-east-1/2026/11/28/123456789012_CloudTrail_us-east-1_20261128T0000Z_docs.json.gz".into(),
        json!({ "Records": records }).to_string().into_bytes(),
    ));

    let mut page = Vec::new();
    for block in files(&vpc_docs, ".txt")
        .iter()
        .filter(|p| p.to_string_lossy().contains("records-examples"))
    {
        for line in std::fs::read_to_string(block).ok()?.lines() {
            // The page's annotations (`...`, `#comments`) are not records.
            if !line.contains("...") && !line.contains('#') {
                page.extend_from_slice(line.as_bytes());
                page.push(b'\n');
            }
        }
    }
    objects.push((
        "AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/11/28/docs.log.gz".into(),
        page,
    ));
    for (i, file) in files(&vpc_elastic, ".log").into_iter().enumerate() {
        objects.push((
            format!("AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/11/28/elastic-{i}.log.gz"),
            std::fs::read(file).ok()?,
        ));
    }
    objects.push((
        "hosts/localhost/var/log/secure".into(),
        std::fs::read(auth).ok()?,
    ));
    Some(objects)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_published_log_sample_indexes_without_item_errors() {
    let Some(objects) = objects() else {
        eprintln!("skipped: ../shared/samples is not present");
        return;
    };
    let s = Scenario::new("log-samples", Delivery::Direct).await;
    let mut expected = 0;
    for (key, body) in &objects {
        let body = if key.ends_with(".gz") {
            gzip(body)
        } else {
            body.clone()
        };
        expected += expected_documents(key, &body);
        s.put(key, body).await;
    }

    let summary = s.run_pipeline("").await;

    assert_eq!(summary.rejected, 0, "{summary:?}");
    assert_eq!(summary.gave_up, 0, "{summary:?}");
    // Documentation examples reuse event ids: those are one document.
    assert_eq!(
        summary.indexed + summary.already_indexed,
        expected,
        "{summary:?}"
    );
    assert_eq!(s.opensearch().count().await, summary.indexed);
    assert_eq!(s.queue_depth().await, 0);
}
