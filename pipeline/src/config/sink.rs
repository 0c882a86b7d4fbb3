//! `[bulk]` and `[dead_letter]`: how documents are delivered to OpenSearch,
//! and where those that never can be go.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::{Bounded, Invalid, invalid};

/// Flush a batch at this many bytes of request body.
pub const MAX_BYTES: Bounded = Bounded {
    key: "bulk.max_bytes",
    default: 5 << 20,
    min: 1024,
    max: 100 << 20,
};
/// Flush a batch at this many documents.
pub const MAX_DOCUMENTS: Bounded = Bounded {
    key: "bulk.max_documents",
    default: 5000,
    min: 1,
    max: 100_000,
};
/// Flush a non-empty batch after this many milliseconds.
pub const FLUSH_INTERVAL_MS: Bounded = Bounded {
    key: "bulk.flush_interval_ms",
    default: 1000,
    min: 1,
    max: 600_000,
};
/// Bulk requests in flight.
pub const CONCURRENCY: Bounded = Bounded {
    key: "bulk.concurrency",
    default: 2,
    min: 1,
    max: 64,
};
/// Retries of a request or an item before the record is given up on.
pub const MAX_RETRIES: Bounded = Bounded {
    key: "bulk.max_retries",
    default: 8,
    min: 0,
    max: 1000,
};
/// Longest pause between retries, in milliseconds.
pub const MAX_BACKOFF_MS: Bounded = Bounded {
    key: "bulk.max_backoff_ms",
    default: 30_000,
    min: 1,
    max: 3_600_000,
};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkSection {
    /// Flush a batch at this many bytes of request body: [`MAX_BYTES`] (5 MiB).
    pub max_bytes: Option<u64>,
    /// Flush a batch at this many documents: [`MAX_DOCUMENTS`].
    pub max_documents: Option<u64>,
    /// Flush a non-empty batch after this many milliseconds: [`FLUSH_INTERVAL_MS`].
    pub flush_interval_ms: Option<u64>,
    /// Bulk requests in flight: [`CONCURRENCY`].
    pub concurrency: Option<u64>,
    /// Retries of a request or an item after 429/5xx/transport errors before the
    /// record is given up on (its message then returns to the queue): [`MAX_RETRIES`].
    pub max_retries: Option<u64>,
    /// Longest pause between retries, in milliseconds: [`MAX_BACKOFF_MS`].
    pub max_backoff_ms: Option<u64>,
}

/// `[bulk]`, validated.
#[derive(Debug, Clone)]
pub struct BulkConfig {
    pub max_bytes: usize,
    pub max_documents: usize,
    pub flush_interval: Duration,
    pub concurrency: usize,
    pub max_retries: usize,
    pub max_backoff: Duration,
}

impl BulkSection {
    pub fn validate(self) -> Result<BulkConfig, Invalid> {
        Ok(BulkConfig {
            max_bytes: MAX_BYTES.check(self.max_bytes)? as usize,
            max_documents: MAX_DOCUMENTS.check(self.max_documents)? as usize,
            flush_interval: Duration::from_millis(FLUSH_INTERVAL_MS.check(self.flush_interval_ms)?),
            concurrency: CONCURRENCY.check(self.concurrency)? as usize,
            max_retries: MAX_RETRIES.check(self.max_retries)? as usize,
            max_backoff: Duration::from_millis(MAX_BACKOFF_MS.check(self.max_backoff_ms)?),
        })
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadLetterSection {
    /// `s3://bucket/prefix/` where records that can never be indexed are written.
    pub s3_url: Option<String>,
    /// A local folder instead of S3.
    pub directory: Option<PathBuf>,
}

/// `[dead_letter]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeadLetterConfig {
    /// No store: a record that can never be indexed keeps its message on the
    /// queue, whose redrive policy eventually moves it to the queue's DLQ.
    None,
    /// `prefix` is empty or ends with `/`.
    S3 {
        bucket: String,
        prefix: String,
    },
    Directory(PathBuf),
}

impl DeadLetterSection {
    pub fn validate(self) -> Result<DeadLetterConfig, Invalid> {
        match (self.s3_url, self.directory) {
            (None, None) => Ok(DeadLetterConfig::None),
            (Some(_), Some(_)) => Err(invalid(
                "dead_letter.directory",
                "set either dead_letter.s3_url or dead_letter.directory, not both",
            )),
            (Some(url), None) => {
                let rest = url.strip_prefix("s3://").ok_or_else(|| {
                    invalid(
                        "dead_letter.s3_url",
                        format!("{url:?} is not an s3://bucket/prefix/ URL"),
                    )
                })?;
                let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
                if bucket.is_empty() {
                    return Err(invalid(
                        "dead_letter.s3_url",
                        format!("{url:?} names no bucket"),
                    ));
                }
                let mut prefix = prefix.to_owned();
                if !prefix.is_empty() && !prefix.ends_with('/') {
                    prefix.push('/');
                }
                Ok(DeadLetterConfig::S3 {
                    bucket: bucket.to_owned(),
                    prefix,
                })
            }
            (None, Some(dir)) => Ok(DeadLetterConfig::Directory(dir)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::{MINIMAL, load};

    #[test]
    fn a_minimal_file_gets_the_named_defaults() {
        let c = load(MINIMAL, &[]).expect("valid").bulk;
        assert_eq!(c.max_bytes, 5 << 20);
        assert_eq!(c.max_bytes as u64, MAX_BYTES.default);
        assert_eq!(c.max_documents as u64, MAX_DOCUMENTS.default);
        assert_eq!(
            c.flush_interval,
            Duration::from_millis(FLUSH_INTERVAL_MS.default)
        );
        assert_eq!(c.concurrency as u64, CONCURRENCY.default);
        assert_eq!(c.max_retries as u64, MAX_RETRIES.default);
        assert_eq!(c.max_backoff, Duration::from_millis(MAX_BACKOFF_MS.default));
    }

    #[test]
    fn dead_letter_store_is_an_s3_url_or_a_directory() {
        let c = load(
            MINIMAL,
            &[("SIEM_DEAD_LETTER_S3_URL", "s3://dlq-bucket/siem")],
        )
        .expect("valid");
        assert_eq!(
            c.dead_letter,
            DeadLetterConfig::S3 {
                bucket: "dlq-bucket".into(),
                prefix: "siem/".into()
            }
        );
        assert_eq!(
            load(MINIMAL, &[]).expect("valid").dead_letter,
            DeadLetterConfig::None
        );
        let err = load(MINIMAL, &[("SIEM_DEAD_LETTER_S3_URL", "https://x")])
            .expect_err("an error")
            .to_string();
        assert!(err.contains("dead_letter.s3_url"), "{err}");
    }

    #[test]
    fn a_dead_letter_store_is_one_place_not_two() {
        let section = DeadLetterSection {
            s3_url: Some("s3://dlq/".into()),
            directory: Some("/var/dlq".into()),
        };
        assert_eq!(
            section.validate().map_err(|e| e.key),
            Err("dead_letter.directory")
        );
    }
}
