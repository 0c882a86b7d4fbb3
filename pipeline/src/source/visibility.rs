//! Keeping received messages hidden while their work goes on, and handing them
//! back at once when it cannot finish.
//!
//! Every received message gets a [`heartbeat`] from the moment it is received,
//! also while it waits in its receive batch for an object slot: a message whose
//! visibility runs out is delivered to another worker, read twice, and its
//! documents counted as duplicates. The heartbeat extends the visibility at
//! half the timeout; a failed extension is retried a second later, not a whole
//! period later; each call has its own deadline, so a hung connection cannot
//! outlast the visibility it was meant to extend. Past
//! `sqs.max_visibility_extension` the heartbeat stops and the message reappears
//! (a poison object cannot hold a message forever).

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{Message, Queue, QueueError};
use crate::telemetry::events::{Emit, VisibilityChange, VisibilityChanged};

/// How a heartbeat extends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Heartbeat {
    /// The visibility timeout set at each extension.
    pub timeout: Duration,
    /// No extension past this long after receipt.
    pub cap: Duration,
}

impl Heartbeat {
    fn period(self) -> Duration {
        self.timeout / 2
    }

    /// The longest one `ChangeMessageVisibility` call may take.
    fn call_timeout(self) -> Duration {
        (self.timeout / 4).clamp(Duration::from_millis(500), Duration::from_secs(10))
    }

    fn timeout_secs(self) -> i32 {
        i32::try_from(self.timeout.as_secs()).unwrap_or(43_200)
    }
}

/// After a failed extension, the wait before the next try.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(1);

/// Extends `message`'s visibility until `over` is cancelled (its work is
/// done), or makes it visible again at once when `release` is cancelled
/// (shutdown abandons it).
pub async fn heartbeat(
    queue: Arc<dyn Queue>,
    message: Message,
    settings: Heartbeat,
    over: CancellationToken,
    release: CancellationToken,
) {
    let received = Instant::now();
    let mut next = received + settings.period();
    loop {
        tokio::select! {
            biased;
            () = over.cancelled() => return,
            () = release.cancelled() => {
                release_one(queue.as_ref(), &message, settings).await;
                return;
            }
            () = tokio::time::sleep_until(next) => {}
        }
        if received.elapsed() + settings.timeout > settings.cap {
            VisibilityChanged {
                message_id: &message.message_id,
                change: VisibilityChange::Capped,
                error: None,
            }
            .emit();
            return;
        }
        match change(queue.as_ref(), &message, settings.timeout_secs(), settings).await {
            Ok(()) => {
                VisibilityChanged {
                    message_id: &message.message_id,
                    change: VisibilityChange::Extended,
                    error: None,
                }
                .emit();
                next = Instant::now() + settings.period();
            }
            Err(error) => {
                VisibilityChanged {
                    message_id: &message.message_id,
                    change: VisibilityChange::ExtendFailed,
                    error: Some(&error),
                }
                .emit();
                next = Instant::now() + RETRY_AFTER_FAILURE.min(settings.period());
            }
        }
    }
}

/// Makes messages visible again at once, for another worker (messages
/// received while shutting down).
pub async fn release_all(queue: &dyn Queue, messages: &[Message], settings: Heartbeat) {
    futures::future::join_all(messages.iter().map(|m| release_one(queue, m, settings))).await;
}

async fn release_one(queue: &dyn Queue, message: &Message, settings: Heartbeat) {
    let result = change(queue, message, 0, settings).await;
    VisibilityChanged {
        message_id: &message.message_id,
        change: if result.is_ok() {
            VisibilityChange::Released
        } else {
            VisibilityChange::ReleaseFailed
        },
        error: result.as_ref().err().map(|e| e as &dyn std::fmt::Display),
    }
    .emit();
}

async fn change(
    queue: &dyn Queue,
    message: &Message,
    secs: i32,
    settings: Heartbeat,
) -> Result<(), QueueError> {
    let call = queue.change_visibility(message.receipt_handle.clone(), secs);
    match tokio::time::timeout(settings.call_timeout(), call).await {
        Ok(result) => result,
        Err(_) => Err(QueueError {
            operation: "ChangeMessageVisibility",
            queue: String::new(),
            message: format!("no answer within {:?}", settings.call_timeout()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::memory::MemoryQueue;

    const SETTINGS: Heartbeat = Heartbeat {
        timeout: Duration::from_secs(30),
        cap: Duration::from_secs(3600),
    };

    async fn received(queue: &MemoryQueue) -> Message {
        queue.send("{}");
        let mut messages = queue.receive_now();
        messages.pop().expect("a message")
    }

    #[tokio::test(start_paused = true)]
    async fn a_message_in_flight_stays_hidden_past_its_visibility_timeout() {
        let queue = Arc::new(MemoryQueue::new(SETTINGS.timeout));
        let message = received(&queue).await;
        let over = CancellationToken::new();
        let task = tokio::spawn(heartbeat(
            queue.clone(),
            message,
            SETTINGS,
            over.clone(),
            CancellationToken::new(),
        ));
        tokio::time::sleep(Duration::from_secs(300)).await;
        assert!(
            queue.receive_now().is_empty(),
            "still hidden after ten visibility timeouts"
        );
        over.cancel();
        task.await.expect("heartbeat ends");
        tokio::time::sleep(Duration::from_secs(31)).await;
        assert_eq!(
            queue.receive_now().len(),
            1,
            "visible again once nobody extends it"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_extension_is_retried_before_the_next_period() {
        let queue = Arc::new(MemoryQueue::new(SETTINGS.timeout));
        let message = received(&queue).await;
        queue.fail_next_visibility_changes(1);
        let over = CancellationToken::new();
        tokio::spawn(heartbeat(
            queue.clone(),
            message,
            SETTINGS,
            over.clone(),
            CancellationToken::new(),
        ));
        // First try at 15 s fails; the retry one second later succeeds.
        tokio::time::sleep(Duration::from_secs(17)).await;
        assert_eq!(queue.visibility_changes(), 2);
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert!(
            queue.receive_now().is_empty(),
            "the message never reappeared"
        );
        over.cancel();
    }

    #[tokio::test(start_paused = true)]
    async fn a_hung_extension_call_gives_up_in_time_to_retry() {
        let queue = Arc::new(MemoryQueue::new(SETTINGS.timeout));
        let message = received(&queue).await;
        queue.hang_next_visibility_changes(1);
        let over = CancellationToken::new();
        tokio::spawn(heartbeat(
            queue.clone(),
            message,
            SETTINGS,
            over.clone(),
            CancellationToken::new(),
        ));
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert!(
            queue.receive_now().is_empty(),
            "a hung call did not let the message reappear"
        );
        over.cancel();
    }

    #[tokio::test(start_paused = true)]
    async fn extension_stops_at_the_cap_and_the_message_reappears() {
        let settings = Heartbeat {
            timeout: Duration::from_secs(30),
            cap: Duration::from_secs(120),
        };
        let queue = Arc::new(MemoryQueue::new(settings.timeout));
        let message = received(&queue).await;
        let task = tokio::spawn(heartbeat(
            queue.clone(),
            message,
            settings,
            CancellationToken::new(),
            CancellationToken::new(),
        ));
        tokio::time::sleep(Duration::from_secs(150)).await;
        task.await.expect("the heartbeat gave up by itself");
        assert_eq!(queue.receive_now().len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn release_makes_the_message_visible_at_once() {
        let queue = Arc::new(MemoryQueue::new(SETTINGS.timeout));
        let message = received(&queue).await;
        let release = CancellationToken::new();
        let task = tokio::spawn(heartbeat(
            queue.clone(),
            message,
            SETTINGS,
            CancellationToken::new(),
            release.clone(),
        ));
        release.cancel();
        task.await.expect("heartbeat ends");
        assert_eq!(queue.receive_now().len(), 1);
    }
}
