//! Building ECS documents: nested JSON objects addressed by dotted paths, and
//! the `related.*` accumulator.
//!
//! Documents are plain `serde_json` maps: log types differ too much for one
//! typed struct to help, and the templates in `mappings/` (checked by tests)
//! are where the schema is enforced.

use serde_json::{Map, Value};

/// The ECS version documents conform to (`ecs.version`).
pub const ECS_VERSION: &str = "8.17.0";

/// An ECS document under construction.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct EcsDocument {
    root: Map<String, Value>,
}

impl EcsDocument {
    /// An empty document. `ecs.version` and the other fields every document
    /// carries are set by [`crate::log_types::stamp`], not here.
    pub fn new() -> Self {
        EcsDocument::default()
    }

    /// Sets `path` (dotted) to `value`, creating intermediate objects. A `null`
    /// value or an empty string is not stored: absent beats empty in ECS.
    pub fn set(&mut self, path: &str, value: impl Into<Value>) {
        set_in(&mut self.root, path, value);
    }

    /// Sets `path` when `value` is `Some`.
    pub fn set_opt<V: Into<Value>>(&mut self, path: &str, value: Option<V>) {
        if let Some(v) = value {
            self.set(path, v);
        }
    }

    pub fn get(&self, path: &str) -> Option<&Value> {
        let mut parts = path.split('.');
        let mut v = self.root.get(parts.next()?)?;
        for p in parts {
            v = v.get(p)?;
        }
        Some(v)
    }

    pub fn into_map(self) -> Map<String, Value> {
        self.root
    }

    pub fn as_map(&self) -> &Map<String, Value> {
        &self.root
    }
}

/// Sets `path` (dotted) in `root` to `value`, creating intermediate objects
/// (and replacing a value in the way that is not one). A `null` value or an
/// empty string is not stored: absent beats empty in ECS.
pub fn set_in(root: &mut Map<String, Value>, path: &str, value: impl Into<Value>) {
    let value = value.into();
    if value.is_null() || value.as_str() == Some("") {
        return;
    }
    // Intermediate objects are looked up before they are created, so
    // that setting many fields of one object allocates its key once.
    let mut map = root;
    let mut rest = path;
    while let Some((part, tail)) = rest.split_once('.') {
        if !matches!(map.get(part), Some(Value::Object(_))) {
            map.insert(part.to_owned(), Value::Object(Map::new()));
        }
        map = match map.get_mut(part) {
            Some(Value::Object(m)) => m,
            _ => unreachable!("inserted as an object above"),
        };
        rest = tail;
    }
    map.insert(rest.to_owned(), value);
}

/// Gathers the values an analyst pivots on, de-duplicated in first-seen
/// order: `related.ip`, `related.user`, `related.hosts` (host names and EC2
/// instance ids), `related.hash`, and `siem.access_key_id` (AWS access key
/// ids, for which ECS has no field).
#[derive(Debug, Default)]
pub struct Related {
    ip: Vec<String>,
    user: Vec<String>,
    hosts: Vec<String>,
    hash: Vec<String>,
    access_keys: Vec<String>,
}

impl Related {
    pub fn ip(&mut self, v: Option<&str>) {
        push_unique(&mut self.ip, v);
    }
    pub fn user(&mut self, v: Option<&str>) {
        push_unique(&mut self.user, v);
    }
    pub fn host(&mut self, v: Option<&str>) {
        push_unique(&mut self.hosts, v);
    }
    pub fn hash(&mut self, v: Option<&str>) {
        push_unique(&mut self.hash, v);
    }
    pub fn access_key(&mut self, v: Option<&str>) {
        push_unique(&mut self.access_keys, v);
    }

    pub fn write_to(self, doc: &mut EcsDocument) {
        for (path, values) in [
            ("related.ip", self.ip),
            ("related.user", self.user),
            ("related.hosts", self.hosts),
            ("related.hash", self.hash),
            ("siem.access_key_id", self.access_keys),
        ] {
            if !values.is_empty() {
                doc.set(path, values);
            }
        }
    }
}

fn push_unique(list: &mut Vec<String>, v: Option<&str>) {
    if let Some(v) = v.map(str::trim).filter(|v| !v.is_empty())
        && !list.iter().any(|x| x == v)
    {
        list.push(v.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dotted_paths_build_nested_objects_and_skip_empty_values() {
        let mut d = EcsDocument::new();
        d.set("event.kind", "alert");
        d.set("event.severity", 80);
        d.set("source.geo.location", json!({"lat": 1.0, "lon": 2.0}));
        d.set("user.name", "");
        d.set("user.id", Value::Null);
        assert_eq!(
            Value::Object(d.into_map()),
            json!({"event": {"kind": "alert", "severity": 80},
                   "source": {"geo": {"location": {"lat": 1.0, "lon": 2.0}}}})
        );
    }

    #[test]
    fn related_values_are_deduplicated_in_order() {
        let mut r = Related::default();
        r.ip(Some("10.0.0.1"));
        r.ip(Some("10.0.0.2"));
        r.ip(Some("10.0.0.1"));
        r.user(None);
        r.user(Some(" "));
        let mut d = EcsDocument::default();
        r.write_to(&mut d);
        assert_eq!(
            Value::Object(d.into_map()),
            json!({"related": {"ip": ["10.0.0.1", "10.0.0.2"]}})
        );
    }
}
