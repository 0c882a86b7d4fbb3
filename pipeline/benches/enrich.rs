//! What enrichment costs per record.
//!
//! - `enrich/normalize/<log type>/{off,on,on_few_matches}`: reading,
//!   normalizing and encoding an object of 2,000 records without enrichment
//!   and with every enricher on (GeoIP City and ASN, network direction, a
//!   100,000-indicator threat list, account names, related fields); `on` has
//!   every public address of the object on the threat list (the worst case:
//!   each match writes `threat.*`), `on_few_matches` one of them (0.4% of the
//!   flows). The target is at most 20 % more per record.
//! - `enrich/vpcflow_alone/<enricher>`: the same VPC object with one
//!   enricher on (GeoIP also with its cache off, every lookup a miss).
//! - `enrich/public_flow/<enricher>`: one public flow document enriched;
//!   the documents of a batch are cold in the CPU cache, which makes these
//!   figures higher than the share of a whole object.
//! - `enrich/threat_intel/{10,1000000}`: matching one document (two
//!   addresses, a domain, a hash) against a list of 10 and of 1,000,000
//!   indicators: the cost must not grow with the list.
//!
//! `cargo bench -p siem-pipeline --bench enrich` (add `-- --quick` for a short run);
//! `SIEM_ENRICH_RATIO=120 cargo bench -p siem-pipeline --bench enrich` prints
//! the enrichment overhead measured in alternation instead (steadier on a
//! machine whose speed drifts), for every enricher on and for each alone;
//! `SIEM_ENRICH_ONLY=vpcflow/on` limits it to the variants whose
//! `<log type>/<variant>` name starts so.

use std::hint::black_box;
use std::ops::ControlFlow;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group};
use serde_json::{Map, Value, json};
use siem_pipeline::config::IndexRotation;
use siem_pipeline::document::{IndexNaming, ObjectIdentity};
use siem_pipeline::enrich::accounts::Accounts;
use siem_pipeline::enrich::direction::Direction;
use siem_pipeline::enrich::geoip::{DEFAULT_CACHE_ENTRIES, Database, GeoIp};
use siem_pipeline::enrich::indicators::{Atom, HashKind, Indicator};
use siem_pipeline::enrich::net::Cidr;
use siem_pipeline::enrich::source::Reloadable;
use siem_pipeline::enrich::threat_intel::{IndicatorList, ThreatIntel};
use siem_pipeline::enrich::{Additions, Enrichers};
use siem_pipeline::log_types;
use siem_pipeline::pipeline::{Limits, ObjectMeta, read_object_enriched};

/// The allocator the `siem-pipeline` binary runs with, so that figures match production.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const RECORDS: usize = 2000;

/// A deterministic stream of pseudo-random numbers (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// `n` indicators: a third addresses (mostly /32, some /24), a third
/// domains, a third SHA-256 hashes.
fn indicators(n: usize) -> Vec<Indicator> {
    let mut rng = Rng(0x5eed_0000_0001);
    (0..n)
        .map(|i| {
            let r = rng.next();
            let (atom, name) = match i % 3 {
                0 => {
                    let ip = std::net::Ipv4Addr::from((r >> 8) as u32);
                    let text = if i % 30 == 0 {
                        format!("{ip}/24")
                    } else {
                        ip.to_string()
                    };
                    (Atom::Ip(Cidr::parse(&text).expect("cidr")), text)
                }
                1 => {
                    let d = format!("h{r:x}.example");
                    (Atom::Domain(d.clone()), d)
                }
                _ => {
                    let h = format!(
                        "{r:016x}{:016x}{:016x}{:016x}",
                        rng.next(),
                        rng.next(),
                        rng.next()
                    );
                    (Atom::Hash(HashKind::Sha256, h.clone()), h)
                }
            };
            Indicator {
                atom,
                name,
                description: None,
                confidence: None,
            }
        })
        .collect()
}

/// `n` indicators and `listed`: the benchmark documents' public sources are
/// in 203.0.113.0/24 (a match is the expensive path: it writes
/// `threat.enrichments` and `threat.indicator`).
fn threat_intel_listing(n: usize, listed: &str) -> ThreatIntel {
    let mut list = indicators(n);
    list.push(Indicator {
        atom: Atom::Ip(Cidr::parse(listed).expect("cidr")),
        name: listed.into(),
        description: None,
        confidence: None,
    });
    ThreatIntel {
        lists: vec![Reloadable::fixed(
            "bench",
            IndicatorList::new("bench feed", list),
        )],
    }
}

/// Every public source of the benchmark documents listed.
fn threat_intel(n: usize) -> ThreatIntel {
    threat_intel_listing(n, "203.0.113.0/24")
}

/// City and ASN databases with a few thousand networks, all of 203.0.113.0/24 included.
fn geoip() -> GeoIp {
    geoip_caching(DEFAULT_CACHE_ENTRIES)
}

/// [`geoip`], keeping the answers for `cached` addresses.
fn geoip_caching(cached: usize) -> GeoIp {
    let mut city = mmdb_writer::Writer::new("GeoLite2-City");
    let mut asn = mmdb_writer::Writer::new("GeoLite2-ASN");
    let mut rng = Rng(42);
    let mut nets: Vec<ipnet::IpNet> = (0..5000)
        .map(|_| {
            format!("{}/24", std::net::Ipv4Addr::from(rng.next() as u32))
                .parse()
                .expect("net")
        })
        .collect();
    nets.push("203.0.113.0/24".parse().expect("net"));
    nets.push("198.51.100.0/24".parse().expect("net"));
    for (i, net) in nets.into_iter().enumerate() {
        let record = json!({
            "city": {"names": {"en": format!("City {i}"), "de": "Stadt", "fr": "Ville", "ja": "市"}},
            "continent": {"code": "EU", "names": {"en": "Europe", "de": "Europa"}},
            "country": {"iso_code": "NL", "names": {"en": "Netherlands", "de": "Niederlande"}},
            "subdivisions": [{"iso_code": "NH", "names": {"en": "North Holland"}}],
            "location": {"latitude": 52.37, "longitude": 4.9, "time_zone": "Europe/Amsterdam", "accuracy_radius": 20},
            "postal": {"code": "1012"}
        });
        city.insert(net, &record).expect("city");
        asn.insert(
            net,
            &json!({"autonomous_system_number": 64500 + (i as u64 % 1000), "autonomous_system_organization": "Example Transit"}),
        )
        .expect("asn");
    }
    GeoIp {
        city: Some(Reloadable::fixed(
            "c",
            Database::from_bytes(city.to_bytes().expect("db"), cached).expect("db"),
        )),
        asn: Some(Reloadable::fixed(
            "a",
            Database::from_bytes(asn.to_bytes().expect("db"), cached).expect("db"),
        )),
    }
}

fn all_enrichers() -> Enrichers {
    all_enrichers_with(threat_intel(100_000))
}

fn all_enrichers_with(threat_intel: ThreatIntel) -> Enrichers {
    Enrichers::from_parts(
        Some(Accounts {
            configured: [("123456789012".to_owned(), "production".to_owned())]
                .into_iter()
                .collect(),
            file: None,
        }),
        Some(geoip()),
        Some(Direction {
            internal: ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]
                .iter()
                .map(|c| Cidr::parse(c).expect("cidr"))
                .collect(),
        }),
        Some(threat_intel),
        true,
    )
}

/// VPC flows, half from public addresses (looked up), half internal.
fn vpc_object() -> Vec<u8> {
    let mut out = String::from(
        "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n",
    );
    for i in 0..RECORDS {
        let src = if i % 2 == 0 {
            format!("203.0.113.{}", i % 250)
        } else {
            format!("10.0.{}.{}", i % 200, i % 250)
        };
        out.push_str(&format!(
            "2 123456789012 eni-0a1b2c3d {src} 10.0.0.5 {} 443 6 10 840 1795000000 1795000060 ACCEPT OK\n",
            40000 + i % 20000
        ));
    }
    out.into_bytes()
}

fn guardduty_object() -> Vec<u8> {
    let dir =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/guardduty");
    let text = std::fs::read_to_string(dir.join("ec2-network.jsonl")).expect("fixture");
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let mut out = String::new();
    for i in 0..RECORDS {
        out.push_str(lines[i % lines.len()]);
        out.push('\n');
    }
    out.into_bytes()
}

fn read(object: &[u8], log_type: &str, key: &str, enrichers: &Enrichers) -> u64 {
    let log_type = log_types::by_name(log_type).expect("log type");
    let naming = IndexNaming {
        prefix: "siem".into(),
        rotation: IndexRotation::Monthly,
    };
    let identity = ObjectIdentity {
        bucket: "b".into(),
        key: key.into(),
        version: "v".into(),
        written_at: None,
    };
    let mut bytes = 0u64;
    let summary = read_object_enriched(
        object,
        &ObjectMeta::default(),
        &identity,
        log_type,
        &naming,
        Limits::default(),
        enrichers,
        &mut |r| {
            if let Ok(r) = r {
                bytes += r.bulk.len() as u64;
            }
            ControlFlow::Continue(())
        },
    );
    assert_eq!(summary.documents, RECORDS as u64);
    bytes
}

fn normalize_with_and_without_enrichment(c: &mut Criterion) {
    let on = all_enrichers();
    let off = Enrichers::none();
    // Matches are rare in practice: here 8 flows in 2,000 (0.4%).
    let few_matches = all_enrichers_with(threat_intel_listing(100_000, "203.0.113.8/32"));
    let objects = [
        (
            "vpcflow",
            "AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/11/28/x.log",
            vpc_object(),
        ),
        (
            "guardduty",
            "AWSLogs/123456789012/GuardDuty/us-east-1/2026/11/28/x.jsonl",
            guardduty_object(),
        ),
    ];
    let mut group = c.benchmark_group("enrich/normalize");
    group.throughput(Throughput::Elements(RECORDS as u64));
    for (log_type, key, object) in &objects {
        group.bench_function(format!("{log_type}/off"), |b| {
            b.iter(|| black_box(read(object, log_type, key, &off)))
        });
        group.bench_function(format!("{log_type}/on"), |b| {
            b.iter(|| black_box(read(object, log_type, key, &on)))
        });
        group.bench_function(format!("{log_type}/on_few_matches"), |b| {
            b.iter(|| black_box(read(object, log_type, key, &few_matches)))
        });
    }
    group.finish();
}

/// Every enricher on its own, named.
fn each_enricher() -> [(&'static str, Enrichers); 5] {
    [
        (
            "geoip",
            Enrichers::from_parts(None, Some(geoip()), None, None, false),
        ),
        // Every lookup a miss: the object's public flows come from 125 addresses.
        (
            "geoip_uncached",
            Enrichers::from_parts(None, Some(geoip_caching(0)), None, None, false),
        ),
        (
            "threat_intel",
            Enrichers::from_parts(None, None, None, Some(threat_intel(100_000)), false),
        ),
        (
            "related",
            Enrichers::from_parts(None, None, None, None, true),
        ),
        (
            "direction_accounts",
            Enrichers::from_parts(
                Some(Accounts {
                    configured: [("123456789012".to_owned(), "production".to_owned())]
                        .into_iter()
                        .collect(),
                    file: None,
                }),
                None,
                Some(Direction {
                    internal: vec![Cidr::parse("10.0.0.0/8").expect("cidr")],
                }),
                None,
                false,
            ),
        ),
    ]
}

/// Each enricher alone on the VPC flows, to see where the time goes.
fn each_enricher_alone(c: &mut Criterion) {
    let key = "AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/11/28/x.log";
    let object = vpc_object();
    let alone = each_enricher();
    let mut group = c.benchmark_group("enrich/vpcflow_alone");
    group.throughput(Throughput::Elements(RECORDS as u64));
    for (name, enrichers) in &alone {
        group.bench_function(*name, |b| {
            b.iter(|| black_box(read(&object, "vpcflow", key, enrichers)))
        });
    }
    group.finish();
}

fn threat_intel_lookup_cost_does_not_grow_with_the_list(c: &mut Criterion) {
    let document: Map<String, Value> = json!({
        "source": {"ip": "203.0.113.5"},
        "destination": {"ip": "198.51.100.77"},
        "dns": {"question": {"name": "a.b.c.d.not-listed.example"}},
        "file": {"hash": {"sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}}
    })
    .as_object()
    .cloned()
    .expect("object");
    let mut group = c.benchmark_group("enrich/one_document");
    let (geo, on) = (geoip(), all_enrichers());
    group.bench_function("geoip", |b| {
        b.iter_batched_ref(
            || document.clone(),
            |doc| black_box(geo.enrich(doc)),
            criterion::BatchSize::SmallInput,
        )
    });
    // A finding's log type reads every field, as `Enrichers::enrich` does,
    // with the scope made once as the pipeline makes it once per object.
    let everything =
        siem_pipeline::enrich::Scope::of(log_types::by_name("guardduty").expect("log type"), &on);
    group.bench_function("all", |b| {
        b.iter_batched_ref(
            || (document.clone(), Additions::default()),
            |(doc, added)| on.enrich_in(&everything, doc, added),
            criterion::BatchSize::SmallInput,
        )
    });
    group.finish();
    // One public flow, as the VPC Flow Logs normalizer makes it.
    let flow: Map<String, Value> = {
        let log_type = log_types::by_name("vpcflow").expect("log type");
        let line = vpc_object();
        let mut lines = std::str::from_utf8(&line).expect("text").lines();
        let mut normalizer = log_type.normalizer();
        let mut out = Vec::new();
        for l in lines.by_ref().take(2) {
            out.clear();
            normalizer.normalize(l.as_bytes(), &mut out).expect("flow");
        }
        out.pop().expect("document").document
    };
    let vpcflow = log_types::by_name("vpcflow").expect("log type");
    let mut group = c.benchmark_group("enrich/public_flow");
    for (name, enrichers) in each_enricher()
        .iter()
        .chain([("all", all_enrichers())].iter())
    {
        let scope = siem_pipeline::enrich::Scope::of(vpcflow, enrichers);
        group.bench_function(*name, |b| {
            b.iter_batched_ref(
                || (flow.clone(), Additions::default()),
                |(doc, added)| enrichers.enrich_in(&scope, doc, added),
                criterion::BatchSize::SmallInput,
            )
        });
    }
    group.finish();
    let mut group = c.benchmark_group("enrich/threat_intel");
    group.throughput(Throughput::Elements(1));
    for n in [10, 1_000_000] {
        let ti = threat_intel(n);
        group.bench_function(n.to_string(), |b| {
            b.iter_batched_ref(
                || document.clone(),
                |doc| black_box(ti.enrich(doc)),
                criterion::BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1)).sample_size(20);
    targets = normalize_with_and_without_enrichment, each_enricher_alone, threat_intel_lookup_cost_does_not_grow_with_the_list
}
/// `SIEM_ENRICH_RATIO=<rounds>`: instead of the criterion benches, reads each
/// object without and with enrichment in alternation, `rounds` times, and
/// prints the median of the per-round ratios. On a machine whose speed
/// drifts (shared or virtual CPUs), this ratio is steadier than two
/// separately measured times.
fn interleaved_ratios(rounds: usize) {
    let off = Enrichers::none();
    let on = all_enrichers();
    let few_matches = all_enrichers_with(threat_intel_listing(100_000, "203.0.113.8/32"));
    let objects = [
        (
            "vpcflow",
            "AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/11/28/x.log",
            vpc_object(),
        ),
        (
            "guardduty",
            "AWSLogs/123456789012/GuardDuty/us-east-1/2026/11/28/x.jsonl",
            guardduty_object(),
        ),
    ];
    let time = |object: &[u8], log_type: &str, key: &str, enrichers: &Enrichers| {
        let start = std::time::Instant::now();
        black_box(read(object, log_type, key, enrichers));
        start.elapsed().as_secs_f64()
    };
    let only = std::env::var("SIEM_ENRICH_ONLY").unwrap_or_default();
    for (log_type, key, object) in &objects {
        let alone = each_enricher();
        let variants = [("on", &on), ("on_few_matches", &few_matches)]
            .into_iter()
            .chain(alone.iter().map(|(name, e)| (*name, e)));
        for (variant, enrichers) in
            variants.filter(|(v, _)| format!("{log_type}/{v}").starts_with(&only))
        {
            let (mut bases, mut ratios): (Vec<f64>, Vec<f64>) = (0..rounds)
                .map(|_| {
                    let base = time(object, log_type, key, &off);
                    (base, time(object, log_type, key, enrichers) / base)
                })
                .unzip();
            bases.sort_by(f64::total_cmp);
            ratios.sort_by(f64::total_cmp);
            println!(
                "{log_type}/{variant}: enrichment adds {:+.0}% per record \
                 (median of {rounds} rounds; {:.1} µs per record without)",
                (ratios[rounds / 2] - 1.0) * 100.0,
                bases[rounds / 2] / RECORDS as f64 * 1e6
            );
        }
    }
}

fn main() {
    if let Some(rounds) = std::env::var("SIEM_ENRICH_RATIO")
        .ok()
        .and_then(|r| r.parse::<usize>().ok())
    {
        interleaved_ratios(rounds.max(1));
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
