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

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

pub use crate::enrich::{EnrichConfig, ThreatIntelList};

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

// ---------------------------------------------------------------------------
// Raw file format
// ---------------------------------------------------------------------------

/// The file as written. Every section is optional except what
/// [`ConfigFile::validate`] requires.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default)]
    pub aws: AwsSection,
    #[serde(default)]
    pub sqs: SqsSection,
    #[serde(default)]
    pub s3: S3Section,
    #[serde(default)]
    pub opensearch: OpenSearchSection,
    #[serde(default)]
    pub bulk: BulkSection,
    #[serde(default)]
    pub metrics: MetricsSection,
    #[serde(default)]
    pub pipeline: PipelineSection,
    #[serde(default)]
    pub dead_letter: DeadLetterSection,
    #[serde(default)]
    pub enrich: EnrichSection,
    #[serde(default)]
    pub dashboards: DashboardsSection,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsSection {
    /// AWS region; defaults to the SDK's provider chain (`AWS_REGION`, profile, IMDS).
    pub region: Option<String>,
    /// Endpoint override for S3-compatible stores, VPC endpoints and local emulators.
    pub endpoint_url: Option<String>,
    /// Path-style S3 addressing (needed by most S3-compatible stores).
    pub s3_force_path_style: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqsSection {
    /// URL of the queue that receives the S3 notifications. Required.
    pub queue_url: Option<String>,
    /// Long-poll wait, 0–20 seconds. Default 20.
    pub wait_time_secs: Option<u64>,
    /// Messages per receive, 1–10. Default 10.
    pub max_messages: Option<u64>,
    /// Receive calls kept in flight. Default 2.
    pub receivers: Option<u64>,
    /// The queue's visibility timeout in seconds; read from the queue when
    /// absent. In-flight messages are extended at half of it.
    pub visibility_timeout_secs: Option<u64>,
    /// Longest a message is kept invisible by extensions, in seconds. Default
    /// 43200 (SQS's own maximum is 12 hours).
    pub max_visibility_extension_secs: Option<u64>,
    /// Stop once the queue has been empty for this many consecutive receives
    /// (0 = run forever, the service default). Used by batch jobs and the demo.
    pub exit_after_empty_receives: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Section {
    /// Objects read at the same time. Default 4.
    pub max_concurrent_objects: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenSearchSection {
    /// Base URL of the cluster. Required.
    pub url: Option<String>,
    /// Prefix of every index name (`<prefix>-<log type>-<date>`). Default `siem`.
    pub index_prefix: Option<String>,
    /// `monthly` (default) or `daily`.
    pub index_rotation: Option<String>,
    /// Per-request timeout in seconds. Default 60.
    pub request_timeout_secs: Option<u64>,
    /// `none`, `basic` (needs `username` and `password`) or `sigv4` (Amazon
    /// OpenSearch Service and Serverless, with the AWS credential chain).
    /// Default: `basic` when a username is set, else `none`.
    pub auth: Option<String>,
    /// Basic-auth user name and password.
    pub username: Option<String>,
    pub password: Option<String>,
    /// SigV4 service name: `es` (managed domains, default) or `aoss` (Serverless).
    pub sigv4_service: Option<String>,
    /// PEM file of the CA that signed the cluster's certificate; default: the
    /// system's roots.
    pub ca_file: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkSection {
    /// Flush a batch at this many bytes of request body. Default 5 MiB.
    pub max_bytes: Option<u64>,
    /// Flush a batch at this many documents. Default 5000.
    pub max_documents: Option<u64>,
    /// Flush a non-empty batch after this many milliseconds. Default 1000.
    pub flush_interval_ms: Option<u64>,
    /// Bulk requests in flight. Default 2.
    pub concurrency: Option<u64>,
    /// Retries of a request or an item after 429/5xx/transport errors before the
    /// record is given up on (its message then returns to the queue). Default 8.
    pub max_retries: Option<u64>,
    /// Longest pause between retries, in milliseconds. Default 30000.
    pub max_backoff_ms: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSection {
    /// Address of the `/metrics`, `/healthz` and `/readyz` server. Default
    /// `0.0.0.0:9464`; an empty string turns the server off.
    pub listen: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineSection {
    /// Documents buffered between normalization and the bulk sink. Default 10000.
    pub channel_capacity: Option<u64>,
    /// Seconds to finish in-flight work after SIGTERM/SIGINT. Default 25.
    pub shutdown_grace_secs: Option<u64>,
    /// Bulk bytes held between normalization and OpenSearch. Default 64 MiB.
    pub max_bytes_in_flight: Option<u64>,
    /// Longest record (line or JSON value) accepted, in bytes. Default 16 MiB.
    pub max_record_bytes: Option<u64>,
    /// Most bytes one object may decompress to. Default 64 GiB.
    pub max_object_bytes: Option<u64>,
    /// Largest Parquet object read, in bytes: it is copied whole to $TMPDIR
    /// to be read. Default 1 GiB.
    pub max_parquet_bytes: Option<u64>,
    /// Largest decompressed/compressed ratio accepted past the first 16 MiB.
    /// Default 200 (a decompression bomb is far above, real logs far below).
    pub max_decompression_ratio: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadLetterSection {
    /// `s3://bucket/prefix/` where records that can never be indexed are written.
    pub s3_url: Option<String>,
    /// A local folder instead of S3.
    pub directory: Option<PathBuf>,
}

/// OpenSearch Dashboards, where `siem-pipeline setup` imports the saved
/// objects of `dashboards/`. Without `url`, setup installs the templates only.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DashboardsSection {
    /// Base URL of OpenSearch Dashboards, e.g. `https://dashboards.example:5601`
    /// or `https://search-siem.us-east-1.es.amazonaws.com/_dashboards`.
    pub url: Option<String>,
    /// `none`, `basic` or `sigv4`. Default: `basic` with `username` and
    /// `password` below when a username is set, else the `[opensearch]` auth
    /// (its basic credentials are reused).
    pub auth: Option<String>,
    /// Basic-auth credentials of Dashboards, when they differ from OpenSearch's.
    pub username: Option<String>,
    pub password: Option<String>,
    /// SigV4 service name: `es` (managed domains, default) or `aoss`.
    pub sigv4_service: Option<String>,
    /// Security plugin tenant to import into (`securitytenant` header), e.g.
    /// `global` or a custom tenant; default: the user's default tenant.
    pub tenant: Option<String>,
    /// Per-request timeout in seconds. Default 60.
    pub request_timeout_secs: Option<u64>,
}

/// `[enrich]`: what documents learn beyond their record (see the `enrich`
/// module). Every enricher is on when its data is configured, and can be
/// switched off with its boolean without removing its settings; `related`
/// needs no data and is on by default. Data paths are local files or
/// `s3://bucket/key` URLs, reloaded when they change.
///
/// ```toml
/// [enrich]
/// geoip_city = "/data/GeoLite2-City.mmdb"       # or s3://bucket/key
/// geoip_asn = "/data/GeoLite2-ASN.mmdb"
/// geoip_cache_entries = 1024                    # addresses whose answer each database keeps
/// internal_networks = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]
/// threat_intel_lists = [{ path = "/data/feodo.txt", format = "text", provider = "abuse.ch feodo" },
///                       { path = "s3://ti/stix.json", format = "stix" }]
/// accounts_file = "/data/accounts.json"         # aws organizations list-accounts > accounts.json
/// [enrich.account_names]
/// "123456789012" = "production"
/// ```
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrichSection {
    /// `related.ip`, `related.user`, `related.hosts`, `related.hash` gathered
    /// from every ECS field that holds one. Default true.
    pub related: Option<bool>,
    /// GeoIP and ASN lookups (`<side>.geo.*`, `<side>.as.*`). Default: on
    /// when `geoip_city` or `geoip_asn` is set.
    pub geoip: Option<bool>,
    /// MaxMind City database (`.mmdb`, GeoLite2 or GeoIP2): local path or s3:// URL.
    pub geoip_city: Option<String>,
    /// MaxMind ASN database (`.mmdb`): local path or s3:// URL.
    pub geoip_asn: Option<String>,
    /// How many addresses each GeoIP database keeps its answer for: about
    /// 0.6 KiB per address for City and ASN together, so the default (1024)
    /// takes about 0.6 MiB and the most allowed (100,000) about 60 MiB.
    /// 0 turns the cache off.
    pub geoip_cache_entries: Option<u64>,
    /// `network.direction` from `internal_networks`. Default: on when
    /// `internal_networks` is set.
    pub network_direction: Option<bool>,
    /// CIDR blocks (or single addresses) of the organisation's own networks.
    pub internal_networks: Option<Vec<String>>,
    /// Matching against indicator lists (`threat.enrichments`). Default: on
    /// when `threat_intel_lists` is set.
    pub threat_intel: Option<bool>,
    /// Indicator lists: `{ path, format, provider }`.
    pub threat_intel_lists: Option<Vec<ThreatIntelListSection>>,
    /// `cloud.account.name` from `account_names` and `accounts_file`.
    /// Default: on when either is set.
    pub accounts: Option<bool>,
    /// Account id → name (`"123456789012" = "production"`); wins over the file.
    pub account_names: Option<std::collections::BTreeMap<String, String>>,
    /// An `aws organizations list-accounts` JSON export: local path or s3:// URL.
    pub accounts_file: Option<String>,
    /// How often data files are checked for changes (local: modification
    /// time and size; S3: ETag and Last-Modified), in seconds. Default 60.
    pub reload_interval_secs: Option<u64>,
}

/// One `enrich.threat_intel_lists` entry.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThreatIntelListSection {
    /// Local path or s3:// URL. Required.
    pub path: String,
    /// `text` (one indicator per line, `#` comments), `csv` (a header naming
    /// `indicator` and `type` columns, or the first column) or `stix` (a STIX
    /// 2.1 bundle). Default: `stix` for `.json`, `csv` for `.csv`, else `text`.
    pub format: Option<String>,
    /// `threat.enrichments.indicator.provider`. Default: the file name.
    pub provider: Option<String>,
}

// ---------------------------------------------------------------------------
// Validated configuration
// ---------------------------------------------------------------------------

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
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeadLetterConfig {
    /// No store: a record that can never be indexed keeps its message on the
    /// queue, whose redrive policy eventually moves it to the queue's DLQ.
    None,
    S3 { bucket: String, prefix: String },
    Directory(PathBuf),
}

#[derive(Debug, Clone)]
pub struct AwsConfig {
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
    pub s3_force_path_style: bool,
}

#[derive(Debug, Clone)]
pub struct SqsConfig {
    pub queue_url: String,
    pub wait_time: Duration,
    pub max_messages: i32,
    pub receivers: usize,
    pub exit_after_empty_receives: Option<u32>,
    pub visibility_timeout: Option<Duration>,
    pub max_visibility_extension: Duration,
}

#[derive(Debug, Clone)]
pub struct S3Config {
    pub max_concurrent_objects: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexRotation {
    Daily,
    Monthly,
}

#[derive(Clone, PartialEq, Eq)]
pub enum OpenSearchAuth {
    None,
    Basic { username: String, password: String },
    SigV4 { service: String },
}

impl std::fmt::Debug for OpenSearchAuth {
    /// The password is never printed (`check-config` output reaches logs).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpenSearchAuth::None => write!(f, "None"),
            OpenSearchAuth::Basic { username, .. } => write!(f, "Basic {{ username: {username:?}, password: <redacted> }}"),
            OpenSearchAuth::SigV4 { service } => write!(f, "SigV4 {{ service: {service:?} }}"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct OpenSearchConfig {
    pub url: String,
    pub index_prefix: String,
    pub index_rotation: IndexRotation,
    pub request_timeout: Duration,
    pub auth: OpenSearchAuth,
    pub ca_file: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct DashboardsConfig {
    pub url: String,
    pub auth: OpenSearchAuth,
    pub tenant: Option<String>,
    pub request_timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct BulkConfig {
    pub max_bytes: usize,
    pub max_documents: usize,
    pub flush_interval: Duration,
    pub concurrency: usize,
    pub max_retries: usize,
    pub max_backoff: Duration,
}

#[derive(Debug, Clone)]
pub struct MetricsConfig {
    pub listen: Option<SocketAddr>,
}

#[derive(Debug, Clone)]
pub struct PipelineConfig {
    pub channel_capacity: usize,
    pub shutdown_grace: Duration,
    pub max_bytes_in_flight: usize,
    pub max_record_bytes: usize,
    pub max_object_bytes: u64,
    pub max_parquet_bytes: u64,
    pub max_decompression_ratio: u64,
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
    pub fn validate(self, path: &Path) -> Result<Config, ConfigError> {
        let invalid = |key: &'static str, message: String| ConfigError::Invalid {
            path: path.to_owned(),
            key,
            message,
        };
        let range = |key: &'static str, value: Option<u64>, default: u64, min: u64, max: u64| {
            let v = value.unwrap_or(default);
            if (min..=max).contains(&v) {
                Ok(v)
            } else {
                Err(invalid(key, format!("{v} is out of range {min}..={max}")))
            }
        };

        let queue_url = self
            .sqs
            .queue_url
            .filter(|u| !u.is_empty())
            .ok_or_else(|| invalid("sqs.queue_url", "is required".into()))?;
        check_url(&queue_url).map_err(|m| invalid("sqs.queue_url", m))?;
        let os_url = self
            .opensearch
            .url
            .filter(|u| !u.is_empty())
            .ok_or_else(|| invalid("opensearch.url", "is required".into()))?;
        check_url(&os_url).map_err(|m| invalid("opensearch.url", m))?;
        if let Some(endpoint) = &self.aws.endpoint_url {
            check_url(endpoint).map_err(|m| invalid("aws.endpoint_url", m))?;
        }

        let index_prefix = self.opensearch.index_prefix.unwrap_or_else(|| "siem".into());
        if index_prefix.is_empty()
            || !index_prefix
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
            || index_prefix.starts_with(['-', '_'])
        {
            return Err(invalid(
                "opensearch.index_prefix",
                format!("{index_prefix:?} must be lowercase letters, digits, '-' or '_' and not start with '-' or '_'"),
            ));
        }
        let index_rotation = match self.opensearch.index_rotation.as_deref() {
            None | Some("monthly") => IndexRotation::Monthly,
            Some("daily") => IndexRotation::Daily,
            Some(other) => {
                return Err(invalid(
                    "opensearch.index_rotation",
                    format!("{other:?} is not one of \"monthly\", \"daily\""),
                ));
            }
        };
        let mode = match self.opensearch.auth.as_deref() {
            Some(m) => m.to_owned(),
            None if self.opensearch.username.is_some() => "basic".into(),
            None => "none".into(),
        };
        let auth = match mode.as_str() {
            "none" => OpenSearchAuth::None,
            "basic" => match (self.opensearch.username, self.opensearch.password) {
                (Some(username), Some(password)) => OpenSearchAuth::Basic { username, password },
                (None, _) => return Err(invalid("opensearch.username", "is required for basic auth".into())),
                (Some(_), None) => {
                    return Err(invalid("opensearch.password", "is required when opensearch.username is set".into()));
                }
            },
            "sigv4" => {
                let service = self.opensearch.sigv4_service.unwrap_or_else(|| "es".into());
                if service != "es" && service != "aoss" {
                    return Err(invalid(
                        "opensearch.sigv4_service",
                        format!("{service:?} is not one of \"es\", \"aoss\""),
                    ));
                }
                OpenSearchAuth::SigV4 { service }
            }
            other => {
                return Err(invalid(
                    "opensearch.auth",
                    format!("{other:?} is not one of \"none\", \"basic\", \"sigv4\""),
                ));
            }
        };
        if let Some(ca) = &self.opensearch.ca_file
            && !ca.is_file()
        {
            return Err(invalid("opensearch.ca_file", format!("{} is not a readable file", ca.display())));
        }

        let dead_letter = match (self.dead_letter.s3_url, self.dead_letter.directory) {
            (None, None) => DeadLetterConfig::None,
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "dead_letter.directory",
                    "set either dead_letter.s3_url or dead_letter.directory, not both".into(),
                ));
            }
            (Some(url), None) => {
                let rest = url
                    .strip_prefix("s3://")
                    .ok_or_else(|| invalid("dead_letter.s3_url", format!("{url:?} is not an s3://bucket/prefix/ URL")))?;
                let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
                if bucket.is_empty() {
                    return Err(invalid("dead_letter.s3_url", format!("{url:?} names no bucket")));
                }
                let mut prefix = prefix.to_owned();
                if !prefix.is_empty() && !prefix.ends_with('/') {
                    prefix.push('/');
                }
                DeadLetterConfig::S3 {
                    bucket: bucket.to_owned(),
                    prefix,
                }
            }
            (None, Some(dir)) => DeadLetterConfig::Directory(dir),
        };

        let dashboards = validate_dashboards(self.dashboards, &auth, path)?;

        let enrich = validate_enrich(self.enrich, path)?;

        let listen = match self.metrics.listen.as_deref() {
            None => Some(SocketAddr::from(([0, 0, 0, 0], 9464))),
            Some("") => None,
            Some(s) => Some(s.parse().map_err(|e| invalid("metrics.listen", format!("{s:?}: {e}")))?),
        };

        Ok(Config {
            aws: AwsConfig {
                region: self.aws.region,
                endpoint_url: self.aws.endpoint_url,
                s3_force_path_style: self.aws.s3_force_path_style.unwrap_or(false),
            },
            sqs: SqsConfig {
                queue_url,
                wait_time: Duration::from_secs(range("sqs.wait_time_secs", self.sqs.wait_time_secs, 20, 0, 20)?),
                max_messages: range("sqs.max_messages", self.sqs.max_messages, 10, 1, 10)? as i32,
                receivers: range("sqs.receivers", self.sqs.receivers, 2, 1, 64)? as usize,
                exit_after_empty_receives: match range(
                    "sqs.exit_after_empty_receives",
                    self.sqs.exit_after_empty_receives,
                    0,
                    0,
                    1_000_000,
                )? {
                    0 => None,
                    n => Some(n as u32),
                },
                visibility_timeout: self
                    .sqs
                    .visibility_timeout_secs
                    .map(|v| range("sqs.visibility_timeout_secs", Some(v), 0, 2, 43_200))
                    .transpose()?
                    .map(Duration::from_secs),
                max_visibility_extension: Duration::from_secs(range(
                    "sqs.max_visibility_extension_secs",
                    self.sqs.max_visibility_extension_secs,
                    43_200,
                    0,
                    43_200,
                )?),
            },
            s3: S3Config {
                max_concurrent_objects: range("s3.max_concurrent_objects", self.s3.max_concurrent_objects, 4, 1, 256)?
                    as usize,
            },
            opensearch: OpenSearchConfig {
                url: os_url,
                index_prefix,
                index_rotation,
                request_timeout: Duration::from_secs(range(
                    "opensearch.request_timeout_secs",
                    self.opensearch.request_timeout_secs,
                    60,
                    1,
                    3600,
                )?),
                auth,
                ca_file: self.opensearch.ca_file,
            },
            bulk: BulkConfig {
                max_bytes: range("bulk.max_bytes", self.bulk.max_bytes, 5 << 20, 1024, 100 << 20)? as usize,
                max_documents: range("bulk.max_documents", self.bulk.max_documents, 5000, 1, 100_000)? as usize,
                flush_interval: Duration::from_millis(range(
                    "bulk.flush_interval_ms",
                    self.bulk.flush_interval_ms,
                    1000,
                    1,
                    600_000,
                )?),
                concurrency: range("bulk.concurrency", self.bulk.concurrency, 2, 1, 64)? as usize,
                max_retries: range("bulk.max_retries", self.bulk.max_retries, 8, 0, 1000)? as usize,
                max_backoff: Duration::from_millis(range(
                    "bulk.max_backoff_ms",
                    self.bulk.max_backoff_ms,
                    30_000,
                    1,
                    3_600_000,
                )?),
            },
            metrics: MetricsConfig { listen },
            pipeline: PipelineConfig {
                channel_capacity: range("pipeline.channel_capacity", self.pipeline.channel_capacity, 10_000, 1, 10_000_000)?
                    as usize,
                shutdown_grace: Duration::from_secs(range(
                    "pipeline.shutdown_grace_secs",
                    self.pipeline.shutdown_grace_secs,
                    25,
                    0,
                    3600,
                )?),
                max_bytes_in_flight: range(
                    "pipeline.max_bytes_in_flight",
                    self.pipeline.max_bytes_in_flight,
                    64 << 20,
                    1 << 20,
                    64 << 30,
                )? as usize,
                max_record_bytes: range("pipeline.max_record_bytes", self.pipeline.max_record_bytes, 16 << 20, 1024, 1 << 30)?
                    as usize,
                max_object_bytes: range(
                    "pipeline.max_object_bytes",
                    self.pipeline.max_object_bytes,
                    64 << 30,
                    1024,
                    1 << 50,
                )?,
                max_parquet_bytes: range(
                    "pipeline.max_parquet_bytes",
                    self.pipeline.max_parquet_bytes,
                    1 << 30,
                    1024,
                    1 << 40,
                )?,
                max_decompression_ratio: range(
                    "pipeline.max_decompression_ratio",
                    self.pipeline.max_decompression_ratio,
                    200,
                    2,
                    1_000_000,
                )?,
            },
            dead_letter,
            dashboards,
            enrich,
        })
    }
}

/// `[dashboards]`: credentials default to OpenSearch's, as both usually sit
/// behind the same security plugin.
fn validate_dashboards(
    section: DashboardsSection,
    opensearch_auth: &OpenSearchAuth,
    path: &Path,
) -> Result<Option<DashboardsConfig>, ConfigError> {
    let invalid = |key: &'static str, message: String| ConfigError::Invalid {
        path: path.to_owned(),
        key,
        message,
    };
    let Some(url) = section.url.filter(|u| !u.is_empty()) else {
        let set = section.auth.is_some()
            || section.username.is_some()
            || section.password.is_some()
            || section.sigv4_service.is_some()
            || section.tenant.is_some()
            || section.request_timeout_secs.is_some();
        return if set {
            Err(invalid("dashboards.url", "is required when other [dashboards] keys are set".into()))
        } else {
            Ok(None)
        };
    };
    check_url(&url).map_err(|m| invalid("dashboards.url", m))?;
    let own_basic = match (section.username, section.password) {
        (Some(username), Some(password)) => Some(OpenSearchAuth::Basic { username, password }),
        (Some(_), None) => {
            return Err(invalid("dashboards.password", "is required when dashboards.username is set".into()));
        }
        (None, Some(_)) => {
            return Err(invalid("dashboards.username", "is required when dashboards.password is set".into()));
        }
        (None, None) => None,
    };
    let sigv4 = |default: &str| {
        let service = section.sigv4_service.clone().unwrap_or_else(|| default.to_owned());
        if service == "es" || service == "aoss" {
            Ok(OpenSearchAuth::SigV4 { service })
        } else {
            Err(invalid("dashboards.sigv4_service", format!("{service:?} is not one of \"es\", \"aoss\"")))
        }
    };
    let auth = match (section.auth.as_deref(), own_basic) {
        (None, Some(basic)) => basic,
        (None, None) => match opensearch_auth {
            OpenSearchAuth::SigV4 { service } => sigv4(service)?,
            other => other.clone(),
        },
        (Some("none"), _) => OpenSearchAuth::None,
        (Some("basic"), Some(basic)) => basic,
        (Some("basic"), None) => match opensearch_auth {
            basic @ OpenSearchAuth::Basic { .. } => basic.clone(),
            _ => {
                return Err(invalid(
                    "dashboards.username",
                    "is required for basic auth when [opensearch] has no basic credentials".into(),
                ));
            }
        },
        (Some("sigv4"), _) => sigv4("es")?,
        (Some(other), _) => {
            return Err(invalid(
                "dashboards.auth",
                format!("{other:?} is not one of \"none\", \"basic\", \"sigv4\""),
            ));
        }
    };
    let tenant = match section.tenant {
        Some(t) if t.trim().is_empty() => {
            return Err(invalid("dashboards.tenant", "is empty; leave it out for the default tenant".into()));
        }
        t => t,
    };
    let timeout = section.request_timeout_secs.unwrap_or(60);
    if !(1..=3600).contains(&timeout) {
        return Err(invalid("dashboards.request_timeout_secs", format!("{timeout} is out of range 1..=3600")));
    }
    Ok(Some(DashboardsConfig {
        url: url.trim_end_matches('/').to_owned(),
        auth,
        tenant,
        request_timeout: Duration::from_secs(timeout),
    }))
}

/// `[enrich]`: an enricher switched on explicitly needs its data; one that
/// is switched off keeps its settings but gets none of them.
fn validate_enrich(section: EnrichSection, path: &Path) -> Result<EnrichConfig, ConfigError> {
    use crate::enrich::Location;
    use crate::enrich::indicators::ListFormat;
    let invalid = |key: &'static str, message: String| ConfigError::Invalid {
        path: path.to_owned(),
        key,
        message,
    };
    let location = |key: &'static str, value: Option<String>| {
        value
            .map(|v| Location::parse(&v).map_err(|m| invalid(key, m)))
            .transpose()
    };
    // On by default when configured; explicitly on without data is an error.
    let switch = |key: &'static str, on: Option<bool>, configured: bool, needs: &str| match (on, configured) {
        (Some(true), false) => Err(invalid(key, format!("is true but {needs} is not set"))),
        (Some(false), _) => Ok(false),
        _ => Ok(configured),
    };

    let defaults = EnrichConfig::default();
    let mut config = EnrichConfig {
        related: section.related.unwrap_or(defaults.related),
        ..defaults
    };
    let secs = section.reload_interval_secs.unwrap_or(crate::enrich::settings::DEFAULT_RELOAD_INTERVAL.as_secs());
    if !(1..=86_400).contains(&secs) {
        return Err(invalid("enrich.reload_interval_secs", format!("{secs} is out of range 1..=86400")));
    }
    config.reload_interval = Duration::from_secs(secs);

    let city = location("enrich.geoip_city", section.geoip_city)?;
    let asn = location("enrich.geoip_asn", section.geoip_asn)?;
    if switch("enrich.geoip", section.geoip, city.is_some() || asn.is_some(), "enrich.geoip_city or enrich.geoip_asn")? {
        config.geoip_city = city;
        config.geoip_asn = asn;
    }
    let entries = section.geoip_cache_entries.unwrap_or(crate::enrich::geoip::DEFAULT_CACHE_ENTRIES as u64);
    if entries > 100_000 {
        return Err(invalid("enrich.geoip_cache_entries", format!("{entries} is out of range 0..=100000")));
    }
    config.geoip_cache_entries = entries as usize;

    let networks = section
        .internal_networks
        .unwrap_or_default()
        .iter()
        .map(|c| crate::enrich::net::Cidr::parse(c).map_err(|m| invalid("enrich.internal_networks", m)))
        .collect::<Result<Vec<_>, _>>()?;
    if switch("enrich.network_direction", section.network_direction, !networks.is_empty(), "enrich.internal_networks")? {
        config.internal_networks = networks;
    }

    let mut lists = Vec::new();
    for (n, list) in section.threat_intel_lists.unwrap_or_default().into_iter().enumerate() {
        let key = "enrich.threat_intel_lists";
        let location = Location::parse(&list.path).map_err(|m| invalid(key, format!("entry {n}: path {m}")))?;
        let format = match list.format.as_deref() {
            Some(f) => ListFormat::parse(f).map_err(|m| invalid(key, format!("entry {n}: format {m}")))?,
            None if list.path.ends_with(".json") => ListFormat::Stix,
            None if list.path.ends_with(".csv") => ListFormat::Csv,
            None => ListFormat::Text,
        };
        let provider = list.provider.filter(|p| !p.is_empty()).unwrap_or_else(|| location.file_name());
        lists.push(ThreatIntelList {
            location,
            format,
            provider,
        });
    }
    if switch("enrich.threat_intel", section.threat_intel, !lists.is_empty(), "enrich.threat_intel_lists")? {
        config.threat_intel = lists;
    }

    let names = section.account_names.unwrap_or_default();
    if let Some(id) = names.keys().find(|id| id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit())) {
        return Err(invalid("enrich.account_names", format!("{id:?} is not a 12-digit AWS account id")));
    }
    let file = location("enrich.accounts_file", section.accounts_file)?;
    if switch(
        "enrich.accounts",
        section.accounts,
        !names.is_empty() || file.is_some(),
        "enrich.account_names or enrich.accounts_file",
    )? {
        config.account_names = names;
        config.accounts_file = file;
    }
    Ok(config)
}

fn check_url(url: &str) -> Result<(), String> {
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(())
    } else {
        Err(format!("{url:?} is not an http:// or https:// URL"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
[sqs]
queue_url = "http://127.0.0.1:4566/000000000000/q"
[opensearch]
url = "http://127.0.0.1:9200"
"#;

    fn load(text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_toml(
            Path::new("siem.toml"),
            text,
            env.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        )
    }

    #[test]
    fn minimal_file_gets_documented_defaults() {
        let c = load(MINIMAL, &[]).expect("valid");
        assert_eq!(c.sqs.wait_time, Duration::from_secs(20));
        assert_eq!(c.sqs.max_messages, 10);
        assert_eq!(c.opensearch.index_prefix, "siem");
        assert_eq!(c.opensearch.index_rotation, IndexRotation::Monthly);
        assert_eq!(c.bulk.max_bytes, 5 << 20);
        assert_eq!(c.metrics.listen, Some("0.0.0.0:9464".parse().expect("addr")));
    }

    #[test]
    fn unknown_key_is_an_error_naming_file_key_and_line() {
        let err = load(&format!("{MINIMAL}\n[bulk]\nmax_byts = 3\n"), &[]).expect_err("an error").to_string();
        assert!(err.contains("siem.toml"), "{err}");
        assert!(err.contains("max_byts"), "{err}");
        assert!(err.contains("line 8"), "{err}");
    }

    #[test]
    fn missing_required_key_is_named() {
        let err = load("[opensearch]\nurl = \"http://x\"\n", &[]).expect_err("an error").to_string();
        assert!(err.contains("sqs.queue_url") && err.contains("required"), "{err}");
    }

    #[test]
    fn out_of_range_value_is_named_with_its_range() {
        let err = load(&format!("{MINIMAL}\n[sqs]\n"), &[]).expect_err("an error").to_string();
        // duplicate table is a TOML error with a line number
        assert!(err.contains("siem.toml"), "{err}");
        let err = load(MINIMAL, &[("SIEM_SQS_MAX_MESSAGES", "11")]).expect_err("an error").to_string();
        assert!(err.contains("sqs.max_messages") && err.contains("1..=10"), "{err}");
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
        let err = load(MINIMAL, &[("SIEM_BULK_MAX_BYTEZ", "1")]).expect_err("an error").to_string();
        assert!(err.contains("SIEM_BULK_MAX_BYTEZ") && err.contains("max_bytez"), "{err}");
        let err = load(MINIMAL, &[("SIEM_NOPE", "1")]).expect_err("an error").to_string();
        assert!(err.contains("SIEM_NOPE"), "{err}");
    }

    #[test]
    fn dead_letter_store_is_an_s3_url_or_a_directory() {
        let c = load(MINIMAL, &[("SIEM_DEAD_LETTER_S3_URL", "s3://dlq-bucket/siem")]).expect("valid");
        assert_eq!(
            c.dead_letter,
            DeadLetterConfig::S3 {
                bucket: "dlq-bucket".into(),
                prefix: "siem/".into()
            }
        );
        assert_eq!(load(MINIMAL, &[]).expect("valid").dead_letter, DeadLetterConfig::None);
        let err = load(MINIMAL, &[("SIEM_DEAD_LETTER_S3_URL", "https://x")]).expect_err("an error").to_string();
        assert!(err.contains("dead_letter.s3_url"), "{err}");
    }

    #[test]
    fn the_config_path_and_local_stack_variables_are_not_overrides() {
        load(MINIMAL, &[("SIEM_CONFIG", "/etc/siem.toml"), ("SIEM_LOCAL_MOTO_PORT", "1")]).expect("valid");
    }

    #[test]
    fn the_password_is_never_printed() {
        let c = load(
            MINIMAL,
            &[("SIEM_OPENSEARCH_USERNAME", "siem"), ("SIEM_OPENSEARCH_PASSWORD", "hunter2")],
        )
        .expect("valid");
        let printed = format!("{c:?}");
        assert!(printed.contains("siem") && !printed.contains("hunter2"), "{printed}");
    }

    #[test]
    fn sigv4_auth_takes_the_service_name() {
        let c = load(MINIMAL, &[("SIEM_OPENSEARCH_AUTH", "sigv4"), ("SIEM_OPENSEARCH_SIGV4_SERVICE", "aoss")]).expect("valid");
        assert_eq!(c.opensearch.auth, OpenSearchAuth::SigV4 { service: "aoss".into() });
        let err = load(MINIMAL, &[("SIEM_OPENSEARCH_AUTH", "sigv4"), ("SIEM_OPENSEARCH_SIGV4_SERVICE", "s3")])
            .expect_err("an error")
            .to_string();
        assert!(err.contains("opensearch.sigv4_service"), "{err}");
        let err = load(MINIMAL, &[("SIEM_OPENSEARCH_AUTH", "basic")]).expect_err("an error").to_string();
        assert!(err.contains("opensearch.username"), "{err}");
    }

    #[test]
    fn dashboards_are_optional_and_reuse_the_opensearch_credentials() {
        assert!(load(MINIMAL, &[]).expect("valid").dashboards.is_none());
        let c = load(
            MINIMAL,
            &[
                ("SIEM_OPENSEARCH_USERNAME", "siem"),
                ("SIEM_OPENSEARCH_PASSWORD", "pw"),
                ("SIEM_DASHBOARDS_URL", "http://127.0.0.1:5601/"),
                ("SIEM_DASHBOARDS_TENANT", "global"),
            ],
        )
        .expect("valid");
        let d = c.dashboards.expect("dashboards");
        assert_eq!(d.url, "http://127.0.0.1:5601");
        assert_eq!(d.tenant.as_deref(), Some("global"));
        assert_eq!(
            d.auth,
            OpenSearchAuth::Basic {
                username: "siem".into(),
                password: "pw".into()
            }
        );
    }

    #[test]
    fn dashboards_take_their_own_credentials_or_sigv4() {
        let c = load(
            &format!("{MINIMAL}\n[dashboards]\nurl = \"http://d\"\nusername = \"viewer\"\npassword = \"x\"\n"),
            &[],
        )
        .expect("valid");
        assert!(matches!(c.dashboards.expect("dashboards").auth, OpenSearchAuth::Basic { username, .. } if username == "viewer"));
        let c = load(MINIMAL, &[("SIEM_OPENSEARCH_AUTH", "sigv4"), ("SIEM_DASHBOARDS_URL", "https://d/_dashboards")]).expect("valid");
        assert_eq!(c.dashboards.expect("dashboards").auth, OpenSearchAuth::SigV4 { service: "es".into() });
        let err = load(MINIMAL, &[("SIEM_DASHBOARDS_TENANT", "global")]).expect_err("no url").to_string();
        assert!(err.contains("dashboards.url"), "{err}");
        let err = load(MINIMAL, &[("SIEM_DASHBOARDS_URL", "http://d"), ("SIEM_DASHBOARDS_AUTH", "basic")])
            .expect_err("no credentials")
            .to_string();
        assert!(err.contains("dashboards.username"), "{err}");
    }

    #[test]
    fn enrichment_is_related_fields_only_by_default() {
        let e = load(MINIMAL, &[]).expect("valid").enrich;
        assert!(e.related);
        assert!(e.geoip_city.is_none() && e.internal_networks.is_empty() && e.threat_intel.is_empty());
        assert_eq!(e.reload_interval, Duration::from_secs(60));
    }

    #[test]
    fn enrichers_are_on_when_their_data_is_configured_and_can_be_switched_off() {
        let text = format!(
            "{MINIMAL}\n[enrich]\ngeoip_city = \"s3://geo/GeoLite2-City.mmdb\"\ninternal_networks = [\"10.0.0.0/8\"]\n\
             network_direction = false\nthreat_intel_lists = [{{ path = \"/ti/feodo.txt\" }}, {{ path = \"/ti/b.json\", provider = \"B\" }}]\n\
             [enrich.account_names]\n\"123456789012\" = \"production\"\n"
        );
        let e = load(&text, &[("SIEM_ENRICH_RELATED", "false")]).expect("valid").enrich;
        assert!(!e.related);
        assert_eq!(
            e.geoip_city,
            Some(crate::enrich::Location::S3 {
                bucket: "geo".into(),
                key: "GeoLite2-City.mmdb".into()
            })
        );
        assert!(e.internal_networks.is_empty(), "switched off");
        assert_eq!(e.threat_intel[0].provider, "feodo.txt");
        assert_eq!(e.threat_intel[0].format, crate::enrich::indicators::ListFormat::Text);
        assert_eq!(e.threat_intel[1].format, crate::enrich::indicators::ListFormat::Stix);
        assert_eq!(e.account_names.get("123456789012").map(String::as_str), Some("production"));
    }

    #[test]
    fn enrichment_errors_name_the_key() {
        let err = load(&format!("{MINIMAL}\n[enrich]\ninternal_networks = [\"10.0.0.0/33\"]\n"), &[])
            .expect_err("invalid")
            .to_string();
        assert!(err.contains("enrich.internal_networks") && err.contains("siem.toml"), "{err}");
        let err = load(MINIMAL, &[("SIEM_ENRICH_GEOIP", "true")]).expect_err("invalid").to_string();
        assert!(err.contains("enrich.geoip") && err.contains("geoip_city"), "{err}");
        let err = load(&format!("{MINIMAL}\n[enrich]\nthreat_intel_lists = [{{ path = \"x\", format = \"xml\" }}]\n"), &[])
            .expect_err("invalid")
            .to_string();
        assert!(err.contains("enrich.threat_intel_lists") && err.contains("xml"), "{err}");
        let err = load(&format!("{MINIMAL}\n[enrich.account_names]\nprod = \"x\"\n"), &[]).expect_err("invalid").to_string();
        assert!(err.contains("enrich.account_names"), "{err}");
        let err = load(&format!("{MINIMAL}\n[enrich]\ngeoip_asn = \"s3://nokey\"\n"), &[]).expect_err("invalid").to_string();
        assert!(err.contains("enrich.geoip_asn"), "{err}");
        let err = load(MINIMAL, &[("SIEM_ENRICH_GEOIP_CACHE_ENTRIES", "200000")]).expect_err("invalid").to_string();
        assert!(err.contains("enrich.geoip_cache_entries") && err.contains("0..=100000"), "{err}");
    }

    #[test]
    fn the_geoip_cache_holds_1024_addresses_unless_told_otherwise() {
        assert_eq!(load(MINIMAL, &[]).expect("valid").enrich.geoip_cache_entries, 1024);
        let off = load(MINIMAL, &[("SIEM_ENRICH_GEOIP_CACHE_ENTRIES", "0")]).expect("valid");
        assert_eq!(off.enrich.geoip_cache_entries, 0);
    }

    #[test]
    fn bad_rotation_and_prefix_are_rejected() {
        let err = load(MINIMAL, &[("SIEM_OPENSEARCH_INDEX_ROTATION", "weekly")]).expect_err("an error").to_string();
        assert!(err.contains("opensearch.index_rotation"), "{err}");
        let err = load(MINIMAL, &[("SIEM_OPENSEARCH_INDEX_PREFIX", "Bad")]).expect_err("an error").to_string();
        assert!(err.contains("opensearch.index_prefix"), "{err}");
    }
}
