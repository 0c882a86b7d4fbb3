//! The first path end to end: an S3 notification on SQS, a GuardDuty export
//! in S3, ECS documents in OpenSearch, and an empty queue afterwards.

use serde_json::json;
use siem_pipeline_tests::{Delivery, Scenario, at, fixture, gzip};

const GUARDDUTY_KEY: &str = "AWSLogs/123456789012/GuardDuty/us-east-1/2026/11/28/5f0c8a52-1b7e-4f5e-9a53-0c6f3a1d2b44.jsonl.gz";

fn guardduty_export() -> (Vec<u8>, usize) {
    let text = std::fs::read_to_string(fixture("guardduty/ec2-network.jsonl")).expect("fixture");
    let findings = text.lines().filter(|l| !l.trim().is_empty()).count();
    (gzip(text.as_bytes()), findings)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guardduty_export_travels_from_s3_notification_to_opensearch() {
    let s = Scenario::new("gd-direct", Delivery::Direct).await;
    let (object, findings) = guardduty_export();
    s.put(GUARDDUTY_KEY, object).await;

    let summary = s.run_pipeline("").await;

    assert_eq!(summary.indexed, findings as u64, "{summary:?}");
    let os = s.opensearch();
    assert_eq!(os.count().await, findings as u64);
    let brute = os
        .sources_where("rule.name", "UnauthorizedAccess:EC2/SSHBruteForce")
        .await;
    assert_eq!(brute.len(), 1);
    let doc = &brute[0];
    assert_eq!(at(doc, "event.kind"), "alert");
    assert_eq!(at(doc, "event.dataset"), "aws.guardduty");
    assert_eq!(at(doc, "cloud.provider"), "aws");
    assert_eq!(at(doc, "cloud.account.id"), "123456789012");
    assert_eq!(at(doc, "network.direction"), "inbound");
    assert_eq!(at(doc, "destination.port"), 22);
    assert!(
        at(doc, "source.ip")
            .as_str()
            .is_some_and(|ip| ip.starts_with("203.0.113."))
    );
    assert_eq!(
        at(doc, "aws.guardduty.type"),
        "UnauthorizedAccess:EC2/SSHBruteForce"
    );
    // Typed fields answer typed queries.
    let r = os
        .search(json!({"size": 0, "query": {"term": {"source.ip": "203.0.113.0/24"}}}))
        .await;
    assert!(at(&r, "hits.total.value").as_u64().unwrap_or(0) >= 1, "{r}");
    assert_eq!(
        s.queue_depth().await,
        0,
        "every message, the s3:TestEvent included, is deleted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_notification_delivered_again_creates_no_new_documents() {
    let s = Scenario::new("gd-redeliver", Delivery::Direct).await;
    let (object, findings) = guardduty_export();
    s.put(GUARDDUTY_KEY, object).await;
    let first = s.run_pipeline("").await;
    assert_eq!(first.indexed, findings as u64);

    // What S3 sent, sent again: as after a visibility timeout or a retry.
    let key = GUARDDUTY_KEY.replace('/', "%2F");
    s.send_raw(
        &json!({"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
            "s3": {"bucket": {"name": s.bucket}, "object": {"key": key}}}]})
        .to_string(),
    )
    .await;
    let second = s.run_pipeline("").await;

    assert_eq!(second.indexed, 0, "{second:?}");
    assert_eq!(second.already_indexed, findings as u64, "{second:?}");
    assert_eq!(s.opensearch().count().await, findings as u64);
    assert_eq!(s.queue_depth().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sns_wrapped_notifications_are_unwrapped() {
    let s = Scenario::new("gd-sns", Delivery::Sns).await;
    let (object, findings) = guardduty_export();
    s.put(GUARDDUTY_KEY, object).await;
    let summary = s.run_pipeline("").await;
    assert_eq!(summary.indexed, findings as u64, "{summary:?}");
    assert_eq!(s.queue_depth().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eventbridge_notifications_are_read() {
    let s = Scenario::new("gd-eb", Delivery::EventBridge).await;
    let events = s
        .stack
        .eventbridge_rule_to_queue(&s.bucket, &s.queue_arn)
        .await;
    let (object, findings) = guardduty_export();
    s.put(GUARDDUTY_KEY, object).await;
    let summary = s.run_pipeline("").await;
    assert_eq!(
        summary.indexed, findings as u64,
        "{summary:?} (rule {events})"
    );
    assert_eq!(s.queue_depth().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_that_is_not_a_notification_is_left_for_the_redrive_policy() {
    let s = Scenario::new("gd-garbage", Delivery::Direct).await;
    s.send_raw("this is not an S3 notification").await;
    let summary = s.run_pipeline("").await;
    assert_eq!(summary.indexed, 0);
    assert_eq!(
        s.queue_depth().await,
        1,
        "the message stays until the redrive policy moves it"
    );
}
