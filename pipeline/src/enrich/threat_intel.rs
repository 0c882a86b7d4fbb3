//! Threat intelligence: addresses, domains and file hashes of a document
//! matched against indicator lists; a match adds an entry to
//! `threat.enrichments` (with `matched.type: indicator_match_rule`) and, for
//! the first match, fills `threat.indicator.*` unless the log set it.
//!
//! Lookups cost the same whatever a list's size ([`IndicatorList`]): hash
//! sets for domains (walking up parent domains) and hashes, and for CIDR
//! blocks one hash set per prefix length present, probed from the longest
//! prefix down — at most 33 (IPv4) or 129 (IPv6) probes, in practice a few —
//! so the most specific block wins.
//!
//! Never removes an enrichment the log type set, and never reports the same
//! list matching the same value twice in one document.

use std::borrow::Cow;
use std::net::IpAddr;
use std::path::Path;
use std::sync::LazyLock;

use serde_json::{Map, Value};

use super::Outcome;
use super::additions::{Additions, Json, push_str, vacant};
use super::fields::{ADDRESS_FIELDS, DOMAIN_FIELDS, Paths, get, set};
use super::indicators::{self, Atom, Indicator, ListFormat};
use super::net::{mask_v4, mask_v6};
use super::source::Reloadable;

/// The maps of a list: probed for every value of every record, with keys
/// of a few bytes, where std's SipHash costs more than the probe. `foldhash`
/// is seeded per process, so a log cannot choose colliding values.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// One list, indexed for lookups.
#[derive(Debug, Default)]
pub struct IndicatorList {
    pub provider: String,
    indicators: Vec<Indicator>,
    /// `(prefix length, masked network → indicator)`, longest prefix first.
    v4: Vec<(u8, HashMap<u32, u32>)>,
    v6: Vec<(u8, HashMap<u128, u32>)>,
    domains: HashMap<String, u32>,
    hashes: HashMap<String, u32>,
}

impl IndicatorList {
    pub fn new(provider: impl Into<String>, indicators: Vec<Indicator>) -> IndicatorList {
        let mut list = IndicatorList {
            provider: provider.into(),
            ..Default::default()
        };
        let mut v4: HashMap<u8, HashMap<u32, u32>> = HashMap::default();
        let mut v6: HashMap<u8, HashMap<u128, u32>> = HashMap::default();
        for (i, indicator) in indicators.iter().enumerate() {
            let i = i as u32;
            match &indicator.atom {
                Atom::Ip(cidr) => match cidr.network() {
                    IpAddr::V4(a) => {
                        v4.entry(cidr.prefix_len())
                            .or_default()
                            .entry(u32::from(a))
                            .or_insert(i);
                    }
                    IpAddr::V6(a) => {
                        v6.entry(cidr.prefix_len())
                            .or_default()
                            .entry(u128::from(a))
                            .or_insert(i);
                    }
                },
                Atom::Domain(d) => {
                    list.domains.entry(d.clone()).or_insert(i);
                }
                Atom::Hash(_, h) => {
                    list.hashes.entry(h.clone()).or_insert(i);
                }
            }
        }
        list.v4 = v4.into_iter().collect();
        list.v4.sort_by_key(|(len, _)| std::cmp::Reverse(*len));
        list.v6 = v6.into_iter().collect();
        list.v6.sort_by_key(|(len, _)| std::cmp::Reverse(*len));
        list.indicators = indicators;
        list
    }

    /// Reads a list file.
    pub fn load(path: &Path, format: ListFormat, provider: &str) -> Result<IndicatorList, String> {
        let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
        let parsed = indicators::parse(&text, format)?;
        tracing::info!(
            provider,
            indicators = parsed.indicators.len(),
            skipped = parsed.skipped,
            "indicator list read"
        );
        Ok(IndicatorList::new(provider, parsed.indicators))
    }

    pub fn len(&self) -> usize {
        self.indicators.len()
    }

    pub fn is_empty(&self) -> bool {
        self.indicators.is_empty()
    }

    pub fn lookup_ip(&self, ip: IpAddr) -> Option<&Indicator> {
        let found = match ip.to_canonical() {
            IpAddr::V4(a) => {
                let bits = u32::from(a);
                self.v4
                    .iter()
                    .find_map(|(len, set)| set.get(&mask_v4(bits, *len)))
            }
            IpAddr::V6(a) => {
                let bits = u128::from(a);
                self.v6
                    .iter()
                    .find_map(|(len, set)| set.get(&mask_v6(bits, *len)))
            }
        };
        found.map(|i| &self.indicators[*i as usize])
    }

    /// `a.b.evil.example` matches a listed `evil.example`.
    pub fn lookup_domain(&self, name: &str) -> Option<&Indicator> {
        if self.domains.is_empty() {
            return None;
        }
        let name = lowercase(name.trim_end_matches('.'));
        let mut d: &str = &name;
        loop {
            if let Some(i) = self.domains.get(d) {
                return Some(&self.indicators[*i as usize]);
            }
            d = &d[d.find('.')? + 1..];
        }
    }

    pub fn lookup_hash(&self, hash: &str) -> Option<&Indicator> {
        if self.hashes.is_empty() {
            return None;
        }
        self.hashes
            .get(lowercase(hash).as_ref())
            .map(|i| &self.indicators[*i as usize])
    }
}

fn lowercase(s: &str) -> Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(s.to_ascii_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

/// The hash fields looked up in the lists (`related.hash` gathers more kinds,
/// for another purpose: [`super::related`]).
const HASH_FIELDS: &[&str] = &[
    "file.hash.md5",
    "file.hash.sha1",
    "file.hash.sha256",
    "file.hash.sha512",
    "process.hash.md5",
    "process.hash.sha1",
    "process.hash.sha256",
    "process.hash.sha512",
    "dll.hash.sha256",
    // GuardDuty's malware scans name their hashes only here.
    "related.hash",
];

/// Every field read, in order, with the kind of indicator it may hold.
pub(super) fn fields() -> impl Iterator<Item = (Kind, &'static str)> {
    let fields = [
        (Kind::Ip, ADDRESS_FIELDS),
        (Kind::Domain, DOMAIN_FIELDS),
        (Kind::Hash, HASH_FIELDS),
    ];
    fields
        .into_iter()
        .flat_map(|(kind, paths)| paths.iter().map(move |p| (kind, *p)))
}

/// The fields read, by kind of indicator.
#[derive(Debug)]
pub struct Fields(Paths<Kind>);

impl Fields {
    /// The fields within `fields` (every field for `None`).
    pub fn under(within: Option<&[&str]>) -> Fields {
        Fields(Paths::tagged(fields(), within))
    }
}

#[derive(Debug, Clone, Copy)]
pub(super) enum Kind {
    Ip,
    Domain,
    Hash,
}

/// A value of a document that a list may hold: read once per document,
/// looked up in every list.
#[derive(Debug)]
pub(super) struct Candidate<'a> {
    pub field: &'a str,
    pub value: &'a str,
    pub kind: Kind,
    /// Parsed once, for [`Kind::Ip`].
    pub ip: Option<IpAddr>,
    /// The place of `field` in [`fields`].
    pub order: u16,
}

/// The threat-intelligence enricher: every configured list.
#[derive(Debug, Default)]
pub struct ThreatIntel {
    pub lists: Vec<Reloadable<IndicatorList>>,
}

impl ThreatIntel {
    /// Matches every field listed here. (The pipeline reads the fields once
    /// for every enricher, `Scope::read`, and calls `ThreatIntel::matches`.)
    pub fn enrich(&self, doc: &mut Map<String, Value>) -> Outcome {
        static ALL: LazyLock<Fields> = LazyLock::new(|| Fields::under(None));
        let candidates: Vec<Candidate> = ALL
            .0
            .strings(doc)
            .map(|(kind, field, value)| Candidate {
                field,
                value,
                kind,
                ip: matches!(kind, Kind::Ip)
                    .then(|| value.parse().ok())
                    .flatten(),
                // Read in order: one place for all.
                order: 0,
            })
            .collect();
        let found = self.matches(&candidates);
        let mut added = Additions::default();
        let outcome = add(doc, found, &mut added);
        added.apply(doc);
        outcome
    }

    /// The entries `candidates`, in order, make in every list.
    pub(super) fn matches(&self, candidates: &[Candidate]) -> Vec<Enrichment> {
        let mut found: Vec<Enrichment> = Vec::new();
        if candidates.is_empty() {
            return found;
        }
        for list in &self.lists {
            let snapshot = list.get();
            let Some(list) = snapshot.as_deref() else {
                continue;
            };
            // One entry per value and list, whichever fields hold the value.
            let mut matched: Vec<&str> = Vec::new();
            for c in candidates {
                let indicator = match c.kind {
                    Kind::Ip => c.ip.and_then(|ip| list.lookup_ip(ip)),
                    Kind::Domain => list.lookup_domain(c.value),
                    Kind::Hash => list.lookup_hash(c.value),
                };
                let Some(indicator) = indicator else { continue };
                if !matched.iter().any(|a| a.eq_ignore_ascii_case(c.value)) {
                    matched.push(c.value);
                    found.push(Enrichment::render(
                        &list.provider,
                        indicator,
                        c.field,
                        c.value,
                    ));
                }
            }
        }
        found
    }
}

/// Adds the entries `found` to `doc`: a document without
/// `threat.enrichments` gets it (and `threat.indicator`) in `added`; one
/// whose log set it has it appended to in place.
pub(super) fn add(
    doc: &mut Map<String, Value>,
    found: Vec<Enrichment>,
    added: &mut Additions,
) -> Outcome {
    if found.is_empty() {
        return Outcome::default();
    }
    if vacant(doc, "threat.enrichments") {
        if vacant(doc, "threat.indicator") {
            added.add(
                "threat.indicator",
                Json::Owned(found[0].indicator().to_vec()),
            );
        }
        let mut list =
            Vec::with_capacity(found.iter().map(|e| e.json.len() + 1).sum::<usize>() + 1);
        list.push(b'[');
        for (i, e) in found.iter().enumerate() {
            if i > 0 {
                list.push(b',');
            }
            list.extend_from_slice(&e.json);
        }
        list.push(b']');
        added.add("threat.enrichments", Json::Owned(list));
        return Outcome {
            enriched: true,
            errors: 0,
        };
    }
    // The log's own enrichments come first.
    let found: Vec<Value> = found
        .iter()
        .filter_map(|e| serde_json::from_slice(&e.json).ok())
        .collect();
    if get(doc, "threat.indicator").is_none()
        && let Some(first) = found.first().and_then(|e| e.get("indicator")).cloned()
    {
        set(doc, "threat.indicator", first);
    }
    let mut enrichments = match get(doc, "threat.enrichments") {
        Some(Value::Array(a)) => a.clone(),
        _ => Vec::new(),
    };
    enrichments.extend(found);
    Outcome {
        enriched: set(doc, "threat.enrichments", Value::Array(enrichments)),
        errors: 0,
    }
}

/// One `threat.enrichments` entry as JSON:
/// `{"indicator":{…},"matched":{"atomic":…,"field":…,"type":"indicator_match_rule"}}`.
#[derive(Debug)]
pub(super) struct Enrichment {
    json: Vec<u8>,
    /// Where the `indicator` object ends in `json`.
    indicator_end: usize,
}

impl Enrichment {
    const INDICATOR_START: usize = br#"{"indicator":"#.len();

    fn render(provider: &str, indicator: &Indicator, field: &str, atomic: &str) -> Enrichment {
        let mut out = Vec::with_capacity(192);
        out.extend_from_slice(br#"{"indicator":{"type":"#);
        match &indicator.atom {
            Atom::Ip(cidr) => {
                out.extend_from_slice(if cidr.network().is_ipv4() {
                    br#""ipv4-addr""#
                } else {
                    br#""ipv6-addr""#
                });
                // `indicator.ip` is an `ip` field: the address that matched, the
                // block itself is in `indicator.name`.
                out.extend_from_slice(br#","ip":"#);
                push_str(&mut out, atomic);
            }
            Atom::Domain(d) => {
                out.extend_from_slice(br#""domain-name","url":{"domain":"#);
                push_str(&mut out, d);
                out.push(b'}');
            }
            Atom::Hash(kind, h) => {
                out.extend_from_slice(br#""file","file":{"hash":{"#);
                push_str(&mut out, kind.field());
                out.push(b':');
                push_str(&mut out, h);
                out.extend_from_slice(b"}}");
            }
        }
        out.extend_from_slice(br#","provider":"#);
        push_str(&mut out, provider);
        out.extend_from_slice(br#","name":"#);
        push_str(&mut out, &indicator.name);
        let optional: [(&[u8], &Option<String>); 2] = [
            (br#","description":"#, &indicator.description),
            (br#","confidence":"#, &indicator.confidence),
        ];
        for (key, value) in optional {
            if let Some(value) = value {
                out.extend_from_slice(key);
                push_str(&mut out, value);
            }
        }
        out.push(b'}');
        let indicator_end = out.len();
        out.extend_from_slice(br#","matched":{"atomic":"#);
        push_str(&mut out, atomic);
        out.extend_from_slice(br#","field":"#);
        push_str(&mut out, field);
        out.extend_from_slice(br#","type":"indicator_match_rule"}}"#);
        Enrichment {
            json: out,
            indicator_end,
        }
    }

    /// The `indicator` object.
    fn indicator(&self) -> &[u8] {
        &self.json[Self::INDICATOR_START..self.indicator_end]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enrich::indicators::parse;
    use serde_json::json;

    const SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn list(provider: &str, text: &str) -> IndicatorList {
        IndicatorList::new(
            provider,
            parse(text, ListFormat::Text).expect("list").indicators,
        )
    }

    fn intel(lists: Vec<IndicatorList>) -> ThreatIntel {
        ThreatIntel {
            lists: lists
                .into_iter()
                .map(|l| Reloadable::fixed("threat_intel", l))
                .collect(),
        }
    }

    fn enriched(ti: &ThreatIntel, v: Value) -> Value {
        let mut d = v.as_object().cloned().expect("object");
        ti.enrich(&mut d);
        Value::Object(d)
    }

    #[test]
    fn addresses_then_domains_then_hashes_are_matched_in_the_order_of_their_fields() {
        let read: Vec<&str> = fields().map(|(_, path)| path).collect();
        assert_eq!(
            read[..11],
            [
                "source.ip",
                "destination.ip",
                "client.ip",
                "server.ip",
                "host.ip",
                "dns.question.name",
                "url.domain",
                "source.domain",
                "destination.domain",
                "client.domain",
                "server.domain",
            ]
        );
        assert_eq!(read[11..].first(), Some(&"file.hash.md5"));
        assert_eq!(read.last(), Some(&"related.hash"));
    }

    #[test]
    fn the_most_specific_block_containing_an_address_matches() {
        let l = list("feed", "203.0.113.0/24\n203.0.113.5\n2001:db8::/32\n");
        assert_eq!(
            l.lookup_ip("203.0.113.5".parse().expect("ip"))
                .map(|i| i.name.as_str()),
            Some("203.0.113.5")
        );
        assert_eq!(
            l.lookup_ip("203.0.113.6".parse().expect("ip"))
                .map(|i| i.name.as_str()),
            Some("203.0.113.0/24")
        );
        assert_eq!(
            l.lookup_ip("2001:db8:5::1".parse().expect("ip"))
                .map(|i| i.name.as_str()),
            Some("2001:db8::/32")
        );
        assert!(l.lookup_ip("203.0.114.1".parse().expect("ip")).is_none());
    }

    #[test]
    fn subdomains_of_a_listed_domain_match_and_case_does_not_matter() {
        let l = list("feed", "evil.example\n");
        assert!(l.lookup_domain("A.B.Evil.Example.").is_some());
        assert!(l.lookup_domain("notevil.example").is_none());
        assert!(l.lookup_domain("example").is_none());
    }

    #[test]
    fn a_matching_address_fills_threat_enrichments_and_the_first_indicator() {
        let ti = intel(vec![list("feodo", "203.0.113.0/24\n")]);
        let d = enriched(
            &ti,
            json!({"source": {"ip": "203.0.113.5"}, "destination": {"ip": "10.0.0.1"}}),
        );
        let expected = json!({
            "indicator": {"type": "ipv4-addr", "ip": "203.0.113.5", "provider": "feodo", "name": "203.0.113.0/24"},
            "matched": {"atomic": "203.0.113.5", "field": "source.ip", "type": "indicator_match_rule"}
        });
        assert_eq!(d["threat"]["enrichments"], json!([expected.clone()]));
        assert_eq!(d["threat"]["indicator"], expected["indicator"]);
    }

    #[test]
    fn domains_and_hashes_match_with_their_ecs_indicator_fields() {
        let ti = intel(vec![list("feed", &format!("evil.example\n{SHA256}\n"))]);
        let d = enriched(
            &ti,
            json!({"dns": {"question": {"name": "c2.evil.example"}}, "file": {"hash": {"sha256": SHA256.to_uppercase()}},
                   "related": {"hash": [SHA256]}}),
        );
        let e = d["threat"]["enrichments"].as_array().expect("enrichments");
        assert_eq!(
            e.len(),
            2,
            "the hash in related.hash is the one already matched: {e:?}"
        );
        assert_eq!(e[0]["indicator"]["url"]["domain"], "evil.example");
        assert_eq!(e[0]["matched"]["field"], "dns.question.name");
        assert_eq!(e[1]["indicator"]["file"]["hash"]["sha256"], SHA256);
        assert_eq!(e[1]["indicator"]["type"], "file");
    }

    #[test]
    fn every_list_that_matches_is_reported_and_log_supplied_threat_fields_are_kept() {
        let ti = intel(vec![
            list("a", "203.0.113.5\n"),
            list("b", "203.0.113.0/24\n"),
        ]);
        let d = enriched(
            &ti,
            json!({"source": {"ip": "203.0.113.5"}, "threat": {"indicator": {"type": "ipv4-addr", "provider": "guardduty"},
                   "enrichments": [{"matched": {"type": "vendor"}}]}}),
        );
        assert_eq!(d["threat"]["enrichments"].as_array().map(Vec::len), Some(3));
        assert_eq!(d["threat"]["indicator"]["provider"], "guardduty");
    }

    #[test]
    fn no_match_leaves_the_document_alone() {
        let ti = intel(vec![list("feed", "203.0.113.5\nevil.example\n")]);
        let v =
            json!({"source": {"ip": "10.0.0.1"}, "dns": {"question": {"name": "good.example"}}});
        assert_eq!(enriched(&ti, v.clone()), v);
    }

    #[test]
    fn a_list_swapped_while_another_thread_enriches_switches_over_cleanly() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, Ordering};
        let ti = Arc::new(intel(vec![list("v1", "203.0.113.5\n")]));
        let stop = Arc::new(AtomicBool::new(false));
        let reader = {
            let (ti, stop) = (ti.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut providers = std::collections::BTreeSet::new();
                while !stop.load(Ordering::Relaxed) {
                    let d = enriched(&ti, json!({"source": {"ip": "203.0.113.5"}}));
                    providers.insert(
                        d["threat"]["indicator"]["provider"]
                            .as_str()
                            .unwrap_or("none")
                            .to_owned(),
                    );
                }
                providers
            })
        };
        let until = std::time::Instant::now() + std::time::Duration::from_millis(100);
        let mut n = 0;
        while std::time::Instant::now() < until {
            ti.lists[0].replace(list(
                if n % 2 == 0 { "v2" } else { "v1" },
                "203.0.113.0/24\n",
            ));
            n += 1;
        }
        ti.lists[0].replace(list("v2", "203.0.113.0/24\n"));
        stop.store(true, Ordering::Relaxed);
        let seen = reader.join().expect("no panic while swapping");
        assert!(
            !seen.is_empty() && seen.iter().all(|p| p == "v1" || p == "v2"),
            "{seen:?}"
        );
        let d = enriched(&ti, json!({"source": {"ip": "203.0.113.5"}}));
        assert_eq!(
            d["threat"]["indicator"]["provider"], "v2",
            "after the swap only the new list answers"
        );
    }
}
