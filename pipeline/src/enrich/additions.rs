//! What enrichers add to a document, kept beside it as JSON rendered once
//! and written into the document's source line when it is encoded
//! ([`Additions::write_with`]).
//!
//! An enricher that fills an absent field (`source.geo`, `network.direction`,
//! `cloud.account.name`, `threat.enrichments`, …) adds it here instead of
//! inserting it into the document's map. A GeoIP answer is then a shared,
//! already-serialized piece of JSON taken from the database's cache (when
//! the cache is on): not a dozen keys and strings copied into the map,
//! serialized and freed again for every record.
//!
//! Rules that keep the written document what inserting into the map would
//! have made it:
//! - a path is added only where the document has nothing, and only through
//!   objects ([`vacant`]); one path is added once;
//! - enrichers read the document, not the additions: an enricher that reads a
//!   field another one may add must find the value elsewhere too (the only such
//!   field, `threat.indicator.ip`, is always a copy of an address `related.ip`
//!   already reads);
//! - [`Additions::apply`] merges the additions into the map, for callers that
//!   want the enriched document as a map (tests, `Enrichers::enrich`).

use std::sync::Arc;

use serde_json::{Map, Value};

use super::fields::{set, split_first};

/// One piece of JSON text, valid by construction (made by `serde_json` or
/// written from escaped strings).
#[derive(Debug, Clone)]
pub enum Json {
    /// Shared with a cache: a GeoIP answer.
    Shared(Arc<[u8]>),
    /// Made for this document.
    Owned(Vec<u8>),
    Static(&'static [u8]),
}

impl Json {
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Json::Shared(b) => b,
            Json::Owned(b) => b,
            Json::Static(b) => b,
        }
    }
}

/// Appends `s` as a JSON string.
pub fn push_str(out: &mut Vec<u8>, s: &str) {
    // Writing a string to a `Vec` cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

/// The deepest path an addition may have: enrichers add paths of two and
/// three parts (`source.geo`, `cloud.account.name`).
const MAX_DEPTH: usize = 4;

/// The fields enrichers added to one document, by dotted path.
#[derive(Debug, Default)]
pub struct Additions(Vec<Addition>);

#[derive(Debug)]
struct Addition {
    path: &'static str,
    /// The path's parts, split once: matched against a document's keys at
    /// every level when it is written.
    parts: [&'static str; MAX_DEPTH],
    depth: usize,
    json: Json,
}

impl Additions {
    /// Adds `path`. The caller has checked that `path` is [`vacant`] in the
    /// document.
    pub fn add(&mut self, path: &'static str, json: Json) {
        debug_assert!(!self.contains(path), "{path} added twice");
        let mut parts = [""; MAX_DEPTH];
        let mut depth = 0;
        let mut rest = Some(path);
        while let Some(tail) = rest {
            assert!(
                depth < MAX_DEPTH,
                "{path} is deeper than {MAX_DEPTH} objects"
            );
            (parts[depth], rest) = split_first(tail);
            depth += 1;
        }
        self.0.push(Addition {
            path,
            parts,
            depth,
            json,
        });
    }

    fn contains(&self, path: &str) -> bool {
        self.0.iter().any(|a| a.path == path)
    }

    pub fn clear(&mut self) {
        self.0.clear();
    }

    /// Moves every addition into `doc`.
    pub fn apply(&mut self, doc: &mut Map<String, Value>) {
        for a in self.0.drain(..) {
            // As `write_with` does: a place that is taken stays as it is.
            if vacant(doc, a.path)
                && let Ok(value) = serde_json::from_slice(a.json.as_bytes())
            {
                set(doc, a.path, value);
            }
        }
    }

    /// Writes `doc` as compact JSON with the additions in it, each at the
    /// end of the object it belongs to. An addition whose place is taken (a
    /// broken rule) is left out rather than written as a second key.
    pub fn write_with(&self, out: &mut Vec<u8>, doc: &Map<String, Value>) {
        if self.0.is_empty() {
            // Serializing a map of JSON values cannot fail.
            let _ = serde_json::to_writer(&mut *out, doc);
            return;
        }
        // A document gets a dozen additions at most; past 64 (the bits of
        // a mask) they are merged into a copy instead.
        if self.0.len() > 64 {
            let mut merged = doc.clone();
            for a in &self.0 {
                if vacant(&merged, a.path)
                    && let Ok(value) = serde_json::from_slice(a.json.as_bytes())
                {
                    set(&mut merged, a.path, value);
                }
            }
            let _ = serde_json::to_writer(&mut *out, &merged);
            return;
        }
        let all = u64::MAX >> (64 - self.0.len());
        write_object(out, Some(doc), &self.0, all, 0);
    }
}

/// Whether `path` can be added to `doc`: absent, with every object on the way
/// either absent or an object.
pub fn vacant(doc: &Map<String, Value>, path: &str) -> bool {
    let mut map = doc;
    let mut rest = path;
    while let (part, Some(tail)) = split_first(rest) {
        match map.get(part) {
            None => return true,
            Some(Value::Object(m)) => map = m,
            Some(_) => return false,
        }
        rest = tail;
    }
    !map.contains_key(rest)
}

/// `{...}` of `map` (none: an object only additions make) with the
/// additions of `mask`, whose paths continue at part `depth` (past the
/// path of this object).
fn write_object(
    out: &mut Vec<u8>,
    map: Option<&Map<String, Value>>,
    additions: &[Addition],
    mask: u64,
    depth: usize,
) {
    // Where each addition of `mask` goes at this level: the object `key`
    // (`inside` it) or the field `key` itself (`here`).
    let place = |key: &str, mask: u64| {
        let (mut inside, mut here) = (0u64, 0u64);
        for i in bits(mask) {
            let a = &additions[i];
            if a.parts[depth] == key {
                if a.depth == depth + 1 {
                    here |= 1 << i;
                } else {
                    inside |= 1 << i;
                }
            }
        }
        (inside, here)
    };
    out.push(b'{');
    let mut first = true;
    let mut comma = |out: &mut Vec<u8>| {
        if !std::mem::take(&mut first) {
            out.push(b',');
        }
    };
    let mut left = mask;
    // The lengths of the keys the additions go under: most keys of a
    // document are none of them, told by one bit test.
    let lengths = bits(mask).fold(0u64, |l, i| {
        l | 1 << additions[i].parts[depth].len().min(63)
    });
    for (key, value) in map.into_iter().flatten() {
        comma(out);
        let _ = serde_json::to_writer(&mut *out, key);
        out.push(b':');
        let candidate = left != 0 && lengths & (1 << key.len().min(63)) != 0;
        let (inside, here) = if candidate { place(key, left) } else { (0, 0) };
        // An addition whose place is taken is dropped here.
        left &= !(inside | here);
        match value {
            Value::Object(inner) if inside != 0 => {
                write_object(out, Some(inner), additions, inside, depth + 1)
            }
            _ => {
                let _ = serde_json::to_writer(&mut *out, value);
            }
        }
    }
    while left != 0 {
        let head = additions[left.trailing_zeros() as usize].parts[depth];
        let (inside, here) = place(head, left);
        left &= !(inside | here);
        comma(out);
        push_str(out, head);
        out.push(b':');
        match bits(here).next() {
            Some(i) => out.extend_from_slice(additions[i].json.as_bytes()),
            None => write_object(out, None, additions, inside, depth + 1),
        }
    }
    out.push(b'}');
}

/// The indices of the bits set in `mask`, lowest first.
fn bits(mut mask: u64) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        let i = mask.trailing_zeros();
        mask &= mask.wrapping_sub(1);
        (i < 64).then_some(i as usize)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(v: Value) -> Map<String, Value> {
        v.as_object().cloned().expect("object")
    }

    fn additions(list: &[(&'static str, &'static str)]) -> Additions {
        let mut a = Additions::default();
        for (path, json) in list {
            a.add(path, Json::Static(json.as_bytes()));
        }
        a
    }

    fn written(a: &Additions, d: &Map<String, Value>) -> Value {
        let mut out = Vec::new();
        a.write_with(&mut out, d);
        serde_json::from_slice(&out).expect("valid JSON")
    }

    #[test]
    fn written_additions_read_like_the_document_with_them_merged_in() {
        let d = doc(
            json!({"source": {"ip": "203.0.113.5", "port": 443}, "network": {"transport": "tcp"}, "x": 1}),
        );
        let list = [
            (
                "source.geo",
                r#"{"city_name":"Montréal","location":{"lat":45.5,"lon":-73.6}}"#,
            ),
            ("source.as", r#"{"number":64500}"#),
            ("network.direction", r#""inbound""#),
            ("cloud.account.name", r#""prod \"eu\"""#),
            (
                "threat.enrichments",
                r#"[{"matched":{"atomic":"203.0.113.5"}}]"#,
            ),
            ("threat.indicator", r#"{"ip":"203.0.113.5"}"#),
        ];
        let mut merged = d.clone();
        additions(&list).apply(&mut merged);
        assert_eq!(
            written(&additions(&list), &d),
            Value::Object(merged.clone())
        );
        assert_eq!(merged["cloud"]["account"]["name"], json!("prod \"eu\""));
        assert_eq!(merged["threat"]["indicator"]["ip"], json!("203.0.113.5"));
        assert_eq!(merged["source"]["port"], json!(443));
    }

    #[test]
    fn without_additions_the_document_is_written_as_it_is() {
        let d = doc(json!({"a": {"b": [1, "two"]}, "c": null}));
        let mut out = Vec::new();
        Additions::default().write_with(&mut out, &d);
        assert_eq!(out, serde_json::to_vec(&d).expect("json"));
    }

    #[test]
    fn an_addition_whose_place_is_taken_is_left_out_not_written_twice() {
        let d = doc(json!({"network": {"direction": "egress"}, "source": "not an object"}));
        let list = additions(&[("network.direction", r#""inbound""#), ("source.geo", "{}")]);
        let mut out = Vec::new();
        list.write_with(&mut out, &d);
        assert_eq!(
            std::str::from_utf8(&out).expect("utf8"),
            r#"{"network":{"direction":"egress"},"source":"not an object"}"#
        );
    }

    #[test]
    fn a_path_is_vacant_when_absent_and_reached_only_through_objects() {
        let d = doc(json!({"source": {"ip": "1.2.3.4"}, "network": "x"}));
        assert!(vacant(&d, "source.geo"));
        assert!(vacant(&d, "cloud.account.name"));
        assert!(!vacant(&d, "source.ip"));
        assert!(!vacant(&d, "network.direction"));
        assert!(!vacant(&d, "source"));
    }
}
