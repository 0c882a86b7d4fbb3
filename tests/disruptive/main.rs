//! Tests that stop OpenSearch or kill the pipeline in the middle of its work.
//! They live in their own test binary, which cargo runs after (never beside)
//! the other end-to-end tests, and they take a lock so that they also run
//! one at a time among themselves.

use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use siem_pipeline_tests::{
    Delivery, QueueOptions, Scenario, guardduty_findings, gzip, pipeline_binary, repo_root,
};
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
        assert!(
            Instant::now() < deadline,
            "no document was indexed within 90 s"
        );
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
#[expect(
    clippy::await_holding_lock,
    reason = "ONE_AT_A_TIME serializes whole tests, each on its own runtime"
)]
async fn opensearch_stopped_and_started_mid_run_loses_nothing_and_duplicates_nothing() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    const RECORDS: u64 = 30_000;
    let s = Scenario::new("os-restart", Delivery::Direct).await;
    s.put(
        KEY,
        gzip(guardduty_findings(RECORDS as usize, "2026-11", "r").as_bytes()),
    )
    .await;
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
    eprintln!(
        "records {RECORDS}, indexed before the stop {before_stop}, distinct ids after {count}, {summary:?}"
    );
    assert!(before_stop < RECORDS, "OpenSearch was stopped mid-run");
    assert_eq!(count, RECORDS, "every record indexed exactly once");
    assert_eq!(summary.rejected + summary.gave_up, 0, "{summary:?}");
    assert_eq!(s.queue_depth().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(
    clippy::await_holding_lock,
    reason = "ONE_AT_A_TIME serializes whole tests, each on its own runtime"
)]
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
    s.put(
        KEY,
        gzip(guardduty_findings(RECORDS as usize, "2026-11", "k").as_bytes()),
    )
    .await;
    let mut child = spawn_binary(&s, "[pipeline]\nchannel_capacity = 500");

    let before_kill = wait_for_first_documents(&s).await;
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    let after_kill = s.opensearch().count().await;
    assert!(
        after_kill < RECORDS,
        "killed mid-object ({after_kill} of {RECORDS} indexed)"
    );

    // The message comes back after its visibility timeout (the heartbeat
    // died with the process); a new worker reads the object from the start.
    let deadline = Instant::now() + Duration::from_secs(30);
    while s.visible_messages().await == 0 {
        assert!(
            Instant::now() < deadline,
            "the message did not become visible again"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let summary = s.run_pipeline("").await;

    let count = s.opensearch().count().await;
    eprintln!(
        "records {RECORDS}, indexed when killed {before_kill}..{after_kill}, after restart {count}, {summary:?}"
    );
    assert_eq!(count, RECORDS, "every record indexed, none twice");
    assert_eq!(
        summary.indexed + summary.already_indexed,
        RECORDS,
        "{summary:?}"
    );
    assert_eq!(s.queue_depth().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(
    clippy::await_holding_lock,
    reason = "ONE_AT_A_TIME serializes whole tests, each on its own runtime"
)]
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
    s.put(
        KEY,
        gzip(guardduty_findings(RECORDS as usize, "2026-11", "s").as_bytes()),
    )
    .await;
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
    assert!(
        took < Duration::from_secs(2 + 5),
        "exited {took:?} after SIGTERM"
    );
    let count = s.opensearch().count().await;
    let visible = s.visible_messages().await;
    eprintln!(
        "records {RECORDS}, indexed {count}, visible messages {visible}, exit after {took:?}"
    );
    if count == RECORDS {
        assert_eq!(
            s.queue_depth().await,
            0,
            "finished in time: the message is deleted"
        );
    } else {
        assert_eq!(
            visible, 1,
            "unfinished: the message is visible again at once, not after 120 s"
        );
    }
}

/// Sets (or with `null`, resets) a persistent cluster setting.
async fn cluster_setting(s: &Scenario, name: &str, value: serde_json::Value) {
    let r = reqwest::Client::new()
        .put(format!("{}/_cluster/settings", s.stack.opensearch_url))
        .json(&serde_json::json!({"persistent": {name: value}}))
        .send()
        .await
        .expect("cluster settings");
    assert!(r.status().is_success(), "{:?}", r.text().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(
    clippy::await_holding_lock,
    reason = "ONE_AT_A_TIME serializes whole tests, each on its own runtime"
)]
async fn the_shard_limit_reached_by_a_new_index_holds_the_message_until_it_is_raised() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let s = Scenario::with_queue(
        "shards",
        Delivery::Direct,
        QueueOptions {
            visibility_timeout_secs: 2,
            max_receive_count: None,
        },
    )
    .await;
    s.put(KEY, gzip(guardduty_findings(5, "2026-11", "m").as_bytes()))
        .await;
    let dir = std::env::temp_dir().join(format!("{}-dead-letters", s.index_prefix));
    let extra = format!("[dead_letter]\ndirectory = {:?}", dir.display().to_string());
    let mut pipeline = s.pipeline(&extra).await;
    pipeline.config.bulk.max_retries = 2;
    pipeline.config.bulk.max_backoff = Duration::from_millis(100);

    // As when a new month's index would pass the cluster's shard limit.
    cluster_setting(&s, "cluster.max_shards_per_node", serde_json::json!(1)).await;
    let blocked = pipeline.run(CancellationToken::new()).await;
    let depth_while_blocked = s.queue_depth().await;
    cluster_setting(&s, "cluster.max_shards_per_node", serde_json::Value::Null).await;
    let blocked = blocked.expect("runs");
    let letters_while_blocked = std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0);

    assert_eq!((blocked.indexed, blocked.rejected), (0, 0), "{blocked:?}");
    assert!(blocked.gave_up >= 5, "{blocked:?}");
    assert_eq!(
        letters_while_blocked, 0,
        "the shard limit is not a bad document"
    );
    assert_eq!(depth_while_blocked, 1, "the message waits on the queue");

    tokio::time::sleep(Duration::from_secs(3)).await;
    let summary = s.run_pipeline(&extra).await;
    assert_eq!(summary.indexed, 5, "{summary:?}");
    assert_eq!(s.opensearch().count().await, 5);
    assert_eq!(s.queue_depth().await, 0);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(
    clippy::await_holding_lock,
    reason = "ONE_AT_A_TIME serializes whole tests, each on its own runtime"
)]
async fn a_long_opensearch_outage_holds_the_backlog_on_the_queue_not_in_its_dead_letter_queue() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    const RECORDS: u64 = 50;
    let s = Scenario::with_queue(
        "outage",
        Delivery::Direct,
        QueueOptions {
            visibility_timeout_secs: 2,
            max_receive_count: Some(2),
        },
    )
    .await;
    let mut pipeline = s.pipeline("").await;
    // A short retry budget, still long enough to see the cluster gone.
    pipeline.config.bulk.max_retries = 3;
    pipeline.config.bulk.max_backoff = Duration::from_millis(100);
    // As the service runs: never stopping for an empty queue.
    pipeline.config.sqs.exit_after_empty_receives = None;
    for i in 0..3 {
        let key = KEY.replace("large", &format!("outage-{i}"));
        s.put(
            &key,
            gzip(guardduty_findings(RECORDS as usize, "2026-11", &format!("o{i}")).as_bytes()),
        )
        .await;
    }
    stack("stop-opensearch");
    let shutdown = CancellationToken::new();
    let run = tokio::spawn(pipeline.run(shutdown.clone()));
    // Far longer than maxReceiveCount × (retry budget + visibility timeout).
    tokio::time::sleep(Duration::from_secs(20)).await;
    let in_dead_letter_queue = s.dead_letter_queue_depth().await;
    stack("start-opensearch");
    let deadline = Instant::now() + Duration::from_secs(120);
    while s.opensearch().count().await < 3 * RECORDS && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    while s.queue_depth().await > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    shutdown.cancel();
    let summary = run.await.expect("run task").expect("runs");

    assert_eq!(
        in_dead_letter_queue, 0,
        "nothing reached the queue's dead-letter queue during the outage"
    );
    assert_eq!(s.dead_letter_queue_depth().await, 0);
    assert_eq!(s.opensearch().count().await, 3 * RECORDS, "{summary:?}");
    assert_eq!(s.queue_depth().await, 0);
}
