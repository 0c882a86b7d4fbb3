//! In-memory [`Queue`] and [`ObjectStore`], for tests that specify delivery in
//! milliseconds (with `tokio::time::pause()`) rather than against SQS and S3.
//!
//! The queue keeps SQS's rules that delivery depends on: a received message is
//! hidden for the visibility timeout and then delivered again with a new
//! receipt handle; only the latest receipt handle deletes or changes it. Faults
//! can be injected into visibility changes. The end-to-end tests prove the same
//! behaviours against the real services; these fakes never replace them.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use futures::future::BoxFuture;
use tokio::time::Instant;

use super::{
    Message, ObjectBody, ObjectError, ObjectRef, ObjectStore, Queue, QueueAttributes, QueueError,
};

#[derive(Debug)]
struct Stored {
    id: String,
    body: String,
    visible_at: Instant,
    /// The receipt handle of the latest receive, if any.
    receipt: Option<String>,
    receive_count: u32,
}

#[derive(Debug, Default)]
struct State {
    messages: BTreeMap<u64, Stored>,
    deleted: Vec<String>,
    visibility_changes: u64,
    fail_visibility_changes: u32,
    hang_visibility_changes: u32,
}

/// Messages per receive, as SQS's maximum.
const MAX_MESSAGES: usize = 10;

/// A queue in memory.
#[derive(Debug)]
pub struct MemoryQueue {
    visibility_timeout: Duration,
    /// How long an empty receive waits (SQS's long poll).
    wait: Duration,
    sequence: AtomicU64,
    state: Mutex<State>,
}

impl MemoryQueue {
    pub fn new(visibility_timeout: Duration) -> Self {
        MemoryQueue {
            visibility_timeout,
            wait: Duration::from_secs(1),
            sequence: AtomicU64::new(0),
            state: Mutex::new(State::default()),
        }
    }

    /// How long an empty receive waits (SQS allows up to 20 s).
    pub fn with_wait(mut self, wait: Duration) -> Self {
        self.wait = wait;
        self
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Puts a message on the queue; returns its id.
    pub fn send(&self, body: &str) -> String {
        let n = self.sequence.fetch_add(1, Ordering::Relaxed);
        let id = format!("message-{n}");
        self.state().messages.insert(
            n,
            Stored {
                id: id.clone(),
                body: body.to_owned(),
                visible_at: Instant::now(),
                receipt: None,
                receive_count: 0,
            },
        );
        id
    }

    /// Receives what is visible now, without waiting.
    pub fn receive_now(&self) -> Vec<Message> {
        let now = Instant::now();
        let mut state = self.state();
        let mut out = Vec::new();
        for stored in state.messages.values_mut() {
            if out.len() == MAX_MESSAGES {
                break;
            }
            if stored.visible_at > now {
                continue;
            }
            let n = self.sequence.fetch_add(1, Ordering::Relaxed);
            let receipt = format!("{}-receipt-{n}", stored.id);
            stored.receipt = Some(receipt.clone());
            stored.receive_count += 1;
            stored.visible_at = now + self.visibility_timeout;
            out.push(Message {
                message_id: stored.id.clone(),
                receipt_handle: receipt,
                body: stored.body.clone(),
                sent_at: Some(SystemTime::now()),
                receive_count: stored.receive_count,
            });
        }
        out
    }

    /// Ids of the messages deleted so far, in order.
    pub fn deleted(&self) -> Vec<String> {
        self.state().deleted.clone()
    }

    /// Messages not deleted, visible or not.
    pub fn remaining(&self) -> usize {
        self.state().messages.len()
    }

    /// How many times each remaining message was received.
    pub fn receive_counts(&self) -> HashMap<String, u32> {
        self.state()
            .messages
            .values()
            .map(|m| (m.id.clone(), m.receive_count))
            .collect()
    }

    /// Visibility changes that reached the queue (failed ones included).
    pub fn visibility_changes(&self) -> u64 {
        self.state().visibility_changes
    }

    /// The next `n` visibility changes fail.
    pub fn fail_next_visibility_changes(&self, n: u32) {
        self.state().fail_visibility_changes = n;
    }

    /// The next `n` visibility changes never answer.
    pub fn hang_next_visibility_changes(&self, n: u32) {
        self.state().hang_visibility_changes = n;
    }

    fn error(operation: &'static str, message: &str) -> QueueError {
        QueueError {
            operation,
            queue: "memory".into(),
            message: message.into(),
        }
    }
}

impl Queue for MemoryQueue {
    fn receive(&self) -> BoxFuture<'_, Result<Vec<Message>, QueueError>> {
        Box::pin(async move {
            let deadline = Instant::now() + self.wait;
            loop {
                let messages = self.receive_now();
                if !messages.is_empty() || Instant::now() >= deadline {
                    return Ok(messages);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    }

    fn delete_batch(
        &self,
        receipt_handles: Vec<String>,
    ) -> BoxFuture<'_, Result<Vec<String>, QueueError>> {
        Box::pin(async move {
            let mut state = self.state();
            let mut failed = Vec::new();
            for handle in receipt_handles {
                let found = state
                    .messages
                    .iter()
                    .find(|(_, m)| m.receipt.as_deref() == Some(handle.as_str()))
                    .map(|(n, _)| *n);
                match found.and_then(|n| state.messages.remove(&n)) {
                    Some(m) => state.deleted.push(m.id),
                    None => failed.push(handle),
                }
            }
            Ok(failed)
        })
    }

    fn change_visibility(
        &self,
        receipt_handle: String,
        timeout_secs: i32,
    ) -> BoxFuture<'_, Result<(), QueueError>> {
        Box::pin(async move {
            let hang = {
                let mut state = self.state();
                state.visibility_changes += 1;
                if state.hang_visibility_changes > 0 {
                    state.hang_visibility_changes -= 1;
                    true
                } else if state.fail_visibility_changes > 0 {
                    state.fail_visibility_changes -= 1;
                    return Err(Self::error("ChangeMessageVisibility", "injected failure"));
                } else {
                    let now = Instant::now();
                    let Some(m) = state
                        .messages
                        .values_mut()
                        .find(|m| m.receipt.as_deref() == Some(receipt_handle.as_str()))
                    else {
                        return Err(Self::error(
                            "ChangeMessageVisibility",
                            "receipt handle is not current",
                        ));
                    };
                    m.visible_at =
                        now + Duration::from_secs(u64::try_from(timeout_secs).unwrap_or(0));
                    false
                }
            };
            if hang {
                std::future::pending::<()>().await;
            }
            Ok(())
        })
    }

    fn attributes(&self) -> BoxFuture<'_, Result<QueueAttributes, QueueError>> {
        Box::pin(async move {
            let now = Instant::now();
            let state = self.state();
            let visible = state
                .messages
                .values()
                .filter(|m| m.visible_at <= now)
                .count() as u64;
            Ok(QueueAttributes {
                visibility_timeout_secs: self.visibility_timeout.as_secs(),
                visible,
                in_flight: state.messages.len() as u64 - visible,
                delayed: 0,
            })
        })
    }
}

/// An S3 `ObjectCreated:Put` notification for `bucket`/`key`, as S3 sends it.
pub fn s3_notification(bucket: &str, key: &str) -> String {
    serde_json::json!({"Records": [{
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": bucket}, "object": {"key": key, "size": 1}}
    }]})
    .to_string()
}

/// Objects in memory, by bucket and key.
#[derive(Debug, Default)]
pub struct MemoryObjectStore {
    objects: Mutex<HashMap<(String, String), Vec<u8>>>,
}

impl MemoryObjectStore {
    pub fn put(&self, bucket: &str, key: &str, body: impl Into<Vec<u8>>) {
        self.objects
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert((bucket.to_owned(), key.to_owned()), body.into());
    }
}

impl ObjectStore for MemoryObjectStore {
    fn get(&self, object: &ObjectRef) -> BoxFuture<'_, Result<ObjectBody, ObjectError>> {
        let found = self
            .objects
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&(object.bucket.clone(), object.key.clone()))
            .cloned();
        let (bucket, key) = (object.bucket.clone(), object.key.clone());
        Box::pin(async move {
            let body = found.ok_or(ObjectError::NotFound { bucket, key })?;
            let etag = format!("\"{}\"", blake3::hash(&body).to_hex());
            Ok(ObjectBody {
                reader: Box::new(std::io::Cursor::new(body)),
                content_encoding: None,
                content_type: None,
                etag: Some(etag),
                version_id: None,
                last_modified: None,
            })
        })
    }
}
