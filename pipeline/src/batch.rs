//! Collecting items from a channel into batches bounded by count, by weight
//! and by time: the one "wait for the first, then gather until full or late"
//! loop, used for `_bulk` requests, message deletions and dead-letter writes.

use std::future::Future;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

/// A channel's receiving end.
pub trait Inbox<T>: Send {
    fn recv(&mut self) -> impl Future<Output = Option<T>> + Send;
}

impl<T: Send> Inbox<T> for mpsc::Receiver<T> {
    fn recv(&mut self) -> impl Future<Output = Option<T>> + Send {
        mpsc::Receiver::recv(self)
    }
}

impl<T: Send> Inbox<T> for mpsc::UnboundedReceiver<T> {
    fn recv(&mut self) -> impl Future<Output = Option<T>> + Send {
        mpsc::UnboundedReceiver::recv(self)
    }
}

/// When a batch is complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimits {
    /// Most items in a batch.
    pub max_items: usize,
    /// Most total weight (bytes, say) in a batch; an item that would pass it
    /// starts the next batch, and an item heavier than this goes alone.
    pub max_weight: usize,
    /// Longest wait, from a batch's first item, for it to fill.
    pub linger: Duration,
}

impl BatchLimits {
    /// Bounded by count and time only.
    pub fn count(max_items: usize, linger: Duration) -> Self {
        BatchLimits {
            max_items,
            max_weight: usize::MAX,
            linger,
        }
    }
}

/// Batches of the items of an [`Inbox`].
pub struct Batches<I, T, W> {
    inbox: I,
    limits: BatchLimits,
    weight: W,
    /// The item that did not fit the previous batch.
    carried: Option<T>,
    closed: bool,
}

impl<I, T, W> Batches<I, T, W>
where
    I: Inbox<T>,
    T: Send,
    W: Fn(&T) -> usize + Send,
{
    pub fn new(inbox: I, limits: BatchLimits, weight: W) -> Self {
        Batches {
            inbox,
            limits,
            weight,
            carried: None,
            closed: false,
        }
    }

    /// The limits of the batches to come.
    pub fn limits_mut(&mut self) -> &mut BatchLimits {
        &mut self.limits
    }

    /// The next batch: waits as long as it takes for a first item, then at
    /// most `linger` for more. `None` once the channel is closed and drained.
    pub async fn next(&mut self) -> Option<Vec<T>> {
        let first = match self.carried.take() {
            Some(item) => item,
            None if self.closed => return None,
            None => self.inbox.recv().await?,
        };
        let deadline = Instant::now() + self.limits.linger;
        let mut weight = (self.weight)(&first);
        let mut batch = vec![first];
        while batch.len() < self.limits.max_items && weight < self.limits.max_weight {
            let item = tokio::select! {
                item = self.inbox.recv() => item,
                () = tokio::time::sleep_until(deadline) => break,
            };
            let Some(item) = item else {
                self.closed = true;
                break;
            };
            let w = (self.weight)(&item);
            if weight.saturating_add(w) > self.limits.max_weight {
                self.carried = Some(item);
                break;
            }
            weight += w;
            batch.push(item);
        }
        Some(batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Numbers = Batches<mpsc::Receiver<usize>, usize, fn(&usize) -> usize>;

    fn batches(max_items: usize, max_weight: usize) -> (mpsc::Sender<usize>, Numbers) {
        let (tx, rx) = mpsc::channel(100);
        let limits = BatchLimits {
            max_items,
            max_weight,
            linger: Duration::from_millis(50),
        };
        (tx, Batches::new(rx, limits, |w: &usize| *w))
    }

    #[tokio::test(start_paused = true)]
    async fn a_batch_is_sent_when_it_holds_max_items() {
        let (tx, mut b) = batches(3, usize::MAX);
        for i in 0..7 {
            tx.send(i).await.expect("open");
        }
        assert_eq!(b.next().await, Some(vec![0, 1, 2]));
        assert_eq!(b.next().await, Some(vec![3, 4, 5]));
    }

    #[tokio::test(start_paused = true)]
    async fn a_partial_batch_is_sent_when_its_first_item_has_waited_long_enough() {
        let (tx, mut b) = batches(10, usize::MAX);
        tx.send(1).await.expect("open");
        let started = Instant::now();
        assert_eq!(b.next().await, Some(vec![1]));
        assert_eq!(started.elapsed(), Duration::from_millis(50));
    }

    #[tokio::test(start_paused = true)]
    async fn an_item_that_would_pass_the_weight_starts_the_next_batch() {
        let (tx, mut b) = batches(10, 10);
        for w in [4, 4, 4, 20, 1] {
            tx.send(w).await.expect("open");
        }
        drop(tx);
        assert_eq!(b.next().await, Some(vec![4, 4]));
        assert_eq!(b.next().await, Some(vec![4]));
        assert_eq!(
            b.next().await,
            Some(vec![20]),
            "an item heavier than the limit goes alone"
        );
        assert_eq!(b.next().await, Some(vec![1]));
        assert_eq!(b.next().await, None);
    }

    #[tokio::test(start_paused = true)]
    async fn closing_the_channel_flushes_what_is_gathered_then_ends() {
        let (tx, mut b) = batches(10, usize::MAX);
        tx.send(1).await.expect("open");
        tx.send(2).await.expect("open");
        drop(tx);
        assert_eq!(b.next().await, Some(vec![1, 2]));
        assert_eq!(b.next().await, None);
    }
}
