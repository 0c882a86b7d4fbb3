//! Tests that stop OpenSearch or kill the pipeline in the middle of its work.
//! They live in their own test binary, which cargo runs after (never beside)
//! the other end-to-end tests, and they take a lock so that they also run
//! one at a time among themselves.

use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use siem_pipeline_tests::{Delivery, QueueOptions, Scenario, gzip, guardduty_findings, pipeline_binary, repo_root};
use tokio_util::sync::CancellationToken;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

const KEY: &str = "AWSLogs/123456789012/GuardDuty/us-east-1/2026/11/28/large.jsonl.gz";

fn stack(command: &str) {
    let status = Command::new(repo_root().join("deploy/local/stack"))
        .arg(command)
        .stdout(Stdio::null())
        .status()
        .expect("stack script runs");
    assert!(status.success(), "deploy/local/stack {command} failed");
}

/// Waits until OpenSearch holds at least one of the scenario's documents.
async fn wait_for_first_documents(s: &Scenario) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let n = s.opensearch().count().await;
        if n > 0 {
            return n;
        }
        assert!(Instant::now() < deadline, "no document was indexed within 90 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Starts the binary as ECS would, with the scenario's configuration.
fn spawn_binary(s: &Scenario, extra: &str) -> Child {
    let config = std::env::temp_dir().join(format!("{}.toml", s.index_prefix));
    let mut text = String::new();
    let base = s.config_text(extra);
    text.push_str(&base);
    std::fs::write(&config, text).expect("write config");
    Command::new(pipeline_binary())
        .args(["run", "--config"])
        .arg(&config)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("pipeline starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(clippy::await_holding_lock, reason = "ONE_AT_A_TIME serializes whole tests, each on its own runtime")]
async fn opensearch_stopped_and_started_mid_run_loses_nothing_and_duplicates_nothing() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    const RECORDS: u64 = 30_000;
    let s = Scenario::new("os-restart", Delivery::Direct).await;
    s.put(KEY, gzip(guardduty_findings(RECORDS as usize, "2026-11", "r").as_bytes())).await;
    let mut pipeline = s.pipeline("").await;
    pipeline.config.bulk.max_documents = 200;
    pipeline.config.bulk.concurrency = 1;
    pipeline.config.bulk.max_retries = 100;
    pipeline.config.bulk.max_backoff = Duration::from_secs(2);
    let run = tokio::spawn(pipeline.run(CancellationToken::new()));

    let before_stop = wait_for_first_documents(&s).await;
    stack("stop-opensearch");
    tokio::time::sleep(Duration::from_secs(2)).await;
    stack("start-opensearch");
    let summary = run.await.expect("run task").expect("runs");

    let count = s.opensearch().count().await;
    eprintln!("records {RECORDS}, indexed before the stop {before_stop}, distinct ids after {count}, {summary:?}");
    assert!(before_stop < RECORDS, "OpenSearch was stopped mid-run");
    assert_eq!(count, RECORDS, "every record indexed exactly once");
    assert_eq!(summary.rejected + summary.gave_up, 0, "{summary:?}");
    assert_eq!(s.queue_depth().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(clippy::await_holding_lock, reason = "ONE_AT_A_TIME serializes whole tests, each on its own runtime")]
async fn a_pipeline_killed_mid_object_and_started_again_indexes_everything_once() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    const RECORDS: u64 = 40_000;
    let s = Scenario::with_queue(
        "sigkill",
        Delivery::Direct,
        QueueOptions {
            visibility_timeout_secs: 4,
            max_receive_count: None,
        },
    )
    .await;
    s.put(KEY, gzip(guardduty_findings(RECORDS as usize, "2026-11", "k").as_bytes())).await;
    let mut child = spawn_binary(&s, "[pipeline]\nchannel_capacity = 500");

    let before_kill = wait_for_first_documents(&s).await;
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    let after_kill = s.opensearch().count().await;
    assert!(after_kill < RECORDS, "killed mid-object ({after_kill} of {RECORDS} indexed)");

    // The message comes back after its visibility timeout (the heartbeat
    // died with the process); a new worker reads the object from the start.
    let deadline = Instant::now() + Duration::from_secs(30);
    while s.visible_messages().await == 0 {
        assert!(Instant::now() < deadline, "the message did not become visible again");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let summary = s.run_pipeline("").await;

    let count = s.opensearch().count().await;
    eprintln!(
        "records {RECORDS}, indexed when killed {before_kill}..{after_kill}, after restart {count}, {summary:?}"
    );
    assert_eq!(count, RECORDS, "every record indexed, none twice");
    assert_eq!(summary.indexed + summary.already_indexed, RECORDS, "{summary:?}");
    assert_eq!(s.queue_depth().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(clippy::await_holding_lock, reason = "ONE_AT_A_TIME serializes whole tests, each on its own runtime")]
async fn sigterm_during_a_large_object_finishes_in_the_grace_period_or_releases_the_message() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    const RECORDS: u64 = 100_000;
    let s = Scenario::with_queue(
        "sigterm",
        Delivery::Direct,
        QueueOptions {
            visibility_timeout_secs: 120,
            max_receive_count: None,
        },
    )
    .await;
    s.put(KEY, gzip(guardduty_findings(RECORDS as usize, "2026-11", "s").as_bytes())).await;
    let mut child = spawn_binary(
        &s,
        "[pipeline]\nshutdown_grace_secs = 2\nchannel_capacity = 500",
    );

    wait_for_first_documents(&s).await;
    let signalled = Instant::now();
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let exit = child.wait().expect("exits");
    let took = signalled.elapsed();

    assert!(exit.success(), "clean exit: {exit:?}");
    assert!(took < Duration::from_secs(2 + 5), "exited {took:?} after SIGTERM");
    let count = s.opensearch().count().await;
    let visible = s.visible_messages().await;
    eprintln!("records {RECORDS}, indexed {count}, visible messages {visible}, exit after {took:?}");
    if count == RECORDS {
        assert_eq!(s.queue_depth().await, 0, "finished in time: the message is deleted");
    } else {
        assert_eq!(visible, 1, "unfinished: the message is visible again at once, not after 120 s");
    }
}
