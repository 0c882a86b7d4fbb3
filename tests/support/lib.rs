//! Shared by the end-to-end and golden tests: where the local stack is, how to
//! set up a bucket announcing its objects on a queue, how to run the pipeline
//! in-process until the queue is drained, and how to ask OpenSearch what it
//! holds.
//!
//! The stack is the one `deploy/local/stack up` starts (`tests/run` does it);
//! its endpoints come from the environment (`OPENSEARCH_URL`,
//! `AWS_ENDPOINT_URL`) or from `.local-stack/endpoints.env`.

pub mod dashboards;
pub mod enrichment;
pub mod proxy;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use serde_json::Value;
use siem_pipeline::config::Config;
use siem_pipeline::pipeline::{Pipeline, RunSummary};
use siem_pipeline::telemetry::http::Health;
use tokio_util::sync::CancellationToken;

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_owned()
}

/// `tests/fixtures/<rel>`.
pub fn fixture(rel: &str) -> PathBuf {
    repo_root().join("tests/fixtures").join(rel)
}

/// The input files of `tests/fixtures/<log_type>/` (not their golden
/// `.expected.ndjson` / `.errors.txt` companions), sorted.
pub fn fixture_inputs(log_type: &str) -> Vec<PathBuf> {
    let dir = repo_root().join("tests/fixtures").join(log_type);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            p.is_file()
                && !name.contains(".expected.")
                && !name.ends_with(".errors.txt")
                && !name.starts_with('.')
                && !name.ends_with(".md")
        })
        .collect();
    files.sort();
    files
}

/// `../shared/<rel>` beside the repository, when present.
pub fn shared(rel: &str) -> Option<PathBuf> {
    let p = repo_root().join("../shared").join(rel);
    p.exists().then_some(p)
}

#[derive(Debug, Clone)]
pub struct Stack {
    pub opensearch_url: String,
    pub aws_endpoint: String,
}

impl Stack {
    /// The running local stack; panics with the command to start it.
    pub fn get() -> Stack {
        let file = std::fs::read_to_string(repo_root().join(".local-stack/endpoints.env"))
            .unwrap_or_default();
        let from_file = |name: &str| {
            file.lines()
                .filter_map(|l| l.trim_start_matches("export ").split_once('='))
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.trim_matches('"').to_owned())
        };
        let get = |name: &str| std::env::var(name).ok().or_else(|| from_file(name));
        match (get("OPENSEARCH_URL"), get("AWS_ENDPOINT_URL")) {
            (Some(opensearch_url), Some(aws_endpoint)) => {
                // The pipeline takes credentials from the SDK's default chain,
                // as in production; the stack's env file provides them.
                assert!(
                    std::env::var("AWS_ACCESS_KEY_ID").is_ok(),
                    "AWS credentials are not set: run `eval \"$(deploy/local/stack env)\"` first (tests/run does)"
                );
                Stack {
                    opensearch_url,
                    aws_endpoint,
                }
            }
            _ => panic!(
                "the local stack is not running: start it with `deploy/local/stack up` (or run `tests/run`)"
            ),
        }
    }

    pub async fn s3(&self) -> aws_sdk_s3::Client {
        let sdk = self.sdk().await;
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&sdk)
                .force_path_style(true)
                .build(),
        )
    }

    pub async fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.sdk().await)
    }

    pub async fn sns(&self) -> aws_sdk_sns::Client {
        aws_sdk_sns::Client::new(&self.sdk().await)
    }

    /// An EventBridge rule sending the bucket's `Object Created` events to the
    /// queue, as a user configures it. Returns the rule name.
    pub async fn eventbridge_rule_to_queue(&self, bucket: &str, queue_arn: &str) -> String {
        let events = aws_sdk_eventbridge::Client::new(&self.sdk().await);
        let rule = format!("{bucket}-objects");
        let pattern = serde_json::json!({
            "source": ["aws.s3"], "detail-type": ["Object Created"], "detail": {"bucket": {"name": [bucket]}}
        });
        events
            .put_rule()
            .name(&rule)
            .event_pattern(pattern.to_string())
            .send()
            .await
            .expect("put rule");
        events
            .put_targets()
            .rule(&rule)
            .targets(
                aws_sdk_eventbridge::types::Target::builder()
                    .id("queue")
                    .arn(queue_arn)
                    .build()
                    .expect("target"),
            )
            .send()
            .await
            .expect("put targets");
        rule
    }

    async fn sdk(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url(&self.aws_endpoint)
            .load()
            .await
    }
}

/// A unique lowercase name for this test process and call.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() % 100_000)
            .unwrap_or(0)
    )
}

/// A bucket whose object-created events reach a queue, and an index prefix
/// of its own, so that tests never see each other's data.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub stack: Stack,
    pub bucket: String,
    pub queue_url: String,
    pub queue_arn: String,
    pub dead_letter_queue_url: Option<String>,
    pub index_prefix: String,
}

async fn queue_arn(sqs: &aws_sdk_sqs::Client, url: &str) -> String {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    sqs.get_queue_attributes()
        .queue_url(url)
        .attribute_names(A::QueueArn)
        .send()
        .await
        .expect("queue attributes")
        .attributes
        .and_then(|a| a.get(&A::QueueArn).cloned())
        .expect("queue arn")
}

async fn depth(sqs: &aws_sdk_sqs::Client, url: &str) -> u64 {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(A::ApproximateNumberOfMessages)
        .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .expect("queue attributes")
        .attributes
        .unwrap_or_default();
    [
        A::ApproximateNumberOfMessages,
        A::ApproximateNumberOfMessagesNotVisible,
    ]
    .iter()
    .filter_map(|a| attrs.get(a).and_then(|v| v.parse::<u64>().ok()))
    .sum()
}

/// Queue settings a scenario may need beyond the defaults.
#[derive(Debug, Clone, Copy)]
pub struct QueueOptions {
    pub visibility_timeout_secs: u32,
    /// A dead-letter queue receiving messages after this many receives.
    pub max_receive_count: Option<u32>,
}

impl Default for QueueOptions {
    fn default() -> Self {
        QueueOptions {
            visibility_timeout_secs: 30,
            max_receive_count: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// S3 → SQS.
    Direct,
    /// S3 → SNS → SQS.
    Sns,
    /// S3 → EventBridge → SQS.
    EventBridge,
}

impl Scenario {
    pub async fn new(name: &str, delivery: Delivery) -> Scenario {
        Self::with_queue(name, delivery, QueueOptions::default()).await
    }

    pub async fn with_queue(name: &str, delivery: Delivery, options: QueueOptions) -> Scenario {
        use aws_sdk_sqs::types::QueueAttributeName as A;
        let stack = Stack::get();
        let id = unique(name);
        let s3 = stack.s3().await;
        let sqs = stack.sqs().await;
        let mut create = sqs.create_queue().queue_name(&id).attributes(
            A::VisibilityTimeout,
            options.visibility_timeout_secs.to_string(),
        );
        let mut dead_letter_queue_url = None;
        if let Some(max) = options.max_receive_count {
            let dlq_url = sqs
                .create_queue()
                .queue_name(format!("{id}-dlq"))
                .send()
                .await
                .expect("create dead-letter queue")
                .queue_url
                .expect("queue url");
            let dlq_arn = queue_arn(&sqs, &dlq_url).await;
            create = create.attributes(
                A::RedrivePolicy,
                serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max})
                    .to_string(),
            );
            dead_letter_queue_url = Some(dlq_url);
        }
        let queue_url = create
            .send()
            .await
            .expect("create queue")
            .queue_url
            .expect("queue url");
        let queue_arn = queue_arn(&sqs, &queue_url).await;
        s3.create_bucket()
            .bucket(&id)
            .send()
            .await
            .expect("create bucket");
        use aws_sdk_s3::types::{
            Event, NotificationConfiguration, QueueConfiguration, TopicConfiguration,
        };
        let notification = match delivery {
            Delivery::Direct => NotificationConfiguration::builder()
                .queue_configurations(
                    QueueConfiguration::builder()
                        .queue_arn(&queue_arn)
                        .events(Event::S3ObjectCreated)
                        .build()
                        .expect("queue configuration"),
                )
                .build(),
            Delivery::Sns => {
                let sns = stack.sns().await;
                let topic_arn = sns
                    .create_topic()
                    .name(&id)
                    .send()
                    .await
                    .expect("create topic")
                    .topic_arn
                    .expect("topic arn");
                sns.subscribe()
                    .topic_arn(&topic_arn)
                    .protocol("sqs")
                    .endpoint(&queue_arn)
                    .send()
                    .await
                    .expect("subscribe");
                NotificationConfiguration::builder()
                    .topic_configurations(
                        TopicConfiguration::builder()
                            .topic_arn(topic_arn)
                            .events(Event::S3ObjectCreated)
                            .build()
                            .expect("topic configuration"),
                    )
                    .build()
            }
            Delivery::EventBridge => NotificationConfiguration::builder()
                .event_bridge_configuration(
                    aws_sdk_s3::types::EventBridgeConfiguration::builder().build(),
                )
                .build(),
        };
        s3.put_bucket_notification_configuration()
            .bucket(&id)
            .notification_configuration(notification)
            .send()
            .await
            .expect("bucket notification");
        Scenario {
            stack,
            bucket: id.clone(),
            queue_url,
            queue_arn,
            dead_letter_queue_url,
            index_prefix: id,
        }
    }

    /// Depth of the queue's dead-letter queue (visible plus in flight).
    pub async fn dead_letter_queue_depth(&self) -> u64 {
        let url = self
            .dead_letter_queue_url
            .as_ref()
            .expect("scenario has a dead-letter queue");
        depth(&self.stack.sqs().await, url).await
    }

    /// Messages visible right now (not counting in-flight ones).
    pub async fn visible_messages(&self) -> u64 {
        use aws_sdk_sqs::types::QueueAttributeName as A;
        let attrs = self
            .stack
            .sqs()
            .await
            .get_queue_attributes()
            .queue_url(&self.queue_url)
            .attribute_names(A::ApproximateNumberOfMessages)
            .send()
            .await
            .expect("queue attributes")
            .attributes
            .unwrap_or_default();
        attrs
            .get(&A::ApproximateNumberOfMessages)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    pub async fn put(&self, key: &str, body: Vec<u8>) {
        self.stack
            .s3()
            .await
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(ByteStream::from(body))
            .send()
            .await
            .expect("put object");
    }

    pub async fn send_raw(&self, body: &str) {
        self.stack
            .sqs()
            .await
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .send()
            .await
            .expect("send message");
    }

    /// Visible plus in-flight messages.
    pub async fn queue_depth(&self) -> u64 {
        depth(&self.stack.sqs().await, &self.queue_url).await
    }

    /// The pipeline's configuration for this scenario.
    pub fn config(&self, extra: &str) -> Config {
        Config::from_toml(
            Path::new("e2e.toml"),
            &self.config_text(extra),
            std::iter::empty(),
        )
        .expect("valid test config")
    }

    /// The configuration file's text; `extra` is appended (new sections only).
    pub fn config_text(&self, extra: &str) -> String {
        format!(
            r#"
[aws]
region = "us-east-1"
endpoint_url = "{endpoint}"
s3_force_path_style = true
[sqs]
queue_url = "{queue}"
wait_time_secs = 1
exit_after_empty_receives = 2
[opensearch]
url = "{opensearch}"
index_prefix = "{prefix}"
[bulk]
flush_interval_ms = 200
max_backoff_ms = 2000
[metrics]
listen = ""
{extra}
"#,
            endpoint = self.stack.aws_endpoint,
            queue = self.queue_url,
            opensearch = self.stack.opensearch_url,
            prefix = self.index_prefix,
        )
    }

    /// A connected pipeline for this scenario, for tests that change a part.
    pub async fn pipeline(&self, extra: &str) -> Pipeline {
        siem_pipeline::telemetry::init_logging(false, "warn");
        Pipeline::connect(self.config(extra), Arc::new(Health::default()))
            .await
            .expect("pipeline connects")
    }

    /// Runs the pipeline in-process until the queue has been empty twice.
    pub async fn run_pipeline(&self, extra: &str) -> RunSummary {
        let pipeline = self.pipeline(extra).await;
        tokio::time::timeout(
            Duration::from_secs(120),
            pipeline.run(CancellationToken::new()),
        )
        .await
        .expect("the pipeline drains the queue within two minutes")
        .expect("the pipeline runs")
    }

    pub fn opensearch(&self) -> OpenSearchProbe {
        OpenSearchProbe {
            url: self.stack.opensearch_url.clone(),
            pattern: format!("{}-*", self.index_prefix),
        }
    }
}

/// Read-only questions to OpenSearch about one scenario's indices.
#[derive(Debug, Clone)]
pub struct OpenSearchProbe {
    pub url: String,
    pub pattern: String,
}

impl OpenSearchProbe {
    fn client() -> reqwest::Client {
        reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("http client")
    }

    pub async fn refresh(&self) {
        let _ = Self::client()
            .post(format!("{}/{}/_refresh", self.url, self.pattern))
            .send()
            .await;
    }

    pub async fn count(&self) -> u64 {
        self.refresh().await;
        let v: Value = Self::client()
            .get(format!(
                "{}/{}/_count?allow_no_indices=true",
                self.url, self.pattern
            ))
            .send()
            .await
            .expect("count")
            .json()
            .await
            .expect("count json");
        v["count"].as_u64().unwrap_or(0)
    }

    /// `_search` with `body`; returns the whole response.
    pub async fn search(&self, body: Value) -> Value {
        self.refresh().await;
        Self::client()
            .post(format!("{}/{}/_search", self.url, self.pattern))
            .json(&body)
            .send()
            .await
            .expect("search")
            .json()
            .await
            .expect("search json")
    }

    /// The `_source` of every document matching a term query.
    pub async fn sources_where(&self, field: &str, value: &str) -> Vec<Value> {
        let r = self
            .search(serde_json::json!({"size": 100, "query": {"term": {field: value}}}))
            .await;
        r["hits"]["hits"]
            .as_array()
            .map(|h| h.iter().map(|d| d["_source"].clone()).collect())
            .unwrap_or_default()
    }
}

/// Gzip-compresses bytes, as AWS services do.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).expect("gzip write");
    e.finish().expect("gzip finish")
}

/// The value at a dotted path of a JSON document (`Null` when absent).
pub fn at<'a>(v: &'a Value, path: &str) -> &'a Value {
    path.split('.')
        .fold(v, |v, p| v.get(p).unwrap_or(&Value::Null))
}

/// `n` distinct synthetic GuardDuty findings as an export (JSON Lines),
/// updated in `month` (`"2026-11"`).
pub fn guardduty_findings(n: usize, month: &str, tag: &str) -> String {
    let mut out = String::with_capacity(n * 700);
    for i in 0..n {
        let finding = serde_json::json!({
            "schemaVersion": "2.0", "accountId": "123456789012", "region": "us-east-1", "partition": "aws",
            "id": format!("{tag}{i:08x}"), "arn": format!("arn:aws:guardduty:us-east-1:123456789012:detector/d/finding/{tag}{i:08x}"),
            "type": "Recon:EC2/PortProbeUnprotectedPort", "title": "Unprotected port on EC2 instance is being probed.",
            "description": "EC2 instance has an unprotected port which is being probed by a known malicious host.",
            "severity": 2.0 + (i % 8) as f64, "createdAt": format!("{month}-01T00:00:00.000Z"),
            "updatedAt": format!("{month}-{:02}T{:02}:{:02}:{:02}.000Z", 1 + i % 28, i % 24, i % 60, (i / 60) % 60),
            "resource": {"resourceType": "Instance", "instanceDetails": {"instanceId": format!("i-{i:017x}"),
                "networkInterfaces": [{"privateIpAddress": "10.0.0.5", "publicIp": "192.0.2.10"}]}},
            "service": {"serviceName": "guardduty", "count": 1, "action": {"actionType": "PORT_PROBE", "portProbeAction": {
                "blocked": false, "portProbeDetails": [{"localPortDetails": {"port": 22, "portName": "SSH"},
                "remoteIpDetails": {"ipAddressV4": format!("203.0.113.{}", i % 250)}}]}}}
        });
        out.push_str(&finding.to_string());
        out.push('\n');
    }
    out
}

/// The `siem-pipeline` binary built beside this test binary.
pub fn pipeline_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    let bin = dir.join("siem-pipeline");
    assert!(
        bin.exists(),
        "{} is missing: build it with `cargo build -p siem-pipeline`",
        bin.display()
    );
    bin
}

/// Every dead letter written under `dir`, in the order of their records.
pub fn dead_letters(dir: &Path) -> Vec<Value> {
    dead_letter_lines(dir)
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).expect("dead letter is JSON"))
        .collect()
}

/// Every dead letter written under `dir`, as the line written, in the order
/// of their records.
pub fn dead_letter_lines(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "ndjson") {
                let text = std::fs::read_to_string(&p).expect("dead-letter file");
                out.extend(text.lines().map(str::to_owned));
            }
        }
    }
    out.sort_by_key(|l| {
        serde_json::from_str::<Value>(l).expect("dead letter is JSON")["ordinal"].as_u64()
    });
    out
}
