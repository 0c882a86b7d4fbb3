//! Sends one batch to `_bulk` and settles every document in it.
//!
//! - A request that fails as a whole (transport error, timeout, 429, 5xx) is
//!   retried with exponential backoff and jitter.
//! - A request too large for the cluster (413) is split in halves, without
//!   waiting; a single document too large is dead-lettered with that reason.
//! - In a response with `"errors": true`, each item is judged alone
//!   ([`verdict`]): 2xx is indexed, 409 means the `_id` already exists (a
//!   redelivery) and counts as indexed; an error of the document itself
//!   (`mapper_parsing_exception`, …) can never index and is dead-lettered;
//!   anything else — 429, 5xx, and the 4xx that the cluster's state causes
//!   (shard limit, write block, missing index, permissions) — is retried,
//!   only those items.
//! - A rejected document goes to the dead-letter store with its status, error
//!   type and reason (its message is deleted once the dead letter is written).
//! - A document whose retries ran out fails its message: the failure was not
//!   the document's, so the message returns to the queue and is read again
//!   later.

use std::collections::HashMap;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use serde::Deserialize;
use tokio::time::Instant;
use tracing::warn;

use super::BulkApi;
use super::circuit::Circuit;
use super::dead_letter::{DeadLetter, DeadLetterSender, Entry};
use crate::config::BulkConfig;
use crate::document::Document;
use crate::telemetry::events::{
    BulkAnswered, BulkItemAnswered, BulkRetried, DocumentSettled, Emit, Settled,
};

#[derive(Debug, Deserialize)]
struct BulkResponse {
    #[serde(default)]
    items: Vec<HashMap<String, BulkItem>>,
}

#[derive(Debug, Deserialize)]
pub struct BulkItem {
    pub status: u16,
    #[serde(default)]
    pub error: Option<ItemError>,
}

#[derive(Debug, Deserialize, Clone)]
pub struct ItemError {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub reason: Option<String>,
}

/// How one item of a response settles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemVerdict {
    Indexed,
    AlreadyIndexed,
    Retry,
    Rejected,
}

/// Errors of a document itself: as it is, no cluster will ever take it.
/// Every other 4xx comes from the cluster's state and clears with it.
pub const DOCUMENT_ERRORS: &[&str] = &[
    "mapper_parsing_exception",
    "document_parsing_exception",
    "strict_dynamic_mapping_exception",
    "illegal_argument_exception",
    "mapper_exception",
    "parse_exception",
    "json_parse_exception",
    "x_content_parse_exception",
    "not_x_content_exception",
];

/// How an item with `status` and error type `kind` settles.
pub fn verdict(status: u16, kind: Option<&str>) -> ItemVerdict {
    match status {
        200..=299 => ItemVerdict::Indexed,
        409 => ItemVerdict::AlreadyIndexed,
        400..=499 if kind.is_some_and(|k| DOCUMENT_ERRORS.contains(&k)) => ItemVerdict::Rejected,
        // 429, 5xx, and a cluster that cannot take anything right now: the
        // shard limit (`validation_exception`), a write block or full disk
        // (`cluster_block_exception`), a missing index with auto-create off,
        // a missing permission (`security_exception`).
        _ => ItemVerdict::Retry,
    }
}

/// What a whole-request attempt returned.
enum Attempt {
    /// Parsed items, one per document, in order.
    Items(Vec<BulkItem>),
    /// Nothing was settled; retry everything.
    RetryAll(String),
    /// 413: the request is over the cluster's `http.max_content_length`.
    TooLarge(String),
}

/// Totals of one batch, for tests and logs.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BatchSummary {
    pub indexed: u64,
    pub already_indexed: u64,
    pub rejected: u64,
    pub gave_up: u64,
    pub retries: u64,
    /// The size of the smallest request the cluster refused as too large.
    pub too_large_bytes: Option<usize>,
}

impl BatchSummary {
    pub fn add(&mut self, other: BatchSummary) {
        self.indexed += other.indexed;
        self.already_indexed += other.already_indexed;
        self.rejected += other.rejected;
        self.gave_up += other.gave_up;
        self.retries += other.retries;
        self.too_large_bytes = match (self.too_large_bytes, other.too_large_bytes) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
}

fn backoff(config: &BulkConfig) -> impl Iterator<Item = Duration> {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(100))
        .with_max_delay(config.max_backoff)
        .with_max_times(config.max_retries)
        .with_jitter()
        .build()
}

/// Sends `docs` until each is settled or the retries run out.
pub async fn send_batch(
    client: &dyn BulkApi,
    docs: Vec<Document>,
    config: &BulkConfig,
    dead_letters: &DeadLetterSender,
    circuit: &Circuit,
) -> BatchSummary {
    let mut summary = BatchSummary::default();
    let mut work = vec![docs];
    while let Some(docs) = work.pop() {
        if let Some((first, second)) =
            send_part(client, docs, config, dead_letters, circuit, &mut summary).await
        {
            work.push(second);
            work.push(first);
        }
    }
    summary
}

/// Sends `docs` until each is settled, or returns them in two halves when
/// the cluster found the request too large.
async fn send_part(
    client: &dyn BulkApi,
    mut docs: Vec<Document>,
    config: &BulkConfig,
    dead_letters: &DeadLetterSender,
    circuit: &Circuit,
    summary: &mut BatchSummary,
) -> Option<(Vec<Document>, Vec<Document>)> {
    let mut delays = backoff(config);
    while !docs.is_empty() {
        let (whole_request, retry_reason) = match attempt(client, &docs, circuit).await {
            Attempt::RetryAll(reason) => (true, reason),
            Attempt::TooLarge(reason) => {
                let bytes = docs.iter().map(|d| d.bulk.len()).sum::<usize>();
                summary.too_large_bytes =
                    Some(summary.too_large_bytes.map_or(bytes, |b| b.min(bytes)));
                if docs.len() > 1 {
                    let second = docs.split_off(docs.len() / 2);
                    return Some((docs, second));
                }
                for doc in docs.drain(..) {
                    summary.rejected += 1;
                    let reason = format!(
                        "the document is {} bytes, more than the cluster accepts in one request ({reason})",
                        doc.bulk.len()
                    );
                    let item = BulkItem {
                        status: 413,
                        error: Some(ItemError {
                            kind: "request_too_large".into(),
                            reason: Some(reason),
                        }),
                    };
                    reject(doc, &item, dead_letters).await;
                }
                return None;
            }
            Attempt::Items(items) => {
                let mut retry = Vec::new();
                let mut first_retry_reason = None;
                let mut items = items.into_iter();
                for mut doc in docs.drain(..) {
                    let (item, created) = settle_items(items.by_ref().take(doc.actions));
                    // A finding whose history was created by an earlier
                    // attempt, while its current state had to be retried.
                    let created_before = doc.created;
                    doc.created |= created;
                    match verdict(item.status, item.error.as_ref().map(|e| e.kind.as_str())) {
                        ItemVerdict::Indexed => {
                            summary.indexed += 1;
                            settle(doc, Settled::Indexed, "");
                        }
                        ItemVerdict::AlreadyIndexed if created_before => {
                            summary.indexed += 1;
                            settle(doc, Settled::Indexed, "");
                        }
                        ItemVerdict::AlreadyIndexed => {
                            summary.already_indexed += 1;
                            settle(doc, Settled::Duplicate, "");
                        }
                        ItemVerdict::Retry => {
                            first_retry_reason.get_or_insert_with(|| describe(&item));
                            retry.push(doc);
                        }
                        ItemVerdict::Rejected => {
                            summary.rejected += 1;
                            reject(doc, &item, dead_letters).await;
                        }
                    }
                }
                if retry.is_empty() {
                    break;
                }
                docs = retry;
                (false, first_retry_reason.unwrap_or_default())
            }
        };
        match delays.next() {
            Some(delay) => {
                summary.retries += 1;
                BulkRetried {
                    whole_request,
                    documents: docs.len(),
                    delay,
                    reason: &retry_reason,
                }
                .emit();
                tokio::time::sleep(delay).await;
            }
            None => {
                warn!(documents = docs.len(), reason = %retry_reason, "bulk retries exhausted; messages will be redelivered");
                for doc in docs.drain(..) {
                    summary.gave_up += 1;
                    settle(doc, Settled::RetriesExhausted, &retry_reason);
                }
            }
        }
    }
    None
}

async fn attempt(client: &dyn BulkApi, docs: &[Document], circuit: &Circuit) -> Attempt {
    let body_len: usize = docs.iter().map(|d| d.bulk.len()).sum();
    let mut body = Vec::with_capacity(body_len);
    for d in docs {
        body.extend_from_slice(&d.bulk);
    }
    let started = Instant::now();
    let result = client.bulk(body).await;
    let elapsed = started.elapsed();
    let response = match result {
        Ok(r) => r,
        Err(e) => {
            BulkAnswered {
                outcome: "transport_error",
                elapsed,
            }
            .emit();
            circuit.failed();
            return Attempt::RetryAll(e.to_string());
        }
    };
    // A 5xx on the whole request is a cluster (or a proxy before it) that
    // cannot work; anything else is an answer.
    if response.status >= 500 {
        circuit.failed();
    } else {
        circuit.answered();
    }
    let outcome = match response.status {
        200..=299 => "ok",
        429 => "throttled",
        400..=499 => "client_error",
        _ => "server_error",
    };
    BulkAnswered { outcome, elapsed }.emit();
    if response.status == 413 {
        return Attempt::TooLarge(format!("HTTP 413 for {body_len} bytes"));
    }
    if !(200..300).contains(&response.status) {
        let reason = format!(
            "HTTP {}: {}",
            response.status,
            String::from_utf8_lossy(&response.body[..response.body.len().min(500)])
        );
        // Another 4xx on the whole request (a malformed body, permissions)
        // is nothing a single document caused: retrying bounds the damage to
        // the retry budget and keeps the messages for redelivery.
        return Attempt::RetryAll(reason);
    }
    let actions = docs.iter().map(|d| d.actions).sum::<usize>();
    match parse_items(&response.body, actions) {
        Ok(items) => Attempt::Items(items),
        Err(reason) => Attempt::RetryAll(reason),
    }
}

/// The items of a 2xx `_bulk` response body, one for each of the `actions`
/// sent, in order; or why the body cannot settle them one by one (it is not
/// a bulk response, or holds another number of items).
pub fn parse_items(body: &[u8], actions: usize) -> Result<Vec<BulkItem>, String> {
    match serde_json::from_slice::<BulkResponse>(body) {
        Ok(parsed) if parsed.items.len() == actions => Ok(parsed
            .items
            .into_iter()
            .map(|mut m| {
                m.drain().next().map(|(_, item)| item).unwrap_or(BulkItem {
                    status: 500,
                    error: None,
                })
            })
            .collect()),
        Ok(parsed) => Err(format!(
            "response has {} items for {actions} actions",
            parsed.items.len(),
        )),
        Err(e) => Err(format!("unreadable bulk response: {e}")),
    }
}

/// The one answer that decides a document from the answers to its actions:
/// its history `create` and, for a finding, the `index` of its current
/// state. A current state refused as older (409 with external versioning)
/// is no failure. Otherwise the worst answer decides: refused, then to be
/// retried (both actions are idempotent), then the history's own answer.
/// Also says whether the history `create` itself succeeded (2xx).
fn settle_items(items: impl Iterator<Item = BulkItem>) -> (BulkItem, bool) {
    let mut decided: Option<BulkItem> = None;
    let mut created = false;
    for (n, item) in items.enumerate() {
        BulkItemAnswered {
            status: item.status,
        }
        .emit();
        if n == 0 {
            created = (200..300).contains(&item.status);
        }
        if n > 0 && item.status == 409 {
            continue;
        }
        let rank = |i: &BulkItem| match verdict(i.status, i.error.as_ref().map(|e| e.kind.as_str()))
        {
            ItemVerdict::Rejected => 2,
            ItemVerdict::Retry => 1,
            ItemVerdict::Indexed | ItemVerdict::AlreadyIndexed => 0,
        };
        if decided.as_ref().is_none_or(|d| rank(&item) > rank(d)) {
            decided = Some(item);
        }
    }
    (
        decided.unwrap_or(BulkItem {
            status: 500,
            error: None,
        }),
        created,
    )
}

fn describe(item: &BulkItem) -> String {
    match &item.error {
        Some(e) => format!(
            "{} {}: {}",
            item.status,
            e.kind,
            e.reason.as_deref().unwrap_or("")
        ),
        None => format!("status {}", item.status),
    }
}

/// The end of a document's way through the sink: indexed (its piece of the
/// message is done) or not (its message returns to the queue).
fn settle(doc: Document, outcome: Settled, reason: &str) {
    DocumentSettled {
        log_type: doc.log_type,
        outcome,
        index: &doc.index,
        id: &doc.id,
        bucket: &doc.origin.object.bucket,
        key: &doc.origin.object.key,
        ordinal: doc.origin.ordinal,
        reason,
    }
    .emit();
    match outcome {
        Settled::Indexed | Settled::Duplicate => doc.ack.done(),
        Settled::Rejected | Settled::RetriesExhausted | Settled::NotSent => doc.ack.fail(),
    }
}

/// Sends a document OpenSearch will never accept to the dead-letter store;
/// its piece of the message is done once the letter is written.
async fn reject(doc: Document, item: &BulkItem, dead_letters: &DeadLetterSender) {
    let reason = describe(item);
    DocumentSettled {
        log_type: doc.log_type,
        outcome: Settled::Rejected,
        index: &doc.index,
        id: &doc.id,
        bucket: &doc.origin.object.bucket,
        key: &doc.origin.object.key,
        ordinal: doc.origin.ordinal,
        reason: &reason,
    }
    .emit();
    let letter = DeadLetter::rejected(&doc, item.status, item.error.as_ref());
    dead_letters
        .send(Entry {
            letter,
            pending: doc.ack,
            share: doc.budget,
        })
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_statuses_map_to_verdicts() {
        assert_eq!(verdict(201, None), ItemVerdict::Indexed);
        assert_eq!(
            verdict(409, Some("version_conflict_engine_exception")),
            ItemVerdict::AlreadyIndexed
        );
        assert_eq!(
            verdict(429, Some("es_rejected_execution_exception")),
            ItemVerdict::Retry
        );
        assert_eq!(verdict(503, None), ItemVerdict::Retry);
    }

    #[test]
    fn only_an_error_of_the_document_itself_is_dead_lettered() {
        for kind in [
            "mapper_parsing_exception",
            "document_parsing_exception",
            "strict_dynamic_mapping_exception",
        ] {
            assert_eq!(verdict(400, Some(kind)), ItemVerdict::Rejected, "{kind}");
        }
    }

    #[test]
    fn a_cluster_that_cannot_take_documents_now_is_not_a_bad_document() {
        for (status, kind) in [
            (400, Some("validation_exception")), // maximum shards open
            (403, Some("cluster_block_exception")),
            (429, Some("cluster_block_exception")),
            (404, Some("index_not_found_exception")),
            (403, Some("security_exception")),
            (400, None),
        ] {
            assert_eq!(
                verdict(status, kind),
                ItemVerdict::Retry,
                "{status} {kind:?}"
            );
        }
    }

    #[test]
    fn response_items_are_read_with_their_errors() {
        let body = br#"{"took":3,"errors":true,"items":[
            {"create":{"_index":"i","_id":"1","status":201,"result":"created"}},
            {"create":{"_index":"i","_id":"2","status":400,"error":{"type":"mapper_parsing_exception","reason":"failed to parse field [x]"}}}]}"#;
        let r: BulkResponse = serde_json::from_slice(body).expect("parses");
        let items: Vec<_> = r
            .items
            .into_iter()
            .map(|mut m| m.remove("create").expect("create"))
            .collect();
        assert_eq!(items[0].status, 201);
        assert_eq!(
            describe(&items[1]),
            "400 mapper_parsing_exception: failed to parse field [x]"
        );
    }
}
