//! Reading and writing a normalized document (a `serde_json` map) by dotted
//! ECS path. Writes never replace a value of another shape: an enricher adds,
//! it does not repair.

use serde_json::{Map, Value};

pub fn get<'a>(doc: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let (first, rest) = split_first(path);
    let v = doc.get(first)?;
    match rest {
        Some(rest) => get_in(v, rest),
        None => Some(v),
    }
}

/// `path` inside `value`.
fn get_in<'a>(mut v: &'a Value, path: &str) -> Option<&'a Value> {
    let mut rest = Some(path);
    while let Some(path) = rest {
        let (part, tail) = split_first(path);
        v = v.as_object()?.get(part)?;
        rest = tail;
    }
    Some(v)
}

/// `("source", Some("geo.city_name"))` for `source.geo.city_name`. Enrichers
/// read a few dozen paths per record: a byte search is measurably cheaper
/// than `str::split` here.
pub fn split_first(path: &str) -> (&str, Option<&str>) {
    match memchr::memchr(b'.', path.as_bytes()) {
        Some(i) => (&path[..i], Some(&path[i + 1..])),
        None => (path, None),
    }
}

/// Whether `path` is `field` or under it: `source.ip` is within `source.ip`
/// and within `source`, not within `source.ip.x` or `sourcetype`.
pub fn within(path: &str, field: &str) -> bool {
    path.strip_prefix(field)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
}

/// Every non-empty string of `value`: itself, or each string of an array.
pub fn strings_of(value: Option<&Value>) -> impl Iterator<Item = &str> {
    let (one, many) = match value {
        Some(Value::String(s)) => (Some(s.as_str()), None),
        Some(Value::Array(a)) => (None, Some(a.iter().filter_map(Value::as_str))),
        _ => (None, None),
    };
    one.into_iter()
        .chain(many.into_iter().flatten())
        .filter(|s| !s.is_empty())
}

// ECS fields more than one enricher reads, each list written once. An
// enricher reads a list in its order, and that order is the order of what it
// writes (`related.*` values, `threat.enrichments`): append, never reorder.

/// The address of each side of a connection, then the host's.
pub const ADDRESS_FIELDS: &[&str] = &[
    "source.ip",
    "destination.ip",
    "client.ip",
    "server.ip",
    "host.ip",
];

/// Domain names: of a DNS question, of a URL, of each side of a connection.
pub const DOMAIN_FIELDS: &[&str] = &[
    "dns.question.name",
    "url.domain",
    "source.domain",
    "destination.domain",
    "client.domain",
    "server.domain",
];

/// The most top-level objects one [`Paths`] may read. The longest list,
/// every field any enricher reads (`enrich::Scope`), spans 13; a unit test
/// builds it.
const MAX_ROOTS: usize = 16;

/// A fixed list of dotted paths that enrichers read from every document,
/// each with a tag (`T`) that says what its values are for.
///
/// Read one by one, each path looks its first segment up in the document's
/// top level; the lists share a handful of roots (`source`, `host`, `file`,
/// …), most of them absent from a given document. [`Paths::strings`] looks
/// each root up once per document instead, so an enricher reading several
/// lists reads them as one.
#[derive(Debug)]
pub struct Paths<T = ()> {
    /// The distinct first segments, at most [`MAX_ROOTS`]: a document's
    /// roots are looked up into an array on the stack.
    roots: Vec<String>,
    /// Per path, in the order given: its tag, its root's index, the path,
    /// and where the part under the root starts in it (its length when none).
    paths: Vec<(T, usize, String, usize)>,
}

impl<T: Copy> Paths<T> {
    /// The tagged paths [`within`] one of `fields` (all of them for
    /// `None`), in the order given.
    pub fn tagged<S: AsRef<str>>(
        paths: impl IntoIterator<Item = (T, S)>,
        fields: Option<&[&str]>,
    ) -> Paths<T> {
        let mut distinct: Vec<String> = Vec::new();
        let paths = paths
            .into_iter()
            .filter(|(_, p)| fields.is_none_or(|f| f.iter().any(|f| within(p.as_ref(), f))))
            .map(|(tag, path)| {
                let path = path.as_ref();
                let root = split_first(path).0;
                let index = distinct.iter().position(|r| r == root).unwrap_or_else(|| {
                    distinct.push(root.to_owned());
                    distinct.len() - 1
                });
                assert!(
                    index < MAX_ROOTS,
                    "a path list spans more than {MAX_ROOTS} top-level objects"
                );
                (
                    tag,
                    index,
                    path.to_owned(),
                    (root.len() + 1).min(path.len()),
                )
            })
            .collect();
        Paths {
            roots: distinct,
            paths,
        }
    }

    /// Every non-empty string at each path ([`strings_of`]), in the order of the
    /// paths, with the path's tag and the path it was found at.
    pub fn strings<'a>(
        &'a self,
        doc: &'a Map<String, Value>,
    ) -> impl Iterator<Item = (T, &'a str, &'a str)> + 'a {
        self.values(doc)
            .flat_map(|(tag, path, value)| strings_of(Some(value)).map(move |s| (tag, path, s)))
    }

    /// The value at each path that has one, in the order of the paths, with
    /// the path's tag and the path.
    pub fn values<'a>(
        &'a self,
        doc: &'a Map<String, Value>,
    ) -> impl Iterator<Item = (T, &'a str, &'a Value)> + 'a {
        let mut roots = [None; MAX_ROOTS];
        for (found, root) in roots.iter_mut().zip(&self.roots) {
            *found = doc.get(root);
        }
        self.paths
            .iter()
            .filter_map(move |(tag, root, path, rest)| {
                let value = roots[*root].and_then(|v| match &path[*rest..] {
                    "" => Some(v),
                    rest => get_in(v, rest),
                });
                value.map(|v| (*tag, path.as_str(), v))
            })
    }
}

/// Sets `path`, creating missing objects on the way. Returns false (and
/// changes nothing) when a value on the way is not an object.
pub fn set(doc: &mut Map<String, Value>, path: &str, value: Value) -> bool {
    let mut map = doc;
    let mut rest = path;
    while let (part, Some(tail)) = split_first(rest) {
        // Looked up before it is created: no key is allocated for an object
        // that is already there.
        if !map.contains_key(part) {
            map.insert(part.to_owned(), Value::Object(Map::new()));
        }
        match map.get_mut(part) {
            Some(Value::Object(m)) => map = m,
            _ => return false,
        }
        rest = tail;
    }
    map.insert(rest.to_owned(), value);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(v: Value) -> Map<String, Value> {
        v.as_object().cloned().expect("object")
    }

    #[test]
    fn a_path_is_within_the_same_field_or_an_object_above_it() {
        assert!(within("source.ip", "source.ip"));
        assert!(within("source.ip", "source"));
        assert!(within("source.nat.ip", "source"));
        assert!(!within("source.ip", "source.ip.x"));
        assert!(!within("sourcetype", "source"));
        assert!(!within("source.ip", "source.i"));
        assert!(!within("source", "source.ip"));
    }

    #[test]
    fn dotted_paths_read_nested_objects_and_arrays_of_strings() {
        let d = doc(json!({"source": {"ip": "1.2.3.4"}, "host": {"ip": ["10.0.0.1", 7, ""]}}));
        assert_eq!(get(&d, "source.ip"), Some(&json!("1.2.3.4")));
        assert_eq!(
            strings_of(get(&d, "host.ip")).collect::<Vec<_>>(),
            ["10.0.0.1"]
        );
        assert_eq!(
            strings_of(get(&d, "source.ip")).collect::<Vec<_>>(),
            ["1.2.3.4"]
        );
        assert!(get(&d, "source.ip.x").is_none());
    }

    #[test]
    fn a_path_list_reads_like_each_path_read_alone() {
        let d = doc(
            json!({"source": {"ip": "1.2.3.4", "nat": {"ip": "5.6.7.8"}}, "host": {"ip": ["10.0.0.1", ""]}, "x": "y"}),
        );
        let list = [
            "source.ip",
            "client.ip",
            "host.ip",
            "source.nat.ip",
            "x",
            "x.y",
        ];
        let paths = Paths::tagged(list.into_iter().map(|p| ((), p)), None);
        assert_eq!(
            paths
                .strings(&d)
                .map(|(_, path, value)| (path, value))
                .collect::<Vec<_>>(),
            [
                ("source.ip", "1.2.3.4"),
                ("host.ip", "10.0.0.1"),
                ("source.nat.ip", "5.6.7.8"),
                ("x", "y")
            ]
        );
    }

    #[test]
    fn setting_never_replaces_a_value_of_another_shape() {
        let mut d = doc(json!({"source": "not an object"}));
        assert!(!set(&mut d, "source.geo.city_name", json!("x")));
        assert_eq!(d, doc(json!({"source": "not an object"})));
        assert!(set(&mut d, "destination.as.number", json!(1)));
        assert_eq!(get(&d, "destination.as.number"), Some(&json!(1)));
    }
}
