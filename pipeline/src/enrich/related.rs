//! `related.ip`, `related.user`, `related.hosts` and `related.hash`, gathered
//! from every populated ECS field that holds one, merged after what the log
//! type already put there, de-duplicated in first-seen order.
//!
//! Never removes or reorders a value the log type set, and never adds a value
//! that is not in one of the fields listed here (vendor fields stay out).

use std::sync::LazyLock;

use serde_json::{Map, Value};

use super::Outcome;
use super::fields::{ADDRESS_FIELDS, DOMAIN_FIELDS, Paths, get, set, strings_of};

/// Where `related.ip` values come from, in order.
const IPS: [&[&str]; 3] = [
    ADDRESS_FIELDS,
    &["source.nat.ip", "destination.nat.ip"],
    &["threat.indicator.ip"],
];

/// Where `related.user` values come from, in order.
const USERS: &[&str] = &[
    "user.name",
    "user.target.name",
    "user.effective.name",
    "user.changes.name",
    "source.user.name",
    "destination.user.name",
    "client.user.name",
    "server.user.name",
    "process.user.name",
];

/// Where `related.hosts` values come from, in order: an EC2 instance id is
/// the host identifier analysts pivot on.
const HOSTS: [&[&str]; 3] = [
    &["host.hostname", "host.name"],
    &["cloud.instance.id", "host.id"],
    DOMAIN_FIELDS,
];

/// Where `related.hash` values come from: each kind of each owner, in order.
const HASH_OWNERS: &[&str] = &[
    "file.hash",
    "process.hash",
    "process.parent.hash",
    "dll.hash",
];
const HASH_KINDS: &[&str] = &[
    "md5", "sha1", "sha256", "sha384", "sha512", "ssdeep", "tlsh",
];

/// The `related.*` fields, in the order [`Sources`] tags them.
const TARGETS: [&str; 4] = [
    "related.ip",
    "related.user",
    "related.hosts",
    "related.hash",
];

/// Every path read, in order, with the index in `TARGETS` of the field its
/// values go to.
pub(super) fn sources() -> impl Iterator<Item = (usize, String)> {
    let tag = |target: usize, lists: &'static [&'static [&'static str]]| {
        lists
            .iter()
            .flat_map(|paths| paths.iter())
            .map(move |p| (target, p.to_string()))
    };
    let hashes = HASH_OWNERS.iter().flat_map(|owner| {
        HASH_KINDS
            .iter()
            .map(move |kind| (3, format!("{owner}.{kind}")))
    });
    tag(0, &IPS)
        .chain(tag(1, &[USERS]))
        .chain(tag(2, &HOSTS))
        .chain(hashes)
}

/// The paths each `related.*` field's values come from, in order, tagged
/// with the field's index in `TARGETS`.
#[derive(Debug)]
pub struct Sources(Paths<usize>);

impl Sources {
    /// The paths within `fields` (every path for `None`).
    pub fn under(fields: Option<&[&str]>) -> Sources {
        Sources(Paths::tagged(sources(), fields))
    }
}

/// Fills the `related.*` fields from every field listed here.
pub fn enrich(doc: &mut Map<String, Value>) -> Outcome {
    static ALL: LazyLock<Sources> = LazyLock::new(|| Sources::under(None));
    enrich_from(doc, &ALL)
}

/// Fills the `related.*` fields from `sources`.
pub fn enrich_from(doc: &mut Map<String, Value>, sources: &Sources) -> Outcome {
    let mut found: Found = Default::default();
    for (target, _, value) in sources.0.strings(doc) {
        // Read in order: one place for all.
        found[target].push((0, value));
    }
    let new = missing_all(doc, &found);
    append_all(doc, new)
}

/// The values read for each `related.*` field, in order, each with the
/// place of its path in [`sources`].
pub(super) type Found<'a> = [Vec<(u16, &'a str)>; 4];

/// The values of `found` each `related.*` field does not hold yet.
pub(super) fn missing_all(doc: &Map<String, Value>, found: &Found) -> [Vec<String>; 4] {
    std::array::from_fn(|i| missing(doc, TARGETS[i], &found[i]))
}

/// Appends the values of [`missing_all`].
pub(super) fn append_all(doc: &mut Map<String, Value>, new: [Vec<String>; 4]) -> Outcome {
    let mut outcome = Outcome::default();
    for (target, new) in TARGETS.into_iter().zip(new) {
        outcome.enriched |= append(doc, target, new);
    }
    outcome
}

/// The values of `found` that `target` does not hold yet, de-duplicated.
/// Allocates only for those: most documents already hold everything.
fn missing(doc: &Map<String, Value>, target: &str, found: &[(u16, &str)]) -> Vec<String> {
    let mut new: Vec<String> = Vec::new();
    if found.is_empty() {
        return new;
    }
    let held = get(doc, target);
    for v in found
        .iter()
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
    {
        if !strings_of(held).any(|x| x == v) && !new.iter().any(|x| x == v) {
            new.push(v.to_owned());
        }
    }
    new
}

/// Appends `new` to `target` (a string becomes an array). Returns whether
/// anything was added.
fn append(doc: &mut Map<String, Value>, target: &str, new: Vec<String>) -> bool {
    if new.is_empty() {
        return false;
    }
    let mut values: Vec<Value> = match get(doc, target) {
        Some(Value::Array(a)) => a.clone(),
        Some(v @ Value::String(_)) => vec![v.clone()],
        _ => Vec::new(),
    };
    values.extend(new.into_iter().map(Value::String));
    set(doc, target, Value::Array(values))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn enriched(v: Value) -> Value {
        let mut d = v.as_object().cloned().expect("object");
        enrich(&mut d);
        Value::Object(d)
    }

    #[test]
    fn addresses_users_hosts_and_hashes_are_gathered_from_ecs_fields() {
        let d = enriched(json!({
            "source": {"ip": "203.0.113.5", "user": {"name": "alice"}, "domain": "a.example"},
            "destination": {"ip": "10.0.0.1"},
            "host": {"ip": ["10.0.0.1", "10.0.0.2"], "hostname": "web-1", "name": "web-1"},
            "user": {"name": "bob", "target": {"name": "root"}},
            "dns": {"question": {"name": "evil.example"}},
            "file": {"hash": {"sha256": "ab12", "md5": "cd34"}},
            "process": {"hash": {"sha256": "ab12"}},
        }));
        assert_eq!(
            d["related"]["ip"],
            json!(["203.0.113.5", "10.0.0.1", "10.0.0.2"])
        );
        assert_eq!(d["related"]["user"], json!(["bob", "root", "alice"]));
        assert_eq!(
            d["related"]["hosts"],
            json!(["web-1", "evil.example", "a.example"])
        );
        assert_eq!(d["related"]["hash"], json!(["cd34", "ab12"]));
    }

    #[test]
    fn addresses_and_host_names_are_gathered_in_the_order_of_their_fields() {
        let paths = |target: usize| {
            sources()
                .filter(|(t, _)| *t == target)
                .map(|(_, p)| p)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            paths(0),
            [
                "source.ip",
                "destination.ip",
                "client.ip",
                "server.ip",
                "host.ip",
                "source.nat.ip",
                "destination.nat.ip",
                "threat.indicator.ip",
            ]
        );
        assert_eq!(
            paths(2),
            [
                "host.hostname",
                "host.name",
                "cloud.instance.id",
                "host.id",
                "dns.question.name",
                "url.domain",
                "source.domain",
                "destination.domain",
                "client.domain",
                "server.domain",
            ]
        );
        assert_eq!(paths(3)[..2], ["file.hash.md5", "file.hash.sha1"]);
        assert_eq!(
            paths(3).len(),
            4 * 7,
            "seven kinds of hash for each of four owners"
        );
    }

    #[test]
    fn every_source_list_fits_one_pass() {
        // Paths::tagged refuses lists spanning more roots than it reads at once.
        Sources::under(None);
        crate::enrich::threat_intel::Fields::under(None);
    }

    #[test]
    fn values_the_log_type_set_come_first_and_are_not_repeated() {
        let d = enriched(json!({
            "source": {"ip": "10.0.0.9"},
            "destination": {"ip": "10.0.0.1"},
            "related": {"ip": ["10.0.0.1", "198.51.100.1"]},
        }));
        assert_eq!(
            d["related"]["ip"],
            json!(["10.0.0.1", "198.51.100.1", "10.0.0.9"])
        );
    }

    #[test]
    fn sources_within_some_fields_read_only_those() {
        let doc = json!({"source": {"ip": "203.0.113.5"}, "host": {"ip": "10.0.0.1"}});
        let mut d = doc.as_object().cloned().expect("object");
        enrich_from(&mut d, &Sources::under(Some(&["source", "related"])));
        assert_eq!(d["related"]["ip"], json!(["203.0.113.5"]));
    }

    #[test]
    fn a_document_without_such_fields_is_left_alone() {
        let d = enriched(json!({"event": {"kind": "event"}, "aws": {"x": {"ip": "1.2.3.4"}}}));
        assert_eq!(
            d,
            json!({"event": {"kind": "event"}, "aws": {"x": {"ip": "1.2.3.4"}}})
        );
    }
}
