//! [`ObjectStore`] over the AWS SDK's S3 client: a streaming `GetObject` whose
//! body is never collected in memory.

use aws_sdk_s3::Client;
use aws_sdk_s3::operation::get_object::GetObjectError;
use futures::future::BoxFuture;

use super::{ObjectBody, ObjectError, ObjectRef, ObjectStore};

pub struct S3Store {
    client: Client,
}

impl S3Store {
    pub fn new(client: Client) -> Self {
        S3Store { client }
    }
}

impl ObjectStore for S3Store {
    fn get(&self, object: &ObjectRef) -> BoxFuture<'_, Result<ObjectBody, ObjectError>> {
        let object = object.clone();
        Box::pin(async move {
            let mut request = self.client.get_object().bucket(&object.bucket).key(&object.key);
            if let Some(version) = &object.version_id {
                request = request.version_id(version);
            }
            match request.send().await {
                Ok(out) => Ok(ObjectBody {
                    content_encoding: out.content_encoding,
                    content_type: out.content_type,
                    etag: out.e_tag.or(object.etag),
                    version_id: out.version_id.or(object.version_id),
                    reader: Box::new(out.body.into_async_read()),
                }),
                Err(e) => Err(classify(&object, e)),
            }
        })
    }
}

fn classify(object: &ObjectRef, e: aws_sdk_s3::error::SdkError<GetObjectError>) -> ObjectError {
    let bucket = object.bucket.clone();
    let key = object.key.clone();
    let message = crate::telemetry::error_chain(&e);
    let status = e.raw_response().map(|r| r.status().as_u16());
    if let Some(service) = e.as_service_error() {
        if service.is_no_such_key() {
            return ObjectError::NotFound { bucket, key };
        }
        let code = aws_sdk_s3::error::ProvideErrorMetadata::code(service).unwrap_or_default();
        if code == "AccessDenied" || code.starts_with("KMS.") || code == "InvalidObjectState" {
            return ObjectError::AccessDenied { bucket, key, message };
        }
    }
    match status {
        Some(404) => ObjectError::NotFound { bucket, key },
        Some(403) => ObjectError::AccessDenied { bucket, key, message },
        Some(s) => ObjectError::Other {
            bucket,
            key,
            message,
            retryable: s == 429 || s >= 500,
        },
        None => ObjectError::Other {
            bucket,
            key,
            message,
            retryable: true,
        },
    }
}
