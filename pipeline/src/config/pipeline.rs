//! `[pipeline]`: what is buffered between stages, how long a shutdown may
//! take, and the limits that protect a worker from one bad object. The
//! defaults are the consts below, and [`PipelineConfig::default`] is made of
//! them: code that runs without a file (`normalize`, tests, benches) gets the
//! same limits as a service without a `[pipeline]` section.

use std::time::Duration;

use serde::Deserialize;

use super::{Bounded, Invalid};

/// Documents buffered between normalization and the bulk sink.
pub const CHANNEL_CAPACITY: Bounded = Bounded {
    key: "pipeline.channel_capacity",
    default: 10_000,
    min: 1,
    max: 10_000_000,
};
/// Seconds to finish in-flight work after SIGTERM/SIGINT.
pub const SHUTDOWN_GRACE_SECS: Bounded = Bounded {
    key: "pipeline.shutdown_grace_secs",
    default: 25,
    min: 0,
    max: 3600,
};
/// Bulk bytes held between normalization and OpenSearch (64 MiB).
pub const MAX_BYTES_IN_FLIGHT: Bounded = Bounded {
    key: "pipeline.max_bytes_in_flight",
    default: 64 << 20,
    min: 1 << 20,
    max: 64 << 30,
};
/// Longest record (line or JSON value) accepted, in bytes (16 MiB).
pub const MAX_RECORD_BYTES: Bounded = Bounded {
    key: "pipeline.max_record_bytes",
    default: 16 << 20,
    min: 1024,
    max: 1 << 30,
};
/// Most bytes one object may decompress to (64 GiB).
pub const MAX_OBJECT_BYTES: Bounded = Bounded {
    key: "pipeline.max_object_bytes",
    default: 64 << 30,
    min: 1024,
    max: 1 << 50,
};
/// Largest Parquet object read, in bytes (1 GiB).
pub const MAX_PARQUET_BYTES: Bounded = Bounded {
    key: "pipeline.max_parquet_bytes",
    default: 1 << 30,
    min: 1024,
    max: 1 << 40,
};
/// Largest decompressed/compressed ratio accepted past the first 16 MiB.
pub const MAX_DECOMPRESSION_RATIO: Bounded = Bounded {
    key: "pipeline.max_decompression_ratio",
    default: 200,
    min: 2,
    max: 1_000_000,
};

/// Oldest event time that picks its own index, in days before the object
/// was written (10 years: backfills of old logs are real).
pub const MAX_EVENT_AGE_DAYS: Bounded = Bounded {
    key: "pipeline.max_event_age_days",
    default: 3650,
    min: 1,
    max: 36_500,
};
/// Latest event time that picks its own index, in hours after the object
/// was written.
pub const MAX_EVENT_FUTURE_HOURS: Bounded = Bounded {
    key: "pipeline.max_event_future_hours",
    default: 24,
    min: 1,
    max: 87_600,
};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineSection {
    /// Documents buffered between normalization and the bulk sink: [`CHANNEL_CAPACITY`].
    pub channel_capacity: Option<u64>,
    /// Seconds to finish in-flight work after SIGTERM/SIGINT: [`SHUTDOWN_GRACE_SECS`].
    pub shutdown_grace_secs: Option<u64>,
    /// Bulk bytes held between normalization and OpenSearch: [`MAX_BYTES_IN_FLIGHT`].
    pub max_bytes_in_flight: Option<u64>,
    /// Longest record (line or JSON value) accepted, in bytes: [`MAX_RECORD_BYTES`].
    /// A longer record is an error of that record, not of its object.
    pub max_record_bytes: Option<u64>,
    /// Most bytes one object may decompress to: [`MAX_OBJECT_BYTES`].
    pub max_object_bytes: Option<u64>,
    /// Largest Parquet object read, in bytes: it is copied whole to $TMPDIR
    /// to be read. [`MAX_PARQUET_BYTES`].
    pub max_parquet_bytes: Option<u64>,
    /// Largest decompressed/compressed ratio accepted past the first 16 MiB:
    /// [`MAX_DECOMPRESSION_RATIO`] (a decompression bomb is far above the
    /// default, real logs far below).
    pub max_decompression_ratio: Option<u64>,
    /// An event older than this many days before its object was written goes
    /// to the index of the object's time, flagged
    /// `siem.timestamp_out_of_range`: [`MAX_EVENT_AGE_DAYS`]. One garbage
    /// time must not create an index (and its shards) of its own.
    pub max_event_age_days: Option<u64>,
    /// The same for events this many hours after their object was written:
    /// [`MAX_EVENT_FUTURE_HOURS`].
    pub max_event_future_hours: Option<u64>,
}

/// `[pipeline]`, validated. [`Default`] is an empty `[pipeline]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineConfig {
    pub channel_capacity: usize,
    pub shutdown_grace: Duration,
    pub max_bytes_in_flight: usize,
    pub max_record_bytes: usize,
    pub max_object_bytes: u64,
    pub max_parquet_bytes: u64,
    pub max_decompression_ratio: u64,
    pub max_event_age: Duration,
    pub max_event_future: Duration,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            channel_capacity: CHANNEL_CAPACITY.default as usize,
            shutdown_grace: Duration::from_secs(SHUTDOWN_GRACE_SECS.default),
            max_bytes_in_flight: MAX_BYTES_IN_FLIGHT.default as usize,
            max_record_bytes: MAX_RECORD_BYTES.default as usize,
            max_object_bytes: MAX_OBJECT_BYTES.default,
            max_parquet_bytes: MAX_PARQUET_BYTES.default,
            max_decompression_ratio: MAX_DECOMPRESSION_RATIO.default,
            max_event_age: Duration::from_secs(MAX_EVENT_AGE_DAYS.default * 86_400),
            max_event_future: Duration::from_secs(MAX_EVENT_FUTURE_HOURS.default * 3600),
        }
    }
}

impl PipelineSection {
    pub fn validate(self) -> Result<PipelineConfig, Invalid> {
        Ok(PipelineConfig {
            channel_capacity: CHANNEL_CAPACITY.check(self.channel_capacity)? as usize,
            shutdown_grace: Duration::from_secs(
                SHUTDOWN_GRACE_SECS.check(self.shutdown_grace_secs)?,
            ),
            max_bytes_in_flight: MAX_BYTES_IN_FLIGHT.check(self.max_bytes_in_flight)? as usize,
            max_record_bytes: MAX_RECORD_BYTES.check(self.max_record_bytes)? as usize,
            max_object_bytes: MAX_OBJECT_BYTES.check(self.max_object_bytes)?,
            max_parquet_bytes: MAX_PARQUET_BYTES.check(self.max_parquet_bytes)?,
            max_decompression_ratio: MAX_DECOMPRESSION_RATIO.check(self.max_decompression_ratio)?,
            max_event_age: Duration::from_secs(
                MAX_EVENT_AGE_DAYS.check(self.max_event_age_days)? * 86_400,
            ),
            max_event_future: Duration::from_secs(
                MAX_EVENT_FUTURE_HOURS.check(self.max_event_future_hours)? * 3600,
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::{MINIMAL, load};

    #[test]
    fn the_default_pipeline_config_is_an_empty_pipeline_section() {
        assert_eq!(
            PipelineSection::default().validate(),
            Ok(PipelineConfig::default())
        );
        assert_eq!(
            load(MINIMAL, &[]).expect("valid").pipeline,
            PipelineConfig::default()
        );
    }

    #[test]
    fn the_default_limits_are_16_mib_records_64_gib_objects_1_gib_parquet_and_a_ratio_of_200() {
        let c = PipelineConfig::default();
        assert_eq!(c.max_record_bytes, 16 << 20);
        assert_eq!(c.max_object_bytes, 64 << 30);
        assert_eq!(c.max_parquet_bytes, 1 << 30);
        assert_eq!(c.max_decompression_ratio, 200);
    }

    #[test]
    fn a_record_limit_below_1_kib_is_refused() {
        let err = load(MINIMAL, &[("SIEM_PIPELINE_MAX_RECORD_BYTES", "1000")])
            .expect_err("too small")
            .to_string();
        assert!(
            err.contains(MAX_RECORD_BYTES.key) && err.contains("1024..=1073741824"),
            "{err}"
        );
    }
}
