//! The dead-letter store: where a record that can never be indexed goes, with
//! the reason, so that nothing is lost and nothing blocks its message forever.
//!
//! A dead letter is one NDJSON line: the original record, byte for byte (as
//! the JSON it is when it is one line of JSON other than a string, as a
//! string when it is text, base64 otherwise), where it came from
//! (bucket, key, ordinal), where it was going (index, `_id`), and why it did
//! not get there (HTTP status, error type, reason). Lines are written in
//! batches, to an S3 prefix (`s3://bucket/prefix/`) or a local folder, under
//! `<prefix>YYYY/MM/DD/<log type>-<time>-<writer>-<n>.ndjson`, where `<writer>` is
//! random per process, so that tasks writing at the same moment never collide.
//!
//! A record over `pipeline.max_record_bytes` is not held in memory: it was
//! kept in a temporary file while it was read, and it is stored as it was
//! read, beside its batch, as `<batch>-<i>.record`; the letter names it in
//! `record_object` (relative to the store, like the batch).
//!
//! A record's message is acknowledged only after its dead letter is written:
//! the writer holds the record's [`Pending`] until the store confirms, and
//! fails it if the store keeps refusing.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use base64::Engine;
use base64::prelude::BASE64_STANDARD;
use futures::future::BoxFuture;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::bulk::ItemError;
use crate::ack::Pending;
use crate::batch::{BatchLimits, Batches};
use crate::budget::Share;
use crate::decode::FrameError;
use crate::document::{Document, ObjectIdentity, RecordOrigin};
use crate::read::RecordError;
use crate::telemetry::events::{DeadLettersStored, Emit};
use crate::temp_file::TempFile;

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
    /// The record as it was read.
    pub record: Vec<u8>,
    /// For a record too long to hold in memory: where it lies in the
    /// decompressed object, `(offset, length)`.
    pub record_location: Option<(u64, usize)>,
    /// The same record, whole, in a temporary file (when the disk took it).
    pub kept_record: Option<TempFile>,
    /// Where the writer stored `kept_record`, relative to the store.
    pub record_object: Option<String>,
}

impl DeadLetter {
    /// The letter of a record that did not become a document, or `None` when
    /// there is no record to keep: the stream itself broke off, and the whole
    /// object must be read again.
    pub fn for_record(
        log_type: &'static str,
        identity: &Arc<ObjectIdentity>,
        error: RecordError,
    ) -> Option<DeadLetter> {
        let error_type = error.label().to_owned();
        let reason = error.to_string();
        let (ordinal, record, record_location, kept_record) = match error {
            RecordError::Normalize { ordinal, frame, .. } => (ordinal, frame, None, None),
            RecordError::Frame(FrameError::TooLong {
                ordinal,
                offset,
                len,
                kept,
                ..
            }) => (ordinal, Vec::new(), Some((offset, len)), kept),
            RecordError::Frame(FrameError::Garbage { ordinal, bytes, .. }) => {
                (ordinal, bytes, None, None)
            }
            RecordError::Frame(FrameError::Io { .. } | FrameError::Structure { .. }) => {
                return None;
            }
        };
        Some(DeadLetter {
            log_type,
            origin: RecordOrigin {
                object: identity.clone(),
                ordinal,
            },
            index: None,
            id: None,
            status: None,
            error_type,
            reason,
            record,
            record_location,
            kept_record,
            record_object: None,
        })
    }

    /// The bytes this letter holds until written, in memory or on disk.
    pub fn weight(&self) -> usize {
        let kept = self
            .record_location
            .filter(|_| self.kept_record.is_some())
            .map_or(0, |(_, len)| len);
        self.record.len() + kept
    }

    /// The letter of a document OpenSearch refused, with its record as it was
    /// read (not the document made of it): what a fix and a redrive need.
    pub fn rejected(doc: &Document, status: u16, error: Option<&ItemError>) -> DeadLetter {
        DeadLetter {
            log_type: doc.log_type,
            origin: doc.origin.clone(),
            index: Some(doc.index.clone()),
            id: Some(doc.id.clone()),
            status: Some(status),
            error_type: error.map_or_else(|| "rejected".to_owned(), |e| e.kind.clone()),
            reason: error
                .and_then(|e| e.reason.clone())
                .unwrap_or_else(|| format!("status {status}")),
            record: doc.record.to_vec(),
            record_location: None,
            kept_record: None,
            record_object: None,
        }
    }

    /// The NDJSON line, newline included.
    pub fn to_line(&self) -> Vec<u8> {
        let mut v = json!({
            "time": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "log_type": self.log_type,
            "bucket": self.origin.object.bucket,
            "key": self.origin.object.key,
            "version": self.origin.object.version,
            "written_at": self.origin.object.written_at.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
            "ordinal": self.origin.ordinal,
            "index": self.index,
            "id": self.id,
            "status": self.status,
            "error_type": self.error_type,
            "reason": self.reason,
        });
        let json = as_json(&self.record);
        if json.is_none() {
            match std::str::from_utf8(&self.record) {
                Ok(text) => v["record"] = Value::String(text.to_owned()),
                Err(_) => {
                    v["record_base64"] = Value::String(BASE64_STANDARD.encode(&self.record));
                }
            }
        }
        if let Some((offset, length)) = self.record_location {
            // Too long to hold in memory: the bytes are in `record_object`,
            // and in the object, decompressed, at `offset`
            // (`gzip -dc OBJECT | tail -c +$((offset + 1)) | head -c length`).
            v["record_location"] = json!({"decompressed_offset": offset, "length": length});
        }
        if let Some(name) = &self.record_object {
            v["record_object"] = json!(name);
        }
        let mut line = serde_json::to_vec(&v).unwrap_or_default();
        if let Some(json) = json {
            // As read, not parsed and written again: that would reorder keys,
            // drop repeated ones and round numbers beyond a double.
            line.pop();
            line.extend_from_slice(b",\"record\":");
            line.extend_from_slice(json.get().as_bytes());
            line.push(b'}');
        }
        line.push(b'\n');
        line
    }
}

/// The record itself, when it can stand in a letter as the JSON it is and
/// read back byte for byte: valid JSON on one line, without surrounding
/// whitespace, not a string (which would read back as a text record) and not
/// `null` (which would read back as no record at all).
fn as_json(record: &[u8]) -> Option<&serde_json::value::RawValue> {
    let text = std::str::from_utf8(record).ok()?;
    if text.starts_with('"') || text == "null" || text.contains(['\n', '\r']) {
        return None;
    }
    serde_json::from_str::<&serde_json::value::RawValue>(text)
        .ok()
        .filter(|raw| raw.get() == text)
}

#[derive(Debug, thiserror::Error)]
#[error("dead letters at {target}: {message}")]
pub struct DeadLetterError {
    pub target: String,
    pub message: String,
}

/// Somewhere dead letters can be written, and read back by a redrive.
pub trait DeadLetterStore: Send + Sync + 'static {
    /// Writes one batch as one object or file named `name` (relative).
    fn write(&self, name: String, body: Vec<u8>) -> BoxFuture<'_, Result<(), DeadLetterError>>;
    /// Writes the file at `from` as `name`; the S3 and local stores do it
    /// without reading the file into memory.
    fn write_file(
        &self,
        name: String,
        from: PathBuf,
    ) -> BoxFuture<'_, Result<(), DeadLetterError>> {
        Box::pin(async move {
            let body = tokio::fs::read(&from).await.map_err(|e| DeadLetterError {
                target: from.display().to_string(),
                message: e.to_string(),
            })?;
            self.write(name, body).await
        })
    }
    fn describe(&self) -> String;
    /// The names of every file of letters, in order.
    fn list(&self) -> BoxFuture<'_, Result<Vec<String>, DeadLetterError>> {
        Box::pin(async move { Err(self.unreadable()) })
    }
    /// One file of letters.
    fn read(&self, name: String) -> BoxFuture<'_, Result<Vec<u8>, DeadLetterError>> {
        let _ = name;
        Box::pin(async move { Err(self.unreadable()) })
    }
    #[doc(hidden)]
    fn unreadable(&self) -> DeadLetterError {
        DeadLetterError {
            target: self.describe(),
            message: "this store cannot be read back".into(),
        }
    }
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

    fn write_file(
        &self,
        name: String,
        from: PathBuf,
    ) -> BoxFuture<'_, Result<(), DeadLetterError>> {
        Box::pin(async move {
            let key = format!("{}{}", self.prefix, name);
            let error = |message: String| DeadLetterError {
                target: format!("s3://{}/{}", self.bucket, key),
                message,
            };
            let body = aws_sdk_s3::primitives::ByteStream::from_path(&from)
                .await
                .map_err(|e| error(e.to_string()))?;
            self.client
                .put_object()
                .bucket(&self.bucket)
                .key(&key)
                .content_type("application/octet-stream")
                .body(body)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| error(crate::telemetry::error_chain(&e)))
        })
    }

    fn describe(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<String>, DeadLetterError>> {
        Box::pin(async move {
            let mut names = Vec::new();
            let mut pages = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(&self.prefix)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| DeadLetterError {
                    target: self.describe(),
                    message: crate::telemetry::error_chain(&e),
                })?;
                names.extend(
                    page.contents()
                        .iter()
                        .filter_map(|o| o.key())
                        .filter(|k| k.ends_with(".ndjson"))
                        .filter_map(|k| k.strip_prefix(self.prefix.as_str()))
                        .map(str::to_owned),
                );
            }
            names.sort();
            Ok(names)
        })
    }

    fn read(&self, name: String) -> BoxFuture<'_, Result<Vec<u8>, DeadLetterError>> {
        Box::pin(async move {
            let key = format!("{}{}", self.prefix, name);
            let error = |message: String| DeadLetterError {
                target: format!("s3://{}/{}", self.bucket, key),
                message,
            };
            let out = self
                .client
                .get_object()
                .bucket(&self.bucket)
                .key(&key)
                .send()
                .await
                .map_err(|e| error(crate::telemetry::error_chain(&e)))?;
            let body = out.body.collect().await.map_err(|e| error(e.to_string()))?;
            Ok(body.into_bytes().to_vec())
        })
    }
}

/// A local folder (tests, and hosts with a durable volume).
pub struct LocalDeadLetters {
    pub directory: PathBuf,
}

enum Contents {
    Bytes(Vec<u8>),
    CopyOf(PathBuf),
}

impl LocalDeadLetters {
    /// Writes then renames, so a reader never sees half a file. Synced before
    /// the rename and the folder after it: the message is deleted next, so
    /// the letter must survive a crash.
    async fn put(&self, name: &str, contents: Contents) -> Result<(), DeadLetterError> {
        let path = self.directory.join(name);
        let result = async {
            if let Some(parent) = path.parent() {
                tokio::fs::create_dir_all(parent).await?;
            }
            let mut partial = path.clone().into_os_string();
            partial.push(".partial");
            let partial = PathBuf::from(partial);
            match contents {
                Contents::Bytes(body) => {
                    let mut file = tokio::fs::File::create(&partial).await?;
                    tokio::io::AsyncWriteExt::write_all(&mut file, &body).await?;
                    file.sync_all().await?;
                }
                Contents::CopyOf(from) => {
                    tokio::fs::copy(&from, &partial).await?;
                    tokio::fs::File::open(&partial).await?.sync_all().await?;
                }
            }
            tokio::fs::rename(&partial, &path).await?;
            match path.parent() {
                Some(folder) => tokio::fs::File::open(folder).await?.sync_all().await,
                None => Ok(()),
            }
        }
        .await;
        result.map_err(|e| DeadLetterError {
            target: path.display().to_string(),
            message: e.to_string(),
        })
    }
}

impl DeadLetterStore for LocalDeadLetters {
    fn write(&self, name: String, body: Vec<u8>) -> BoxFuture<'_, Result<(), DeadLetterError>> {
        Box::pin(async move { self.put(&name, Contents::Bytes(body)).await })
    }

    fn write_file(
        &self,
        name: String,
        from: PathBuf,
    ) -> BoxFuture<'_, Result<(), DeadLetterError>> {
        Box::pin(async move { self.put(&name, Contents::CopyOf(from)).await })
    }

    fn describe(&self) -> String {
        self.directory.display().to_string()
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<String>, DeadLetterError>> {
        Box::pin(async move {
            let error = |e: std::io::Error| DeadLetterError {
                target: self.describe(),
                message: e.to_string(),
            };
            let mut names = Vec::new();
            let mut folders = vec![self.directory.clone()];
            while let Some(folder) = folders.pop() {
                let mut entries = tokio::fs::read_dir(&folder).await.map_err(error)?;
                while let Some(entry) = entries.next_entry().await.map_err(error)? {
                    let path = entry.path();
                    if entry.file_type().await.map_err(error)?.is_dir() {
                        folders.push(path);
                    } else if path.extension().is_some_and(|e| e == "ndjson")
                        && let Ok(relative) = path.strip_prefix(&self.directory)
                    {
                        names.push(relative.to_string_lossy().into_owned());
                    }
                }
            }
            names.sort();
            Ok(names)
        })
    }

    fn read(&self, name: String) -> BoxFuture<'_, Result<Vec<u8>, DeadLetterError>> {
        Box::pin(async move {
            let path = self.directory.join(&name);
            tokio::fs::read(&path).await.map_err(|e| DeadLetterError {
                target: path.display().to_string(),
                message: e.to_string(),
            })
        })
    }
}

/// The store `config` names, if any; `s3` makes the S3 client when needed.
pub fn open_store(
    config: &crate::config::DeadLetterConfig,
    s3: impl FnOnce() -> aws_sdk_s3::Client,
) -> Option<Arc<dyn DeadLetterStore>> {
    use crate::config::DeadLetterConfig;
    match config {
        DeadLetterConfig::None => None,
        DeadLetterConfig::S3 { bucket, prefix } => Some(Arc::new(S3DeadLetters {
            client: s3(),
            bucket: bucket.clone(),
            prefix: prefix.clone(),
        })),
        DeadLetterConfig::Directory(directory) => Some(Arc::new(LocalDeadLetters {
            directory: directory.clone(),
        })),
    }
}

/// A dead letter on its way to the store.
#[derive(Debug)]
pub struct Entry {
    pub letter: DeadLetter,
    /// Its piece of the message it belongs to, done once the store has it.
    pub pending: Pending,
    /// Its share of `pipeline.max_bytes_in_flight`, held until written.
    pub share: Option<Share>,
}

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

    pub async fn send(&self, entry: Entry) {
        match &self.tx {
            // A closed channel hands the entry back, and dropping its
            // `Pending` fails the message.
            Some(tx) => drop(tx.send(entry).await),
            None => entry.pending.fail(),
        }
    }

    /// For blocking threads.
    pub fn blocking_send(&self, entry: Entry) {
        match &self.tx {
            Some(tx) => drop(tx.blocking_send(entry)),
            None => entry.pending.fail(),
        }
    }
}

/// How many letters one file holds, and how long the first waits for others.
const LETTERS_PER_FILE: BatchLimits = BatchLimits {
    max_items: 1000,
    max_weight: usize::MAX,
    linger: Duration::from_millis(500),
};

/// Starts the writer; it runs until every sender is dropped.
pub fn spawn_writer(
    store: Arc<dyn DeadLetterStore>,
) -> (DeadLetterSender, tokio::task::JoinHandle<()>) {
    let (sender, writer) = writer(store);
    (sender, tokio::spawn(writer))
}

/// The sender and the writer, for the caller to run; it ends when every
/// sender is dropped.
pub fn writer(
    store: Arc<dyn DeadLetterStore>,
) -> (
    DeadLetterSender,
    impl std::future::Future<Output = ()> + Send,
) {
    let (tx, rx) = mpsc::channel(1024);
    (DeadLetterSender { tx: Some(tx) }, run_writer(rx, store))
}

async fn run_writer(rx: mpsc::Receiver<Entry>, store: Arc<dyn DeadLetterStore>) {
    let mut batches = Batches::new(rx, LETTERS_PER_FILE, |_: &Entry| 1);
    while let Some(batch) = batches.next().await {
        write(&store, batch).await;
    }
}

/// Tells apart the files of tasks that write at the same millisecond: every
/// container is PID 1, so the process id cannot.
static WRITER_ID: LazyLock<String> = LazyLock::new(|| {
    use std::hash::BuildHasher;
    let seed = std::collections::hash_map::RandomState::new().hash_one(std::process::id());
    format!("{seed:016x}")
});
static SEQUENCE: AtomicU64 = AtomicU64::new(0);

/// The name of the next file: `YYYY/MM/DD/<log type>-<time>-<writer>-<n>.ndjson`.
fn file_name(log_type: &str) -> String {
    let now = chrono::Utc::now();
    format!(
        "{}/{}-{}-{}-{}.ndjson",
        now.format("%Y/%m/%d"),
        log_type,
        now.format("%Y%m%dT%H%M%S%.3fZ"),
        *WRITER_ID,
        SEQUENCE.fetch_add(1, Ordering::Relaxed)
    )
}

/// Writes one batch as one file; each letter's piece of its message is done
/// once the store has it, and fails if the store keeps refusing.
async fn write(store: &Arc<dyn DeadLetterStore>, entries: Vec<Entry>) {
    let Some(first) = entries.first() else {
        return;
    };
    let name = file_name(first.letter.log_type);
    let log_types: Vec<&'static str> = entries.iter().map(|e| e.letter.log_type).collect();
    let mut entries = entries;
    let result = async {
        // Records kept whole go first: a letter never names a missing object.
        let stem = name.strip_suffix(".ndjson").unwrap_or(&name);
        for (i, entry) in entries.iter_mut().enumerate() {
            if let Some(kept) = &entry.letter.kept_record {
                let record_name = format!("{stem}-{i}.record");
                let from = kept.path().to_path_buf();
                with_retries(|| store.write_file(record_name.clone(), from.clone())).await?;
                entry.letter.record_object = Some(record_name);
            }
        }
        let mut body = Vec::new();
        for entry in &entries {
            body.extend_from_slice(&entry.letter.to_line());
        }
        with_retries(|| store.write(name.clone(), body.clone())).await
    }
    .await;
    DeadLettersStored {
        log_types: &log_types,
        store: &store.describe(),
        name: &name,
        error: result.as_ref().err().map(|e| e as &dyn std::fmt::Display),
    }
    .emit();
    for entry in entries {
        match result {
            Ok(()) => entry.pending.done(),
            Err(_) => entry.pending.fail(),
        }
    }
}

/// A store call, tried again a few times over about half a minute.
async fn with_retries<'a>(
    mut call: impl FnMut() -> BoxFuture<'a, Result<(), DeadLetterError>>,
) -> Result<(), DeadLetterError> {
    let mut delays = ExponentialBuilder::default()
        .with_max_times(5)
        .with_max_delay(Duration::from_secs(10))
        .with_jitter()
        .build();
    loop {
        match call().await {
            Ok(()) => return Ok(()),
            Err(e) => match delays.next() {
                Some(d) => tokio::time::sleep(d).await,
                None => return Err(e),
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
                object: Arc::new(ObjectIdentity {
                    bucket: "b".into(),
                    key: "k".into(),
                    version: "v1".into(),
                    written_at: None,
                }),
                ordinal: 3,
            },
            index: Some("siem-guardduty-2026.11".into()),
            id: Some("abc".into()),
            status: Some(400),
            error_type: "mapper_parsing_exception".into(),
            reason: "failed to parse".into(),
            record: record.to_vec(),
            record_location: None,
            kept_record: None,
            record_object: None,
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
        assert_eq!(v["version"], "v1");
        assert_eq!(v["ordinal"], 3);
        assert_eq!(v["index"], "siem-guardduty-2026.11");
        assert_eq!(v["id"], "abc");
        assert_eq!(v["status"], 400);
        assert_eq!(v["error_type"], "mapper_parsing_exception");
        assert_eq!(v["reason"], "failed to parse");
    }

    #[test]
    fn a_json_record_is_kept_as_read_not_as_parsed() {
        // Parsed and written again, a record lost repeated keys, the order
        // of its keys and the digits of numbers beyond a double.
        let record = br#"{"z":1,"a":2,"a":3,"n":123456789012345678901234567890}"#;
        let line = letter(record).to_line();
        let text = std::str::from_utf8(&line).expect("a text line");
        assert!(
            text.contains(std::str::from_utf8(record).expect("text")),
            "{text}"
        );
        assert_eq!(parse(&line)["record"]["z"], 1);
    }

    #[test]
    fn a_json_string_null_or_multi_line_record_is_kept_as_text() {
        // A JSON string stored as JSON read back as the text without its quotes.
        assert_eq!(parse(&letter(br#""abc""#).to_line())["record"], r#""abc""#);
        // `null` stored as JSON reads back as a letter without a record.
        assert_eq!(parse(&letter(b"null").to_line())["record"], "null");
        assert_eq!(
            parse(&letter(b"{\n \"a\": 1\n}").to_line())["record"],
            "{\n \"a\": 1\n}"
        );
    }

    #[test]
    fn text_records_are_strings_and_binary_records_base64() {
        assert_eq!(parse(&letter(b"not json").to_line())["record"], "not json");
        let v = parse(&letter(b"\xff\xfe!").to_line());
        assert_eq!(v["record_base64"], "//4h");
        assert!(v.get("record").is_none());
    }

    fn pending() -> (Pending, mpsc::UnboundedReceiver<crate::ack::Completion>) {
        let (in_flight, rx) = crate::ack::InFlight::new();
        let message = crate::source::Message {
            message_id: "m".into(),
            receipt_handle: "r".into(),
            body: String::new(),
            sent_at: None,
            receive_count: 1,
        };
        (in_flight.receive(&message), rx)
    }

    #[tokio::test]
    async fn without_a_store_a_dead_letter_fails_its_message() {
        let (pending, mut rx) = pending();
        DeadLetterSender::none()
            .send(Entry {
                letter: letter(b"x"),
                pending,
                share: None,
            })
            .await;
        assert_eq!(
            rx.recv().await.expect("completion").outcome,
            crate::ack::Outcome::Failed
        );
    }

    #[tokio::test]
    async fn a_written_dead_letter_completes_its_message() {
        let dir = std::env::temp_dir().join(format!("siem-dl-{}", std::process::id()));
        let (sender, writer) = spawn_writer(Arc::new(LocalDeadLetters {
            directory: dir.clone(),
        }));
        let (pending, mut rx) = pending();
        sender
            .send(Entry {
                letter: letter(b"{}"),
                pending,
                share: None,
            })
            .await;
        drop(sender);
        writer.await.expect("writer ends");
        assert_eq!(
            rx.recv().await.expect("completion").outcome,
            crate::ack::Outcome::Complete
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn a_record_too_long_for_memory_is_stored_whole_beside_its_letter() {
        let dir = std::env::temp_dir().join(format!("siem-dl-long-{}", std::process::id()));
        let (sender, writer) = spawn_writer(Arc::new(LocalDeadLetters {
            directory: dir.clone(),
        }));
        let record = format!("{{\"padding\":\"{}\"}}", "x".repeat(100_000));
        let (kept, mut file) = TempFile::create("test-record").expect("temp file");
        std::io::Write::write_all(&mut file, record.as_bytes()).expect("write");
        let kept_path = kept.path().to_path_buf();
        let mut long = letter(b"");
        long.record_location = Some((1234, record.len()));
        long.kept_record = Some(kept);
        let (pending, mut rx) = pending();
        for l in [letter(b"{}"), long] {
            sender
                .send(Entry {
                    letter: l,
                    pending: pending.split(),
                    share: None,
                })
                .await;
        }
        pending.done();
        drop(sender);
        writer.await.expect("writer ends");
        assert_eq!(
            rx.recv().await.expect("completion").outcome,
            crate::ack::Outcome::Complete
        );

        let store = LocalDeadLetters {
            directory: dir.clone(),
        };
        let names = store.list().await.expect("list");
        assert_eq!(
            names.len(),
            1,
            "one batch; the record is not a batch: {names:?}"
        );
        let body = store.read(names[0].clone()).await.expect("read");
        let lines: Vec<Value> = body
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).expect("JSON"))
            .collect();
        assert!(lines[0].get("record_object").is_none());
        let name = lines[1]["record_object"]
            .as_str()
            .expect("the letter names its record");
        assert_eq!(
            name,
            format!(
                "{}-1.record",
                names[0].strip_suffix(".ndjson").expect("ndjson")
            )
        );
        assert_eq!(
            lines[1]["record_location"],
            json!({"decompressed_offset": 1234, "length": record.len()})
        );
        let stored = store.read(name.to_owned()).await.expect("the record");
        assert_eq!(stored, record.as_bytes(), "byte for byte");
        assert!(
            !kept_path.exists(),
            "the temporary copy is gone once stored"
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}
