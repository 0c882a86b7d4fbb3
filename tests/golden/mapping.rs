//! Every field of every golden document is mapped by the templates its index
//! uses, so no document depends on dynamic mapping (the templates turn it off:
//! an unmapped field would be stored but never searchable).

use serde_json::{Map, Value};
use siem_pipeline::sink::templates::{COMPONENT_TEMPLATES, index_template, render};

use super::golden_documents;

/// The properties a log type's index gets: its component templates, then its
/// own index template on top.
fn composed_properties(log_type: &str) -> Map<String, Value> {
    let mut props = Map::new();
    let index =
        index_template(log_type).unwrap_or_else(|| panic!("no index template for {log_type}"));
    let index: Value = serde_json::from_str(&render(index, "siem")).expect("index template JSON");
    let composed: Vec<&str> = index["composed_of"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for (name, body) in COMPONENT_TEMPLATES {
        if composed.contains(&format!("siem-{name}").as_str()) {
            let v: Value = serde_json::from_str(&render(body, "siem")).expect("component JSON");
            merge(&mut props, &v["template"]["mappings"]["properties"]);
        }
    }
    merge(&mut props, &index["template"]["mappings"]["properties"]);
    props
}

fn merge(into: &mut Map<String, Value>, from: &Value) {
    let Some(from) = from.as_object() else { return };
    for (k, v) in from {
        match (into.get_mut(k), v.get("properties")) {
            (Some(existing), Some(sub)) => {
                let target = existing
                    .as_object_mut()
                    .and_then(|e| {
                        e.entry("properties")
                            .or_insert_with(|| Value::Object(Map::new()));
                        e.get_mut("properties")
                    })
                    .and_then(Value::as_object_mut);
                if let Some(t) = target {
                    merge(t, sub);
                }
            }
            _ => {
                into.insert(k.clone(), v.clone());
            }
        }
    }
}

/// Unmapped leaf paths of `v` under `props`.
fn unmapped(prefix: &str, v: &Value, props: &Map<String, Value>, out: &mut Vec<String>) {
    match v {
        Value::Array(items) => items.iter().for_each(|i| unmapped(prefix, i, props, out)),
        Value::Object(map) => {
            for (k, child) in map {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                match props.get(k) {
                    None => out.push(path),
                    Some(def) => match def.get("type").and_then(Value::as_str) {
                        // Leaves whose value is an object, and subtrees mapped whole.
                        Some("flat_object" | "geo_point" | "object")
                            if def.get("properties").is_none() => {}
                        Some("nested") | None | Some("object") => {
                            let sub = def
                                .get("properties")
                                .and_then(Value::as_object)
                                .cloned()
                                .unwrap_or_default();
                            let dynamic = def.get("dynamic").and_then(|d| {
                                d.as_str()
                                    .map(str::to_owned)
                                    .or(d.as_bool().map(|b| b.to_string()))
                            });
                            if dynamic.as_deref() == Some("true") {
                                continue;
                            }
                            unmapped(&path, child, &sub, out);
                        }
                        Some(_) if child.is_object() => {
                            out.push(format!("{path} (an object where a leaf is mapped)"))
                        }
                        Some(_) => {}
                    },
                }
            }
        }
        _ => {}
    }
}

#[test]
fn every_golden_field_is_mapped_by_its_index_templates() {
    let mut problems = Vec::new();
    for (log_type, file, doc) in golden_documents() {
        let props = composed_properties(&log_type);
        let mut missing = Vec::new();
        unmapped("", &doc["_source"], &props, &mut missing);
        for m in missing {
            problems.push(format!("{}: `{m}` is not mapped", file.display()));
        }
    }
    problems.sort();
    problems.dedup();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_index_template_file_belongs_to_a_registered_log_type() {
    // Each log type compiles its own template in; a file beside them that no
    // log type includes would never be installed.
    let dir = siem_pipeline_tests::repo_root().join("mappings/index_templates");
    let orphans: Vec<String> = std::fs::read_dir(&dir)
        .expect("mappings/index_templates")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|f| f.strip_suffix(".json").map(str::to_owned))
        .filter(|stem| siem_pipeline::log_types::by_name(stem).is_err())
        .collect();
    assert!(
        orphans.is_empty(),
        "index templates of no registered log type: {orphans:?}"
    );
}
