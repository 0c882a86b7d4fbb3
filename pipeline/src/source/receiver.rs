//! The receive loop's rules: receive only while the destination answers and
//! there is room for another object, back off on errors, stop on shutdown without losing what a receive
//! already took, and (for batch jobs) stop once the queue stays empty.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use tokio::sync::{Semaphore, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::visibility::{self, Heartbeat};
use super::{Message, Queue};
use crate::telemetry::events::{Emit, QueueCallFailed, QueueOperation};
use crate::telemetry::http::Health;

/// While a receiver waits for room, it tells the health check this often
/// that it is waiting, not stuck.
pub const WAITING_TICK: Duration = Duration::from_secs(10);

/// One receive loop; several may share a queue, a slot semaphore and an
/// empty streak.
pub struct Receiver {
    pub queue: Arc<dyn Queue>,
    /// Object slots (`s3.max_concurrent_objects`): no receive without one free.
    pub slots: Arc<Semaphore>,
    pub stop: CancellationToken,
    pub health: Arc<Health>,
    /// Consecutive empty receives, shared by every receiver.
    pub empty_streak: Arc<AtomicU32>,
    /// Stop after this many empty receives once `tasks` is empty.
    pub exit_after_empty: Option<u32>,
    pub tasks: TaskTracker,
    /// For releasing messages received while stopping.
    pub heartbeat: Heartbeat,
    /// `false` while the destination does not answer: no receiving then.
    pub available: watch::Receiver<bool>,
}

fn receive_backoff() -> impl Iterator<Item = Duration> {
    ExponentialBuilder::default()
        .with_max_delay(Duration::from_secs(20))
        .without_max_times()
        .with_jitter()
        .build()
}

impl Receiver {
    /// The next non-empty batch of messages, or `None` once the loop must stop.
    pub async fn next(&mut self) -> Option<Vec<Message>> {
        let mut errors = receive_backoff();
        loop {
            self.health.turned();
            if self.stop.is_cancelled() {
                return None;
            }
            if let Some(limit) = self.exit_after_empty
                && self.empty_streak.load(Ordering::Relaxed) >= limit
                && self.tasks.is_empty()
            {
                self.stop.cancel();
                return None;
            }
            // Receive only while the destination answers: a long outage holds
            // the backlog on the queue, not in its dead-letter queue.
            if !*self.available.borrow_and_update() {
                tokio::select! {
                    _ = self.available.changed() => {}
                    () = self.stop.cancelled() => return None,
                    () = tokio::time::sleep(WAITING_TICK) => {}
                }
                continue;
            }
            // Receive only while there is room for another object: a full
            // pipeline leaves messages on the queue for other workers.
            let permit = tokio::select! {
                permit = self.slots.clone().acquire_owned() => permit,
                () = self.stop.cancelled() => return None,
                () = tokio::time::sleep(WAITING_TICK) => continue,
            };
            drop(permit.ok()?);
            // A receive is never abandoned: SQS would still hand its messages
            // to the dropped request and hide them for a whole visibility
            // timeout.
            let received = self.queue.receive().await;
            if self.stop.is_cancelled() {
                if let Ok(messages) = received {
                    visibility::release_all(self.queue.as_ref(), &messages, self.heartbeat).await;
                }
                return None;
            }
            match received {
                Ok(messages) if messages.is_empty() => {
                    errors = receive_backoff();
                    self.empty_streak.fetch_add(1, Ordering::Relaxed);
                }
                Ok(messages) => {
                    self.empty_streak.store(0, Ordering::Relaxed);
                    return Some(messages);
                }
                Err(error) => {
                    QueueCallFailed {
                        operation: QueueOperation::Receive,
                        error: &error,
                    }
                    .emit();
                    let delay = errors.next().unwrap_or(Duration::from_secs(20));
                    tokio::select! {
                        () = self.stop.cancelled() => return None,
                        () = tokio::time::sleep(delay) => {}
                    }
                }
            }
        }
    }
}
