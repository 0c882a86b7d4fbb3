//! Reading and writing a normalized document (a `serde_json` map) by dotted
//! ECS path. Writes never replace a value of another shape: an enricher adds,
//! it does not repair.

use serde_json::{Map, Value};

pub fn get<'a>(doc: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut parts = path.split('.');
    let mut v = doc.get(parts.next()?)?;
    for p in parts {
        v = v.as_object()?.get(p)?;
    }
    Some(v)
}

pub fn get_str<'a>(doc: &'a Map<String, Value>, path: &str) -> Option<&'a str> {
    get(doc, path).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// Every non-empty string at `path`: one value, or each string of an array.
pub fn strings<'a>(doc: &'a Map<String, Value>, path: &str) -> impl Iterator<Item = &'a str> {
    let (one, many) = match get(doc, path) {
        Some(Value::String(s)) => (Some(s.as_str()), None),
        Some(Value::Array(a)) => (None, Some(a.iter().filter_map(Value::as_str))),
        _ => (None, None),
    };
    one.into_iter().chain(many.into_iter().flatten()).filter(|s| !s.is_empty())
}

/// Sets `path`, creating missing objects on the way. Returns false (and
/// changes nothing) when a value on the way is not an object.
pub fn set(doc: &mut Map<String, Value>, path: &str, value: Value) -> bool {
    let mut map = doc;
    let mut parts = path.split('.').peekable();
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            map.insert(part.to_owned(), value);
            return true;
        }
        let entry = map.entry(part.to_owned()).or_insert_with(|| Value::Object(Map::new()));
        match entry {
            Value::Object(m) => map = m,
            _ => return false,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(v: Value) -> Map<String, Value> {
        v.as_object().cloned().expect("object")
    }

    #[test]
    fn dotted_paths_read_nested_objects_and_arrays_of_strings() {
        let d = doc(json!({"source": {"ip": "1.2.3.4"}, "host": {"ip": ["10.0.0.1", 7, ""]}}));
        assert_eq!(get_str(&d, "source.ip"), Some("1.2.3.4"));
        assert_eq!(strings(&d, "host.ip").collect::<Vec<_>>(), ["10.0.0.1"]);
        assert_eq!(strings(&d, "source.ip").collect::<Vec<_>>(), ["1.2.3.4"]);
        assert!(get(&d, "source.ip.x").is_none());
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
