//! Numeric keys: each is one const that names its key, its default and its
//! range, so that a default is written once and a bound cannot be passed where
//! the default belongs.
//!
//! ```
//! use siem_pipeline::config::Bounded;
//!
//! const MAX_MESSAGES: Bounded = Bounded { key: "sqs.max_messages", default: 10, min: 1, max: 10 };
//! assert_eq!(MAX_MESSAGES.check(None), Ok(10));
//! assert_eq!(MAX_MESSAGES.check(Some(11)).map_err(|e| e.message), Err("11 is out of range 1..=10".to_owned()));
//! ```

use super::{Invalid, invalid};

/// A numeric key with a default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounded {
    /// Dotted key, as errors name it: `sqs.max_messages`.
    pub key: &'static str,
    /// The value when the key is absent.
    pub default: u64,
    /// Smallest value accepted.
    pub min: u64,
    /// Largest value accepted.
    pub max: u64,
}

impl Bounded {
    /// `value`, or the default when absent, if it is within `min..=max`.
    pub fn check(&self, value: Option<u64>) -> Result<u64, Invalid> {
        within(self.key, value.unwrap_or(self.default), self.min, self.max)
    }
}

/// A numeric key without a default: when it is absent, something else
/// decides (e.g. the queue's own visibility timeout).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionalBounded {
    /// Dotted key, as errors name it.
    pub key: &'static str,
    /// Smallest value accepted.
    pub min: u64,
    /// Largest value accepted.
    pub max: u64,
}

impl OptionalBounded {
    /// `value`, if it is absent or within `min..=max`.
    pub fn check(&self, value: Option<u64>) -> Result<Option<u64>, Invalid> {
        value
            .map(|v| within(self.key, v, self.min, self.max))
            .transpose()
    }
}

fn within(key: &'static str, value: u64, min: u64, max: u64) -> Result<u64, Invalid> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(invalid(
            key,
            format!("{value} is out of range {min}..={max}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECEIVERS: Bounded = Bounded {
        key: "sqs.receivers",
        default: 2,
        min: 1,
        max: 64,
    };

    #[test]
    fn an_absent_bounded_key_takes_its_default() {
        assert_eq!(RECEIVERS.check(None), Ok(2));
    }

    #[test]
    fn a_bounded_key_accepts_both_ends_of_its_range() {
        assert_eq!(RECEIVERS.check(Some(1)), Ok(1));
        assert_eq!(RECEIVERS.check(Some(64)), Ok(64));
    }

    #[test]
    fn a_bounded_setting_names_its_key_and_range() {
        assert_eq!(
            RECEIVERS.check(Some(0)),
            Err(invalid("sqs.receivers", "0 is out of range 1..=64"))
        );
        assert_eq!(
            RECEIVERS.check(Some(65)),
            Err(invalid("sqs.receivers", "65 is out of range 1..=64"))
        );
    }

    #[test]
    fn an_optional_bounded_key_stays_absent_and_is_checked_when_given() {
        let timeout = OptionalBounded {
            key: "sqs.visibility_timeout_secs",
            min: 2,
            max: 43_200,
        };
        assert_eq!(timeout.check(None), Ok(None));
        assert_eq!(timeout.check(Some(30)), Ok(Some(30)));
        assert_eq!(
            timeout.check(Some(1)),
            Err(invalid(
                "sqs.visibility_timeout_secs",
                "1 is out of range 2..=43200"
            ))
        );
    }
}
