//! What the enrichers are given: [`EnrichConfig`], with its defaults.
//!
//! `config` reads the file's `[enrich]` section and validates it into these
//! types; this module never reads configuration itself, so that `enrich`
//! does not depend on `config` (it is the other way round).

use std::collections::BTreeMap;
use std::time::Duration;

use super::Location;
use super::geoip::DEFAULT_CACHE_ENTRIES;
use super::indicators::ListFormat;
use super::net::Cidr;

/// How often data files are checked for changes unless configured otherwise
/// (`enrich.reload_interval_secs`).
pub const DEFAULT_RELOAD_INTERVAL: Duration = Duration::from_secs(60);

/// `[enrich]`, validated: an enricher is on exactly when its data is here
/// (switched-off enrichers have none). The default enriches `related.*` and parses user agents.
#[derive(Debug, Clone)]
pub struct EnrichConfig {
    /// `related.*` gathered from the document's own fields.
    pub related: bool,
    /// MaxMind City database, when GeoIP is on.
    pub geoip_city: Option<Location>,
    /// MaxMind ASN database, when GeoIP is on.
    pub geoip_asn: Option<Location>,
    /// Addresses whose answer each GeoIP database keeps (0: no cache).
    pub geoip_cache_entries: usize,
    /// The organisation's own networks, for `network.direction` (empty: off).
    pub internal_networks: Vec<Cidr>,
    /// Indicator lists matched against documents (empty: off).
    pub threat_intel: Vec<ThreatIntelList>,
    /// Account id → name, from the file itself; wins over `accounts_file`.
    pub account_names: BTreeMap<String, String>,
    /// An `aws organizations list-accounts` export.
    pub accounts_file: Option<Location>,
    /// How often data is checked for changes.
    pub reload_interval: Duration,
    /// `user_agent.*` parsed from `user_agent.original`.
    pub user_agent: bool,
}

impl Default for EnrichConfig {
    fn default() -> Self {
        EnrichConfig {
            related: true,
            geoip_city: None,
            geoip_asn: None,
            geoip_cache_entries: DEFAULT_CACHE_ENTRIES,
            internal_networks: Vec::new(),
            threat_intel: Vec::new(),
            account_names: BTreeMap::new(),
            accounts_file: None,
            reload_interval: DEFAULT_RELOAD_INTERVAL,
            user_agent: true,
        }
    }
}

/// One indicator list, validated.
#[derive(Debug, Clone)]
pub struct ThreatIntelList {
    /// Where the list is read from.
    pub location: Location,
    /// How it is written.
    pub format: ListFormat,
    /// `threat.enrichments.indicator.provider` of its matches.
    pub provider: String,
}
