//! Configuration: a TOML file, then `SIEM_<SECTION>_<KEY>` environment
//! overrides, parsed into [`ConfigFile`] (raw, serde, unknown keys rejected) and
//! validated into [`Config`] (typed, ranges checked).
//!
//! Every error names the file and the key (and, for TOML syntax or type errors,
//! the line), or the environment variable it came from.
//!
//! ```toml
//! [sqs]
//! queue_url = "https://sqs.us-east-1.amazonaws.com/123456789012/siem-logs"
//!
//! [opensearch]
//! url = "https://search-siem.us-east-1.es.amazonaws.com"
//! ```
//!
//! # Layout
//!
//! This file reads the file and the environment and puts the sections
//! together; each section is validated in its own file, where its raw
//! `…Section` (every key documented) and its validated `…Config` sit side by
//! side with one [`Bounded`] const per numeric key (its default and range,
//! written once).
//!
//! | file | sections |
//! |---|---|
//! | [`source`] | `[aws]`, `[sqs]`, `[s3]`: where records come from |
//! | [`opensearch`] | `[opensearch]`, and the one parser of credentials it shares with `[dashboards]` |
//! | [`sink`] | `[bulk]`, `[dead_letter]`: how documents are delivered, and where those that cannot be go |
//! | [`pipeline`] | `[pipeline]`: buffers, shutdown, the limits that protect a worker from one object |
//! | [`metrics`] | `[metrics]` |
//! | [`dashboards`] | `[dashboards]` |
//! | [`enrich`] | `[enrich]`, validated into the enrichers' own [`EnrichConfig`] |
//! | [`retention`] | `[retention]`: how long indices are kept |
//! | [`bounded`] | [`Bounded`]: a numeric key with its default and range |
//!
//! A section validates to an [`Invalid`] (key and message); [`ConfigFile::validate`]
//! adds the file's path. `config` uses the value types of `enrich` (data
//! locations, CIDR blocks, list formats); nothing in `enrich` uses `config`.

pub mod bounded;
pub mod dashboards;
pub mod enrich;
pub mod metrics;
pub mod opensearch;
pub mod pipeline;
pub mod retention;
pub mod sink;
pub mod source;

use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use crate::enrich::{EnrichConfig, ThreatIntelList};
pub use bounded::{Bounded, OptionalBounded};
pub use dashboards::{DashboardsConfig, DashboardsSection};
pub use enrich::{EnrichSection, ThreatIntelListSection};
pub use metrics::{MetricsConfig, MetricsSection};
pub use opensearch::{IndexRotation, OpenSearchAuth, OpenSearchConfig, OpenSearchSection};
pub use pipeline::{PipelineConfig, PipelineSection};
pub use retention::{RetentionConfig, RetentionSection};
pub use sink::{BulkConfig, BulkSection, DeadLetterConfig, DeadLetterSection};
pub use source::{
    AssumeRole, AssumeRoleSection, AwsConfig, AwsSection, S3Config, S3Section, SqsConfig,
    SqsSection,
};

/// Prefix of environment variables that override keys of the file.
pub const ENV_PREFIX: &str = "SIEM_";

/// `SIEM_*` variables that are not config keys: the config file's path, and
/// the local development stack's settings.
fn is_reserved(variable: &str) -> bool {
    variable == "SIEM_CONFIG" || variable.starts_with("SIEM_LOCAL_")
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("environment override {variable}: {message}")]
    Env { variable: String, message: String },
    #[error("config file {path}: key `{key}`: {message}")]
    Invalid {
        path: PathBuf,
        key: &'static str,
        message: String,
    },
}

/// A value a section cannot use: the key, and why. Sections know no file;
/// [`ConfigFile::validate`] turns this into [`ConfigError::Invalid`] with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// Dotted key: `sqs.max_messages`.
    pub key: &'static str,
    /// What is wrong with its value, e.g. `11 is out of range 1..=10`.
    pub message: String,
}

/// The one way a validation error is made.
fn invalid(key: &'static str, message: impl Into<String>) -> Invalid {
    Invalid {
        key,
        message: message.into(),
    }
}

impl Invalid {
    fn in_file(self, path: &Path) -> ConfigError {
        ConfigError::Invalid {
            path: path.to_owned(),
            key: self.key,
            message: self.message,
        }
    }
}

/// `value`, present and not empty, as an http(s) URL.
fn required_url(key: &'static str, value: Option<String>) -> Result<String, Invalid> {
    let url = value
        .filter(|u| !u.is_empty())
        .ok_or_else(|| invalid(key, "is required"))?;
    check_url(key, &url)?;
    Ok(url)
}

/// An http(s) URL without credentials in it: a URL is printed in logs, in
/// `check-config` and in error messages, so a password must live in its own
/// key (or variable), whose value is never printed.
fn check_url(key: &'static str, url: &str) -> Result<(), Invalid> {
    let Some((_, rest)) = url
        .split_once("://")
        .filter(|_| url.starts_with("http://") || url.starts_with("https://"))
    else {
        return Err(invalid(
            key,
            format!(
                "{:?} is not an http:// or https:// URL",
                without_credentials(url)
            ),
        ));
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(invalid(
            key,
            format!(
                "{:?} holds credentials before '@': set them as a username and password of their own \
                 (for OpenSearch: opensearch.username and opensearch.password, or SIEM_OPENSEARCH_PASSWORD), \
                 which are never printed",
                without_credentials(url)
            ),
        ));
    }
    Ok(())
}

/// `url` with anything before an `@` in its authority replaced by `***`.
pub fn without_credentials(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) if scheme.is_empty() => format!("***@{}", &rest[at + 1..]),
        Some(at) => format!("{scheme}://***@{}", &rest[at + 1..]),
        None => url.to_owned(),
    }
}

/// The file as written. Every section is optional except what
/// [`ConfigFile::validate`] requires.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// `[aws]`: region and endpoint of every AWS client.
    #[serde(default)]
    pub aws: AwsSection,
    /// `[sqs]`: the queue of S3 notifications (its URL is required).
    #[serde(default)]
    pub sqs: SqsSection,
    /// `[s3]`: reading objects.
    #[serde(default)]
    pub s3: S3Section,
    /// `[opensearch]`: the cluster (its URL is required).
    #[serde(default)]
    pub opensearch: OpenSearchSection,
    /// `[bulk]`: batching and retrying `_bulk` requests.
    #[serde(default)]
    pub bulk: BulkSection,
    /// `[metrics]`: the `/metrics` and health server.
    #[serde(default)]
    pub metrics: MetricsSection,
    /// `[pipeline]`: buffers, shutdown and per-object limits.
    #[serde(default)]
    pub pipeline: PipelineSection,
    /// `[dead_letter]`: where records that can never be indexed go.
    #[serde(default)]
    pub dead_letter: DeadLetterSection,
    /// `[enrich]`: what documents learn beyond their record.
    #[serde(default)]
    pub enrich: EnrichSection,
    /// `[dashboards]`: where `setup` imports the saved objects.
    #[serde(default)]
    pub dashboards: DashboardsSection,
    /// `[retention]`: how long indices are kept (installed by `setup`).
    #[serde(default)]
    pub retention: RetentionSection,
}

/// The configuration, validated: what every other module is given.
#[derive(Debug, Clone)]
pub struct Config {
    pub aws: AwsConfig,
    pub sqs: SqsConfig,
    pub s3: S3Config,
    pub opensearch: OpenSearchConfig,
    pub bulk: BulkConfig,
    pub metrics: MetricsConfig,
    pub pipeline: PipelineConfig,
    pub dead_letter: DeadLetterConfig,
    pub enrich: EnrichConfig,
    /// `None` without `dashboards.url`.
    pub dashboards: Option<DashboardsConfig>,
    pub retention: RetentionConfig,
}

impl Config {
    /// What is valid but unsafe or surprising, for `check-config` and the
    /// start-up log.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.opensearch.sends_password_in_clear() {
            out.push(format!(
                "opensearch.url {} is plain http:// with basic auth: the password crosses the network readable; use https://",
                self.opensearch.url
            ));
        }
        if self.opensearch.is_serverless() {
            out.push(
                "opensearch.sigv4_service = \"aoss\": use a search collection; time-series collections do not honour the \
                 document ids that make a redelivered message a no-op"
                    .to_owned(),
            );
        }
        out
    }
}

impl Config {
    /// Reads `path`, applies `SIEM_*` overrides from `env`, and validates.
    pub fn load(
        path: &Path,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_toml(path, &text, env)
    }

    /// Like [`Config::load`] with the file's text already read (`path` is used in errors).
    pub fn from_toml(
        path: &Path,
        text: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let parse_error = |e: toml::de::Error| ConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string().trim_end().to_owned(),
        };
        // Deserializing the text first gives errors with line and column.
        let mut file: ConfigFile = toml::from_str(text).map_err(parse_error)?;
        let overrides: Vec<(String, String)> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with(ENV_PREFIX) && !is_reserved(k))
            .collect();
        if !overrides.is_empty() {
            let mut table: toml::Table = toml::from_str(text).map_err(parse_error)?;
            for (variable, value) in &overrides {
                apply_override(&mut table, variable, value)?;
            }
            file = ConfigFile::deserialize(table).map_err(|e| ConfigError::Env {
                variable: overrides
                    .iter()
                    .map(|(k, _)| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                message: e.to_string().trim_end().to_owned(),
            })?;
        }
        file.validate(path)
    }
}

const SECTIONS: &[&str] = &[
    "aws",
    "sqs",
    "s3",
    "opensearch",
    "bulk",
    "metrics",
    "pipeline",
    "dead_letter",
    "dashboards",
    "enrich",
    "retention",
];

/// `SIEM_BULK_MAX_BYTES=100` sets `[bulk] max_bytes = 100`. The value is read as
/// a TOML value when it is one (numbers, booleans) and as a string otherwise.
fn apply_override(table: &mut toml::Table, variable: &str, value: &str) -> Result<(), ConfigError> {
    let rest = variable[ENV_PREFIX.len()..].to_ascii_lowercase();
    let Some((section, key)) = SECTIONS.iter().find_map(|s| {
        rest.strip_prefix(s)
            .and_then(|r| r.strip_prefix('_'))
            .filter(|k| !k.is_empty())
            .map(|k| (*s, k.to_owned()))
    }) else {
        return Err(ConfigError::Env {
            variable: variable.to_owned(),
            message: format!(
                "does not name a config key; expected SIEM_<SECTION>_<KEY> with SECTION one of {}",
                SECTIONS.join(", ").to_ascii_uppercase()
            ),
        });
    };
    let parsed = format!("v = {value}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(value.to_owned()));
    let entry = table
        .entry(section)
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    match entry {
        toml::Value::Table(t) => {
            t.insert(key, parsed);
            Ok(())
        }
        _ => Err(ConfigError::Env {
            variable: variable.to_owned(),
            message: format!("`{section}` in the file is not a table"),
        }),
    }
}

impl ConfigFile {
    /// Validates every section; an error names `path` and the key.
    pub fn validate(self, path: &Path) -> Result<Config, ConfigError> {
        self.validate_sections().map_err(|e| e.in_file(path))
    }

    fn validate_sections(self) -> Result<Config, Invalid> {
        let sqs = self.sqs.validate()?;
        let opensearch = self.opensearch.validate()?;
        let aws = self.aws.validate()?;
        let dead_letter = self.dead_letter.validate()?;
        let dashboards = self.dashboards.validate(&opensearch.auth)?;
        let enrich = self.enrich.validate()?;
        let metrics = self.metrics.validate()?;
        Ok(Config {
            aws,
            sqs,
            s3: self.s3.validate()?,
            opensearch,
            bulk: self.bulk.validate()?,
            metrics,
            pipeline: self.pipeline.validate()?,
            dead_letter,
            dashboards,
            enrich,
            retention: self.retention.validate()?,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The smallest valid file: the two required keys.
    pub const MINIMAL: &str = r#"
[sqs]
queue_url = "http://127.0.0.1:4566/000000000000/q"
[opensearch]
url = "http://127.0.0.1:9200"
"#;

    /// `text` as `siem.toml` with the overrides `env`.
    pub fn load(text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_toml(
            Path::new("siem.toml"),
            text,
            env.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        )
    }

    #[test]
    fn minimal_file_gets_documented_defaults() {
        let c = load(MINIMAL, &[]).expect("valid");
        assert_eq!(c.sqs.wait_time, std::time::Duration::from_secs(20));
        assert_eq!(c.sqs.max_messages, 10);
        assert_eq!(c.opensearch.index_prefix, "siem");
        assert_eq!(c.opensearch.index_rotation, IndexRotation::Monthly);
        assert_eq!(c.bulk.max_bytes, 5 << 20);
        assert_eq!(
            c.metrics.listen,
            Some("0.0.0.0:9464".parse().expect("addr"))
        );
    }

    #[test]
    fn credentials_in_a_url_are_refused_and_never_echoed() {
        let text = MINIMAL.replace(
            "http://127.0.0.1:9200",
            "https://admin:s3cret@search.example.com:9200/",
        );
        let err = load(&text, &[]).expect_err("an error").to_string();
        assert!(err.contains("opensearch.url"), "{err}");
        assert!(err.contains("opensearch.password"), "{err}");
        assert!(!err.contains("s3cret") && !err.contains("admin"), "{err}");
        let err = load(MINIMAL, &[("SIEM_OPENSEARCH_URL", "ftp://u:s3cret@h")])
            .expect_err("an error")
            .to_string();
        assert!(!err.contains("s3cret"), "{err}");
    }

    #[test]
    fn without_credentials_hides_what_is_before_the_at_sign() {
        assert_eq!(
            without_credentials("https://u:p@h:9200/x@y"),
            "https://***@h:9200/x@y"
        );
        assert_eq!(without_credentials("http://h:9200"), "http://h:9200");
    }

    #[test]
    fn unknown_key_is_an_error_naming_file_key_and_line() {
        let err = load(&format!("{MINIMAL}\n[bulk]\nmax_byts = 3\n"), &[])
            .expect_err("an error")
            .to_string();
        assert!(err.contains("siem.toml"), "{err}");
        assert!(err.contains("max_byts"), "{err}");
        assert!(err.contains("line 8"), "{err}");
    }

    #[test]
    fn missing_required_key_is_named() {
        let err = load("[opensearch]\nurl = \"http://x\"\n", &[])
            .expect_err("an error")
            .to_string();
        assert!(
            err.contains("sqs.queue_url") && err.contains("required"),
            "{err}"
        );
    }

    #[test]
    fn an_invalid_value_names_the_file_and_the_key() {
        let text = "[sqs]\nqueue_url = \"http://q\"\n[opensearch]\nurl = \"ftp://x\"\n";
        let err = load(text, &[]).expect_err("an error");
        assert_eq!(
            err.to_string(),
            "config file siem.toml: key `opensearch.url`: \"ftp://x\" is not an http:// or https:// URL"
        );
    }

    #[test]
    fn out_of_range_value_is_named_with_its_range() {
        let err = load(&format!("{MINIMAL}\n[sqs]\n"), &[])
            .expect_err("an error")
            .to_string();
        // duplicate table is a TOML error with a line number
        assert!(err.contains("siem.toml"), "{err}");
        let err = load(MINIMAL, &[("SIEM_SQS_MAX_MESSAGES", "11")])
            .expect_err("an error")
            .to_string();
        assert!(
            err.contains("sqs.max_messages") && err.contains("1..=10"),
            "{err}"
        );
    }

    #[test]
    fn environment_overrides_file_values_with_typed_values() {
        let c = load(
            MINIMAL,
            &[
                ("SIEM_BULK_MAX_DOCUMENTS", "17"),
                ("SIEM_OPENSEARCH_URL", "https://search.example:443"),
                ("PATH", "/bin"),
            ],
        )
        .expect("valid");
        assert_eq!(c.bulk.max_documents, 17);
        assert_eq!(c.opensearch.url, "https://search.example:443");
    }

    #[test]
    fn environment_override_of_unknown_key_names_the_variable() {
        let err = load(MINIMAL, &[("SIEM_BULK_MAX_BYTEZ", "1")])
            .expect_err("an error")
            .to_string();
        assert!(
            err.contains("SIEM_BULK_MAX_BYTEZ") && err.contains("max_bytez"),
            "{err}"
        );
        let err = load(MINIMAL, &[("SIEM_NOPE", "1")])
            .expect_err("an error")
            .to_string();
        assert!(err.contains("SIEM_NOPE"), "{err}");
    }

    #[test]
    fn the_config_path_and_local_stack_variables_are_not_overrides() {
        load(
            MINIMAL,
            &[
                ("SIEM_CONFIG", "/etc/siem.toml"),
                ("SIEM_LOCAL_MOTO_PORT", "1"),
            ],
        )
        .expect("valid");
    }

    #[test]
    fn every_section_an_override_may_name_is_a_section_of_the_file() {
        for section in SECTIONS {
            let file: Result<ConfigFile, _> = toml::from_str(&format!("[{section}]\n"));
            assert!(file.is_ok(), "[{section}]: {file:?}");
        }
    }
}
