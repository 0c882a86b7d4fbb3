//! Delivery guarantees against the real stack: every record is indexed
//! exactly once (by `_id`) or sits in the dead-letter store with its reason;
//! a message is deleted only when that holds.

use std::sync::Arc;

use futures::future::BoxFuture;
use serde_json::{Value, json};
use siem_pipeline::source::{ObjectBody, ObjectError, ObjectRef, ObjectStore};
use siem_pipeline::telemetry::METRICS;
use siem_pipeline_tests::proxy::FaultProxy;
use siem_pipeline_tests::{
    Delivery, QueueOptions, Scenario, at, dead_letters, guardduty_findings, gzip, unique,
};
use tokio_util::sync::CancellationToken;

const KEY: &str = "AWSLogs/123456789012/GuardDuty/us-east-1/2026/11/28/delivery.jsonl.gz";

fn dead_letter_dir() -> std::path::PathBuf {
    std::env::temp_dir().join(unique("siem-dead-letters"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_requests_and_items_are_retried_until_every_record_is_indexed() {
    let s = Scenario::new("faults", Delivery::Direct).await;
    let proxy = FaultProxy::start(&s.stack.opensearch_url, 3, 7).await;
    s.put(
        KEY,
        gzip(guardduty_findings(500, "2026-11", "f").as_bytes()),
    )
    .await;
    let retries_before = METRICS.bulk_retries.with_label_values(&["item"]).get()
        + METRICS.bulk_retries.with_label_values(&["request"]).get();

    let mut pipeline = s.pipeline("").await;
    pipeline.config.bulk.max_documents = 50;
    pipeline.config.bulk.max_backoff = std::time::Duration::from_millis(200);
    pipeline.config.bulk.max_retries = 30;
    pipeline.opensearch = Arc::new(
        siem_pipeline::sink::OpenSearch::new(
            &siem_pipeline::config::OpenSearchConfig {
                url: proxy.url.clone(),
                ..pipeline.config.opensearch.clone()
            },
            None,
        )
        .expect("client for the proxy"),
    );
    let summary = pipeline.run(CancellationToken::new()).await.expect("runs");

    let injected_requests = proxy
        .counters
        .rejected_requests
        .load(std::sync::atomic::Ordering::Relaxed);
    let injected_items = proxy
        .counters
        .rejected_items
        .load(std::sync::atomic::Ordering::Relaxed);
    eprintln!(
        "records 500, requests refused {injected_requests}, items refused {injected_items}, {summary:?}"
    );
    assert!(
        injected_requests > 0 && injected_items > 0,
        "the proxy injected faults"
    );
    assert_eq!(summary.indexed, 500, "{summary:?}");
    assert_eq!(summary.rejected + summary.gave_up, 0, "{summary:?}");
    assert_eq!(s.opensearch().count().await, 500);
    assert_eq!(s.queue_depth().await, 0);
    let retries = METRICS.bulk_retries.with_label_values(&["item"]).get()
        + METRICS.bulk_retries.with_label_values(&["request"]).get()
        - retries_before;
    assert!(
        retries >= injected_requests + injected_items,
        "retries are counted: {retries}"
    );
}

/// October's GuardDuty index with a mapping the documents contradict, as
/// after a hand-made change: `rule.category` is a number there. Its name.
async fn contradicting_october_index(s: &Scenario) -> String {
    let october = format!("{}-guardduty-2026.10", s.index_prefix);
    let r = reqwest::Client::new()
        .put(format!("{}/{october}", s.stack.opensearch_url))
        .json(&json!({"mappings": {"properties": {"rule": {"properties": {"category": {"type": "long"}}}}}}))
        .send()
        .await
        .expect("create index");
    assert!(r.status().is_success(), "{:?}", r.text().await);
    october
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_that_can_never_index_is_dead_lettered_and_the_rest_indexed() {
    let s = Scenario::new("conflict", Delivery::Direct).await;
    let october = contradicting_october_index(&s).await;
    let mut export = guardduty_findings(9, "2026-11", "ok");
    let bad = guardduty_findings(1, "2026-10", "bad");
    export.push_str(&bad);
    s.put(KEY, gzip(export.as_bytes())).await;
    let dir = dead_letter_dir();

    let summary = s
        .run_pipeline(&format!(
            "[dead_letter]\ndirectory = {:?}",
            dir.display().to_string()
        ))
        .await;

    assert_eq!(summary.indexed, 9, "{summary:?}");
    assert_eq!(summary.rejected, 1, "{summary:?}");
    let letters = dead_letters(&dir);
    assert_eq!(letters.len(), 1, "{letters:?}");
    let letter = &letters[0];
    assert_eq!(letter["status"], 400);
    assert_eq!(letter["error_type"], "mapper_parsing_exception");
    assert!(
        letter["reason"]
            .as_str()
            .is_some_and(|r| r.contains("rule.category")),
        "{letter}"
    );
    assert_eq!(letter["index"], october);
    assert_eq!(letter["bucket"], s.bucket);
    assert_eq!(letter["key"], KEY);
    assert_eq!(letter["ordinal"], 9);
    let original: Value = serde_json::from_str(bad.trim_end()).expect("the finding is JSON");
    assert_eq!(
        letter["record"], original,
        "the letter keeps the record as read, not the document made of it"
    );
    assert_eq!(
        s.queue_depth().await,
        0,
        "the message is deleted once the dead letter is written"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_records_are_counted_and_dead_lettered_and_the_rest_indexed() {
    let s = Scenario::new("bad-data", Delivery::Direct).await;
    let good = guardduty_findings(3, "2026-11", "g");
    let mut lines: Vec<Vec<u8>> = good.lines().map(|l| l.as_bytes().to_vec()).collect();
    lines.insert(1, b"{\"id\": \"truncated".to_vec()); // invalid JSON
    lines.insert(2, b"{\"id\": \"\xff\xfe\"}".to_vec()); // not UTF-8
    lines.insert(
        3,
        format!("{{\"padding\": \"{}\"}}", "x".repeat(4096)).into_bytes(),
    ); // over-long
    let object = lines.join(&b'\n');
    s.put(KEY, gzip(&object)).await;
    let dir = dead_letter_dir();

    let summary = s
        .run_pipeline(&format!(
            "[dead_letter]\ndirectory = {:?}\n[pipeline]\nmax_record_bytes = 2048",
            dir.display().to_string()
        ))
        .await;

    assert_eq!(summary.indexed, 3, "{summary:?}");
    let letters = dead_letters(&dir);
    let kinds: Vec<&str> = letters
        .iter()
        .filter_map(|l| l["error_type"].as_str())
        .collect();
    assert_eq!(
        kinds,
        ["invalid_json", "invalid_utf8", "too_long"],
        "{letters:?}"
    );
    assert_eq!(letters[0]["record"], "{\"id\": \"truncated");
    assert_eq!(letters[1]["record_base64"], "eyJpZCI6ICL//iJ9");
    assert_eq!(letters[2]["ordinal"], 3);
    // Too long to keep: the letter says where it lies in the object.
    let start = object
        .windows(12)
        .position(|w| w == b"{\"padding\": ")
        .expect("the long line");
    assert_eq!(
        letters[2]["record_location"]["decompressed_offset"], start as u64,
        "{}",
        letters[2]
    );
    assert!(
        letters[2]["record_location"]["length"]
            .as_u64()
            .is_some_and(|n| n >= 4096 + 15),
        "{}",
        letters[2]
    );
    // Kept whole, byte for byte, beside the batch of letters.
    let record_object = letters[2]["record_object"]
        .as_str()
        .expect("the letter names its record");
    let stored = std::fs::read(dir.join(record_object)).expect("the record beside its letter");
    assert_eq!(stored, lines[3], "the record as it was in the object");
    assert!(
        METRICS
            .records
            .with_label_values(&["guardduty", "invalid_json"])
            .get()
            >= 1
    );
    assert!(
        METRICS
            .records
            .with_label_values(&["guardduty", "too_long"])
            .get()
            >= 1
    );
    assert_eq!(s.queue_depth().await, 0);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_object_indexes_what_it_can_and_keeps_its_message() {
    let s = Scenario::new("truncated", Delivery::Direct).await;
    let export = guardduty_findings(2000, "2026-11", "t");
    let compressed = gzip(export.as_bytes());
    s.put(KEY, compressed[..compressed.len() / 2].to_vec())
        .await;

    let summary = s.run_pipeline("").await;

    assert!(summary.indexed > 0 && summary.indexed < 2000, "{summary:?}");
    assert_eq!(s.opensearch().count().await, summary.indexed);
    assert_eq!(
        s.queue_depth().await,
        1,
        "the rest of the object is unread: the message returns, and after maxReceiveCount the redrive policy moves it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decompression_bomb_is_stopped() {
    let s = Scenario::new("bomb", Delivery::Direct).await;
    let bomb = gzip(&vec![b' '; 64 << 20]);
    s.put(KEY, bomb).await;
    let before = METRICS
        .objects
        .with_label_values(&["guardduty", "truncated"])
        .get();

    let summary = s
        .run_pipeline("[pipeline]\nmax_object_bytes = 8388608")
        .await;

    assert_eq!(summary.indexed, 0);
    assert_eq!(
        METRICS
            .objects
            .with_label_values(&["guardduty", "truncated"])
            .get(),
        before + 1
    );
    assert_eq!(
        s.queue_depth().await,
        1,
        "the message stays for the redrive policy"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_for_a_missing_object_is_deleted_and_counted() {
    let s = Scenario::new("missing", Delivery::Direct).await;
    s.send_raw(
        &json!({"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": s.bucket},
            "object": {"key": "AWSLogs/123456789012/GuardDuty/us-east-1/2026/11/28/gone.jsonl.gz"}}}]})
        .to_string(),
    )
    .await;
    let before = METRICS
        .objects
        .with_label_values(&["guardduty", "not_found"])
        .get();

    s.run_pipeline("").await;

    assert_eq!(
        METRICS
            .objects
            .with_label_values(&["guardduty", "not_found"])
            .get(),
        before + 1
    );
    assert_eq!(s.queue_depth().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_for_a_missing_bucket_is_not_an_object_gone_and_keeps_its_message() {
    let s = Scenario::new("no-bucket", Delivery::Direct).await;
    let bucket = unique("no-such-bucket");
    s.send_raw(
        &json!({"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": bucket},
            "object": {"key": "AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/11/28/x.log.gz"}}}]})
        .to_string(),
    )
    .await;
    // Counters are shared by the tests running at the same time: a log type
    // no other test reads a missing object of (the test of a missing object
    // counts GuardDuty's).
    let gone = METRICS
        .objects
        .with_label_values(&["vpcflow", "not_found"])
        .get();
    let other = METRICS
        .objects
        .with_label_values(&["vpcflow", "other"])
        .get();

    s.run_pipeline("").await;

    assert_eq!(
        METRICS
            .objects
            .with_label_values(&["vpcflow", "not_found"])
            .get(),
        gone
    );
    assert!(
        METRICS
            .objects
            .with_label_values(&["vpcflow", "other"])
            .get()
            > other
    );
    assert_eq!(
        s.queue_depth().await,
        1,
        "the message stays: the object may well exist"
    );
}

/// S3 as a user's bucket policy or KMS key makes it: every read denied.
struct DeniedStore;

impl ObjectStore for DeniedStore {
    fn get(&self, object: &ObjectRef) -> BoxFuture<'_, Result<ObjectBody, ObjectError>> {
        let (bucket, key) = (object.bucket.clone(), object.key.clone());
        Box::pin(async move {
            Err(ObjectError::AccessDenied {
                bucket,
                key,
                message: "AccessDenied: the KMS key policy denies kms:Decrypt".into(),
            })
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_that_may_not_be_read_reaches_the_dead_letter_queue_through_the_redrive_policy() {
    let s = Scenario::with_queue(
        "denied",
        Delivery::Direct,
        QueueOptions {
            visibility_timeout_secs: 1,
            max_receive_count: Some(2),
        },
    )
    .await;
    s.put(KEY, gzip(guardduty_findings(1, "2026-11", "d").as_bytes()))
        .await;
    let before = METRICS
        .objects
        .with_label_values(&["guardduty", "access_denied"])
        .get();

    // Moto does not enforce IAM; the denial comes from the store, the redrive
    // from the real queue.
    let mut pipeline = s.pipeline("").await;
    pipeline.store = Arc::new(DeniedStore);
    pipeline.config.sqs.exit_after_empty_receives = Some(4);
    pipeline.run(CancellationToken::new()).await.expect("runs");

    assert!(
        METRICS
            .objects
            .with_label_values(&["guardduty", "access_denied"])
            .get()
            >= before + 2
    );
    assert_eq!(s.queue_depth().await, 0);
    assert_eq!(s.dead_letter_queue_depth().await, 1);
}

/// Sets index settings on the local node.
async fn index_settings(s: &Scenario, index: &str, settings: Value) {
    let http = reqwest::Client::new();
    let url = &s.stack.opensearch_url;
    let _ = http
        .put(format!("{url}/{index}"))
        .send()
        .await
        .expect("create index");
    let r = http
        .put(format!("{url}/{index}/_settings"))
        .json(&settings)
        .send()
        .await
        .expect("index settings");
    assert!(r.status().is_success(), "{:?}", r.text().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_blocked_index_is_not_a_bad_document_the_message_waits_and_everything_indexes_once_lifted()
 {
    let s = Scenario::with_queue(
        "blocked",
        Delivery::Direct,
        QueueOptions {
            visibility_timeout_secs: 2,
            max_receive_count: None,
        },
    )
    .await;
    s.put(KEY, gzip(guardduty_findings(5, "2026-11", "w").as_bytes()))
        .await;
    let dir = dead_letter_dir();
    let extra = format!("[dead_letter]\ndirectory = {:?}", dir.display().to_string());
    let mut pipeline = s.pipeline(&extra).await;
    pipeline.config.bulk.max_retries = 2;
    pipeline.config.bulk.max_backoff = std::time::Duration::from_millis(100);
    // As a full disk or an operator's block does it: the index refuses writes.
    let index = format!("{}-guardduty-2026.11", s.index_prefix);
    index_settings(&s, &index, json!({"index.blocks.write": true})).await;

    let summary = pipeline.run(CancellationToken::new()).await.expect("runs");

    assert_eq!((summary.indexed, summary.rejected), (0, 0), "{summary:?}");
    assert!(summary.gave_up >= 5, "{summary:?}");
    assert!(
        dead_letters(&dir).is_empty(),
        "a blocked index is not a bad document"
    );
    assert_eq!(s.queue_depth().await, 1, "the message waits on the queue");

    index_settings(&s, &index, json!({"index.blocks.write": null})).await;
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let summary = s.run_pipeline(&extra).await;

    assert_eq!(summary.indexed, 5, "{summary:?}");
    assert_eq!(s.opensearch().count().await, 5);
    assert_eq!(s.queue_depth().await, 0);
    assert!(dead_letters(&dir).is_empty());
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_time_far_from_its_object_goes_to_the_index_of_the_objects_time_flagged() {
    use chrono::Datelike;
    let s = Scenario::new("time-window", Delivery::Direct).await;
    let mut export = guardduty_findings(2, "2026-11", "ok");
    export.push_str(&guardduty_findings(1, "1975-03", "old"));
    s.put(KEY, gzip(export.as_bytes())).await;

    let summary = s.run_pipeline("").await;

    assert_eq!(summary.indexed, 3, "{summary:?}");
    let hits = s
        .opensearch()
        .search(json!({"size": 10, "query": {"match_all": {}}, "_source": ["aws.guardduty.id", "siem", "@timestamp"]}))
        .await;
    let hits = hits["hits"]["hits"].as_array().cloned().unwrap_or_default();
    assert_eq!(hits.len(), 3);
    let now = chrono::Utc::now();
    let this_month = format!(
        "{}-guardduty-{:04}.{:02}",
        s.index_prefix,
        now.year(),
        now.month()
    );
    for hit in &hits {
        let old = at(&hit["_source"], "aws.guardduty.id")
            .as_str()
            .is_some_and(|id| id.starts_with("old"));
        if old {
            assert_eq!(
                hit["_index"], this_month,
                "the object's time picks the index: {hit}"
            );
            assert_eq!(
                at(&hit["_source"], "siem.timestamp_out_of_range"),
                true,
                "{hit}"
            );
            assert!(
                at(&hit["_source"], "@timestamp")
                    .as_str()
                    .is_some_and(|t| t.starts_with("1975-03")),
                "{hit}"
            );
        } else {
            assert_eq!(
                hit["_index"],
                format!("{}-guardduty-2026.11", s.index_prefix),
                "{hit}"
            );
            assert!(
                at(&hit["_source"], "siem.timestamp_out_of_range").is_null(),
                "{hit}"
            );
        }
    }
}

/// Runs `siem-pipeline redrive` with the scenario's configuration.
fn redrive_command(s: &Scenario, extra: &str) -> (bool, String) {
    let config = std::env::temp_dir().join(format!("{}-redrive.toml", s.index_prefix));
    std::fs::write(&config, s.config_text(extra)).expect("write config");
    let out = std::process::Command::new(siem_pipeline_tests::pipeline_binary())
        .args(["redrive", "--config"])
        .arg(&config)
        .output()
        .expect("redrive runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    eprintln!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    (out.status.success(), stdout)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_redriven_after_a_fix_are_indexed_once_and_a_second_redrive_adds_nothing() {
    let s = Scenario::new("redrive", Delivery::Direct).await;
    let october = contradicting_october_index(&s).await;
    let http = reqwest::Client::new();
    let mut export = guardduty_findings(9, "2026-11", "ok");
    export.push_str(&guardduty_findings(1, "2026-10", "bad"));
    s.put(KEY, gzip(export.as_bytes())).await;
    let dir = dead_letter_dir();
    let extra = format!("[dead_letter]\ndirectory = {:?}", dir.display().to_string());
    let summary = s.run_pipeline(&extra).await;
    assert_eq!((summary.indexed, summary.rejected), (9, 1), "{summary:?}");

    // The fix: the hand-made index goes; the template's mapping applies again.
    let r = http
        .delete(format!("{}/{october}", s.stack.opensearch_url))
        .send()
        .await
        .expect("delete");
    assert!(r.status().is_success());
    let (ok, out) = redrive_command(&s, &extra);
    assert!(ok, "{out}");
    assert!(
        out.contains("1 letter(s): 1 indexed, 0 already indexed"),
        "{out}"
    );
    assert_eq!(s.opensearch().count().await, 10);
    let found = s
        .opensearch()
        .sources_where("aws.guardduty.id", "bad00000000")
        .await;
    assert_eq!(found.len(), 1, "the redriven finding is searchable");

    let (ok, out) = redrive_command(&s, &extra);
    assert!(ok, "{out}");
    assert!(out.contains("0 indexed, 1 already indexed"), "{out}");
    assert_eq!(
        s.opensearch().count().await,
        10,
        "a second redrive adds nothing"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_over_the_limit_is_stored_whole_in_an_s3_store_and_redriven_from_there() {
    let s = Scenario::new("long-record", Delivery::Direct).await;
    let s3 = s.stack.s3().await;
    // Letters go to a bucket of their own: the source bucket's notifications
    // would hand them back to the pipeline.
    let letters_bucket = unique("siem-letters");
    s3.create_bucket()
        .bucket(&letters_bucket)
        .send()
        .await
        .expect("create bucket");
    let finding = guardduty_findings(1, "2026-11", "long");
    let long = finding.trim_end().replacen(
        '{',
        &format!("{{\"padding\":\"{}\",", "x".repeat(20 << 10)),
        1,
    );
    let object = format!("{}{long}\n", guardduty_findings(2, "2026-11", "ok"));
    s.put(KEY, gzip(object.as_bytes())).await;
    let store = format!("[dead_letter]\ns3_url = \"s3://{letters_bucket}/letters/\"\n");

    let summary = s
        .run_pipeline(&format!("{store}[pipeline]\nmax_record_bytes = 8192"))
        .await;

    assert_eq!(summary.indexed, 2, "{summary:?}");
    assert_eq!(
        s.queue_depth().await,
        0,
        "the message is deleted once the record is stored"
    );
    let listed = s3
        .list_objects_v2()
        .bucket(&letters_bucket)
        .prefix("letters/")
        .send()
        .await
        .expect("list");
    let mut keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    keys.sort();
    assert_eq!(
        keys.len(),
        2,
        "a batch of letters and the record beside it: {keys:?}"
    );
    let get = |key: String| {
        let s3 = s3.clone();
        let bucket = letters_bucket.clone();
        async move {
            let out = s3
                .get_object()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .expect("get");
            out.body
                .collect()
                .await
                .expect("body")
                .into_bytes()
                .to_vec()
        }
    };
    let batch = keys
        .iter()
        .find(|k| k.ends_with(".ndjson"))
        .expect("a batch");
    let letter: Value = serde_json::from_slice(&get(batch.to_string()).await).expect("one letter");
    assert_eq!(letter["error_type"], "too_long");
    assert_eq!(letter["ordinal"], 2);
    let record_object = letter["record_object"]
        .as_str()
        .expect("the letter names its record");
    let stored = get(format!("letters/{record_object}")).await;
    assert_eq!(
        stored,
        long.as_bytes(),
        "the record byte for byte, as it was in the object"
    );

    // After the fix (a larger limit), a redrive reads the record from the store.
    let (ok, out) = redrive_command(
        &s,
        &format!("{store}[pipeline]\nmax_record_bytes = 1048576"),
    );
    assert!(ok, "{out}");
    assert!(out.contains("1 letter(s): 1 indexed"), "{out}");
    let found = s
        .opensearch()
        .sources_where("aws.guardduty.id", "long00000000")
        .await;
    assert_eq!(found.len(), 1, "the long finding is searchable");
}
