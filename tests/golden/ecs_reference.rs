//! Every ECS field a golden document emits exists in the ECS 8.17 reference
//! (`../shared/ecs/ecs-8.17.0-fields.json`), holds a value of a compatible
//! type, and categorization fields hold allowed values. The project's own
//! namespaces (`aws.*`, `siem.*`) are not ECS and are checked by the template
//! test instead.

use std::net::IpAddr;

use serde_json::{Map, Value};
use siem_pipeline_tests::shared;

use super::golden_documents;

pub(super) const CUSTOM_NAMESPACES: &[&str] = &["aws", "siem"];

pub(super) fn reference() -> Option<Map<String, Value>> {
    let path = shared("ecs/ecs-8.17.0-fields.json")?;
    let text = std::fs::read_to_string(path).expect("readable ECS reference");
    let v: Value = serde_json::from_str(&text).expect("ECS reference is JSON");
    v.get("fields").and_then(Value::as_object).cloned()
}

/// Leaf values by dotted path; arrays contribute each element; a value whose
/// path is an ECS leaf (a `geo_point` object, for one) is not descended into.
pub(super) fn leaves<'a>(
    prefix: &str,
    v: &'a Value,
    fields: &Map<String, Value>,
    out: &mut Vec<(String, &'a Value)>,
) {
    match v {
        Value::Array(items) => items.iter().for_each(|i| leaves(prefix, i, fields, out)),
        Value::Object(map) if prefix.is_empty() || !is_leaf_type(fields, prefix) => {
            for (k, child) in map {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                leaves(&path, child, fields, out);
            }
        }
        _ => out.push((prefix.to_owned(), v)),
    }
}

fn is_leaf_type(fields: &Map<String, Value>, path: &str) -> bool {
    fields
        .get(path)
        .and_then(|f| f.get("type"))
        .and_then(Value::as_str)
        .is_some_and(|t| !matches!(t, "object" | "nested"))
}

fn compatible(ecs_type: &str, v: &Value) -> bool {
    match ecs_type {
        "keyword" | "constant_keyword" | "wildcard" | "text" | "match_only_text" => v.is_string(),
        "long" | "integer" | "short" | "byte" | "unsigned_long" => v.is_i64() || v.is_u64(),
        "float" | "double" | "half_float" | "scaled_float" => v.is_number(),
        "boolean" => v.is_boolean(),
        "date" => {
            v.as_str()
                .is_some_and(|s| chrono::DateTime::parse_from_rfc3339(s).is_ok())
                || v.is_i64()
        }
        "ip" => v.as_str().is_some_and(|s| s.parse::<IpAddr>().is_ok()),
        "geo_point" => {
            v.get("lat").is_some_and(Value::is_number) && v.get("lon").is_some_and(Value::is_number)
        }
        "flattened" | "object" => v.is_object(),
        _ => false,
    }
}

#[test]
fn every_emitted_ecs_field_exists_with_a_compatible_type_and_allowed_value() {
    let Some(fields) = reference() else {
        eprintln!("skipped: ../shared/ecs/ecs-8.17.0-fields.json is not present");
        return;
    };
    let mut problems = Vec::new();
    let docs = golden_documents();
    assert!(!docs.is_empty());
    for (_, file, doc) in &docs {
        let source = &doc["_source"];
        let mut found = Vec::new();
        leaves("", source, &fields, &mut found);
        for (path, value) in found {
            let top = path.split('.').next().unwrap_or_default();
            if CUSTOM_NAMESPACES.contains(&top) {
                continue;
            }
            // `labels` is an object of arbitrary keyword keys.
            let lookup = if top == "labels" {
                "labels"
            } else {
                path.as_str()
            };
            let Some(def) = fields.get(lookup) else {
                problems.push(format!("{}: `{path}` is not an ECS field", file.display()));
                continue;
            };
            let ecs_type = def.get("type").and_then(Value::as_str).unwrap_or_default();
            if top != "labels" && !compatible(ecs_type, value) {
                problems.push(format!(
                    "{}: `{path}` is {ecs_type} in ECS but holds {value}",
                    file.display()
                ));
            }
            if let Some(allowed) = def.get("allowed_values").and_then(Value::as_array)
                && !allowed.iter().any(|a| a == value)
            {
                problems.push(format!(
                    "{}: `{path}` = {value} is not an allowed value",
                    file.display()
                ));
            }
        }
    }
    problems.sort();
    problems.dedup();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
