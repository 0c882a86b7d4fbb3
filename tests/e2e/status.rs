//! `siem-pipeline status` against the real stack: the screen an operator
//! reads, line by line.

use std::sync::Arc;

use siem_pipeline::telemetry::http::{Health, bind, serve};
use siem_pipeline_tests::{
    Delivery, QueueOptions, Scenario, fixture, gzip, pipeline_binary, unique,
};

const KEY: &str = "AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/11/28/123456789012_vpcflowlogs_us-east-1_fl-0a1b2c3d4e5f60718_20261128T0700Z_5e6f7a8b.log.gz";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_the_queues_the_task_the_indices_and_the_newest_dead_letter() {
    let s = Scenario::with_queue(
        "status",
        Delivery::Direct,
        QueueOptions {
            max_receive_count: Some(3),
            ..QueueOptions::default()
        },
    )
    .await;
    let mut log = std::fs::read_to_string(fixture("vpcflow/v2-default.log")).expect("fixture");
    let records = log.lines().count() - 1;
    log.push_str("2 123456789012 eni-0a1b2c3d4e5f60718 not-an-address\n");
    s.put(KEY, gzip(log.as_bytes())).await;
    let letters = std::env::temp_dir().join(unique("status-letters"));
    let dead_letter = format!(
        "[dead_letter]\ndirectory = {:?}",
        letters.display().to_string()
    );
    let summary = s.run_pipeline(&dead_letter).await;
    assert_eq!(summary.indexed as usize, records, "{summary:?}");
    // Counts are of what searches see (indices refresh every few seconds).
    s.opensearch().refresh().await;
    // Two messages nobody has read yet.
    s.send_raw("{}").await;
    s.send_raw("{}").await;
    // This process's metrics stand for a running task's.
    let listener = bind("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("bind");
    let metrics = format!("http://{}/metrics", listener.local_addr().expect("addr"));
    tokio::spawn(serve(listener, Arc::new(Health::default())));
    let config = letters.with_extension("toml");
    std::fs::write(&config, s.config_text(&dead_letter)).expect("config");

    let out = tokio::process::Command::new(pipeline_binary())
        .args([
            "status",
            "--sample-secs",
            "1",
            "--metrics",
            &metrics,
            "--config",
        ])
        .arg(&config)
        .output()
        .await
        .expect("status runs");
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{screen}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = screen.lines().collect();
    let queue = s.queue_url.rsplit('/').next().expect("name");
    assert_eq!(
        lines[0],
        format!("queue {queue}: 2 visible, 0 in flight, 0 delayed"),
        "{screen}"
    );
    assert_eq!(
        lines[1],
        format!("  dead-letter queue {queue}-dlq: 0 message(s)"),
        "{screen}"
    );
    // The rates and what is in flight are this test process's, where other
    // tests run at the same time: their shape is checked, not their values.
    let task = lines[2]
        .strip_prefix(&format!("task {metrics}, over 1s: "))
        .unwrap_or_else(|| panic!("{screen}"));
    let rates: Vec<&str> = task.split(", ").collect();
    assert_eq!(rates.len(), 4, "{screen}");
    for (rate, unit) in
        rates
            .iter()
            .zip(["records/s", "indexed/s", "item errors/s", "dead letters/s"])
    {
        let (value, u) = rate.split_once(' ').unwrap_or_else(|| panic!("{screen}"));
        assert!(
            value.parse::<f64>().is_ok() && u == unit,
            "{rate}: {screen}"
        );
    }
    assert!(
        lines[3].starts_with("  in flight: ")
            && lines[3].contains(" message(s), ")
            && lines[3].contains(" object(s), ")
            && lines[3].ends_with("; OpenSearch available"),
        "{screen}"
    );
    assert_eq!(
        lines[4],
        format!("indices {}-*:", s.index_prefix),
        "{screen}"
    );
    let vpcflow: Vec<&str> = lines
        .iter()
        .find(|l| l.trim_start().starts_with("vpcflow "))
        .unwrap_or_else(|| panic!("no vpcflow row: {screen}"))
        .split_whitespace()
        .collect();
    assert_eq!(
        vpcflow[..3],
        ["vpcflow", "1", &records.to_string()],
        "{screen}"
    );
    let dead = lines
        .iter()
        .position(|l| l.starts_with("dead letters "))
        .unwrap_or_else(|| panic!("no dead letters: {screen}"));
    assert!(
        lines[dead].ends_with(": 1 newest of the latest day's 1 file(s)"),
        "{screen}"
    );
    assert!(
        lines[dead + 1].contains(" vpcflow ")
            && lines[dead + 1].ends_with(&format!("(s3://{}/{KEY}#{})", s.bucket, records + 1)),
        "{screen}"
    );
    let _ = std::fs::remove_dir_all(letters);
    let _ = std::fs::remove_file(config);
}
