//! The queue's depth, published once a minute, and readiness with it: a
//! worker that cannot reach its queue is not ready.

use std::sync::Arc;
use std::time::Duration;

use super::Queue;
use crate::telemetry::METRICS;
use crate::telemetry::events::{Emit, QueueCallFailed, QueueOperation};
use crate::telemetry::http::Health;

const PERIOD: Duration = Duration::from_secs(60);

/// Runs until aborted.
pub async fn watch(queue: Arc<dyn Queue>, health: Arc<Health>) {
    loop {
        match queue.attributes().await {
            Ok(a) => {
                METRICS
                    .queue_messages
                    .with_label_values(&["visible"])
                    .set(a.visible as i64);
                METRICS
                    .queue_messages
                    .with_label_values(&["in_flight"])
                    .set(a.in_flight as i64);
                METRICS
                    .queue_messages
                    .with_label_values(&["delayed"])
                    .set(a.delayed as i64);
                health.set_queue_reachable(true);
            }
            Err(error) => {
                QueueCallFailed {
                    operation: QueueOperation::GetAttributes,
                    error: &error,
                }
                .emit();
                health.set_queue_reachable(false);
            }
        }
        tokio::time::sleep(PERIOD).await;
    }
}
