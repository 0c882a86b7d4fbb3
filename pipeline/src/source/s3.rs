//! [`ObjectStore`] over the AWS SDK's S3 client: a streaming `GetObject` whose
//! body is never collected in memory, with the task's own credentials or a
//! role assumed for the object's bucket ([`S3Clients`]).

use aws_sdk_s3::Client;
use aws_sdk_s3::operation::get_object::GetObjectError;
use futures::future::BoxFuture;

use super::{ObjectBody, ObjectError, ObjectRef, ObjectStore};
use crate::config::{AssumeRole, AwsConfig};

/// S3 clients by bucket and key prefix: the task's own, and one per
/// `[[s3.assume_roles]]` entry. A role's credentials are obtained with
/// `sts:AssumeRole` when first needed, cached, and renewed before they
/// expire (the SDK's identity cache).
#[derive(Clone)]
pub struct S3Clients {
    own: Client,
    roles: Vec<(AssumeRole, Client)>,
}

impl S3Clients {
    /// The task's own credentials for every bucket.
    pub fn own(client: Client) -> S3Clients {
        S3Clients {
            own: client,
            roles: Vec::new(),
        }
    }

    pub async fn new(
        sdk: &aws_config::SdkConfig,
        aws: &AwsConfig,
        own: Client,
        roles: &[AssumeRole],
    ) -> S3Clients {
        let mut clients = Vec::new();
        for role in roles {
            let mut provider = aws_config::sts::AssumeRoleProvider::builder(&role.role_arn)
                .session_name(&role.session_name)
                .configure(sdk);
            if let Some(id) = &role.external_id {
                provider = provider.external_id(id);
            }
            let client = Client::from_conf(
                aws_sdk_s3::config::Builder::from(sdk)
                    .credentials_provider(provider.build().await)
                    .force_path_style(aws.s3_force_path_style)
                    .build(),
            );
            clients.push((role.clone(), client));
        }
        S3Clients {
            own,
            roles: clients,
        }
    }

    /// The client for `key` in `bucket` (the longest matching prefix of a
    /// role of the bucket), and the role's ARN when it is not the task's own.
    pub fn for_object(&self, bucket: &str, key: &str) -> (&Client, Option<&str>) {
        self.roles
            .iter()
            .filter(|(r, _)| r.bucket == bucket && key.starts_with(&r.prefix))
            .max_by_key(|(r, _)| r.prefix.len())
            .map_or((&self.own, None), |(r, c)| (c, Some(r.role_arn.as_str())))
    }
}

pub struct S3Store {
    clients: S3Clients,
}

impl S3Store {
    pub fn new(client: Client) -> Self {
        S3Store {
            clients: S3Clients::own(client),
        }
    }

    pub fn with_clients(clients: S3Clients) -> Self {
        S3Store { clients }
    }
}

impl ObjectStore for S3Store {
    fn get(&self, object: &ObjectRef) -> BoxFuture<'_, Result<ObjectBody, ObjectError>> {
        let object = object.clone();
        Box::pin(async move {
            let (client, role) = self.clients.for_object(&object.bucket, &object.key);
            let mut request = client.get_object().bucket(&object.bucket).key(&object.key);
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
                Err(e) => Err(classify(&object, e, role)),
            }
        })
    }
}

fn classify(
    object: &ObjectRef,
    e: aws_sdk_s3::error::SdkError<GetObjectError>,
    role: Option<&str>,
) -> ObjectError {
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
        match role {
            Some(role) => format!("{} (read as {role})", crate::telemetry::error_chain(&e)),
            None => format!(
                "{} (read with the task's own credentials)",
                crate::telemetry::error_chain(&e)
            ),
        },
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

    fn role(bucket: &str, prefix: &str, arn: &str) -> AssumeRole {
        AssumeRole {
            bucket: bucket.into(),
            prefix: prefix.into(),
            role_arn: arn.into(),
            external_id: None,
            session_name: "siem-pipeline".into(),
        }
    }

    #[test]
    fn an_object_is_read_with_the_role_of_its_bucket_s_longest_prefix() {
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .build();
        let client = || Client::from_conf(config.clone());
        let clients = S3Clients {
            own: client(),
            roles: vec![
                (
                    role("archive", "", "arn:aws:iam::111111111111:role/all"),
                    client(),
                ),
                (
                    role(
                        "archive",
                        "AWSLogs/222222222222/",
                        "arn:aws:iam::222222222222:role/one",
                    ),
                    client(),
                ),
            ],
        };
        let arn = |bucket: &str, key: &str| clients.for_object(bucket, key).1.map(str::to_owned);
        assert_eq!(
            arn("archive", "AWSLogs/222222222222/CloudTrail/x.gz").as_deref(),
            Some("arn:aws:iam::222222222222:role/one")
        );
        assert_eq!(
            arn("archive", "AWSLogs/333333333333/x.gz").as_deref(),
            Some("arn:aws:iam::111111111111:role/all")
        );
        assert_eq!(arn("own-bucket", "AWSLogs/222222222222/x.gz"), None);
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
