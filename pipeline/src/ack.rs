//! Completion tracking: one [`AckGroup`] per SQS message.
//!
//! Every document read on behalf of a message carries a clone of the message's
//! group; the reader of each object holds one while it reads. When the last
//! clone is dropped, every record has either been indexed or given up on, and
//! the group reports a [`Completion`]: `Complete` (delete the message) unless
//! any holder called [`AckGroup::fail`], in which case the message is left for
//! the queue to deliver again (and, after `maxReceiveCount`, to move to its
//! dead-letter queue). Dropping is the signal, so no path can forget to
//! report — a panic or a cancelled task fails safe by leaving the message.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every record is indexed: delete the message.
    Complete,
    /// Something could not be finished: leave the message to the queue.
    Failed,
}

#[derive(Debug, Clone)]
pub struct Completion {
    pub receipt_handle: String,
    pub message_id: String,
    pub sent_at: Option<SystemTime>,
    pub outcome: Outcome,
}

#[derive(Debug)]
struct Inner {
    receipt_handle: String,
    message_id: String,
    sent_at: Option<SystemTime>,
    failed: AtomicBool,
    /// Set for every group of a run that is being abandoned (shutdown past
    /// its grace period): nothing may be deleted any more.
    abandoned: Arc<AtomicBool>,
    /// Cancelled when the group completes, for its visibility heartbeat.
    done: CancellationToken,
    completions: mpsc::UnboundedSender<Completion>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.done.cancel();
        let outcome = if self.failed.load(Ordering::Acquire)
            || self.abandoned.load(Ordering::Acquire)
            || std::thread::panicking()
        {
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

/// A cheap, clonable handle on one message's completion.
#[derive(Debug, Clone)]
pub struct AckGroup(Arc<Inner>);

impl AckGroup {
    pub fn new(
        receipt_handle: String,
        message_id: String,
        sent_at: Option<SystemTime>,
        abandoned: Arc<AtomicBool>,
        completions: mpsc::UnboundedSender<Completion>,
    ) -> Self {
        AckGroup(Arc::new(Inner {
            receipt_handle,
            message_id,
            sent_at,
            failed: AtomicBool::new(false),
            abandoned,
            done: CancellationToken::new(),
            completions,
        }))
    }

    /// Cancelled once the group has completed (every holder dropped).
    pub fn done(&self) -> CancellationToken {
        self.0.done.clone()
    }

    pub fn receipt_handle(&self) -> &str {
        &self.0.receipt_handle
    }

    /// Marks the message as not deletable: a record of it was not indexed.
    pub fn fail(&self) {
        self.0.failed.store(true, Ordering::Release);
    }

    pub fn has_failed(&self) -> bool {
        self.0.failed.load(Ordering::Acquire)
    }

    pub fn message_id(&self) -> &str {
        &self.0.message_id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group() -> (AckGroup, mpsc::UnboundedReceiver<Completion>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (AckGroup::new("r".into(), "m".into(), None, Arc::default(), tx), rx)
    }

    #[test]
    fn completes_only_when_the_last_holder_is_dropped() {
        let (g, mut rx) = group();
        let docs: Vec<AckGroup> = (0..3).map(|_| g.clone()).collect();
        drop(g);
        assert!(rx.try_recv().is_err());
        drop(docs);
        let c = rx.try_recv().expect("completed");
        assert_eq!((c.receipt_handle.as_str(), c.outcome), ("r", Outcome::Complete));
    }

    #[test]
    fn one_failed_record_fails_the_message() {
        let (g, mut rx) = group();
        let doc = g.clone();
        doc.fail();
        drop(doc);
        drop(g);
        assert_eq!(rx.try_recv().expect("completed").outcome, Outcome::Failed);
    }

    #[test]
    fn an_abandoned_run_deletes_nothing() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let abandoned = Arc::new(AtomicBool::new(false));
        let g = AckGroup::new("r".into(), "m".into(), None, abandoned.clone(), tx);
        let done = g.done();
        abandoned.store(true, Ordering::Release);
        drop(g);
        assert!(done.is_cancelled());
        assert_eq!(rx.try_recv().expect("completed").outcome, Outcome::Failed);
    }

    #[test]
    fn a_holder_dropped_by_a_panic_fails_the_message() {
        let (g, mut rx) = group();
        let result = std::panic::catch_unwind(move || {
            let _held = g;
            panic!("normalizer bug");
        });
        assert!(result.is_err());
        assert_eq!(rx.try_recv().expect("completed").outcome, Outcome::Failed);
    }
}
