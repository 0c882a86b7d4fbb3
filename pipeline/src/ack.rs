//! Acknowledgement: a queue message is deleted only when every record of every
//! object it names is indexed or dead-lettered whole.
//!
//! Everything done on behalf of a message holds a [`Pending`]: the handler of
//! the message while it hands out its objects, the reader of each object while
//! it reads, each record on its way to OpenSearch, each dead letter until the
//! store has it. A `Pending` counts as finished only through
//! [`Pending::done`], which the code calls exactly where the work is done: an
//! item indexed (or already there), a dead letter written, an object read to
//! its end. Dropped any other way, by a panic, a cancelled or aborted task, a
//! path someone forgot, it fails its message. When the last `Pending` of a
//! message is gone, the message's [`Completion`] goes to [`run_acker`]:
//! `Complete` is deleted (in batches of ten), `Failed` is left for the queue
//! to deliver again, and after `maxReceiveCount` to move to its dead-letter
//! queue.
//!
//! This module never decides what counts as done; it only makes sure that
//! nothing else can delete a message.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use backon::{BackoffBuilder, ExponentialBuilder};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::{TaskTracker, task_tracker::TaskTrackerToken};

use crate::batch::{BatchLimits, Batches};
use crate::source::{Message, Queue};
use crate::telemetry::events::{self, Emit};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every record is indexed or dead-lettered: delete the message.
    Complete,
    /// Something could not be finished: leave the message to the queue.
    Failed,
}

/// A message whose work is over, one way or the other.
#[derive(Debug, Clone)]
pub struct Completion {
    pub receipt_handle: String,
    pub message_id: String,
    pub sent_at: Option<SystemTime>,
    pub outcome: Outcome,
}

#[derive(Debug)]
struct Group {
    receipt_handle: String,
    message_id: String,
    sent_at: Option<SystemTime>,
    failed: AtomicBool,
    /// Set for every message of a run that shutdown abandons: nothing may be
    /// deleted any more.
    abandoned: Arc<AtomicBool>,
    /// Cancelled when the message's work is over, for its visibility heartbeat.
    /// Never cancelled for an abandoned message: its heartbeat stays to make
    /// it visible again at once when shutdown releases what is in flight.
    over: CancellationToken,
    completions: mpsc::UnboundedSender<Completion>,
    /// Counts the message among those in flight until the group is gone.
    _in_flight: TaskTrackerToken,
}

impl Drop for Group {
    fn drop(&mut self) {
        let abandoned = self.abandoned.load(Ordering::Acquire);
        if !abandoned {
            self.over.cancel();
        }
        let failed = self.failed.load(Ordering::Acquire) || abandoned || std::thread::panicking();
        let outcome = if failed {
            Outcome::Failed
        } else {
            Outcome::Complete
        };
        // The receiver is gone only at shutdown; the message then simply
        // becomes visible again, which is safe.
        let _ = self.completions.send(Completion {
            receipt_handle: std::mem::take(&mut self.receipt_handle),
            message_id: std::mem::take(&mut self.message_id),
            sent_at: self.sent_at,
            outcome,
        });
    }
}

/// One piece of a message's work that is not finished yet.
#[must_use = "dropping a Pending without calling done() fails its message"]
#[derive(Debug)]
pub struct Pending {
    group: Option<Arc<Group>>,
}

/// The messages of a run whose work is not over.
#[derive(Debug, Clone)]
pub struct InFlight {
    abandoned: Arc<AtomicBool>,
    completions: mpsc::UnboundedSender<Completion>,
    tracker: TaskTracker,
}

impl InFlight {
    /// The set, and where its completions go (to [`run_acker`]).
    pub fn new() -> (InFlight, mpsc::UnboundedReceiver<Completion>) {
        let (completions, rx) = mpsc::unbounded_channel();
        let in_flight = InFlight {
            abandoned: Arc::default(),
            completions,
            tracker: TaskTracker::new(),
        };
        (in_flight, rx)
    }

    /// The first piece of `message`'s work; its [`Completion`] is sent once
    /// every piece split from it is gone.
    pub fn receive(&self, message: &Message) -> Pending {
        Pending {
            group: Some(Arc::new(Group {
                receipt_handle: message.receipt_handle.clone(),
                message_id: message.message_id.clone(),
                sent_at: message.sent_at,
                failed: AtomicBool::new(false),
                abandoned: self.abandoned.clone(),
                over: CancellationToken::new(),
                completions: self.completions.clone(),
                _in_flight: self.tracker.token(),
            })),
        }
    }

    /// Waits until the work of every message received so far is over.
    pub async fn wait(&self) {
        self.tracker.close();
        self.tracker.wait().await;
    }

    /// Shutdown gives up on what is still in flight: from now on no message
    /// is deleted, whatever becomes of its pieces.
    pub fn abandon(&self) {
        self.abandoned.store(true, Ordering::Release);
    }
}

impl Pending {
    /// Another piece of the same message's work.
    pub fn split(&self) -> Pending {
        Pending {
            group: self.group.clone(),
        }
    }

    /// This piece is finished: indexed, dead-lettered, or nothing left to do.
    pub fn done(mut self) {
        self.group.take();
    }

    /// The message cannot be deleted: something of it was not indexed.
    pub fn fail(&self) {
        if let Some(group) = &self.group {
            group.failed.store(true, Ordering::Release);
        }
    }

    /// Cancelled once every piece of the message is gone.
    pub fn over(&self) -> CancellationToken {
        self.group
            .as_ref()
            .map(|g| g.over.clone())
            .unwrap_or_default()
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Some(group) = self.group.take() {
            group.failed.store(true, Ordering::Release);
        }
    }
}

/// How long completions wait to be deleted together.
const DELETE_LINGER: Duration = Duration::from_millis(50);

/// Deletes completed messages, ten per `DeleteMessageBatch`, until every
/// sender of `completions` is gone.
pub async fn run_acker(completions: mpsc::UnboundedReceiver<Completion>, queue: Arc<dyn Queue>) {
    let mut batches = Batches::new(
        completions,
        BatchLimits::count(10, DELETE_LINGER),
        |_: &Completion| 1,
    );
    while let Some(batch) = batches.next().await {
        let (complete, failed): (Vec<_>, Vec<_>) = batch
            .into_iter()
            .partition(|c| c.outcome == Outcome::Complete);
        for c in failed {
            events::MessageReturned {
                message_id: &c.message_id,
            }
            .emit();
        }
        delete(&queue, complete).await;
    }
}

async fn delete(queue: &Arc<dyn Queue>, batch: Vec<Completion>) {
    if batch.is_empty() {
        return;
    }
    let handles: Vec<String> = batch.iter().map(|c| c.receipt_handle.clone()).collect();
    let mut delays = ExponentialBuilder::default()
        .with_max_times(3)
        .with_jitter()
        .build();
    let failed = loop {
        match queue.delete_batch(handles.clone()).await {
            Ok(failed) => break failed,
            Err(error) => {
                events::QueueCallFailed {
                    operation: events::QueueOperation::Delete,
                    error: &error,
                }
                .emit();
                match delays.next() {
                    Some(d) => tokio::time::sleep(d).await,
                    None => break handles.clone(),
                }
            }
        }
    };
    let now = SystemTime::now();
    for c in &batch {
        events::MessageDeleted {
            message_id: &c.message_id,
            deleted: !failed.contains(&c.receipt_handle),
            lag: c.sent_at.and_then(|s| now.duration_since(s).ok()),
        }
        .emit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> Message {
        Message {
            message_id: "m".into(),
            receipt_handle: "r".into(),
            body: String::new(),
            sent_at: None,
            receive_count: 1,
        }
    }

    fn pending() -> (Pending, mpsc::UnboundedReceiver<Completion>) {
        let (in_flight, rx) = InFlight::new();
        (in_flight.receive(&message()), rx)
    }

    #[test]
    fn a_message_completes_only_when_its_last_piece_is_done() {
        let (p, mut rx) = pending();
        let records: Vec<Pending> = (0..3).map(|_| p.split()).collect();
        p.done();
        assert!(rx.try_recv().is_err());
        for r in records {
            r.done();
        }
        let c = rx.try_recv().expect("completed");
        assert_eq!(
            (c.receipt_handle.as_str(), c.outcome),
            ("r", Outcome::Complete)
        );
    }

    #[test]
    fn one_failed_record_fails_the_message() {
        let (p, mut rx) = pending();
        let record = p.split();
        record.fail();
        record.done();
        p.done();
        assert_eq!(rx.try_recv().expect("completed").outcome, Outcome::Failed);
    }

    #[test]
    fn a_piece_dropped_without_being_done_fails_the_message() {
        let (p, mut rx) = pending();
        let forgotten = p.split();
        p.done();
        drop(forgotten);
        assert_eq!(rx.try_recv().expect("completed").outcome, Outcome::Failed);
    }

    #[test]
    fn a_piece_dropped_by_a_panic_fails_the_message_even_if_others_are_done() {
        let (p, mut rx) = pending();
        let record = p.split();
        let result = std::panic::catch_unwind(move || {
            let _held = record;
            panic!("normalizer bug");
        });
        assert!(result.is_err());
        p.done();
        assert_eq!(rx.try_recv().expect("completed").outcome, Outcome::Failed);
    }

    #[test]
    fn an_abandoned_run_deletes_nothing_and_leaves_the_release_to_the_heartbeat() {
        let (in_flight, mut rx) = InFlight::new();
        let p = in_flight.receive(&message());
        let over = p.over();
        in_flight.abandon();
        p.done();
        assert_eq!(rx.try_recv().expect("completed").outcome, Outcome::Failed);
        // A heartbeat that saw its work "over" would stop without handing
        // the message back, and it would stay hidden for its whole timeout.
        assert!(!over.is_cancelled());
    }

    #[tokio::test]
    async fn the_run_waits_until_every_message_received_is_over() {
        let (in_flight, _rx) = InFlight::new();
        let p = in_flight.receive(&message());
        let record = p.split();
        p.done();
        let waiting = tokio::spawn({
            let in_flight = in_flight.clone();
            async move { in_flight.wait().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "a record is still on its way");
        record.done();
        waiting.await.expect("the wait ends");
    }
}
