//! `[enrich]`: what documents learn beyond their record, validated into the
//! enrichers' own [`EnrichConfig`] (its defaults are theirs).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::{Bounded, EnrichConfig, Invalid, ThreatIntelList, invalid};
use crate::enrich::Location;
use crate::enrich::geoip::DEFAULT_CACHE_ENTRIES;
use crate::enrich::indicators::ListFormat;
use crate::enrich::net::Cidr;
use crate::enrich::settings::DEFAULT_RELOAD_INTERVAL;

/// How often data files are checked for changes, in seconds.
pub const RELOAD_INTERVAL_SECS: Bounded = Bounded {
    key: "enrich.reload_interval_secs",
    default: DEFAULT_RELOAD_INTERVAL.as_secs(),
    min: 1,
    max: 86_400,
};
/// Addresses whose answer each GeoIP database keeps; 0 turns the cache off.
pub const GEOIP_CACHE_ENTRIES: Bounded = Bounded {
    key: "enrich.geoip_cache_entries",
    default: DEFAULT_CACHE_ENTRIES as u64,
    min: 0,
    max: 100_000,
};

/// Every enricher is on when its data is configured, and can be switched off
/// with its boolean without removing its settings; `related` needs no data
/// and is on by default. Data paths are local files or `s3://bucket/key`
/// URLs, reloaded when they change.
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
    /// `user_agent.name`, `user_agent.version`, `user_agent.os.*` parsed
    /// from `user_agent.original`. Default true.
    pub user_agent: Option<bool>,
    /// GeoIP and ASN lookups (`<side>.geo.*`, `<side>.as.*`). Default: on
    /// when `geoip_city` or `geoip_asn` is set.
    pub geoip: Option<bool>,
    /// MaxMind City database (`.mmdb`, GeoLite2 or GeoIP2): local path or s3:// URL.
    pub geoip_city: Option<String>,
    /// MaxMind ASN database (`.mmdb`): local path or s3:// URL.
    pub geoip_asn: Option<String>,
    /// How many addresses each GeoIP database keeps its answer for:
    /// [`GEOIP_CACHE_ENTRIES`]. About 0.6 KiB per address for City and ASN
    /// together, so the default (1024) takes about 0.6 MiB and the most
    /// allowed (100,000) about 60 MiB. 0 turns the cache off.
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
    pub account_names: Option<BTreeMap<String, String>>,
    /// An `aws organizations list-accounts` JSON export: local path or s3:// URL.
    pub accounts_file: Option<String>,
    /// How often data files are checked for changes (local: modification
    /// time and size; S3: ETag and Last-Modified), in seconds:
    /// [`RELOAD_INTERVAL_SECS`].
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

impl EnrichSection {
    /// An enricher switched on explicitly needs its data; one that is
    /// switched off keeps its settings but gets none of them.
    pub fn validate(self) -> Result<EnrichConfig, Invalid> {
        let defaults = EnrichConfig::default();
        let mut config = EnrichConfig {
            related: self.related.unwrap_or(defaults.related),
            user_agent: self.user_agent.unwrap_or(defaults.user_agent),
            reload_interval: Duration::from_secs(
                RELOAD_INTERVAL_SECS.check(self.reload_interval_secs)?,
            ),
            geoip_cache_entries: GEOIP_CACHE_ENTRIES.check(self.geoip_cache_entries)? as usize,
            ..defaults
        };

        let city = location("enrich.geoip_city", self.geoip_city)?;
        let asn = location("enrich.geoip_asn", self.geoip_asn)?;
        if switch(
            "enrich.geoip",
            self.geoip,
            city.is_some() || asn.is_some(),
            "enrich.geoip_city or enrich.geoip_asn",
        )? {
            config.geoip_city = city;
            config.geoip_asn = asn;
        }

        let networks = self
            .internal_networks
            .unwrap_or_default()
            .iter()
            .map(|c| Cidr::parse(c).map_err(|m| invalid("enrich.internal_networks", m)))
            .collect::<Result<Vec<_>, _>>()?;
        if switch(
            "enrich.network_direction",
            self.network_direction,
            !networks.is_empty(),
            "enrich.internal_networks",
        )? {
            config.internal_networks = networks;
        }

        let lists = self
            .threat_intel_lists
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(n, list)| list.validate(n))
            .collect::<Result<Vec<_>, _>>()?;
        if switch(
            "enrich.threat_intel",
            self.threat_intel,
            !lists.is_empty(),
            "enrich.threat_intel_lists",
        )? {
            config.threat_intel = lists;
        }

        let names = self.account_names.unwrap_or_default();
        if let Some(id) = names
            .keys()
            .find(|id| id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(invalid(
                "enrich.account_names",
                format!("{id:?} is not a 12-digit AWS account id"),
            ));
        }
        let file = location("enrich.accounts_file", self.accounts_file)?;
        if switch(
            "enrich.accounts",
            self.accounts,
            !names.is_empty() || file.is_some(),
            "enrich.account_names or enrich.accounts_file",
        )? {
            config.account_names = names;
            config.accounts_file = file;
        }
        Ok(config)
    }
}

impl ThreatIntelListSection {
    /// Entry `n` of `enrich.threat_intel_lists`.
    fn validate(self, n: usize) -> Result<ThreatIntelList, Invalid> {
        let key = "enrich.threat_intel_lists";
        let location = Location::parse(&self.path)
            .map_err(|m| invalid(key, format!("entry {n}: path {m}")))?;
        let format = match self.format.as_deref() {
            Some(f) => {
                ListFormat::parse(f).map_err(|m| invalid(key, format!("entry {n}: format {m}")))?
            }
            None if self.path.ends_with(".json") => ListFormat::Stix,
            None if self.path.ends_with(".csv") => ListFormat::Csv,
            None => ListFormat::Text,
        };
        let provider = self
            .provider
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| location.file_name());
        Ok(ThreatIntelList {
            location,
            format,
            provider,
        })
    }
}

/// A data location, when `value` is set.
fn location(key: &'static str, value: Option<String>) -> Result<Option<Location>, Invalid> {
    value
        .map(|v| Location::parse(&v).map_err(|m| invalid(key, m)))
        .transpose()
}

/// Whether an enricher is on: by default when its data is `configured`;
/// switched on explicitly without data, an error naming what it `needs`.
fn switch(
    key: &'static str,
    on: Option<bool>,
    configured: bool,
    needs: &str,
) -> Result<bool, Invalid> {
    match (on, configured) {
        (Some(true), false) => Err(invalid(key, format!("is true but {needs} is not set"))),
        (Some(false), _) => Ok(false),
        _ => Ok(configured),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::{MINIMAL, load};

    #[test]
    fn enrichment_is_related_fields_only_by_default() {
        let e = load(MINIMAL, &[]).expect("valid").enrich;
        assert!(e.related);
        assert!(
            e.geoip_city.is_none() && e.internal_networks.is_empty() && e.threat_intel.is_empty()
        );
        assert_eq!(e.reload_interval, Duration::from_secs(60));
        assert_eq!(
            e.reload_interval,
            Duration::from_secs(RELOAD_INTERVAL_SECS.default)
        );
    }

    #[test]
    fn enrichers_are_on_when_their_data_is_configured_and_can_be_switched_off() {
        let text = format!(
            "{MINIMAL}\n[enrich]\ngeoip_city = \"s3://geo/GeoLite2-City.mmdb\"\ninternal_networks = [\"10.0.0.0/8\"]\n\
             network_direction = false\nthreat_intel_lists = [{{ path = \"/ti/feodo.txt\" }}, {{ path = \"/ti/b.json\", provider = \"B\" }}]\n\
             [enrich.account_names]\n\"123456789012\" = \"production\"\n"
        );
        let e = load(&text, &[("SIEM_ENRICH_RELATED", "false")])
            .expect("valid")
            .enrich;
        assert!(!e.related);
        assert_eq!(
            e.geoip_city,
            Some(Location::S3 {
                bucket: "geo".into(),
                key: "GeoLite2-City.mmdb".into()
            })
        );
        assert!(e.internal_networks.is_empty(), "switched off");
        assert_eq!(e.threat_intel[0].provider, "feodo.txt");
        assert_eq!(e.threat_intel[0].format, ListFormat::Text);
        assert_eq!(e.threat_intel[1].format, ListFormat::Stix);
        assert_eq!(
            e.account_names.get("123456789012").map(String::as_str),
            Some("production")
        );
    }

    #[test]
    fn enrichment_errors_name_the_key() {
        let err = load(
            &format!("{MINIMAL}\n[enrich]\ninternal_networks = [\"10.0.0.0/33\"]\n"),
            &[],
        )
        .expect_err("invalid")
        .to_string();
        assert!(
            err.contains("enrich.internal_networks") && err.contains("siem.toml"),
            "{err}"
        );
        let err = load(MINIMAL, &[("SIEM_ENRICH_GEOIP", "true")])
            .expect_err("invalid")
            .to_string();
        assert!(
            err.contains("enrich.geoip") && err.contains("geoip_city"),
            "{err}"
        );
        let err = load(
            &format!(
                "{MINIMAL}\n[enrich]\nthreat_intel_lists = [{{ path = \"x\", format = \"xml\" }}]\n"
            ),
            &[],
        )
        .expect_err("invalid")
        .to_string();
        assert!(
            err.contains("enrich.threat_intel_lists") && err.contains("xml"),
            "{err}"
        );
        let err = load(
            &format!("{MINIMAL}\n[enrich.account_names]\nprod = \"x\"\n"),
            &[],
        )
        .expect_err("invalid")
        .to_string();
        assert!(err.contains("enrich.account_names"), "{err}");
        let err = load(
            &format!("{MINIMAL}\n[enrich]\ngeoip_asn = \"s3://nokey\"\n"),
            &[],
        )
        .expect_err("invalid")
        .to_string();
        assert!(err.contains("enrich.geoip_asn"), "{err}");
        let err = load(MINIMAL, &[("SIEM_ENRICH_GEOIP_CACHE_ENTRIES", "200000")])
            .expect_err("invalid")
            .to_string();
        assert!(
            err.contains("enrich.geoip_cache_entries") && err.contains("0..=100000"),
            "{err}"
        );
    }

    #[test]
    fn the_geoip_cache_holds_1024_addresses_unless_told_otherwise() {
        assert_eq!(
            load(MINIMAL, &[])
                .expect("valid")
                .enrich
                .geoip_cache_entries,
            1024
        );
        let off = load(MINIMAL, &[("SIEM_ENRICH_GEOIP_CACHE_ENTRIES", "0")]).expect("valid");
        assert_eq!(off.enrich.geoip_cache_entries, 0);
    }

    #[test]
    fn an_empty_enrich_section_gives_the_enrichers_defaults() {
        let (validated, defaults) = (
            EnrichSection::default().validate().expect("valid"),
            EnrichConfig::default(),
        );
        assert_eq!(validated.related, defaults.related);
        assert_eq!(validated.geoip_cache_entries, defaults.geoip_cache_entries);
        assert_eq!(validated.reload_interval, defaults.reload_interval);
    }
}
