//! Enrichment: what a normalized document learns from outside its record —
//! where an address is, who owns it, whether a threat feed lists it, which
//! way a flow went, what an account is called — and the `related.*` fields
//! gathered from everything the document holds.
//!
//! # Layout
//!
//! ```text
//! log_types::<type>::normalize ─▶ Normalized.document ─▶ Enrichers::enrich_in ─▶ document::encode_bulk
//!                                  (serde_json::Map)       │   (the same blocking thread)    ▲
//!                                                          ▼                                 │
//!     accounts ─▶ Scope::read (every field once) ─▶ geoip ─▶ direction ─▶ threat_intel ─▶ related
//!                                                          │
//!                                            Additions (absent fields as JSON text) ─────────┘
//! ```
//!
//! Enrichers add the fields a document lacks to [`Additions`] as JSON text
//! rendered once (a GeoIP answer is shared with the database's cache);
//! `encode_bulk` writes them into the document's source line
//! ([`additions`] says why and on which rules).
//!
//! | file | enricher | fills | on when |
//! |---|---|---|---|
//! | [`accounts`] | account names | `cloud.account.name` | `enrich.account_names` or `enrich.accounts_file` |
//! | [`geoip`] | GeoIP and ASN | `{source,destination,client,server}.{geo,as}.*` | `enrich.geoip_city` or `enrich.geoip_asn` |
//! | [`direction`] | network direction | `network.direction` | `enrich.internal_networks` |
//! | [`threat_intel`] | threat intelligence | `threat.enrichments[]`, `threat.indicator.*` | `enrich.threat_intel_lists` |
//! | [`user_agent`] | user agent parsing | `user_agent.{name,version,os.*}` | always, unless `enrich.user_agent = false` |
//! | [`related`] | related fields (host names and EC2 instance ids in `related.hosts`) | `related.{ip,user,hosts,hash}` | always, unless `enrich.related = false` |
//!
//! [`indicators`] reads indicator lists (text, CSV, STIX 2.1), [`source`]
//! loads and reloads data from local files or S3, [`net`] classifies
//! addresses, [`fields`] reads and writes documents by dotted path,
//! [`additions`] holds and writes what enrichers add, [`settings`] is what
//! the enrichers are given ([`EnrichConfig`], made by `config` from the
//! `[enrich]` section: `enrich` never reads configuration).
//!
//! # What each log type gets
//!
//! Enrichers look at the ECS fields a document has, not at its log type: a
//! log type is offered what its fields allow. A log type that declares the
//! fields its documents can hold ([`LogType::ecs_fields`]: VPC Flow Logs
//! field by field, CloudTrail and Linux auth by top-level object) has only
//! those read ([`Scope`]); findings declare none and have every field read.
//! Today that is
//!
//! | log type | geoip | direction | threat intel | accounts | related |
//! |---|---|---|---|---|---|
//! | guardduty | sides without GuardDuty's own geo/AS | when GuardDuty gave none | addresses, domains, hashes | yes | yes |
//! | vpcflow | source, destination | versions without `flow-direction` | addresses | yes | yes |
//! | cloudtrail | source | — | source address and domain | yes | yes |
//! | securityhub, inspector, macie | where the finding names addresses | when both sides are known | addresses, domains, hashes | yes | yes |
//! | linux_auth | source | — | source address | yes (the log group's account) | yes |
//! | linux_auth_file | source | — | source address | — (no account id) | yes |
//!
//! `siem-pipeline normalize --config siem.toml FILE` shows exactly what a
//! given record gets.
//!
//! # What an enricher must never do
//!
//! - fail a record: a lookup error is counted (`siem_enrichments_total{outcome="error"}`)
//!   and the record goes on as it is;
//! - overwrite what the log says: every enricher only fills fields that are absent
//!   (`related.*` and `threat.enrichments` are appended to);
//! - block or pause: data is swapped in whole when it changes
//!   ([`source::Reloadable`]), readers never wait for a reload;
//! - warn per record: unavailable data is one warning, at start or when it changes;
//! - cost more per record as lists grow: lookups are hash probes, not scans.

pub mod accounts;
pub mod additions;
pub mod direction;
pub mod fields;
pub mod geoip;
pub mod indicators;
pub mod net;
pub mod related;
pub mod settings;
pub mod source;
pub mod threat_intel;
pub mod user_agent;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};
use tracing::info;

use crate::log_types::LogType;

pub use additions::Additions;
pub use settings::{EnrichConfig, ThreatIntelList};
pub use source::{Fetcher, Location};

/// What one enricher did to one document.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub enriched: bool,
    /// Lookups that failed (a corrupt database entry): counted, never fatal.
    pub errors: u32,
}

/// Every enricher the configuration switches on, built once per run and
/// shared by every blocking thread.
#[derive(Debug, Default)]
pub struct Enrichers {
    accounts: Option<accounts::Accounts>,
    geoip: Option<geoip::GeoIp>,
    direction: Option<direction::Direction>,
    threat_intel: Option<threat_intel::ThreatIntel>,
    user_agents: Option<user_agent::UserAgents>,
    related: bool,
    reload_interval: Option<Duration>,
    fetcher: Fetcher,
}

impl Enrichers {
    /// No enrichment at all: documents exactly as the log type made them.
    pub fn none() -> Enrichers {
        Enrichers::default()
    }

    /// Builds the enrichers `config` switches on and loads their data.
    /// Data that cannot be read is one warning each; its enricher does
    /// nothing until a reload finds the data ([`Enrichers::watch`]).
    pub async fn start(config: &EnrichConfig, fetcher: Fetcher) -> Enrichers {
        let entries = config.geoip_cache_entries;
        let open = move |path: &std::path::Path| geoip::Database::open(path, entries);
        let geoip =
            (config.geoip_city.is_some() || config.geoip_asn.is_some()).then(|| geoip::GeoIp {
                city: config
                    .geoip_city
                    .clone()
                    .map(|l| source::Reloadable::new("enrich.geoip_city", l, open)),
                asn: config
                    .geoip_asn
                    .clone()
                    .map(|l| source::Reloadable::new("enrich.geoip_asn", l, open)),
            });
        let threat_intel = (!config.threat_intel.is_empty()).then(|| threat_intel::ThreatIntel {
            lists: config
                .threat_intel
                .iter()
                .map(|list| {
                    let (format, provider) = (list.format, list.provider.clone());
                    source::Reloadable::new(
                        "enrich.threat_intel_lists",
                        list.location.clone(),
                        move |path| threat_intel::IndicatorList::load(path, format, &provider),
                    )
                })
                .collect(),
        });
        let accounts =
            (!config.account_names.is_empty() || config.accounts_file.is_some()).then(|| {
                accounts::Accounts {
                    configured: config
                        .account_names
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                    file: config.accounts_file.clone().map(|l| {
                        source::Reloadable::new(
                            "enrich.accounts_file",
                            l,
                            accounts::load_organizations_export,
                        )
                    }),
                }
            });
        let direction = (!config.internal_networks.is_empty()).then(|| direction::Direction {
            internal: config.internal_networks.clone(),
        });
        let enrichers = Enrichers {
            accounts,
            geoip,
            direction,
            threat_intel,
            user_agents: config.user_agent.then(user_agent::UserAgents::default),
            related: config.related,
            reload_interval: Some(config.reload_interval),
            fetcher,
        };
        enrichers.refresh().await;
        info!(enrichers = ?enrichers.names(), "enrichment ready");
        enrichers
    }

    /// Builds enrichers from parts (tests, benches).
    pub fn from_parts(
        accounts: Option<accounts::Accounts>,
        geoip: Option<geoip::GeoIp>,
        direction: Option<direction::Direction>,
        threat_intel: Option<threat_intel::ThreatIntel>,
        related: bool,
    ) -> Enrichers {
        Enrichers {
            accounts,
            geoip,
            direction,
            threat_intel,
            user_agents: None,
            related,
            reload_interval: None,
            fetcher: Fetcher::default(),
        }
    }

    /// The same enrichers, parsing user agents too (tests, benches).
    pub fn with_user_agents(mut self) -> Enrichers {
        self.user_agents = Some(user_agent::UserAgents::default());
        self
    }

    /// The names of the enrichers that are on.
    pub fn names(&self) -> Vec<&'static str> {
        [
            (self.accounts.is_some(), "accounts"),
            (self.geoip.is_some(), "geoip"),
            (self.direction.is_some(), "network_direction"),
            (self.threat_intel.is_some(), "threat_intel"),
            (self.user_agents.is_some(), "user_agent"),
            (self.related, "related"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.names().is_empty()
    }

    /// Enriches one document in place, whatever its log type. Never fails.
    pub fn enrich(&self, doc: &mut Map<String, Value>) {
        let mut added = Additions::default();
        self.enrich_in(&Scope::under(None, self), doc, &mut added);
        added.apply(doc);
    }

    /// Enriches one document of the log type `scope` was made for
    /// ([`Scope::of`] these enrichers): the fields it lacks go to `added`, written into it
    /// by [`crate::document::encode_bulk`]. Never fails.
    pub fn enrich_in(&self, scope: &Scope, doc: &mut Map<String, Value>, added: &mut Additions) {
        if let Some(e) = &self.accounts {
            metrics::count(metrics::Enricher::Accounts, e.add_to(doc, added));
        }
        if let Some(e) = self.user_agents.as_ref().filter(|_| scope.user_agent) {
            metrics::count(metrics::Enricher::UserAgent, e.add_to(doc, added));
        }
        if self.geoip.is_none()
            && self.direction.is_none()
            && self.threat_intel.is_none()
            && !self.related
        {
            return;
        }
        // Everything is read first, then written: threat intelligence and
        // related fields append to the document itself.
        let (threats, related) = {
            let read = scope.read(doc);
            if let Some(e) = &self.geoip {
                metrics::count(
                    metrics::Enricher::GeoIp,
                    e.enrich_addresses(doc, &read.addresses, added),
                );
            }
            if let Some(e) = &self.direction {
                metrics::count(
                    metrics::Enricher::Direction,
                    e.enrich_addresses(doc, &read.addresses, added),
                );
            }
            let threats = self
                .threat_intel
                .as_ref()
                .map(|e| e.matches(&read.candidates));
            let related = self
                .related
                .then(|| related::missing_all(doc, &read.related));
            (threats, related)
        };
        if let Some(found) = threats {
            metrics::count(
                metrics::Enricher::ThreatIntel,
                threat_intel::add(doc, found, added),
            );
        }
        if let Some(new) = related {
            metrics::count(metrics::Enricher::Related, related::append_all(doc, new));
        }
    }

    fn sources(&self) -> Vec<&dyn source::Refreshable> {
        let mut sources: Vec<&dyn source::Refreshable> = Vec::new();
        if let Some(g) = &self.geoip {
            sources.extend(
                g.city
                    .iter()
                    .chain(g.asn.iter())
                    .map(|r| r as &dyn source::Refreshable),
            );
        }
        if let Some(t) = &self.threat_intel {
            sources.extend(t.lists.iter().map(|r| r as &dyn source::Refreshable));
        }
        if let Some(r) = self.accounts.as_ref().and_then(|a| a.file.as_ref()) {
            sources.push(r);
        }
        sources
    }

    /// Loads every source that changed since it was last loaded.
    pub async fn refresh(&self) {
        for s in self.sources() {
            s.refresh(&self.fetcher).await;
        }
    }

    /// Checks the sources every `enrich.reload_interval_secs` and swaps in
    /// what changed, until the future is dropped. Returns at once when there
    /// is nothing to watch.
    pub async fn watch(self: Arc<Self>) {
        let Some(interval) = self.reload_interval.filter(|_| !self.sources().is_empty()) else {
            return;
        };
        loop {
            tokio::time::sleep(interval).await;
            self.refresh().await;
        }
    }
}

/// What the enrichers read in the documents of one log type: every field
/// any of them reads (an address for GeoIP and direction, a value threat
/// intelligence looks up, a value for `related.*`), each read once per
/// document however many enrichers want it, and only those the log type's
/// documents can hold ([`LogType::ecs_fields`]).
/// Fields are read before any enricher writes, and enrichers write beside
/// the document ([`Additions`]): what one enricher adds is never read by
/// another. Looking for a field is not free,
/// absent or not: each step is a search of a `serde_json` map (declaring its
/// top-level objects took VPC Flow enrichment from +78% to +63% of a
/// record's time, declaring its fields from +26% to +22%).
/// Made once per object, for the enrichers that are on.
#[derive(Debug)]
pub struct Scope {
    reads: fields::Paths<Uses>,
    /// Whether the documents can hold `user_agent.original`.
    user_agent: bool,
}

/// What the values of one path are for.
#[derive(Debug, Clone, Copy, Default)]
struct Uses {
    /// `<side>.ip`: the side's address, for GeoIP and direction.
    side: Option<&'static str>,
    /// A value threat intelligence looks up, with its place in
    /// [`threat_intel::fields`] (the order of its matches).
    threat: Option<(threat_intel::Kind, u16)>,
    /// A value for `related.*` (the index of its field), with its place in
    /// [`related::sources`] (the order of its values).
    related: Option<(usize, u16)>,
}

/// What [`Scope::read`] found in one document.
#[derive(Default)]
struct Read<'a> {
    addresses: Addresses,
    candidates: Vec<threat_intel::Candidate<'a>>,
    related: related::Found<'a>,
}

impl Scope {
    /// What `enrichers` read in documents of `log_type`.
    pub fn of(log_type: &dyn LogType, enrichers: &Enrichers) -> Scope {
        Scope::under(log_type.ecs_fields(), enrichers)
    }

    fn under(fields: Option<&[&str]>, enrichers: &Enrichers) -> Scope {
        let mut reads: Vec<(Uses, String)> = Vec::new();
        let mut read = |path: String, uses: &dyn Fn(&mut Uses)| match reads
            .iter_mut()
            .find(|(_, p)| *p == path)
        {
            Some((u, _)) => uses(u),
            None => {
                let mut u = Uses::default();
                uses(&mut u);
                reads.push((u, path));
            }
        };
        if enrichers.geoip.is_some() || enrichers.direction.is_some() {
            for side in geoip::sides(fields) {
                read(format!("{side}.ip"), &|u| u.side = Some(side));
            }
        }
        if enrichers.threat_intel.is_some() {
            for (order, (kind, path)) in threat_intel::fields().enumerate() {
                read(path.to_owned(), &|u| u.threat = Some((kind, order as u16)));
            }
        }
        if enrichers.related {
            for (order, (target, path)) in related::sources().enumerate() {
                read(path, &|u| u.related = Some((target, order as u16)));
            }
        }
        Scope {
            user_agent: fields.is_none_or(|f| {
                f.iter()
                    .any(|p| *p == "user_agent" || *p == "user_agent.original")
            }),
            reads: fields::Paths::tagged(reads, fields),
        }
    }

    /// Every value of `doc` an enricher reads, each consumer's in its own order.
    fn read<'a>(&'a self, doc: &'a Map<String, Value>) -> Read<'a> {
        let mut read = Read::default();
        let values = self.reads.values(doc);
        let strings = values.flat_map(|(uses, field, v)| {
            fields::strings_of(Some(v))
                .map(move |s| (uses, field, s, matches!(v, Value::String(_))))
        });
        for (uses, field, value, alone) in strings {
            let is_ip =
                uses.side.is_some() || matches!(uses.threat, Some((threat_intel::Kind::Ip, _)));
            let ip = is_ip.then(|| value.parse::<IpAddr>().ok()).flatten();
            // A side's address is a string, as for [`Addresses::of`]; not one of an array.
            if let (Some(side), Some(ip), true) = (uses.side, ip, alone) {
                read.addresses.add(side, ip);
            }
            if let Some((kind, order)) = uses.threat {
                let ip = ip.filter(|_| matches!(kind, threat_intel::Kind::Ip));
                read.candidates.push(threat_intel::Candidate {
                    field,
                    value,
                    kind,
                    ip,
                    order,
                });
            }
            if let Some((target, order)) = uses.related {
                read.related[target].push((order, value));
            }
        }
        // Stable: the values of one field keep their order.
        read.candidates.sort_by_key(|c| c.order);
        for values in &mut read.related {
            values.sort_by_key(|(order, _)| *order);
        }
        read
    }
}

/// The address of each side of a document (`source.ip`, `destination.ip`,
/// `client.ip`, `server.ip`) that holds one, parsed once for GeoIP and
/// direction.
#[derive(Debug, Default, Clone, Copy)]
pub struct Addresses([Option<(&'static str, IpAddr)>; 4]);

impl Addresses {
    /// The addresses of `sides` (at most four) in `doc`: `<side>.ip` when it
    /// is a string that parses (ECS addresses are single values).
    pub fn of(doc: &Map<String, Value>, sides: &[&'static str]) -> Addresses {
        debug_assert!(sides.len() <= 4, "a document has four sides");
        let mut found = [None; 4];
        for (slot, side) in found.iter_mut().zip(sides) {
            let text = doc
                .get(*side)
                .and_then(|s| s.get("ip"))
                .and_then(Value::as_str);
            *slot = text.and_then(|t| t.parse().ok()).map(|ip| (*side, ip));
        }
        Addresses(found)
    }

    /// Each side that has an address, with it.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, IpAddr)> + '_ {
        self.0.iter().flatten().copied()
    }

    /// Sets `side`'s address, unless it has one.
    fn add(&mut self, side: &'static str, ip: IpAddr) {
        if self.of_side(side).is_none()
            && let Some(slot) = self.0.iter_mut().find(|s| s.is_none())
        {
            *slot = Some((side, ip));
        }
    }

    pub fn of_side(&self, side: &str) -> Option<IpAddr> {
        self.iter().find(|(s, _)| *s == side).map(|(_, ip)| ip)
    }
}

/// `siem_enrichments_total{enricher, outcome}` and
/// `siem_enrichment_reloads_total{key, outcome}`, registered with the
/// pipeline's other metrics. Counters are resolved once: the per-record cost
/// is one atomic add, and only for a record that was enriched or failed.
pub(crate) mod metrics {
    use std::sync::LazyLock;

    use prometheus::{IntCounter, IntCounterVec, Opts};

    use crate::telemetry::METRICS;

    #[derive(Debug, Clone, Copy)]
    pub enum Enricher {
        Accounts = 0,
        GeoIp = 1,
        Direction = 2,
        ThreatIntel = 3,
        Related = 4,
        UserAgent = 5,
    }

    const NAMES: [&str; 6] = [
        "accounts",
        "geoip",
        "network_direction",
        "threat_intel",
        "related",
        "user_agent",
    ];

    struct Counters {
        enriched: Vec<IntCounter>,
        errors: Vec<IntCounter>,
        reloads: IntCounterVec,
    }

    fn register(name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
        let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric definition");
        // Registered once per process (LazyLock); a second registry user
        // would be a programming error caught by the tests.
        let _ = METRICS.registry.register(Box::new(c.clone()));
        c
    }

    static COUNTERS: LazyLock<Counters> = LazyLock::new(|| {
        let records = register(
            "siem_enrichments_total",
            "Documents an enricher added fields to (enriched) or whose lookup failed (error).",
            &["enricher", "outcome"],
        );
        let reloads = register(
            "siem_enrichment_reloads_total",
            "Loads of enrichment data (GeoIP databases, indicator lists, account names) by config key.",
            &["key", "outcome"],
        );
        Counters {
            enriched: NAMES
                .iter()
                .map(|n| records.with_label_values(&[n, "enriched"]))
                .collect(),
            errors: NAMES
                .iter()
                .map(|n| records.with_label_values(&[n, "error"]))
                .collect(),
            reloads,
        }
    });

    pub fn count(enricher: Enricher, outcome: super::Outcome) {
        if outcome.enriched {
            COUNTERS.enriched[enricher as usize].inc();
        }
        if outcome.errors > 0 {
            COUNTERS.errors[enricher as usize].inc_by(u64::from(outcome.errors));
        }
    }

    pub fn reload(key: &str, outcome: &str) {
        COUNTERS.reloads.with_label_values(&[key, outcome]).inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A document with values for every enricher, some in fields several of
    /// them read.
    fn finding() -> Map<String, Value> {
        json!({
            "source": {"ip": "203.0.113.5", "domain": "c2.evil.example", "user": {"name": "alice"}},
            "destination": {"ip": "10.0.0.1"},
            "host": {"ip": ["10.0.0.1", "10.0.0.2"], "hostname": "web-1", "name": "web-1"},
            "dns": {"question": {"name": "evil.example"}},
            "file": {"hash": {"sha256": "ab12", "sha384": "ef56", "md5": "cd34"}},
            "process": {"hash": {"sha256": "ab12"}},
        })
        .as_object()
        .cloned()
        .expect("object")
    }

    fn intel() -> threat_intel::ThreatIntel {
        let text = "203.0.113.0/24\nevil.example\nab12\n";
        let list = indicators::parse(text, indicators::ListFormat::Text)
            .expect("list")
            .indicators;
        threat_intel::ThreatIntel {
            lists: vec![source::Reloadable::fixed(
                "t",
                threat_intel::IndicatorList::new("feed", list),
            )],
        }
    }

    #[test]
    fn each_field_read_once_for_all_enrichers_gives_what_each_enricher_alone_gives() {
        let mut alone = finding();
        intel().enrich(&mut alone);
        related::enrich(&mut alone);
        let mut together = finding();
        Enrichers::from_parts(None, None, None, Some(intel()), true).enrich(&mut together);
        assert_eq!(
            together["related"], alone["related"],
            "related values keep their order"
        );
        assert_eq!(
            together["threat"], alone["threat"],
            "matches keep their order"
        );
        assert_eq!(
            together["related"]["hosts"],
            json!(["web-1", "evil.example", "c2.evil.example"])
        );
        assert_eq!(
            together["threat"]["enrichments"].as_array().map(Vec::len),
            Some(3)
        );
    }

    fn direction() -> direction::Direction {
        direction::Direction {
            internal: vec![net::Cidr::parse("10.0.0.0/8").expect("cidr")],
        }
    }

    #[test]
    fn every_field_any_enricher_reads_fits_one_pass() {
        // Paths::tagged refuses lists spanning more roots than it reads at once.
        let all = Enrichers::from_parts(None, None, Some(direction()), Some(intel()), true);
        Scope::under(None, &all);
    }

    #[test]
    fn only_the_fields_a_log_type_declares_are_read() {
        let all = Enrichers::from_parts(None, None, Some(direction()), Some(intel()), true);
        let vpcflow = crate::log_types::by_name("vpcflow").expect("log type");
        let (scope, doc) = (Scope::of(vpcflow, &all), finding());
        let read: Vec<&str> = scope.reads.values(&doc).map(|(_, path, _)| path).collect();
        assert!(
            read.contains(&"source.ip") && read.contains(&"destination.ip"),
            "{read:?}"
        );
        for never in [
            "source.domain",
            "source.user.name",
            "host.ip",
            "dns.question.name",
            "file.hash.sha256",
        ] {
            assert!(!read.contains(&never), "a flow has no {never}: {read:?}");
        }
        assert_eq!(
            geoip::sides(vpcflow.ecs_fields()),
            ["source", "destination"]
        );
    }

    #[test]
    fn a_side_address_is_a_single_string_not_one_of_an_array() {
        let enrichers = Enrichers::from_parts(None, None, Some(direction()), None, false);
        let mut doc =
            json!({"source": {"ip": ["junk", "198.51.100.7"]}, "destination": {"ip": "10.0.0.1"}})
                .as_object()
                .cloned()
                .expect("object");
        let before = doc.clone();
        enrichers.enrich(&mut doc);
        assert_eq!(doc, before);
    }
}
