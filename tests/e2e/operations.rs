//! What operators see: the metrics endpoint and the health endpoints, scraped
//! while the pipeline works.

use std::sync::Arc;

use siem_pipeline::telemetry::http::{Health, bind, serve};
use siem_pipeline_tests::{Delivery, Scenario, guardduty_findings, gzip};
use tokio_util::sync::CancellationToken;

/// Every series of `name` in a Prometheus text exposition, as label sets.
fn series<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.strip_prefix(name))
        .filter_map(|rest| {
            rest.strip_prefix('{')
                .and_then(|r| r.split_once('}'))
                .map(|(labels, _)| labels)
                .or(rest.starts_with(' ').then_some(""))
        })
        .collect()
}

fn label_names(labels: &str) -> Vec<&str> {
    let mut names: Vec<&str> = labels
        .split(',')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, _)| k)
        .collect();
    names.sort_unstable();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_and_health_endpoints_answer_with_the_documented_names_and_labels() {
    let s = Scenario::new("metrics", Delivery::Direct).await;
    s.put(
        "AWSLogs/123456789012/GuardDuty/us-east-1/2026/11/28/metrics.jsonl.gz",
        gzip(guardduty_findings(20, "2026-11", "m").as_bytes()),
    )
    .await;
    let health = Arc::new(Health::default());
    let listener = bind("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(serve(listener, health.clone()));
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let get = |path: &str| {
        let http = http.clone();
        let url = format!("http://{addr}{path}");
        async move {
            let r = http.get(url).send().await.expect("answers");
            (r.status().as_u16(), r.text().await.unwrap_or_default())
        }
    };
    assert_eq!(get("/readyz").await.0, 503, "not ready before start-up");

    let mut pipeline = s.pipeline("").await;
    pipeline.health = health.clone();
    health.set_ready(true);
    pipeline.run(CancellationToken::new()).await.expect("runs");

    assert_eq!(get("/healthz").await.0, 200);
    assert_eq!(get("/readyz").await.0, 200);
    let (status, text) = get("/metrics").await;
    assert_eq!(status, 200);
    let expect = |name: &str, labels: &[&str]| {
        let found = series(&text, name);
        assert!(!found.is_empty(), "{name} is missing");
        for l in &found {
            assert_eq!(label_names(l), labels, "{name}{{{l}}}");
        }
    };
    expect("siem_sqs_messages_received_total", &[]);
    expect("siem_sqs_messages_deleted_total", &[]);
    expect("siem_s3_objects_total", &["log_type", "outcome"]);
    expect("siem_s3_object_bytes_total", &["log_type"]);
    expect("siem_decompressed_bytes_total", &["log_type"]);
    expect("siem_records_total", &["log_type", "outcome"]);
    expect("siem_bulk_requests_total", &["outcome"]);
    expect("siem_bulk_items_total", &["status"]);
    expect(
        "siem_bulk_request_duration_seconds_bucket",
        &["le", "outcome"],
    );
    expect("siem_message_lag_seconds_bucket", &["le"]);
    expect("siem_sqs_queue_messages", &["state"]);
    expect("siem_messages_in_flight", &[]);
    expect("siem_objects_in_flight", &[]);
    expect("siem_bytes_in_flight", &[]);
    assert!(
        text.contains("siem_records_total{log_type=\"guardduty\",outcome=\"indexed\"}"),
        "{text}"
    );
    assert!(text.contains("siem_s3_objects_total{log_type=\"guardduty\",outcome=\"ok\"}"));
}
