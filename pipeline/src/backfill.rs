//! Backfill: index the objects already in a bucket, through exactly the read
//! path and document ids of the live service.
//!
//! A backfill is the pipeline itself, fed by a [`ListingQueue`] instead of
//! SQS: the queue lists `s3://bucket/prefix` page by page, hands out each
//! object that is in scope as an S3 event notification, and takes a deleted
//! message as "this object is done" (every record indexed or dead-lettered,
//! as for a live message). Ids are the live service's, so a backfill that
//! overlaps the live queue, or runs twice, adds no document.
//!
//! ```text
//! ListObjectsV2 (pages, in key order) ─▶ Scope (prefix, dates, log type)
//!   ─▶ ListingQueue::receive ─▶ pipeline (read, normalize, enrich, bulk, dead letters)
//!   ─▶ ListingQueue::delete_batch ─▶ Checkpoint (saved after every batch)
//! ```
//!
//! The [`Checkpoint`] keeps the last key up to which every object is over,
//! the keys done beyond it (at most the objects in flight) and the objects
//! that failed: a run started again with the same file skips what is done and
//! reads the failed ones again. An object fails as a message would come back
//! on SQS: released by the pipeline, or neither done nor heartbeated for the
//! visibility timeout. Memory holds one listing page and the objects in
//! flight, whatever the bucket's size.

use std::collections::{BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::NaiveDate;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::log_types;
use crate::source::{Message, Queue, QueueAttributes, QueueError};

/// Which objects a backfill reads.
#[derive(Debug, Clone)]
pub struct Scope {
    pub bucket: String,
    pub prefix: String,
    /// First day included (the date in the object's key, else its
    /// Last-Modified date).
    pub since: Option<NaiveDate>,
    /// Last day included.
    pub until: Option<NaiveDate>,
    /// Only the objects that route to this log type (a registered name).
    pub log_type: Option<&'static str>,
}

#[derive(Debug, thiserror::Error)]
pub enum BackfillError {
    #[error("{url:?} is not an s3://bucket/prefix URL")]
    Url { url: String },
    #[error("listing s3://{bucket}/{prefix}: {message}")]
    List {
        bucket: String,
        prefix: String,
        message: String,
    },
    #[error("checkpoint {path}: {message}")]
    Checkpoint { path: PathBuf, message: String },
}

impl Scope {
    /// `s3://bucket/prefix` (the prefix may be empty).
    pub fn parse_url(url: &str) -> Result<(String, String), BackfillError> {
        let bad = || BackfillError::Url {
            url: url.to_owned(),
        };
        let rest = url.strip_prefix("s3://").ok_or_else(bad)?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(bad());
        }
        Ok((bucket.to_owned(), prefix.to_owned()))
    }

    /// Why `object` is not read, or `None` when it is.
    pub fn excludes(&self, object: &Listed) -> Option<Skip> {
        let Some(log_type) = log_types::route(&object.key) else {
            return Some(Skip::Unrouted);
        };
        if self.log_type.is_some_and(|t| t != log_type.name()) {
            return Some(Skip::OtherLogType);
        }
        if self.since.is_some() || self.until.is_some() {
            let day = key_date(&object.key).or(object.last_modified);
            let before = self.since.is_some_and(|s| day.is_none_or(|d| d < s));
            let after = self.until.is_some_and(|u| day.is_none_or(|d| d > u));
            if before || after {
                return Some(Skip::OutOfDates);
            }
        }
        None
    }

    /// A name for this scope's checkpoint file, the same for the same
    /// command.
    pub fn checkpoint_name(&self) -> String {
        let described = format!(
            "{}\0{}\0{:?}\0{:?}\0{}",
            self.bucket,
            self.prefix,
            self.since,
            self.until,
            self.log_type.unwrap_or("")
        );
        let hash = blake3::hash(described.as_bytes()).to_hex();
        format!("backfill-{}-{}.checkpoint.json", self.bucket, &hash[..12])
    }
}

/// Why an object listed is not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// No log type takes its key.
    Unrouted,
    /// Another log type than `--log-type`.
    OtherLogType,
    /// Outside `--since`/`--until`.
    OutOfDates,
}

/// The date AWS puts in a key: `…/YYYY/MM/DD/…` (CloudTrail, VPC Flow Logs,
/// GuardDuty, load balancers, WAF, Firehose), else `YYYY-MM-DD` in the
/// object's name (S3 access logs, CloudFront).
pub fn key_date(key: &str) -> Option<NaiveDate> {
    let parts: Vec<&str> = key.split('/').collect();
    for w in parts.windows(3) {
        if let [y, m, d] = w
            && y.len() == 4
            && m.len() == 2
            && d.len() == 2
            && let (Ok(y), Ok(m), Ok(d)) = (y.parse(), m.parse(), d.parse())
            && let Some(date) = NaiveDate::from_ymd_opt(y, m, d)
        {
            return Some(date);
        }
    }
    let name = parts.last()?.as_bytes();
    (0..name.len().saturating_sub(9)).find_map(|i| {
        let s = std::str::from_utf8(name.get(i..i + 10)?).ok()?;
        let b = s.as_bytes();
        let shaped = b[4] == b'-'
            && b[7] == b'-'
            && b.iter()
                .enumerate()
                .all(|(j, c)| j == 4 || j == 7 || c.is_ascii_digit());
        let boundary = i == 0 || !name[i - 1].is_ascii_digit();
        (shaped && boundary)
            .then(|| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
            .flatten()
    })
}

/// One object of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub key: String,
    pub size: u64,
    pub etag: Option<String>,
    pub last_modified: Option<NaiveDate>,
}

/// One page of a listing.
#[derive(Debug, Default)]
pub struct Page {
    pub objects: Vec<Listed>,
    /// The token of the next page; `None` on the last.
    pub next: Option<String>,
}

/// Listing a bucket (`ListObjectsV2`), in key order.
pub trait Lister: Send + Sync + 'static {
    fn page(
        &self,
        bucket: &str,
        prefix: &str,
        start_after: Option<&str>,
        token: Option<&str>,
    ) -> BoxFuture<'static, Result<Page, String>>;
}

impl Lister for aws_sdk_s3::Client {
    fn page(
        &self,
        bucket: &str,
        prefix: &str,
        start_after: Option<&str>,
        token: Option<&str>,
    ) -> BoxFuture<'static, Result<Page, String>> {
        let request = self
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .set_start_after(start_after.map(str::to_owned))
            .set_continuation_token(token.map(str::to_owned));
        Box::pin(async move {
            let out = request.send().await.map_err(|e| {
                let service = e.as_service_error().map(|s| s.to_string());
                service.unwrap_or_else(|| e.to_string())
            })?;
            let objects = out
                .contents
                .unwrap_or_default()
                .into_iter()
                .filter_map(|o| {
                    Some(Listed {
                        key: o.key?,
                        size: o.size.unwrap_or(0).max(0) as u64,
                        etag: o.e_tag,
                        last_modified: o
                            .last_modified
                            .and_then(|t| chrono::DateTime::from_timestamp(t.secs(), 0))
                            .map(|t| t.date_naive()),
                    })
                })
                .collect();
            Ok(Page {
                objects,
                next: out
                    .next_continuation_token
                    .filter(|_| out.is_truncated == Some(true)),
            })
        })
    }
}

/// What a listing holds, for `--dry-run` and the progress bar's totals.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Plan {
    pub objects: u64,
    pub bytes: u64,
    /// Done in an earlier run (the checkpoint).
    pub done: u64,
    pub unrouted: u64,
    pub other_log_type: u64,
    pub out_of_dates: u64,
    /// Objects to read, by log type.
    pub by_log_type: std::collections::BTreeMap<&'static str, u64>,
}

/// Lists the whole scope once, counting what a backfill would read.
pub async fn plan(
    lister: &dyn Lister,
    scope: &Scope,
    checkpoint: &Checkpoint,
) -> Result<Plan, BackfillError> {
    let mut plan = Plan::default();
    let mut token: Option<String> = None;
    let start_after = checkpoint.start_after();
    loop {
        let page = lister
            .page(
                &scope.bucket,
                &scope.prefix,
                start_after.as_deref(),
                token.as_deref(),
            )
            .await
            .map_err(|message| list_error(scope, message))?;
        for o in &page.objects {
            match scope.excludes(o) {
                Some(Skip::Unrouted) => plan.unrouted += 1,
                Some(Skip::OtherLogType) => plan.other_log_type += 1,
                Some(Skip::OutOfDates) => plan.out_of_dates += 1,
                None if checkpoint.is_done(&o.key) => plan.done += 1,
                None => {
                    plan.objects += 1;
                    plan.bytes += o.size;
                    if let Some(t) = log_types::route(&o.key) {
                        *plan.by_log_type.entry(t.name()).or_default() += 1;
                    }
                }
            }
        }
        match page.next {
            Some(next) => token = Some(next),
            None => return Ok(plan),
        }
    }
}

fn list_error(scope: &Scope, message: String) -> BackfillError {
    BackfillError::List {
        bucket: scope.bucket.clone(),
        prefix: scope.prefix.clone(),
        message,
    }
}

// -- checkpoint ------------------------------------------------------------------

/// What is done, saved after every batch of finished objects.
#[derive(Debug, Default, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CheckpointState {
    /// Every object in scope up to this key (in listing order) is done.
    pub done_through: Option<String>,
    /// Objects done beyond `done_through` (at most the objects in flight).
    pub done_after: BTreeSet<String>,
    /// Objects up to `done_through` that failed: a resume reads them again.
    #[serde(default)]
    pub failed: BTreeSet<String>,
}

/// A checkpoint file, or none (`--no-checkpoint`, tests).
#[derive(Debug, Default)]
pub struct Checkpoint {
    path: Option<PathBuf>,
    state: Mutex<CheckpointState>,
}

impl Checkpoint {
    /// Opens `path`, or starts afresh when it does not exist.
    pub fn open(path: &Path) -> Result<Checkpoint, BackfillError> {
        let state = match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| BackfillError::Checkpoint {
                path: path.to_owned(),
                message: format!("not a backfill checkpoint: {e}"),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => CheckpointState::default(),
            Err(e) => {
                return Err(BackfillError::Checkpoint {
                    path: path.to_owned(),
                    message: e.to_string(),
                });
            }
        };
        Ok(Checkpoint {
            path: Some(path.to_owned()),
            state: Mutex::new(state),
        })
    }

    pub fn state(&self) -> MutexGuard<'_, CheckpointState> {
        // A panic while holding the lock leaves a consistent state (each
        // update is one insert or remove).
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Where a listing starts: after `done_through`, or before the first
    /// object that failed when one did.
    fn start_after(&self) -> Option<String> {
        let s = self.state();
        if s.failed.is_empty() {
            s.done_through.clone()
        } else {
            None
        }
    }

    fn is_done(&self, key: &str) -> bool {
        let s = self.state();
        (s.done_through.as_deref().is_some_and(|k| key <= k) && !s.failed.contains(key))
            || s.done_after.contains(key)
    }

    /// Writes the state (atomically: a new file renamed over the old).
    fn save(&self) -> Result<(), BackfillError> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let bytes = serde_json::to_vec_pretty(&*self.state()).unwrap_or_default();
        let temp = path.with_extension("json.tmp");
        std::fs::write(&temp, bytes)
            .and_then(|()| std::fs::rename(&temp, path))
            .map_err(|e| BackfillError::Checkpoint {
                path: path.clone(),
                message: e.to_string(),
            })
    }

    /// The file, once every object is done: nothing is left to resume.
    pub fn remove(&self) {
        if let Some(path) = &self.path {
            let _ = std::fs::remove_file(path);
        }
    }
}

// -- the queue -------------------------------------------------------------------

/// Progress counters, read by the progress bar.
#[derive(Debug, Default)]
pub struct Progress {
    pub objects_done: AtomicU64,
    pub bytes_done: AtomicU64,
    pub objects_handed: AtomicU64,
}

/// A [`Queue`] whose messages are the objects of a listing.
pub struct ListingQueue {
    lister: Arc<dyn Lister>,
    scope: Scope,
    checkpoint: Arc<Checkpoint>,
    pub progress: Arc<Progress>,
    state: tokio::sync::Mutex<Listing>,
    /// Objects handed out, in listing order, until the ones before them are
    /// over.
    window: Mutex<VecDeque<Handed>>,
    /// Objects given up on: not done within [`GIVE_UP_AFTER`] of their last
    /// heartbeat.
    failed: Mutex<Vec<String>>,
    /// Objects per receive (SQS hands out ten at most).
    batch: usize,
}

/// An object handed out.
struct Handed {
    key: String,
    size: u64,
    state: HandedState,
    /// When it was handed out or its visibility last extended.
    seen: tokio::time::Instant,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HandedState {
    Reading,
    Done,
    Failed,
}

/// An object neither done nor heartbeated for this long has failed: on SQS
/// its message would be visible again (the pipeline's visibility timeout in
/// a backfill, [`VISIBILITY_TIMEOUT`]). It is read again by the next run.
const GIVE_UP_AFTER: Duration = VISIBILITY_TIMEOUT;

/// The visibility timeout a backfill's pipeline runs with.
pub const VISIBILITY_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Default)]
struct Listing {
    page: VecDeque<Listed>,
    token: Option<String>,
    started: bool,
    exhausted: bool,
}

/// How long a receive waits when everything has been handed out, so that
/// the receive loop does not spin while the last objects finish.
const EXHAUSTED_WAIT: Duration = Duration::from_millis(200);

impl ListingQueue {
    pub fn new(lister: Arc<dyn Lister>, scope: Scope, checkpoint: Arc<Checkpoint>) -> ListingQueue {
        ListingQueue {
            lister,
            scope,
            checkpoint,
            progress: Arc::default(),
            state: tokio::sync::Mutex::new(Listing::default()),
            window: Mutex::new(VecDeque::new()),
            failed: Mutex::new(Vec::new()),
            batch: 10,
        }
    }

    /// Hands out at most `n` objects (1 to 10) a receive: with the
    /// concurrency, what a stop waits for.
    pub fn with_batch(mut self, n: usize) -> ListingQueue {
        self.batch = n.clamp(1, 10);
        self
    }

    /// Objects handed out and not done: at the end of a run, the objects that failed.
    pub fn unfinished(&self) -> Vec<String> {
        let mut keys = self
            .failed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        keys.extend(
            self.window()
                .iter()
                .filter(|h| h.state == HandedState::Reading)
                .map(|h| h.key.clone()),
        );
        keys.sort();
        keys
    }

    fn window(&self) -> MutexGuard<'_, VecDeque<Handed>> {
        self.window.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Gives up on objects silent for [`GIVE_UP_AFTER`], and moves
    /// `done_through` past the objects at the front that are over.
    fn settle(&self, window: &mut VecDeque<Handed>) {
        let now = tokio::time::Instant::now();
        for h in window.iter_mut() {
            if h.state == HandedState::Reading && now.duration_since(h.seen) >= GIVE_UP_AFTER {
                self.give_up(h);
            }
        }
        let mut state = self.checkpoint.state();
        while window
            .front()
            .is_some_and(|h| h.state != HandedState::Reading)
        {
            if let Some(h) = window.pop_front() {
                state.done_after.remove(&h.key);
                state.done_through = Some(h.key);
            }
        }
    }

    /// The next objects in scope, at most `n`.
    async fn next_objects(&self, n: usize) -> Result<Vec<Listed>, QueueError> {
        let mut listing = self.state.lock().await;
        let mut out = Vec::new();
        while out.len() < n {
            if let Some(o) = listing.page.pop_front() {
                if self.scope.excludes(&o).is_none() && !self.checkpoint.is_done(&o.key) {
                    out.push(o);
                }
                continue;
            }
            if listing.exhausted {
                break;
            }
            if listing.started && listing.token.is_none() {
                listing.exhausted = true;
                break;
            }
            let start_after = self.checkpoint.start_after();
            let page = self
                .lister
                .page(
                    &self.scope.bucket,
                    &self.scope.prefix,
                    start_after.as_deref(),
                    listing.token.as_deref(),
                )
                .await
                .map_err(|message| QueueError {
                    operation: "ListObjectsV2",
                    queue: format!("s3://{}/{}", self.scope.bucket, self.scope.prefix),
                    message,
                })?;
            listing.started = true;
            listing.token = page.next;
            listing.page.extend(page.objects);
        }
        Ok(out)
    }

    /// Gives up on `h` for this run: the checkpoint keeps it to read again.
    fn give_up(&self, h: &mut Handed) {
        h.state = HandedState::Failed;
        self.checkpoint.state().failed.insert(h.key.clone());
        self.failed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(h.key.clone());
    }

    /// Marks `key` done; `false` when it was not handed out (or is over).
    fn finished(&self, key: &str) -> bool {
        let mut window = self.window();
        let Some(entry) = window
            .iter_mut()
            .find(|h| h.key == key && h.state == HandedState::Reading)
        else {
            return false;
        };
        entry.state = HandedState::Done;
        self.progress.objects_done.fetch_add(1, Ordering::Relaxed);
        self.progress
            .bytes_done
            .fetch_add(entry.size, Ordering::Relaxed);
        {
            let mut state = self.checkpoint.state();
            state.done_after.insert(key.to_owned());
            // Failed in an earlier run, done in this one.
            state.failed.remove(key);
        }
        self.settle(&mut window);
        true
    }
}

/// The S3 event notification a live bucket would send for `object`.
fn notification(bucket: &str, object: &Listed) -> String {
    const KEY: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'/')
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    json!({"Records": [{
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "eventName": "ObjectCreated:Backfill",
        "s3": {
            "bucket": {"name": bucket},
            "object": {
                "key": percent_encoding::utf8_percent_encode(&object.key, KEY).to_string(),
                "size": object.size,
                "eTag": object.etag.as_deref().map(|e| e.trim_matches('"')),
            }
        }
    }]})
    .to_string()
}

impl Queue for ListingQueue {
    fn receive(&self) -> BoxFuture<'_, Result<Vec<Message>, QueueError>> {
        Box::pin(async move {
            let objects = self.next_objects(self.batch).await?;
            if objects.is_empty() {
                self.settle(&mut self.window());
                tokio::time::sleep(EXHAUSTED_WAIT).await;
                return Ok(Vec::new());
            }
            let mut window = self.window();
            self.settle(&mut window);
            let messages = objects
                .into_iter()
                .map(|o| {
                    window.push_back(Handed {
                        key: o.key.clone(),
                        size: o.size,
                        state: HandedState::Reading,
                        seen: tokio::time::Instant::now(),
                    });
                    self.progress.objects_handed.fetch_add(1, Ordering::Relaxed);
                    Message {
                        message_id: o.key.clone(),
                        receipt_handle: o.key.clone(),
                        body: notification(&self.scope.bucket, &o),
                        sent_at: None,
                        receive_count: 1,
                    }
                })
                .collect();
            Ok(messages)
        })
    }

    fn delete_batch(
        &self,
        receipt_handles: Vec<String>,
    ) -> BoxFuture<'_, Result<Vec<String>, QueueError>> {
        Box::pin(async move {
            let mut unknown = Vec::new();
            for key in receipt_handles {
                if !self.finished(&key) {
                    unknown.push(key);
                }
            }
            // A checkpoint that cannot be written is not fatal to the
            // backfill: a resume reads those objects again (same ids).
            let checkpoint = self.checkpoint.clone();
            if let Ok(Err(e)) = tokio::task::spawn_blocking(move || checkpoint.save()).await {
                tracing::warn!(error = %e, "the checkpoint was not saved");
            }
            Ok(unknown)
        })
    }

    fn change_visibility(
        &self,
        receipt_handle: String,
        timeout_secs: i32,
    ) -> BoxFuture<'_, Result<(), QueueError>> {
        // A heartbeat: the object is still being read. A release (0): it
        // will not be, in this run; the next one reads it again.
        let mut window = self.window();
        if let Some(h) = window
            .iter_mut()
            .find(|h| h.key == receipt_handle && h.state == HandedState::Reading)
        {
            if timeout_secs > 0 {
                h.seen = tokio::time::Instant::now();
            } else {
                self.give_up(h);
            }
        }
        self.settle(&mut window);
        Box::pin(async { Ok(()) })
    }

    fn attributes(&self) -> BoxFuture<'_, Result<QueueAttributes, QueueError>> {
        Box::pin(async {
            Ok(QueueAttributes {
                visibility_timeout_secs: 300,
                ..QueueAttributes::default()
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bucket in memory, listed `page_size` keys at a time.
    struct Bucket {
        keys: Vec<(String, u64)>,
        page_size: usize,
    }

    impl Lister for Bucket {
        fn page(
            &self,
            _bucket: &str,
            prefix: &str,
            start_after: Option<&str>,
            token: Option<&str>,
        ) -> BoxFuture<'static, Result<Page, String>> {
            let from: usize = token.map_or(0, |t| t.parse().unwrap_or(0));
            let matching: Vec<&(String, u64)> = self
                .keys
                .iter()
                .filter(|(k, _)| k.starts_with(prefix))
                .filter(|(k, _)| start_after.is_none_or(|s| k.as_str() > s))
                .collect();
            let objects = matching
                .iter()
                .skip(from)
                .take(self.page_size)
                .map(|(k, size)| Listed {
                    key: k.clone(),
                    size: *size,
                    etag: Some("\"e\"".into()),
                    last_modified: None,
                })
                .collect();
            let next = (from + self.page_size < matching.len())
                .then(|| (from + self.page_size).to_string());
            Box::pin(async move { Ok(Page { objects, next }) })
        }
    }

    fn trail(day: u32, n: u32) -> String {
        format!(
            "AWSLogs/123456789012/CloudTrail/us-east-1/2026/11/{day:02}/123456789012_CloudTrail_us-east-1_20261101T0000Z_{n}.json.gz"
        )
    }

    fn bucket() -> Arc<Bucket> {
        let mut keys: Vec<(String, u64)> = (1..=3)
            .flat_map(|day| (0..4).map(move |n| (trail(day, n), 100)))
            .collect();
        keys.push(("AWSLogs/123456789012/unknown-service/x.gz".into(), 5));
        keys.push((
            "AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/11/02/flow.log.gz".into(),
            7,
        ));
        keys.sort();
        Arc::new(Bucket { keys, page_size: 5 })
    }

    fn scope() -> Scope {
        Scope {
            bucket: "logs".into(),
            prefix: "AWSLogs/".into(),
            since: None,
            until: None,
            log_type: None,
        }
    }

    /// The keys of one receive.
    async fn handed(queue: &ListingQueue) -> Vec<String> {
        let batch = queue.receive().await.expect("receive");
        batch.into_iter().map(|m| m.receipt_handle).collect()
    }

    async fn drain(queue: &ListingQueue) -> Vec<String> {
        let mut keys = Vec::new();
        loop {
            let batch = queue.receive().await.expect("receive");
            if batch.is_empty() {
                return keys;
            }
            keys.extend(batch.into_iter().map(|m| m.receipt_handle));
        }
    }

    #[test]
    fn dates_come_from_the_key_as_aws_writes_it() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d);
        assert_eq!(key_date(&trail(2, 0)), d(2026, 11, 2));
        assert_eq!(
            key_date("logs/2019-02-06-00-00-38-5A1B2C3D4E5F6A7B"),
            d(2019, 2, 6)
        );
        assert_eq!(
            key_date("cf/EMLARXS9EXAMPLE.2026-11-28-10.a1b2c3d4.gz"),
            d(2026, 11, 28)
        );
        assert_eq!(key_date("firehose/2026/13/01/x"), None);
        assert_eq!(key_date("no-date-here.json"), None);
    }

    #[test]
    fn a_scope_reads_routed_objects_of_its_dates_and_log_type() {
        let mut s = scope();
        let o = |key: &str| Listed {
            key: key.into(),
            size: 1,
            etag: None,
            last_modified: None,
        };
        assert_eq!(s.excludes(&o("x/unknown.bin")), Some(Skip::Unrouted));
        assert_eq!(s.excludes(&o(&trail(2, 0))), None);
        s.since = NaiveDate::from_ymd_opt(2026, 11, 2);
        s.until = NaiveDate::from_ymd_opt(2026, 11, 2);
        assert_eq!(s.excludes(&o(&trail(1, 0))), Some(Skip::OutOfDates));
        assert_eq!(s.excludes(&o(&trail(2, 0))), None);
        assert_eq!(s.excludes(&o(&trail(3, 0))), Some(Skip::OutOfDates));
        s.log_type = Some("vpcflow");
        assert_eq!(s.excludes(&o(&trail(2, 0))), Some(Skip::OtherLogType));
    }

    #[test]
    fn a_url_names_a_bucket_and_a_prefix() {
        assert_eq!(
            Scope::parse_url("s3://logs/AWSLogs/1/").expect("valid"),
            ("logs".to_owned(), "AWSLogs/1/".to_owned())
        );
        assert_eq!(
            Scope::parse_url("s3://logs").expect("valid"),
            ("logs".to_owned(), String::new())
        );
        assert!(Scope::parse_url("logs/x").is_err());
        assert!(Scope::parse_url("s3:///x").is_err());
    }

    #[tokio::test]
    async fn every_object_in_scope_is_handed_out_once_across_pages() {
        let mut s = scope();
        s.since = NaiveDate::from_ymd_opt(2026, 11, 2);
        let queue = ListingQueue::new(bucket(), s.clone(), Arc::default());
        let keys = drain(&queue).await;
        let mut expected: Vec<String> = (2..=3)
            .flat_map(|d| (0..4).map(move |n| trail(d, n)))
            .collect();
        expected.push("AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/11/02/flow.log.gz".into());
        expected.sort();
        assert_eq!(keys, expected);
        let plan = plan(bucket().as_ref(), &s, &Checkpoint::default())
            .await
            .expect("plan");
        assert_eq!((plan.objects, plan.bytes), (9, 807));
        assert_eq!((plan.unrouted, plan.out_of_dates), (1, 4));
        assert_eq!(plan.by_log_type.get("cloudtrail"), Some(&8));
    }

    #[tokio::test]
    async fn the_checkpoint_keeps_what_is_done_and_a_resume_skips_it() {
        let dir = std::env::temp_dir().join(format!("siem-backfill-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("c.json");
        let _ = std::fs::remove_file(&path);
        let checkpoint = Arc::new(Checkpoint::open(&path).expect("new checkpoint"));
        let queue = ListingQueue::new(bucket(), scope(), checkpoint);
        let first = queue.receive().await.expect("receive");
        let keys: Vec<String> = first.iter().map(|m| m.receipt_handle.clone()).collect();
        // Done out of order: the second and the first; the third is not.
        queue
            .delete_batch(vec![keys[1].clone(), keys[0].clone(), keys[3].clone()])
            .await
            .expect("delete");
        let mut unfinished = vec![keys[2].clone()];
        unfinished.extend_from_slice(&keys[4..]);
        assert_eq!(queue.unfinished(), unfinished);
        let saved: CheckpointState =
            serde_json::from_slice(&std::fs::read(&path).expect("saved")).expect("state");
        assert_eq!(saved.done_through.as_deref(), Some(keys[1].as_str()));
        assert_eq!(saved.done_after, BTreeSet::from([keys[3].clone()]));

        // A new run from the file: neither the first two nor the fourth again.
        let resumed = ListingQueue::new(
            bucket(),
            scope(),
            Arc::new(Checkpoint::open(&path).expect("existing checkpoint")),
        );
        let again = drain(&resumed).await;
        assert_eq!(again.len(), 13 - 3, "13 objects in scope, 3 done");
        assert!(again.contains(&keys[2]) && !again.contains(&keys[3]));
        assert!(!again.contains(&keys[0]) && !again.contains(&keys[1]));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test(start_paused = true)]
    async fn an_object_silent_past_its_visibility_fails_without_holding_back_the_checkpoint() {
        let queue = ListingQueue::new(bucket(), scope(), Arc::default()).with_batch(3);
        let keys = handed(&queue).await;
        // The first is stuck (no heartbeat, never deleted); the third is
        // heartbeated and still under way; the second is done.
        tokio::time::advance(GIVE_UP_AFTER / 2).await;
        queue
            .change_visibility(keys[2].clone(), 300)
            .await
            .expect("heartbeat");
        queue
            .delete_batch(vec![keys[1].clone()])
            .await
            .expect("delete");
        tokio::time::advance(GIVE_UP_AFTER / 2).await;
        let next = queue.receive().await.expect("receive");
        assert_eq!(next.len(), 3);
        assert_eq!(queue.unfinished()[..2], [keys[0].clone(), keys[2].clone()]);
        let state = queue.checkpoint.state().clone();
        assert_eq!(state.done_through.as_deref(), Some(keys[1].as_str()));
        assert_eq!(state.failed, BTreeSet::from([keys[0].clone()]));
        drop(queue);

        // A resume reads the failed one again, and what was not done.
        let resumed = ListingQueue::new(
            bucket(),
            scope(),
            Arc::new(Checkpoint {
                path: None,
                state: Mutex::new(state),
            }),
        );
        let again = drain(&resumed).await;
        assert!(again.contains(&keys[0]) && again.contains(&keys[2]));
        assert!(!again.contains(&keys[1]));
        assert_eq!(again.len(), 13 - 1);
        resumed.delete_batch(again).await.expect("delete");
        let state = resumed.checkpoint.state();
        assert!(state.failed.is_empty(), "done in the resumed run");
        assert!(state.done_after.is_empty());
    }

    #[tokio::test]
    async fn a_released_object_fails_at_once() {
        let queue = ListingQueue::new(bucket(), scope(), Arc::default()).with_batch(2);
        let keys = handed(&queue).await;
        queue
            .change_visibility(keys[0].clone(), 0)
            .await
            .expect("release");
        queue
            .delete_batch(vec![keys[1].clone()])
            .await
            .expect("delete");
        assert_eq!(queue.unfinished(), vec![keys[0].clone()]);
        assert_eq!(
            queue.checkpoint.state().done_through.as_deref(),
            Some(keys[1].as_str())
        );
    }

    #[test]
    fn a_key_is_encoded_as_s3_encodes_it_and_decodes_back() {
        let object = Listed {
            key: "logs/a b+c/ü%.gz".into(),
            size: 3,
            etag: Some("\"abc\"".into()),
            last_modified: None,
        };
        let body = notification("b", &object);
        let Ok(crate::source::Notification::Objects(objects)) =
            crate::source::notification::parse(&body)
        else {
            panic!("{body}")
        };
        assert_eq!(objects[0].key, "logs/a b+c/ü%.gz");
        assert_eq!(objects[0].bucket, "b");
    }
}
