//! The dashboards of `dashboards/`: every file is a set of saved objects whose
//! references resolve within it; every field a visualization or saved search
//! uses is mapped by the templates with a type its aggregation supports;
//! every visualization returns data from the project's fixtures on a real
//! OpenSearch node (`live`); `siem-pipeline setup` imports them the way the
//! Dashboards API expects (`installer`, against a fake Dashboards).

mod installer;
mod live;
mod mapping;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use siem_pipeline::dashboards::SAVED_OBJECTS;
use siem_pipeline_tests::repo_root;

use mapping::{Known, log_types_of, lookup};
use siem_pipeline_tests::dashboards::{
    Vis, pattern_title, query_fields, saved_objects, search_source_query,
};

#[test]
fn every_file_in_dashboards_is_embedded_in_the_binary() {
    let on_disk: BTreeSet<String> = std::fs::read_dir(repo_root().join("dashboards"))
        .expect("dashboards/")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".ndjson"))
        .collect();
    let embedded: BTreeSet<String> = SAVED_OBJECTS.iter().map(|(f, _)| (*f).to_owned()).collect();
    assert_eq!(on_disk, embedded);
}

#[test]
fn every_object_is_a_saved_object_whose_references_resolve_in_its_file() {
    let mut failures = Vec::new();
    let mut patterns: BTreeMap<String, (&str, Value)> = BTreeMap::new();
    let mut others: BTreeMap<String, &str> = BTreeMap::new();
    for (file, objects) in saved_objects() {
        let mut ids = BTreeSet::new();
        for o in &objects {
            let (Some(kind), Some(id)) = (o["type"].as_str(), o["id"].as_str()) else {
                failures.push(format!(
                    "{file}: an object without type or id: {:.200}",
                    o.to_string()
                ));
                continue;
            };
            if !o["attributes"].is_object() {
                failures.push(format!("{file}: {kind} {id} has no attributes"));
            }
            if !["index-pattern", "visualization", "search", "dashboard"].contains(&kind) {
                failures.push(format!(
                    "{file}: {kind} {id}: not a type these dashboards use"
                ));
            }
            if !ids.insert(id.to_owned()) {
                failures.push(format!("{file}: id {id} is used twice"));
            }
            for r in o["references"].as_array().into_iter().flatten() {
                let resolves = objects
                    .iter()
                    .any(|t| t["id"] == r["id"] && t["type"] == r["type"]);
                if !resolves {
                    failures.push(format!(
                        "{file}: {kind} {id}: reference {r} is not in the file"
                    ));
                }
            }
            if kind == "index-pattern" {
                if let Some((other, first)) = patterns.get(id) {
                    if first != o {
                        failures.push(format!(
                            "{file}: index pattern {id} differs from the one in {other}"
                        ));
                    }
                } else {
                    patterns.insert(id.to_owned(), (file, o.clone()));
                }
            } else if let Some(other) = others.insert(id.to_owned(), file) {
                failures.push(format!("{file}: {kind} {id} is also in {other}"));
            }
        }
        let dashboards = objects.iter().filter(|o| o["type"] == "dashboard").count();
        if file != "siem-index-patterns.ndjson" && dashboards != 1 {
            failures.push(format!("{file}: {dashboards} dashboards, expected one"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn dashboards_reference_their_panels_and_panels_their_references() {
    let mut failures = Vec::new();
    for (file, objects) in saved_objects() {
        for d in objects.iter().filter(|o| o["type"] == "dashboard") {
            let panels: Vec<Value> =
                serde_json::from_str(d["attributes"]["panelsJSON"].as_str().unwrap_or("null"))
                    .unwrap_or_else(|e| panic!("{file}: panelsJSON: {e}"));
            let names: BTreeSet<&str> = d["references"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| r["name"].as_str())
                .collect();
            for p in &panels {
                let name = p["panelRefName"].as_str().unwrap_or_default();
                if !names.contains(name) {
                    failures.push(format!("{file}: panel {p} has no reference {name}"));
                }
                let g = &p["gridData"];
                if g["x"].as_u64().unwrap_or(99) + g["w"].as_u64().unwrap_or(99) > 48 {
                    failures.push(format!("{file}: panel {name} is wider than the grid"));
                }
            }
            if panels.len() != names.len() {
                failures.push(format!(
                    "{file}: {} panels, {} references",
                    panels.len(),
                    names.len()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn index_patterns_use_the_timestamp_and_list_exactly_the_mapped_fields() {
    let mut failures = Vec::new();
    let mut titles = BTreeSet::new();
    for (file, objects) in saved_objects() {
        for p in objects.iter().filter(|o| o["type"] == "index-pattern") {
            let title = p["attributes"]["title"].as_str().unwrap_or_default();
            titles.insert(title.to_owned());
            if p["attributes"]["timeFieldName"] != "@timestamp" {
                failures.push(format!("{file}: {title}: time field is not @timestamp"));
            }
            let types = log_types_of(title);
            if types.is_empty() {
                failures.push(format!("{file}: {title} matches no log type's indices"));
                continue;
            }
            let mut expected = BTreeMap::new();
            for t in types {
                for (name, f) in mapping::fields(t) {
                    expected.insert(
                        name,
                        (f.osd_type().to_owned(), f.searchable, f.aggregatable),
                    );
                }
            }
            let listed: Vec<Value> =
                serde_json::from_str(p["attributes"]["fields"].as_str().unwrap_or("[]"))
                    .expect("fields JSON");
            let actual: BTreeMap<String, (String, bool, bool)> = listed
                .iter()
                .filter(|f| !f["name"].as_str().unwrap_or("_").starts_with('_'))
                .map(|f| {
                    (
                        f["name"].as_str().unwrap_or_default().to_owned(),
                        (
                            f["type"].as_str().unwrap_or_default().to_owned(),
                            f["searchable"] == true,
                            f["aggregatable"] == true,
                        ),
                    )
                })
                .collect();
            if actual != expected {
                let missing: Vec<_> = expected
                    .keys()
                    .filter(|k| !actual.contains_key(*k))
                    .take(5)
                    .collect();
                let extra: Vec<_> = actual
                    .keys()
                    .filter(|k| !expected.contains_key(*k))
                    .take(5)
                    .collect();
                let differ: Vec<_> = actual
                    .iter()
                    .filter(|(k, v)| expected.get(*k).is_some_and(|e| e != *v))
                    .take(5)
                    .collect();
                failures.push(format!(
                    "{file}: {title}: the field list is not the templates' (regenerate with \
                     python3 dashboards/generate.py): missing {missing:?}, extra {extra:?}, differ {differ:?}"
                ));
            }
        }
    }
    let mut wanted = vec!["siem-*".to_owned()];
    wanted.extend(
        siem_pipeline::log_types::REGISTRY
            .iter()
            .map(|t| format!("siem-{}-*", t.name())),
    );
    for w in wanted {
        if !titles.contains(&w) {
            failures.push(format!("no index pattern {w}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Whether aggregation `agg` can run on `field` of the pattern's log types:
/// for a pattern over several log types, in at least one of them.
fn agg_field_problem(title: &str, agg: &str, field: &str) -> Option<String> {
    let types = log_types_of(title);
    let mut problems = Vec::new();
    for t in &types {
        let fields = mapping::fields(t);
        let problem = match lookup(&fields, field) {
            None => Some("not mapped".to_owned()),
            Some(Known::FlatObjectSubField) => {
                Some("a flat_object sub-field: not aggregatable".to_owned())
            }
            Some(Known::Leaf(f)) => {
                let fits = match agg {
                    "terms" | "cardinality" => f.aggregatable,
                    "date_histogram" => f.es_type == "date",
                    "sum" | "avg" | "max" | "min" | "histogram" => f.is_numeric() && f.aggregatable,
                    "geohash_grid" => f.es_type == "geo_point",
                    _ => false,
                };
                if f.nested {
                    Some(format!(
                        "under a nested object: {agg} needs a nested aggregation"
                    ))
                } else if fits {
                    None
                } else {
                    Some(format!("{} does not support {agg}", f.es_type))
                }
            }
        };
        match problem {
            None => return None,
            Some(p) => problems.push(format!("{t}: {p}")),
        }
    }
    Some(problems.join("; "))
}

/// Whether a query may name `field` on the pattern's log types. On a
/// flat_object sub-field, `field:*` and `_exists_:field` match nothing
/// (OpenSearch 2.19): only values and prefixes do.
fn query_problem(title: &str, query: &str, field: &str) -> Option<String> {
    let flat = log_types_of(title)
        .iter()
        .any(|t| lookup(&mapping::fields(t), field) == Some(Known::FlatObjectSubField));
    if flat
        && (query.contains(&format!("{field}:*")) || query.contains(&format!("_exists_:{field}")))
    {
        return Some(format!(
            "{field} is a flat_object sub-field: an exists query on it matches nothing"
        ));
    }
    query_field_problem(title, field)
}

/// Whether a query may name `field` on the pattern's log types.
fn query_field_problem(title: &str, field: &str) -> Option<String> {
    let searchable = log_types_of(title)
        .iter()
        .any(|t| match lookup(&mapping::fields(t), field) {
            Some(Known::Leaf(f)) => f.searchable,
            Some(Known::FlatObjectSubField) => true,
            None => false,
        });
    (!searchable).then(|| format!("{field} is not searchable in {title}"))
}

#[test]
fn every_field_a_visualization_or_search_uses_is_mapped_with_a_fitting_type() {
    let mut failures = Vec::new();
    for (file, objects) in saved_objects() {
        for o in objects
            .iter()
            .filter(|o| o["type"] == "visualization" || o["type"] == "search")
        {
            let id = o["id"].as_str().unwrap_or_default();
            let Some(title) = pattern_title(&objects, o) else {
                failures.push(format!(
                    "{file}: {id} references no index pattern of its file"
                ));
                continue;
            };
            let queries = if o["type"] == "visualization" {
                let vis = match Vis::parse(o) {
                    Ok(v) => v,
                    Err(e) => {
                        failures.push(format!("{file}: {id}: {e}"));
                        continue;
                    }
                };
                for (agg, field) in vis.agg_fields() {
                    if let Some(p) = agg_field_problem(title, &agg, &field) {
                        failures.push(format!("{file}: {id}: {agg} on {field}: {p}"));
                    }
                }
                vis.queries()
            } else {
                match search_source_query(o) {
                    Ok(q) => {
                        for column in o["attributes"]["columns"].as_array().into_iter().flatten() {
                            let column = column.as_str().unwrap_or_default();
                            if let Some(p) = query_field_problem(title, column) {
                                failures.push(format!("{file}: {id}: column {p}"));
                            }
                        }
                        for sort in o["attributes"]["sort"].as_array().into_iter().flatten() {
                            let field = sort[0].as_str().unwrap_or_default();
                            if let Some(p) = agg_field_problem(title, "terms", field) {
                                failures.push(format!("{file}: {id}: sort on {field}: {p}"));
                            }
                        }
                        vec![q]
                    }
                    Err(e) => {
                        failures.push(format!("{file}: {id}: {e}"));
                        continue;
                    }
                }
            };
            for q in queries {
                for field in query_fields(&q) {
                    if let Some(p) = query_problem(title, &q, &field) {
                        failures.push(format!("{file}: {id}: query {q:?}: {p}"));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn visualizations_use_only_the_legacy_types_every_2x_release_has() {
    const TYPES: &[&str] = &[
        "line",
        "area",
        "histogram",
        "horizontal_bar",
        "pie",
        "table",
        "metric",
        "tagcloud",
        "tile_map",
        "region_map",
    ];
    for (file, objects) in saved_objects() {
        for o in objects.iter().filter(|o| o["type"] == "visualization") {
            let vis = Vis::parse(o).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert!(
                TYPES.contains(&vis.vis_type.as_str()),
                "{file}: {} is a {}",
                vis.id,
                vis.vis_type
            );
            assert_eq!(
                o["migrationVersion"]["visualization"], "7.10.0",
                "{file}: {}: a migration version every 2.x release knows",
                vis.id
            );
        }
    }
}

#[test]
fn pivot_values_link_to_the_investigate_dashboard_filtered_on_a_mapped_pivot() {
    let all = saved_objects();
    let dashboards: BTreeSet<&str> = all
        .iter()
        .flat_map(|(_, objects)| objects)
        .filter(|o| o["type"] == "dashboard")
        .filter_map(|o| o["id"].as_str())
        .collect();
    let mut checked = 0;
    for (file, objects) in &all {
        for pattern in objects.iter().filter(|o| o["type"] == "index-pattern") {
            let title = pattern["attributes"]["title"].as_str().unwrap_or_default();
            let formats: BTreeMap<String, Value> = serde_json::from_str(
                pattern["attributes"]["fieldFormatMap"]
                    .as_str()
                    .unwrap_or("{}"),
            )
            .unwrap_or_else(|e| panic!("{file}: {title}: fieldFormatMap: {e}"));
            assert!(
                formats.contains_key("related.ip"),
                "{file}: {title} links no address"
            );
            for (field, format) in formats {
                let template = format["params"]["urlTemplate"].as_str().unwrap_or_default();
                let target = template
                    .strip_prefix("/app/dashboards#/view/")
                    .and_then(|rest| rest.split('?').next())
                    .unwrap_or_else(|| panic!("{title}: {field}: {template}"));
                assert!(
                    dashboards.contains(target),
                    "{title}: {field} links to {target}, which is not shipped"
                );
                let pivot = template
                    .split("query:'")
                    .nth(1)
                    .and_then(|q| q.split(':').next())
                    .unwrap_or_else(|| panic!("{title}: {field}: no query in {template}"));
                for t in log_types_of(title) {
                    assert!(
                        mapping::fields(t).contains_key(&field),
                        "{title}: {field} has a link but is not mapped for {t}"
                    );
                }
                assert!(
                    log_types_of("siem-*")
                        .iter()
                        .all(|t| mapping::fields(t).contains_key(pivot)),
                    "{title}: {field} pivots on {pivot}, which not every log type maps"
                );
                assert!(
                    template.contains("{{value}}"),
                    "{title}: {field}: {template}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 50, "only {checked} links checked");
}
