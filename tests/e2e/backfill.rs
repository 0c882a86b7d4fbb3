//! Backfill against the real stack: the objects already in a bucket, read
//! through the service's path, with its ids; interrupted and resumed from
//! its checkpoint; run twice without duplicates.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use siem_pipeline::backfill::{Checkpoint, ListingQueue, Scope};
use siem_pipeline_tests::{Delivery, Scenario, gzip, pipeline_binary, unique};
use tokio_util::sync::CancellationToken;

const RECORDS_PER_OBJECT: u64 = 4;

fn flow_key(day: u32, n: u32) -> String {
    format!(
        "AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/11/{day:02}/\
         123456789012_vpcflowlogs_us-east-1_fl-0a1b2c3d_202611{day:02}T0000Z_{n}.log.gz"
    )
}

fn flows(day: u32, n: u32) -> Vec<u8> {
    let mut text = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n".to_owned();
    for i in 0..RECORDS_PER_OBJECT {
        let start = 1_793_577_600 + u64::from(day) * 86_400 + u64::from(n) * 60 + i;
        text.push_str(&format!(
            "2 123456789012 eni-0a1b2c3d4e5f60718 10.0.1.{n} 203.0.113.{i} {} 443 6 3 180 {start} {} ACCEPT OK\n",
            40000 + i,
            start + 60
        ));
    }
    gzip(text.as_bytes())
}

/// Six flow log objects on 1–3 November, one on the 5th, and one no log type takes.
async fn bucket_with_history() -> Scenario {
    let s = Scenario::new("backfill", Delivery::Direct).await;
    for day in 1..=3 {
        for n in 0..2 {
            s.put(&flow_key(day, n), flows(day, n)).await;
        }
    }
    s.put(&flow_key(5, 0), flows(5, 0)).await;
    s.put(
        "AWSLogs/123456789012/unknown-service/2026/11/02/x.gz",
        gzip(b"?"),
    )
    .await;
    s
}

fn backfill(s: &Scenario, args: &[&str]) -> (i32, String, String) {
    let dir = std::env::temp_dir().join(unique("backfill-config"));
    std::fs::create_dir_all(&dir).expect("dir");
    let config = dir.join("siem.toml");
    std::fs::write(&config, s.config_text("")).expect("config");
    let out = Command::new(pipeline_binary())
        .arg("backfill")
        .arg("--config")
        .arg(&config)
        .args(args)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .current_dir(&dir)
        .output()
        .expect("siem-pipeline runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_reads_the_objects_of_its_dates_once_and_a_second_run_adds_nothing() {
    let s = bucket_with_history().await;
    let url = format!("s3://{}/AWSLogs/", s.bucket);
    let checkpoint = std::env::temp_dir().join(unique("backfill-checkpoint"));
    let checkpoint = checkpoint.to_string_lossy().into_owned();
    let args = [
        url.as_str(),
        "--since",
        "2026-11-01",
        "--until",
        "2026-11-03",
        "--checkpoint",
        checkpoint.as_str(),
    ];

    let (code, out, err) = backfill(&s, &[&args[..], &["--dry-run"]].concat());
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(&format!(
            "{url}: 6 object(s) to read, 1.30 KiB (vpcflow 6); skipped: 1 unrouted, 0 of another log type, 1 outside the dates"
        )),
        "{out}"
    );
    assert_eq!(s.opensearch().count().await, 0, "a dry run reads nothing");

    let (code, out, err) = backfill(&s, &args);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("6 object(s) in ")
            && out.contains(
                ": 24 indexed, 0 already indexed, 0 dead-lettered, 0 object(s) not finished"
            ),
        "{out}"
    );
    assert_eq!(s.opensearch().count().await, 6 * RECORDS_PER_OBJECT);
    assert!(
        !std::path::Path::new(&checkpoint).exists(),
        "a finished backfill leaves no checkpoint"
    );

    // Again, as if the live service or another backfill had read them first.
    let (code, out, err) = backfill(&s, &args);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(": 0 indexed, 24 already indexed"), "{out}");
    assert_eq!(s.opensearch().count().await, 6 * RECORDS_PER_OBJECT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_backfill_resumes_where_it_stopped_without_reading_an_object_twice() {
    let s = bucket_with_history().await;
    let path = std::env::temp_dir().join(unique("backfill-resume"));
    let scope = Scope {
        bucket: s.bucket.clone(),
        prefix: "AWSLogs/".into(),
        since: None,
        until: chrono::NaiveDate::from_ymd_opt(2026, 11, 3),
        log_type: Some("vpcflow"),
    };
    let run = |stop_after: Option<u64>| {
        let (s, scope, path) = (&s, scope.clone(), path.clone());
        async move {
            let mut pipeline = s.pipeline("[s3]\nmax_concurrent_objects = 1").await;
            pipeline.config.sqs.exit_after_empty_receives = Some(1);
            pipeline.config.sqs.visibility_timeout = Some(Duration::from_secs(60));
            let queue = Arc::new(
                ListingQueue::new(
                    Arc::new(s.stack.s3().await),
                    scope,
                    Arc::new(Checkpoint::open(&path).expect("checkpoint")),
                )
                .with_batch(1),
            );
            pipeline.queue = queue.clone();
            let shutdown = CancellationToken::new();
            if let Some(n) = stop_after {
                // Ctrl-C once `n` objects are under way.
                let (progress, shutdown) = (queue.progress.clone(), shutdown.clone());
                tokio::spawn(async move {
                    while progress.objects_handed.load(Ordering::Relaxed) < n {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    shutdown.cancel();
                });
            }
            let summary = tokio::time::timeout(Duration::from_secs(120), pipeline.run(shutdown))
                .await
                .expect("the backfill ends")
                .expect("the backfill runs");
            (summary, queue)
        }
    };

    let (first, queue) = run(Some(2)).await;
    let done_first = queue.progress.objects_done.load(Ordering::Relaxed);
    assert!((2..6).contains(&done_first), "stopped early: {done_first}");
    assert!(
        queue.unfinished().is_empty(),
        "objects under way were finished"
    );
    assert_eq!(first.indexed, done_first * RECORDS_PER_OBJECT);

    let (second, queue) = run(None).await;
    assert_eq!(
        queue.progress.objects_handed.load(Ordering::Relaxed),
        6 - done_first,
        "only what the first run did not finish"
    );
    assert_eq!(second.already_indexed, 0, "no object read twice");
    assert_eq!(second.indexed, (6 - done_first) * RECORDS_PER_OBJECT);
    assert_eq!(s.opensearch().count().await, 6 * RECORDS_PER_OBJECT);
    let _ = std::fs::remove_file(path);
}
