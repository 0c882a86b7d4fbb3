//! Whether OpenSearch is answering at all. After a few whole `_bulk` requests
//! in a row fail without an answer (connection refused, timeout, 5xx), the
//! circuit opens and the receivers stop taking messages: a long outage then
//! holds the backlog on the queue, instead of pushing every message through
//! its receive count into the queue's dead-letter queue. While open, a probe
//! asks the cluster every few seconds; the first answer closes it, and so does
//! any bulk request that gets one.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio::sync::watch;

use super::BulkApi;
use crate::telemetry::events::{Emit, OpenSearchAvailability};

/// Failed requests in a row that open the circuit.
const FAILURES_TO_OPEN: u32 = 3;
/// How often an open circuit asks the cluster.
const PROBE_EVERY: Duration = Duration::from_secs(5);

/// Shared by every bulk task and the receivers.
#[derive(Debug, Clone)]
pub struct Circuit {
    failures: Arc<AtomicU32>,
    /// `true` while OpenSearch answers.
    available: Arc<watch::Sender<bool>>,
}

impl Default for Circuit {
    fn default() -> Self {
        Circuit {
            failures: Arc::default(),
            available: Arc::new(watch::Sender::new(true)),
        }
    }
}

impl Circuit {
    /// A request got an answer (whatever its status).
    pub fn answered(&self) {
        self.failures.store(0, Ordering::Relaxed);
        self.set(true);
    }

    /// A request got no usable answer.
    pub fn failed(&self) {
        if self.failures.fetch_add(1, Ordering::Relaxed) + 1 >= FAILURES_TO_OPEN {
            self.set(false);
        }
    }

    pub fn is_open(&self) -> bool {
        !*self.available.borrow()
    }

    /// Follows availability: `true` while OpenSearch answers.
    pub fn subscribe(&self) -> watch::Receiver<bool> {
        self.available.subscribe()
    }

    fn set(&self, available: bool) {
        let changed = self.available.send_if_modified(|current| {
            let changed = *current != available;
            *current = available;
            changed
        });
        if changed {
            OpenSearchAvailability { available }.emit();
        }
    }

    /// While the circuit is open, asks the cluster every few seconds. Runs
    /// until aborted.
    pub async fn probe(self, client: Arc<dyn BulkApi>) {
        let mut availability = self.subscribe();
        loop {
            if availability.wait_for(|available| !available).await.is_err() {
                return;
            }
            tokio::time::sleep(PROBE_EVERY).await;
            if client.ping().await.is_ok() {
                self.answered();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_circuit_opens_after_failures_in_a_row_and_closes_at_the_first_answer() {
        let circuit = Circuit::default();
        circuit.failed();
        circuit.failed();
        assert!(!circuit.is_open(), "two failures may be a blip");
        circuit.failed();
        assert!(circuit.is_open());
        circuit.answered();
        assert!(!circuit.is_open());
    }

    #[test]
    fn an_answer_between_failures_starts_the_count_again() {
        let circuit = Circuit::default();
        circuit.failed();
        circuit.failed();
        circuit.answered();
        circuit.failed();
        circuit.failed();
        assert!(!circuit.is_open());
    }
}
