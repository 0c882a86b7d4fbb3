//! `[aws]`, `[sqs]` and `[s3]`: where records come from.

use std::time::Duration;

use serde::Deserialize;

use super::{Bounded, Invalid, OptionalBounded, check_url, invalid, required_url};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsSection {
    /// AWS region; defaults to the SDK's provider chain (`AWS_REGION`, profile, IMDS).
    pub region: Option<String>,
    /// Endpoint override for S3-compatible stores, VPC endpoints and local emulators.
    pub endpoint_url: Option<String>,
    /// Path-style S3 addressing (needed by most S3-compatible stores). Default false.
    pub s3_force_path_style: Option<bool>,
}

/// `[aws]`, validated.
#[derive(Debug, Clone)]
pub struct AwsConfig {
    /// `None`: the SDK's provider chain decides.
    pub region: Option<String>,
    /// An http(s) URL, when set.
    pub endpoint_url: Option<String>,
    pub s3_force_path_style: bool,
}

impl AwsSection {
    pub fn validate(self) -> Result<AwsConfig, Invalid> {
        if let Some(endpoint) = &self.endpoint_url {
            check_url("aws.endpoint_url", endpoint)?;
        }
        Ok(AwsConfig {
            region: self.region,
            endpoint_url: self.endpoint_url,
            s3_force_path_style: self.s3_force_path_style.unwrap_or(false),
        })
    }
}

/// Long-poll wait of a receive, in seconds.
pub const WAIT_TIME_SECS: Bounded = Bounded {
    key: "sqs.wait_time_secs",
    default: 20,
    min: 0,
    max: 20,
};
/// Messages per receive (SQS returns at most 10).
pub const MAX_MESSAGES: Bounded = Bounded {
    key: "sqs.max_messages",
    default: 10,
    min: 1,
    max: 10,
};
/// Receive calls kept in flight.
pub const RECEIVERS: Bounded = Bounded {
    key: "sqs.receivers",
    default: 2,
    min: 1,
    max: 64,
};
/// Consecutive empty receives before stopping; 0 runs forever.
pub const EXIT_AFTER_EMPTY_RECEIVES: Bounded = Bounded {
    key: "sqs.exit_after_empty_receives",
    default: 0,
    min: 0,
    max: 1_000_000,
};
/// The queue's visibility timeout, in seconds; read from the queue when absent.
pub const VISIBILITY_TIMEOUT_SECS: OptionalBounded = OptionalBounded {
    key: "sqs.visibility_timeout_secs",
    min: 2,
    max: 43_200,
};
/// Longest a message is kept invisible by extensions, in seconds (SQS's own
/// maximum is 12 hours).
pub const MAX_VISIBILITY_EXTENSION_SECS: Bounded = Bounded {
    key: "sqs.max_visibility_extension_secs",
    default: 43_200,
    min: 0,
    max: 43_200,
};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqsSection {
    /// URL of the queue that receives the S3 notifications. Required.
    pub queue_url: Option<String>,
    /// Long-poll wait in seconds: [`WAIT_TIME_SECS`].
    pub wait_time_secs: Option<u64>,
    /// Messages per receive: [`MAX_MESSAGES`].
    pub max_messages: Option<u64>,
    /// Receive calls kept in flight: [`RECEIVERS`].
    pub receivers: Option<u64>,
    /// The queue's visibility timeout in seconds, [`VISIBILITY_TIMEOUT_SECS`];
    /// read from the queue when absent. In-flight messages are extended at
    /// half of it.
    pub visibility_timeout_secs: Option<u64>,
    /// Longest a message is kept invisible by extensions, in seconds:
    /// [`MAX_VISIBILITY_EXTENSION_SECS`].
    pub max_visibility_extension_secs: Option<u64>,
    /// Stop once the queue has been empty for this many consecutive receives
    /// (0 = run forever, the service default): [`EXIT_AFTER_EMPTY_RECEIVES`].
    /// Used by batch jobs and the demo.
    pub exit_after_empty_receives: Option<u64>,
}

/// `[sqs]`, validated.
#[derive(Debug, Clone)]
pub struct SqsConfig {
    /// An http(s) URL.
    pub queue_url: String,
    pub wait_time: Duration,
    pub max_messages: i32,
    pub receivers: usize,
    /// `None`: run until stopped.
    pub exit_after_empty_receives: Option<u32>,
    /// `None`: read from the queue.
    pub visibility_timeout: Option<Duration>,
    pub max_visibility_extension: Duration,
}

impl SqsSection {
    pub fn validate(self) -> Result<SqsConfig, Invalid> {
        Ok(SqsConfig {
            queue_url: required_url("sqs.queue_url", self.queue_url)?,
            wait_time: Duration::from_secs(WAIT_TIME_SECS.check(self.wait_time_secs)?),
            max_messages: MAX_MESSAGES.check(self.max_messages)? as i32,
            receivers: RECEIVERS.check(self.receivers)? as usize,
            exit_after_empty_receives: match EXIT_AFTER_EMPTY_RECEIVES
                .check(self.exit_after_empty_receives)?
            {
                0 => None,
                n => Some(n as u32),
            },
            visibility_timeout: VISIBILITY_TIMEOUT_SECS
                .check(self.visibility_timeout_secs)?
                .map(Duration::from_secs),
            max_visibility_extension: Duration::from_secs(
                MAX_VISIBILITY_EXTENSION_SECS.check(self.max_visibility_extension_secs)?,
            ),
        })
    }
}

/// Objects read at the same time.
pub const MAX_CONCURRENT_OBJECTS: Bounded = Bounded {
    key: "s3.max_concurrent_objects",
    default: 4,
    min: 1,
    max: 256,
};

/// ```toml
/// [s3]
/// max_concurrent_objects = 4
/// [[s3.assume_roles]]               # objects of another account's bucket
/// bucket = "org-log-archive"
/// prefix = "AWSLogs/111111111111/"  # optional: only these keys
/// role_arn = "arn:aws:iam::111111111111:role/siem-reader"
/// external_id = "siem-7f3a"         # optional
/// session_name = "siem-pipeline"    # optional (default)
/// ```
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Section {
    /// Objects read at the same time: [`MAX_CONCURRENT_OBJECTS`].
    pub max_concurrent_objects: Option<u64>,
    /// Roles to read buckets (or key prefixes) with: the longest matching
    /// prefix of the object's bucket wins; other objects are read with the
    /// task's own credentials.
    pub assume_roles: Option<Vec<AssumeRoleSection>>,
}

/// One `[[s3.assume_roles]]` entry.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssumeRoleSection {
    /// The bucket. Required.
    pub bucket: String,
    /// Only keys under this prefix (default: the whole bucket).
    pub prefix: Option<String>,
    /// `arn:aws:iam::<account>:role/<name>`. Required.
    pub role_arn: String,
    /// The external id the role's trust policy requires, if any.
    pub external_id: Option<String>,
    /// The session name, seen in the bucket owner's CloudTrail. Default `siem-pipeline`.
    pub session_name: Option<String>,
}

/// A role objects of a bucket (or key prefix) are read with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssumeRole {
    pub bucket: String,
    pub prefix: String,
    pub role_arn: String,
    pub external_id: Option<String>,
    pub session_name: String,
}

/// `[s3]`, validated.
#[derive(Debug, Clone)]
pub struct S3Config {
    pub max_concurrent_objects: usize,
    pub assume_roles: Vec<AssumeRole>,
}

const ROLES_KEY: &str = "s3.assume_roles";

fn is_role_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    matches!(parts.as_slice(), ["arn", partition, "iam", "", account, resource]
        if partition.starts_with("aws")
            && account.len() == 12
            && account.bytes().all(|b| b.is_ascii_digit())
            && resource.strip_prefix("role/").is_some_and(|n| !n.is_empty()))
}

impl AssumeRoleSection {
    fn validate(self, n: usize) -> Result<AssumeRole, Invalid> {
        let at = |message: String| invalid(ROLES_KEY, format!("entry {n}: {message}"));
        if self.bucket.is_empty() || self.bucket.contains('/') {
            return Err(at(format!("bucket {:?} is not a bucket name", self.bucket)));
        }
        if !is_role_arn(&self.role_arn) {
            return Err(at(format!(
                "role_arn {:?} is not arn:aws:iam::<account>:role/<name>",
                self.role_arn
            )));
        }
        if let Some(id) = &self.external_id
            && !(2..=1224).contains(&id.len())
        {
            return Err(at("external_id must be 2 to 1224 characters".into()));
        }
        let session_name = self.session_name.unwrap_or_else(|| "siem-pipeline".into());
        let valid_session = (2..=64).contains(&session_name.len())
            && session_name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+=,.@-_".contains(&b));
        if !valid_session {
            return Err(at(format!(
                "session_name {session_name:?} must be 2 to 64 of A-Z a-z 0-9 + = , . @ - _"
            )));
        }
        Ok(AssumeRole {
            bucket: self.bucket,
            prefix: self.prefix.unwrap_or_default(),
            role_arn: self.role_arn,
            external_id: self.external_id,
            session_name,
        })
    }
}

impl S3Section {
    pub fn validate(self) -> Result<S3Config, Invalid> {
        let assume_roles = self
            .assume_roles
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(i, r)| r.validate(i + 1))
            .collect::<Result<Vec<_>, _>>()?;
        for (i, a) in assume_roles.iter().enumerate() {
            if assume_roles[..i]
                .iter()
                .any(|b| b.bucket == a.bucket && b.prefix == a.prefix)
            {
                return Err(invalid(
                    ROLES_KEY,
                    format!(
                        "entry {}: bucket {:?} with prefix {:?} is listed twice",
                        i + 1,
                        a.bucket,
                        a.prefix
                    ),
                ));
            }
        }
        Ok(S3Config {
            max_concurrent_objects: MAX_CONCURRENT_OBJECTS.check(self.max_concurrent_objects)?
                as usize,
            assume_roles,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::{MINIMAL, load};

    #[test]
    fn a_role_entry_is_checked_and_named_by_its_position() {
        let roles = |entries: &str| load(&format!("{MINIMAL}\n[s3]\n{entries}"), &[]);
        let ok = roles(
            "[[s3.assume_roles]]\nbucket = \"archive\"\nrole_arn = \"arn:aws:iam::111111111111:role/siem-reader\"\n",
        )
        .expect("valid");
        assert_eq!(ok.s3.assume_roles[0].session_name, "siem-pipeline");
        assert_eq!(ok.s3.assume_roles[0].prefix, "");
        let e = roles(
            "[[s3.assume_roles]]\nbucket = \"archive\"\nrole_arn = \"arn:aws:iam::111111111111:role/a\"\n\
             [[s3.assume_roles]]\nbucket = \"archive\"\nrole_arn = \"arn:aws:iam::1111:user/x\"\n",
        )
        .expect_err("bad arn");
        assert!(
            e.to_string().contains(
                "`s3.assume_roles`: entry 2: role_arn \"arn:aws:iam::1111:user/x\" is not arn:aws:iam::<account>:role/<name>"
            ),
            "{e}"
        );
        let e = roles(
            "[[s3.assume_roles]]\nbucket = \"archive\"\nrole_arn = \"arn:aws:iam::111111111111:role/a\"\nsession_name = \"has space\"\n",
        )
        .expect_err("bad session name");
        assert!(
            e.to_string()
                .contains("entry 1: session_name \"has space\""),
            "{e}"
        );
    }

    #[test]
    fn a_minimal_file_gets_the_named_defaults() {
        let c = load(MINIMAL, &[]).expect("valid");
        assert_eq!(c.sqs.wait_time, Duration::from_secs(WAIT_TIME_SECS.default));
        assert_eq!(c.sqs.max_messages as u64, MAX_MESSAGES.default);
        assert_eq!(c.sqs.receivers as u64, RECEIVERS.default);
        assert_eq!(c.sqs.exit_after_empty_receives, None, "0 runs forever");
        assert_eq!(c.sqs.visibility_timeout, None, "read from the queue");
        assert_eq!(
            c.sqs.max_visibility_extension,
            Duration::from_secs(MAX_VISIBILITY_EXTENSION_SECS.default)
        );
        assert_eq!(
            c.s3.max_concurrent_objects as u64,
            MAX_CONCURRENT_OBJECTS.default
        );
        assert!(!c.aws.s3_force_path_style);
    }

    #[test]
    fn the_queue_url_and_the_endpoint_are_http_urls() {
        let err = load(MINIMAL, &[("SIEM_SQS_QUEUE_URL", "siem-logs")])
            .expect_err("not a URL")
            .to_string();
        assert!(err.contains("sqs.queue_url"), "{err}");
        let err = load(MINIMAL, &[("SIEM_AWS_ENDPOINT_URL", "localhost:4566")])
            .expect_err("not a URL")
            .to_string();
        assert!(err.contains("aws.endpoint_url"), "{err}");
    }

    #[test]
    fn a_visibility_timeout_is_checked_only_when_given() {
        let c = load(MINIMAL, &[("SIEM_SQS_VISIBILITY_TIMEOUT_SECS", "30")]).expect("valid");
        assert_eq!(c.sqs.visibility_timeout, Some(Duration::from_secs(30)));
        let err = load(MINIMAL, &[("SIEM_SQS_VISIBILITY_TIMEOUT_SECS", "1")])
            .expect_err("too short")
            .to_string();
        assert!(
            err.contains("sqs.visibility_timeout_secs") && err.contains("2..=43200"),
            "{err}"
        );
    }
}
