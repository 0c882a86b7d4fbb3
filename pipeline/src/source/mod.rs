//! Where records come from: the SQS queue that announces objects, the shapes of
//! its messages, and the S3 objects themselves.
//!
//! [`Queue`] and [`ObjectStore`] are the only two things the pipeline asks of
//! AWS; [`sqs::SqsQueue`] and [`s3::S3Store`] implement them with the AWS SDK,
//! and [`memory`] in memory, for tests. [`visibility`] keeps received messages
//! hidden while their work goes on; [`receiver`] holds the receive loop's
//! rules; [`depth`] publishes the queue's depth.

pub mod depth;
pub mod memory;
pub mod notification;
pub mod receiver;
pub mod s3;
pub mod sqs;
pub mod visibility;

use std::time::SystemTime;

use futures::future::BoxFuture;
use tokio::io::AsyncRead;

pub use notification::{Discard, Notification, NotificationError, ObjectRef};

/// The AWS SDK configuration: the default credential and region chain, with
/// the configured region and endpoint overrides.
pub async fn aws_sdk_config(config: &crate::config::AwsConfig) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(region) = &config.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    if let Some(endpoint) = &config.endpoint_url {
        loader = loader.endpoint_url(endpoint);
    }
    loader.load().await
}

/// S3 and SQS clients.
pub fn aws_clients(
    sdk: &aws_config::SdkConfig,
    config: &crate::config::AwsConfig,
) -> (aws_sdk_s3::Client, aws_sdk_sqs::Client) {
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(config.s3_force_path_style)
            .build(),
    );
    (s3, aws_sdk_sqs::Client::new(sdk))
}

/// One received SQS message.
#[derive(Debug, Clone)]
pub struct Message {
    pub message_id: String,
    pub receipt_handle: String,
    pub body: String,
    /// When SQS received the message (for lag measurement).
    pub sent_at: Option<SystemTime>,
    pub receive_count: u32,
}

#[derive(Debug, thiserror::Error)]
#[error("{operation} on {queue}: {message}")]
pub struct QueueError {
    pub operation: &'static str,
    pub queue: String,
    pub message: String,
}

/// What the queue says about itself (`GetQueueAttributes`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueAttributes {
    pub visibility_timeout_secs: u64,
    pub visible: u64,
    pub in_flight: u64,
    pub delayed: u64,
}

/// The verbs the pipeline needs from a queue.
pub trait Queue: Send + Sync + 'static {
    fn receive(&self) -> BoxFuture<'_, Result<Vec<Message>, QueueError>>;
    /// Deletes up to ten messages; returns the receipt handles that failed.
    fn delete_batch(
        &self,
        receipt_handles: Vec<String>,
    ) -> BoxFuture<'_, Result<Vec<String>, QueueError>>;
    fn change_visibility(
        &self,
        receipt_handle: String,
        timeout_secs: i32,
    ) -> BoxFuture<'_, Result<(), QueueError>>;
    fn attributes(&self) -> BoxFuture<'_, Result<QueueAttributes, QueueError>>;
}

/// An object opened for streaming, with what S3 said about its encoding.
pub struct ObjectBody {
    pub reader: Box<dyn AsyncRead + Send + Unpin>,
    pub content_encoding: Option<String>,
    pub content_type: Option<String>,
    pub etag: Option<String>,
    pub version_id: Option<String>,
    /// When the object was written (`Last-Modified`).
    pub last_modified: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    /// The object no longer exists: its notification is deleted.
    #[error("s3://{bucket}/{key} does not exist")]
    NotFound { bucket: String, key: String },
    #[error("access to s3://{bucket}/{key} denied: {message}")]
    AccessDenied {
        bucket: String,
        key: String,
        message: String,
    },
    #[error("reading s3://{bucket}/{key}: {message}")]
    Other {
        bucket: String,
        key: String,
        message: String,
        retryable: bool,
    },
}

impl ObjectError {
    pub fn label(&self) -> &'static str {
        match self {
            ObjectError::NotFound { .. } => "not_found",
            ObjectError::AccessDenied { .. } => "access_denied",
            ObjectError::Other { .. } => "other",
        }
    }
}

pub trait ObjectStore: Send + Sync + 'static {
    fn get(&self, object: &ObjectRef) -> BoxFuture<'_, Result<ObjectBody, ObjectError>>;
}
