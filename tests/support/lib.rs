//! Shared by the end-to-end and golden tests: where the local stack is, how to
//! set up a bucket announcing its objects on a queue, how to run the pipeline
//! in-process until the queue is drained, and how to ask OpenSearch what it
//! holds.
//!
//! The stack is the one `deploy/local/stack up` starts (`tests/run` does it);
//! its endpoints come from the environment (`OPENSEARCH_URL`,
//! `AWS_ENDPOINT_URL`) or from `.local-stack/endpoints.env`.

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
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_owned()
}

/// `tests/fixtures/<rel>`.
pub fn fixture(rel: &str) -> PathBuf {
    repo_root().join("tests/fixtures").join(rel)
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
        let file = std::fs::read_to_string(repo_root().join(".local-stack/endpoints.env")).unwrap_or_default();
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
            _ => panic!("the local stack is not running: start it with `deploy/local/stack up` (or run `tests/run`)"),
        }
    }

    pub async fn s3(&self) -> aws_sdk_s3::Client {
        let sdk = self.sdk().await;
        aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&sdk).force_path_style(true).build())
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
    pub index_prefix: String,
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
        let stack = Stack::get();
        let id = unique(name);
        let s3 = stack.s3().await;
        let sqs = stack.sqs().await;
        let queue_url = sqs
            .create_queue()
            .queue_name(&id)
            .attributes(aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout, "30")
            .send()
            .await
            .expect("create queue")
            .queue_url
            .expect("queue url");
        let queue_arn = sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .expect("queue attributes")
            .attributes
            .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn).cloned())
            .expect("queue arn");
        s3.create_bucket().bucket(&id).send().await.expect("create bucket");
        use aws_sdk_s3::types::{Event, NotificationConfiguration, QueueConfiguration, TopicConfiguration};
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
                .event_bridge_configuration(aws_sdk_s3::types::EventBridgeConfiguration::builder().build())
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
            index_prefix: id,
        }
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
        use aws_sdk_sqs::types::QueueAttributeName as A;
        let attrs = self
            .stack
            .sqs()
            .await
            .get_queue_attributes()
            .queue_url(&self.queue_url)
            .attribute_names(A::ApproximateNumberOfMessages)
            .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .expect("queue attributes")
            .attributes
            .unwrap_or_default();
        [A::ApproximateNumberOfMessages, A::ApproximateNumberOfMessagesNotVisible]
            .iter()
            .filter_map(|a| attrs.get(a).and_then(|v| v.parse::<u64>().ok()))
            .sum()
    }

    /// The pipeline's configuration for this scenario.
    pub fn config(&self, extra: &str) -> Config {
        let text = format!(
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
        );
        Config::from_toml(Path::new("e2e.toml"), &text, std::iter::empty()).expect("valid test config")
    }

    /// Runs the pipeline in-process until the queue has been empty twice.
    pub async fn run_pipeline(&self, extra: &str) -> RunSummary {
        siem_pipeline::telemetry::init_logging(false, "warn");
        let pipeline = Pipeline::connect(self.config(extra), Arc::new(Health::default()))
            .await
            .expect("pipeline connects");
        tokio::time::timeout(Duration::from_secs(120), pipeline.run(CancellationToken::new()))
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
        reqwest::Client::builder().no_proxy().build().expect("http client")
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
            .get(format!("{}/{}/_count?allow_no_indices=true", self.url, self.pattern))
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
    path.split('.').fold(v, |v, p| v.get(p).unwrap_or(&Value::Null))
}
