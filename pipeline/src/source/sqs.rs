//! [`Queue`] over the AWS SDK's SQS client.

use std::time::{Duration, SystemTime};

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, MessageSystemAttributeName, QueueAttributeName,
};
use futures::future::BoxFuture;

use super::{Message, Queue, QueueAttributes, QueueError};

pub struct SqsQueue {
    client: Client,
    queue_url: String,
    wait_time: Duration,
    max_messages: i32,
}

impl SqsQueue {
    pub fn new(client: Client, queue_url: String, wait_time: Duration, max_messages: i32) -> Self {
        SqsQueue {
            client,
            queue_url,
            wait_time,
            max_messages,
        }
    }

    fn error(&self, operation: &'static str, e: impl std::error::Error) -> QueueError {
        QueueError {
            operation,
            queue: self.queue_url.clone(),
            message: crate::telemetry::error_chain(&e),
        }
    }
}

impl Queue for SqsQueue {
    fn receive(&self) -> BoxFuture<'_, Result<Vec<Message>, QueueError>> {
        Box::pin(async move {
            let out = self
                .client
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(self.max_messages)
                .wait_time_seconds(self.wait_time.as_secs() as i32)
                .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp)
                .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
                .send()
                .await
                .map_err(|e| self.error("ReceiveMessage", e))?;
            Ok(out
                .messages
                .unwrap_or_default()
                .into_iter()
                .filter_map(|m| {
                    let attrs = m.attributes.as_ref();
                    let attr = |name: MessageSystemAttributeName| {
                        attrs.and_then(|a| a.get(&name)).cloned()
                    };
                    Some(Message {
                        message_id: m.message_id.clone().unwrap_or_default(),
                        receipt_handle: m.receipt_handle.clone()?,
                        body: m.body.clone().unwrap_or_default(),
                        sent_at: attr(MessageSystemAttributeName::SentTimestamp)
                            .and_then(|v| v.parse::<u64>().ok())
                            .map(|ms| SystemTime::UNIX_EPOCH + Duration::from_millis(ms)),
                        receive_count: attr(MessageSystemAttributeName::ApproximateReceiveCount)
                            .and_then(|v| v.parse().ok())
                            .unwrap_or(1),
                    })
                })
                .collect())
        })
    }

    fn delete_batch(
        &self,
        receipt_handles: Vec<String>,
    ) -> BoxFuture<'_, Result<Vec<String>, QueueError>> {
        Box::pin(async move {
            let entries = receipt_handles
                .iter()
                .enumerate()
                .map(|(i, handle)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(handle)
                        .build()
                        .map_err(|e| self.error("DeleteMessageBatch", e))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let out = self
                .client
                .delete_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| self.error("DeleteMessageBatch", e))?;
            Ok(out
                .failed
                .iter()
                .filter_map(|f| f.id.parse::<usize>().ok())
                .filter_map(|i| receipt_handles.get(i).cloned())
                .collect())
        })
    }

    fn change_visibility(
        &self,
        receipt_handle: String,
        timeout_secs: i32,
    ) -> BoxFuture<'_, Result<(), QueueError>> {
        Box::pin(async move {
            self.client
                .change_message_visibility()
                .queue_url(&self.queue_url)
                .receipt_handle(receipt_handle)
                .visibility_timeout(timeout_secs)
                .send()
                .await
                .map_err(|e| self.error("ChangeMessageVisibility", e))?;
            Ok(())
        })
    }

    fn attributes(&self) -> BoxFuture<'_, Result<QueueAttributes, QueueError>> {
        Box::pin(async move {
            let out = self
                .client
                .get_queue_attributes()
                .queue_url(&self.queue_url)
                .attribute_names(QueueAttributeName::VisibilityTimeout)
                .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
                .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
                .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
                .send()
                .await
                .map_err(|e| self.error("GetQueueAttributes", e))?;
            let attrs = out.attributes.unwrap_or_default();
            let get = |name: QueueAttributeName| {
                attrs
                    .get(&name)
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0)
            };
            Ok(QueueAttributes {
                visibility_timeout_secs: get(QueueAttributeName::VisibilityTimeout),
                visible: get(QueueAttributeName::ApproximateNumberOfMessages),
                in_flight: get(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
                delayed: get(QueueAttributeName::ApproximateNumberOfMessagesDelayed),
            })
        })
    }
}
