//! `[retention]`: how long indices are kept, as the Index State Management
//! policies `siem-pipeline setup` installs ([`crate::sink::retention`]).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Invalid, invalid};

/// The most days a retention may name (a hundred years).
pub const MAX_DAYS: u64 = 36_500;

/// Without any key, no policy is installed and indices are kept until
/// deleted by hand.
///
/// ```toml
/// [retention]
/// delete_after_days = 365        # every log type
/// [retention.log_types]
/// vpcflow = 90                   # overrides, by log type
/// cloudtrail = 730
/// ```
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionSection {
    /// Days the events of every log type are kept at least (1 to 36500).
    pub delete_after_days: Option<u64>,
    /// Days by log type, overriding `delete_after_days`.
    pub log_types: Option<BTreeMap<String, u64>>,
}

/// `[retention]`, validated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionConfig {
    /// Days for every log type without its own.
    pub default_days: Option<u32>,
    /// Days by registered log type name.
    pub by_log_type: BTreeMap<&'static str, u32>,
}

impl RetentionConfig {
    /// Whether any index is to be deleted.
    pub fn is_set(&self) -> bool {
        self.default_days.is_some() || !self.by_log_type.is_empty()
    }

    /// The days of `log_type`, if it is deleted at all.
    pub fn days(&self, log_type: &str) -> Option<u32> {
        self.by_log_type
            .get(log_type)
            .copied()
            .or(self.default_days)
    }
}

fn days(key: &'static str, value: u64) -> Result<u32, Invalid> {
    if (1..=MAX_DAYS).contains(&value) {
        Ok(value as u32)
    } else {
        Err(invalid(
            key,
            format!("must be between 1 and {MAX_DAYS} days (got {value})"),
        ))
    }
}

impl RetentionSection {
    pub fn validate(self) -> Result<RetentionConfig, Invalid> {
        let default_days = self
            .delete_after_days
            .map(|d| days("retention.delete_after_days", d))
            .transpose()?;
        let mut by_log_type = BTreeMap::new();
        const KEY: &str = "retention.log_types";
        for (name, value) in self.log_types.unwrap_or_default() {
            let Ok(log_type) = crate::log_types::by_name(&name) else {
                let known: Vec<&str> = crate::log_types::REGISTRY
                    .iter()
                    .map(|t| t.name())
                    .collect();
                return Err(invalid(
                    KEY,
                    format!("{name:?} is not a log type (known: {})", known.join(", ")),
                ));
            };
            let days =
                days(KEY, value).map_err(|e| invalid(KEY, format!("{name}: {}", e.message)))?;
            by_log_type.insert(log_type.name(), days);
        }
        Ok(RetentionConfig {
            default_days,
            by_log_type,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(text: &str) -> RetentionSection {
        toml::from_str(text).expect("parses")
    }

    #[test]
    fn no_key_means_no_retention() {
        let r = RetentionSection::default().validate().expect("valid");
        assert!(!r.is_set());
        assert_eq!(r.days("cloudtrail"), None);
    }

    #[test]
    fn a_log_type_s_days_override_the_default() {
        let r = section("delete_after_days = 365\n[log_types]\nvpcflow = 90\n")
            .validate()
            .expect("valid");
        assert_eq!(r.days("vpcflow"), Some(90));
        assert_eq!(r.days("cloudtrail"), Some(365));
        let only = section("[log_types]\nvpcflow = 90\n")
            .validate()
            .expect("valid");
        assert_eq!(only.days("cloudtrail"), None);
    }

    #[test]
    fn an_unknown_log_type_or_a_day_count_out_of_range_names_its_key() {
        let e = section("[log_types]\nvpcflows = 90\n")
            .validate()
            .expect_err("unknown log type");
        assert_eq!(e.key, "retention.log_types");
        assert!(
            e.message
                .starts_with("\"vpcflows\" is not a log type (known: guardduty, "),
            "{}",
            e.message
        );
        let e = section("[log_types]\nvpcflow = 40000\n")
            .validate()
            .expect_err("too long");
        assert_eq!(
            e.message,
            "vpcflow: must be between 1 and 36500 days (got 40000)"
        );
        let e = section("delete_after_days = 0")
            .validate()
            .expect_err("zero");
        assert_eq!(e.key, "retention.delete_after_days");
        assert_eq!(e.message, "must be between 1 and 36500 days (got 0)");
    }
}
