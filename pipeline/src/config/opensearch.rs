//! `[opensearch]`: the cluster, its index names and its credentials, and the
//! one parser of credentials (`parse_auth`) that `[dashboards]` shares.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::{Bounded, Invalid, invalid, required_url};

/// Prefix of every index name unless configured otherwise.
pub const DEFAULT_INDEX_PREFIX: &str = "siem";
/// The longest index prefix: OpenSearch refuses index names over 255 bytes,
/// and `-<log type>-<date>` takes up to 30 more (a log type's name of 15
/// bytes, a daily date of a year beyond 9999).
pub const MAX_INDEX_PREFIX_BYTES: usize = 200;

/// Per-request timeout, in seconds.
pub const REQUEST_TIMEOUT_SECS: Bounded = Bounded {
    key: "opensearch.request_timeout_secs",
    default: 60,
    min: 1,
    max: 3600,
};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenSearchSection {
    /// Base URL of the cluster. Required.
    pub url: Option<String>,
    /// Prefix of every index name (`<prefix>-<log type>-<date>`), at most
    /// [`MAX_INDEX_PREFIX_BYTES`] bytes. Default [`DEFAULT_INDEX_PREFIX`].
    pub index_prefix: Option<String>,
    /// `monthly` (default) or `daily`.
    pub index_rotation: Option<String>,
    /// Per-request timeout in seconds: [`REQUEST_TIMEOUT_SECS`].
    pub request_timeout_secs: Option<u64>,
    /// `none`, `basic` (needs `username` and `password`) or `sigv4` (Amazon
    /// OpenSearch Service and Serverless, with the AWS credential chain).
    /// Default: `basic` when a username is set, else `none`.
    pub auth: Option<String>,
    /// Basic-auth user name; `password` is then required.
    pub username: Option<String>,
    /// Basic-auth password; `username` is then required.
    pub password: Option<String>,
    /// SigV4 service name: `es` (managed domains, default) or `aoss` (Serverless).
    pub sigv4_service: Option<String>,
    /// PEM file of the CA that signed the cluster's certificate; default: the
    /// system's roots.
    pub ca_file: Option<PathBuf>,
}

/// `[opensearch]`, validated.
#[derive(Debug, Clone)]
pub struct OpenSearchConfig {
    /// An http(s) URL.
    pub url: String,
    /// Lowercase letters, digits, `-` and `_`, not starting with `-` or `_`.
    pub index_prefix: String,
    pub index_rotation: IndexRotation,
    pub request_timeout: Duration,
    pub auth: OpenSearchAuth,
    /// A file that existed when the configuration was validated.
    pub ca_file: Option<PathBuf>,
}

impl OpenSearchConfig {
    /// Basic credentials sent over plain `http://`: anyone on the path can
    /// read them.
    pub fn sends_password_in_clear(&self) -> bool {
        matches!(self.auth, OpenSearchAuth::Basic { .. }) && self.url.starts_with("http://")
    }

    /// Amazon OpenSearch Serverless: its time-series collections do not honour
    /// the client-chosen `_id` that makes redelivery a no-op; only search
    /// collections keep that guarantee.
    pub fn is_serverless(&self) -> bool {
        matches!(&self.auth, OpenSearchAuth::SigV4 { service } if service == "aoss")
    }
}

/// How often a log type's index is rolled over to a new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexRotation {
    /// `<prefix>-<log type>-YYYY.MM.DD`.
    Daily,
    /// `<prefix>-<log type>-YYYY.MM`.
    Monthly,
}

/// How requests to OpenSearch (or Dashboards) authenticate.
#[derive(Clone, PartialEq, Eq)]
pub enum OpenSearchAuth {
    None,
    Basic {
        username: String,
        password: String,
    },
    /// Signed with the AWS credential chain for `service` (`es` or `aoss`).
    SigV4 {
        service: String,
    },
}

impl std::fmt::Debug for OpenSearchAuth {
    /// The password is never printed (`check-config` output reaches logs).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpenSearchAuth::None => write!(f, "None"),
            OpenSearchAuth::Basic { username, .. } => write!(
                f,
                "Basic {{ username: {username:?}, password: <redacted> }}"
            ),
            OpenSearchAuth::SigV4 { service } => write!(f, "SigV4 {{ service: {service:?} }}"),
        }
    }
}

impl OpenSearchSection {
    pub fn validate(self) -> Result<OpenSearchConfig, Invalid> {
        let url = required_url("opensearch.url", self.url)?;
        let index_prefix = self
            .index_prefix
            .unwrap_or_else(|| DEFAULT_INDEX_PREFIX.into());
        if index_prefix.is_empty()
            || index_prefix.len() > MAX_INDEX_PREFIX_BYTES
            || !index_prefix
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
            || index_prefix.starts_with(['-', '_'])
        {
            return Err(invalid(
                "opensearch.index_prefix",
                format!(
                    "{index_prefix:?} must be 1 to {MAX_INDEX_PREFIX_BYTES} lowercase letters, digits, '-' or '_' and not start with '-' or '_'"
                ),
            ));
        }
        let index_rotation = match self.index_rotation.as_deref() {
            None | Some("monthly") => IndexRotation::Monthly,
            Some("daily") => IndexRotation::Daily,
            Some(other) => {
                return Err(invalid(
                    "opensearch.index_rotation",
                    format!("{other:?} is not one of \"monthly\", \"daily\""),
                ));
            }
        };
        let written = WrittenAuth {
            auth: self.auth,
            username: self.username,
            password: self.password,
            sigv4_service: self.sigv4_service,
        };
        let auth = parse_auth(&OPENSEARCH_AUTH_KEYS, written, None)?;
        if let Some(ca) = &self.ca_file
            && !ca.is_file()
        {
            return Err(invalid(
                "opensearch.ca_file",
                format!("{} is not a readable file", ca.display()),
            ));
        }
        Ok(OpenSearchConfig {
            url,
            index_prefix,
            index_rotation,
            request_timeout: Duration::from_secs(
                REQUEST_TIMEOUT_SECS.check(self.request_timeout_secs)?,
            ),
            auth,
            ca_file: self.ca_file,
        })
    }
}

/// The keys a section writes its credentials under, as errors name them.
#[derive(Debug)]
pub(super) struct AuthKeys {
    pub auth: &'static str,
    pub username: &'static str,
    pub password: &'static str,
    pub sigv4_service: &'static str,
}

const OPENSEARCH_AUTH_KEYS: AuthKeys = AuthKeys {
    auth: "opensearch.auth",
    username: "opensearch.username",
    password: "opensearch.password",
    sigv4_service: "opensearch.sigv4_service",
};

/// A section's credentials as written.
#[derive(Debug)]
pub(super) struct WrittenAuth {
    pub auth: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub sigv4_service: Option<String>,
}

/// The credentials of a section. Without `auth`, a username means `basic`;
/// otherwise `[opensearch]` has none, and a section that `falls_back_on`
/// OpenSearch's credentials takes them (`[dashboards]`, as both usually sit
/// behind the same security plugin): its basic credentials for `basic`, its
/// SigV4 service unless `sigv4_service` names another.
/// A username without a password, or the reverse, is an error whatever the mode.
pub(super) fn parse_auth(
    keys: &AuthKeys,
    written: WrittenAuth,
    falls_back_on: Option<&OpenSearchAuth>,
) -> Result<OpenSearchAuth, Invalid> {
    let basic = match (written.username, written.password) {
        (Some(username), Some(password)) => Some(OpenSearchAuth::Basic { username, password }),
        (Some(_), None) => {
            return Err(invalid(
                keys.password,
                format!("is required when {} is set", keys.username),
            ));
        }
        (None, Some(_)) => {
            return Err(invalid(
                keys.username,
                format!("is required when {} is set", keys.password),
            ));
        }
        (None, None) => None,
    };
    let sigv4 = |default: &str| {
        let service = written
            .sigv4_service
            .clone()
            .unwrap_or_else(|| default.to_owned());
        if service == "es" || service == "aoss" {
            Ok(OpenSearchAuth::SigV4 { service })
        } else {
            Err(invalid(
                keys.sigv4_service,
                format!("{service:?} is not one of \"es\", \"aoss\""),
            ))
        }
    };
    match (written.auth.as_deref(), basic) {
        (None | Some("basic"), Some(basic)) => Ok(basic),
        (None, None) => match falls_back_on {
            Some(OpenSearchAuth::SigV4 { service }) => sigv4(service),
            Some(other) => Ok(other.clone()),
            None => Ok(OpenSearchAuth::None),
        },
        (Some("none"), _) => Ok(OpenSearchAuth::None),
        (Some("basic"), None) => match falls_back_on {
            Some(basic @ OpenSearchAuth::Basic { .. }) => Ok(basic.clone()),
            Some(_) => Err(invalid(
                keys.username,
                "is required for basic auth when [opensearch] has no basic credentials",
            )),
            None => Err(invalid(keys.username, "is required for basic auth")),
        },
        (Some("sigv4"), _) => sigv4("es"),
        (Some(other), _) => Err(invalid(
            keys.auth,
            format!("{other:?} is not one of \"none\", \"basic\", \"sigv4\""),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::{MINIMAL, load};

    #[test]
    fn a_minimal_file_gets_the_named_defaults() {
        let c = load(MINIMAL, &[]).expect("valid").opensearch;
        assert_eq!(c.index_prefix, DEFAULT_INDEX_PREFIX);
        assert_eq!(c.index_rotation, IndexRotation::Monthly);
        assert_eq!(
            c.request_timeout,
            Duration::from_secs(REQUEST_TIMEOUT_SECS.default)
        );
        assert_eq!(c.auth, OpenSearchAuth::None);
    }

    #[test]
    fn bad_rotation_and_prefix_are_rejected() {
        let err = load(MINIMAL, &[("SIEM_OPENSEARCH_INDEX_ROTATION", "weekly")])
            .expect_err("an error")
            .to_string();
        assert!(err.contains("opensearch.index_rotation"), "{err}");
        let err = load(MINIMAL, &[("SIEM_OPENSEARCH_INDEX_PREFIX", "Bad")])
            .expect_err("an error")
            .to_string();
        assert!(err.contains("opensearch.index_prefix"), "{err}");
    }

    #[test]
    fn an_index_prefix_too_long_for_an_index_name_is_rejected() {
        // It once made index names OpenSearch refuses (over 255 bytes).
        let long = "a".repeat(MAX_INDEX_PREFIX_BYTES + 1);
        let err = load(MINIMAL, &[("SIEM_OPENSEARCH_INDEX_PREFIX", long.as_str())])
            .expect_err("an error")
            .to_string();
        assert!(err.contains("opensearch.index_prefix"), "{err}");
        let longest = "a".repeat(MAX_INDEX_PREFIX_BYTES);
        load(
            MINIMAL,
            &[("SIEM_OPENSEARCH_INDEX_PREFIX", longest.as_str())],
        )
        .expect("valid");
    }

    #[test]
    fn the_password_is_never_printed() {
        let c = load(
            MINIMAL,
            &[
                ("SIEM_OPENSEARCH_USERNAME", "siem"),
                ("SIEM_OPENSEARCH_PASSWORD", "hunter2"),
            ],
        )
        .expect("valid");
        let printed = format!("{c:?}");
        assert!(
            printed.contains("siem") && !printed.contains("hunter2"),
            "{printed}"
        );
    }

    #[test]
    fn sigv4_auth_takes_the_service_name() {
        let c = load(
            MINIMAL,
            &[
                ("SIEM_OPENSEARCH_AUTH", "sigv4"),
                ("SIEM_OPENSEARCH_SIGV4_SERVICE", "aoss"),
            ],
        )
        .expect("valid");
        assert_eq!(
            c.opensearch.auth,
            OpenSearchAuth::SigV4 {
                service: "aoss".into()
            }
        );
        let err = load(
            MINIMAL,
            &[
                ("SIEM_OPENSEARCH_AUTH", "sigv4"),
                ("SIEM_OPENSEARCH_SIGV4_SERVICE", "s3"),
            ],
        )
        .expect_err("an error")
        .to_string();
        assert!(err.contains("opensearch.sigv4_service"), "{err}");
        let err = load(MINIMAL, &[("SIEM_OPENSEARCH_AUTH", "basic")])
            .expect_err("an error")
            .to_string();
        assert!(err.contains("opensearch.username"), "{err}");
    }

    fn written(auth: Option<&str>, username: Option<&str>, password: Option<&str>) -> WrittenAuth {
        WrittenAuth {
            auth: auth.map(str::to_owned),
            username: username.map(str::to_owned),
            password: password.map(str::to_owned),
            sigv4_service: None,
        }
    }

    fn basic(username: &str, password: &str) -> OpenSearchAuth {
        OpenSearchAuth::Basic {
            username: username.into(),
            password: password.into(),
        }
    }

    #[test]
    fn a_username_alone_means_basic_auth() {
        let auth = parse_auth(
            &OPENSEARCH_AUTH_KEYS,
            written(None, Some("siem"), Some("pw")),
            None,
        );
        assert_eq!(auth, Ok(basic("siem", "pw")));
        let auth = parse_auth(&OPENSEARCH_AUTH_KEYS, written(None, None, None), None);
        assert_eq!(auth, Ok(OpenSearchAuth::None));
    }

    #[test]
    fn half_a_pair_of_credentials_names_the_missing_key_whatever_the_mode() {
        for mode in [None, Some("basic"), Some("none"), Some("sigv4")] {
            let err = parse_auth(
                &OPENSEARCH_AUTH_KEYS,
                written(mode, Some("siem"), None),
                None,
            );
            assert_eq!(
                err,
                Err(invalid(
                    "opensearch.password",
                    "is required when opensearch.username is set"
                )),
                "{mode:?}"
            );
            let err = parse_auth(&OPENSEARCH_AUTH_KEYS, written(mode, None, Some("pw")), None);
            assert_eq!(
                err,
                Err(invalid(
                    "opensearch.username",
                    "is required when opensearch.password is set"
                )),
                "{mode:?}"
            );
        }
    }

    #[test]
    fn a_section_without_credentials_takes_those_it_falls_back_on() {
        let opensearch = basic("siem", "pw");
        let auth = parse_auth(
            &OPENSEARCH_AUTH_KEYS,
            written(None, None, None),
            Some(&opensearch),
        );
        assert_eq!(auth, Ok(opensearch.clone()));
        let auth = parse_auth(
            &OPENSEARCH_AUTH_KEYS,
            written(Some("basic"), None, None),
            Some(&opensearch),
        );
        assert_eq!(auth, Ok(opensearch));
        let auth = parse_auth(
            &OPENSEARCH_AUTH_KEYS,
            written(Some("none"), None, None),
            Some(&basic("a", "b")),
        );
        assert_eq!(auth, Ok(OpenSearchAuth::None));
    }

    #[test]
    fn an_unknown_auth_mode_lists_the_known_ones() {
        let err = parse_auth(
            &OPENSEARCH_AUTH_KEYS,
            written(Some("oauth"), None, None),
            None,
        );
        assert_eq!(
            err,
            Err(invalid(
                "opensearch.auth",
                "\"oauth\" is not one of \"none\", \"basic\", \"sigv4\""
            ))
        );
    }
}
