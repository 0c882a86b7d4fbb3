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
            let mut request = self
                .client
                .get_object()
                .bucket(&object.bucket)
                .key(&object.key);
            if let Some(version) = &object.version_id {
                request = request.version_id(version);
            }
            match request.send().await {
                Ok(out) => Ok(ObjectBody {
                    content_encoding: out.content_encoding,
                    content_type: out.content_type,
                    etag: out.e_tag.or(object.etag),
                    version_id: out.version_id.or(object.version_id),
                    last_modified: out
                        .last_modified
                        .and_then(|t| chrono::DateTime::from_timestamp(t.secs(), t.subsec_nanos())),
                    reader: Box::new(out.body.into_async_read()),
                }),
                Err(e) => Err(classify(&object, e)),
            }
        })
    }
}

fn classify(object: &ObjectRef, e: aws_sdk_s3::error::SdkError<GetObjectError>) -> ObjectError {
    let status = e.raw_response().map(|r| r.status().as_u16());
    let code = e
        .as_service_error()
        .and_then(|s| aws_sdk_s3::error::ProvideErrorMetadata::code(s).map(str::to_owned));
    let gone = e
        .as_service_error()
        .is_some_and(GetObjectError::is_no_such_key);
    classify_answer(
        object,
        status,
        code.as_deref(),
        gone,
        crate::telemetry::error_chain(&e),
    )
}

/// Only an object that no longer exists (`NoSuchKey`, or `NoSuchVersion` for
/// a version deleted since) is gone; a missing bucket, a wrong endpoint or
/// region, any other 404 keeps the message: the object may well exist.
fn classify_answer(
    object: &ObjectRef,
    status: Option<u16>,
    code: Option<&str>,
    no_such_key: bool,
    message: String,
) -> ObjectError {
    let bucket = object.bucket.clone();
    let key = object.key.clone();
    if no_such_key || matches!(code, Some("NoSuchKey" | "NoSuchVersion")) {
        return ObjectError::NotFound { bucket, key };
    }
    if matches!(code, Some(c) if c == "AccessDenied" || c.starts_with("KMS.") || c == "InvalidObjectState")
        || status == Some(403)
    {
        return ObjectError::AccessDenied {
            bucket,
            key,
            message,
        };
    }
    ObjectError::Other {
        bucket,
        key,
        message,
        retryable: status.is_none_or(|s| s == 429 || s >= 500),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object() -> ObjectRef {
        ObjectRef {
            bucket: "b".into(),
            key: "k".into(),
            size: None,
            version_id: None,
            etag: None,
        }
    }

    fn classify(status: u16, code: &str) -> ObjectError {
        classify_answer(&object(), Some(status), Some(code), false, code.into())
    }

    #[test]
    fn only_a_missing_key_or_version_is_gone() {
        assert!(matches!(
            classify(404, "NoSuchKey"),
            ObjectError::NotFound { .. }
        ));
        assert!(matches!(
            classify(404, "NoSuchVersion"),
            ObjectError::NotFound { .. }
        ));
    }

    #[test]
    fn a_missing_bucket_or_a_wrong_endpoint_keeps_the_message() {
        for (status, code) in [
            (404, "NoSuchBucket"),
            (301, "PermanentRedirect"),
            (400, "AuthorizationHeaderMalformed"),
            (404, ""),
        ] {
            assert!(
                matches!(classify(status, code), ObjectError::Other { .. }),
                "{status} {code}"
            );
        }
    }

    #[test]
    fn denied_reads_are_told_apart() {
        assert!(matches!(
            classify(403, "AccessDenied"),
            ObjectError::AccessDenied { .. }
        ));
        assert!(matches!(
            classify(400, "KMS.DisabledException"),
            ObjectError::AccessDenied { .. }
        ));
    }
}
