//! Delivery, specified against the in-memory queue, object store and index,
//! with the clock paused: when a message may be deleted, and when it must not.
//! The end-to-end tests prove the same behaviours against SQS (moto), S3 and
//! OpenSearch; these run in milliseconds and name each rule.

use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use futures::future::BoxFuture;
use serde_json::Value;
use siem_pipeline::config::Config;
use siem_pipeline::decode::Framing;
use siem_pipeline::enrich::Enrichers;
use siem_pipeline::log_types::{DocId, LogType, NormalizeError, Normalized, Normalizer};
use siem_pipeline::pipeline::{Pipeline, RunSummary};
use siem_pipeline::sink::dead_letter::{DeadLetterError, DeadLetterStore};
use siem_pipeline::sink::memory::MemoryIndex;
use siem_pipeline::source::memory::{MemoryObjectStore, MemoryQueue, s3_notification};
use siem_pipeline::source::{ObjectBody, ObjectError, ObjectRef, ObjectStore};
use siem_pipeline::telemetry::http::Health;
use tokio_util::sync::CancellationToken;

const VISIBILITY: Duration = Duration::from_secs(30);

/// JSON lines under `lines/`: one document per line; `{"panic":true}` makes
/// the normalizer panic, a line that is not JSON is an error of its record.
struct Lines;

impl LogType for Lines {
    fn name(&self) -> &'static str {
        "lines"
    }
    fn namespace(&self) -> &'static str {
        "test.lines"
    }
    fn framing(&self) -> Framing {
        Framing::Lines
    }
    fn matches_key(&self, key: &str) -> bool {
        key.starts_with("lines/")
    }
    fn normalizer(&self) -> Box<dyn Normalizer> {
        Box::new(LinesNormalizer)
    }
    fn index_template(&self) -> &'static str {
        "{}"
    }
}

struct LinesNormalizer;

impl Normalizer for LinesNormalizer {
    fn normalize(&mut self, frame: &[u8], out: &mut Vec<Normalized>) -> Result<(), NormalizeError> {
        let value: Value = serde_json::from_slice(frame)
            .map_err(|e| NormalizeError::InvalidJson(e.to_string()))?;
        if value["panic"] == true {
            panic!("normalizer bug on {value}");
        }
        let Value::Object(document) = value else {
            return Err(NormalizeError::MissingField("an object"));
        };
        out.push(Normalized {
            document,
            timestamp: Utc
                .with_ymd_and_hms(2026, 11, 1, 0, 0, 0)
                .single()
                .expect("a time"),
            id: DocId::Positional,
        });
        Ok(())
    }
}

static LOG_TYPES: &[&dyn LogType] = &[&Lines];

/// Dead letters kept in memory; optionally refusing or panicking.
#[derive(Default)]
struct MemoryDeadLetters {
    files: Mutex<Vec<(String, Vec<u8>)>>,
    refuse: bool,
    panic: bool,
}

impl MemoryDeadLetters {
    fn lines(&self) -> Vec<Value> {
        let files = self.files.lock().expect("lock");
        files
            .iter()
            .flat_map(|(_, body)| body.split(|b| *b == b'\n').filter(|l| !l.is_empty()))
            .map(|l| serde_json::from_slice(l).expect("a dead letter is JSON"))
            .collect()
    }
}

impl DeadLetterStore for MemoryDeadLetters {
    fn write(&self, name: String, body: Vec<u8>) -> BoxFuture<'_, Result<(), DeadLetterError>> {
        Box::pin(async move {
            if self.panic {
                panic!("dead-letter writer bug");
            }
            if self.refuse {
                return Err(DeadLetterError {
                    target: "memory".into(),
                    message: "refused".into(),
                });
            }
            self.files.lock().expect("lock").push((name, body));
            Ok(())
        })
    }

    fn describe(&self) -> String {
        "memory".into()
    }
}

/// An object store whose reads of one key take a while.
struct SlowStore {
    inner: Arc<MemoryObjectStore>,
    slow_key: &'static str,
    delay: Duration,
}

impl ObjectStore for SlowStore {
    fn get(&self, object: &ObjectRef) -> BoxFuture<'_, Result<ObjectBody, ObjectError>> {
        let slow = object.key == self.slow_key;
        let get = self.inner.get(object);
        let delay = self.delay;
        Box::pin(async move {
            if slow {
                tokio::time::sleep(delay).await;
            }
            get.await
        })
    }
}

struct Harness {
    queue: Arc<MemoryQueue>,
    objects: Arc<MemoryObjectStore>,
    index: Arc<MemoryIndex>,
    dead_letters: Arc<MemoryDeadLetters>,
    extra_config: String,
}

impl Harness {
    fn new() -> Self {
        Harness {
            queue: Arc::new(MemoryQueue::new(VISIBILITY)),
            objects: Arc::new(MemoryObjectStore::default()),
            index: Arc::new(MemoryIndex::default()),
            dead_letters: Arc::new(MemoryDeadLetters::default()),
            extra_config: String::new(),
        }
    }

    /// Puts an object and announces it in a message of its own.
    fn object(&self, key: &str, lines: &[&str]) -> String {
        self.objects.put("bucket", key, lines.join("\n"));
        self.queue.send(&s3_notification("bucket", key))
    }

    fn config(&self) -> Config {
        let text = format!(
            r#"
[sqs]
queue_url = "https://sqs.us-east-1.amazonaws.com/123456789012/memory"
visibility_timeout_secs = {visibility}
exit_after_empty_receives = 3
receivers = 1
[opensearch]
url = "http://127.0.0.1:9"
[bulk]
flush_interval_ms = 10
max_retries = 3
max_backoff_ms = 100
[metrics]
listen = ""
{extra}
"#,
            visibility = VISIBILITY.as_secs(),
            extra = self.extra_config,
        );
        Config::from_toml(
            std::path::Path::new("delivery.toml"),
            &text,
            std::iter::empty(),
        )
        .expect("a valid config")
    }

    /// The harness's objects, with reads of `slow_key` taking `delay`.
    fn slow(&self, slow_key: &'static str, delay: Duration) -> Arc<SlowStore> {
        Arc::new(SlowStore {
            inner: self.objects.clone(),
            slow_key,
            delay,
        })
    }

    fn pipeline(&self, store: Arc<dyn ObjectStore>) -> Pipeline {
        Pipeline {
            config: self.config(),
            queue: self.queue.clone(),
            store,
            opensearch: self.index.clone(),
            dead_letters: Some(self.dead_letters.clone()),
            health: Arc::new(Health::default()),
            enrichers: Arc::new(Enrichers::none()),
            log_types: LOG_TYPES,
        }
    }

    async fn run(&self) -> RunSummary {
        self.pipeline(self.objects.clone())
            .run(CancellationToken::new())
            .await
            .expect("runs")
    }
}

#[tokio::test(start_paused = true)]
async fn a_message_is_deleted_once_every_record_of_every_object_is_indexed() {
    let h = Harness::new();
    let body = format!(
        "{}",
        serde_json::json!({"Records": [
            {"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
             "s3": {"bucket": {"name": "bucket"}, "object": {"key": "lines/a", "size": 1}}},
            {"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
             "s3": {"bucket": {"name": "bucket"}, "object": {"key": "lines/b", "size": 1}}}
        ]})
    );
    h.objects.put("bucket", "lines/a", "{\"n\":1}\n{\"n\":2}");
    h.objects.put("bucket", "lines/b", "{\"n\":3}");
    let id = h.queue.send(&body);
    let summary = h.run().await;
    assert_eq!(summary.indexed, 3);
    let mut ns: Vec<i64> = h
        .index
        .documents()
        .iter()
        .filter_map(|(_, _, d)| d["n"].as_i64())
        .collect();
    ns.sort_unstable();
    assert_eq!(ns, [1, 2, 3]);
    assert_eq!(h.queue.deleted(), [id]);
}

#[tokio::test(start_paused = true)]
async fn a_record_whose_retries_run_out_keeps_its_message_and_the_other_messages_are_deleted() {
    let h = Harness::new();
    h.index.set_rule(Box::new(|_, _, doc| {
        (doc["n"] == 2).then_some((429, "es_rejected_execution_exception"))
    }));
    let stuck = h.object("lines/stuck", &["{\"n\":1}", "{\"n\":2}"]);
    let fine = h.object("lines/fine", &["{\"n\":3}"]);
    let summary = h.run().await;
    assert_eq!(summary.gave_up, 1);
    assert_eq!(h.queue.deleted(), [fine]);
    assert_eq!(
        h.queue.remaining(),
        1,
        "{stuck} stays on the queue for redelivery"
    );
}

#[tokio::test(start_paused = true)]
async fn a_rejected_document_is_dead_lettered_as_sent_and_then_its_message_is_deleted() {
    let h = Harness::new();
    h.index.set_rule(Box::new(|_, _, doc| {
        (doc["n"] == 2).then_some((400, "mapper_parsing_exception"))
    }));
    let id = h.object("lines/a", &["{\"n\":1}", "{\"n\":2,\"x\":\"y\"}"]);
    h.run().await;
    assert_eq!(h.queue.deleted(), [id]);
    let letters = h.dead_letters.lines();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0]["record"], serde_json::json!({"n": 2, "x": "y"}));
    assert_eq!(letters[0]["error_type"], "mapper_parsing_exception");
    assert_eq!(letters[0]["status"], 400);
    assert_eq!(letters[0]["ordinal"], 1);
}

#[tokio::test(start_paused = true)]
async fn a_record_that_does_not_normalize_is_dead_lettered_with_its_bytes() {
    let h = Harness::new();
    let id = h.object("lines/a", &["{\"n\":1}", "not json at all"]);
    h.run().await;
    assert_eq!(h.queue.deleted(), [id]);
    let letters = h.dead_letters.lines();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0]["record"], "not json at all");
    assert_eq!(letters[0]["error_type"], "invalid_json");
}

#[tokio::test(start_paused = true)]
async fn a_cluster_that_refuses_writes_is_not_a_bad_document_nothing_is_dead_lettered_or_deleted() {
    let h = Harness::new();
    h.index
        .set_rule(Box::new(|_, _, _| Some((403, "cluster_block_exception"))));
    h.object("lines/a", &["{\"n\":1}", "{\"n\":2}"]);
    let summary = h.run().await;
    assert_eq!((summary.rejected, summary.gave_up), (0, 2));
    assert!(h.dead_letters.lines().is_empty());
    assert!(h.queue.deleted().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_request_too_large_is_split_and_a_document_too_large_is_dead_lettered_with_its_reason() {
    let h = Harness::new();
    h.index.set_max_request_bytes(600);
    let big = format!("{{\"n\":99,\"pad\":\"{}\"}}", "x".repeat(700));
    let mut lines: Vec<String> = (0..8).map(|n| format!("{{\"n\":{n}}}")).collect();
    lines.insert(3, big.clone());
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let id = h.object("lines/a", &refs);
    let summary = h.run().await;
    assert_eq!(
        (summary.indexed, summary.rejected, summary.gave_up),
        (8, 1, 0),
        "{summary:?}"
    );
    let letters = h.dead_letters.lines();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0]["status"], 413);
    assert_eq!(letters[0]["error_type"], "request_too_large");
    assert_eq!(letters[0]["record"]["pad"], "x".repeat(700));
    assert_eq!(h.queue.deleted(), [id]);
}

#[tokio::test(start_paused = true)]
async fn a_dead_letter_the_store_refuses_keeps_its_message() {
    let mut h = Harness::new();
    h.dead_letters = Arc::new(MemoryDeadLetters {
        refuse: true,
        ..MemoryDeadLetters::default()
    });
    h.object("lines/a", &["{\"n\":1}", "not json"]);
    h.run().await;
    assert!(h.queue.deleted().is_empty());
    assert_eq!(
        h.index.documents().len(),
        1,
        "the good record is indexed all the same"
    );
}

#[tokio::test(start_paused = true)]
async fn a_panicking_normalizer_never_deletes_its_message() {
    let h = Harness::new();
    h.object("lines/bad", &["{\"n\":1}", "{\"panic\":true}", "{\"n\":3}"]);
    let fine = h.object("lines/fine", &["{\"n\":4}"]);
    h.run().await;
    assert_eq!(
        h.queue.deleted(),
        [fine],
        "only the message without a panic is deleted"
    );
}

#[tokio::test(start_paused = true)]
async fn a_panic_in_the_bulk_path_never_deletes_its_message() {
    let h = Harness::new();
    h.index.panic_on_next_requests(1);
    h.object("lines/a", &["{\"n\":1}"]);
    h.run().await;
    assert!(h.queue.deleted().is_empty());
    assert_eq!(h.queue.remaining(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_panic_in_the_dead_letter_writer_never_deletes_its_message() {
    let mut h = Harness::new();
    h.dead_letters = Arc::new(MemoryDeadLetters {
        panic: true,
        ..MemoryDeadLetters::default()
    });
    h.object("lines/a", &["{\"n\":1}", "not json"]);
    let summary = h.run().await;
    assert!(h.queue.deleted().is_empty());
    assert_eq!(
        summary.failed_stage,
        Some("dead-letter writer"),
        "the run stops rather than feed a dead writer"
    );
}

#[tokio::test(start_paused = true)]
async fn a_redelivered_message_indexes_nothing_twice() {
    let h = Harness::new();
    let first = h.object("lines/a", &["{\"n\":1}", "{\"n\":2}"]);
    h.run().await;
    let again = h.queue.send(&s3_notification("bucket", "lines/a"));
    let summary = h.run().await;
    assert_eq!((summary.indexed, summary.already_indexed), (0, 2));
    assert_eq!(h.index.documents().len(), 2);
    assert_eq!(h.queue.deleted(), [first, again]);
}

#[tokio::test(start_paused = true)]
async fn a_message_waiting_in_a_receive_batch_keeps_its_visibility_extended() {
    let mut h = Harness::new();
    h.extra_config = "[s3]\nmax_concurrent_objects = 1\n".into();
    // Three messages arrive in one receive; one object is read at a time and
    // the first takes five visibility timeouts.
    let ids: Vec<String> = ["lines/slow", "lines/b", "lines/c"]
        .iter()
        .map(|key| h.object(key, &["{\"n\":1}"]))
        .collect();
    let store = h.slow("lines/slow", VISIBILITY * 5);
    let run = tokio::spawn(h.pipeline(store).run(CancellationToken::new()));
    tokio::time::sleep(VISIBILITY * 3).await;
    assert!(
        h.queue.receive_now().is_empty(),
        "no waiting message became visible to other workers"
    );
    run.await.expect("joins").expect("runs");
    let mut deleted = h.queue.deleted();
    deleted.sort();
    assert_eq!(deleted, ids);
}

#[tokio::test(start_paused = true)]
async fn shutdown_releases_what_cannot_finish_within_the_grace_period() {
    let mut h = Harness::new();
    h.extra_config = "[pipeline]\nshutdown_grace_secs = 1\n".into();
    let id = h.object("lines/slow", &["{\"n\":1}"]);
    let store = h.slow("lines/slow", Duration::from_secs(3600));
    let shutdown = CancellationToken::new();
    let run = tokio::spawn(h.pipeline(store).run(shutdown.clone()));
    tokio::time::sleep(Duration::from_secs(5)).await;
    shutdown.cancel();
    let summary = run.await.expect("joins").expect("runs");
    assert!(summary.abandoned);
    assert!(h.queue.deleted().is_empty());
    let visible = h.queue.receive_now();
    assert_eq!(
        visible.len(),
        1,
        "released at once, not after the visibility timeout"
    );
    assert_eq!(visible[0].message_id, id);
}

#[tokio::test(start_paused = true)]
async fn the_grace_period_runs_from_the_signal_not_from_the_end_of_a_long_poll() {
    // ECS kills the task `stopTimeout` after the signal: in-flight work is
    // handed back `shutdown_grace_secs` after it, and the whole stop takes
    // at most the longer of the grace period and a long poll, plus 5 s.
    let mut h = Harness::new();
    h.queue = Arc::new(MemoryQueue::new(VISIBILITY).with_wait(Duration::from_secs(20)));
    h.extra_config = "[pipeline]\nshutdown_grace_secs = 10\n".into();
    h.object("lines/slow", &["{\"n\":1}"]);
    let store = h.slow("lines/slow", Duration::from_secs(3600));
    let shutdown = CancellationToken::new();
    let run = tokio::spawn(h.pipeline(store).run(shutdown.clone()));
    // The receiver is in the middle of a 20 s long poll when the signal comes.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let signalled = tokio::time::Instant::now();
    shutdown.cancel();
    tokio::time::sleep(Duration::from_secs(11)).await;
    assert_eq!(
        h.queue.receive_now().len(),
        1,
        "handed back when the grace period ran out"
    );
    let summary = run.await.expect("joins").expect("runs");
    assert!(summary.abandoned);
    let took = signalled.elapsed();
    assert!(
        took <= Duration::from_secs(20 + 5),
        "stopped {took:?} after the signal"
    );
}

#[tokio::test(start_paused = true)]
async fn while_opensearch_does_not_answer_nothing_more_is_received_and_all_indexes_once_it_does() {
    let h = Harness::new();
    h.index.set_down(true);
    let ids: Vec<String> = (0..3)
        .map(|i| h.object(&format!("lines/{i}"), &["{\"n\":1}"]))
        .collect();
    let run = tokio::spawn(h.pipeline(h.objects.clone()).run(CancellationToken::new()));
    // An outage of many visibility timeouts and retry budgets.
    tokio::time::sleep(Duration::from_secs(600)).await;
    let counts = h.queue.receive_counts();
    assert_eq!(counts.len(), 3, "nothing deleted during the outage");
    assert!(
        counts.values().all(|n| *n <= 1),
        "received at most once while the cluster was down: {counts:?}"
    );
    h.index.set_down(false);
    run.await.expect("joins").expect("runs");
    let mut deleted = h.queue.deleted();
    deleted.sort();
    assert_eq!(deleted, ids);
    assert_eq!(h.index.documents().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_pipeline_waiting_on_back_pressure_stays_healthy() {
    let mut h = Harness::new();
    h.extra_config = "[s3]\nmax_concurrent_objects = 1\n".into();
    for key in ["lines/slow", "lines/next"] {
        h.object(key, &["{\"n\":1}"]);
    }
    let store = h.slow("lines/slow", Duration::from_secs(300));
    let pipeline = h.pipeline(store);
    let health = pipeline.health.clone();
    let run = tokio::spawn(pipeline.run(CancellationToken::new()));
    for minute in 1..=4 {
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert!(
            health.is_alive(Duration::from_secs(90)),
            "unhealthy after {minute} min of rightful waiting"
        );
    }
    run.await.expect("joins").expect("runs");
    assert_eq!(h.queue.deleted().len(), 2);
}
