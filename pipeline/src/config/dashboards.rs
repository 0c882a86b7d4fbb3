//! `[dashboards]`: OpenSearch Dashboards, where `siem-pipeline setup` imports
//! the saved objects of `dashboards/`. Credentials default to OpenSearch's,
//! as both usually sit behind the same security plugin.

use std::time::Duration;

use serde::Deserialize;

use super::opensearch::{AuthKeys, WrittenAuth, parse_auth};
use super::{Bounded, Invalid, OpenSearchAuth, check_url, invalid};

/// Per-request timeout, in seconds.
pub const REQUEST_TIMEOUT_SECS: Bounded = Bounded {
    key: "dashboards.request_timeout_secs",
    default: 60,
    min: 1,
    max: 3600,
};

const AUTH_KEYS: AuthKeys = AuthKeys {
    auth: "dashboards.auth",
    username: "dashboards.username",
    password: "dashboards.password",
    sigv4_service: "dashboards.sigv4_service",
};

/// Without `url`, setup installs the templates only.
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
    /// Basic-auth user name of Dashboards, when it differs from OpenSearch's.
    pub username: Option<String>,
    /// Basic-auth password of Dashboards, with `username`.
    pub password: Option<String>,
    /// SigV4 service name: `es` (managed domains, default) or `aoss`.
    pub sigv4_service: Option<String>,
    /// Security plugin tenant to import into (`securitytenant` header), e.g.
    /// `global` or a custom tenant; default: the user's default tenant.
    pub tenant: Option<String>,
    /// Per-request timeout in seconds: [`REQUEST_TIMEOUT_SECS`].
    pub request_timeout_secs: Option<u64>,
}

/// `[dashboards]`, validated.
#[derive(Debug, Clone)]
pub struct DashboardsConfig {
    /// An http(s) URL without a trailing `/`.
    pub url: String,
    pub auth: OpenSearchAuth,
    /// `None`: the user's default tenant.
    pub tenant: Option<String>,
    pub request_timeout: Duration,
}

impl DashboardsSection {
    /// `None` without `url`; `opensearch_auth` is what credentials fall back on.
    pub fn validate(
        self,
        opensearch_auth: &OpenSearchAuth,
    ) -> Result<Option<DashboardsConfig>, Invalid> {
        let Some(url) = self.url.filter(|u| !u.is_empty()) else {
            let set = self.auth.is_some()
                || self.username.is_some()
                || self.password.is_some()
                || self.sigv4_service.is_some()
                || self.tenant.is_some()
                || self.request_timeout_secs.is_some();
            return if set {
                Err(invalid(
                    "dashboards.url",
                    "is required when other [dashboards] keys are set",
                ))
            } else {
                Ok(None)
            };
        };
        check_url("dashboards.url", &url)?;
        let written = WrittenAuth {
            auth: self.auth,
            username: self.username,
            password: self.password,
            sigv4_service: self.sigv4_service,
        };
        let auth = parse_auth(&AUTH_KEYS, written, Some(opensearch_auth))?;
        let tenant = match self.tenant {
            Some(t) if t.trim().is_empty() => {
                return Err(invalid(
                    "dashboards.tenant",
                    "is empty; leave it out for the default tenant",
                ));
            }
            t => t,
        };
        Ok(Some(DashboardsConfig {
            url: url.trim_end_matches('/').to_owned(),
            auth,
            tenant,
            request_timeout: Duration::from_secs(
                REQUEST_TIMEOUT_SECS.check(self.request_timeout_secs)?,
            ),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::{MINIMAL, load};

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
        assert_eq!(
            d.request_timeout,
            Duration::from_secs(REQUEST_TIMEOUT_SECS.default)
        );
    }

    #[test]
    fn dashboards_take_their_own_credentials_or_sigv4() {
        let c = load(
            &format!("{MINIMAL}\n[dashboards]\nurl = \"http://d\"\nusername = \"viewer\"\npassword = \"x\"\n"),
            &[],
        )
        .expect("valid");
        assert!(
            matches!(c.dashboards.expect("dashboards").auth, OpenSearchAuth::Basic { username, .. } if username == "viewer")
        );
        let c = load(
            MINIMAL,
            &[
                ("SIEM_OPENSEARCH_AUTH", "sigv4"),
                ("SIEM_DASHBOARDS_URL", "https://d/_dashboards"),
            ],
        )
        .expect("valid");
        assert_eq!(
            c.dashboards.expect("dashboards").auth,
            OpenSearchAuth::SigV4 {
                service: "es".into()
            }
        );
        let err = load(MINIMAL, &[("SIEM_DASHBOARDS_TENANT", "global")])
            .expect_err("no url")
            .to_string();
        assert!(err.contains("dashboards.url"), "{err}");
        let err = load(
            MINIMAL,
            &[
                ("SIEM_DASHBOARDS_URL", "http://d"),
                ("SIEM_DASHBOARDS_AUTH", "basic"),
            ],
        )
        .expect_err("no credentials")
        .to_string();
        assert!(err.contains("dashboards.username"), "{err}");
    }

    #[test]
    fn dashboards_keep_the_opensearch_sigv4_service_unless_they_name_their_own() {
        let aoss = OpenSearchAuth::SigV4 {
            service: "aoss".into(),
        };
        let section = |service: Option<&str>| DashboardsSection {
            url: Some("https://d".into()),
            sigv4_service: service.map(str::to_owned),
            ..DashboardsSection::default()
        };
        let auth = |s: DashboardsSection| s.validate(&aoss).map(|d| d.map(|d| d.auth));
        assert_eq!(auth(section(None)), Ok(Some(aoss.clone())));
        assert_eq!(
            auth(section(Some("es"))),
            Ok(Some(OpenSearchAuth::SigV4 {
                service: "es".into()
            }))
        );
        assert_eq!(
            auth(section(Some("s3"))).map_err(|e| e.key),
            Err("dashboards.sigv4_service")
        );
    }
}
