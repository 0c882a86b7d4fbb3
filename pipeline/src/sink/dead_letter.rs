//! The dead-letter store: where a record that can never be indexed goes, with
//! the reason, so that nothing is lost and nothing blocks its message forever.
//!
//! A dead letter is one NDJSON line: the original record (as JSON when it is
//! JSON, as a string when it is text, base64 otherwise), where it came from
//! (bucket, key, ordinal), where it was going (index, `_id`), and why it did
//! not get there (HTTP status, error type, reason). Lines are written in
//! batches, to an S3 prefix (`s3://bucket/prefix/`) or a local folder, under
//! `<prefix>YYYY/MM/DD/<log type>-<time>-<n>.ndjson`.
//!
//! A record's message is acknowledged only after its dead letter is written:
//! the writer holds the record's [`AckGroup`] until the store confirms, and
//! fails it if the store keeps refusing.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use futures::future::BoxFuture;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tracing::{error, info};

use crate::ack::AckGroup;
use crate::document::RecordOrigin;
use crate::telemetry::METRICS;

/// Why and where a record was given up on.
#[derive(Debug)]
pub struct DeadLetter {
    pub log_type: &'static str,
    pub origin: RecordOrigin,
    pub index: Option<String>,
    pub id: Option<String>,
    pub status: Option<u16>,
    /// A bounded label: `mapper_parsing_exception`, `invalid_json`, `too_long`, …
    pub error_type: String,
    pub reason: String,
    /// The record as it was read (or as it was sent, for a rejected document).
    pub record: Vec<u8>,
}

impl DeadLetter {
    /// The NDJSON line, newline included.
    pub fn to_line(&self) -> Vec<u8> {
        let mut v = json!({
            "time": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "log_type": self.log_type,
            "bucket": self.origin.bucket,
            "key": self.origin.key,
            "ordinal": self.origin.ordinal,
            "index": self.index,
            "id": self.id,
            "status": self.status,
            "error_type": self.error_type,
            "reason": self.reason,
        });
        let record = match serde_json::from_slice::<Value>(&self.record) {
            Ok(json) => ("record", json),
            Err(_) => match std::str::from_utf8(&self.record) {
                Ok(text) => ("record", Value::String(text.to_owned())),
                Err(_) => ("record_base64", Value::String(base64(&self.record))),
            },
        };
        v[record.0] = record.1;
        let mut line = serde_json::to_vec(&v).unwrap_or_default();
        line.push(b'\n');
        line
    }
}

fn base64(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[derive(Debug, thiserror::Error)]
#[error("writing dead letters to {target}: {message}")]
pub struct DeadLetterError {
    pub target: String,
    pub message: String,
}

/// Somewhere dead letters can be written.
pub trait DeadLetterStore: Send + Sync + 'static {
    /// Writes one batch as one object or file named `name` (relative).
    fn write(&self, name: String, body: Vec<u8>) -> BoxFuture<'_, Result<(), DeadLetterError>>;
    fn describe(&self) -> String;
}

/// An S3 prefix.
pub struct S3DeadLetters {
    pub client: aws_sdk_s3::Client,
    pub bucket: String,
    pub prefix: String,
}

impl DeadLetterStore for S3DeadLetters {
    fn write(&self, name: String, body: Vec<u8>) -> BoxFuture<'_, Result<(), DeadLetterError>> {
        Box::pin(async move {
            let key = format!("{}{}", self.prefix, name);
            self.client
                .put_object()
                .bucket(&self.bucket)
                .key(&key)
                .content_type("application/x-ndjson")
                .body(body.into())
                .send()
                .await
                .map(|_| ())
                .map_err(|e| DeadLetterError {
                    target: format!("s3://{}/{}", self.bucket, key),
                    message: crate::telemetry::error_chain(&e),
                })
        })
    }

    fn describe(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }
}

/// A local folder (tests, and hosts with a durable volume).
pub struct LocalDeadLetters {
    pub directory: PathBuf,
}

impl DeadLetterStore for LocalDeadLetters {
    fn write(&self, name: String, body: Vec<u8>) -> BoxFuture<'_, Result<(), DeadLetterError>> {
        Box::pin(async move {
            let path = self.directory.join(&name);
            let result = async {
                if let Some(parent) = path.parent() {
                    tokio::fs::create_dir_all(parent).await?;
                }
                // Write then rename, so a reader never sees half a batch.
                let partial = path.with_extension("ndjson.partial");
                tokio::fs::write(&partial, &body).await?;
                tokio::fs::rename(&partial, &path).await
            }
            .await;
            result.map_err(|e| DeadLetterError {
                target: path.display().to_string(),
                message: e.to_string(),
            })
        })
    }

    fn describe(&self) -> String {
        self.directory.display().to_string()
    }
}

/// A dead letter and the message it belongs to.
pub type Entry = (DeadLetter, AckGroup);

/// Sends dead letters to the writer task.
#[derive(Clone, Debug)]
pub struct DeadLetterSender {
    tx: Option<mpsc::Sender<Entry>>,
}

impl DeadLetterSender {
    /// A sender with no store: every dead letter fails its message instead, so
    /// that the queue keeps it (and its redrive policy moves it aside).
    pub fn none() -> Self {
        DeadLetterSender { tx: None }
    }

    pub fn is_configured(&self) -> bool {
        self.tx.is_some()
    }

    pub async fn send(&self, letter: DeadLetter, group: AckGroup) {
        match &self.tx {
            Some(tx) => {
                if let Err(mpsc::error::SendError((_, group))) = tx.send((letter, group)).await {
                    group.fail();
                }
            }
            None => group.fail(),
        }
    }

    /// For blocking threads.
    pub fn blocking_send(&self, letter: DeadLetter, group: AckGroup) {
        match &self.tx {
            Some(tx) => {
                if let Err(mpsc::error::SendError((_, group))) = tx.blocking_send((letter, group)) {
                    group.fail();
                }
            }
            None => group.fail(),
        }
    }
}

/// Starts the writer; it runs until every sender is dropped.
pub fn spawn_writer(store: Arc<dyn DeadLetterStore>) -> (DeadLetterSender, tokio::task::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(1024);
    let handle = tokio::spawn(run_writer(rx, store));
    (DeadLetterSender { tx: Some(tx) }, handle)
}

async fn run_writer(mut rx: mpsc::Receiver<Entry>, store: Arc<dyn DeadLetterStore>) {
    let mut batch: Vec<Entry> = Vec::new();
    loop {
        let next = if batch.is_empty() {
            rx.recv().await
        } else {
            match tokio::time::timeout(Duration::from_millis(500), rx.recv()).await {
                Ok(entry) => entry,
                Err(_) => {
                    flush(&store, &mut batch).await;
                    continue;
                }
            }
        };
        match next {
            Some(entry) => {
                batch.push(entry);
                if batch.len() >= 1000 {
                    flush(&store, &mut batch).await;
                }
            }
            None => break,
        }
    }
    flush(&store, &mut batch).await;
}

static SEQUENCE: AtomicU64 = AtomicU64::new(0);

async fn flush(store: &Arc<dyn DeadLetterStore>, batch: &mut Vec<Entry>) {
    if batch.is_empty() {
        return;
    }
    let entries = std::mem::take(batch);
    let mut body = Vec::new();
    for (letter, _) in &entries {
        body.extend_from_slice(&letter.to_line());
    }
    let now = chrono::Utc::now();
    let name = format!(
        "{}/{}-{}-{}-{}.ndjson",
        now.format("%Y/%m/%d"),
        entries[0].0.log_type,
        now.format("%Y%m%dT%H%M%S%.3fZ"),
        std::process::id(),
        SEQUENCE.fetch_add(1, Ordering::Relaxed)
    );
    let mut delays = ExponentialBuilder::default()
        .with_max_times(5)
        .with_max_delay(Duration::from_secs(10))
        .with_jitter()
        .build();
    loop {
        match store.write(name.clone(), body.clone()).await {
            Ok(()) => {
                for (letter, _group) in &entries {
                    METRICS.dead_letters.with_label_values(&[letter.log_type, "written"]).inc();
                }
                info!(count = entries.len(), store = %store.describe(), %name, "dead letters written");
                return;
            }
            Err(e) => match delays.next() {
                Some(d) => tokio::time::sleep(d).await,
                None => {
                    error!(error = %e, count = entries.len(), "dead letters could not be written; their messages stay on the queue");
                    for (letter, group) in &entries {
                        METRICS.dead_letters.with_label_values(&[letter.log_type, "failed"]).inc();
                        group.fail();
                    }
                    return;
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter(record: &[u8]) -> DeadLetter {
        DeadLetter {
            log_type: "guardduty",
            origin: RecordOrigin {
                bucket: "b".into(),
                key: "k".into(),
                ordinal: 3,
            },
            index: Some("siem-guardduty-2026.11".into()),
            id: Some("abc".into()),
            status: Some(400),
            error_type: "mapper_parsing_exception".into(),
            reason: "failed to parse".into(),
            record: record.to_vec(),
        }
    }

    fn parse(line: &[u8]) -> Value {
        assert_eq!(line.last(), Some(&b'\n'));
        serde_json::from_slice(line).expect("a JSON line")
    }

    #[test]
    fn a_dead_letter_names_origin_target_and_reason() {
        let v = parse(&letter(br#"{"a":1}"#).to_line());
        assert_eq!(v["record"], json!({"a": 1}));
        assert_eq!(v["bucket"], "b");
        assert_eq!(v["key"], "k");
        assert_eq!(v["ordinal"], 3);
        assert_eq!(v["index"], "siem-guardduty-2026.11");
        assert_eq!(v["id"], "abc");
        assert_eq!(v["status"], 400);
        assert_eq!(v["error_type"], "mapper_parsing_exception");
        assert_eq!(v["reason"], "failed to parse");
    }

    #[test]
    fn text_records_are_strings_and_binary_records_base64() {
        assert_eq!(parse(&letter(b"not json").to_line())["record"], "not json");
        let v = parse(&letter(b"\xff\xfe!").to_line());
        assert_eq!(v["record_base64"], "//4h");
        assert!(v.get("record").is_none());
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"a"), "YQ==");
    }

    #[tokio::test]
    async fn without_a_store_a_dead_letter_fails_its_message() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let group = AckGroup::new("r".into(), "m".into(), None, Arc::default(), tx);
        DeadLetterSender::none().send(letter(b"x"), group.clone()).await;
        drop(group);
        assert_eq!(rx.recv().await.expect("completion").outcome, crate::ack::Outcome::Failed);
    }

    #[tokio::test]
    async fn a_written_dead_letter_completes_its_message() {
        let dir = std::env::temp_dir().join(format!("siem-dl-{}", std::process::id()));
        let (sender, writer) = spawn_writer(Arc::new(LocalDeadLetters { directory: dir.clone() }));
        let (tx, mut rx) = mpsc::unbounded_channel();
        sender
            .send(letter(b"{}"), AckGroup::new("r".into(), "m".into(), None, Arc::default(), tx))
            .await;
        drop(sender);
        writer.await.expect("writer ends");
        assert_eq!(rx.recv().await.expect("completion").outcome, crate::ack::Outcome::Complete);
        let _ = std::fs::remove_dir_all(dir);
    }
}
