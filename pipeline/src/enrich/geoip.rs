//! GeoIP and ASN: `<side>.geo.*` and `<side>.as.*` from MaxMind databases
//! (City and ASN; GeoLite2 or commercial) for `source`, `destination`,
//! `client` and `server`.
//!
//! Never overwrites: a side whose `geo` (or `as`) the log already filled
//! (GuardDuty brings its own) is left as it is, whole, so that one document
//! never mixes two sources' idea of where an address is. Never looks up an
//! address no database can place ([`super::net::is_public`]).
//!
//! A database is memory-mapped from a private copy this process made
//! ([`Database::open`]): the file the operator replaces is never mapped, so
//! replacing it in place cannot corrupt a running lookup.
//!
//! Each database keeps the `geo` or `as` object it rendered, as JSON text,
//! for up to `enrich.geoip_cache_entries` addresses, those seen most
//! recently and most often (1,024 by default, about 0.6 MiB for both
//! databases): flow logs name the same peers again and again, and a
//! repeated address then costs a hash probe instead of a walk of the
//! database's tree and the decoding of a record that holds every language's
//! names. The answer goes to the document as that shared text
//! ([`super::additions`]), not copied field by field.

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use maxminddb::{MaxMindDbError, Mmap, Reader};
use quick_cache::sync::Cache;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::additions::{Additions, Json};
use super::fields::within;
use super::net::is_public;
use super::source::{Reloadable, private_temp_file};
use super::{Addresses, Outcome};

/// The ECS objects that hold an address (`<side>.ip`) and may get its
/// `<side>.geo` and `<side>.as`.
const SIDES: [&str; 4] = ["source", "destination", "client", "server"];

/// Addresses whose answer each database keeps unless configured otherwise
/// (`enrich.geoip_cache_entries`).
pub const DEFAULT_CACHE_ENTRIES: usize = 1024;

/// One MaxMind database, mapped or in memory, with the answers it gave
/// lately. A reload builds a new `Database`, so an answer never outlives the
/// data it came from.
pub struct Database {
    reader: Source,
    /// `None` when the cache is off.
    rendered: Option<Cache<IpAddr, Option<Arc<[u8]>>>>,
}

enum Source {
    Mapped(Reader<Mmap>),
    Owned(Reader<Vec<u8>>),
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let meta = match &self.reader {
            Source::Mapped(r) => r.metadata(),
            Source::Owned(r) => r.metadata(),
        };
        write!(
            f,
            "Database({}, built {})",
            meta.database_type, meta.build_epoch
        )
    }
}

impl Database {
    fn new(reader: Source, cached: usize) -> Database {
        Database {
            reader,
            rendered: (cached > 0).then(|| Cache::new(cached)),
        }
    }

    /// Copies `path` to a private temporary file, maps the copy and unlinks
    /// it (the mapping outlives the name). The answers for `cached`
    /// addresses are kept.
    pub fn open(path: &Path, cached: usize) -> Result<Database, String> {
        let (copy, mut file) =
            private_temp_file("geoip.mmdb").map_err(|e| format!("temporary copy: {e}"))?;
        let result = (|| {
            let mut source = std::fs::File::open(path).map_err(|e| e.to_string())?;
            std::io::copy(&mut source, &mut file).map_err(|e| format!("temporary copy: {e}"))?;
            drop(file);
            map_private_copy(&copy).map_err(|e| e.to_string())
        })();
        let _ = std::fs::remove_file(&copy);
        result.map(|r| Database::new(Source::Mapped(r), cached))
    }

    /// A database held in memory, keeping the answers for `cached`
    /// addresses (tests, benches).
    pub fn from_bytes(bytes: Vec<u8>, cached: usize) -> Result<Database, String> {
        Reader::from_source(bytes)
            .map(|r| Database::new(Source::Owned(r), cached))
            .map_err(|e| e.to_string())
    }

    fn lookup<'de, T: Deserialize<'de>>(
        &'de self,
        ip: IpAddr,
    ) -> Result<Option<T>, MaxMindDbError> {
        match &self.reader {
            Source::Mapped(r) => r.lookup(ip)?.decode(),
            Source::Owned(r) => r.lookup(ip)?.decode(),
        }
    }

    /// The ECS object `render` makes of `ip`'s record, as JSON text (`None`
    /// for no record or an empty object), from the cache when this database
    /// answered it before. Errors are not cached. The cache is keyed by address alone:
    /// a database serves one slot (City or ASN), always with the same `render`.
    /// A thread asking for an address another thread is looking up waits
    /// for that answer instead of looking it up again.
    fn rendered(&self, ip: IpAddr, render: Render) -> Result<Option<Arc<[u8]>>, MaxMindDbError> {
        let answer = || {
            let object = render(self, ip)?.filter(|m| !m.is_empty());
            // Serializing a map of JSON values cannot fail.
            Ok(object
                .and_then(|m| serde_json::to_vec(&m).ok())
                .map(Arc::from))
        };
        match &self.rendered {
            Some(cache) => cache.get_or_insert_with(&ip, answer),
            None => answer(),
        }
    }
}

/// SAFETY of the one `unsafe` block in the crate: `open_mmap` is unsafe
/// because a mapped file changed underneath is undefined behaviour. The file
/// mapped here is a copy this process just created with mode 0600 under a
/// unique name, closed for writing, and unlinked right after mapping: no one
/// can write to it while the mapping lives.
#[allow(unsafe_code)]
fn map_private_copy(copy: &Path) -> Result<Reader<Mmap>, MaxMindDbError> {
    // SAFETY: see above; the file is private, complete and never written again.
    unsafe { Reader::<Mmap>::open_mmap(copy) }
}

/// The fields of a City record that become ECS geo fields.
#[derive(Deserialize)]
struct CityRecord<'a> {
    #[serde(borrow)]
    city: Option<Named<'a>>,
    #[serde(borrow)]
    continent: Option<Named<'a>>,
    #[serde(borrow)]
    country: Option<Country<'a>>,
    #[serde(borrow)]
    subdivisions: Option<Vec<Country<'a>>>,
    #[serde(borrow)]
    location: Option<Location<'a>>,
    #[serde(borrow)]
    postal: Option<Postal<'a>>,
}

#[derive(Deserialize)]
struct Named<'a> {
    #[serde(borrow)]
    names: Option<Names<'a>>,
}

#[derive(Deserialize)]
struct Names<'a> {
    en: Option<&'a str>,
}

#[derive(Deserialize)]
struct Country<'a> {
    iso_code: Option<&'a str>,
    #[serde(borrow)]
    names: Option<Names<'a>>,
}

#[derive(Deserialize)]
struct Location<'a> {
    latitude: Option<f64>,
    longitude: Option<f64>,
    time_zone: Option<&'a str>,
}

#[derive(Deserialize)]
struct Postal<'a> {
    code: Option<&'a str>,
}

#[derive(Deserialize)]
struct AsnRecord<'a> {
    autonomous_system_number: Option<u64>,
    autonomous_system_organization: Option<&'a str>,
}

fn english<'a>(names: &Option<Names<'a>>) -> Option<&'a str> {
    names.as_ref().and_then(|n| n.en)
}

/// `<side>.geo` of `ip` from a City database.
fn geo(db: &Database, ip: IpAddr) -> Result<Option<Map<String, Value>>, MaxMindDbError> {
    Ok(db.lookup::<CityRecord>(ip)?.map(|r| r.to_geo()))
}

/// `<side>.as` of `ip` from an ASN database.
fn autonomous_system(
    db: &Database,
    ip: IpAddr,
) -> Result<Option<Map<String, Value>>, MaxMindDbError> {
    let Some(record) = db.lookup::<AsnRecord>(ip)? else {
        return Ok(None);
    };
    let mut as_ = Map::new();
    if let Some(n) = record.autonomous_system_number {
        as_.insert("number".into(), n.into());
    }
    if let Some(org) = record
        .autonomous_system_organization
        .filter(|o| !o.is_empty())
    {
        as_.insert("organization".into(), json!({"name": org}));
    }
    Ok(Some(as_))
}

impl CityRecord<'_> {
    fn to_geo(&self) -> Map<String, Value> {
        let mut geo = Map::new();
        let mut put = |k: &str, v: Option<&str>| {
            if let Some(v) = v.filter(|v| !v.is_empty()) {
                geo.insert(k.to_owned(), Value::String(v.to_owned()));
            }
        };
        put(
            "city_name",
            self.city.as_ref().and_then(|c| english(&c.names)),
        );
        put(
            "continent_name",
            self.continent.as_ref().and_then(|c| english(&c.names)),
        );
        let country = self.country.as_ref();
        put("country_name", country.and_then(|c| english(&c.names)));
        put("country_iso_code", country.and_then(|c| c.iso_code));
        if let Some(region) = self.subdivisions.as_ref().and_then(|s| s.first()) {
            put("region_name", english(&region.names));
            // ECS: the country and subdivision codes joined, `CA-QC`.
            if let (Some(c), Some(r)) = (country.and_then(|c| c.iso_code), region.iso_code) {
                put("region_iso_code", Some(&format!("{c}-{r}")));
            }
        }
        put("postal_code", self.postal.as_ref().and_then(|p| p.code));
        if let Some(l) = &self.location {
            put("timezone", l.time_zone);
            if let (Some(lat), Some(lon)) = (l.latitude, l.longitude) {
                geo.insert("location".into(), json!({"lat": lat, "lon": lon}));
            }
        }
        geo
    }
}

type Render = fn(&Database, IpAddr) -> Result<Option<Map<String, Value>>, MaxMindDbError>;

/// The GeoIP enricher: either database may be absent.
#[derive(Debug)]
pub struct GeoIp {
    pub city: Option<Reloadable<Database>>,
    pub asn: Option<Reloadable<Database>>,
}

/// The paths of `side`'s `geo` and `as`.
fn paths(side: &str) -> Option<(&'static str, &'static str)> {
    Some(match side {
        "source" => ("source.geo", "source.as"),
        "destination" => ("destination.geo", "destination.as"),
        "client" => ("client.geo", "client.as"),
        "server" => ("server.geo", "server.as"),
        _ => return None,
    })
}

/// The sides whose address (`<side>.ip`) is within `fields` (all four for `None`).
pub fn sides(fields: Option<&[&str]>) -> Vec<&'static str> {
    let has_address =
        |side: &str| fields.is_none_or(|f| f.iter().any(|f| within(&format!("{side}.ip"), f)));
    SIDES.into_iter().filter(|s| has_address(s)).collect()
}

impl GeoIp {
    /// Enriches every side.
    pub fn enrich(&self, doc: &mut Map<String, Value>) -> Outcome {
        let mut added = Additions::default();
        let outcome = self.enrich_addresses(doc, &Addresses::of(doc, &SIDES), &mut added);
        added.apply(doc);
        outcome
    }

    /// Adds the `geo` and `as` of the sides of `addresses`, `doc`'s own, to `added`.
    pub fn enrich_addresses(
        &self,
        doc: &Map<String, Value>,
        addresses: &Addresses,
        added: &mut Additions,
    ) -> Outcome {
        if !addresses.iter().any(|(_, ip)| is_public(ip)) {
            return Outcome::default();
        }
        let city = self.city.as_ref().map(Reloadable::get);
        let asn = self.asn.as_ref().map(Reloadable::get);
        let city = city.as_ref().and_then(|g| g.as_deref());
        let asn = asn.as_ref().and_then(|g| g.as_deref());
        if city.is_none() && asn.is_none() {
            return Outcome::default();
        }
        let mut outcome = Outcome::default();
        for (side, ip) in addresses.iter() {
            if !is_public(ip) {
                continue;
            }
            let (Some(Value::Object(object)), Some((geo_path, as_path))) =
                (doc.get(side), paths(side))
            else {
                continue;
            };
            for (db, key, path, render) in [
                (city, "geo", geo_path, geo as Render),
                (asn, "as", as_path, autonomous_system),
            ] {
                let Some(db) = db.filter(|_| !object.contains_key(key)) else {
                    continue;
                };
                match db.rendered(ip, render) {
                    Ok(Some(json)) => {
                        added.add(path, Json::Shared(json));
                        outcome.enriched = true;
                    }
                    Ok(None) => {}
                    Err(_) => outcome.errors += 1,
                }
            }
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enrich::source::Reloadable;

    /// A City database placing 203.0.113.0/24 in Montréal and 198.51.100.0/24 in Paris.
    fn city_db(city: &str) -> Database {
        Database::from_bytes(city_bytes(city), DEFAULT_CACHE_ENTRIES).expect("database")
    }

    fn city_bytes(city: &str) -> Vec<u8> {
        let mut w = mmdb_writer::Writer::new("GeoLite2-City");
        let record = json!({
            "city": {"names": {"en": city, "fr": "ville"}},
            "continent": {"code": "NA", "names": {"en": "North America"}},
            "country": {"iso_code": "CA", "names": {"en": "Canada"}},
            "subdivisions": [{"iso_code": "QC", "names": {"en": "Quebec"}}],
            "location": {"latitude": 45.5, "longitude": -73.6, "time_zone": "America/Toronto"},
            "postal": {"code": "H2X"}
        });
        w.insert(
            "203.0.113.0/24".parse::<ipnet::IpNet>().expect("net"),
            &record,
        )
        .expect("insert");
        w.insert(
            "198.51.100.0/24".parse::<ipnet::IpNet>().expect("net"),
            &json!({"city": {"names": {"en": "Paris"}}, "country": {"iso_code": "FR", "names": {"en": "France"}}}),
        )
        .expect("insert");
        w.insert("10.0.0.0/8".parse::<ipnet::IpNet>().expect("net"), &record)
            .expect("insert");
        w.to_bytes().expect("bytes")
    }

    fn asn_db() -> Database {
        let mut w = mmdb_writer::Writer::new("GeoLite2-ASN");
        w.insert(
            "203.0.113.0/24".parse::<ipnet::IpNet>().expect("net"),
            &json!({"autonomous_system_number": 64500, "autonomous_system_organization": "Example Transit"}),
        )
        .expect("insert");
        Database::from_bytes(w.to_bytes().expect("bytes"), DEFAULT_CACHE_ENTRIES).expect("database")
    }

    fn geoip(city: Option<Database>, asn: Option<Database>) -> GeoIp {
        GeoIp {
            city: city.map(|d| Reloadable::fixed("enrich.geoip_city", d)),
            asn: asn.map(|d| Reloadable::fixed("enrich.geoip_asn", d)),
        }
    }

    fn enriched(g: &GeoIp, v: Value) -> Value {
        let mut d = v.as_object().cloned().expect("object");
        g.enrich(&mut d);
        Value::Object(d)
    }

    #[test]
    fn a_public_address_gets_ecs_geo_and_as_fields() {
        let g = geoip(Some(city_db("Montréal")), Some(asn_db()));
        let d = enriched(
            &g,
            json!({"source": {"ip": "203.0.113.5"}, "destination": {"ip": "198.51.100.7"}}),
        );
        assert_eq!(
            d["source"]["geo"],
            json!({"city_name": "Montréal", "continent_name": "North America", "country_name": "Canada",
                   "country_iso_code": "CA", "region_name": "Quebec", "region_iso_code": "CA-QC",
                   "postal_code": "H2X", "timezone": "America/Toronto", "location": {"lat": 45.5, "lon": -73.6}})
        );
        assert_eq!(
            d["source"]["as"],
            json!({"number": 64500, "organization": {"name": "Example Transit"}})
        );
        assert_eq!(d["destination"]["geo"]["country_iso_code"], "FR");
        assert!(
            d["destination"].get("as").is_none(),
            "no ASN record for that network"
        );
    }

    #[test]
    fn an_address_seen_before_gets_the_same_fields_from_the_cache() {
        let g = geoip(Some(city_db("Montréal")), Some(asn_db()));
        let v = json!({"source": {"ip": "203.0.113.5"}, "destination": {"ip": "192.0.2.1"}});
        let first = enriched(&g, v.clone());
        assert!(first["source"].get("geo").is_some() && first["destination"].get("geo").is_none());
        let city = g.city.as_ref().map(Reloadable::get).expect("city");
        let city = city.as_deref().expect("loaded");
        let cache = city.rendered.as_ref().expect("cache on by default");
        assert!(
            cache
                .get(&"203.0.113.5".parse::<IpAddr>().expect("ip"))
                .is_some_and(|v| v.is_some())
        );
        assert_eq!(
            cache.get(&"192.0.2.1".parse::<IpAddr>().expect("ip")),
            Some(None),
            "misses are kept too"
        );
        assert_eq!(enriched(&g, v.clone()), first);
        let uncached = Database::from_bytes(city_bytes("Montréal"), 0).expect("database");
        assert_eq!(
            enriched(&geoip(Some(uncached), Some(asn_db())), v),
            first,
            "the same without a cache"
        );
    }

    #[test]
    fn private_and_reserved_addresses_are_never_looked_up() {
        // The test database does hold 10.0.0.0/8: only the address check keeps it out.
        let g = geoip(Some(city_db("Montréal")), Some(asn_db()));
        let v = json!({"source": {"ip": "10.1.2.3"}, "destination": {"ip": "127.0.0.1"}, "client": {"ip": "fe80::1"}});
        assert_eq!(enriched(&g, v.clone()), v);
    }

    #[test]
    fn geo_the_log_supplied_is_kept_whole() {
        let g = geoip(Some(city_db("Montréal")), Some(asn_db()));
        let d = enriched(
            &g,
            json!({"source": {"ip": "203.0.113.5", "geo": {"country_iso_code": "US"}, "as": {"number": 1}},
                   "server": {"ip": "203.0.113.9"}}),
        );
        assert_eq!(d["source"]["geo"], json!({"country_iso_code": "US"}));
        assert_eq!(d["source"]["as"], json!({"number": 1}));
        assert_eq!(
            d["server"]["geo"]["city_name"], "Montréal",
            "client and server sides are enriched too"
        );
    }

    #[test]
    fn either_database_alone_is_enough() {
        let d = enriched(
            &geoip(None, Some(asn_db())),
            json!({"source": {"ip": "203.0.113.5"}}),
        );
        assert_eq!(d["source"]["as"]["number"], 64500);
        assert!(d["source"].get("geo").is_none());
        let d = enriched(&geoip(None, None), json!({"source": {"ip": "203.0.113.5"}}));
        assert_eq!(d, json!({"source": {"ip": "203.0.113.5"}}));
    }

    #[test]
    fn a_database_swapped_while_another_thread_enriches_switches_over_cleanly() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, Ordering};
        let g = Arc::new(geoip(Some(city_db("Before")), None));
        let stop = Arc::new(AtomicBool::new(false));
        let reader = {
            let (g, stop) = (g.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut seen = std::collections::BTreeSet::new();
                while !stop.load(Ordering::Relaxed) {
                    let d = enriched(&g, json!({"source": {"ip": "203.0.113.5"}}));
                    seen.insert(
                        d["source"]["geo"]["city_name"]
                            .as_str()
                            .unwrap_or("none")
                            .to_owned(),
                    );
                }
                seen
            })
        };
        let (before, after) = (city_bytes("Before"), city_bytes("After"));
        let until = std::time::Instant::now() + std::time::Duration::from_millis(100);
        let mut n = 0;
        while std::time::Instant::now() < until {
            let bytes = if n % 2 == 0 {
                after.clone()
            } else {
                before.clone()
            };
            if let Some(city) = &g.city {
                city.replace(Database::from_bytes(bytes, DEFAULT_CACHE_ENTRIES).expect("database"));
            }
            n += 1;
        }
        if let Some(city) = &g.city {
            city.replace(Database::from_bytes(after, DEFAULT_CACHE_ENTRIES).expect("database"));
        }
        stop.store(true, Ordering::Relaxed);
        let seen = reader.join().expect("no panic while swapping");
        assert!(
            !seen.is_empty() && seen.iter().all(|c| c == "Before" || c == "After"),
            "{seen:?}"
        );
        let d = enriched(&g, json!({"source": {"ip": "203.0.113.5"}}));
        assert_eq!(d["source"]["geo"]["city_name"], "After");
    }

    #[test]
    fn a_database_file_is_mapped_from_a_private_copy() {
        let (path, _) = private_temp_file("test-city.mmdb").expect("temp");
        let db = city_bytes("Mapped");
        std::fs::write(&path, &db).expect("write");
        let opened = Database::open(&path, DEFAULT_CACHE_ENTRIES).expect("opens");
        // Replacing the operator's file in place does not touch the mapping.
        std::fs::write(&path, b"garbage").expect("overwrite");
        assert!(matches!(opened.reader, Source::Mapped(_)));
        let d = enriched(
            &GeoIp {
                city: Some(Reloadable::fixed("c", opened)),
                asn: None,
            },
            json!({"source": {"ip": "203.0.113.5"}}),
        );
        assert_eq!(d["source"]["geo"]["city_name"], "Mapped");
        let _ = std::fs::remove_file(&path);
        assert!(
            Database::open(
                Path::new("/nonexistent/GeoLite2-City.mmdb"),
                DEFAULT_CACHE_ENTRIES
            )
            .is_err()
        );
    }
}
